/**
 * The Course Organizer policy pack: mandatory rules from the CIS Google Cloud Platform Foundations benchmark
 * (v3.0 section numbers in each description) and from this product's promises (no data loss across stage
 * moves, no secret outside Secret Manager, every resource labelled). A plain array, so tests call each policy's
 * `validateResource` / `validateStack` directly; `policy/index.ts` wraps it in a `PolicyPack` for
 * `pulumi preview --policy-pack policy`.
 *
 * Policies read the inputs the program sends (`args.props`, secrets already unwrapped by the policy runtime) and
 * `args.opts.protect`. Messages name the input to change and the value it needs.
 */
import type { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { statefulTypes } from "../src/options";
import labelable from "./labelable-types.json";

type Props = Record<string, any>;

/** Labels every labelable resource carries (src/naming.ts `labels`). */
export const REQUIRED_LABELS = ["app", "component", "stage", "managed-by"] as const;

/**
 * The one bucket allowed to be public: the static-assets bucket of components/media.ts, whose physical name is
 * `bucketName(project, prefix, "static")` = `<project>-<prefix>-static` (project id: 6-30 lowercase letters,
 * digits and hyphens; prefix: 2-10 lowercase letters or digits, src/config/schema.ts). Django's collected CSS/JS
 * is what every browser downloads; nothing else may be public.
 */
export const PUBLIC_STATIC_BUCKET = /^[a-z][a-z0-9-]{4,28}[a-z0-9]-[a-z][a-z0-9]{1,9}-static$/;

/** The default Compute Engine service account (project editor by default: CIS 4.1). */
export const DEFAULT_COMPUTE_SA = /-compute@developer\.gserviceaccount\.com$/;

/** Metadata keys, label keys and env names that hold credentials. */
export const SECRET_NAME = /password|passwd|secret|token|api[-_]?key|private[-_]?key|(^|[-_])key$/i;
/** Env names the container rule checks (the brief's PASSWORD|SECRET|TOKEN|KEY). */
export const SECRET_ENV_NAME = /PASSWORD|SECRET|TOKEN|KEY/i;

/**
 * Values that are secret material wherever they appear: the offline plan's generated values (src/plan/mocks.ts:
 * random results `mock<hex>`, Memorystore AUTH `mock-auth-<hex>`), PEM private keys, and credentials in URLs.
 */
export const SECRET_VALUE_PATTERNS: RegExp[] = [
  /\bmock[0-9a-f]{8,}\b/,
  /\bmock-auth-[0-9a-f]{8,}\b/,
  /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/,
  /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i,
];

/** A random-looking credential: 16+ characters of letters and digits (some of each), no separators. */
const RANDOM_LOOKING = /^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9+/=_]{16,}$/;

/**
 * A value that points at a secret instead of holding it: a Secret Manager resource name or URL, a file path
 * (a mounted secret), an env interpolation, or a Secret Manager secret id (`<prefix>-<role>`, lowercase words
 * joined by hyphens, a form a generated value never has). Empty and boolean values hold nothing.
 */
export function isReference(value: unknown): boolean {
  if (value === undefined || value === null || typeof value === "boolean" || typeof value === "number") return true;
  if (typeof value !== "string") return false;
  const v = value.trim();
  return (
    v === "" ||
    v === "[unknown]" ||
    /^(true|false|yes|no|on|off)$/i.test(v) ||
    /^(\/\/secretmanager\.googleapis\.com\/)?projects\/[^/]+\/secrets\/[^/]+(\/versions\/[^/]+)?$/.test(v) ||
    /^(sm|gcpsm|secretmanager):\/\//.test(v) ||
    /^\/[\w./-]+$/.test(v) ||
    /^\$[({][A-Za-z_][A-Za-z0-9_]*[)}]$/.test(v) ||
    /^[a-z][a-z0-9]*(-[a-z0-9]+)+$/.test(v)
  );
}

/** Why a value is secret material, or undefined. */
export function secretMaterial(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const hit = SECRET_VALUE_PATTERNS.find((p) => p.test(value));
  return hit ? `matches ${hit}` : undefined;
}

function get(o: unknown, path: string): any {
  let cur: any = o;
  for (const p of path.split(".")) {
    if (cur === null || cur === undefined || typeof cur !== "object") return undefined;
    cur = cur[p];
  }
  return cur;
}

const isTrue = (v: unknown) => v === true || (typeof v === "string" && v.toLowerCase() === "true");
const list = (v: unknown): any[] => (Array.isArray(v) ? v : []);

