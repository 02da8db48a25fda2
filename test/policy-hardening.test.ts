/**
 * The hardening rules of the policy pack (policy/hardening.ts), each with a passing and a failing case; the
 * stage plans themselves pass every rule in test/policy.test.ts (the rules are in the exported list).
 */
import { describe, expect, it } from "vitest";
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs } from "@pulumi/policy";
import * as H from "../policy/hardening";
import { policies } from "../policy/policies";
import { databaseFlags } from "../components/database";
import { MEDIA_BUCKET_HEADERS, WAF_RULES, wafExpression } from "../components/load-balancer";
import { namespaceManifest, networkPolicyManifests, podPgbouncerIni, restrictedContainer } from "../src/files/k8s-manifests";

async function check(pol: ResourceValidationPolicy, type: string, props: Record<string, unknown>): Promise<string[]> {
  const out: string[] = [];
  const args = { type, props, urn: `urn:pulumi:test::p::${type}::r`, name: "r", opts: {} } as unknown as ResourceValidationArgs;
  const fns = Array.isArray(pol.validateResource) ? pol.validateResource : [pol.validateResource!];
  for (const fn of fns) await fn(args, (m) => out.push(m));
  return out;
}

describe("the hardening rules are in the pack", () => {
  it("appended to the exported list", () => {
    expect(H.hardeningPolicies.map((p) => p.name)).toEqual([
      "cloudsql-audit-flags",
      "armor-waf-adaptive",
      "cdn-bucket-edge-policy-uploads",
      "static-bucket-release-writer-only",
      "k8s-restricted-containers",
      "database-tls-verify-ca",
      "k8s-namespaces-default-deny",
    ]);
    for (const p of H.hardeningPolicies) expect(policies).toContain(p);
  });
});

describe("cloudsql-audit-flags", () => {
  const SQL = "gcp:sql/databaseInstance:DatabaseInstance";
  it("passes the flags components/database.ts sets", async () => {
    expect(await check(H.cloudSqlAuditFlags, SQL, { databaseVersion: "POSTGRES_15", settings: { databaseFlags: databaseFlags(500) } })).toEqual([]);
  });
  it("fails without log_connections, with statement durations logged, and without pgaudit.log", async () => {
    const flags = databaseFlags(500, { log_min_duration_statement: "1000" }).filter((f) => f.name !== "log_connections" && f.name !== "pgaudit.log");
    expect(await check(H.cloudSqlAuditFlags, SQL, { databaseVersion: "POSTGRES_15", settings: { databaseFlags: flags } })).toEqual([
      'settings.databaseFlags: log_connections must be "on" (found null): components/database.ts databaseFlags.',
      'settings.databaseFlags: log_min_duration_statement must be "-1" (found "1000"): components/database.ts databaseFlags.',
      'settings.databaseFlags: pgaudit.log must name the audited classes (e.g. "ddl,role").',
    ]);
  });
});

describe("armor-waf-adaptive", () => {
  const SP = "gcp:compute/securityPolicy:SecurityPolicy";
  const rules = WAF_RULES.map((r) => ({ match: { expr: { expression: wafExpression(r.name) } } }));
  it("passes a policy with every WAF rule and Adaptive Protection; ignores edge policies", async () => {
    expect(await check(H.armorWafRules, SP, { type: "CLOUD_ARMOR", rules, adaptiveProtectionConfig: { layer7DdosDefenseConfig: { enable: true } } })).toEqual(
      [],
    );
    expect(await check(H.armorWafRules, SP, { type: "CLOUD_ARMOR_EDGE", rules: [] })).toEqual([]);
  });
  it("fails a rate limit alone", async () => {
    expect(await check(H.armorWafRules, SP, { type: "CLOUD_ARMOR", rules: rules.slice(1) })).toEqual([
      "rules: no rule evaluates evaluatePreconfiguredWaf('sqli-v33-stable', {'sensitivity': 1}) (components/load-balancer.ts WAF_RULES).",
      "adaptiveProtectionConfig.layer7DdosDefenseConfig.enable must be true (Adaptive Protection).",
    ]);
  });
});

