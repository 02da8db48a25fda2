import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { statefulOptions } from "../src/options";
import { asHeaderLines, HSTS, mediaSecurityHeaders } from "../src/files/security-headers";
import { argRefuser } from "../src/config/refusal";
import { WAF_FIRST_PRIORITY, WAF_RULES, WAF_SENSITIVITY, wafExpression } from "../src/files/armor";
import type { ComponentContext } from "./context";

/** One instance group or network endpoint group behind a backend service. */
export interface BackendGroup {
  /** Self link of the instance group (unmanaged or a MIG's `instanceGroup`) or of the NEG. */
  group: pulumi.Input<string>;
  kind: "instanceGroup" | "neg";
  /** Instance groups: RATE mode at this many requests/s per instance (otherwise UTILIZATION). */
  maxRatePerInstance?: number;
  /** NEGs: requests/s per endpoint (pod); required, NEGs of an Application LB balance by RATE. */
  maxRatePerEndpoint?: number;
  /** Instance groups in UTILIZATION mode: target CPU share 0-1. @default 0.8 */
  maxUtilization?: number;
  /**
   * Not allowed: CONNECTION balancing exists only for proxy Network LBs (TCP/SSL); HTTP backend services of an
   * Application LB take UTILIZATION or RATE. Kept in the interface so a caller gets a clear error.
   */
  maxConnectionsPerInstance?: number;
  /** Not allowed (see maxConnectionsPerInstance). */
  maxConnectionsPerEndpoint?: number;
}

export interface BackendTarget {
  /** "vm" | "mig" | "gke": part of child and physical names (`<lb>-be-<route>-<key>`), never the stage. */
  key: string;
  groups: BackendGroup[];
  /** Named port of instance groups the service addresses (ignored for NEGs). @default "http" */
  portName?: string;
  /** HTTP health check on this port and path (the backends' firewall already admits Google's probers). */
  healthCheck: { path: string; port: number };
  /** 0-100 traffic share among a route's targets (the stage 3 -> 4 gradual cut-over). */
  weight: number;
  /**
   * Headers the load balancer adds to this backend's responses ("Name: value", customResponseHeaders). The app's
   * security headers for backends that do not send them themselves (instance groups, GKE); the VM's nginx sends
   * its own. @default []
   */
  responseHeaders?: string[];
}

export interface RouteArgs {
  targets: BackendTarget[];
  /**
   * Backend service timeout (s). For HTTP it is the response timeout (seed: API 30 s); for WebSockets it is the
   * longest a session may last (seed: 3600 s), since the LB default of 30 s would cut every socket after 30 s.
   */
  timeoutSec: number;
  /**
   * Session affinity: NONE only. On Envoy-based backend services (EXTERNAL_MANAGED) any other value "will not take
   * effect" unless localityLbPolicy is MAGLEV, WEIGHTED_MAGLEV or RING_HASH (magic-modules
   * mmv1/products/compute/BackendService.yaml, localityLbPolicy), and nothing here needs it: a WebSocket stays on
   * the backend that accepted it for its whole life, and Channels' group messages cross instances through Redis.
   */
  affinity: "NONE";
  /** Connection draining (s): how long a removed backend keeps its open requests or sockets. */
  drainingTimeoutSec: number;
}

export interface LoadBalancerArgs extends Pick<ComponentContext, "prefix" | "labels"> {
  /** Hosts the certificate covers; the first is the main domain (served to clients without SNI). */
  domains: string[];
  staticBucketName: pulumi.Input<string>;
  mediaBucketName: pulumi.Input<string>;
  /** Cloud CDN TTL of /static/* (seed: 30 days). */
  staticCacheDays: number;
  /** Cloud CDN TTL of /media/* (seed: 7 days). */
  mediaCacheDays: number;
  /** Media is private: Cloud CDN serves /media/* only to URLs signed with `signingKey`. */
  signedMedia: boolean;
  /** The URL-signing key registered on the media backend bucket (components/media.ts). Required when signedMedia. */
  signingKey?: { name: string; value: pulumi.Input<string> };
  /**
   * Routes: `default` takes every path no rule matches; `api` takes /api/*, `ws` takes /ws/*. A route with
   * several targets splits its traffic by their weights (weightedBackendServices).
   */
  routes: { default: RouteArgs; api?: RouteArgs; ws?: RouteArgs };
  /**
   * Hosts whose every path goes to one route, ahead of the path rules (stage 2: the meet domain, Jitsi on the VM,
   * to routes.ws: Jitsi's /xmpp-websocket and /colibri-ws/ are WebSockets the default route's 30 s timeout would
   * cut, and its own /static/ is not Django's). Each host must be one of `domains` (its certificate). @default []
   */
  hostRoutes?: { host: string; route: "default" | "api" | "ws" }[];
  /** Cloud Armor: requests per minute per client IP before throttling with 429. */
  rateLimitPerMinute: number;
  /** Cloud Armor's preconfigured WAF rules (WAF_RULES): "preview" logs matches only, "enforce" denies with 403. */
  wafMode: "preview" | "enforce";
  /** Share of requests logged by the backend services (0-1). */
  logSampleRate: number;
  /** Cache-Control max-age (s) Cloud CDN sends to clients for signed-URL responses. @default 3600 */
  signedUrlCacheMaxAgeSec?: number;
  /**
   * Project id, for the project number in Cloud CDN's fill service account
   * (`service-<number>@cloud-cdn-fill.iam.gserviceaccount.com`), granted read on the media bucket when signedMedia.
   * @default the provider's project
   */
  project?: string;
  /** HTTP/3 (QUIC) on the HTTPS proxy. @default false: "NONE", Google's own default, stated explicitly */
  quic?: boolean;
}