/** A resource validation limited to some types (the rest are skipped without a look at their props). */
function forTypes(types: string[], check: (props: Props, args: ResourceValidationArgs, report: ReportViolation) => void) {
  const set = new Set(types);
  return (args: ResourceValidationArgs, report: ReportViolation) => {
    if (set.has(args.type)) check(args.props, args, report);
  };
}

export const T = {
  sqlInstance: "gcp:sql/databaseInstance:DatabaseInstance",
  bucket: "gcp:storage/bucket:Bucket",
  bucketMember: "gcp:storage/bucketIAMMember:BucketIAMMember",
  bucketBinding: "gcp:storage/bucketIAMBinding:BucketIAMBinding",
  firewall: "gcp:compute/firewall:Firewall",
  instance: "gcp:compute/instance:Instance",
  template: "gcp:compute/instanceTemplate:InstanceTemplate",
  regionTemplate: "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
  cluster: "gcp:container/cluster:Cluster",
  nodePool: "gcp:container/nodePool:NodePool",
  httpsProxy: "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
  regionHttpsProxy: "gcp:compute/regionTargetHttpsProxy:RegionTargetHttpsProxy",
  httpProxy: "gcp:compute/targetHttpProxy:TargetHttpProxy",
  urlMap: "gcp:compute/uRLMap:URLMap",
  sslPolicy: "gcp:compute/sSLPolicy:SSLPolicy",
  regionSslPolicy: "gcp:compute/regionSslPolicy:RegionSslPolicy",
  backendService: "gcp:compute/backendService:BackendService",
} as const;

// ── Cloud SQL (CIS 6.2.x, 6.5, 6.6, 6.7) ─────────────────────────────────────────────────────────────
export const cloudSqlPrivate: ResourceValidationPolicy = {
  name: "cloudsql-private-ssl",
  description: "Cloud SQL has no public IP and no authorized networks, and requires SSL (CIS 6.5, 6.6, 6.7).",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: forTypes([T.sqlInstance], (p, _a, report) => {
    const ip = get(p, "settings.ipConfiguration") ?? {};
    // GCP's default is ipv4Enabled: true (a public IP), so only an explicit false passes.
    if (ip.ipv4Enabled !== false) report("Cloud SQL has a public IP: set settings.ipConfiguration.ipv4Enabled to false and reach it through privateNetwork.");
    if (list(ip.authorizedNetworks).length > 0) report("Cloud SQL lists authorized networks: remove settings.ipConfiguration.authorizedNetworks (clients connect over the VPC).");
    if (!["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"].includes(ip.sslMode)) {
      report(`Cloud SQL accepts unencrypted connections (sslMode ${JSON.stringify(ip.sslMode)}): set settings.ipConfiguration.sslMode to "ENCRYPTED_ONLY" or "TRUSTED_CLIENT_CERTIFICATE_REQUIRED".`);
    }
  }),
};

export const cloudSqlDurable: ResourceValidationPolicy = {
  name: "cloudsql-backups-protection",
  description: "Cloud SQL primaries have automated backups, point-in-time recovery and deletion protection (CIS 6.7; no data loss).",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: forTypes([T.sqlInstance], (p, _a, report) => {
    // A read replica holds a copy of its primary: GCP allows no backups on it and it can be recreated.
    if (p.masterInstanceName) return;
    const b = get(p, "settings.backupConfiguration") ?? {};
    if (b.enabled !== true) report("Cloud SQL has no automated backups: set settings.backupConfiguration.enabled to true.");
    const version = String(p.databaseVersion ?? "");
    if (version.startsWith("MYSQL")) {
      if (b.binaryLogEnabled !== true) report("Cloud SQL (MySQL) has no point-in-time recovery: set settings.backupConfiguration.binaryLogEnabled to true.");
    } else if (b.pointInTimeRecoveryEnabled !== true) {
      report("Cloud SQL has no point-in-time recovery: set settings.backupConfiguration.pointInTimeRecoveryEnabled to true.");
    }
    if (p.deletionProtection === false) report("Cloud SQL can be deleted by Pulumi: remove deletionProtection: false (the default is true).");
    if (get(p, "settings.deletionProtectionEnabled") !== true) report("Cloud SQL can be deleted in the console or API: set settings.deletionProtectionEnabled to true.");
  }),
};

