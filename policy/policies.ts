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
import { GOOGLE_FRONT_END_RANGES, IAP_RANGE, reachesInternet, widerThan } from "./cidr";
import { imagesPinned } from "./images";
import { hardeningPolicies } from "./hardening";

type Props = Record<string, any>;

/** Labels every labelable resource carries (src/naming.ts `labels`). */
export const REQUIRED_LABELS = ["app", "component", "stage", "managed-by"] as const;

/**
 * Label by which the program declares a bucket public (components/media.ts ACCESS_LABEL). A public bucket is
 * judged by what it is, never by its name: declared `access: public`, served through a Cloud CDN backend bucket
 * of the same stack, and readable only (allUsers objectViewer), the shape of the static-assets bucket.
 */
export const ACCESS_LABEL = "access";

/** The default Compute Engine service account (project editor by default: CIS 4.1). Emails are case-insensitive. */
export const DEFAULT_COMPUTE_SA = /-compute@developer\.gserviceaccount\.com$/i;
const isDefaultSa = (email: unknown) => typeof email === "string" && (email.trim().toLowerCase() === "default" || DEFAULT_COMPUTE_SA.test(email.trim()));

/** Metadata keys, label keys, env names and config keys that hold credentials. */
export const SECRET_NAME = /password|passwd|passphrase|secret|token|api[-_]?key|private[-_]?key|access[-_]?key|auth[-_]?key|credential|(^|[-_])key$/i;
/** Env names the container rule checks. */
export const SECRET_ENV_NAME = /PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|KEY|CREDENTIAL/i;

/**
 * Credentials recognisable by their format wherever they appear (the formats secret scanners such as gitleaks
 * and GitHub secret scanning key on), named so a message says what was found.
 */
export const SECRET_FORMATS: [string, RegExp][] = [
  ["a PEM private key", /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/],
  ["a Google service account key", /"private_key_id"\s*:\s*"[0-9a-f]{16,}"/],
  ["a Google API key", /\bAIza[0-9A-Za-z_-]{35}\b/],
  ["a Google OAuth token", /\bya29\.[0-9A-Za-z_-]{20,}/],
  ["an AWS access key id", /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/],
  ["a GitHub token", /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/],
  ["a Slack token", /\bxox[abposr]-[A-Za-z0-9-]{10,}/],
  ["a Stripe secret key", /\b[rs]k_live_[A-Za-z0-9]{16,}\b/],
  ["a JSON Web Token", /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/],
  // user:password@ in a URL, unless the password is an interpolation ($VAR, ${VAR}, $(cmd)) filled in at runtime.
  ["credentials in a URL", /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:(?!\$)[^/\s@]+@/i],
];

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) h -= (n / s.length) * Math.log2(n / s.length);
  return h;
}

/**
 * A random-looking token: 20+ characters of one alphabet with letters and digits and high entropy (random
 * base64/base62 carries ~5-6 bits per character, English words and identifiers far less). Content digests
 * (sha256:…, 40/64 hex) are hashes of public content, not secrets, and are skipped.
 */
export function randomToken(text: string): string | undefined {
  // Base64 padding (=) only at the end: `TimeoutStartSec=1200` is two words, not a token.
  for (const m of text.matchAll(/(sha(?:1|256|512):)?([A-Za-z0-9+/_-]{20,}=*)/g)) {
    const t = m[2]!.replace(/=+$/, "");
    if (m[1] || /^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(t)) continue;
    if (!/[0-9]/.test(t) || !/[A-Za-z]/.test(t) || t.includes("--")) continue;
    // Separators split identifiers (co-vm-db-password, course_organizer_app): judge each segment.
    const longest = t.split(/[-_/]/).reduce((a, x) => (x.length > a.length ? x : a), "");
    if (longest.length < 16) continue;
    const hex = /^[0-9a-f]+$/i.test(longest);
    if (entropy(longest) >= (hex ? 3.0 : 3.7)) return longest;
  }
  return undefined;
}

/** A credential-named key given a literal value inside text: `DB_PASSWORD=…`, `password: …`, `"token": "…"`. */
const ASSIGNMENT =
  /(?<![\w.$-])(?<!\$\{)([A-Za-z0-9_.-]*?(?:password|passwd|passphrase|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|auth[_-]?key)[A-Za-z0-9_.-]*)["']?\s*[:=]\s*(["']?)([^\s"',;}]*)\2/gi;

/**
 * A value that points at a secret instead of holding it: a Secret Manager resource name or URL, a file path
 * (a mounted secret), a shell or template interpolation, or, under a key that names a reference
 * (`…_SECRET`, `SECRET_0`, `…-secret-id`, `…_REF`), a Secret Manager secret id (`<prefix>-<role>`). Under any other
 * credential name a bare word is a literal: `POSTGRES_PASSWORD: correct-horse-battery` is a password.
 * Empty and boolean values hold nothing.
 */
// Names of a credential, not the credential: SECRET_ID, JWT_SECRET_NAME, CDN_SIGNING_KEY_NAME (the CDN's key name).
export const REFERENCE_KEY = /(^|[-_])secrets?([-_]?(id|name|[0-9]+))?$|[-_]ref$|[-_](key|secret|token)[-_]?(name|id)$/i;

