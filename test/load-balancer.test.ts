/**
 * The global external HTTPS load balancer (stage 2 on) as the engine sees it: exact inputs of the address,
 * Certificate Manager resources, SSL policy, Cloud Armor policy, CDN backend buckets, backend services and health
 * checks, the URL maps, proxies and forwarding rules; plans in update and preview modes; a new domain adds a
 * certificate without touching the serving ones; stage moves keep the address, certificates and URL map; every
 * enum is one Google accepts.
 */
import { describe, expect, it } from "vitest";
import { get, ofType, plan } from "./helpers/plan";
import { diffPlans, gcpFacts } from "../src/plan/diff";
import { UNKNOWN_MARK, type Plan, type PlannedResource } from "../src/plan/engine";
import { backendOf, domainSlug, loadBalancerProblems, routeTo, type LoadBalancerArgs, type RouteArgs } from "../components/load-balancer";
import { lbRoutes } from "../src/stack/routes";
import type { Config } from "../src/config/schema";

const T = {
  address: "gcp:compute/globalAddress:GlobalAddress",
  dnsAuth: "gcp:certificatemanager/dnsAuthorization:DnsAuthorization",
  cert: "gcp:certificatemanager/certificate:Certificate",
  certMap: "gcp:certificatemanager/certificateMap:CertificateMap",
  certEntry: "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry",
  sslPolicy: "gcp:compute/sSLPolicy:SSLPolicy",
  armor: "gcp:compute/securityPolicy:SecurityPolicy",
  backendBucket: "gcp:compute/backendBucket:BackendBucket",
  signedKey: "gcp:compute/backendBucketSignedUrlKey:BackendBucketSignedUrlKey",
  backendService: "gcp:compute/backendService:BackendService",
  healthCheck: "gcp:compute/healthCheck:HealthCheck",
  urlMap: "gcp:compute/uRLMap:URLMap",
  httpsProxy: "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
  httpProxy: "gcp:compute/targetHttpProxy:TargetHttpProxy",
  rule: "gcp:compute/globalForwardingRule:GlobalForwardingRule",
  bucket: "gcp:storage/bucket:Bucket",
};
const PROJ = "projects/course-organizer-demo";
const LB_URN = "urn:pulumi:stage2::course-organizer::course-organizer:lb:LoadBalancer::lb";
const labels = (stage: number) => ({ app: "course-organizer", component: "load-balancer", stage: String(stage), "managed-by": "pulumi" });
const VM_GROUP = `https://www.googleapis.com/compute/v1/${PROJ}/zones/us-central1-b/instanceGroups/co-vm-group`;
const ARMOR = `https://www.googleapis.com/compute/v1/${PROJ}/global/securityPolicies/co-armor`;
const svc = (n: string) => `${PROJ}/global/backendServices/${n}`;
const bb = (n: string) => `${PROJ}/global/backendBuckets/${n}`;
/** The resources that must keep their URNs from stage 2 to 4. */
const STABLE: [string, string][] = [
  [T.address, "lb-ip"],
  [T.certMap, "lb-cert-map"],
  [T.cert, "lb-cert-courses-example-org"],
  [T.dnsAuth, "lb-dns-auth-courses-example-org"],
  // The meet domain's certificate too: a protected certificate leaving the program would stop the move.
  [T.cert, "lb-cert-meet-courses-example-org"],
  [T.dnsAuth, "lb-dns-auth-meet-courses-example-org"],
  [T.urlMap, "lb-url-map"],
  [T.urlMap, "lb-http-redirect"],
  [T.httpsProxy, "lb-https-proxy"],
  [T.rule, "lb-https"],
  [T.rule, "lb-http"],
  [T.bucket, "media-static"],
  [T.bucket, "media-media"],
];

function stateful(r: PlannedResource): void {
  expect({ name: r.name, protect: r.protect, retainOnDelete: r.retainOnDelete }).toEqual({ name: r.name, protect: true, retainOnDelete: true });
}