// ── Cloud Storage (CIS 5.1, 5.2) ───────────────────────────────────────────────────────────────────────
export const bucketPrivate: ResourceValidationPolicy = {
  name: "bucket-uniform-private",
  description: `Buckets use uniform bucket-level access and enforce public access prevention, and nothing is granted to allUsers (CIS 5.1, 5.2); only the public static-assets bucket (named <project>-<prefix>-static, components/media.ts) may leave prevention "inherited" and grant allUsers objectViewer.`,
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: forTypes([T.bucket, T.bucketMember, T.bucketBinding], (p, a, report) => {
    if (a.type !== T.bucket) {
      // A grant to the public is the other half of a public bucket: only on the static-assets bucket.
      const members = [p.member, ...list(p.members)].filter((m) => typeof m === "string");
      const open = members.filter((m) => m === "allUsers" || m === "allAuthenticatedUsers");
      if (open.length > 0 && !PUBLIC_STATIC_BUCKET.test(String(p.bucket ?? ""))) {
        report(`Bucket ${p.bucket} is granted to ${open.join(", ")}: remove the grant (serve private objects through signed URLs); only the static-assets bucket <project>-<prefix>-static may be public.`);
      }
      return;
    }
    if (p.uniformBucketLevelAccess !== true) report("Bucket uses object ACLs: set uniformBucketLevelAccess to true (access only through IAM).");
    const name = String(p.name ?? "");
    if (p.publicAccessPrevention !== "enforced" && !PUBLIC_STATIC_BUCKET.test(name)) {
      report(`Bucket ${name || "(unnamed)"} can be made public (publicAccessPrevention ${JSON.stringify(p.publicAccessPrevention)}): set publicAccessPrevention to "enforced"; only the static-assets bucket <project>-<prefix>-static may be public.`);
    }
  }),
};

// ── Firewall (CIS 3.6, 3.7) ───────────────────────────────────────────────────────────────────────────
const ANYWHERE = new Set(["0.0.0.0/0", "::/0"]);

/** Whether a rule's port list covers `port` (no list means every port). */
function coversPort(ports: unknown, port: number): boolean {
  const ps = list(ports);
  if (ps.length === 0) return true;
  return ps.some((x) => {
    const [lo, hi] = String(x).split("-").map(Number);
    return hi === undefined ? lo === port : lo! <= port && port <= hi;
  });
}

export const firewallNoOpenAdmin: ResourceValidationPolicy = {
  name: "firewall-no-open-admin",
  description: "No ingress rule opens SSH (22), RDP (3389) or all ports to 0.0.0.0/0 (CIS 3.6, 3.7).",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: forTypes([T.firewall], (p, _a, report) => {
    if ((p.direction ?? "INGRESS") !== "INGRESS" || p.disabled === true) return;
    const open = list(p.sourceRanges).filter((r) => ANYWHERE.has(r));
    if (open.length === 0) return;
    for (const allow of list(p.allows)) {
      const protocol = String(allow.protocol ?? "").toLowerCase();
      const ports = allow.ports;
      if (protocol === "all" || (["tcp", "udp", "sctp"].includes(protocol) && list(ports).length === 0)) {
        report(`Firewall opens ${protocol === "all" ? "every protocol and port" : `all ${protocol} ports`} to ${open.join(", ")}: list the ports the service needs in allows[].ports, or narrow sourceRanges.`);
        continue;
      }
      if (protocol !== "tcp") continue;
      for (const [port, what] of [[22, "SSH"], [3389, "RDP"]] as const) {
        if (coversPort(ports, port)) {
          report(`Firewall opens ${what} (tcp ${port}) to ${open.join(", ")}: allow ${port} only from IAP's range 35.235.240.0/20 (sourceRanges).`);
        }
      }
    }
  }),
};

