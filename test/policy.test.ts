/**
 * The policy pack, offline: every policy against every stage's plan (all pass), and against a deliberately bad
 * resource per rule (each fires, with a message that says what to change). The pack's PolicyPack is never
 * constructed here (it reads package.json and starts a gRPC server); the policies are called directly with the
 * argument bags the policy runtime would build.
 */
import { describe, expect, it } from "vitest";
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { statefulTypes } from "../src/options";
import { parse as parseYaml } from "yaml";
import { plan } from "./helpers/plan";
import { SECRET_MARK, type Plan, type PlannedResource } from "../src/plan/engine";
import * as P from "../policy/policies";
import { GCP_DIR, LABELABLE_FILE, labelableTypes } from "../policy/labelable";

/** Plan inputs as the policy runtime hands them over: secrets unwrapped. */
function unwrap(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrap);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === SECRET_MARK) return unwrap(o[SECRET_MARK]);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrap(x)]));
  }
  return v;
}

const noType = () => {
  throw new Error("isType/asType are not used by these policies");
};

function resourceArgs(r: { type: string; name: string; urn?: string; inputs: Record<string, unknown>; protect?: boolean; parent?: string }): ResourceValidationArgs {
  return {
    type: r.type,
    props: unwrap(r.inputs) as Record<string, any>,
    urn: r.urn ?? `urn:pulumi:test::course-organizer::${r.type}::${r.name}`,
    name: r.name,
    opts: { protect: r.protect ?? false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [], parent: r.parent },
    stackTags: new Map(),
    isType: noType as never,
    asType: noType as never,
    getConfig: (() => ({})) as never,
    notApplicable: ((reason?: string) => {
      throw new Error(`notApplicable: ${reason}`);
    }) as never,
  };
}

/** The stack view: resources with their property dependencies resolved to the resources they name. */
function stackResources(resources: PlannedResource[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const out = resources.map((r) => {
    const a = resourceArgs(r);
    const pr = { type: a.type, props: a.props, urn: a.urn, name: a.name, opts: a.opts, dependencies: [], propertyDependencies: {}, isType: a.isType, asType: a.asType } as unknown as PolicyResource;
    byUrn.set(r.urn, pr);
    return pr;
  });
  resources.forEach((r, i) => {
    const pr = out[i]!;
    pr.dependencies = r.dependencies.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => !!x);
    pr.propertyDependencies = Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, us]) => [k, us.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => !!x)]));
  });
  return out;
}

const resourcePolicies = P.policies.filter((p): p is ResourceValidationPolicy => "validateResource" in p);
const stackPolicies = P.policies.filter((p): p is StackValidationPolicy => "validateStack" in p);

/** Every violation of every policy over a plan, as "policy: resource: message". */
async function violations(p: Plan): Promise<string[]> {
  const out: string[] = [];
  for (const r of p.resources.filter((x) => x.custom)) {
    const args = resourceArgs(r);
    for (const pol of resourcePolicies) {
      const fns = Array.isArray(pol.validateResource) ? pol.validateResource : [pol.validateResource!];
      for (const fn of fns) await fn(args, (m) => out.push(`${pol.name}: ${r.type} ${r.name}: ${m}`));
    }
  }
  const resources = stackResources(p.resources.filter((x) => x.custom));
  for (const pol of stackPolicies) {
    await pol.validateStack({ resources, stackTags: new Map(), getConfig: (() => ({})) as never, notApplicable: (() => { throw new Error("n/a"); }) as never }, (m, urn) => out.push(`${pol.name}: ${urn ?? "stack"}: ${m}`));
  }
  return out;
}

/** Violations of one policy for one resource. */
async function check(policy: ResourceValidationPolicy, type: string, inputs: Record<string, unknown>, opts: { protect?: boolean; name?: string } = {}): Promise<string[]> {
  const out: string[] = [];
  const fns = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
  for (const fn of fns) await fn(resourceArgs({ type, name: opts.name ?? "bad", inputs, protect: opts.protect }), (m) => out.push(m));
  return out;
}