export function isReference(value: unknown, key?: string): boolean {
  if (value === undefined || value === null || typeof value === "boolean" || typeof value === "number") return true;
  if (typeof value !== "string") return false;
  const v = value.trim();
  return (
    v === "" ||
    v === "[unknown]" ||
    /^(true|false|yes|no|on|off|none|null|required|optional|prefer|disable|enable)$/i.test(v) ||
    /^(\/\/secretmanager\.googleapis\.com\/)?projects\/[^/]+\/secrets\/[^/]+(\/versions\/[^/]+)?$/.test(v) ||
    /^(sm|gcpsm|secretmanager):\/\//.test(v) ||
    /^\/[\w./-]+$/.test(v) ||
    /^\$[({]?[A-Za-z_][A-Za-z0-9_]*[)}]?/.test(v) ||
    /^\{\{.*\}\}$|^%\(.*\)s$/.test(v) ||
    (key !== undefined && REFERENCE_KEY.test(key) && /^[a-z][a-z0-9]*([-_][a-z0-9]+)*$/.test(v))
  );
}

/** Why a value is secret material (a known format, a random token, or a credential-named key with a literal), or undefined. */
export function secretMaterial(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const format = SECRET_FORMATS.find(([, re]) => re.test(value));
  if (format) return `holds ${format[0]}`;
  for (const m of value.matchAll(ASSIGNMENT)) {
    // Inside scripts a credential-named key is also a regex or template fragment ("access_token":"([^"]+)"):
    // a value opening with a group, class, redirect or pipe is code, not a credential.
    const v = m[3]!;
    if (v.length >= 4 && !/^[([<\\%*|&>]/.test(v) && !isReference(v, m[1])) return `sets ${m[1]} to a literal value`;
  }
  const token = randomToken(value);
  return token ? `holds a random-looking token (${token.slice(0, 4)}…, ${entropy(token).toFixed(1)} bits/char)` : undefined;
}

function get(o: unknown, path: string): any {
  let cur: any = o;
  for (const p of path.split(".")) {
    if (cur === null || cur === undefined || typeof cur !== "object") return undefined;
    cur = cur[p];
  }
  return cur;
}

/** A boolean as the program or a stack file may spell it ("true", "TRUE", true). */
const isTrue = (v: unknown) => v === true || (typeof v === "string" && v.trim().toLowerCase() === "true");
const isFalse = (v: unknown) => v === false || (typeof v === "string" && v.trim().toLowerCase() === "false");
/** A list input; a lone block (how some providers accept a single element) counts as a one-element list. */
const list = (v: unknown): any[] => (Array.isArray(v) ? v : v === undefined || v === null || v === "" ? [] : [v]);
const upper = (v: unknown, dflt: string) => (typeof v === "string" && v.trim() !== "" ? v.trim().toUpperCase() : dflt);

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
  bucketPolicy: "gcp:storage/bucketIAMPolicy:BucketIAMPolicy",
  bucketAcl: "gcp:storage/bucketACL:BucketACL",
  bucketAccessControl: "gcp:storage/bucketAccessControl:BucketAccessControl",
  defaultObjectAcl: "gcp:storage/defaultObjectACL:DefaultObjectACL",
  defaultObjectAccessControl: "gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl",
  objectAcl: "gcp:storage/objectACL:ObjectACL",
  backendBucket: "gcp:compute/backendBucket:BackendBucket",
  firewall: "gcp:compute/firewall:Firewall",
  firewallPolicyRule: "gcp:compute/firewallPolicyRule:FirewallPolicyRule",
  networkFirewallPolicyRule: "gcp:compute/networkFirewallPolicyRule:NetworkFirewallPolicyRule",
  regionNetworkFirewallPolicyRule: "gcp:compute/regionNetworkFirewallPolicyRule:RegionNetworkFirewallPolicyRule",
  instance: "gcp:compute/instance:Instance",
  template: "gcp:compute/instanceTemplate:InstanceTemplate",
  regionTemplate: "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
  projectMetadata: "gcp:compute/projectMetadata:ProjectMetadata",
  projectMetadataItem: "gcp:compute/projectMetadataItem:ProjectMetadataItem",
  cluster: "gcp:container/cluster:Cluster",
  nodePool: "gcp:container/nodePool:NodePool",
  httpsProxy: "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
  regionHttpsProxy: "gcp:compute/regionTargetHttpsProxy:RegionTargetHttpsProxy",
  sslProxy: "gcp:compute/targetSSLProxy:TargetSSLProxy",
  httpProxy: "gcp:compute/targetHttpProxy:TargetHttpProxy",
  regionHttpProxy: "gcp:compute/regionTargetHttpProxy:RegionTargetHttpProxy",
  urlMap: "gcp:compute/uRLMap:URLMap",
  regionUrlMap: "gcp:compute/regionUrlMap:RegionUrlMap",
  sslPolicy: "gcp:compute/sSLPolicy:SSLPolicy",
  regionSslPolicy: "gcp:compute/regionSslPolicy:RegionSslPolicy",
  backendService: "gcp:compute/backendService:BackendService",
  regionBackendService: "gcp:compute/regionBackendService:RegionBackendService",
  secretVersion: "gcp:secretmanager/secretVersion:SecretVersion",
} as const;

// ── Cloud SQL (CIS 6.2.x, 6.5, 6.6, 6.7) ─────────────────────────────────────────────────────────────
export const cloudSqlPrivate: ResourceValidationPolicy = {
  name: "cloudsql-private-ssl",
  description: "Cloud SQL has no public IP and no authorized networks, and requires SSL (CIS 6.5, 6.6, 6.7).",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: forTypes([T.sqlInstance], (p, _a, report) => {
    const ip = list(get(p, "settings.ipConfiguration"))[0] ?? {};
    // GCP's default is ipv4Enabled: true (a public IP), so only an explicit false passes.
    if (!isFalse(ip.ipv4Enabled)) report("Cloud SQL has a public IP: set settings.ipConfiguration.ipv4Enabled to false and reach it through privateNetwork.");
    if (list(ip.authorizedNetworks).length > 0)
      report("Cloud SQL lists authorized networks: remove settings.ipConfiguration.authorizedNetworks (clients connect over the VPC).");
    if (!["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"].includes(upper(ip.sslMode, ""))) {
      report(
        `Cloud SQL accepts unencrypted connections (sslMode ${JSON.stringify(ip.sslMode)}): set settings.ipConfiguration.sslMode to "ENCRYPTED_ONLY" or "TRUSTED_CLIENT_CERTIFICATE_REQUIRED".`,
      );
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
    if (typeof p.masterInstanceName === "string" && p.masterInstanceName.trim() !== "") return;
    const b = list(get(p, "settings.backupConfiguration"))[0] ?? {};
    if (!isTrue(b.enabled)) report("Cloud SQL has no automated backups: set settings.backupConfiguration.enabled to true.");
    const version = String(p.databaseVersion ?? "").toUpperCase();
    if (version.startsWith("MYSQL")) {
      if (!isTrue(b.binaryLogEnabled)) report("Cloud SQL (MySQL) has no point-in-time recovery: set settings.backupConfiguration.binaryLogEnabled to true.");
    } else if (!isTrue(b.pointInTimeRecoveryEnabled)) {
      report("Cloud SQL has no point-in-time recovery: set settings.backupConfiguration.pointInTimeRecoveryEnabled to true.");
    }
    // A stack file's "false" is as false as the program's false.
    if (isFalse(p.deletionProtection)) report("Cloud SQL can be deleted by Pulumi: remove deletionProtection: false (the default is true).");
    if (!isTrue(get(p, "settings.deletionProtectionEnabled")))
      report("Cloud SQL can be deleted in the console or API: set settings.deletionProtectionEnabled to true.");
  }),
};

// ── Cloud Storage (CIS 5.1, 5.2) ───────────────────────────────────────────────────────────────────────
const PUBLIC_MEMBERS = new Set(["allusers", "allauthenticatedusers"]);
const isPublicMember = (m: unknown) => typeof m === "string" && PUBLIC_MEMBERS.has(m.trim().toLowerCase());
/** Legacy ACL entities that mean the public ("allUsers:READER", entity "allAuthenticatedUsers"). */
const isPublicEntity = (e: unknown) => typeof e === "string" && /^(allusers|allauthenticatedusers)(:|$)/i.test(e.trim());

/** The public grants an IAM resource makes: [member, role]. IAMPolicy's policyData is parsed (JSON). */
function publicGrants(type: string, p: Props): [string, string][] {
  if (type === T.bucketPolicy) {
    let data: any;
    try {
      data = typeof p.policyData === "string" ? JSON.parse(p.policyData) : p.policyData;
    } catch {
      return [["(unparseable policyData)", "unknown"]];
    }
    return list(data?.bindings).flatMap((b: any) =>
      list(b?.members)
        .filter(isPublicMember)
        .map((m: string) => [m, String(b.role)] as [string, string]),
    );
  }
  return [p.member, ...list(p.members)].filter(isPublicMember).map((m) => [m, String(p.role)]);
}

export const bucketPrivate: ResourceValidationPolicy = {
  name: "bucket-uniform-private",
  description: `Buckets use uniform bucket-level access and enforce public access prevention, unless declared public (label ${ACCESS_LABEL}: public); no ACL grants the public; a public grant is allUsers objectViewer only (CIS 5.1, 5.2). The stack policy public-bucket-is-static-assets checks what a declared-public bucket is.`,
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: forTypes(
    [
      T.bucket,
      T.bucketMember,
      T.bucketBinding,
      T.bucketPolicy,
      T.bucketAcl,
      T.bucketAccessControl,
      T.defaultObjectAcl,
      T.defaultObjectAccessControl,
      T.objectAcl,
    ],
    (p, a, report) => {
      if ([T.bucketAcl, T.bucketAccessControl, T.defaultObjectAcl, T.defaultObjectAccessControl, T.objectAcl].includes(a.type as never)) {
        const entries = [p.entity, ...list(p.roleEntities), ...list(p.roleEntity)].filter((e) => typeof e === "string");
        const open = entries.filter((e) => isPublicEntity(e) || /:(allusers|allauthenticatedusers)$/i.test(e));
        if (open.length > 0) report(`ACL grants the public (${open.join(", ")}): remove it; buckets use uniform bucket-level access (IAM only).`);
        return;
      }
      if (a.type !== T.bucket) {
        for (const [member, role] of publicGrants(a.type, p)) {
          if (member.trim().toLowerCase() === "allauthenticatedusers")
            report(`Bucket ${p.bucket} is granted to allAuthenticatedUsers (every Google account): remove the grant.`);
          else if (role !== "roles/storage.objectViewer")
            report(`Bucket ${p.bucket} grants ${role} to ${member}: the public may only read (roles/storage.objectViewer), never write or administer.`);
        }
        return;
      }
      if (!isTrue(p.uniformBucketLevelAccess)) report("Bucket uses object ACLs: set uniformBucketLevelAccess to true (access only through IAM).");
      const declaredPublic =
        String(p.labels?.[ACCESS_LABEL] ?? "")
          .trim()
          .toLowerCase() === "public";
      if (upper(p.publicAccessPrevention, "") !== "ENFORCED" && !declaredPublic) {
        report(
          `Bucket ${p.name || "(unnamed)"} can be made public (publicAccessPrevention ${JSON.stringify(p.publicAccessPrevention)}): set publicAccessPrevention to "enforced", or declare it public with the label ${ACCESS_LABEL}: public (only a static-assets bucket behind the CDN may be).`,
        );
      }
    },
  ),
};

/** A bucket's name as a grant or backend refers to it (a name, or a URL/path ending in it). */
const bucketRef = (v: unknown) =>
  typeof v === "string"
    ? (v
        .replace(/^gs:\/\//, "")
        .split("/")
        .filter(Boolean)
        .pop() ?? "")
    : "";

/**
 * What a public bucket is, across resources: a public grant must target a bucket of this stack that declares
 * itself public and is served by a Cloud CDN backend bucket (the static assets every browser downloads).
 */
export const publicBucketIsStatic: StackValidationPolicy = {
  name: "public-bucket-is-static-assets",
  description: `A bucket granted to allUsers is a bucket of this stack labelled ${ACCESS_LABEL}: public and served through a Cloud CDN backend bucket; nothing else may be public, whatever its name.`,
  enforcementLevel: "mandatory",
  severity: "critical",
  validateStack: (args, report) => {
    const buckets = args.resources.filter((r) => r.type === T.bucket);
    const served = new Set(args.resources.filter((r) => r.type === T.backendBucket && isTrue(r.props.enableCdn)).map((r) => bucketRef(r.props.bucketName)));
    for (const grant of args.resources.filter((r) => [T.bucketMember, T.bucketBinding, T.bucketPolicy].includes(r.type as never))) {
      if (publicGrants(grant.type, grant.props).length === 0) continue;
      const bucket = referenced(grant, "bucket", buckets);
      const name = bucket ? String(bucket.props.name) : bucketRef(grant.props.bucket);
      if (!bucket) {
        report(
          `Public grant ${grant.name} targets bucket ${name || "(unknown)"} outside this stack: only a static-assets bucket of this stack may be public.`,
          grant.urn,
        );
        continue;
      }
      if (
        String(bucket.props.labels?.[ACCESS_LABEL] ?? "")
          .trim()
          .toLowerCase() !== "public"
      ) {
        report(
          `Public grant ${grant.name} opens bucket ${name}, which does not declare itself public (label ${ACCESS_LABEL}: public): remove the grant.`,
          grant.urn,
        );
      }
      if (!served.has(name))
        report(
          `Public grant ${grant.name} opens bucket ${name}, which no Cloud CDN backend bucket serves: a public bucket is the static-assets bucket behind the CDN.`,
          grant.urn,
        );
    }
  },
};

// ── Firewall (CIS 3.6, 3.7) ───────────────────────────────────────────────────────────────────────────
const PROTOCOL_NUMBERS: Record<string, string> = { "6": "tcp", "17": "udp", "132": "sctp", "1": "icmp", "58": "ipv6-icmp" };
const protocolName = (v: unknown) => {
  const s = String(v ?? "")
    .trim()
    .toLowerCase();
  return PROTOCOL_NUMBERS[s] ?? s;
};

/** Whether a rule's port list covers `port` (no list means every port); ports may be numbers or "lo-hi". */
function coversPort(ports: unknown, port: number): boolean {
  const ps = list(ports);
  if (ps.length === 0) return true;
  return ps.some((x) => {
    const [lo, hi, extra] = String(x)
      .trim()
      .split("-")
      .map((n) => Number(n.trim()));
    if (extra !== undefined || Number.isNaN(lo)) return true; // unparseable: fail closed
    return hi === undefined ? lo === port : lo! <= port && port <= hi;
  });
}

/** Admin ports: SSH and RDP (RDP listens on tcp and udp 3389). */
const ADMIN: [string, number, string][] = [
  ["tcp", 22, "SSH"],
  ["tcp", 3389, "RDP"],
  ["udp", 3389, "RDP"],
];

/** One allow rule, normalised: sources, and [protocol, ports] pairs. */
interface Opening {
  sources: unknown[];
  allows: { protocol: string; ports: unknown }[];
}

/** The opening an ingress allow rule makes, or undefined for egress, deny and disabled rules. */
function opening(type: string, p: Props): Opening | undefined {
  if (type === T.firewall) {
    if (upper(p.direction, "INGRESS") !== "INGRESS" || isTrue(p.disabled)) return undefined;
    const ranges = list(p.sourceRanges);
    // GCP: an ingress rule without sourceRanges, sourceTags or sourceServiceAccounts applies to 0.0.0.0/0.
    const bySource = list(p.sourceTags).length > 0 || list(p.sourceServiceAccounts).length > 0;
    const sources = ranges.length > 0 ? ranges : bySource ? [] : ["0.0.0.0/0"];
    return { sources, allows: list(p.allows).map((x: any) => ({ protocol: protocolName(x?.protocol), ports: x?.ports })) };
  }
  // Firewall policy rules (hierarchical, global and regional network policies) open ports the same way.
  if (upper(p.direction, "INGRESS") !== "INGRESS" || isTrue(p.disabled) || upper(p.action, "") !== "ALLOW") return undefined;
  const match = list(p.match)[0] ?? {};
  // Address groups, FQDNs, region codes and threat-intelligence lists are public addresses a policy cannot
  // enumerate offline: they count as the internet (fail closed). Only secure tags name VM sources.
  const named = ["srcAddressGroups", "srcFqdns", "srcRegionCodes", "srcThreatIntelligences"].some((k) => list(match[k]).length > 0);
  const tagged = list(match.srcSecureTags).length > 0;
  const sources = [...list(match.srcIpRanges), ...(named ? ["0.0.0.0/0", "::/0"] : [])];
  return {
    sources: sources.length > 0 || tagged ? sources : ["0.0.0.0/0", "::/0"],
    allows: list(match.layer4Configs ?? match.layer4Config).map((x: any) => ({ protocol: protocolName(x?.ipProtocol), ports: x?.ports })),
  };
}

export const firewallNoOpenAdmin: ResourceValidationPolicy = {
  name: "firewall-no-open-admin",
  description:
    "No ingress rule (VPC firewall or firewall policy) opens SSH (22) or RDP (3389) beyond IAP's range and private space, nor every port to the internet, however the sources are spelt (CIS 3.6, 3.7).",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: forTypes([T.firewall, T.firewallPolicyRule, T.networkFirewallPolicyRule, T.regionNetworkFirewallPolicyRule], (p, a, report) => {
    const o = opening(a.type, p);
    if (!o || o.sources.length === 0) return;
    const shown = o.sources.map(String).join(", ");
    for (const allow of o.allows) {
      const everything = allow.protocol === "all" || allow.protocol === "";
      // Every port of a protocol (or every protocol) to any public source other than Google's front ends.
      if (
        (everything || (["tcp", "udp", "sctp"].includes(allow.protocol) && list(allow.ports).length === 0)) &&
        reachesInternet(o.sources, GOOGLE_FRONT_END_RANGES)
      ) {
        report(
          `Firewall opens ${everything ? "every protocol and port" : `all ${allow.protocol} ports`} to the internet (${shown}): list the ports the service needs, or narrow the sources.`,
        );
        continue;
      }
      for (const [protocol, port, what] of ADMIN) {
        if ((everything || allow.protocol === protocol) && coversPort(allow.ports, port) && reachesInternet(o.sources, [IAP_RANGE])) {
          report(`Firewall opens ${what} (${protocol} ${port}) to the internet (${shown}): allow ${port} only from IAP's range ${IAP_RANGE}.`);
        }
      }
    }
  }),
};

// ── Compute Engine VMs and templates (CIS 4.1, 4.2, 4.4, 4.8) ─────────────────────────────────────────
function checkMachine(p: Props, report: ReportViolation, what: string): void {
  const s = list(p.shieldedInstanceConfig)[0] ?? {};
  // enableVtpm and enableIntegrityMonitoring default to true at GCP, enableSecureBoot to false: all explicit here.
  const missing = ["enableSecureBoot", "enableVtpm", "enableIntegrityMonitoring"].filter((k) => !isTrue(s[k]));
  if (missing.length > 0) report(`${what} is not a Shielded VM: set shieldedInstanceConfig.${missing.join(", ")} to true (and use a Shielded image).`);
  const metadata = p.metadata ?? {};
  if (!isTrue(metadata["enable-oslogin"]))
    report(`${what} does not use OS Login: set metadata["enable-oslogin"] to "TRUE" (SSH users come from IAM, not metadata keys).`);
  const sa = list(p.serviceAccount)[0];
  const email = sa?.email;
  const defaultSa = !sa || !email || isDefaultSa(email);
  if (defaultSa)
    report(
      `${what} runs as the default compute service account: set serviceAccount.email to a dedicated account with only the roles it needs (components/service-account.ts).`,
    );
  const scopes = list(sa?.scopes).map(String);
  if (defaultSa && scopes.some((s) => s === "cloud-platform" || s.endsWith("/auth/cloud-platform"))) {
    report(`${what} gives the default service account the full cloud-platform scope: use a dedicated account (its roles limit it) instead.`);
  }
}

export const computeHardened: ResourceValidationPolicy = {
  name: "compute-shielded-oslogin-identity",
  description:
    "VMs and instance templates are Shielded VMs with OS Login, not running as the default compute service account nor giving it the cloud-platform scope (CIS 4.1, 4.2, 4.4, 4.8).",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: forTypes([T.instance, T.template, T.regionTemplate], (p, a, report) => {
    checkMachine(p, report, a.type === T.instance ? "VM" : "Instance template");
  }),
};

// ── GKE (CIS GKE benchmark 5.x as summarised in CIS GCP 7.x) ──────────────────────────────────────────
export const gkeHardened: ResourceValidationPolicy = {
  name: "gke-private-workload-identity",
  description:
    "GKE clusters have private nodes, Workload Identity, shielded nodes, no legacy ABAC, no basic auth or client certificate, and a control plane reachable only from authorized networks (never the internet, never all of Google Cloud); node pools use the GKE metadata server and a dedicated service account.",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: forTypes([T.cluster, T.nodePool], (p, a, report) => {
    if (a.type === T.nodePool) {
      const n = list(p.nodeConfig)[0] ?? {};
      if (!n.serviceAccount || isDefaultSa(n.serviceAccount)) {
        report("GKE node pool runs as the default compute service account: set nodeConfig.serviceAccount to a dedicated account.");
      }
      if (upper(get(n, "workloadMetadataConfig.mode"), "") !== "GKE_METADATA")
        report('GKE node pool exposes the node\'s credentials to pods: set nodeConfig.workloadMetadataConfig.mode to "GKE_METADATA".');
      if (!isTrue(get(n, "shieldedInstanceConfig.enableSecureBoot")))
        report("GKE node pool has no secure boot: set nodeConfig.shieldedInstanceConfig.enableSecureBoot to true.");
      return;
    }
    const priv = list(p.privateClusterConfig)[0] ?? {};
    if (!isTrue(priv.enablePrivateNodes)) report("GKE nodes have public IPs: set privateClusterConfig.enablePrivateNodes to true.");
    if (!get(p, "workloadIdentityConfig.workloadPool"))
      report('GKE has no Workload Identity: set workloadIdentityConfig.workloadPool to "<project>.svc.id.goog".');
    if (isFalse(p.enableShieldedNodes)) report("GKE nodes are not shielded: remove enableShieldedNodes: false (set it to true).");
    if (isTrue(p.enableLegacyAbac)) report("GKE allows legacy ABAC: set enableLegacyAbac to false (RBAC only).");
    if (get(p, "masterAuth.username") || get(p, "masterAuth.password")) report("GKE has basic auth: remove masterAuth.username and masterAuth.password.");
    if (isTrue(get(p, "masterAuth.clientCertificateConfig.issueClientCertificate"))) {
      report("GKE issues a client certificate: set masterAuth.clientCertificateConfig.issueClientCertificate to false.");
    }
    // The control plane's public endpoint (whatever src/config's masterAuthorizedNetworks says): GKE's default
    // without masterAuthorizedNetworksConfig is reachable from anywhere.
    if (!isTrue(priv.enablePrivateEndpoint)) {
      const man = list(p.masterAuthorizedNetworksConfig)[0];
      if (!man) {
        report(
          "GKE control plane is reachable from the whole internet: set masterAuthorizedNetworksConfig (cidrBlocks of operators and CI, gcpPublicCidrsAccessEnabled: false).",
        );
      } else {
        const cidrs = list(man.cidrBlocks).map((b: any) => b?.cidrBlock);
        // More than a /16 of public space is not "operators and CI": it is a slice of the internet (0.0.0.0/0
        // split into halves, or a cloud provider's whole range).
        if (widerThan(cidrs, 16, 48))
          report(
            `GKE control plane is open to a broad part of the internet (masterAuthorizedNetworks ${cidrs.join(", ")}): list the operators' and CI's ranges (at most a /16 of public space in all).`,
          );
        if (isTrue(man.gcpPublicCidrsAccessEnabled))
          report(
            "GKE control plane accepts every Google Cloud public IP (any customer's VM): set masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled to false.",
          );
      }
    }
  }),
};

// ── HTTPS load balancer: TLS policy, HTTP redirect, Cloud Armor (CIS 3.9) ───────────────────────────
export const httpsModernTls: ResourceValidationPolicy = {
  name: "https-modern-tls",
  description: "HTTPS and SSL proxies have an SSL policy, and every SSL policy is MODERN or RESTRICTED with TLS 1.2 or later (CIS 3.9).",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: forTypes([T.httpsProxy, T.regionHttpsProxy, T.sslProxy, T.sslPolicy, T.regionSslPolicy], (p, a, report) => {
    if (a.type === T.httpsProxy || a.type === T.regionHttpsProxy || a.type === T.sslProxy) {
      if (typeof p.sslPolicy !== "string" || p.sslPolicy.trim() === "") {
        report(
          `${a.type === T.sslProxy ? "SSL" : "HTTPS"} proxy uses Google's default SSL policy (TLS 1.0, COMPATIBLE): set sslPolicy to a MODERN or RESTRICTED policy with minTlsVersion TLS_1_2.`,
        );
      }
      return;
    }
    if (!["MODERN", "RESTRICTED"].includes(upper(p.profile, "COMPATIBLE")))
      report(`SSL policy profile ${JSON.stringify(p.profile ?? "COMPATIBLE")} allows weak ciphers: set profile to "MODERN" or "RESTRICTED".`);
    if (!["TLS_1_2", "TLS_1_3"].includes(upper(p.minTlsVersion, "TLS_1_0")))
      report(`SSL policy accepts ${JSON.stringify(p.minTlsVersion ?? "TLS_1_0")}: set minTlsVersion to "TLS_1_2".`);
  }),
};

/** Load-balancing schemes of internet-facing load balancers (the API's default for BackendService is EXTERNAL). */
const PUBLIC_SCHEMES = new Set(["EXTERNAL", "EXTERNAL_MANAGED"]);

export const cloudArmor: ResourceValidationPolicy = {
  name: "public-backend-cloud-armor",
  description:
    "Every backend service of an external load balancer (global or regional) has a Cloud Armor security policy, and every backend bucket an edge security policy.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: forTypes([T.backendService, T.regionBackendService, T.backendBucket], (p, a, report) => {
    const set = (v: unknown) => typeof v === "string" && v.trim() !== "";
    if (a.type === T.backendBucket) {
      if (!set(p.edgeSecurityPolicy))
        report("Backend bucket has no Cloud Armor edge policy: set edgeSecurityPolicy to a compute.SecurityPolicy of type CLOUD_ARMOR_EDGE.");
      return;
    }
    // BackendService defaults to EXTERNAL (classic external ALB); RegionBackendService's default is
    // INTERNAL, but a regional external ALB (EXTERNAL_MANAGED) is as public as the global one.
    const scheme = upper(p.loadBalancingScheme, a.type === T.backendService ? "EXTERNAL" : "INTERNAL");
    if (PUBLIC_SCHEMES.has(scheme) && !set(p.securityPolicy)) {
      report(
        `Public ${a.type === T.regionBackendService ? "regional " : ""}backend service (${scheme}) has no Cloud Armor policy: set securityPolicy to a compute.SecurityPolicy (rate limiting, WAF rules).`,
      );
    }
  }),
};

/** The resource an input refers to: through the engine's property dependencies, else by id/selfLink/name. */
function referenced(r: PolicyResource, prop: string, candidates: PolicyResource[]): PolicyResource | undefined {
  const viaDeps = (r.propertyDependencies?.[prop] ?? []).find((d) => candidates.includes(d));
  if (viaDeps) return viaDeps;
  const v = r.props[prop];
  if (typeof v !== "string" || v === "") return undefined;
  return candidates.find((c) =>
    [c.props.id, c.props.selfLink, c.props.name].some((x) => typeof x === "string" && x !== "" && (x === v || v.endsWith(`/${x}`))),
  );
}

/** The HTTP (port 80) side of the load balancer only redirects: a cross-resource rule, so a stack policy. */
export const httpRedirects: StackValidationPolicy = {
  name: "http-redirects-to-https",
  description:
    "Every HTTP proxy, global or regional, serves a URL map that only redirects to HTTPS (defaultUrlRedirect.httpsRedirect, no service, route action, host rule or path matcher).",
  enforcementLevel: "mandatory",
  severity: "high",
  validateStack: (args, report) => {
    const maps = args.resources.filter((r) => r.type === T.urlMap || r.type === T.regionUrlMap);
    for (const proxy of args.resources.filter((r) => r.type === T.httpProxy || r.type === T.regionHttpProxy)) {
      const map = referenced(proxy, "urlMap", maps);
      if (!map) {
        report(
          `HTTP proxy ${proxy.name} serves a URL map outside this stack: point urlMap at a URL map whose defaultUrlRedirect has httpsRedirect: true.`,
          proxy.urn,
        );
        continue;
      }
      const m = map.props;
      const redirect = list(m.defaultUrlRedirect)[0];
      const serves = ["defaultService", "defaultRouteAction", "pathMatchers", "hostRules"].filter((k) => list(m[k]).length > 0);
      if (!isTrue(redirect?.httpsRedirect) || serves.length > 0) {
        report(
          `HTTP proxy ${proxy.name} serves content over plain HTTP (URL map ${map.name}${serves.length ? `: ${serves.join(", ")}` : ""}): give it a URL map with only defaultUrlRedirect: { httpsRedirect: true, redirectResponseCode: "MOVED_PERMANENTLY_DEFAULT" }.`,
          proxy.urn,
        );
      }
    }
  },
};

// ── Secrets only in Secret Manager ────────────────────────────────────────────────────────────────────
/** Containers inside a Kubernetes object (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob, or a list of them). */
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
  description:
    "No secret value in instance or project metadata, Kubernetes container env, command or args, ConfigMaps, or labels: recognised by format (private keys, cloud and SaaS tokens, credentials in URLs), by entropy, and by credential-named keys given literal values. Secrets live in Secret Manager and are read at boot.",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: (args, report) => {
    const p = args.props;
    const where = args.type.startsWith("gcp:") && args.type in labelable ? (labelable as Record<string, string>)[args.type]! : undefined;
    const metadataCheck = (k: string, v: unknown) => {
      const material = secretMaterial(v);
      if (material) report(`Metadata "${k}" ${material}: store it in Secret Manager and read it at boot through the VM's service account.`);
      else if (SECRET_NAME.test(k) && !isReference(v, k))
        report(`Metadata "${k}" holds a credential: put a Secret Manager secret id in it (or nothing) and read the value at boot.`);
    };
    if ([T.instance, T.template, T.regionTemplate, T.projectMetadata].includes(args.type as never)) {
      for (const [k, v] of Object.entries(p.metadata ?? {})) metadataCheck(k, v);
      if (typeof p.metadataStartupScript === "string" && secretMaterial(p.metadataStartupScript)) {
        report(`metadataStartupScript ${secretMaterial(p.metadataStartupScript)}: read it from Secret Manager at boot.`);
      }
    }
    // Project metadata reaches every VM of the project and every viewer.
    if (args.type === T.projectMetadataItem) metadataCheck(String(p.key), p.value);
    if (args.type.startsWith("kubernetes:")) {
      for (const c of containersIn(p)) {
        for (const e of list(c.env)) {
          if (!e || typeof e !== "object" || e.value === undefined) continue;
          const material = secretMaterial(e.value);
          if (material) report(`Container ${c.name} env ${e.name} ${material}: use valueFrom.secretKeyRef or fetch it from Secret Manager.`);
          else if (SECRET_ENV_NAME.test(String(e.name)) && !isReference(e.value, String(e.name))) {
            report(
              `Container ${c.name} env ${e.name} holds a literal credential: use valueFrom.secretKeyRef, or pass a Secret Manager secret id and fetch the value at start.`,
            );
          }
        }
        const argv = [...list(c.command), ...list(c.args)].filter((x) => typeof x === "string").join(" ");
        const inArgs = secretMaterial(argv);
        if (inArgs) report(`Container ${c.name} command/args ${inArgs}: pass it through a mounted Secret or valueFrom.secretKeyRef.`);
      }
      // A ConfigMap is readable by anything with get on configmaps; a Secret is the place for credentials.
      if (/^kubernetes:core\/v1:ConfigMap(List)?$/.test(args.type)) {
        for (const [k, v] of Object.entries(p.data ?? {})) {
          const material = secretMaterial(v);
          if (material) report(`ConfigMap ${p.metadata?.name ?? args.name} key ${k} ${material}: move it to a Secret (or Secret Manager).`);
          else if (SECRET_NAME.test(k) && !isReference(v, k))
            report(`ConfigMap ${p.metadata?.name ?? args.name} key ${k} holds a credential: move it to a Secret (or Secret Manager).`);
        }
      }
    }
    if (where) {
      const labels = get(p, where) ?? {};
      for (const [k, v] of Object.entries(labels)) {
        const material = secretMaterial(v);
        if (material) report(`Label ${k} ${material}: labels are visible to every viewer and in billing exports; remove it.`);
        else if (SECRET_NAME.test(k) && !isReference(v, k)) report(`Label ${k} looks like a credential: labels are not secret; remove it.`);
      }
    }
  },
};

