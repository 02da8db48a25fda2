/**
 * Hardening rules a later change could quietly undo (the Course Organizer policy pack, appended to the list in
 * ./policies.ts): Cloud SQL's audit flags (CIS GCP 6.2.x), the Cloud Armor WAF rules and Adaptive Protection,
 * edge policies and neutralised uploads on the CDN buckets, the static bucket's single writer, and the GKE
 * containers' restricted security context, database TLS that verifies the server. Each message names the input to change and the value it needs.
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { WAF_RULES, wafExpression } from "../src/files/armor";
import { MEDIA_CSP } from "../src/files/security-headers";

type Props = Record<string, any>;
const list = (v: unknown): any[] => (Array.isArray(v) ? v : []);

function forTypes(types: string[], check: (props: Props, args: ResourceValidationArgs, report: ReportViolation) => void) {
  const set = new Set(types);
  return (args: ResourceValidationArgs, report: ReportViolation) => {
    if (set.has(args.type)) check(args.props, args, report);
  };
}

/** Cloud SQL flags CIS GCP 6.2.x asks for (values as Cloud SQL takes them). */
export const REQUIRED_SQL_FLAGS: Record<string, string> = {
  log_connections: "on",
  log_disconnections: "on",
  log_statement: "ddl",
  log_min_messages: "warning",
  log_min_error_statement: "error",
  "cloudsql.enable_pgaudit": "on",
  log_min_duration_statement: "-1",
};

export const cloudSqlAuditFlags: ResourceValidationPolicy = {
  name: "cloudsql-audit-flags",
  description: "Cloud SQL for PostgreSQL logs connections, disconnections, DDL and errors, runs pgaudit, and logs no statement text by duration (CIS 6.2.x).",
  enforcementLevel: "mandatory",
  severity: "medium",
  validateResource: forTypes(["gcp:sql/databaseInstance:DatabaseInstance"], (p, _a, report) => {
    if (typeof p.databaseVersion === "string" && !p.databaseVersion.startsWith("POSTGRES")) return;
    const flags = new Map(list(p.settings?.databaseFlags).map((f: { name: string; value: string }) => [f.name, f.value]));
    for (const [name, value] of Object.entries(REQUIRED_SQL_FLAGS)) {
      if (flags.get(name) !== value)
        report(`settings.databaseFlags: ${name} must be "${value}" (found ${JSON.stringify(flags.get(name) ?? null)}): components/database.ts databaseFlags.`);
    }
    if (!flags.get("pgaudit.log")) report('settings.databaseFlags: pgaudit.log must name the audited classes (e.g. "ddl,role").');
  }),
};

export const armorWafRules: ResourceValidationPolicy = {
  name: "armor-waf-adaptive",
  description: "The app's Cloud Armor policy evaluates Google's preconfigured WAF rules (SQLi, XSS, LFI, RCE, scanners) and has Adaptive Protection on.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: forTypes(["gcp:compute/securityPolicy:SecurityPolicy"], (p, _a, report) => {
    if ((p.type ?? "CLOUD_ARMOR") !== "CLOUD_ARMOR") return;
    const expressions = list(p.rules).map((r) => r?.match?.expr?.expression);
    for (const r of WAF_RULES) {
      if (!expressions.includes(wafExpression(r.name))) report(`rules: no rule evaluates ${wafExpression(r.name)} (components/load-balancer.ts WAF_RULES).`);
    }
    if (p.adaptiveProtectionConfig?.layer7DdosDefenseConfig?.enable !== true)
      report("adaptiveProtectionConfig.layer7DdosDefenseConfig.enable must be true (Adaptive Protection).");
  }),
};