describe("stage 2: the global entry", () => {
  it("reserves one protected global IPv4 address and puts HTTPS (443) and HTTP (80) on it", async () => {
    const p = await plan("stage2");
    const ip = get(p, T.address, "lb-ip");
    expect(ip.parent).toBe(LB_URN);
    stateful(ip);
    expect(ip.inputs).toEqual({
      name: "co-lb-ip",
      addressType: "EXTERNAL",
      ipVersion: "IPV4",
      labels: labels(2),
      description: "Course Organizer global entry (anycast)",
    });
    const address = p.outputs.lbIp as string;
    expect(address).toMatch(/^34\.110\.\d+\.\d+$/);
    const rule = (port: string, target: string) => ({
      name: port === "443" ? "co-lb-https" : "co-lb-http",
      ipAddress: address,
      ipProtocol: "TCP",
      portRange: port,
      loadBalancingScheme: "EXTERNAL_MANAGED",
      networkTier: "PREMIUM",
      target,
      labels: labels(2),
    });
    expect(get(p, T.rule, "lb-https").inputs).toEqual(rule("443", `${PROJ}/global/targetHttpsProxies/co-https-proxy`));
    expect(get(p, T.rule, "lb-http").inputs).toEqual(rule("80", `${PROJ}/global/targetHttpProxies/co-http-proxy`));
  });

  it("issues a Google-managed certificate through Certificate Manager with DNS authorization, in a certificate map", async () => {
    const p = await plan("stage2");
    const auth = get(p, T.dnsAuth, "lb-dns-auth-courses-example-org");
    const cert = get(p, T.cert, "lb-cert-courses-example-org");
    stateful(auth);
    stateful(cert);
    expect(auth.inputs).toEqual({
      name: "co-dns-auth-courses-example-org",
      domain: "courses.example.org",
      location: "global",
      type: "FIXED_RECORD",
      labels: labels(2),
      description: "Proves control of courses.example.org",
    });
    expect(cert.inputs).toEqual({
      name: "co-cert-courses-example-org",
      location: "global",
      scope: "DEFAULT",
      labels: labels(2),
      description: "Google-managed certificate for courses.example.org",
      managed: { domains: ["courses.example.org"], dnsAuthorizations: [`${PROJ}/locations/global/dnsAuthorizations/co-dns-auth-courses-example-org`] },
    });
    expect(get(p, T.certMap, "lb-cert-map").inputs).toEqual({
      name: "co-cert-map",
      labels: labels(2),
      description: "Certificates of the Course Organizer domains",
    });
    const certId = `${PROJ}/locations/global/certificates/co-cert-courses-example-org`;
    expect(get(p, T.certEntry, "lb-cert-entry-courses-example-org").inputs).toEqual({
      name: "co-cert-entry-courses-example-org",
      map: "co-cert-map",
      hostname: "courses.example.org",
      certificates: [certId],
      labels: labels(2),
    });
    expect(get(p, T.certEntry, "lb-cert-entry-primary").inputs).toEqual({
      name: "co-cert-entry-primary",
      map: "co-cert-map",
      matcher: "PRIMARY",
      certificates: [certId],
      labels: labels(2),
    });
    // The CNAME the DNS section (or the registrar) creates so the certificate issues and renews.
    expect(p.outputs.dnsAuthorizationRecords).toEqual([
      {
        domain: "courses.example.org",
        name: "_acme-challenge.courses.example.org.",
        type: "CNAME",
        data: expect.stringMatching(/\.authorize\.certificatemanager\.goog\.$/),
      },
      {
        domain: "meet.courses.example.org",
        name: "_acme-challenge.meet.courses.example.org.",
        type: "CNAME",
        data: expect.stringMatching(/\.authorize\.certificatemanager\.goog\.$/),
      },
    ]);
  });

  it("covers the meet domain too: at stage 2 Jitsi runs on the VM, whose 443 only the load balancer reaches", async () => {
    const p = await plan("stage2");
    stateful(get(p, T.dnsAuth, "lb-dns-auth-meet-courses-example-org"));
    const cert = get(p, T.cert, "lb-cert-meet-courses-example-org");
    stateful(cert);
    expect(cert.inputs.managed).toEqual({
      domains: ["meet.courses.example.org"],
      dnsAuthorizations: [`${PROJ}/locations/global/dnsAuthorizations/co-dns-auth-meet-courses-example-org`],
    });
    expect(get(p, T.certEntry, "lb-cert-entry-meet-courses-example-org").inputs).toEqual({
      name: "co-cert-entry-meet-courses-example-org",
      map: "co-cert-map",
      hostname: "meet.courses.example.org",
      certificates: [`${PROJ}/locations/global/certificates/co-cert-meet-courses-example-org`],
      labels: labels(2),
    });
  });

  it("terminates TLS with the certificate map and a MODERN TLS 1.2+ policy; HTTP only redirects (301) to HTTPS", async () => {
    const p = await plan("stage2");
    expect(get(p, T.sslPolicy, "lb-ssl-policy").inputs).toEqual({
      name: "co-ssl-policy",
      profile: "MODERN",
      minTlsVersion: "TLS_1_2",
      description: "TLS 1.2+ with modern ciphers",
    });
    expect(get(p, T.httpsProxy, "lb-https-proxy").inputs).toEqual({
      name: "co-https-proxy",
      urlMap: `${PROJ}/global/urlMaps/co-url-map`,
      certificateMap: `//certificatemanager.googleapis.com/${PROJ}/locations/global/certificateMaps/co-cert-map`,
      sslPolicy: `${PROJ}/global/sslPolicies/co-ssl-policy`,
      quicOverride: "NONE",
    });
    expect(get(p, T.urlMap, "lb-http-redirect").inputs).toEqual({
      name: "co-http-redirect",
      description: "HTTP to HTTPS",
      defaultUrlRedirect: { httpsRedirect: true, redirectResponseCode: "MOVED_PERMANENTLY_DEFAULT", stripQuery: false },
    });
    expect(get(p, T.httpProxy, "lb-http-proxy").inputs).toEqual({ name: "co-http-proxy", urlMap: `${PROJ}/global/urlMaps/co-http-redirect` });
  });

  it("serves /static/* (30 days) and /media/* (7 days, signed URLs) from Cloud CDN backend buckets", async () => {
    const p = await plan("stage2");
    const common = { negativeCaching: true, requestCoalescing: true, serveWhileStale: 86400 };
    expect(get(p, T.backendBucket, "lb-static-bucket").inputs).toEqual({
      name: "co-static-cdn",
      bucketName: "course-organizer-demo-co-static",
      description: "Static files (/static/*) through Cloud CDN",
      enableCdn: true,
      cdnPolicy: { cacheMode: "CACHE_ALL_STATIC", defaultTtl: 2592000, maxTtl: 2592000, clientTtl: 2592000, ...common },
      compressionMode: "AUTOMATIC",
      edgeSecurityPolicy: `https://www.googleapis.com/compute/v1/${PROJ}/global/securityPolicies/co-edge-armor`,
      customResponseHeaders: ["Strict-Transport-Security: max-age=63072000", "X-Content-Type-Options: nosniff"],
    });
    expect(get(p, T.backendBucket, "lb-media-bucket").inputs).toEqual({
      name: "co-media-cdn",
      bucketName: "course-organizer-demo-co-media",
      description: "Media (/media/*) through Cloud CDN, signed URLs only",
      enableCdn: true,
      // No maxTtl: GCP accepts it only with CACHE_ALL_STATIC.
      cdnPolicy: { cacheMode: "FORCE_CACHE_ALL", defaultTtl: 604800, clientTtl: 604800, signedUrlCacheMaxAgeSec: 3600, ...common },
      compressionMode: "AUTOMATIC",
      edgeSecurityPolicy: `https://www.googleapis.com/compute/v1/${PROJ}/global/securityPolicies/co-edge-armor`,
      // Uploads neutralised: no script, an opaque origin, a download on navigation.
      customResponseHeaders: [
        "Strict-Transport-Security: max-age=63072000",
        "Content-Security-Policy: sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'",
        "X-Content-Type-Options: nosniff",
        "Referrer-Policy: no-referrer",
        "Content-Disposition: attachment",
      ],
    });
    // Both buckets behind Cloud Armor at the edge (a backend bucket takes only a CLOUD_ARMOR_EDGE policy).
    expect(get(p, T.armor, "lb-edge-armor").inputs).toEqual({
      name: "co-edge-armor",
      type: "CLOUD_ARMOR_EDGE",
      labels: labels(2),
      description: "Edge policy of the CDN backend buckets (IP and region deny rules go here)",
      rules: [{ priority: 2147483647, action: "allow", description: "Default: allow", match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["*"] } } }],
    });
    expect(get(p, T.signedKey, "lb-media-key").inputs.backendBucket).toBe("co-media-cdn");
  });

  it("refuses OWASP attacks with Google's preconfigured WAF rules, rate-limits each client IP (throttle, 429), allows the rest", async () => {
    const p = await plan("stage2");
    const all = { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["*"] } };
    const waf = (priority: number, rule: string, what: string) => ({
      priority,
      action: "deny(403)",
      preview: false,
      description: `${what} (${rule}, sensitivity 1)`,
      match: { expr: { expression: `evaluatePreconfiguredWaf('${rule}', {'sensitivity': 1})` } },
    });
    expect(get(p, T.armor, "lb-armor").inputs).toEqual({
      name: "co-armor",
      type: "CLOUD_ARMOR",
      labels: labels(2),
      description: "OWASP WAF rules (enforce) and a per-client-IP rate limit in front of the app",
      adaptiveProtectionConfig: { layer7DdosDefenseConfig: { enable: true, ruleVisibility: "STANDARD" } },
      rules: [
        waf(100, "sqli-v33-stable", "SQL injection"),
        waf(110, "xss-v33-stable", "Cross-site scripting"),
        waf(120, "lfi-v33-stable", "Local file inclusion"),
        waf(130, "rce-v33-stable", "Remote code execution"),
        waf(140, "scannerdetection-v33-stable", "Scanner detection"),
        {
          priority: 1000,
          action: "throttle",
          description: "600 requests per minute per client IP",
          match: all,
          rateLimitOptions: { conformAction: "allow", exceedAction: "deny(429)", enforceOnKey: "IP", rateLimitThreshold: { count: 600, intervalSec: 60 } },
        },
        { priority: 2147483647, action: "allow", description: "Default: allow", match: all },
      ],
    });
    // The documented switch: loadBalancer.wafMode preview logs the WAF matches without blocking.
    const pre = await plan("stage2", { sets: ["loadBalancer.wafMode=preview"] });
    const rules = get(pre, T.armor, "lb-armor").inputs.rules as { priority: number; preview?: boolean }[];
    expect(rules.filter((r) => r.preview === true).map((r) => r.priority)).toEqual([100, 110, 120, 130, 140]);
    expect(rules.filter((r) => r.preview === undefined).map((r) => r.priority)).toEqual([1000, 2147483647]);
  });

  it("sends everything to the VM: 30 s for pages and the API, a 3600 s WebSocket service for /ws/*, both behind Cloud Armor, not cached", async () => {
    const p = await plan("stage2");
    const be = (route: string, timeoutSec: number, sessionAffinity: string, connectionDrainingTimeoutSec: number) => ({
      name: `co-be-${route}-vm`,
      description: `${route} route: vm`,
      protocol: "HTTP",
      loadBalancingScheme: "EXTERNAL_MANAGED",
      portName: "http",
      timeoutSec,
      sessionAffinity,
      connectionDrainingTimeoutSec,
      healthChecks: `${PROJ}/global/healthChecks/co-hc-${route}-vm`,
      backends: [{ group: VM_GROUP, balancingMode: "UTILIZATION", maxUtilization: 0.8, capacityScaler: 1 }],
      enableCdn: false,
      securityPolicy: ARMOR,
      logConfig: { enable: true, sampleRate: 0.1 },
    });
    expect(get(p, T.backendService, "lb-be-default-vm").inputs).toEqual(be("default", 30, "NONE", 60));
    expect(get(p, T.backendService, "lb-be-ws-vm").inputs).toEqual(be("ws", 3600, "NONE", 300));
    expect(
      ofType(p, T.backendService)
        .map((r) => r.name)
        .sort(),
    ).toEqual(["lb-be-default-vm", "lb-be-ws-vm"]);
    for (const route of ["default", "ws"]) {
      expect(get(p, T.healthCheck, `lb-hc-${route}-vm`).inputs).toEqual({
        name: `co-hc-${route}-vm`,
        description: "HTTP /health on 80",
        checkIntervalSec: 10,
        timeoutSec: 5,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
        httpHealthCheck: { port: 80, requestPath: "/health", portSpecification: "USE_FIXED_PORT" },
      });
    }
  });

  it("maps /ws/*, /static/* and /media/* by path and the rest to the VM", async () => {
    const p = await plan("stage2");
    const def = svc("co-be-default-vm");
    expect(get(p, T.urlMap, "lb-url-map").inputs).toEqual({
      name: "co-url-map",
      description: "Course Organizer: /api, /ws, /static, /media and the app",
      defaultService: def,
      // Jitsi's host goes whole to the 3600 s service: /xmpp-websocket and /colibri-ws/ are WebSockets, and its
      // /static/ is jitsi-web's, not the Django bucket.
      hostRules: [
        { hosts: ["meet.courses.example.org"], pathMatcher: "host-meet-courses-example-org" },
        { hosts: ["*"], pathMatcher: "app" },
      ],
      pathMatchers: [
        { name: "host-meet-courses-example-org", defaultService: svc("co-be-ws-vm") },
        {
          name: "app",
          defaultService: def,
          pathRules: [
            { paths: ["/ws/*"], service: svc("co-be-ws-vm") },
            { paths: ["/static/*"], service: bb("co-static-cdn") },
            { paths: ["/media/*"], service: bb("co-media-cdn") },
          ],
        },
      ],
      tests: [
        { host: "courses.example.org", path: "/static/app.css", service: bb("co-static-cdn") },
        { host: "courses.example.org", path: "/media/file.pdf", service: bb("co-media-cdn") },
        { host: "meet.courses.example.org", path: "/static/app.css", service: svc("co-be-ws-vm") },
      ],
    });
  });

  it("plans in preview mode: the same resources, the address unknown until created", async () => {
    const [up, pre] = await Promise.all([plan("stage2"), plan("stage2", { preview: true })]);
    const urns = (x: Plan) =>
      x.resources
        .filter((r) => r.urn.includes("lb:LoadBalancer") || r.name.startsWith("lb"))
        .map((r) => r.urn)
        .sort();
    expect(urns(pre)).toEqual(urns(up));
    expect(urns(pre).length).toBeGreaterThan(20);
    expect(get(pre, T.rule, "lb-https").inputs.ipAddress).toBe(UNKNOWN_MARK);
    expect(get(pre, T.urlMap, "lb-url-map").inputs.name).toBe("co-url-map");
  });
});

