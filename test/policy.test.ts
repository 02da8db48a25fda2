/**
 * The policy pack, offline: every policy against every stage's plan (all pass), and against a deliberately bad
 * resource per rule (each fires, with a message that says what to change). The pack's PolicyPack is never
 * constructed here (it reads package.json and starts a gRPC server); the policies are called directly with the
 * argument bags the policy runtime would build.
 */
import { describe, expect, it } from "vitest";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { statefulTypes } from "../src/options";
import { parse as parseYaml } from "yaml";
import { plan } from "./helpers/plan";
import { type PlannedResource } from "../src/plan/engine";
import * as P from "../policy/policies";
import { resourceArgs, stackResources, violations } from "../policy/harness";
import { imagesInObject, imagesInText, imagesPinned } from "../policy/images";
import { pinnedImage, readImageDigests } from "../src/config/image-pins";
import { stackImages } from "../scripts/resolve-images";
import { throughMirror } from "../src/images";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { GCP_DIR, LABELABLE_FILE, labelableTypes } from "../policy/labelable";

/** Violations of one policy for one resource. */
async function check(
  policy: ResourceValidationPolicy,
  type: string,
  inputs: Record<string, unknown>,
  opts: { protect?: boolean; name?: string } = {},
): Promise<string[]> {
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
      "public-bucket-is-static-assets",
      "firewall-no-open-admin",
      "compute-shielded-oslogin-identity",
      "gke-private-workload-identity",
      "https-modern-tls",
      "http-redirects-to-https",
      "public-backend-cloud-armor",
      "no-secret-values",
      "required-labels",
      "stateful-protected",
      "images-pinned-by-digest",
      // policy/hardening.ts
      "cloudsql-audit-flags",
      "armor-waf-adaptive",
      "cdn-bucket-edge-policy-uploads",
      "static-bucket-release-writer-only",
      "k8s-restricted-containers",
      "database-tls-verify-ca",
      "k8s-namespaces-default-deny",
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
    expect(index).toMatch(/new PolicyPack\("course-organizer", \{\n {2}policies,/);
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
    const named = [...Object.values(P.T), ...[...P.POLICY_STATEFUL_TYPES].filter((t) => t.startsWith("gcp:"))];
    expect([...statefulTypes].every((t) => P.POLICY_STATEFUL_TYPES.has(t))).toBe(true);
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

/** A resource of the stack view (for stack policies). */
function res(type: string, name: string, inputs: Record<string, unknown>, propertyDependencies: Record<string, string[]> = {}): PlannedResource {
  return {
    urn: `urn:x::${name}`,
    type,
    name,
    custom: true,
    inputs,
    dependencies: [],
    propertyDependencies,
    protect: false,
    retainOnDelete: false,
    deleteBeforeReplace: false,
    aliases: [],
    ignoreChanges: [],
    replaceOnChanges: [],
    additionalSecretOutputs: [],
  };
}
async function checkStack(policy: StackValidationPolicy, rs: PlannedResource[]): Promise<string[]> {
  const out: string[] = [];
  await policy.validateStack(
    {
      resources: stackResources(rs),
      stackTags: new Map(),
      getConfig: (() => ({})) as never,
      notApplicable: (() => {
        throw new Error();
      }) as never,
    },
    (m) => out.push(m),
  );
  return out;
}

/**
 * Each rule against the bypasses a plausible resource could try (the review's list, and one more per rule), a
 * passing case beside each, and the exact message.
 */
describe("each rule holds against its bypasses, saying what to change", () => {
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

  it("cloudsql-private-ssl: public IP, authorized networks, no SSL; own bypass: authorizedNetworks as a lone block", async () => {
    expect(await check(P.cloudSqlPrivate, SQL, goodSql)).toEqual([]);
    const bad = {
      ...goodSql,
      settings: {
        ...goodSql.settings,
        ipConfiguration: { ipv4Enabled: true, authorizedNetworks: [{ value: "0.0.0.0/0" }], sslMode: "ALLOW_UNENCRYPTED_AND_ENCRYPTED" },
      },
    };
    expect(await check(P.cloudSqlPrivate, SQL, bad)).toEqual([
      "Cloud SQL has a public IP: set settings.ipConfiguration.ipv4Enabled to false and reach it through privateNetwork.",
      "Cloud SQL lists authorized networks: remove settings.ipConfiguration.authorizedNetworks (clients connect over the VPC).",
      'Cloud SQL accepts unencrypted connections (sslMode "ALLOW_UNENCRYPTED_AND_ENCRYPTED"): set settings.ipConfiguration.sslMode to "ENCRYPTED_ONLY" or "TRUSTED_CLIENT_CERTIFICATE_REQUIRED".',
    ]);
    // GCP's default is a public IP: leaving ipv4Enabled out is a violation too.
    expect(await check(P.cloudSqlPrivate, SQL, { ...goodSql, settings: { ...goodSql.settings, ipConfiguration: { sslMode: "ENCRYPTED_ONLY" } } })).toHaveLength(
      1,
    );
    const lone = {
      ...goodSql,
      settings: { ...goodSql.settings, ipConfiguration: { ...goodSql.settings.ipConfiguration, authorizedNetworks: { value: "0.0.0.0/0" } } },
    };
    expect(await check(P.cloudSqlPrivate, SQL, lone)).toEqual([
      "Cloud SQL lists authorized networks: remove settings.ipConfiguration.authorizedNetworks (clients connect over the VPC).",
    ]);
  });

  it('cloudsql-backups-protection: backups, PITR, deletion protection; own bypass: "false" spelt as a string by a stack file', async () => {
    expect(await check(P.cloudSqlDurable, SQL, goodSql)).toEqual([]);
    const bad = {
      ...goodSql,
      deletionProtection: false,
      settings: { ...goodSql.settings, deletionProtectionEnabled: false, backupConfiguration: { enabled: false } },
    };
    expect(await check(P.cloudSqlDurable, SQL, bad)).toEqual([
      "Cloud SQL has no automated backups: set settings.backupConfiguration.enabled to true.",
      "Cloud SQL has no point-in-time recovery: set settings.backupConfiguration.pointInTimeRecoveryEnabled to true.",
      "Cloud SQL can be deleted by Pulumi: remove deletionProtection: false (the default is true).",
      "Cloud SQL can be deleted in the console or API: set settings.deletionProtectionEnabled to true.",
    ]);
    expect(await check(P.cloudSqlDurable, SQL, { ...bad, masterInstanceName: "co-db" })).toEqual([]);
    // A blank masterInstanceName does not make a primary a replica.
    expect(await check(P.cloudSqlDurable, SQL, { ...bad, masterInstanceName: " " })).toHaveLength(4);
    expect(await check(P.cloudSqlDurable, SQL, { ...goodSql, deletionProtection: "false" })).toEqual([
      "Cloud SQL can be deleted by Pulumi: remove deletionProtection: false (the default is true).",
    ]);
  });

  const B = "gcp:storage/bucket:Bucket";
  const M = "gcp:storage/bucketIAMMember:BucketIAMMember";
  it("bucket-uniform-private: judged by what a bucket declares, not its name; own bypasses: public write, allAuthenticatedUsers, an IAM policy document, an ACL", async () => {
    expect(
      await check(P.bucketPrivate, B, { name: "course-organizer-demo-co-media", uniformBucketLevelAccess: true, publicAccessPrevention: "enforced" }),
    ).toEqual([]);
    expect(
      await check(P.bucketPrivate, B, {
        name: "course-organizer-demo-co-static",
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "inherited",
        labels: { ...LABELS, access: "public" },
      }),
    ).toEqual([]);
    // The review's bypass: a name ending in -static is not a declaration.
    expect(
      await check(P.bucketPrivate, B, {
        name: "course-organizer-demo-co-static",
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "inherited",
        labels: LABELS,
      }),
    ).toEqual([
      'Bucket course-organizer-demo-co-static can be made public (publicAccessPrevention "inherited"): set publicAccessPrevention to "enforced", or declare it public with the label access: public (only a static-assets bucket behind the CDN may be).',
    ]);
    expect(await check(P.bucketPrivate, B, { name: "x", uniformBucketLevelAccess: "false", publicAccessPrevention: "enforced" })).toEqual([
      "Bucket uses object ACLs: set uniformBucketLevelAccess to true (access only through IAM).",
    ]);
    expect(await check(P.bucketPrivate, M, { bucket: "course-organizer-demo-co-static", role: "roles/storage.objectViewer", member: "allUsers" })).toEqual([]);
    expect(await check(P.bucketPrivate, M, { bucket: "course-organizer-demo-co-static", role: "roles/storage.objectAdmin", member: "allUsers" })).toEqual([
      "Bucket course-organizer-demo-co-static grants roles/storage.objectAdmin to allUsers: the public may only read (roles/storage.objectViewer), never write or administer.",
    ]);
    expect(
      await check(P.bucketPrivate, "gcp:storage/bucketIAMBinding:BucketIAMBinding", {
        bucket: "b",
        role: "roles/storage.objectViewer",
        members: ["user:a@example.org", "allAuthenticatedUsers"],
      }),
    ).toEqual(["Bucket b is granted to allAuthenticatedUsers (every Google account): remove the grant."]);
    const policyData = JSON.stringify({ bindings: [{ role: "roles/storage.legacyBucketWriter", members: ["allUsers"] }] });
    expect(await check(P.bucketPrivate, "gcp:storage/bucketIAMPolicy:BucketIAMPolicy", { bucket: "b", policyData })).toEqual([
      "Bucket b grants roles/storage.legacyBucketWriter to allUsers: the public may only read (roles/storage.objectViewer), never write or administer.",
    ]);
    expect(await check(P.bucketPrivate, "gcp:storage/bucketACL:BucketACL", { bucket: "b", roleEntities: ["READER:allUsers"] })).toEqual([
      "ACL grants the public (READER:allUsers): remove it; buckets use uniform bucket-level access (IAM only).",
    ]);
  });

  it("public-bucket-is-static-assets: a public grant needs a bucket of this stack declared public AND served by the CDN; own bypass: a grant to a bucket outside the stack", async () => {
    const staticBucket = res(B, "static", { name: "course-organizer-demo-co-static", labels: { ...LABELS, access: "public" } });
    const cdn = res("gcp:compute/backendBucket:BackendBucket", "static-cdn", { bucketName: "course-organizer-demo-co-static", enableCdn: true });
    const grant = (bucket: PlannedResource | string) =>
      typeof bucket === "string"
        ? res(M, "grant", { bucket, role: "roles/storage.objectViewer", member: "allUsers" })
        : res(M, "grant", { bucket: "[unknown]", role: "roles/storage.objectViewer", member: "allUsers" }, { bucket: [bucket.urn] });
    expect(await checkStack(P.publicBucketIsStatic, [staticBucket, cdn, grant(staticBucket)])).toEqual([]);
    // Named -static, declared nothing, behind no CDN.
    const evil = res(B, "evil", { name: "evil-exfil-static", labels: LABELS });
    expect(await checkStack(P.publicBucketIsStatic, [evil, cdn, grant(evil)])).toEqual([
      "Public grant grant opens bucket evil-exfil-static, which does not declare itself public (label access: public): remove the grant.",
      "Public grant grant opens bucket evil-exfil-static, which no Cloud CDN backend bucket serves: a public bucket is the static-assets bucket behind the CDN.",
    ]);
    // Declared public, but nothing serves it: not the static-assets bucket.
    const declared = res(B, "declared", { name: "course-organizer-demo-co-dump", labels: { ...LABELS, access: "public" } });
    expect(await checkStack(P.publicBucketIsStatic, [declared, cdn, grant(declared)])).toEqual([
      "Public grant grant opens bucket course-organizer-demo-co-dump, which no Cloud CDN backend bucket serves: a public bucket is the static-assets bucket behind the CDN.",
    ]);
    expect(await checkStack(P.publicBucketIsStatic, [cdn, grant("course-organizer-demo-co-static")])).toEqual([
      "Public grant grant targets bucket course-organizer-demo-co-static outside this stack: only a static-assets bucket of this stack may be public.",
    ]);
  });

  const F = "gcp:compute/firewall:Firewall";
  it("firewall-no-open-admin: no sourceRanges, split 0.0.0.0/0, IPv6, protocol numbers, all, port ranges; own bypass: a network firewall policy rule", async () => {
    const ok = {
      direction: "INGRESS",
      sourceRanges: ["0.0.0.0/0"],
      allows: [
        { protocol: "tcp", ports: ["80", "443"] },
        { protocol: "udp", ports: ["10000"] },
      ],
    };
    expect(await check(P.firewallNoOpenAdmin, F, ok)).toEqual([]);
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["35.235.240.0/20"], allows: [{ protocol: "tcp", ports: ["22"] }] })).toEqual([]);
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["10.10.0.0/20"], allows: [{ protocol: "all" }] })).toEqual([]);
    // Tags alone are the source: no ranges means only those VMs.
    expect(await check(P.firewallNoOpenAdmin, F, { sourceTags: ["bastion"], allows: [{ protocol: "tcp", ports: ["22"] }] })).toEqual([]);
    const ssh = (shown: string) => `Firewall opens SSH (tcp 22) to the internet (${shown}): allow 22 only from IAP's range 35.235.240.0/20.`;
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["0.0.0.0/0"], allows: [{ protocol: "tcp", ports: ["22"] }] })).toEqual([ssh("0.0.0.0/0")]);
    // No sourceRanges (and no tags or accounts): GCP applies the rule to 0.0.0.0/0.
    expect(await check(P.firewallNoOpenAdmin, F, { direction: "INGRESS", allows: [{ protocol: "tcp", ports: ["22"] }] })).toEqual([ssh("0.0.0.0/0")]);
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["0.0.0.0/1", "128.0.0.0/1"], allows: [{ protocol: "tcp", ports: ["22"] }] })).toEqual([
      ssh("0.0.0.0/1, 128.0.0.0/1"),
    ]);
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["::/1", "8000::/1"], allows: [{ protocol: "tcp", ports: ["22"] }] })).toEqual([
      ssh("::/1, 8000::/1"),
    ]);
    // Any public slice, not only the whole space: 1.0.0.0/8 is someone else's network.
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["1.0.0.0/8"], allows: [{ protocol: "tcp", ports: ["22"] }] })).toEqual([ssh("1.0.0.0/8")]);
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["0.0.0.0/0"], allows: [{ protocol: "6", ports: ["22"] }] })).toEqual([ssh("0.0.0.0/0")]);
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["0.0.0.0/0"], allows: [{ protocol: "TCP", ports: ["1-1024"] }] })).toEqual([
      ssh("0.0.0.0/0"),
    ]);
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["10.0.0.0/8", "0.0.0.0/0"], allows: [{ protocol: "tcp", ports: ["3000-4000"] }] })).toEqual([
      "Firewall opens RDP (tcp 3389) to the internet (10.0.0.0/8, 0.0.0.0/0): allow 3389 only from IAP's range 35.235.240.0/20.",
    ]);
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["0.0.0.0/0"], allows: [{ protocol: "all" }] })).toEqual([
      "Firewall opens every protocol and port to the internet (0.0.0.0/0): list the ports the service needs, or narrow the sources.",
    ]);
    expect(await check(P.firewallNoOpenAdmin, F, { sourceRanges: ["::/0"], allows: [{ protocol: "17" }] })).toEqual([
      "Firewall opens all udp ports to the internet (::/0): list the ports the service needs, or narrow the sources.",
    ]);
    // Own bypass: the same opening through a network firewall policy rule (no VPC firewall at all).
    const N = "gcp:compute/networkFirewallPolicyRule:NetworkFirewallPolicyRule";
    const rule = (match: Record<string, unknown>) => ({
      direction: "INGRESS",
      action: "allow",
      priority: 1000,
      match: { layer4Configs: [{ ipProtocol: "tcp", ports: ["22"] }], ...match },
    });
    expect(await check(P.firewallNoOpenAdmin, N, rule({ srcIpRanges: ["35.235.240.0/20"] }))).toEqual([]);
    expect(await check(P.firewallNoOpenAdmin, N, rule({ srcIpRanges: ["0.0.0.0/0"] }))).toEqual([ssh("0.0.0.0/0")]);
    expect(await check(P.firewallNoOpenAdmin, N, rule({ srcRegionCodes: ["US"] }))).toEqual([ssh("0.0.0.0/0, ::/0")]);
    expect(await check(P.firewallNoOpenAdmin, N, { ...rule({ srcIpRanges: ["0.0.0.0/0"] }), action: "deny" })).toEqual([]);
  });

  it("compute-shielded-oslogin-identity: Shielded, OS Login, own account; own bypass: the default account's email in capitals", async () => {
    const good = {
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      metadata: { "enable-oslogin": "TRUE" },
      serviceAccount: { email: "co-vm@p.iam.gserviceaccount.com", scopes: ["cloud-platform"] },
      labels: LABELS,
    };
    for (const t of [
      "gcp:compute/instance:Instance",
      "gcp:compute/instanceTemplate:InstanceTemplate",
      "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
    ]) {
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
    expect(await check(P.computeHardened, "gcp:compute/instance:Instance", { ...good, serviceAccount: undefined })).toEqual([
      "VM runs as the default compute service account: set serviceAccount.email to a dedicated account with only the roles it needs (components/service-account.ts).",
    ]);
    expect(
      await check(P.computeHardened, "gcp:compute/instance:Instance", {
        ...good,
        serviceAccount: { email: "123456789012-COMPUTE@developer.gserviceaccount.com", scopes: [] },
      }),
    ).toEqual([
      "VM runs as the default compute service account: set serviceAccount.email to a dedicated account with only the roles it needs (components/service-account.ts).",
    ]);
  });

  const C = "gcp:container/cluster:Cluster";
  const goodCluster = {
    privateClusterConfig: { enablePrivateNodes: true },
    workloadIdentityConfig: { workloadPool: "p.svc.id.goog" },
    enableShieldedNodes: true,
    enableLegacyAbac: false,
    masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
    masterAuthorizedNetworksConfig: {
      cidrBlocks: [
        { cidrBlock: "203.0.113.0/24", displayName: "office" },
        { cidrBlock: "10.10.0.0/20", displayName: "nodes" },
      ],
      gcpPublicCidrsAccessEnabled: false,
    },
  };
  it("gke-private-workload-identity: private nodes, WI, no ABAC/basic auth; control plane: 0.0.0.0/0 and its halves; own bypass: every Google Cloud IP", async () => {
    expect(await check(P.gkeHardened, C, goodCluster)).toEqual([]);
    const bad = {
      privateClusterConfig: { enablePrivateNodes: false },
      enableShieldedNodes: false,
      enableLegacyAbac: true,
      masterAuth: { username: "admin", password: "x", clientCertificateConfig: { issueClientCertificate: true } },
    };
    expect(await check(P.gkeHardened, C, bad)).toEqual([
      "GKE nodes have public IPs: set privateClusterConfig.enablePrivateNodes to true.",
      'GKE has no Workload Identity: set workloadIdentityConfig.workloadPool to "<project>.svc.id.goog".',
      "GKE nodes are not shielded: remove enableShieldedNodes: false (set it to true).",
      "GKE allows legacy ABAC: set enableLegacyAbac to false (RBAC only).",
      "GKE has basic auth: remove masterAuth.username and masterAuth.password.",
      "GKE issues a client certificate: set masterAuth.clientCertificateConfig.issueClientCertificate to false.",
      "GKE control plane is reachable from the whole internet: set masterAuthorizedNetworksConfig (cidrBlocks of operators and CI, gcpPublicCidrsAccessEnabled: false).",
    ]);
    const open = (cidrs: string[]) => ({
      ...goodCluster,
      masterAuthorizedNetworksConfig: { cidrBlocks: cidrs.map((cidrBlock) => ({ cidrBlock, displayName: "x" })), gcpPublicCidrsAccessEnabled: false },
    });
    expect(await check(P.gkeHardened, C, open(["0.0.0.0/0"]))).toEqual([
      "GKE control plane is open to a broad part of the internet (masterAuthorizedNetworks 0.0.0.0/0): list the operators' and CI's ranges (at most a /16 of public space in all).",
    ]);
    expect(await check(P.gkeHardened, C, open(["0.0.0.0/1", "128.0.0.0/1"]))).toHaveLength(1);
    // A private endpoint has no public face to authorize.
    expect(await check(P.gkeHardened, C, { ...open(["0.0.0.0/0"]), privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: true } })).toEqual(
      [],
    );
    expect(
      await check(P.gkeHardened, C, {
        ...goodCluster,
        masterAuthorizedNetworksConfig: { ...goodCluster.masterAuthorizedNetworksConfig, gcpPublicCidrsAccessEnabled: true },
      }),
    ).toEqual([
      "GKE control plane accepts every Google Cloud public IP (any customer's VM): set masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled to false.",
    ]);
    const N = "gcp:container/nodePool:NodePool";
    expect(
      await check(P.gkeHardened, N, {
        nodeConfig: {
          serviceAccount: "co-gke@p.iam.gserviceaccount.com",
          workloadMetadataConfig: { mode: "GKE_METADATA" },
          shieldedInstanceConfig: { enableSecureBoot: true },
        },
      }),
    ).toEqual([]);
    expect(await check(P.gkeHardened, N, { nodeConfig: { workloadMetadataConfig: { mode: "GCE_METADATA" } } })).toEqual([
      "GKE node pool runs as the default compute service account: set nodeConfig.serviceAccount to a dedicated account.",
      'GKE node pool exposes the node\'s credentials to pods: set nodeConfig.workloadMetadataConfig.mode to "GKE_METADATA".',
      "GKE node pool has no secure boot: set nodeConfig.shieldedInstanceConfig.enableSecureBoot to true.",
    ]);
  });

  it("gke-private-workload-identity: masterAuthorizedNetworks 0.0.0.0/1 + 128.0.0.0/1 through stack config alone fails the stage-4 plan", async () => {
    const p = await plan("stage4", {
      sets: ['course-organizer:kubernetes.masterAuthorizedNetworks=[{"cidr":"0.0.0.0/1","name":"low"},{"cidr":"128.0.0.0/1","name":"high"}]'],
    });
    const found = (await violations(p)).filter((v) => v.startsWith("gke-private-workload-identity"));
    expect(found).toEqual([
      "gke-private-workload-identity: gcp:container/cluster:Cluster gke-us-central1-cluster: GKE control plane is open to a broad part of the internet (masterAuthorizedNetworks 0.0.0.0/1, 128.0.0.0/1): list the operators' and CI's ranges (at most a /16 of public space in all).",
      "gke-private-workload-identity: gcp:container/cluster:Cluster gke-europe-west1-cluster: GKE control plane is open to a broad part of the internet (masterAuthorizedNetworks 0.0.0.0/1, 128.0.0.0/1): list the operators' and CI's ranges (at most a /16 of public space in all).",
    ]);
  });

  it("https-modern-tls: an SSL policy on every proxy, MODERN or RESTRICTED, TLS 1.2+; own bypasses: an SSL proxy, a blank sslPolicy", async () => {
    expect(
      await check(P.httpsModernTls, "gcp:compute/targetHttpsProxy:TargetHttpsProxy", { urlMap: "m", sslPolicy: "projects/p/global/sslPolicies/co-tls" }),
    ).toEqual([]);
    expect(await check(P.httpsModernTls, "gcp:compute/targetHttpsProxy:TargetHttpsProxy", { urlMap: "m" })).toEqual([
      "HTTPS proxy uses Google's default SSL policy (TLS 1.0, COMPATIBLE): set sslPolicy to a MODERN or RESTRICTED policy with minTlsVersion TLS_1_2.",
    ]);
    expect(await check(P.httpsModernTls, "gcp:compute/regionTargetHttpsProxy:RegionTargetHttpsProxy", { urlMap: "m", sslPolicy: " " })).toHaveLength(1);
    expect(await check(P.httpsModernTls, "gcp:compute/targetSSLProxy:TargetSSLProxy", { backendService: "b" })).toEqual([
      "SSL proxy uses Google's default SSL policy (TLS 1.0, COMPATIBLE): set sslPolicy to a MODERN or RESTRICTED policy with minTlsVersion TLS_1_2.",
    ]);
    expect(await check(P.httpsModernTls, "gcp:compute/sSLPolicy:SSLPolicy", { profile: "MODERN", minTlsVersion: "TLS_1_2" })).toEqual([]);
    expect(await check(P.httpsModernTls, "gcp:compute/sSLPolicy:SSLPolicy", { profile: "COMPATIBLE", minTlsVersion: "TLS_1_0" })).toEqual([
      'SSL policy profile "COMPATIBLE" allows weak ciphers: set profile to "MODERN" or "RESTRICTED".',
      'SSL policy accepts "TLS_1_0": set minTlsVersion to "TLS_1_2".',
    ]);
  });

  it("http-redirects-to-https: global and regional HTTP proxies only redirect; own bypass: a redirect map that also serves a backend", async () => {
    const map = (name: string, inputs: Record<string, unknown>, type = "gcp:compute/uRLMap:URLMap") => res(type, name, inputs);
    const proxy = (name: string, urlMapUrn: string, type = "gcp:compute/targetHttpProxy:TargetHttpProxy") =>
      res(type, name, { urlMap: "[unknown]" }, { urlMap: [urlMapUrn] });
    const redirect = map("lb-redirect", { defaultUrlRedirect: { httpsRedirect: true, redirectResponseCode: "MOVED_PERMANENTLY_DEFAULT", stripQuery: false } });
    const site = map("lb-site", { defaultService: "projects/p/global/backendServices/co-web" });
    expect(await checkStack(P.httpRedirects, [redirect, proxy("lb-http", redirect.urn)])).toEqual([]);
    expect(await checkStack(P.httpRedirects, [site, proxy("lb-http", site.urn)])).toEqual([
      'HTTP proxy lb-http serves content over plain HTTP (URL map lb-site: defaultService): give it a URL map with only defaultUrlRedirect: { httpsRedirect: true, redirectResponseCode: "MOVED_PERMANENTLY_DEFAULT" }.',
    ]);
    expect(await checkStack(P.httpRedirects, [proxy("lb-http", "urn:elsewhere")])).toEqual([
      "HTTP proxy lb-http serves a URL map outside this stack: point urlMap at a URL map whose defaultUrlRedirect has httpsRedirect: true.",
    ]);
    // The review's bypass: a regional HTTP proxy with a regional URL map that serves content.
    const regionalSite = map(
      "regional-site",
      { defaultService: "projects/p/regions/r/backendServices/co-web", region: "r" },
      "gcp:compute/regionUrlMap:RegionUrlMap",
    );
    expect(
      await checkStack(P.httpRedirects, [regionalSite, proxy("regional-http", regionalSite.urn, "gcp:compute/regionTargetHttpProxy:RegionTargetHttpProxy")]),
    ).toEqual([
      'HTTP proxy regional-http serves content over plain HTTP (URL map regional-site: defaultService): give it a URL map with only defaultUrlRedirect: { httpsRedirect: true, redirectResponseCode: "MOVED_PERMANENTLY_DEFAULT" }.',
    ]);
    const mixed = map("lb-mixed", {
      defaultUrlRedirect: { httpsRedirect: true },
      pathMatchers: [{ name: "api", defaultService: "s" }],
      hostRules: [{ hosts: ["*"], pathMatcher: "api" }],
    });
    expect(await checkStack(P.httpRedirects, [mixed, proxy("lb-http", mixed.urn)])).toEqual([
      'HTTP proxy lb-http serves content over plain HTTP (URL map lb-mixed: pathMatchers, hostRules): give it a URL map with only defaultUrlRedirect: { httpsRedirect: true, redirectResponseCode: "MOVED_PERMANENTLY_DEFAULT" }.',
    ]);
  });

  it("public-backend-cloud-armor: global, regional and bucket backends; own bypass: a lowercase scheme with a blank policy", async () => {
    const S = "gcp:compute/backendService:BackendService";
    const R = "gcp:compute/regionBackendService:RegionBackendService";
    const BB = "gcp:compute/backendBucket:BackendBucket";
    expect(await check(P.cloudArmor, S, { loadBalancingScheme: "EXTERNAL_MANAGED", securityPolicy: "projects/p/global/securityPolicies/co-armor" })).toEqual(
      [],
    );
    expect(await check(P.cloudArmor, S, { loadBalancingScheme: "INTERNAL_MANAGED" })).toEqual([]);
    expect(await check(P.cloudArmor, R, { loadBalancingScheme: "INTERNAL_MANAGED", region: "r" })).toEqual([]);
    expect(await check(P.cloudArmor, BB, { bucketName: "b", edgeSecurityPolicy: "projects/p/global/securityPolicies/co-edge-armor" })).toEqual([]);
    expect(await check(P.cloudArmor, S, { loadBalancingScheme: "EXTERNAL_MANAGED" })).toEqual([
      "Public backend service (EXTERNAL_MANAGED) has no Cloud Armor policy: set securityPolicy to a compute.SecurityPolicy (rate limiting, WAF rules).",
    ]);
    expect(await check(P.cloudArmor, R, { loadBalancingScheme: "EXTERNAL_MANAGED", region: "r" })).toEqual([
      "Public regional backend service (EXTERNAL_MANAGED) has no Cloud Armor policy: set securityPolicy to a compute.SecurityPolicy (rate limiting, WAF rules).",
    ]);
    expect(await check(P.cloudArmor, BB, { bucketName: "b", enableCdn: true })).toEqual([
      "Backend bucket has no Cloud Armor edge policy: set edgeSecurityPolicy to a compute.SecurityPolicy of type CLOUD_ARMOR_EDGE.",
    ]);
    expect(await check(P.cloudArmor, S, { loadBalancingScheme: "external_managed", securityPolicy: "" })).toEqual([
      "Public backend service (EXTERNAL_MANAGED) has no Cloud Armor policy: set securityPolicy to a compute.SecurityPolicy (rate limiting, WAF rules).",
    ]);
  });

  it("no-secret-values: real credentials by format, entropy and credential-named literals (not this repository's mock values); own bypasses: project metadata, a ConfigMap, container args", async () => {
    const I = "gcp:compute/instance:Instance";
    expect(
      await check(P.noSecretValues, I, {
        metadata: {
          "enable-oslogin": "TRUE",
          "block-project-ssh-keys": "TRUE",
          "db-password-secret": "co-vm-db-password",
          "user-data":
            "#cloud-config\nruncmd: [fetch-secrets]\nenvironment:\n  POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?from app.env}\n  image: nginx:1.27.3-alpine@sha256:814a8e88df978ade80e584cc5b333144b9372a8e3c98872d07137dbf3b44d0e4\n",
        },
        labels: LABELS,
      }),
    ).toEqual([]);
    const msg = (what: string) => `Metadata "user-data" ${what}: store it in Secret Manager and read it at boot through the VM's service account.`;
    // Formats real credentials have, none of them this repository's mock values.
    expect(await check(P.noSecretValues, I, { metadata: { "user-data": "write_files: [{content: 'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE'}]" } })).toEqual([
      msg("holds an AWS access key id"),
    ]);
    expect(
      await check(P.noSecretValues, I, {
        metadata: { "user-data": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----" },
      }),
    ).toEqual([msg("holds a PEM private key")]);
    expect(
      await check(P.noSecretValues, I, { metadata: { "user-data": "git clone https://ghp_0123456789abcdefghijklmnopqrstuvwxyzAB@github.com/o/r" } }),
    ).toEqual([msg("holds a GitHub token")]);
    expect(await check(P.noSecretValues, I, { metadata: { "user-data": "DATABASE_URL=postgres://app:Zx81kQ2pLm@10.0.0.3:5432/app" } })).toEqual([
      msg("holds credentials in a URL"),
    ]);
    // A credential-named key with a literal value, whatever the value looks like.
    expect(await check(P.noSecretValues, I, { metadata: { "user-data": "environment:\n  POSTGRES_PASSWORD: correct-horse-battery\n" } })).toEqual([
      msg("sets POSTGRES_PASSWORD to a literal value"),
    ]);
    // High entropy with no telling name.
    expect(await check(P.noSecretValues, I, { metadata: { "user-data": "runcmd:\n  - echo q8Zt3VxN4kLp7RmW2sYh9bJc > /etc/app/seed\n" } })).toEqual([
      msg("holds a random-looking token (q8Zt…, 4.6 bits/char)"),
    ]);
    expect(await check(P.noSecretValues, "gcp:compute/instanceTemplate:InstanceTemplate", { metadata: { "db-password": "hunter2" } })).toEqual([
      'Metadata "db-password" holds a credential: put a Secret Manager secret id in it (or nothing) and read the value at boot.',
    ]);
    // Own bypass 1: project metadata, which every VM of the project reads.
    expect(
      await check(P.noSecretValues, "gcp:compute/projectMetadataItem:ProjectMetadataItem", { key: "deploy-token", value: "glpat-Zx81kQ2pLm0aBc7dEf9G" }),
    ).toEqual([
      'Metadata "deploy-token" holds a random-looking token (Zx81…, 4.3 bits/char): store it in Secret Manager and read it at boot through the VM\'s service account.',
    ]);
    const D = "kubernetes:apps/v1:Deployment";
    const deployment = (env: unknown[], args: string[] = []) => ({
      metadata: { name: "api" },
      spec: {
        template: {
          spec: {
            initContainers: [{ name: "settings", env: [{ name: "SETTINGS_SECRET", value: "co-app-settings" }] }],
            containers: [{ name: "api", env, args }],
          },
        },
      },
    });
    expect(
      await check(
        P.noSecretValues,
        D,
        deployment(
          [
            { name: "SETTINGS_FILE", value: "/var/run/settings/settings.json" },
            { name: "DJANGO_SECRET_KEY", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
          ],
          ["--bind", "0.0.0.0:8080"],
        ),
      ),
    ).toEqual([]);
    expect(
      await check(
        P.noSecretValues,
        D,
        deployment([
          { name: "DJANGO_SECRET_KEY", value: "s3cr3t value" },
          { name: "REDIS_URL", value: "rediss://default:Zx81kQ2pLm0aBc7d@10.0.0.3:6378" },
        ]),
      ),
    ).toEqual([
      "Container api env DJANGO_SECRET_KEY holds a literal credential: use valueFrom.secretKeyRef, or pass a Secret Manager secret id and fetch the value at start.",
      "Container api env REDIS_URL holds credentials in a URL: use valueFrom.secretKeyRef or fetch it from Secret Manager.",
    ]);
    // Own bypass 2: the credential on the command line.
    expect(await check(P.noSecretValues, D, deployment([], ["--redis-password=Zx81kQ2pLm0aBc7d"]))).toEqual([
      "Container api command/args sets --redis-password to a literal value: pass it through a mounted Secret or valueFrom.secretKeyRef.",
    ]);
    // Own bypass 3: a ConfigMap instead of a Secret.
    expect(
      await check(P.noSecretValues, "kubernetes:core/v1:ConfigMap", {
        metadata: { name: "app" },
        data: { DB_PASSWORD: "correct-horse-battery", "nginx.conf": "worker_processes 1;" },
      }),
    ).toEqual(["ConfigMap app key DB_PASSWORD holds a credential: move it to a Secret (or Secret Manager)."]);
    expect(
      await check(P.noSecretValues, "kubernetes:batch/v1:CronJob", {
        spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: "job", env: [{ name: "API_TOKEN", value: "abc" }] }] } } } } },
      }),
    ).toHaveLength(1);
    expect(await check(P.noSecretValues, "gcp:storage/bucket:Bucket", { labels: { ...LABELS, "api-token": "abc", note: "q8Zt3VxN4kLp7RmW2sYh9bJc" } })).toEqual(
      [
        "Label api-token looks like a credential: labels are not secret; remove it.",
        "Label note holds a random-looking token (q8Zt…, 4.6 bits/char): labels are visible to every viewer and in billing exports; remove it.",
      ],
    );
  });

  it("required-labels: every labelable GCP resource, wherever the type keeps them; own bypass: a blank value", async () => {
    expect(await check(P.requiredLabels, "gcp:storage/bucket:Bucket", { labels: LABELS })).toEqual([]);
    expect(await check(P.requiredLabels, "gcp:compute/firewall:Firewall", {})).toEqual([]);
    expect(await check(P.requiredLabels, "gcp:storage/bucket:Bucket", { labels: { app: "course-organizer", stage: "" } })).toEqual([
      'Missing labels component, stage, managed-by on labels: pass the component\'s labels (ctx.scope("<component>") in src/stack/*.ts) to this resource.',
    ]);
    expect(await check(P.requiredLabels, SQL, { settings: { tier: "db-f1-micro" } })).toEqual([
      'Missing labels app, component, stage, managed-by on settings.userLabels: pass the component\'s labels (ctx.scope("<component>") in src/stack/*.ts) to this resource.',
    ]);
    expect(await check(P.requiredLabels, "gcp:monitoring/alertPolicy:AlertPolicy", { userLabels: LABELS })).toEqual([]);
    expect(await check(P.requiredLabels, "gcp:container/cluster:Cluster", { resourceLabels: { app: "x" } })).toHaveLength(1);
    expect(await check(P.requiredLabels, "gcp:storage/bucket:Bucket", { labels: { ...LABELS, stage: " " } })).toEqual([
      'Missing labels stage on labels: pass the component\'s labels (ctx.scope("<component>") in src/stack/*.ts) to this resource.',
    ]);
  });

  it("stateful-protected: the program's types and the review's missing ones (regional disks, Filestore, KMS keys, subscriptions); own bypass: AlloyDB", async () => {
    const msg = "Stateful resource is not protected: create it with statefulOptions(this) (src/options.ts: protect + retainOnDelete).";
    expect(await check(P.statefulProtected, "gcp:compute/disk:Disk", {}, { protect: true })).toEqual([]);
    expect(await check(P.statefulProtected, "gcp:compute/firewall:Firewall", {}, { protect: false })).toEqual([]);
    for (const t of [
      "gcp:compute/disk:Disk",
      "gcp:compute/regionDisk:RegionDisk",
      "gcp:filestore/instance:Instance",
      "gcp:kms/cryptoKey:CryptoKey",
      "gcp:kms/keyRing:KeyRing",
      "gcp:pubsub/subscription:Subscription",
      "gcp:alloydb/cluster:Cluster",
    ]) {
      expect(await check(P.statefulProtected, t, {}, { protect: false }), t).toEqual([msg]);
      expect(await check(P.statefulProtected, t, {}, { protect: true }), t).toEqual([]);
    }
    expect(await check(P.statefulProtected, SQL, { masterInstanceName: "co-db" }, { protect: false })).toEqual([]);
    expect(await check(P.statefulProtected, SQL, { masterInstanceName: "" }, { protect: false })).toEqual([msg]);
    expect(await check(P.statefulProtected, SQL, {}, { protect: false })).toHaveLength(1);
  });
});