describe("cdn-bucket-edge-policy-uploads", () => {
  const BB = "gcp:compute/backendBucket:BackendBucket";
  it("passes the media bucket as components/load-balancer.ts builds it", async () => {
    expect(await check(H.cdnBucketsHardened, BB, { name: "co-media-cdn", edgeSecurityPolicy: "p", customResponseHeaders: MEDIA_BUCKET_HEADERS })).toEqual([]);
  });
  it("fails a media bucket without an edge policy or the upload headers", async () => {
    expect(await check(H.cdnBucketsHardened, BB, { name: "co-media-cdn", customResponseHeaders: ["X-Content-Type-Options: nosniff"] })).toEqual([
      "edgeSecurityPolicy: set it to a CLOUD_ARMOR_EDGE security policy (backend buckets take only edge policies).",
      `customResponseHeaders: the media bucket must send "Content-Security-Policy: sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'" (uploads would run as stored XSS on the site's host).`,
      'customResponseHeaders: the media bucket must send "Content-Disposition: attachment" (uploads would run as stored XSS on the site\'s host).',
    ]);
  });
});

describe("static-bucket-release-writer-only", () => {
  const M = "gcp:storage/bucketIAMMember:BucketIAMMember";
  const bucket = "course-organizer-demo-co-static";
  it("passes the publisher's write grant, public read, and writes on other buckets", async () => {
    expect(
      await check(H.staticBucketWriter, M, {
        bucket,
        role: "roles/storage.objectAdmin",
        member: "serviceAccount:co-static-publisher@course-organizer-demo.iam.gserviceaccount.com",
      }),
    ).toEqual([]);
    expect(await check(H.staticBucketWriter, M, { bucket, role: "roles/storage.objectViewer", member: "allUsers" })).toEqual([]);
    expect(
      await check(H.staticBucketWriter, M, {
        bucket: "course-organizer-demo-co-media",
        role: "roles/storage.objectAdmin",
        member: "serviceAccount:co-vm@x.iam.gserviceaccount.com",
      }),
    ).toEqual([]);
  });
  it("fails a runtime identity writing the static bucket", async () => {
    expect(
      await check(H.staticBucketWriter, M, {
        bucket,
        role: "roles/storage.objectAdmin",
        member: "serviceAccount:co-http-pool@course-organizer-demo.iam.gserviceaccount.com",
      }),
    ).toEqual([
      "roles/storage.objectAdmin on the static bucket for serviceAccount:co-http-pool@course-organizer-demo.iam.gserviceaccount.com: only the static publisher (components/media.ts staticPublisher) writes it; runtime identities read.",
    ]);
  });
});

describe("k8s-restricted-containers", () => {
  const D = "kubernetes:apps/v1:Deployment";
  it("passes containers with restrictedContainer()", async () => {
    const spec = {
      template: {
        spec: {
          initContainers: [{ name: "init", securityContext: restrictedContainer(10001) }],
          containers: [{ name: "app", securityContext: restrictedContainer(10001) }],
        },
      },
    };
    expect(await check(H.k8sRestrictedContainers, D, { spec })).toEqual([]);
  });
  it("fails a container without a security context", async () => {
    const spec = { template: { spec: { containers: [{ name: "app", securityContext: restrictedContainer(10001) }, { name: "sidecar" }] } } };
    expect(await check(H.k8sRestrictedContainers, D, { spec })).toEqual([
      'container sidecar: securityContext needs runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities.drop: ["ALL"], seccompProfile.type: "RuntimeDefault", readOnlyRootFilesystem: true (src/files/k8s-manifests.ts restrictedContainer).',
    ]);
  });
});