describe("a new domain", () => {
  it("adds a DNS authorization, a certificate and a map entry; the serving ones and the address stay as they are", async () => {
    const before = await plan("stage2");
    const after = await plan("stage2", { sets: ['loadBalancer.extraDomains=["www.courses.example.org"]'] });
    const d = diffPlans(before, after, "stage2");
    expect(d.creates.map((r) => `${r.type} ${r.name}`).sort()).toEqual(
      [
        `${T.dnsAuth} lb-dns-auth-www-courses-example-org`,
        `${T.cert} lb-cert-www-courses-example-org`,
        `${T.certEntry} lb-cert-entry-www-courses-example-org`,
      ].sort(),
    );
    expect(d.deletes).toEqual([]);
    expect(d.replaces).toEqual([]);
    // Only the CORS origins of the buckets change.
    expect(d.updates.map((u) => [u.name, u.paths])).toEqual(
      expect.arrayContaining([
        ["media-static", ["cors[0].origins"]],
        ["media-media", ["cors[0].origins"]],
      ]),
    );
    const changed = new Set([...d.updates.map((u) => u.urn), ...d.creates.map((r) => r.urn)]);
    for (const [type, name] of [
      [T.address, "lb-ip"],
      [T.certMap, "lb-cert-map"],
      [T.cert, "lb-cert-courses-example-org"],
      [T.urlMap, "lb-url-map"],
      [T.httpsProxy, "lb-https-proxy"],
    ] as const) {
      expect(changed.has(get(after, type, name).urn)).toBe(false);
    }
    const cert = get(after, T.cert, "lb-cert-www-courses-example-org");
    stateful(cert);
    expect((cert.inputs.managed as Record<string, unknown>).domains).toEqual(["www.courses.example.org"]);
    expect(get(after, T.certEntry, "lb-cert-entry-www-courses-example-org").inputs.hostname).toBe("www.courses.example.org");
    expect((after.outputs.dnsAuthorizationRecords as { domain: string }[]).map((r) => r.domain)).toEqual([
      "courses.example.org",
      "www.courses.example.org",
      "meet.courses.example.org",
    ]);
  });
});