describe("the policy pack", () => {
  it("is a plain array of named, mandatory policies", () => {
    expect(P.policies.map((p) => p.name)).toEqual([
      "cloudsql-private-ssl",
      "cloudsql-backups-protection",
      "bucket-uniform-private",
      "firewall-no-open-admin",
      "compute-shielded-oslogin-identity",
      "gke-private-workload-identity",
      "https-modern-tls",
      "http-redirects-to-https",
      "public-backend-cloud-armor",
      "no-secret-values",
      "required-labels",
      "stateful-protected",
    ]);
    for (const p of P.policies) expect(p.enforcementLevel).toBe("mandatory");
  });

  it("is loadable by the Pulumi CLI: PulumiPolicy.yaml (nodejs), package.json main, the same @pulumi/policy as the project", () => {
    const policyDir = join(__dirname, "../policy");
    expect(parseYaml(readFileSync(join(policyDir, "PulumiPolicy.yaml"), "utf8"))).toMatchObject({ runtime: "nodejs" });
    const pkg = JSON.parse(readFileSync(join(policyDir, "package.json"), "utf8"));
    const root = JSON.parse(readFileSync(join(__dirname, "../package.json"), "utf8"));
    expect(pkg.main).toBe("index.ts");
    expect(pkg.dependencies["@pulumi/policy"]).toBe(root.devDependencies["@pulumi/policy"]);
    expect(pkg.dependencies["@pulumi/pulumi"]).toBe(root.dependencies["@pulumi/pulumi"]);
    const index = readFileSync(join(policyDir, "index.ts"), "utf8");
    expect(index).toMatch(/new PolicyPack\("course-organizer", \{\n  policies,/);
  });

  it("names only types the installed provider has (a misspelt token would silently check nothing)", () => {
    const known = new Set<string>();
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith(".js")) {
          const m = /static __pulumiType = '([^']+)'/.exec(readFileSync(join(d, e.name), "utf8"));
          if (m) known.add(m[1]!);
        }
      }
    };
    walk(GCP_DIR);
    expect(known.size).toBeGreaterThan(1000);
    const named = [...Object.values(P.T), ...[...statefulTypes].filter((t) => t.startsWith("gcp:"))];
    expect(named.filter((t) => !known.has(t))).toEqual([]);
  });

  it("knows the labelable types of the installed provider (policy/labelable-types.json is current)", () => {
    const fresh = labelableTypes(GCP_DIR);
    expect(JSON.parse(readFileSync(LABELABLE_FILE, "utf8"))).toEqual(fresh);
    expect(fresh["gcp:storage/bucket:Bucket"]).toBe("labels");
    expect(fresh["gcp:sql/databaseInstance:DatabaseInstance"]).toBe("settings.userLabels");
    expect(fresh["gcp:monitoring/notificationChannel:NotificationChannel"]).toBe("userLabels");
    expect(fresh["gcp:container/cluster:Cluster"]).toBe("resourceLabels");
    expect(fresh["gcp:compute/firewall:Firewall"]).toBeUndefined();
    // MetricDescriptor's `labels` is a list of label descriptors, not resource labels.
    expect(fresh["gcp:monitoring/metricDescriptor:MetricDescriptor"]).toBeUndefined();
  });
});

describe.each(["stage1", "stage2", "stage3", "stage4"])("every policy passes on the %s plan", (stack) => {
  it("in update mode", async () => {
    const p = await plan(stack);
    expect(p.resources.filter((r) => r.custom).length).toBeGreaterThan(30);
    expect(await violations(p)).toEqual([]);
  });
  it("in preview mode", async () => {
    expect(await violations(await plan(stack, { preview: true }))).toEqual([]);
  });
});