export const cdnBucketsHardened: ResourceValidationPolicy = {
  name: "cdn-bucket-edge-policy-uploads",
  description: "Every CDN backend bucket has an edge security policy; the media bucket serves uploads sandboxed (CSP sandbox, nosniff, attachment).",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: forTypes(["gcp:compute/backendBucket:BackendBucket"], (p, _a, report) => {
    if (!p.edgeSecurityPolicy) report("edgeSecurityPolicy: set it to a CLOUD_ARMOR_EDGE security policy (backend buckets take only edge policies).");
    if (typeof p.name === "string" && p.name.endsWith("-media-cdn")) {
      const headers = list(p.customResponseHeaders);
      for (const h of [`Content-Security-Policy: ${MEDIA_CSP}`, "X-Content-Type-Options: nosniff", "Content-Disposition: attachment"]) {
        if (!headers.includes(h)) report(`customResponseHeaders: the media bucket must send "${h}" (uploads would run as stored XSS on the site's host).`);
      }
    }
  }),
};

/** Roles that write objects. */
const WRITE_ROLES = [
  "roles/storage.objectAdmin",
  "roles/storage.objectCreator",
  "roles/storage.objectUser",
  "roles/storage.admin",
  "roles/storage.legacyBucketWriter",
  "roles/storage.legacyBucketOwner",
];
const STATIC_BUCKET = /-static$/;
const STATIC_PUBLISHER = /^serviceAccount:[a-z0-9-]+-static-publisher@/;

export const staticBucketWriter: ResourceValidationPolicy = {
  name: "static-bucket-release-writer-only",
  description: "Only the release identity (<prefix>-static-publisher) may write the public static bucket every browser loads JavaScript from.",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: forTypes(["gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding"], (p, _a, report) => {
    if (typeof p.bucket !== "string" || !STATIC_BUCKET.test(p.bucket) || !WRITE_ROLES.includes(p.role)) return;
    const members: string[] = p.member !== undefined ? [p.member] : list(p.members);
    for (const m of members) {
      if (!STATIC_PUBLISHER.test(m))
        report(`${p.role} on the static bucket for ${m}: only the static publisher (components/media.ts staticPublisher) writes it; runtime identities read.`);
    }
  }),
};

/** Security context fields the restricted Pod Security Standard requires of every container. */
export function containerProblems(c: Props): string[] {
  const s = c.securityContext ?? {};
  const out: string[] = [];
  if (s.runAsNonRoot !== true) out.push("runAsNonRoot: true");
  if (s.allowPrivilegeEscalation !== false) out.push("allowPrivilegeEscalation: false");
  if (!list(s.capabilities?.drop).includes("ALL")) out.push('capabilities.drop: ["ALL"]');
  if (s.seccompProfile?.type !== "RuntimeDefault") out.push('seccompProfile.type: "RuntimeDefault"');
  if (s.readOnlyRootFilesystem !== true) out.push("readOnlyRootFilesystem: true");
  return out;
}

export const k8sRestrictedContainers: ResourceValidationPolicy = {
  name: "k8s-restricted-containers",
  description: "Every container of a Deployment runs non-root, without privilege escalation or capabilities, with RuntimeDefault seccomp and a read-only root.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: forTypes(["kubernetes:apps/v1:Deployment"], (p, _a, report) => {
    const pod = p.spec?.template?.spec ?? {};
    for (const c of [...list(pod.initContainers), ...list(pod.containers)]) {
      const missing = containerProblems(c);
      if (missing.length > 0) report(`container ${c.name}: securityContext needs ${missing.join(", ")} (src/files/k8s-manifests.ts restrictedContainer).`);
    }
  }),
};

/**
 * Text that configures a PostgreSQL client of Cloud SQL: PgBouncer's ini (the pods' ConfigMap) and the app instances'
 * cloud-init (its pgbouncer.ini and fetch-settings.sh, which writes the migration's DATABASE_URL).
 */
function databaseClientTexts(type: string, p: Props): string[] {
  // A value unknown in a preview (the ini names the primary's IP) is not text yet: judged at the update.
  if (type === "kubernetes:core/v1:ConfigMap") {
    const ini: unknown = p.data?.["pgbouncer.ini"];
    return typeof ini === "string" && ini.includes("[pgbouncer]") ? [ini] : [];
  }
  const ud = p.metadata?.["user-data"];
  return typeof ud === "string" && ud.includes("pgbouncer.ini") ? [ud] : [];
}