describe("stage moves", () => {
  // Needs the stage-3 instance pools registered in lbBackends (src/stack/pools.ts) and a stack that plans at stage 3.
  it("stage 2 -> 3 keeps the address, certificate, certificate map, URL maps, proxies and buckets (updates at most)", async () => {
    const from = await plan("stage3", { configStack: "stage2" });
    const to = await plan("stage3");
    const d = diffPlans(from, to, "stage2");
    for (const [type, name] of STABLE) {
      const r = get(to, type, name);
      expect({ name, replaced: d.replaces.some((x) => x.urn === r.urn), created: d.creates.some((x) => x.urn === r.urn) }).toEqual({
        name,
        replaced: false,
        created: false,
      });
    }
    expect(d.deletes.filter((x) => x.protect && (x.name.startsWith("lb-") || x.name.startsWith("media-")))).toEqual([]);
    // The pools take /api/* and /ws/*; the VM's services leave.
    expect(d.deletes.map((x) => x.name)).toEqual(expect.arrayContaining(["lb-be-default-vm", "lb-be-ws-vm"]));
    expect(
      ofType(to, T.backendService)
        .map((r) => r.name)
        .sort(),
    ).toEqual(["lb-be-api-mig", "lb-be-default-mig", "lb-be-ws-mig"]);
    const ws = get(to, T.backendService, "lb-be-ws-mig").inputs;
    expect([ws.timeoutSec, ws.sessionAffinity, ws.connectionDrainingTimeoutSec]).toEqual([3600, "NONE", 300]);
    const api = get(to, T.backendService, "lb-be-api-mig").inputs;
    expect([api.timeoutSec, api.sessionAffinity]).toEqual([30, "NONE"]);
    // From stage 3 the signaling VM serves the meet domain on its own address: no host rule, the certificate idle.
    expect(get(to, T.urlMap, "lb-url-map").inputs.hostRules).toEqual([{ hosts: ["*"], pathMatcher: "app" }]);
  });

  // Needs the stage-4 GKE NEGs registered in lbBackends.gke.
  it("stage 3 -> 4 keeps the same entry resources", async () => {
    const from = await plan("stage4", { configStack: "stage3" });
    const to = await plan("stage4");
    const d = diffPlans(from, to, "stage3");
    for (const [type, name] of STABLE) {
      const r = get(to, type, name);
      expect({ name, replaced: d.replaces.some((x) => x.urn === r.urn), created: d.creates.some((x) => x.urn === r.urn) }).toEqual({
        name,
        replaced: false,
        created: false,
      });
    }
  });
});