describe("database-tls-verify-ca", () => {
  const CM = "kubernetes:core/v1:ConfigMap";
  const TPL = "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate";
  const ini = podPgbouncerIni({ dbHost: "10.100.0.5", databases: ["course_organizer"], poolSize: 2 });
  const userData = (text: string) => ({
    metadata: { "user-data": `#cloud-config\nwrite_files:\n  - path: /opt/course-organizer/pgbouncer/pgbouncer.ini\n${text}` },
  });

  it("passes the pods' ini, the instances' cloud-init, and what is not a database client", async () => {
    expect(await check(H.databaseTlsVerifyCa, CM, { data: { "pgbouncer.ini": ini, "server-ca.pem": "x" } })).toEqual([]);
    expect(
      await check(
        H.databaseTlsVerifyCa,
        TPL,
        userData(`${ini}\nDATABASE_URL=postgres://u:p@h:5432/d?sslmode=verify-ca&sslrootcert=/run/course-organizer/database-ca.pem`),
      ),
    ).toEqual([]);
    expect(await check(H.databaseTlsVerifyCa, CM, { data: { "config.yaml": "sslmode=disable" } })).toEqual([]);
    expect(await check(H.databaseTlsVerifyCa, TPL, { metadata: { "user-data": "#cloud-config\n" } })).toEqual([]);
    // In a preview the ini is unknown (it names the primary's IP): judged at the update, when it is text.
    expect(await check(H.databaseTlsVerifyCa, CM, { data: { "pgbouncer.ini": "04da6b54-80e4-46f7-96ec-b56ff0331ba9" } })).toEqual([]);
  });

  it("fails PgBouncer with require, a missing CA file, and a direct URL with sslmode=require", async () => {
    const weak = ini.replace("server_tls_sslmode = verify-ca", "server_tls_sslmode = require").replace(/^server_tls_ca_file = .*\n/m, "");
    expect(await check(H.databaseTlsVerifyCa, CM, { data: { "pgbouncer.ini": weak } })).toEqual([
      'pgbouncer.ini: server_tls_sslmode is "require"; it must be verify-ca (src/files/pgbouncer.ts, with server_tls_ca_file).',
      "pgbouncer.ini: server_tls_ca_file must name the instances' CA bundle.",
    ]);
    expect(await check(H.databaseTlsVerifyCa, TPL, userData(`${ini}\nDATABASE_URL=postgres://u:p@h:5432/d?sslmode=require`))).toEqual([
      "a direct database URL uses sslmode=require: direct connections to Cloud SQL need sslmode=verify-ca&sslrootcert=... (src/contract.ts verifiedTlsQuery).",
    ]);
  });
});

describe("k8s-namespaces-default-deny", () => {
  const asResource = (m: { kind: string; apiVersion: string; metadata: { name: string } }, i: number) =>
    ({
      type: `kubernetes:${m.apiVersion === "v1" ? "core/v1" : m.apiVersion}:${m.kind}`,
      props: m,
      urn: `urn:pulumi:test::p::${m.kind}::r${i}`,
      name: `r${i}`,
    }) as unknown as PolicyResource;
  async function stack(manifests: any[]): Promise<string[]> {
    const out: string[] = [];
    await H.k8sNamespacesDefaultDeny.validateStack({ resources: manifests.map(asResource) } as unknown as StackValidationArgs, (m) => out.push(m));
    return out;
  }
  const ns = namespaceManifest({ app: "course-organizer" }) as any;
  const nps = networkPolicyManifests({ labels: {}, egress: { privateServicesRange: "10.100.0.0/16", regionSubnet: "10.10.0.0/20" } }) as any[];

  it("passes the rendered namespaces and NetworkPolicies, in one cluster or two", async () => {
    expect(ns.metadata.name).toBe("course-organizer");
    expect(await stack([ns, ...nps])).toEqual([]);
    expect(await stack([ns, ...nps, ns, ...nps])).toEqual([]);
  });

  it("fails a namespace without its default deny (or a second cluster without one), or without the restricted label", async () => {
    const withoutDeny = nps.filter((n) => !(n.metadata.namespace === "course-organizer" && n.metadata.name === "default-deny"));
    const why =
      "namespace course-organizer: no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no rules) in it (src/files/k8s-manifests.ts networkPolicyManifests).";
    expect(await stack([ns, ...withoutDeny])).toEqual([why]);
    expect(await stack([ns, ...nps, ns, ...withoutDeny])).toEqual([why, why]);
    const open = { ...ns, metadata: { ...ns.metadata, labels: { ...ns.metadata.labels, "pod-security.kubernetes.io/enforce": "baseline" } } };
    expect(await stack([open, ...nps])).toEqual([
      'namespace course-organizer: metadata.labels["pod-security.kubernetes.io/enforce"] must be "restricted" (src/files/k8s-manifests.ts).',
    ]);
  });
});