// ── Compute Engine VMs and templates (CIS 4.1, 4.2, 4.4, 4.8) ─────────────────────────────────────────
function checkMachine(p: Props, report: ReportViolation, what: string): void {
  const s = p.shieldedInstanceConfig ?? {};
  // enableVtpm and enableIntegrityMonitoring default to true at GCP, enableSecureBoot to false: all explicit here.
  const missing = ["enableSecureBoot", "enableVtpm", "enableIntegrityMonitoring"].filter((k) => s[k] !== true);
  if (missing.length > 0) report(`${what} is not a Shielded VM: set shieldedInstanceConfig.${missing.join(", ")} to true (and use a Shielded image).`);
  const metadata = p.metadata ?? {};
  if (!isTrue(metadata["enable-oslogin"])) report(`${what} does not use OS Login: set metadata["enable-oslogin"] to "TRUE" (SSH users come from IAM, not metadata keys).`);
  const sa = p.serviceAccount;
  const email = sa?.email;
  const defaultSa = !sa || !email || email === "default" || DEFAULT_COMPUTE_SA.test(String(email));
  if (defaultSa) report(`${what} runs as the default compute service account: set serviceAccount.email to a dedicated account with only the roles it needs (components/service-account.ts).`);
  const scopes = list(sa?.scopes).map(String);
  if (defaultSa && scopes.some((s) => s === "cloud-platform" || s.endsWith("/auth/cloud-platform"))) {
    report(`${what} gives the default service account the full cloud-platform scope: use a dedicated account (its roles limit it) instead.`);
  }
}

export const computeHardened: ResourceValidationPolicy = {
  name: "compute-shielded-oslogin-identity",
  description: "VMs and instance templates are Shielded VMs with OS Login, not running as the default compute service account nor giving it the cloud-platform scope (CIS 4.1, 4.2, 4.4, 4.8).",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: forTypes([T.instance, T.template, T.regionTemplate], (p, a, report) => {
    checkMachine(p, report, a.type === T.instance ? "VM" : "Instance template");
  }),
};

// ── GKE (CIS GKE benchmark 5.x as summarised in CIS GCP 7.x) ──────────────────────────────────────────
export const gkeHardened: ResourceValidationPolicy = {
  name: "gke-private-workload-identity",
  description: "GKE clusters have private nodes, Workload Identity, shielded nodes, no legacy ABAC, no basic auth or client certificate; node pools use the GKE metadata server and a dedicated service account.",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: forTypes([T.cluster, T.nodePool], (p, a, report) => {
    if (a.type === T.nodePool) {
      const n = p.nodeConfig ?? {};
      if (!n.serviceAccount || DEFAULT_COMPUTE_SA.test(String(n.serviceAccount)) || n.serviceAccount === "default") {
        report("GKE node pool runs as the default compute service account: set nodeConfig.serviceAccount to a dedicated account.");
      }
      if (get(n, "workloadMetadataConfig.mode") !== "GKE_METADATA") report('GKE node pool exposes the node\'s credentials to pods: set nodeConfig.workloadMetadataConfig.mode to "GKE_METADATA".');
      if (get(n, "shieldedInstanceConfig.enableSecureBoot") !== true) report("GKE node pool has no secure boot: set nodeConfig.shieldedInstanceConfig.enableSecureBoot to true.");
      return;
    }
    if (get(p, "privateClusterConfig.enablePrivateNodes") !== true) report("GKE nodes have public IPs: set privateClusterConfig.enablePrivateNodes to true.");
    if (!get(p, "workloadIdentityConfig.workloadPool")) report('GKE has no Workload Identity: set workloadIdentityConfig.workloadPool to "<project>.svc.id.goog".');
    if (p.enableShieldedNodes === false) report("GKE nodes are not shielded: remove enableShieldedNodes: false (set it to true).");
    if (p.enableLegacyAbac === true) report("GKE allows legacy ABAC: set enableLegacyAbac to false (RBAC only).");
    if (get(p, "masterAuth.username") || get(p, "masterAuth.password")) report("GKE has basic auth: remove masterAuth.username and masterAuth.password.");
    if (get(p, "masterAuth.clientCertificateConfig.issueClientCertificate") === true) {
      report("GKE issues a client certificate: set masterAuth.clientCertificateConfig.issueClientCertificate to false.");
    }
  }),
};

// ── HTTPS load balancer: TLS policy, HTTP redirect, Cloud Armor (CIS 3.9) ───────────────────────────
export const httpsModernTls: ResourceValidationPolicy = {
  name: "https-modern-tls",
  description: "HTTPS proxies have an SSL policy, and every SSL policy is MODERN or RESTRICTED with TLS 1.2 or later (CIS 3.9).",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: forTypes([T.httpsProxy, T.regionHttpsProxy, T.sslPolicy, T.regionSslPolicy], (p, a, report) => {
    if (a.type === T.httpsProxy || a.type === T.regionHttpsProxy) {
      if (!p.sslPolicy) report("HTTPS proxy uses Google's default SSL policy (TLS 1.0, COMPATIBLE): set sslPolicy to a MODERN or RESTRICTED policy with minTlsVersion TLS_1_2.");
      return;
    }
    if (!["MODERN", "RESTRICTED"].includes(p.profile)) report(`SSL policy profile ${JSON.stringify(p.profile ?? "COMPATIBLE")} allows weak ciphers: set profile to "MODERN" or "RESTRICTED".`);
    if (!["TLS_1_2", "TLS_1_3"].includes(p.minTlsVersion)) report(`SSL policy accepts ${JSON.stringify(p.minTlsVersion ?? "TLS_1_0")}: set minTlsVersion to "TLS_1_2".`);
  }),
};