describe("the stage 3 -> 4 cut-over in the plan", () => {
  // Needs the stage-3 pools and the stage-4 NEGs registered in lbBackends (both are).
  it("splits /api/*, /ws/* and the default route 70/30 between the instance groups and GKE, updating the URL map in place", async () => {
    const sets = ["httpPool.enabled=true", "wsPool.enabled=true", "loadBalancer.gkeTrafficPercent=30"];
    const p = await plan("stage4", { sets });
    const weighted = (route: string) => ({
      weightedBackendServices: [
        { backendService: svc(`co-be-${route}-mig`), weight: 70 },
        { backendService: svc(`co-be-${route}-gke`), weight: 30 },
      ],
    });
    const map = get(p, T.urlMap, "lb-url-map").inputs as Record<string, any>;
    expect(map.defaultService).toBeUndefined();
    expect(map.defaultRouteAction).toEqual(weighted("default"));
    expect(map.pathMatchers[0].defaultRouteAction).toEqual(weighted("default"));
    expect(map.pathMatchers[0].pathRules.slice(0, 2)).toEqual([
      { paths: ["/api/*"], routeAction: weighted("api") },
      { paths: ["/ws/*"], routeAction: weighted("ws") },
    ]);
    const d = diffPlans(await plan("stage4"), p, "stage4 at 100 %");
    expect(d.updates.map((u) => u.name)).toContain("lb-url-map");
    expect(d.replaces.filter((r) => r.name.startsWith("lb-"))).toEqual([]);
    const gke = get(p, T.backendService, "lb-be-ws-gke").inputs as Record<string, any>;
    expect([gke.timeoutSec, gke.sessionAffinity, gke.backends[0].balancingMode]).toEqual([3600, "NONE", "RATE"]);
  });
});

