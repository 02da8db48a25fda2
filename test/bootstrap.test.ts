/**
 * The bootstrap project (bootstrap/) under the same mock engine as the main program: its own Pulumi.yaml and
 * example stack file, planned through planStack's `program` option.
 */
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { planStack, type Plan } from "../src/plan/engine";
import { get, ofType, plan } from "./helpers/plan";
import { bootstrap, repositoryProblem, DEPLOYER_BILLING_ROLE, DEPLOYER_ROLES, GITHUB_ISSUER, KEY_ROTATION, PREVIEWER_ROLES, PROJECT_APIS } from "../bootstrap/program";
import * as P from "../policy/policies";
import type { ResourceValidationPolicy } from "@pulumi/policy";

const dir = join(__dirname, "../bootstrap");
const cache = new Map<string, Promise<Plan>>();
function planBootstrap(opts: { preview?: boolean; sets?: string[] } = {}): Promise<Plan> {
  const key = JSON.stringify(opts);
  if (!cache.has(key)) cache.set(key, planStack({ stack: "example", projectDir: dir, program: { project: "course-organizer-bootstrap", main: bootstrap }, ...opts }));
  return cache.get(key)!;
}

describe("bootstrap", () => {
  it("grants the deployer roles/billing.costsManager on the billing account that carries the budget, only when set", async () => {
    const p = await planBootstrap({ sets: ["course-organizer-bootstrap:billingAccount=012345-6789AB-CDEF01"] });
    const grant = get(p, "gcp:billing/accountIamMember:AccountIamMember", "deployer-billing-costs-manager");
    const deployer = get(p, "gcp:serviceaccount/account:Account", "deployer");
    expect(DEPLOYER_BILLING_ROLE).toBe("roles/billing.costsManager");
    expect(grant.inputs).toEqual({ billingAccountId: "012345-6789AB-CDEF01", role: "roles/billing.costsManager", member: expect.stringMatching(/^serviceAccount:co-deployer@/) });
    expect(grant.dependencies).toContain(deployer.urn);
    expect(ofType(await planBootstrap(), "gcp:billing/accountIamMember:AccountIamMember")).toEqual([]);
  });

  it("state bucket: versioned, uniform access, public access prevention, noncurrent versions expire, protected", async () => {
    const p = await planBootstrap();
    const b = get(p, "gcp:storage/bucket:Bucket", "state");
    expect(b.inputs).toMatchObject({
      name: "course-organizer-demo-pulumi-state",
      location: "us-central1",
      versioning: { enabled: true },
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      forceDestroy: false,
      lifecycleRules: [
        { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: 90, withState: "ARCHIVED" } },
        { action: { type: "Delete" }, condition: { numNewerVersions: 50, withState: "ARCHIVED" } },
      ],
    });
    expect([b.protect, b.retainOnDelete]).toEqual([true, true]);
    expect(p.outputs.backendUrl).toBe("gs://course-organizer-demo-pulumi-state");
  });

  it("KMS key ring and key: 90-day rotation, protected, exported as the gcpkms:// secrets provider", async () => {
    const p = await planBootstrap();
    const ring = get(p, "gcp:kms/keyRing:KeyRing", "secrets");
    const key = get(p, "gcp:kms/cryptoKey:CryptoKey", "secrets");
    expect(ring.inputs).toEqual({ name: "co-pulumi", location: "us-central1", project: "course-organizer-demo" });
    expect(KEY_ROTATION).toBe("7776000s");
    expect(key.inputs).toMatchObject({ name: "stack-secrets", purpose: "ENCRYPT_DECRYPT", rotationPeriod: "7776000s", keyRing: "projects/course-organizer-demo/locations/us-central1/keyRings/co-pulumi" });
    expect([ring.protect, key.protect]).toEqual([true, true]);
    expect(p.outputs.secretsProvider).toBe("gcpkms://projects/course-organizer-demo/locations/us-central1/keyRings/co-pulumi/cryptoKeys/stack-secrets");
  });

  it("Workload Identity Federation: GitHub's issuer, attribute mapping, a condition admitting only this repository", async () => {
    const p = await planBootstrap();
    const pool = get(p, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool", "github");
    const prov = get(p, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", "github");
    expect(pool.inputs.workloadIdentityPoolId).toBe("co-github");
    expect(prov.inputs.oidc).toEqual({ issuerUri: GITHUB_ISSUER });
    expect(prov.inputs.attributeCondition).toBe('assertion.repository == "owner/course-organizer-infra"');
    expect(prov.inputs.attributeMapping).toMatchObject({ "google.subject": "assertion.sub", "attribute.repository": "assertion.repository" });
    expect([pool.protect, prov.protect]).toEqual([true, true]);
    expect(p.outputs.workloadIdentityProvider).toBe("projects/123456789012/locations/global/workloadIdentityPools/co-github/providers/github-actions");
    // Another repository is a config change, and the condition follows it.
    const other = await planBootstrap({ sets: ["course-organizer-bootstrap:githubRepository=acme/infra"] });
    expect(get(other, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", "github").inputs.attributeCondition).toBe('assertion.repository == "acme/infra"');
  });

  it("deployer: least-privilege project roles (no owner/editor), impersonable only from a deploy environment, key and state access", async () => {
    const p = await planBootstrap();
    const sa = "serviceAccount:co-deployer@course-organizer-demo.iam.gserviceaccount.com";
    const projectRoles = ofType(p, "gcp:projects/iAMMember:IAMMember").filter((r) => r.name.startsWith("deployer-")).map((r) => r.inputs);
    expect(projectRoles.map((r) => r.role)).toEqual([...DEPLOYER_ROLES]);
    for (const r of projectRoles) expect(r).toEqual({ project: "course-organizer-demo", role: r.role, member: sa });
    // Stage 4 creates a networkconnectivity ServiceConnectionPolicy (Redis Cluster): GCP's documented role for it.
    expect(projectRoles.map((r) => r.role)).toContain("roles/compute.networkAdmin");
    expect(get(p, "gcp:projects/iAMMember:IAMMember", "deployer-compute-networkadmin").inputs).toEqual({ project: "course-organizer-demo", role: "roles/compute.networkAdmin", member: sa });
    expect(projectRoles.map((r) => r.role)).not.toContain("roles/owner");
    expect(projectRoles.map((r) => r.role)).not.toContain("roles/editor");
    // Only jobs in the production environment (behind its reviewers); the provider admits this repository only.
    expect(ofType(p, "gcp:serviceaccount/iAMMember:IAMMember").filter((r) => r.name.startsWith("deployer-github")).map((r) => r.inputs)).toEqual([
      {
        serviceAccountId: "projects/course-organizer-demo/serviceAccounts/co-deployer@course-organizer-demo.iam.gserviceaccount.com",
        role: "roles/iam.workloadIdentityUser",
        member: "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/co-github/attribute.environment/production",
      },
    ]);
    const envs = await planBootstrap({ sets: ['course-organizer-bootstrap:deployEnvironments=["production","staging"]'] });
    expect(ofType(envs, "gcp:serviceaccount/iAMMember:IAMMember").filter((r) => r.name.startsWith("deployer-github")).map((r) => String(r.inputs.member).split("/").pop())).toEqual(["production", "staging"]);
    expect(get(p, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "deployer-secrets").inputs).toEqual({
      cryptoKeyId: "projects/course-organizer-demo/locations/us-central1/keyRings/co-pulumi/cryptoKeys/stack-secrets",
      role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
      member: sa,
    });
    expect(get(p, "gcp:storage/bucketIAMMember:BucketIAMMember", "deployer-state").inputs).toEqual({ bucket: "course-organizer-demo-pulumi-state", role: "roles/storage.objectAdmin", member: sa });
    expect(p.outputs.deployerServiceAccount).toBe("co-deployer@course-organizer-demo.iam.gserviceaccount.com");
  });

  it("previewer: read-only project roles, impersonable from any workflow of the repository (pull requests)", async () => {
    const p = await planBootstrap();
    const sa = "serviceAccount:co-previewer@course-organizer-demo.iam.gserviceaccount.com";
    const roles = ofType(p, "gcp:projects/iAMMember:IAMMember").filter((r) => r.name.startsWith("previewer-")).map((r) => r.inputs);
    expect(roles).toEqual(PREVIEWER_ROLES.map((role) => ({ project: "course-organizer-demo", role, member: sa })));
    for (const role of PREVIEWER_ROLES) expect(role).not.toMatch(/admin|owner|editor|Admin/);
    expect(get(p, "gcp:serviceaccount/iAMMember:IAMMember", "previewer-github").inputs).toEqual({
      serviceAccountId: "projects/course-organizer-demo/serviceAccounts/co-previewer@course-organizer-demo.iam.gserviceaccount.com",
      role: "roles/iam.workloadIdentityUser",
      member: "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/co-github/attribute.repository/owner/course-organizer-infra",
    });
    expect(get(p, "gcp:storage/bucketIAMMember:BucketIAMMember", "previewer-state").inputs).toEqual({ bucket: "course-organizer-demo-pulumi-state", role: "roles/storage.objectAdmin", member: sa });
    expect(p.outputs.previewerServiceAccount).toBe("co-previewer@course-organizer-demo.iam.gserviceaccount.com");
  });

  it("plans in preview mode too (computed names unknown) and passes the policy pack", async () => {
    const p = await planBootstrap({ preview: true });
    expect(get(p, "gcp:storage/bucket:Bucket", "state").inputs.versioning).toEqual({ enabled: true });
    const out: string[] = [];
    for (const r of (await planBootstrap()).resources) {
      for (const pol of P.policies.filter((x): x is ResourceValidationPolicy => "validateResource" in x)) {
        const fn = pol.validateResource as (a: unknown, report: (m: string) => void) => void;
        fn({ type: r.type, name: r.name, urn: r.urn, props: r.inputs, opts: { protect: r.protect } }, (m) => out.push(`${pol.name} ${r.name}: ${m}`));
      }
    }
    expect(out).toEqual([]);
  });

  it("refuses a repository that is not owner/name (the condition would admit nothing, or the wrong thing)", () => {
    expect(repositoryProblem("owner/course-organizer-infra")).toBeUndefined();
    expect(repositoryProblem("not a repo")).toBe('course-organizer-bootstrap:githubRepository: "not a repo" is not owner/name');
    expect(repositoryProblem('a/b" || true || "')).toMatch(/is not owner\/name/);
  });
});

describe("bootstrap enables the APIs", () => {
  /** The API behind each @pulumi/gcp module the main program uses. */
  const apiOf: Record<string, string> = {
    compute: "compute", sql: "sqladmin", redis: "redis", memcache: "memcache", container: "container", secretmanager: "secretmanager",
    artifactregistry: "artifactregistry", servicenetworking: "servicenetworking", certificatemanager: "certificatemanager", dns: "dns",
    pubsub: "pubsub", monitoring: "monitoring", logging: "logging", databasemigrationservice: "datamigration", osconfig: "osconfig",
    networkconnectivity: "networkconnectivity", storage: "storage", billing: "billingbudgets", serviceaccount: "iam", projects: "cloudresourcemanager",
  };

  it("every API a stage's resources need is enabled, never disabled on destroy", async () => {
    const p = await planBootstrap();
    const services = ofType(p, "gcp:projects/service:Service");
    expect(services.map((s) => s.inputs.service)).toEqual(PROJECT_APIS);
    for (const s of services) expect([s.inputs.disableOnDestroy, s.inputs.disableDependentServices]).toEqual([false, false]);
    for (const stack of ["stage1", "stage2", "stage3", "stage4"]) {
      const modules = new Set((await plan(stack)).resources.filter((r) => r.custom && r.type.startsWith("gcp:")).map((r) => r.type.split(":")[1]!.split("/")[0]!));
      for (const m of modules) {
        expect(apiOf[m], `${stack}: module ${m}`).toBeDefined();
        expect(PROJECT_APIS, `${stack}: module ${m}`).toContain(`${apiOf[m]}.googleapis.com`);
      }
    }
  });
});