export const cloudArmor: ResourceValidationPolicy = {
  name: "public-backend-cloud-armor",
  description: "Every backend service of an external load balancer has a Cloud Armor security policy.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: forTypes([T.backendService], (p, _a, report) => {
    // BackendService's default scheme is EXTERNAL (classic external ALB): public unless declared internal.
    const scheme = p.loadBalancingScheme ?? "EXTERNAL";
    if ((scheme === "EXTERNAL_MANAGED" || scheme === "EXTERNAL") && !p.securityPolicy) {
      report(`Public backend service (${scheme}) has no Cloud Armor policy: set securityPolicy to a compute.SecurityPolicy (rate limiting, WAF rules).`);
    }
  }),
};

/** The resource an input refers to: through the engine's property dependencies, else by id/selfLink/name. */
function referenced(r: PolicyResource, prop: string, candidates: PolicyResource[]): PolicyResource | undefined {
  const viaDeps = (r.propertyDependencies?.[prop] ?? []).find((d) => candidates.includes(d));
  if (viaDeps) return viaDeps;
  const v = r.props[prop];
  if (typeof v !== "string" || v === "") return undefined;
  return candidates.find((c) => [c.props.id, c.props.selfLink, c.props.name].some((x) => typeof x === "string" && x !== "" && (x === v || v.endsWith(`/${x}`))));
}

/** The HTTP (port 80) side of the load balancer only redirects: a cross-resource rule, so a stack policy. */
export const httpRedirects: StackValidationPolicy = {
  name: "http-redirects-to-https",
  description: "Every HTTP proxy serves a URL map that only redirects to HTTPS (defaultUrlRedirect.httpsRedirect).",
  enforcementLevel: "mandatory",
  severity: "high",
  validateStack: (args, report) => {
    const maps = args.resources.filter((r) => r.type === T.urlMap);
    for (const proxy of args.resources.filter((r) => r.type === T.httpProxy)) {
      const map = referenced(proxy, "urlMap", maps);
      if (!map) {
        report(`HTTP proxy ${proxy.name} serves a URL map outside this stack: point urlMap at a URL map whose defaultUrlRedirect has httpsRedirect: true.`, proxy.urn);
        continue;
      }
      const redirect = map.props.defaultUrlRedirect;
      if (redirect?.httpsRedirect !== true || list(map.props.pathMatchers).length > 0 || list(map.props.hostRules).length > 0) {
        report(`HTTP proxy ${proxy.name} serves content over plain HTTP (URL map ${map.name}): give it a URL map with only defaultUrlRedirect: { httpsRedirect: true, redirectResponseCode: "MOVED_PERMANENTLY_DEFAULT" }.`, proxy.urn);
      }
    }
  },
};

// ── Secrets only in Secret Manager ────────────────────────────────────────────────────────────────────
/** Pod specs inside a Kubernetes object (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob, or a list of them). */
function containersIn(o: unknown, out: any[] = []): any[] {
  if (Array.isArray(o)) {
    for (const x of o) containersIn(x, out);
  } else if (o && typeof o === "object") {
    const rec = o as Record<string, unknown>;
    for (const key of ["containers", "initContainers", "ephemeralContainers"]) {
      for (const c of list(rec[key])) if (c && typeof c === "object") out.push(c);
    }
    for (const [k, v] of Object.entries(rec)) if (!["containers", "initContainers", "ephemeralContainers"].includes(k)) containersIn(v, out);
  }
  return out;
}