describe("routes and weighted cut-over", () => {
  const cfg = (gkeTrafficPercent: number) =>
    ({
      meetDomain: "meet.courses.example.org",
      loadBalancer: { gkeTrafficPercent },
      httpPool: { requestsPerSecondPerInstance: 100 },
      kubernetes: { requestsPerSecondPerPod: 100 },
    }) as unknown as Config;
  const mig = { group: "mig-http", portName: "http", healthCheck: { path: "/api/health", port: 8000 } };
  const wsMig = { group: "mig-ws", portName: "ws", healthCheck: { path: "/health", port: 8001 } };
  const gke = { api: ["neg-a", "neg-b"], ws: ["neg-ws"], port: 8080, apiHealthPath: "/ready", wsHealthPath: "/ready" };

  it("stage 2: the VM takes the default route and a long-timeout /ws/* route", () => {
    const r = lbRoutes(cfg(0), { vm: { group: "vm-group" } })!;
    expect(Object.keys(r).sort()).toEqual(["default", "ws"]);
    expect(r.default).toEqual({
      targets: [
        { key: "vm", groups: [{ group: "vm-group", kind: "instanceGroup" }], portName: "http", healthCheck: { path: "/health", port: 80 }, weight: 100 },
      ],
      timeoutSec: 30,
      affinity: "NONE",
      drainingTimeoutSec: 60,
    });
    expect([r.ws!.timeoutSec, r.ws!.affinity, r.ws!.drainingTimeoutSec, r.ws!.targets[0]!.key]).toEqual([3600, "NONE", 300, "vm"]);
  });

  it("stage 3: the HTTP pool by rate per instance for default and /api/*, the WebSocket pool for /ws/*", () => {
    const r = lbRoutes(cfg(0), { httpPool: mig, wsPool: wsMig })!;
    // The load balancer adds the app's security headers to what the pools answer (the VM's nginx sends its own).
    const responseHeaders = [
      "Strict-Transport-Security: max-age=63072000",
      "X-Content-Type-Options: nosniff",
      "Referrer-Policy: strict-origin-when-cross-origin",
      "Content-Security-Policy: frame-ancestors 'self'; base-uri 'self'; object-src 'none'",
      `Permissions-Policy: camera=(self "https://${cfg(0).meetDomain}"), microphone=(self "https://${cfg(0).meetDomain}"), display-capture=(self "https://${cfg(0).meetDomain}"), geolocation=(), payment=(), usb=()`,
    ];
    expect(r.api!.targets).toEqual([
      {
        key: "mig",
        groups: [{ group: "mig-http", kind: "instanceGroup", maxRatePerInstance: 100 }],
        portName: "http",
        healthCheck: mig.healthCheck,
        weight: 100,
        responseHeaders,
      },
    ]);
    expect(r.default.targets).toEqual(r.api!.targets);
    expect(r.ws!.targets).toEqual([
      { key: "mig", groups: [{ group: "mig-ws", kind: "instanceGroup" }], portName: "ws", healthCheck: wsMig.healthCheck, weight: 100, responseHeaders },
    ]);
    expect(r.api!.targets[0]!.responseHeaders![4]).toBe(
      'Permissions-Policy: camera=(self "https://meet.courses.example.org"), microphone=(self "https://meet.courses.example.org"), display-capture=(self "https://meet.courses.example.org"), geolocation=(), payment=(), usb=()',
    );
    // The VM's backend gets none: nginx sends them, and its meet host has its own.
    expect(lbRoutes(cfg(0), { vm: mig })!.default.targets[0]!.responseHeaders).toBeUndefined();
  });

  it("cut-over: instance groups and GKE NEGs weighted by gkeTrafficPercent; stage 4: NEGs only", () => {
    const r = lbRoutes(cfg(30), { httpPool: mig, wsPool: wsMig, gke })!;
    expect(r.api!.targets.map((t) => [t.key, t.weight])).toEqual([
      ["mig", 70],
      ["gke", 30],
    ]);
    expect(r.ws!.targets.map((t) => [t.key, t.weight])).toEqual([
      ["mig", 70],
      ["gke", 30],
    ]);
    expect(r.api!.targets[1]!.groups).toEqual([
      { group: "neg-a", kind: "neg", maxRatePerEndpoint: 100 },
      { group: "neg-b", kind: "neg", maxRatePerEndpoint: 100 },
    ]);
    const four = lbRoutes(cfg(100), { gke })!;
    expect(four.default.targets.map((t) => t.key)).toEqual(["gke"]);
    expect(four.ws!.targets[0]!.healthCheck).toEqual({ path: "/ready", port: 8080 });
    expect(lbRoutes(cfg(0), {})).toBeUndefined();
  });

  it("routes several targets through weightedBackendServices, a single one directly", () => {
    const route = (weights: number[]): RouteArgs => ({
      targets: weights.map((weight, i) => ({
        key: `t${i}`,
        groups: [{ group: "g", kind: "instanceGroup" as const }],
        healthCheck: { path: "/", port: 80 },
        weight,
      })),
      timeoutSec: 30,
      affinity: "NONE",
      drainingTimeoutSec: 60,
    });
    expect(routeTo(route([100]), (k) => `svc-${k}`)).toEqual({ service: "svc-t0" });
    expect(routeTo(route([70, 30]), (k) => `svc-${k}`)).toEqual({
      routeAction: {
        weightedBackendServices: [
          { backendService: "svc-t0", weight: 70 },
          { backendService: "svc-t1", weight: 30 },
        ],
      },
    });
  });

  it("balances instance groups by UTILIZATION or RATE and NEGs by RATE per endpoint", () => {
    expect(backendOf({ group: "g", kind: "instanceGroup" })).toEqual({ group: "g", balancingMode: "UTILIZATION", maxUtilization: 0.8, capacityScaler: 1 });
    expect(backendOf({ group: "g", kind: "instanceGroup", maxRatePerInstance: 100 })).toEqual({
      group: "g",
      balancingMode: "RATE",
      maxRatePerInstance: 100,
      capacityScaler: 1,
    });
    expect(backendOf({ group: "n", kind: "neg", maxRatePerEndpoint: 50 })).toEqual({
      group: "n",
      balancingMode: "RATE",
      maxRatePerEndpoint: 50,
      capacityScaler: 1,
    });
  });
});