// ── Labels ────────────────────────────────────────────────────────────────────────────────────────────
export const requiredLabels: ResourceValidationPolicy = {
  name: "required-labels",
  description: `Every labelable GCP resource carries the labels ${REQUIRED_LABELS.join(", ")} with a non-blank value (cost reports and ops filters by component and stage).`,
  enforcementLevel: "mandatory",
  severity: "medium",
  validateResource: (args, report) => {
    const where = (labelable as Record<string, string>)[args.type];
    if (!where) return;
    const labels = get(args.props, where) ?? {};
    // A blank value (" ") groups nothing in a cost report: as missing as no label.
    const missing = REQUIRED_LABELS.filter((k) => typeof labels[k] !== "string" || labels[k].trim() === "");
    if (missing.length > 0)
      report(`Missing labels ${missing.join(", ")} on ${where}: pass the component's labels (ctx.scope("<component>") in src/stack/*.ts) to this resource.`);
  },
};

// ── Stateful resources protected ──────────────────────────────────────────────────────────────────────
/**
 * Types that hold data which cannot be recreated, beyond the program's own (src/options.ts statefulTypes, which
 * the plan guard shares): a resource of any of them added later must be protected too.
 */
export const EXTRA_STATEFUL_TYPES = [
  "gcp:compute/regionDisk:RegionDisk",
  "gcp:compute/image:Image",
  "gcp:compute/machineImage:MachineImage",
  "gcp:filestore/instance:Instance",
  "gcp:filestore/backup:Backup",
  "gcp:netapp/volume:Volume",
  "gcp:kms/keyRing:KeyRing",
  "gcp:kms/cryptoKey:CryptoKey",
  "gcp:alloydb/cluster:Cluster",
  "gcp:alloydb/instance:Instance",
  "gcp:spanner/instance:Instance",
  "gcp:spanner/database:Database",
  "gcp:firestore/database:Database",
  "gcp:bigtable/instance:Instance",
  "gcp:bigquery/dataset:Dataset",
] as const;
export const POLICY_STATEFUL_TYPES = new Set<string>([...statefulTypes, ...EXTRA_STATEFUL_TYPES]);