const DAY = 86400;
/** Cloud Armor's rate-limit interval: one of 10, 30, 60, 120 ... 3600 s; a per-minute limit uses 60. */
const RATE_INTERVAL_SEC = 60;
/** Cloud Armor's default rule priority (the lowest): the rule every policy must end with. */
const DEFAULT_RULE_PRIORITY = 2147483647;

export { WAF_RULES, WAF_SENSITIVITY, wafExpression };

/** Custom response headers of the media backend bucket (every upload). */
export const MEDIA_BUCKET_HEADERS = [`Strict-Transport-Security: ${HSTS}`, ...asHeaderLines(mediaSecurityHeaders()), "Content-Disposition: attachment"];

/** `www.courses.example.org` -> `www-courses-example-org`: a domain as part of a name. */
export function domainSlug(domain: string): string {
  return domain
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/**
 * What is wrong with the args, one refusal line each (src/config/refusal.ts); empty when valid. The composition
 * builds domains, host routes and routes itself (deduplicated, lbRoutes in src/stack/routes.ts) from values the config has
 * checked (loadBalancer.logSampleRate 0-1, rateLimitPerMinute >= 60, gkeTrafficPercent 0-100): these guard other callers.
 */
export function loadBalancerProblems(a: LoadBalancerArgs): string[] {
  const refuse = argRefuser("LoadBalancer");
  const problems: string[] = [];
  if (a.domains.length === 0) problems.push(refuse("domains", a.domains, "is empty", "at least the main domain"));
  a.domains.forEach((d, i) => {
    if (a.domains.indexOf(d) < i)
      problems.push(refuse(`domains[${i}]`, d, `is listed twice (also domains[${a.domains.indexOf(d)}])`, "each domain once (one certificate each)"));
  });
  if (a.signedMedia && !a.signingKey)
    problems.push(refuse("signingKey", a.signingKey, "is not set while args.signedMedia is true", "the media CDN key ({ name, value })"));
  if (!(a.logSampleRate >= 0 && a.logSampleRate <= 1)) problems.push(refuse("logSampleRate", a.logSampleRate, "is not a share", "0-1"));
  if (!(a.rateLimitPerMinute >= 1)) problems.push(refuse("rateLimitPerMinute", a.rateLimitPerMinute, "is below 1", "at least 1 request per minute per client"));
  const hosts = (a.hostRoutes ?? []).map((h) => h.host);
  (a.hostRoutes ?? []).forEach((h, i) => {
    if (!a.domains.includes(h.host))
      problems.push(
        refuse(`hostRoutes[${i}].host`, h.host, "is not in args.domains, so no certificate would cover it", `one of ${a.domains.join(", ") || "args.domains"}`),
      );
    else if (hosts.indexOf(h.host) < i)
      problems.push(refuse(`hostRoutes[${i}].host`, h.host, `is listed twice (also hostRoutes[${hosts.indexOf(h.host)}])`, "each host once"));
    if (!a.routes[h.route])
      problems.push(
        refuse(
          `hostRoutes[${i}].route`,
          h.route,
          "is not a route of args.routes",
          Object.keys(a.routes)
            .filter((k) => a.routes[k as keyof typeof a.routes])
            .join(", "),
        ),
      );
  });
  for (const [route, r] of Object.entries(a.routes) as [string, RouteArgs | undefined][]) {
    if (!r) continue;
    const at = `routes.${route}`;
    if (r.targets.length === 0) problems.push(refuse(`${at}.targets`, r.targets, "is empty", "at least one target"));
    const keys = r.targets.map((t) => t.key);
    keys.forEach((k, i) => {
      if (keys.indexOf(k) < i)
        problems.push(
          refuse(
            `${at}.targets[${i}].key`,
            k,
            `is used twice (also targets[${keys.indexOf(k)}]); keys name the backend services`,
            "a key per target, each once",
          ),
        );
    });
    if (r.targets.length > 1 && r.targets.reduce((s, t) => s + t.weight, 0) <= 0) {
      problems.push(
        refuse(
          `${at}.targets`,
          r.targets.map((t) => `${t.key}:${t.weight}`),
          "has weights that sum to 0: no traffic would be served",
          "weights (0-100) with a positive sum",
        ),
      );
    }
    // Backend service timeouts: 1 s to 86400 s (a day) for the global external Application Load Balancer.
    if (!(r.timeoutSec >= 1 && r.timeoutSec <= DAY))
      problems.push(
        refuse(`${at}.timeoutSec`, r.timeoutSec, "is outside the backend service timeouts of a global external Application Load Balancer", "1-86400 seconds"),
      );
    if (!(r.drainingTimeoutSec >= 0 && r.drainingTimeoutSec <= 3600))
      problems.push(refuse(`${at}.drainingTimeoutSec`, r.drainingTimeoutSec, "is outside connection draining's range", "0-3600 seconds"));
    r.targets.forEach((t, ti) => {
      const tat = `${at}.targets[${ti}]`;
      if (!/^[a-z][a-z0-9]*$/.test(t.key))
        problems.push(refuse(`${tat}.key`, t.key, "is not a name part", "lowercase letters and digits, starting with a letter"));
      if (!(t.weight >= 0 && t.weight <= 100)) problems.push(refuse(`${tat}.weight`, t.weight, "is outside the URL map's weights", "0-100"));
      if (t.groups.length === 0) problems.push(refuse(`${tat}.groups`, t.groups, "is empty", "at least one instance group or NEG"));
      t.groups.forEach((g, i) => {
        const gat = `${tat}.groups[${i}]`;
        if (g.maxConnectionsPerInstance !== undefined || g.maxConnectionsPerEndpoint !== undefined) {
          const field = g.maxConnectionsPerInstance !== undefined ? "maxConnectionsPerInstance" : "maxConnectionsPerEndpoint";
          problems.push(
            refuse(
              `${gat}.${field}`,
              g[field],
              "asks for CONNECTION balancing, which is for proxy Network Load Balancers",
              "unset: HTTP backend services take UTILIZATION or RATE",
            ),
          );
        }
        if (g.kind === "neg" && g.maxRatePerEndpoint === undefined)
          problems.push(refuse(`${gat}.maxRatePerEndpoint`, undefined, "is required for a NEG (RATE balancing)", "requests per second per endpoint"));
        if (g.kind === "neg" && g.maxRatePerInstance !== undefined)
          problems.push(refuse(`${gat}.maxRatePerInstance`, g.maxRatePerInstance, "is set on a NEG", "unset: NEGs take maxRatePerEndpoint only"));
        if (g.kind === "neg" && g.maxUtilization !== undefined)
          problems.push(refuse(`${gat}.maxUtilization`, g.maxUtilization, "is set on a NEG", "unset: NEGs take maxRatePerEndpoint only"));
        if (g.kind === "instanceGroup" && g.maxRatePerEndpoint !== undefined)
          problems.push(
            refuse(
              `${gat}.maxRatePerEndpoint`,
              g.maxRatePerEndpoint,
              "is set on an instance group",
              "unset: instance groups take maxRatePerInstance or maxUtilization",
            ),
          );
        if (g.maxUtilization !== undefined && !(g.maxUtilization > 0 && g.maxUtilization <= 1))
          problems.push(refuse(`${gat}.maxUtilization`, g.maxUtilization, "is not a share", "a share in (0, 1]"));
      });
    });
  }
  return problems;
}

/** A backend of a backend service: UTILIZATION or RATE for instance groups, RATE per endpoint for NEGs. */
export function backendOf(g: BackendGroup): gcp.types.input.compute.BackendServiceBackend {
  if (g.kind === "neg") return { group: g.group, balancingMode: "RATE", maxRatePerEndpoint: g.maxRatePerEndpoint, capacityScaler: 1 };
  if (g.maxRatePerInstance !== undefined) return { group: g.group, balancingMode: "RATE", maxRatePerInstance: g.maxRatePerInstance, capacityScaler: 1 };
  return { group: g.group, balancingMode: "UTILIZATION", maxUtilization: g.maxUtilization ?? 0.8, capacityScaler: 1 };
}

/**
 * Where a route sends its traffic in the URL map: the one backend service of a single target, or
 * `routeAction.weightedBackendServices` with the targets' weights (the gradual stage 3 -> 4 cut-over: both the
 * instance groups and the GKE NEGs serve, GKE's share raised step by step; a weight of 0 keeps a target
 * configured but idle, ready to roll back to).
 */
export function routeTo<T>(
  r: RouteArgs,
  serviceId: (key: string) => T,
): { service: T } | { routeAction: { weightedBackendServices: { backendService: T; weight: number }[] } } {
  if (r.targets.length === 1) return { service: serviceId(r.targets[0]!.key) };
  return { routeAction: { weightedBackendServices: r.targets.map((t) => ({ backendService: serviceId(t.key), weight: t.weight })) } };
}

/** A DNS record that proves control of a domain to Certificate Manager (a CNAME under `_acme-challenge.`). */
export interface DnsAuthorizationRecord {
  domain: string;
  name: string;
  type: string;
  data: string;
}

/**
 * The one global external Application Load Balancer (EXTERNAL_MANAGED) in front of stages 2, 3 and 4:
 *
 * - one static anycast IPv4 address (protected), with HTTPS on 443 and on 80 a redirect to HTTPS (301);
 * - Google-managed certificates from Certificate Manager with DNS authorization, one per domain, in a
 *   certificate map (an entry per hostname plus the PRIMARY entry for clients without SNI). Why not the classic
 *   ManagedSslCertificate: it is authorized through the load balancer itself, so it can only be issued once
 *   the domain already points at the LB (the stage 1 -> 2 move would serve a certificate error while DNS and
 *   issuance catch up, up to an hour), and its domain list is immutable (a new domain replaces it, and the
 *   replacement again waits for issuance). DNS authorization issues and renews independently of where traffic
 *   goes, so a certificate is ACTIVE before the DNS switch; and since each domain has its own certificate, adding
 *   a domain creates a certificate and a map entry without touching the ones serving traffic. Certificates and
 *   DNS authorizations are protected: removing a domain from the list needs `pulumi state unprotect` of its two
 *   resources first, so a config edit alone never pulls a certificate that serves traffic;
 * - an SSL policy (MODERN profile, TLS 1.2 minimum);
 * - Cloud CDN backend buckets for `/static/*` and `/media/*` (the bucket objects live under `static/` and
 *   `media/`: the request path is the object name), media behind signed URLs when private;
 * - one backend service per (route, target), each with its HTTP health check, the route's timeout, affinity and
 *   draining, sampled request logs, CDN off (the API is never cached) and the Cloud Armor policy;
 * - the URL map: `/api/*` -> routes.api, `/ws/*` -> routes.ws, `/static/*` and `/media/*` -> the buckets,
 *   everything else -> routes.default; a host in hostRoutes (stage 2's meet domain) goes whole to its route. A
 *   route with several targets uses `routeAction.weightedBackendServices` with their weights: that is the stage 3 -> 4 cut-over (instance groups and GKE NEGs side by side, the GKE
 *   share raised step by step, loadBalancer.gkeTrafficPercent), an in-place URL map update each time.
 *
 * The address, certificate map, certificates and URL maps keep their child names at every stage; later stages
 * only add or swap backend services (new `<route>-<key>` children) and update the URL map in place.
 *
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`).
 */
export class LoadBalancer extends pulumi.ComponentResource {
  public readonly globalAddress: gcp.compute.GlobalAddress;
  /** The anycast IPv4 address (the A record of every domain). */
  public readonly address: pulumi.Output<string>;
  public readonly urlMap: gcp.compute.URLMap;
  public readonly redirectUrlMap: gcp.compute.URLMap;
  public readonly certificateMap: gcp.certificatemanager.CertificateMap;
  /** Certificate per domain. */
  public readonly certificates: Record<string, gcp.certificatemanager.Certificate>;
  /** Certificate Manager ids of the certificates, in domain order. */
  public readonly certificateIds: pulumi.Output<string>[];
  public readonly dnsAuthorizations: Record<string, gcp.certificatemanager.DnsAuthorization>;
  /** The records to create in the domain's DNS zone (stage 4's Cloud DNS section creates them). */
  public readonly dnsAuthorizationRecords: pulumi.Output<DnsAuthorizationRecord[]>;
  public readonly sslPolicy: gcp.compute.SSLPolicy;
  public readonly securityPolicy: gcp.compute.SecurityPolicy;
  /** Cloud Armor edge policy of the backend buckets (static and media). */
  public readonly edgeSecurityPolicy: gcp.compute.SecurityPolicy;
  public readonly staticBackend: gcp.compute.BackendBucket;
  public readonly mediaBackend: gcp.compute.BackendBucket;
  public readonly signedUrlKey?: gcp.compute.BackendBucketSignedUrlKey;
  /** Cloud CDN's fill service account as objectViewer on the private media bucket. */
  public readonly cdnReaderGrant?: gcp.storage.BucketIAMMember;
  /** Backend services by `<route>-<key>` (e.g. "default-vm", "api-mig", "ws-gke"). */
  public readonly backendServices: Record<string, gcp.compute.BackendService>;
  public readonly healthChecks: Record<string, gcp.compute.HealthCheck>;
  public readonly httpsProxy: gcp.compute.TargetHttpsProxy;
  public readonly httpProxy: gcp.compute.TargetHttpProxy;
  public readonly httpsRule: gcp.compute.GlobalForwardingRule;
  public readonly httpRule: gcp.compute.GlobalForwardingRule;

  constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:lb:LoadBalancer", name, {}, opts);
    const problems = loadBalancerProblems(args);
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);
    const p = (role: string) => physicalName(args.prefix, role);
    const child = { parent: this };

    this.globalAddress = new gcp.compute.GlobalAddress(
      `${name}-ip`,
      { name: p("lb-ip"), addressType: "EXTERNAL", ipVersion: "IPV4", labels: args.labels, description: "Course Organizer global entry (anycast)" },
      statefulOptions(this),
    );
    this.address = this.globalAddress.address;

    ({ dnsAuthorizations: this.dnsAuthorizations, certificates: this.certificates, certificateMap: this.certificateMap } = this.certificateMapOf(name, args));
    this.certificateIds = args.domains.map((d) => this.certificates[d]!.id);
    this.dnsAuthorizationRecords = pulumi.all(
      args.domains.map((d) =>
        this.dnsAuthorizations[d]!.dnsResourceRecords.apply((rs) => ({
          domain: d,
          name: rs?.[0]?.name ?? "",
          type: rs?.[0]?.type ?? "",
          data: rs?.[0]?.data ?? "",
        })),
      ),
    );
    this.sslPolicy = new gcp.compute.SSLPolicy(
      `${name}-ssl-policy`,
      // MODERN with TLS 1.2 minimum: every current browser; drops TLS 1.0/1.1 and weak ciphers.
      { name: p("ssl-policy"), profile: "MODERN", minTlsVersion: "TLS_1_2", description: "TLS 1.2+ with modern ciphers" },
      child,
    );

    ({ securityPolicy: this.securityPolicy, edgeSecurityPolicy: this.edgeSecurityPolicy } = this.armorPolicies(name, args));
    ({
      staticBackend: this.staticBackend,
      mediaBackend: this.mediaBackend,
      signedUrlKey: this.signedUrlKey,
      cdnReaderGrant: this.cdnReaderGrant,
    } = this.cdnBuckets(name, args, this.edgeSecurityPolicy));
    ({ backendServices: this.backendServices, healthChecks: this.healthChecks } = this.backends(name, args, this.securityPolicy));
    ({ urlMap: this.urlMap, redirectUrlMap: this.redirectUrlMap } = this.urlMaps(name, args));

    // ── Proxies and forwarding rules on the one address ──
    this.httpsProxy = new gcp.compute.TargetHttpsProxy(
      `${name}-https-proxy`,
      {
        name: p("https-proxy"),
        urlMap: this.urlMap.id,
        certificateMap: pulumi.interpolate`//certificatemanager.googleapis.com/${this.certificateMap.id}`,
        sslPolicy: this.sslPolicy.id,
        quicOverride: args.quic ? "ENABLE" : "NONE",
      },
      child,
    );
    this.httpProxy = new gcp.compute.TargetHttpProxy(`${name}-http-proxy`, { name: p("http-proxy"), urlMap: this.redirectUrlMap.id }, child);
    const rule = (role: string, port: string, target: pulumi.Input<string>) =>
      new gcp.compute.GlobalForwardingRule(
        `${name}-${role}`,
        {
          name: p(`lb-${role}`),
          ipAddress: this.globalAddress.address,
          ipProtocol: "TCP",
          portRange: port,
          loadBalancingScheme: "EXTERNAL_MANAGED",
          // Global anycast needs the Premium tier.
          networkTier: "PREMIUM",
          target,
          labels: args.labels,
        },
        child,
      );
    this.httpsRule = rule("https", "443", this.httpsProxy.id);
    this.httpRule = rule("http", "80", this.httpProxy.id);

    this.registerOutputs({
      address: this.address,
      urlMap: this.urlMap.id,
      certificateIds: this.certificateIds,
      dnsAuthorizationRecords: this.dnsAuthorizationRecords,
    });
  }

  /** Certificate Manager: a DNS authorization and a certificate per domain, and the map the HTTPS proxy serves. */
  private certificateMapOf(name: string, args: LoadBalancerArgs) {
    const p = (role: string) => physicalName(args.prefix, role);
    const child = { parent: this };
    // ── Certificates: Certificate Manager, DNS authorization, one certificate per domain ──
    const dnsAuthorizations: Record<string, gcp.certificatemanager.DnsAuthorization> = {};
    const certificates: Record<string, gcp.certificatemanager.Certificate> = {};
    for (const domain of args.domains) {
      const slug = domainSlug(domain);
      const auth = new gcp.certificatemanager.DnsAuthorization(
        `${name}-dns-auth-${slug}`,
        { name: p(`dns-auth-${slug}`), domain, location: "global", type: "FIXED_RECORD", labels: args.labels, description: `Proves control of ${domain}` },
        statefulOptions(this),
      );
      dnsAuthorizations[domain] = auth;
      certificates[domain] = new gcp.certificatemanager.Certificate(
        `${name}-cert-${slug}`,
        {
          name: p(`cert-${slug}`),
          location: "global",
          scope: "DEFAULT",
          labels: args.labels,
          description: `Google-managed certificate for ${domain}`,
          managed: { domains: [domain], dnsAuthorizations: [auth.id] },
        },
        statefulOptions(this),
      );
    }
    const certificateMap = new gcp.certificatemanager.CertificateMap(
      `${name}-cert-map`,
      { name: p("cert-map"), labels: args.labels, description: "Certificates of the Course Organizer domains" },
      child,
    );
    for (const domain of args.domains) {
      new gcp.certificatemanager.CertificateMapEntry(
        `${name}-cert-entry-${domainSlug(domain)}`,
        {
          name: p(`cert-entry-${domainSlug(domain)}`),
          map: certificateMap.name,
          hostname: domain,
          certificates: [certificates[domain]!.id],
          labels: args.labels,
        },
        child,
      );
    }
    // Clients that send no SNI (old clients, health probes by IP) get the main domain's certificate.
    new gcp.certificatemanager.CertificateMapEntry(
      `${name}-cert-entry-primary`,
      { name: p("cert-entry-primary"), map: certificateMap.name, matcher: "PRIMARY", certificates: [certificates[args.domains[0]!]!.id], labels: args.labels },
      child,
    );

    return { dnsAuthorizations, certificates, certificateMap };
  }

  /** Cloud Armor: the backend services' policy (WAF rules, per-client rate limit) and the buckets' edge policy. */
  private armorPolicies(name: string, args: LoadBalancerArgs) {
    const p = (role: string) => physicalName(args.prefix, role);
    const child = { parent: this };
    // ── Cloud Armor: WAF rules, per-client rate limit, default allow; Adaptive Protection ──
    const preview = args.wafMode === "preview";
    const securityPolicy = new gcp.compute.SecurityPolicy(
      `${name}-armor`,
      {
        name: p("armor"),
        type: "CLOUD_ARMOR",
        labels: args.labels,
        description: `OWASP WAF rules (${args.wafMode}) and a per-client-IP rate limit in front of the app`,
        // Adaptive Protection: Google models the normal traffic of each backend service and alerts (with a suggested
        // rule) on a layer-7 DDoS; STANDARD visibility is available without Managed Protection Plus.
        adaptiveProtectionConfig: { layer7DdosDefenseConfig: { enable: true, ruleVisibility: "STANDARD" } },
        rules: [
          ...WAF_RULES.map((r, i) => ({
            priority: WAF_FIRST_PRIORITY + 10 * i,
            action: "deny(403)",
            // The preview-then-enforce switch (config loadBalancer.wafMode): in preview the match is only logged.
            preview,
            description: `${r.description} (${r.name}, sensitivity ${WAF_SENSITIVITY})`,
            match: { expr: { expression: wafExpression(r.name) } },
          })),
          {
            priority: 1000,
            // throttle, not rateBasedBan: a class behind one school NAT that bursts past the limit gets 429s for the
            // excess only, instead of being locked out for a ban period.
            action: "throttle",
            description: `${args.rateLimitPerMinute} requests per minute per client IP`,
            match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["*"] } },
            rateLimitOptions: {
              conformAction: "allow",
              exceedAction: "deny(429)",
              enforceOnKey: "IP",
              rateLimitThreshold: { count: args.rateLimitPerMinute, intervalSec: RATE_INTERVAL_SEC },
            },
          },
          {
            priority: DEFAULT_RULE_PRIORITY,
            action: "allow",
            description: "Default: allow",
            match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["*"] } },
          },
        ],
      },
      child,
    );

    // ── Cloud Armor at the CDN edge, for the backend buckets ──
    // A backend bucket takes only an edge policy (CLOUD_ARMOR_EDGE: IP and region rules evaluated before the
    // cache). Default allow: it is where an operator denies an abusive range for static and media too, during an
    // attack, without a deploy of the buckets.
    const edgeSecurityPolicy = new gcp.compute.SecurityPolicy(
      `${name}-edge-armor`,
      {
        name: p("edge-armor"),
        type: "CLOUD_ARMOR_EDGE",
        labels: args.labels,
        description: "Edge policy of the CDN backend buckets (IP and region deny rules go here)",
        rules: [
          {
            priority: DEFAULT_RULE_PRIORITY,
            action: "allow",
            description: "Default: allow",
            match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["*"] } },
          },
        ],
      },
      child,
    );

    return { securityPolicy, edgeSecurityPolicy };
  }

  /** Cloud CDN backend buckets for /static/* and /media/* (media behind signed URLs when private). */
  private cdnBuckets(name: string, args: LoadBalancerArgs, edgeSecurityPolicy: gcp.compute.SecurityPolicy) {
    const p = (role: string) => physicalName(args.prefix, role);
    const child = { parent: this };
    // ── Cloud CDN backend buckets ──
    // maxTtl exists only in CACHE_ALL_STATIC mode: the API rejects it with FORCE_CACHE_ALL ("max_ttl must be
    // specified with CACHE_ALL_STATIC cache_mode only"), where defaultTtl is the TTL of every response; the
    // provider strips it from the request, which would leave a diff on every preview.
    const cdn = (mode: "CACHE_ALL_STATIC" | "FORCE_CACHE_ALL", days: number) => ({
      cacheMode: mode,
      defaultTtl: days * DAY,
      ...(mode === "CACHE_ALL_STATIC" ? { maxTtl: days * DAY } : {}),
      clientTtl: days * DAY,
      // 404s cached briefly (Cloud CDN's negative-caching defaults), so a missing file cannot flood the bucket.
      negativeCaching: true,
      // A stale copy is served for a day while Cloud Storage is unreachable or the object is refetched.
      serveWhileStale: DAY,
      requestCoalescing: true,
    });
    const staticBackend = new gcp.compute.BackendBucket(
      `${name}-static-bucket`,
      {
        name: p("static-cdn"),
        bucketName: args.staticBucketName,
        description: "Static files (/static/*) through Cloud CDN",
        enableCdn: true,
        // Seed "Enable CDN": static files cached 30 days. CACHE_ALL_STATIC caches CSS, JS, fonts and images.
        cdnPolicy: cdn("CACHE_ALL_STATIC", args.staticCacheDays),
        compressionMode: "AUTOMATIC",
        edgeSecurityPolicy: edgeSecurityPolicy.selfLink,
        customResponseHeaders: [`Strict-Transport-Security: ${HSTS}`, "X-Content-Type-Options: nosniff"],
      },
      child,
    );
    const mediaBackend = new gcp.compute.BackendBucket(
      `${name}-media-bucket`,
      {
        name: p("media-cdn"),
        bucketName: args.mediaBucketName,
        description: args.signedMedia ? "Media (/media/*) through Cloud CDN, signed URLs only" : "Media (/media/*) through Cloud CDN",
        enableCdn: true,
        // Seed "Enable CDN": media cached 7 days. FORCE_CACHE_ALL: uploads of any type (PDFs, documents, video)
        // are cached, not only the types CACHE_ALL_STATIC recognises; the bucket holds nothing per-user. A deleted
        // upload stays cached up to the TTL unless invalidated (gcloud compute url-maps invalidate-cdn-cache).
        cdnPolicy: {
          ...cdn("FORCE_CACHE_ALL", args.mediaCacheDays),
          // Signed responses: clients may reuse them this long (Cloud CDN's default is 3600 s).
          ...(args.signedMedia ? { signedUrlCacheMaxAgeSec: args.signedUrlCacheMaxAgeSec ?? 3600 } : {}),
        },
        compressionMode: "AUTOMATIC",
        edgeSecurityPolicy: edgeSecurityPolicy.selfLink,
        // Uploads are served from the site's own host: neutralised so an uploaded HTML or SVG file cannot run as
        // stored XSS with the app's cookies (src/files/security-headers.ts). A backend bucket's headers apply to
        // every object, so every upload is an attachment on navigation (<img>/<video> embedding is unaffected).
        customResponseHeaders: MEDIA_BUCKET_HEADERS,
      },
      child,
    );
    let signedUrlKey: gcp.compute.BackendBucketSignedUrlKey | undefined;
    let cdnReaderGrant: gcp.storage.BucketIAMMember | undefined;
    if (args.signedMedia && args.signingKey) {
      signedUrlKey = new gcp.compute.BackendBucketSignedUrlKey(
        `${name}-media-key`,
        { name: args.signingKey.name, backendBucket: mediaBackend.name, keyValue: pulumi.secret(args.signingKey.value) },
        child,
      );
      // Cloud CDN fetches a private bucket's objects as its per-project fill service account, for requests with a
      // valid signature. Google creates that account when the first key is added to a backend bucket in the
      // project, so the grant waits for the key.
      const project = gcp.organizations.getProjectOutput(args.project ? { projectId: args.project } : {}, { parent: this });
      cdnReaderGrant = new gcp.storage.BucketIAMMember(
        `${name}-media-cdn-reader`,
        {
          bucket: args.mediaBucketName,
          role: "roles/storage.objectViewer",
          member: pulumi.interpolate`serviceAccount:service-${project.number}@cloud-cdn-fill.iam.gserviceaccount.com`,
        },
        { parent: this, dependsOn: [signedUrlKey] },
      );
    }

    return { staticBackend, mediaBackend, signedUrlKey, cdnReaderGrant };
  }

  /** One backend service per (route, target), each with its HTTP health check and the Cloud Armor policy. */
  private backends(name: string, args: LoadBalancerArgs, securityPolicy: gcp.compute.SecurityPolicy) {
    const p = (role: string) => physicalName(args.prefix, role);
    const child = { parent: this };
    // ── Backend services, one per (route, target) ──
    const backendServices: Record<string, gcp.compute.BackendService> = {};
    const healthChecks: Record<string, gcp.compute.HealthCheck> = {};
    const routeNames = ["default", "api", "ws"] as const;
    for (const route of routeNames) {
      const r = args.routes[route];
      if (!r) continue;
      for (const t of r.targets) {
        const id = `${route}-${t.key}`;
        const hc = new gcp.compute.HealthCheck(
          `${name}-hc-${id}`,
          {
            name: p(`hc-${id}`),
            description: `HTTP ${t.healthCheck.path} on ${t.healthCheck.port}`,
            // Every 10 s, 5 s to answer; 2 passes to enter and 3 failures to leave (about 30 s to drop a dead backend).
            checkIntervalSec: 10,
            timeoutSec: 5,
            healthyThreshold: 2,
            unhealthyThreshold: 3,
            httpHealthCheck: { port: t.healthCheck.port, requestPath: t.healthCheck.path, portSpecification: "USE_FIXED_PORT" },
          },
          child,
        );
        healthChecks[id] = hc;
        const onlyNegs = t.groups.every((g) => g.kind === "neg");
        backendServices[id] = new gcp.compute.BackendService(
          `${name}-be-${id}`,
          {
            name: p(`be-${id}`),
            description: `${route} route: ${t.key}`,
            protocol: "HTTP",
            loadBalancingScheme: "EXTERNAL_MANAGED",
            // Named ports address instance groups only; NEG endpoints carry their own port.
            ...(onlyNegs ? {} : { portName: t.portName ?? "http" }),
            timeoutSec: r.timeoutSec,
            sessionAffinity: r.affinity,
            connectionDrainingTimeoutSec: r.drainingTimeoutSec,
            healthChecks: hc.id,
            backends: t.groups.map(backendOf),
            // Dynamic responses: never cached at the edge (seed: "API responses: No cache").
            enableCdn: false,
            securityPolicy: securityPolicy.selfLink,
            ...(t.responseHeaders && t.responseHeaders.length > 0 ? { customResponseHeaders: t.responseHeaders } : {}),
            logConfig: { enable: true, sampleRate: args.logSampleRate },
          },
          child,
        );
      }
    }

    return { backendServices, healthChecks };
  }

  /** The URL map (routes, buckets, whole-host routes) and the HTTP-to-HTTPS redirect map. */
  private urlMaps(name: string, args: LoadBalancerArgs) {
    const p = (role: string) => physicalName(args.prefix, role);
    const child = { parent: this };
    // ── URL maps ──
    const serviceOf = (route: "default" | "api" | "ws") => routeTo(args.routes[route]!, (key) => this.backendServices[`${route}-${key}`]!.id);
    const def = serviceOf("default");
    const pathRules = [
      ...(args.routes.api ? [{ paths: ["/api/*"], ...serviceOf("api") }] : []),
      ...(args.routes.ws ? [{ paths: ["/ws/*"], ...serviceOf("ws") }] : []),
      { paths: ["/static/*"], service: this.staticBackend.id },
      { paths: ["/media/*"], service: this.mediaBackend.id },
    ];
    const defaultsOf = (to: ReturnType<typeof serviceOf>) => ("service" in to ? { defaultService: to.service } : { defaultRouteAction: to.routeAction });
    const defaults = defaultsOf(def);
    // A host rule per whole-host route; "*" (the app's path rules) takes every other host.
    const hosts = (args.hostRoutes ?? []).map((h) => ({ ...h, matcher: `host-${domainSlug(h.host)}`, to: serviceOf(h.route) }));
    const urlMap = new gcp.compute.URLMap(
      `${name}-url-map`,
      {
        name: p("url-map"),
        description: "Course Organizer: /api, /ws, /static, /media and the app",
        ...defaults,
        hostRules: [...hosts.map((h) => ({ hosts: [h.host], pathMatcher: h.matcher })), { hosts: ["*"], pathMatcher: "app" }],
        pathMatchers: [...hosts.map((h) => ({ name: h.matcher, ...defaultsOf(h.to) })), { name: "app", ...defaults, pathRules }],
        // Checked by GCP on every update: the CDN paths reach their buckets, a whole-host route its service.
        tests: [
          { host: args.domains[0]!, path: "/static/app.css", service: this.staticBackend.id },
          { host: args.domains[0]!, path: "/media/file.pdf", service: this.mediaBackend.id },
          ...hosts.flatMap((h) => ("service" in h.to ? [{ host: h.host, path: "/static/app.css", service: h.to.service }] : [])),
        ],
      },
      child,
    );
    const redirectUrlMap = new gcp.compute.URLMap(
      `${name}-http-redirect`,
      {
        name: p("http-redirect"),
        description: "HTTP to HTTPS",
        // 301 keeps the path and query.
        defaultUrlRedirect: { httpsRedirect: true, redirectResponseCode: "MOVED_PERMANENTLY_DEFAULT", stripQuery: false },
      },
      child,
    );

    return { urlMap, redirectUrlMap };
  }
}