export const databaseTlsVerifyCa: ResourceValidationPolicy = {
  name: "database-tls-verify-ca",
  description:
    "Every rendered Cloud SQL client verifies the server's certificate against the instances' CA (verify-ca): PgBouncer's server_tls_sslmode and the migration's URL, never require, prefer or disable toward Cloud SQL.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: forTypes(
    ["kubernetes:core/v1:ConfigMap", "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate", "gcp:compute/instanceTemplate:InstanceTemplate"],
    (p, a, report) => {
      for (const text of databaseClientTexts(a.type, p)) {
        const mode = /^[ \t]*server_tls_sslmode = (\S+)[ \t]*$/m.exec(text)?.[1];
        if (mode !== "verify-ca" && mode !== "verify-full")
          report(
            `pgbouncer.ini: server_tls_sslmode is ${JSON.stringify(mode ?? null)}; it must be verify-ca (src/files/pgbouncer.ts, with server_tls_ca_file).`,
          );
        if (!/^[ \t]*server_tls_ca_file = \S+[ \t]*$/m.test(text)) report("pgbouncer.ini: server_tls_ca_file must name the instances' CA bundle.");
        const weak = /sslmode=(require|prefer|allow|disable)\b/.exec(text);
        if (weak && a.type !== "kubernetes:core/v1:ConfigMap")
          report(
            `a direct database URL uses ${weak[0]}: direct connections to Cloud SQL need sslmode=verify-ca&sslrootcert=... (src/contract.ts verifiedTlsQuery).`,
          );
      }
    },
  ),
};

/** A NetworkPolicy that selects every pod of its namespace and allows nothing in either direction. */
function isDefaultDeny(p: Props): boolean {
  const types = list(p.spec?.policyTypes);
  const selectsAll = Object.keys(p.spec?.podSelector ?? {}).length === 0;
  return selectsAll && types.includes("Ingress") && types.includes("Egress") && list(p.spec?.ingress).length === 0 && list(p.spec?.egress).length === 0;
}

export const k8sNamespacesDefaultDeny: StackValidationPolicy = {
  name: "k8s-namespaces-default-deny",
  description:
    "Every namespace the program creates enforces the restricted Pod Security Standard and has a default-deny NetworkPolicy (ingress and egress), so only the allow list reaches its pods (Memcached has no auth).",
  enforcementLevel: "mandatory",
  severity: "high",
  validateStack: (args, report) => {
    const namespaces = args.resources.filter((r) => r.type === "kubernetes:core/v1:Namespace");
    const denies = args.resources.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy" && isDefaultDeny(r.props));
    const count = (xs: { props: Props }[], ns: string, key: (p: Props) => unknown) => xs.filter((x) => key(x.props) === ns).length;
    for (const n of namespaces) {
      const ns = n.props.metadata?.name;
      if (typeof ns !== "string") continue;
      if (n.props.metadata?.labels?.["pod-security.kubernetes.io/enforce"] !== "restricted")
        report(`namespace ${ns}: metadata.labels["pod-security.kubernetes.io/enforce"] must be "restricted" (src/files/k8s-manifests.ts).`, n.urn);
      // One per cluster: as many default-deny policies in the namespace as namespaces of that name.
      if (count(denies, ns, (p) => p.metadata?.namespace) < count(namespaces, ns, (p) => p.metadata?.name))
        report(
          `namespace ${ns}: no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no rules) in it (src/files/k8s-manifests.ts networkPolicyManifests).`,
          n.urn,
        );
    }
  },
};

export const hardeningPolicies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
  cloudSqlAuditFlags,
  armorWafRules,
  cdnBucketsHardened,
  staticBucketWriter,
  k8sRestrictedContainers,
  databaseTlsVerifyCa,
  k8sNamespacesDefaultDeny,
];