describe("each rule fires on a deliberately bad resource, saying what to change", () => {
  const LABELS = { app: "course-organizer", component: "test", stage: "3", "managed-by": "pulumi" };
  const goodSql = {
    databaseVersion: "POSTGRES_15",
    deletionProtection: true,
    settings: {
      userLabels: LABELS,
      deletionProtectionEnabled: true,
      ipConfiguration: { ipv4Enabled: false, privateNetwork: "projects/p/global/networks/v", sslMode: "ENCRYPTED_ONLY" },
      backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: true },
    },
  };
  const SQL = "gcp:sql/databaseInstance:DatabaseInstance";

  it("Cloud SQL: public IP, authorized networks, no SSL", async () => {
    expect(await check(P.cloudSqlPrivate, SQL, goodSql)).toEqual([]);
    const bad = { ...goodSql, settings: { ...goodSql.settings, ipConfiguration: { ipv4Enabled: true, authorizedNetworks: [{ value: "0.0.0.0/0" }], sslMode: "ALLOW_UNENCRYPTED_AND_ENCRYPTED" } } };
    expect(await check(P.cloudSqlPrivate, SQL, bad)).toEqual([
      "Cloud SQL has a public IP: set settings.ipConfiguration.ipv4Enabled to false and reach it through privateNetwork.",
      "Cloud SQL lists authorized networks: remove settings.ipConfiguration.authorizedNetworks (clients connect over the VPC).",
      'Cloud SQL accepts unencrypted connections (sslMode "ALLOW_UNENCRYPTED_AND_ENCRYPTED"): set settings.ipConfiguration.sslMode to "ENCRYPTED_ONLY" or "TRUSTED_CLIENT_CERTIFICATE_REQUIRED".',
    ]);
    // GCP's default is a public IP: leaving ipv4Enabled out is a violation too.
    expect(await check(P.cloudSqlPrivate, SQL, { ...goodSql, settings: { ...goodSql.settings, ipConfiguration: { sslMode: "ENCRYPTED_ONLY" } } })).toHaveLength(1);
  });

  it("Cloud SQL: backups, PITR and deletion protection on primaries (replicas exempt)", async () => {
    expect(await check(P.cloudSqlDurable, SQL, goodSql)).toEqual([]);
    const bad = { ...goodSql, deletionProtection: false, settings: { ...goodSql.settings, deletionProtectionEnabled: false, backupConfiguration: { enabled: false } } };
    expect(await check(P.cloudSqlDurable, SQL, bad)).toEqual([
      "Cloud SQL has no automated backups: set settings.backupConfiguration.enabled to true.",
      "Cloud SQL has no point-in-time recovery: set settings.backupConfiguration.pointInTimeRecoveryEnabled to true.",
      "Cloud SQL can be deleted by Pulumi: remove deletionProtection: false (the default is true).",
      "Cloud SQL can be deleted in the console or API: set settings.deletionProtectionEnabled to true.",
    ]);
    expect(await check(P.cloudSqlDurable, SQL, { ...bad, masterInstanceName: "co-db" })).toEqual([]);
  });

  it("buckets: uniform access and public access prevention, only <project>-<prefix>-static exempt", async () => {
    const B = "gcp:storage/bucket:Bucket";
    expect(await check(P.bucketPrivate, B, { name: "course-organizer-demo-co-media", uniformBucketLevelAccess: true, publicAccessPrevention: "enforced" })).toEqual([]);
    expect(await check(P.bucketPrivate, B, { name: "course-organizer-demo-co-static", uniformBucketLevelAccess: true, publicAccessPrevention: "inherited" })).toEqual([]);
    expect(await check(P.bucketPrivate, B, { name: "course-organizer-demo-co-media", uniformBucketLevelAccess: false, publicAccessPrevention: "inherited" })).toEqual([
      "Bucket uses object ACLs: set uniformBucketLevelAccess to true (access only through IAM).",
      'Bucket course-organizer-demo-co-media can be made public (publicAccessPrevention "inherited"): set publicAccessPrevention to "enforced"; only the static-assets bucket <project>-<prefix>-static may be public.',
    ]);
    const M = "gcp:storage/bucketIAMMember:BucketIAMMember";
    expect(await check(P.bucketPrivate, M, { bucket: "course-organizer-demo-co-static", role: "roles/storage.objectViewer", member: "allUsers" })).toEqual([]);
    expect(await check(P.bucketPrivate, M, { bucket: "course-organizer-demo-co-media", role: "roles/storage.objectAdmin", member: "serviceAccount:a@p.iam.gserviceaccount.com" })).toEqual([]);
    expect(await check(P.bucketPrivate, M, { bucket: "course-organizer-demo-co-media", role: "roles/storage.objectViewer", member: "allUsers" })).toEqual([
      "Bucket course-organizer-demo-co-media is granted to allUsers: remove the grant (serve private objects through signed URLs); only the static-assets bucket <project>-<prefix>-static may be public.",
    ]);
    expect(await check(P.bucketPrivate, "gcp:storage/bucketIAMBinding:BucketIAMBinding", { bucket: "course-organizer-demo-co-media", role: "roles/storage.objectViewer", members: ["user:a@example.org", "allAuthenticatedUsers"] })).toHaveLength(1);
    // The exemption is the exact name, not any name containing "static".
    expect(await check(P.bucketPrivate, B, { name: "co-static-backup", uniformBucketLevelAccess: true })).toHaveLength(1);
  });

  it("firewall: 22, 3389 and all ports from anywhere", async () => {
    const F = "gcp:compute/firewall:Firewall";
    const ok = { direction: "INGRESS", sourceRanges: ["0.0.0.0/0"], allows: [{ protocol: "tcp", ports: ["80", "443"] }, { protocol: "udp", ports: ["10000"] }] };
    expect(await check(P.firewallNoOpenAdmin, F, ok)).toEqual([]);
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["35.235.240.0/20"], allows: [{ protocol: "tcp", ports: ["22"] }] })).toEqual([]);
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["0.0.0.0/0"], allows: [{ protocol: "tcp", ports: ["22"] }] })).toEqual([
      "Firewall opens SSH (tcp 22) to 0.0.0.0/0: allow 22 only from IAP's range 35.235.240.0/20 (sourceRanges).",
    ]);
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["10.0.0.0/8", "0.0.0.0/0"], allows: [{ protocol: "tcp", ports: ["3000-4000"] }] })).toEqual([
      "Firewall opens RDP (tcp 3389) to 0.0.0.0/0: allow 3389 only from IAP's range 35.235.240.0/20 (sourceRanges).",
    ]);
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["0.0.0.0/0"], allows: [{ protocol: "all" }] })).toEqual([
      "Firewall opens every protocol and port to 0.0.0.0/0: list the ports the service needs in allows[].ports, or narrow sourceRanges.",
    ]);
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["::/0"], allows: [{ protocol: "udp" }] })).toEqual([
      "Firewall opens all udp ports to ::/0: list the ports the service needs in allows[].ports, or narrow sourceRanges.",
    ]);
  });

  it("VMs and templates: Shielded, OS Login, no default service account or its cloud-platform scope", async () => {
    const good = {
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      metadata: { "enable-oslogin": "TRUE" },
      serviceAccount: { email: "co-vm@p.iam.gserviceaccount.com", scopes: ["cloud-platform"] },
      labels: LABELS,
    };
    for (const t of ["gcp:compute/instance:Instance", "gcp:compute/instanceTemplate:InstanceTemplate", "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate"]) {
      expect(await check(P.computeHardened, t, good)).toEqual([]);
    }
    const bad = {
      shieldedInstanceConfig: { enableSecureBoot: false, enableVtpm: true },
      metadata: { "enable-oslogin": "FALSE" },
      serviceAccount: { email: "123456789012-compute@developer.gserviceaccount.com", scopes: ["https://www.googleapis.com/auth/cloud-platform"] },
    };
    expect(await check(P.computeHardened, "gcp:compute/instanceTemplate:InstanceTemplate", bad)).toEqual([
      "Instance template is not a Shielded VM: set shieldedInstanceConfig.enableSecureBoot, enableIntegrityMonitoring to true (and use a Shielded image).",
      'Instance template does not use OS Login: set metadata["enable-oslogin"] to "TRUE" (SSH users come from IAM, not metadata keys).',
      "Instance template runs as the default compute service account: set serviceAccount.email to a dedicated account with only the roles it needs (components/service-account.ts).",
      "Instance template gives the default service account the full cloud-platform scope: use a dedicated account (its roles limit it) instead.",
    ]);
    // No serviceAccount block at all means the default account.
    expect(await check(P.computeHardened, "gcp:compute/instance:Instance", { ...good, serviceAccount: undefined })).toEqual([
      "VM runs as the default compute service account: set serviceAccount.email to a dedicated account with only the roles it needs (components/service-account.ts).",
    ]);
  });

  it("GKE: private nodes, Workload Identity, shielded nodes, no ABAC, basic auth or client certificate", async () => {
    const C = "gcp:container/cluster:Cluster";
    const good = { privateClusterConfig: { enablePrivateNodes: true }, workloadIdentityConfig: { workloadPool: "p.svc.id.goog" }, enableShieldedNodes: true, enableLegacyAbac: false, masterAuth: { clientCertificateConfig: { issueClientCertificate: false } } };
    expect(await check(P.gkeHardened, C, good)).toEqual([]);
    const bad = { privateClusterConfig: { enablePrivateNodes: false }, enableShieldedNodes: false, enableLegacyAbac: true, masterAuth: { username: "admin", password: "x", clientCertificateConfig: { issueClientCertificate: true } } };
    expect(await check(P.gkeHardened, C, bad)).toEqual([
      "GKE nodes have public IPs: set privateClusterConfig.enablePrivateNodes to true.",
      'GKE has no Workload Identity: set workloadIdentityConfig.workloadPool to "<project>.svc.id.goog".',
      "GKE nodes are not shielded: remove enableShieldedNodes: false (set it to true).",
      "GKE allows legacy ABAC: set enableLegacyAbac to false (RBAC only).",
      "GKE has basic auth: remove masterAuth.username and masterAuth.password.",
      "GKE issues a client certificate: set masterAuth.clientCertificateConfig.issueClientCertificate to false.",
    ]);
    const N = "gcp:container/nodePool:NodePool";
    expect(await check(P.gkeHardened, N, { nodeConfig: { serviceAccount: "co-gke@p.iam.gserviceaccount.com", workloadMetadataConfig: { mode: "GKE_METADATA" }, shieldedInstanceConfig: { enableSecureBoot: true } } })).toEqual([]);
    expect(await check(P.gkeHardened, N, { nodeConfig: { workloadMetadataConfig: { mode: "GCE_METADATA" } } })).toEqual([
      "GKE node pool runs as the default compute service account: set nodeConfig.serviceAccount to a dedicated account.",
      'GKE node pool exposes the node\'s credentials to pods: set nodeConfig.workloadMetadataConfig.mode to "GKE_METADATA".',
      "GKE node pool has no secure boot: set nodeConfig.shieldedInstanceConfig.enableSecureBoot to true.",
    ]);
  });

  it("HTTPS: an SSL policy on every proxy, MODERN or RESTRICTED, TLS 1.2+", async () => {
    expect(await check(P.httpsModernTls, "gcp:compute/targetHttpsProxy:TargetHttpsProxy", { urlMap: "m", sslPolicy: "projects/p/global/sslPolicies/co-tls" })).toEqual([]);
    expect(await check(P.httpsModernTls, "gcp:compute/targetHttpsProxy:TargetHttpsProxy", { urlMap: "m" })).toEqual([
      "HTTPS proxy uses Google's default SSL policy (TLS 1.0, COMPATIBLE): set sslPolicy to a MODERN or RESTRICTED policy with minTlsVersion TLS_1_2.",
    ]);
    expect(await check(P.httpsModernTls, "gcp:compute/sSLPolicy:SSLPolicy", { profile: "MODERN", minTlsVersion: "TLS_1_2" })).toEqual([]);
    expect(await check(P.httpsModernTls, "gcp:compute/sSLPolicy:SSLPolicy", { profile: "COMPATIBLE", minTlsVersion: "TLS_1_0" })).toEqual([
      'SSL policy profile "COMPATIBLE" allows weak ciphers: set profile to "MODERN" or "RESTRICTED".',
      'SSL policy accepts "TLS_1_0": set minTlsVersion to "TLS_1_2".',
    ]);
  });

  it("HTTP proxies serve only a redirect to HTTPS (stack policy, through the urlMap dependency)", async () => {
    const map = (name: string, inputs: Record<string, unknown>): PlannedResource => ({ urn: `urn:x::${name}`, type: "gcp:compute/uRLMap:URLMap", name, custom: true, inputs, dependencies: [], propertyDependencies: {}, protect: false, retainOnDelete: false, deleteBeforeReplace: false, aliases: [], ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [] });
    const proxy = (name: string, urlMapUrn: string): PlannedResource => ({ ...map(name, { urlMap: "[unknown]" }), urn: `urn:x::${name}`, type: "gcp:compute/targetHttpProxy:TargetHttpProxy", propertyDependencies: { urlMap: [urlMapUrn] } });
    const run = async (rs: PlannedResource[]) => {
      const out: string[] = [];
      await P.httpRedirects.validateStack({ resources: stackResources(rs), stackTags: new Map(), getConfig: (() => ({})) as never, notApplicable: (() => { throw new Error(); }) as never }, (m) => out.push(m));
      return out;
    };
    const redirect = map("lb-redirect", { defaultUrlRedirect: { httpsRedirect: true, redirectResponseCode: "MOVED_PERMANENTLY_DEFAULT", stripQuery: false } });
    const site = map("lb-site", { defaultService: "projects/p/global/backendServices/co-web" });
    expect(await run([redirect, proxy("lb-http", redirect.urn)])).toEqual([]);
    expect(await run([site, proxy("lb-http", site.urn)])).toEqual([
      'HTTP proxy lb-http serves content over plain HTTP (URL map lb-site): give it a URL map with only defaultUrlRedirect: { httpsRedirect: true, redirectResponseCode: "MOVED_PERMANENTLY_DEFAULT" }.',
    ]);
    expect(await run([proxy("lb-http", "urn:elsewhere")])).toEqual([
      "HTTP proxy lb-http serves a URL map outside this stack: point urlMap at a URL map whose defaultUrlRedirect has httpsRedirect: true.",
    ]);
  });

  it("Cloud Armor on every public backend service", async () => {
    const S = "gcp:compute/backendService:BackendService";
    expect(await check(P.cloudArmor, S, { loadBalancingScheme: "EXTERNAL_MANAGED", securityPolicy: "projects/p/global/securityPolicies/co-armor" })).toEqual([]);
    expect(await check(P.cloudArmor, S, { loadBalancingScheme: "INTERNAL_MANAGED" })).toEqual([]);
    expect(await check(P.cloudArmor, S, { loadBalancingScheme: "EXTERNAL_MANAGED" })).toEqual([
      "Public backend service (EXTERNAL_MANAGED) has no Cloud Armor policy: set securityPolicy to a compute.SecurityPolicy (rate limiting, WAF rules).",
    ]);
  });

  it("no secret values in metadata, container env or labels", async () => {
    const I = "gcp:compute/instance:Instance";
    expect(await check(P.noSecretValues, I, { metadata: { "enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE", "db-password-secret": "co-vm-db-password", "user-data": "#cloud-config\nruncmd: [fetch-secrets]\n" }, labels: LABELS })).toEqual([]);
    expect(await check(P.noSecretValues, I, { metadata: { "user-data": "#cloud-config\nwrite_files: [{content: 'POSTGRES_PASSWORD=mockf9bc01bd4c15a6bc'}]" } })).toEqual([
      'Metadata "user-data" contains a secret value (matches /\\bmock[0-9a-f]{8,}\\b/): store it in Secret Manager and read it at boot through the VM\'s service account.',
    ]);
    expect(await check(P.noSecretValues, "gcp:compute/instanceTemplate:InstanceTemplate", { metadata: { "db-password": "hunter2" } })).toEqual([
      'Metadata "db-password" holds a credential: put a Secret Manager secret id in it (or nothing) and read the value at boot.',
    ]);
    expect(await check(P.noSecretValues, I, { metadata: { "startup-token": "Zx81kQ2pLm0aBc7dEf9G" } })).toEqual([
      'Metadata "startup-token" holds a random-looking value: if it is a credential, store it in Secret Manager and read it at boot.',
    ]);
    const D = "kubernetes:apps/v1:Deployment";
    const deployment = (env: unknown[]) => ({ metadata: { name: "api" }, spec: { template: { spec: { initContainers: [{ name: "settings", env: [{ name: "SETTINGS_SECRET", value: "co-app-settings" }] }], containers: [{ name: "api", env }] } } } });
    expect(await check(P.noSecretValues, D, deployment([{ name: "SETTINGS_FILE", value: "/var/run/settings/settings.json" }, { name: "DJANGO_SECRET_KEY", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }]))).toEqual([]);
    expect(await check(P.noSecretValues, D, deployment([{ name: "DJANGO_SECRET_KEY", value: "s3cr3t value" }, { name: "REDIS_URL", value: "rediss://default:mock-auth-0123456789abcdef@10.0.0.3:6378" }]))).toEqual([
      "Container api env DJANGO_SECRET_KEY holds a literal credential: use valueFrom.secretKeyRef, or pass a Secret Manager secret id and fetch the value at start.",
      "Container api env REDIS_URL contains a secret value (matches /\\bmock-auth-[0-9a-f]{8,}\\b/): use valueFrom.secretKeyRef or fetch it from Secret Manager.",
    ]);
    // CronJob: the pod spec sits deeper (spec.jobTemplate.spec.template.spec).
    expect(await check(P.noSecretValues, "kubernetes:batch/v1:CronJob", { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: "job", env: [{ name: "API_TOKEN", value: "abc" }] }] } } } } } })).toHaveLength(1);
    expect(await check(P.noSecretValues, "gcp:storage/bucket:Bucket", { labels: { ...LABELS, "api-token": "abc", note: "mock0123456789ab" } })).toEqual([
      "Label api-token looks like a credential: labels are not secret; remove it.",
      "Label note contains a secret value (matches /\\bmock[0-9a-f]{8,}\\b/): labels are visible to every viewer and in billing exports; remove it.",
    ]);
  });

  it("required labels on every labelable GCP resource, wherever the type keeps them", async () => {
    expect(await check(P.requiredLabels, "gcp:storage/bucket:Bucket", { labels: LABELS })).toEqual([]);
    expect(await check(P.requiredLabels, "gcp:compute/firewall:Firewall", {})).toEqual([]);
    expect(await check(P.requiredLabels, "gcp:storage/bucket:Bucket", { labels: { app: "course-organizer", stage: "" } })).toEqual([
      'Missing labels component, stage, managed-by on labels: pass the component\'s labels (ctx.labels("<component>") in src/stack.ts) to this resource.',
    ]);
    expect(await check(P.requiredLabels, SQL, { settings: { tier: "db-f1-micro" } })).toEqual([
      'Missing labels app, component, stage, managed-by on settings.userLabels: pass the component\'s labels (ctx.labels("<component>") in src/stack.ts) to this resource.',
    ]);
    expect(await check(P.requiredLabels, "gcp:monitoring/alertPolicy:AlertPolicy", { userLabels: LABELS })).toEqual([]);
    expect(await check(P.requiredLabels, "gcp:container/cluster:Cluster", { resourceLabels: { app: "x" } })).toHaveLength(1);
  });

  it("stateful resources protected (Cloud SQL read replicas excepted)", async () => {
    expect(await check(P.statefulProtected, "gcp:compute/disk:Disk", {}, { protect: true })).toEqual([]);
    expect(await check(P.statefulProtected, "gcp:compute/firewall:Firewall", {}, { protect: false })).toEqual([]);
    expect(await check(P.statefulProtected, "gcp:compute/disk:Disk", {}, { protect: false })).toEqual([
      "Stateful resource is not protected: create it with statefulOptions(this) (src/options.ts: protect + retainOnDelete).",
    ]);
    expect(await check(P.statefulProtected, SQL, { masterInstanceName: "co-db" }, { protect: false })).toEqual([]);
    expect(await check(P.statefulProtected, SQL, {}, { protect: false })).toHaveLength(1);
  });
});