export const statefulProtected: ResourceValidationPolicy = {
  name: "stateful-protected",
  description:
    "Stateful resources (src/options.ts statefulTypes: databases, disks, buckets, caches, queues and subscriptions, addresses, certificates, zones, secrets; and every other data-holding type: regional disks, images, Filestore, NetApp, KMS, AlloyDB, Spanner, Firestore, Bigtable, BigQuery) are protected, so no `up` can delete their data.",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: (args, report) => {
    if (!POLICY_STATEFUL_TYPES.has(args.type)) return;
    // A Cloud SQL read replica is a copy of its primary, recreated from it; it carries no data of its own.
    if (args.type === T.sqlInstance && typeof args.props.masterInstanceName === "string" && args.props.masterInstanceName.trim() !== "") return;
    // A derived secret version (components/secret.ts `derived`) is replaced whenever its value changes, which a
    // protected resource cannot be; the replaced version is disabled, never destroyed.
    if (args.type === T.secretVersion && upper(args.props.deletionPolicy, "") === "DISABLE") return;
    if (!args.opts.protect) report("Stateful resource is not protected: create it with statefulOptions(this) (src/options.ts: protect + retainOnDelete).");
  },
};

export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
  cloudSqlPrivate,
  cloudSqlDurable,
  bucketPrivate,
  publicBucketIsStatic,
  firewallNoOpenAdmin,
  computeHardened,
  gkeHardened,
  httpsModernTls,
  httpRedirects,
  cloudArmor,
  noSecretValues,
  requiredLabels,
  statefulProtected,
  imagesPinned,
  ...hardeningPolicies,
];