describe("images-pinned-by-digest: the real path refuses a tag, the deploy job's digests satisfy it", () => {
  const REAL = { offlinePlan: false };
  const D = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const run = async (type: string, inputs: Record<string, unknown>, config: Record<string, unknown> = REAL) => {
    const out: string[] = [];
    await (imagesPinned.validateResource as (a: unknown, r: (m: string) => void) => Promise<void>)(resourceArgs({ type, name: "x", inputs }, config), (m) =>
      out.push(m),
    );
    return out;
  };

  it("pods: every container, init container included", async () => {
    const pod = (image: string) => ({
      spec: {
        template: {
          spec: {
            initContainers: [{ name: "init", image: `gcr.io/google.com/cloudsdktool/google-cloud-cli:stable@sha256:${D}` }],
            containers: [{ name: "app", image }],
          },
        },
      },
    });
    expect(await run("kubernetes:apps/v1:Deployment", pod(`nginx:1.27.3-alpine@sha256:${D}`))).toEqual([]);
    expect(await run("kubernetes:apps/v1:Deployment", pod("nginx:1.27.3-alpine"))).toEqual([
      "Images without a digest: nginx:1.27.3-alpine. Run scripts/resolve-images.ts before preview/up (deploy.yml does), or name them <image>:<tag>@sha256:<digest>.",
    ]);
    // Offline plans (policy/harness.ts) carry tags.
    expect(await run("kubernetes:apps/v1:Deployment", pod("nginx:1.27.3-alpine"), { offlinePlan: true })).toEqual([]);
  });

  it("VMs: compose image keys, IMAGE= and quoted references in scripts", () => {
    expect(imagesInText('services:\n  web:\n    image: nginx:1.27.3-alpine\n  db:\n    image: "postgres:15.10-alpine"\n')).toEqual([
      "nginx:1.27.3-alpine",
      "postgres:15.10-alpine",
    ]);
    expect(
      imagesInText("IMAGE='r-docker.pkg.dev/p/co-images/backend:1.0.0'\nexec docker run --rm 'edoburu/pgbouncer:v1.24.1-p1' /usr/bin/pgbouncer\nIMAGE=$1"),
    ).toEqual(["r-docker.pkg.dev/p/co-images/backend:1.0.0", "edoburu/pgbouncer:v1.24.1-p1"]);
  });

  it.each(["stage1", "stage3", "stage4"])(
    "%s: a real preview without resolved digests fails closed; every image it finds is one the resolver resolves",
    async (stack) => {
      const p = await plan(stack);
      const found = new Set<string>();
      const failures: string[] = [];
      for (const r of p.resources.filter((x) => x.custom)) {
        const out = await run(r.type, r.inputs);
        failures.push(...out);
        if (r.type.startsWith("kubernetes:")) imagesInObject(r.inputs).forEach((i) => found.add(i));
        const md = (r.inputs as Record<string, any>).metadata;
        if (r.type.startsWith("gcp:compute/") && md && typeof md === "object")
          for (const v of Object.values(md)) if (typeof v === "string") imagesInText(v).forEach((i) => found.add(i));
      }
      expect(failures.length).toBeGreaterThan(0);
      // The resolver resolves the config's references; the program pulls Docker Hub ones through the project's
      // mirror (src/images.ts), which serves the same manifests, so a digest resolved upstream pins the mirrored pull.
      const resolved = stackImages(join(__dirname, ".."), stack).map((ref) => throughMirror(ref, String(p.outputs.imageMirror)));
      expect([...found].filter((i) => !resolved.includes(i))).toEqual([]);
      // With the resolver's digests in place, the same text passes.
      for (const r of p.resources.filter((x) => x.custom && x.type.startsWith("gcp:compute/"))) {
        const md = (r.inputs as Record<string, any>).metadata;
        if (!md || typeof md !== "object") continue;
        const pinned = Object.fromEntries(
          Object.entries(md).map(([k, v]) => [k, typeof v === "string" ? resolved.reduce((t, ref) => t.split(ref).join(`${ref}@sha256:${D}`), v) : v]),
        );
        expect(await run(r.type, { ...r.inputs, metadata: pinned }), r.name).toEqual([]);
      }
    },
  );

  it("the program pins what the digest file names and refuses a malformed file", () => {
    const dir = mkdtempSync(join(tmpdir(), "digests-"));
    expect(readImageDigests(dir)).toEqual({});
    writeFileSync(join(dir, "image-digests.json"), JSON.stringify({ "nginx:1.27.3-alpine": `sha256:${D}` }));
    const digests = readImageDigests(dir);
    expect(pinnedImage("nginx:1.27.3-alpine", digests)).toBe(`nginx:1.27.3-alpine@sha256:${D}`);
    expect(pinnedImage("redis:7.2.7-alpine", digests)).toBe("redis:7.2.7-alpine");
    expect(pinnedImage(`redis:7.2.7-alpine@sha256:${D}`, digests)).toBe(`redis:7.2.7-alpine@sha256:${D}`);
    writeFileSync(join(dir, "image-digests.json"), JSON.stringify({ "nginx:1.27.3-alpine": "latest" }));
    expect(() => readImageDigests(dir)).toThrow(/nginx:1.27.3-alpine: "latest" is not sha256:<64 hex>/);
  });
});

describe("no-secret-values: a credential's name is not the credential", () => {
  it("passes an env holding a key's name or id, and still refuses a key's literal value", () => {
    expect(P.isReference("co-media-key", "CDN_SIGNING_KEY_NAME")).toBe(true);
    expect(P.isReference("co-jitsi-jwt-secret", "JWT_SECRET_ID")).toBe(true);
    expect(P.isReference("co-media-key", "CDN_SIGNING_KEY")).toBe(false);
    expect(P.isReference("s3cr3t-Value-9f8e7d", "API_KEY_NAME")).toBe(false);
  });
});