describe("argument checks", () => {
  const target = { key: "vm", groups: [{ group: "g", kind: "instanceGroup" as const }], healthCheck: { path: "/health", port: 80 }, weight: 100 };
  const ok: LoadBalancerArgs = {
    prefix: "co",
    labels: {},
    domains: ["a.example.org"],
    staticBucketName: "s",
    mediaBucketName: "m",
    staticCacheDays: 30,
    mediaCacheDays: 7,
    signedMedia: true,
    signingKey: { name: "k", value: "v" },
    routes: { default: { targets: [target], timeoutSec: 30, affinity: "NONE", drainingTimeoutSec: 60 } },
    rateLimitPerMinute: 600,
    wafMode: "enforce",
    logSampleRate: 0.1,
  };
  const withRoute = (r: Partial<RouteArgs>) => ({ ...ok, routes: { default: { ...ok.routes.default, ...r } } });
  it("accepts valid args and names each bad field", () => {
    expect(loadBalancerProblems(ok)).toEqual([]);
    expect(loadBalancerProblems({ ...ok, signingKey: undefined })).toEqual([
      "LoadBalancer args.signingKey: (not set) is not set while args.signedMedia is true; allowed: the media CDN key ({ name, value })",
    ]);
    expect(loadBalancerProblems({ ...ok, domains: [] })).toEqual(["LoadBalancer args.domains: [] is empty; allowed: at least the main domain"]);
    expect(loadBalancerProblems({ ...ok, domains: ["a.example.org", "a.example.org"] })).toEqual([
      'LoadBalancer args.domains[1]: "a.example.org" is listed twice (also domains[0]); allowed: each domain once (one certificate each)',
    ]);
    expect(loadBalancerProblems({ ...ok, logSampleRate: 1.5, rateLimitPerMinute: 0 })).toEqual([
      "LoadBalancer args.logSampleRate: 1.5 is not a share; allowed: 0-1",
      "LoadBalancer args.rateLimitPerMinute: 0 is below 1; allowed: at least 1 request per minute per client",
    ]);
    expect(loadBalancerProblems(withRoute({ timeoutSec: 0, drainingTimeoutSec: 3601 }))).toEqual([
      "LoadBalancer args.routes.default.timeoutSec: 0 is outside the backend service timeouts of a global external Application Load Balancer; allowed: 1-86400 seconds",
      "LoadBalancer args.routes.default.drainingTimeoutSec: 3601 is outside connection draining's range; allowed: 0-3600 seconds",
    ]);
    expect(loadBalancerProblems(withRoute({ targets: [target, { ...target, key: "gke" }].map((t) => ({ ...t, weight: 0 })) }))).toEqual([
      'LoadBalancer args.routes.default.targets: ["vm:0","gke:0"] has weights that sum to 0: no traffic would be served; allowed: weights (0-100) with a positive sum',
    ]);
    expect(loadBalancerProblems(withRoute({ targets: [] }))).toEqual(["LoadBalancer args.routes.default.targets: [] is empty; allowed: at least one target"]);
    expect(loadBalancerProblems(withRoute({ targets: [target, { ...target, key: "Vm-1", weight: 101, groups: [] }, target] }))).toEqual([
      'LoadBalancer args.routes.default.targets[2].key: "vm" is used twice (also targets[0]); keys name the backend services; allowed: a key per target, each once',
      'LoadBalancer args.routes.default.targets[1].key: "Vm-1" is not a name part; allowed: lowercase letters and digits, starting with a letter',
      "LoadBalancer args.routes.default.targets[1].weight: 101 is outside the URL map's weights; allowed: 0-100",
      "LoadBalancer args.routes.default.targets[1].groups: [] is empty; allowed: at least one instance group or NEG",
    ]);
    expect(
      loadBalancerProblems(withRoute({ targets: [{ ...target, groups: [{ group: "n", kind: "neg", maxRatePerInstance: 5, maxUtilization: 0.8 }] }] })),
    ).toEqual([
      "LoadBalancer args.routes.default.targets[0].groups[0].maxRatePerEndpoint: (not set) is required for a NEG (RATE balancing); allowed: requests per second per endpoint",
      "LoadBalancer args.routes.default.targets[0].groups[0].maxRatePerInstance: 5 is set on a NEG; allowed: unset: NEGs take maxRatePerEndpoint only",
      "LoadBalancer args.routes.default.targets[0].groups[0].maxUtilization: 0.8 is set on a NEG; allowed: unset: NEGs take maxRatePerEndpoint only",
    ]);
    expect(
      loadBalancerProblems(
        withRoute({
          targets: [{ ...target, groups: [{ group: "g", kind: "instanceGroup", maxConnectionsPerInstance: 1000, maxRatePerEndpoint: 10, maxUtilization: 0 }] }],
        }),
      ),
    ).toEqual([
      "LoadBalancer args.routes.default.targets[0].groups[0].maxConnectionsPerInstance: 1000 asks for CONNECTION balancing, which is for proxy Network Load Balancers; allowed: unset: HTTP backend services take UTILIZATION or RATE",
      "LoadBalancer args.routes.default.targets[0].groups[0].maxRatePerEndpoint: 10 is set on an instance group; allowed: unset: instance groups take maxRatePerInstance or maxUtilization",
      "LoadBalancer args.routes.default.targets[0].groups[0].maxUtilization: 0 is not a share; allowed: a share in (0, 1]",
    ]);
    expect(loadBalancerProblems({ ...ok, hostRoutes: [{ host: "meet.example.org", route: "ws" }] })).toEqual([
      'LoadBalancer args.hostRoutes[0].host: "meet.example.org" is not in args.domains, so no certificate would cover it; allowed: one of a.example.org',
      'LoadBalancer args.hostRoutes[0].route: "ws" is not a route of args.routes; allowed: default',
    ]);
    expect(
      loadBalancerProblems({
        ...ok,
        hostRoutes: [
          { host: "a.example.org", route: "default" },
          { host: "a.example.org", route: "default" },
        ],
      }),
    ).toEqual(['LoadBalancer args.hostRoutes[1].host: "a.example.org" is listed twice (also hostRoutes[0]); allowed: each host once']);
  });
  it("names resources after domains", () => {
    expect(domainSlug("www.Courses.example.org")).toBe("www-courses-example-org");
  });
});

