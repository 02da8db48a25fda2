/**
 * Cloud Armor's preconfigured WAF rules as data, free of Pulumi imports: components/load-balancer.ts builds the
 * policy from them and the policy pack (policy/hardening.ts, which loads without @pulumi/gcp) checks for them.
 */
/**
 * Google's preconfigured WAF rules (OWASP CRS 3.3, "-v33-stable": the stable channel, synced from canary by
 * Google; docs.cloud.google.com/armor/docs/waf-rules), each evaluated at sensitivity 1 (the signatures with the
 * highest confidence, fewest false positives; docs "Tune preconfigured WAF rules"). Priorities 100-140: ahead
 * of the rate limit (1000), so an attack is refused before it counts as traffic.
 */
export const WAF_RULES = [
  { name: "sqli-v33-stable", description: "SQL injection" },
  { name: "xss-v33-stable", description: "Cross-site scripting" },
  { name: "lfi-v33-stable", description: "Local file inclusion" },
  { name: "rce-v33-stable", description: "Remote code execution" },
  { name: "scannerdetection-v33-stable", description: "Scanner detection" },
] as const;
export const WAF_SENSITIVITY = 1;
export const WAF_FIRST_PRIORITY = 100;

/** Cloud Armor's expression for a preconfigured WAF rule. */
export function wafExpression(rule: string, sensitivity = WAF_SENSITIVITY): string {
  return `evaluatePreconfiguredWaf('${rule}', {'sensitivity': ${sensitivity}})`;
}