export const noSecretValues: ResourceValidationPolicy = {
  name: "no-secret-values",
  description: "No secret value in instance metadata, container env of Kubernetes objects, or labels: secrets live in Secret Manager and are read at boot.",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: (args, report) => {
    const p = args.props;
    const where = args.type.startsWith("gcp:") && args.type in labelable ? (labelable as Record<string, string>)[args.type]! : undefined;
    if ([T.instance, T.template, T.regionTemplate].includes(args.type as never)) {
      for (const [k, v] of Object.entries(p.metadata ?? {})) {
        const material = secretMaterial(v);
        if (material) report(`Metadata "${k}" contains a secret value (${material}): store it in Secret Manager and read it at boot through the VM's service account.`);
        else if (typeof v === "string" && RANDOM_LOOKING.test(v)) report(`Metadata "${k}" holds a random-looking value: if it is a credential, store it in Secret Manager and read it at boot.`);
        else if (SECRET_NAME.test(k) && !isReference(v)) report(`Metadata "${k}" holds a credential: put a Secret Manager secret id in it (or nothing) and read the value at boot.`);
      }
      if (typeof p.metadataStartupScript === "string" && secretMaterial(p.metadataStartupScript)) {
        report(`metadataStartupScript contains a secret value (${secretMaterial(p.metadataStartupScript)}): read it from Secret Manager at boot.`);
      }
    }
    if (args.type.startsWith("kubernetes:")) {
      for (const c of containersIn(p)) {
        for (const e of list(c.env)) {
          if (!e || typeof e !== "object" || e.value === undefined) continue;
          const material = secretMaterial(e.value);
          if (material) report(`Container ${c.name} env ${e.name} contains a secret value (${material}): use valueFrom.secretKeyRef or fetch it from Secret Manager.`);
          else if (SECRET_ENV_NAME.test(String(e.name)) && !isReference(e.value)) {
            report(`Container ${c.name} env ${e.name} holds a literal credential: use valueFrom.secretKeyRef, or pass a Secret Manager secret id and fetch the value at start.`);
          }
        }
      }
    }
    if (where) {
      const labels = get(p, where) ?? {};
      for (const [k, v] of Object.entries(labels)) {
        const material = secretMaterial(v);
        if (material) report(`Label ${k} contains a secret value (${material}): labels are visible to every viewer and in billing exports; remove it.`);
        else if (typeof v === "string" && RANDOM_LOOKING.test(v)) report(`Label ${k} holds a random-looking value: if it is a credential, remove it (labels are not secret).`);
        else if (SECRET_NAME.test(k) && !isReference(v)) report(`Label ${k} looks like a credential: labels are not secret; remove it.`);
      }
    }
  },
};

// ── Labels ────────────────────────────────────────────────────────────────────────────────────────────
export const requiredLabels: ResourceValidationPolicy = {
  name: "required-labels",
  description: `Every labelable GCP resource carries the labels ${REQUIRED_LABELS.join(", ")} (cost reports and ops filters by component and stage).`,
  enforcementLevel: "mandatory",
  severity: "medium",
  validateResource: (args, report) => {
    const where = (labelable as Record<string, string>)[args.type];
    if (!where) return;
    const labels = get(args.props, where) ?? {};
    const missing = REQUIRED_LABELS.filter((k) => typeof labels[k] !== "string" || labels[k] === "");
    if (missing.length > 0) report(`Missing labels ${missing.join(", ")} on ${where}: pass the component's labels (ctx.labels("<component>") in src/stack.ts) to this resource.`);
  },
};

// ── Stateful resources protected ──────────────────────────────────────────────────────────────────────
export const statefulProtected: ResourceValidationPolicy = {
  name: "stateful-protected",
  description: "Stateful resources (src/options.ts statefulTypes: databases, disks, buckets, caches, addresses, certificates, zones, secrets) are protected, so no `up` can delete their data.",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: (args, report) => {
    if (!statefulTypes.has(args.type)) return;
    // A Cloud SQL read replica is a copy of its primary, recreated from it; it carries no data of its own.
    if (args.type === T.sqlInstance && args.props.masterInstanceName) return;
    // A derived secret version (components/secret.ts `derived`) is replaced whenever its value changes, which a
    // protected resource cannot be; the replaced version is disabled, never destroyed.
    if (args.type === "gcp:secretmanager/secretVersion:SecretVersion" && args.props.deletionPolicy === "DISABLE") return;
    if (!args.opts.protect) report("Stateful resource is not protected: create it with statefulOptions(this) (src/options.ts: protect + retainOnDelete).");
  },
};

export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
  cloudSqlPrivate,
  cloudSqlDurable,
  bucketPrivate,
  firewallNoOpenAdmin,
  computeHardened,
  gkeHardened,
  httpsModernTls,
  httpRedirects,
  cloudArmor,
  noSecretValues,
  requiredLabels,
  statefulProtected,
];