describe("enums", () => {
  /** Loose path key: no indexes, separators, case or plural s (Pulumi pluralizes list blocks: lifecycleRules). */
  const canon = (path: string) =>
    path
      .toLowerCase()
      .replace(/\[\d*\]/g, "")
      .replace(/[^a-z]/g, "")
      .replace(/s/g, "");
  function leaves(v: unknown, prefix = ""): [string, unknown][] {
    if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, `${prefix}[${i}]`));
    if (v && typeof v === "object") {
      if ("[secret]" in (v as object)) return [];
      return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => leaves(x, prefix ? `${prefix}.${k}` : k));
    }
    return [[prefix, v]];
  }
  it.each(["stage2", "stage3", "stage4"])("%s: every enum the media and load-balancer resources set is one Google accepts", async (stack) => {
    const p = await plan(stack);
    const facts = gcpFacts();
    // Fact keys are Google's type names; @pulumi/gcp spells some tokens differently (sSLPolicy vs sslPolicy).
    const byLower = new Map(Object.entries(facts).map(([k, v]) => [k.toLowerCase(), v]));
    const ruleEnums = facts["gcp:compute/securityPolicyRule:SecurityPolicyRule"]!.enums;
    const storageClasses = facts[T.bucket]!.enums.storageClass!;
    const bad: string[] = [];
    const checked = new Set<string>();
    for (const r of p.resources.filter((x) => x.custom && (x.name.startsWith("lb-") || x.name.startsWith("media-")))) {
      const enums: Record<string, string[]> = { ...(byLower.get(r.type.toLowerCase())?.enums ?? {}) };
      if (r.type === T.armor) for (const [k, v] of Object.entries(ruleEnums)) enums[`rules[].${k}`] = v;
      if (r.type === T.bucket) enums["lifecycleRules[].action.storageClass"] = storageClasses;
      const allowed = new Map(Object.entries(enums).map(([k, v]) => [canon(k), v]));
      for (const [path, value] of leaves(r.inputs)) {
        const values = allowed.get(canon(path));
        if (!values || typeof value !== "string" || value === UNKNOWN_MARK) continue;
        checked.add(`${r.type.split(":").pop()}.${path.replace(/\[\d+\]/g, "[]")}`);
        if (!values.includes(value)) bad.push(`${r.type} ${r.name}: ${path} = ${JSON.stringify(value)}; allowed: ${values.join(", ")}`);
      }
    }
    expect(bad).toEqual([]);
    // The enums this part sets, each found and checked.
    expect([...checked]).toEqual(
      expect.arrayContaining([
        "Bucket.storageClass",
        "Bucket.lifecycleRules[].action.type",
        "Bucket.lifecycleRules[].action.storageClass",
        "BackendBucket.cdnPolicy.cacheMode",
        "BackendBucket.compressionMode",
        "BackendService.protocol",
        "BackendService.loadBalancingScheme",
        "BackendService.sessionAffinity",
        "BackendService.backends[].balancingMode",
        "HealthCheck.httpHealthCheck.portSpecification",
        "SSLPolicy.profile",
        "SSLPolicy.minTlsVersion",
        "TargetHttpsProxy.quicOverride",
        "GlobalForwardingRule.loadBalancingScheme",
        "GlobalForwardingRule.networkTier",
        "GlobalAddress.addressType",
        "GlobalAddress.ipVersion",
        "DnsAuthorization.type",
        "URLMap.defaultUrlRedirect.redirectResponseCode",
        "SecurityPolicy.rules[].match.versionedExpr",
        "SecurityPolicy.rules[].rateLimitOptions.enforceOnKey",
      ]),
    );
  });
});
