/**
 * The bootstrap project (bootstrap/) under the same mock engine as the main program: its own Pulumi.yaml and
 * example stack file, planned through planStack's `program` option.
 */
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { planStack, type Plan } from "../src/plan/engine";
import { get, ofType, plan } from "./helpers/plan";
import { bootstrap, DEPLOYER_BILLING_ROLE, GITHUB_ISSUER, KEY_ROTATION, PROJECT_APIS } from "../bootstrap/program";
import { PROGRAM_PROJECT_ROLES, attributeCondition, runtimeAccountIds, stateBucketProblem, trustProblems, type GithubTrust } from "../bootstrap/trust";
import { violations } from "../policy/harness";

const dir = join(__dirname, "../bootstrap");
const cache = new Map<string, Promise<Plan>>();
function planBootstrap(opts: { preview?: boolean; sets?: string[] } = {}): Promise<Plan> {
  const key = JSON.stringify(opts);
  if (!cache.has(key))
    cache.set(key, planStack({ stack: "example", projectDir: dir, program: { project: "course-organizer-bootstrap", main: bootstrap }, ...opts }));
  return cache.get(key)!;
}

describe("bootstrap", () => {
  it("grants the deployer roles/billing.costsManager on the billing account that carries the budget, only when set", async () => {
    const p = await planBootstrap({ sets: ["course-organizer-bootstrap:billingAccount=012345-6789AB-CDEF01"] });
    const grant = get(p, "gcp:billing/accountIamMember:AccountIamMember", "deployer-billing-costs-manager");
    const deployer = get(p, "gcp:serviceaccount/account:Account", "deployer");
    expect(DEPLOYER_BILLING_ROLE).toBe("roles/billing.costsManager");
    expect(grant.inputs).toEqual({
      billingAccountId: "012345-6789AB-CDEF01",
      role: "roles/billing.costsManager",
      member: expect.stringMatching(/^serviceAccount:co-deployer@/),
    });
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
    expect(key.inputs).toMatchObject({
      name: "stack-secrets",
      purpose: "ENCRYPT_DECRYPT",
      rotationPeriod: "7776000s",
      keyRing: "projects/course-organizer-demo/locations/us-central1/keyRings/co-pulumi",
    });
    expect([ring.protect, key.protect]).toEqual([true, true]);
    expect(p.outputs.secretsProvider).toBe("gcpkms://projects/course-organizer-demo/locations/us-central1/keyRings/co-pulumi/cryptoKeys/stack-secrets");
  });

  const POOL = "projects/123456789012/locations/global/workloadIdentityPools/co-github";
  const WORKFLOW_REF = "owner/course-organizer-infra/.github/workflows/deploy.yml@refs/heads/main";

  it("Workload Identity Federation: the pool admits only this repository and owner by numeric id, on main, from deploy.yml, in an environment", async () => {
    const p = await planBootstrap();
    const pool = get(p, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool", "github");
    const prov = get(p, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", "github");
    expect(pool.inputs.workloadIdentityPoolId).toBe("co-github");
    expect(prov.inputs.oidc).toEqual({ issuerUri: GITHUB_ISSUER });
    expect(prov.inputs.attributeCondition).toBe(
      `assertion.repository_id == "123456789" && assertion.repository_owner_id == "987654321" && assertion.ref == "refs/heads/main" && assertion.job_workflow_ref == "${WORKFLOW_REF}" && has(assertion.environment)`,
    );
    // Never the repository name alone: a deleted repository's name can be re-created by anyone.
    expect(String(prov.inputs.attributeCondition)).not.toMatch(/assertion\.repository ==|assertion\.repository_owner ==/);
    expect(prov.inputs.attributeMapping).toEqual({
      "google.subject": "assertion.sub",
      "attribute.actor": "assertion.actor",
      "attribute.repository_id": "assertion.repository_id",
      "attribute.repository_owner_id": "assertion.repository_owner_id",
      "attribute.ref": "assertion.ref",
      "attribute.job_workflow_ref": "assertion.job_workflow_ref",
      "attribute.deploy": '(has(assertion.environment) ? assertion.environment : "") + "|" + assertion.ref + "|" + assertion.job_workflow_ref',
    });
    expect([pool.protect, prov.protect]).toEqual([true, true]);
    expect(p.outputs.workloadIdentityProvider).toBe(`${POOL}/providers/github-actions`);
    // Another ref and workflow are a config change, and the condition follows them.
    const other = await planBootstrap({
      sets: ["course-organizer-bootstrap:deployRef=refs/heads/release", "course-organizer-bootstrap:deployWorkflow=.github/workflows/release.yml"],
    });
    expect(get(other, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", "github").inputs.attributeCondition).toContain(
      'assertion.ref == "refs/heads/release" && assertion.job_workflow_ref == "owner/course-organizer-infra/.github/workflows/release.yml@refs/heads/release"',
    );
  });

  it("refuses trust config that is not an id, a ref or a workflow file, naming the key (nothing is pasted into CEL)", () => {
    const good: GithubTrust = {
      repository: "owner/course-organizer-infra",
      repositoryId: "123456789",
      ownerId: "987654321",
      ref: "refs/heads/main",
      workflow: ".github/workflows/deploy.yml",
    };
    expect(trustProblems(good)).toEqual([]);
    expect(
      trustProblems({
        ...good,
        repository: "not a repo",
        repositoryId: "owner/course-organizer-infra",
        ownerId: '1" || true || "',
        ref: "main",
        workflow: "deploy.yml",
      }),
    ).toEqual([
      'course-organizer-bootstrap:githubRepository: "not a repo" is not owner/name',
      'course-organizer-bootstrap:githubRepositoryId: "owner/course-organizer-infra" is not GitHub\'s numeric repository id (gh api repos/OWNER/NAME --jq .id)',
      'course-organizer-bootstrap:githubOwnerId: "1\\" || true || \\"" is not GitHub\'s numeric owner id (gh api repos/OWNER/NAME --jq .owner.id)',
      'course-organizer-bootstrap:deployRef: "main" is not a full ref such as refs/heads/main',
      'course-organizer-bootstrap:deployWorkflow: "deploy.yml" is not a file under .github/workflows/',
    ]);
    expect(attributeCondition(good)).toContain('assertion.repository_id == "123456789"');
  });

  it("refuses a state bucket under the program's bucket prefix (the deployer's storage admin would reach it)", () => {
    expect(stateBucketProblem("course-organizer-demo", "course-organizer-demo", "co", "course-organizer-demo-pulumi-state")).toBeUndefined();
    expect(stateBucketProblem("course-organizer-demo", "course-organizer-demo", "co", "course-organizer-demo-co-state")).toBe(
      'course-organizer-bootstrap:stateBucket: "course-organizer-demo-co-state" starts with the program\'s bucket prefix "course-organizer-demo-co-", where the deployer is storage admin; pick a name outside it',
    );
    // In a seed project the deployer's storage condition (the workload project's buckets) cannot reach it.
    expect(stateBucketProblem("course-organizer-demo", "co-seed", "co", "course-organizer-demo-co-state")).toBeUndefined();
  });

  it("deployer: bound per environment AND ref AND workflow; no unconditioned IAM admin, no project-level actAs or storage.admin", async () => {
    const p = await planBootstrap();
    const sa = "serviceAccount:co-deployer@course-organizer-demo.iam.gserviceaccount.com";
    const projectRoles = ofType(p, "gcp:projects/iAMMember:IAMMember")
      .filter((r) => r.name.startsWith("deployer-"))
      .map((r) => r.inputs);
    const plain = projectRoles.filter((r) => !r.condition);
    expect(plain.map((r) => r.role)).toEqual([
      "roles/compute.admin",
      "roles/compute.networkAdmin",
      "roles/cloudsql.admin",
      "roles/redis.admin",
      "roles/memcache.admin",
      "roles/container.admin",
      "roles/secretmanager.admin",
      "roles/artifactregistry.admin",
      "roles/servicenetworking.networksAdmin",
      "roles/certificatemanager.owner",
      "roles/dns.admin",
      "roles/pubsub.admin",
      "roles/monitoring.admin",
      "roles/logging.configWriter",
      "roles/datamigration.admin",
      "roles/osconfig.osPolicyAssignmentAdmin",
      "roles/iam.serviceAccountCreator",
      "roles/serviceusage.serviceUsageConsumer",
      "projects/course-organizer-demo/roles/coDeployerBucketCreator",
    ]);
    for (const r of projectRoles) expect([r.project, r.member]).toEqual(["course-organizer-demo", sa]);
    // The escalation paths the issue lists, none of them held without a condition at project level.
    for (const bad of [
      "roles/owner",
      "roles/editor",
      "roles/resourcemanager.projectIamAdmin",
      "roles/iam.serviceAccountAdmin",
      "roles/iam.serviceAccountUser",
      "roles/iam.serviceAccountTokenCreator",
      "roles/iam.securityAdmin",
      "roles/storage.admin",
      "roles/iam.workloadIdentityUser",
    ]) {
      expect(
        plain.map((r) => r.role),
        bad,
      ).not.toContain(bad);
    }
    expect(get(p, "gcp:projects/iAMCustomRole:IAMCustomRole", "deployer-bucket-creator").inputs).toMatchObject({
      project: "course-organizer-demo",
      roleId: "coDeployerBucketCreator",
      permissions: ["storage.buckets.create", "storage.buckets.list"],
    });
    // IAM admin limited to the roles the program grants; storage admin limited to the program's buckets.
    expect(projectRoles.filter((r) => r.condition)).toEqual([
      {
        project: "course-organizer-demo",
        role: "roles/resourcemanager.projectIamAdmin",
        member: sa,
        condition: {
          title: "program-roles-only",
          description: "bootstrap/trust.ts",
          expression: `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${PROGRAM_PROJECT_ROLES.map((r) => `'${r}'`).join(", ")}])`,
        },
      },
      {
        project: "course-organizer-demo",
        role: "roles/storage.admin",
        member: sa,
        condition: {
          title: "program-buckets-only",
          description: "bootstrap/trust.ts",
          expression: "resource.name.startsWith('projects/_/buckets/course-organizer-demo-co-')",
        },
      },
    ]);
    // The state bucket is outside the storage condition's prefix.
    expect("projects/_/buckets/course-organizer-demo-pulumi-state".startsWith("projects/_/buckets/course-organizer-demo-co-")).toBe(false);
    // Impersonation: only a job of deploy.yml, on main, in the production environment.
    const wif = ofType(p, "gcp:serviceaccount/iAMMember:IAMMember").filter((r) => r.name.startsWith("deployer-github"));
    expect(wif.map((r) => r.inputs)).toEqual([
      {
        serviceAccountId: "projects/course-organizer-demo/serviceAccounts/co-deployer@course-organizer-demo.iam.gserviceaccount.com",
        role: "roles/iam.workloadIdentityUser",
        member: `principalSet://iam.googleapis.com/${POOL}/attribute.deploy/production|refs/heads/main|${WORKFLOW_REF}`,
      },
    ]);
    const envs = await planBootstrap({ sets: ['course-organizer-bootstrap:deployEnvironments=["production","staging"]'] });
    expect(
      ofType(envs, "gcp:serviceaccount/iAMMember:IAMMember")
        .filter((r) => r.name.startsWith("deployer-github"))
        .map((r) => String(r.inputs.member).split("/attribute.deploy/")[1]),
    ).toEqual([`production|refs/heads/main|${WORKFLOW_REF}`, `staging|refs/heads/main|${WORKFLOW_REF}`]);
    expect(get(p, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "deployer-secrets").inputs).toEqual({
      cryptoKeyId: "projects/course-organizer-demo/locations/us-central1/keyRings/co-pulumi/cryptoKeys/stack-secrets",
      role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
      member: sa,
    });
    expect(get(p, "gcp:storage/bucketIAMMember:BucketIAMMember", "deployer-state").inputs).toEqual({
      bucket: "course-organizer-demo-pulumi-state",
      role: "roles/storage.objectAdmin",
      member: sa,
    });
    expect(p.outputs.deployerServiceAccount).toBe("co-deployer@course-organizer-demo.iam.gserviceaccount.com");
  });

  it("no other identity can decrypt the stack secrets or write state (no previewer, no pull-request principal)", async () => {
    const p = await planBootstrap();
    const deployer = "serviceAccount:co-deployer@course-organizer-demo.iam.gserviceaccount.com";
    expect(ofType(p, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember").map((r) => r.inputs.member)).toEqual([deployer]);
    expect(ofType(p, "gcp:storage/bucketIAMMember:BucketIAMMember").map((r) => r.inputs.member)).toEqual([deployer]);
    // Only the deployer can be impersonated through the pool.
    const wif = ofType(p, "gcp:serviceaccount/iAMMember:IAMMember").filter((r) => r.inputs.role === "roles/iam.workloadIdentityUser");
    expect(wif.map((r) => r.inputs.serviceAccountId)).toEqual([
      "projects/course-organizer-demo/serviceAccounts/co-deployer@course-organizer-demo.iam.gserviceaccount.com",
    ]);
    expect(ofType(p, "gcp:serviceaccount/account:Account").map((r) => r.name)).not.toContain("previewer");
  });

  it("project roles the deployer may grant are exactly the project roles the four stages' plans grant", async () => {
    const granted = new Set<string>();
    for (const stack of ["stage1", "stage2", "stage3", "stage4"]) {
      for (const r of ofType(await plan(stack), "gcp:projects/iAMMember:IAMMember")) granted.add(String(r.inputs.role));
    }
    expect([...granted].sort()).toEqual([...PROGRAM_PROJECT_ROLES].sort());
  });

  it("runtime accounts: created by the bootstrap, exactly the four stages' accounts, the deployer acts as each (never at project level)", async () => {
    const p = await planBootstrap();
    const planned = new Set<string>();
    for (const stack of ["stage1", "stage2", "stage3", "stage4"]) {
      for (const a of ofType(await plan(stack), "gcp:serviceaccount/account:Account")) {
        planned.add(String(a.inputs.accountId));
        // The program adopts the account the bootstrap created instead of failing on 409.
        expect(a.inputs.createIgnoreAlreadyExists, `${stack} ${a.name}`).toBe(true);
      }
    }
    const ids = runtimeAccountIds("co", ["us-central1", "europe-west1"]);
    expect([...ids].sort()).toEqual([...planned].sort());
    const accounts = ofType(p, "gcp:serviceaccount/account:Account").filter((a) => a.name.startsWith("runtime-"));
    expect(accounts.map((a) => a.inputs.accountId)).toEqual(ids);
    const grants = ofType(p, "gcp:serviceaccount/iAMMember:IAMMember").filter((r) => r.name.startsWith("runtime-"));
    const deployer = "serviceAccount:co-deployer@course-organizer-demo.iam.gserviceaccount.com";
    expect(grants.map((g) => [String(g.inputs.serviceAccountId).split("/").pop()!.split("@")[0], g.inputs.role, g.inputs.member])).toEqual(
      ids.flatMap((id) => [
        [id, "roles/iam.serviceAccountUser", deployer],
        [id, "roles/iam.serviceAccountAdmin", deployer],
        // The release step of the deploy workflow uploads static files as the publisher, and only as it.
        ...(id === "co-static-publisher" ? [[id, "roles/iam.serviceAccountTokenCreator", deployer]] : []),
      ]),
    );
    expect(p.outputs.runtimeServiceAccounts).toEqual(ids.map((id) => `${id}@course-organizer-demo.iam.gserviceaccount.com`));
  });

  it("seed project option: state, KMS, pool and deployer in the seed project; the deployer's roles and runtime accounts in the workload project", async () => {
    const p = await planBootstrap({ sets: ["course-organizer-bootstrap:seedProject=co-seed-demo"] });
    expect(get(p, "gcp:storage/bucket:Bucket", "state").inputs).toMatchObject({ name: "co-seed-demo-pulumi-state", project: "co-seed-demo" });
    expect(get(p, "gcp:kms/keyRing:KeyRing", "secrets").inputs.project).toBe("co-seed-demo");
    expect(get(p, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool", "github").inputs.project).toBe("co-seed-demo");
    expect(get(p, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", "github").inputs.project).toBe("co-seed-demo");
    expect(get(p, "gcp:serviceaccount/account:Account", "deployer").inputs.project).toBe("co-seed-demo");
    const sa = "serviceAccount:co-deployer@co-seed-demo.iam.gserviceaccount.com";
    for (const r of ofType(p, "gcp:projects/iAMMember:IAMMember")) expect([r.inputs.project, r.inputs.member]).toEqual(["course-organizer-demo", sa]);
    for (const a of ofType(p, "gcp:serviceaccount/account:Account").filter((x) => x.name.startsWith("runtime-")))
      expect(a.inputs.project).toBe("course-organizer-demo");
    expect(
      ofType(p, "gcp:projects/service:Service")
        .filter((s) => s.inputs.project === "co-seed-demo")
        .map((s) => s.inputs.service),
    ).toEqual([
      "cloudkms.googleapis.com",
      "iam.googleapis.com",
      "iamcredentials.googleapis.com",
      "sts.googleapis.com",
      "storage.googleapis.com",
      "cloudresourcemanager.googleapis.com",
    ]);
    expect(p.outputs.seedProject).toBe("co-seed-demo");
    expect(p.outputs.backendUrl).toBe("gs://co-seed-demo-pulumi-state");
  });

  it("plans in preview mode too (computed names unknown) and passes the policy pack", async () => {
    const p = await planBootstrap({ preview: true });
    expect(get(p, "gcp:storage/bucket:Bucket", "state").inputs.versioning).toEqual({ enabled: true });
    // Every rule, resource and stack policies alike, as the policy runtime would run them (policy/harness.ts).
    const out = [...(await violations(await planBootstrap())), ...(await violations(p))];
    expect(out).toEqual([]);
  });
});

describe("bootstrap enables the APIs", () => {
  /** The API behind each @pulumi/gcp module the main program uses. */
  const apiOf: Record<string, string> = {
    compute: "compute",
    sql: "sqladmin",
    redis: "redis",
    memcache: "memcache",
    container: "container",
    secretmanager: "secretmanager",
    artifactregistry: "artifactregistry",
    servicenetworking: "servicenetworking",
    certificatemanager: "certificatemanager",
    dns: "dns",
    pubsub: "pubsub",
    monitoring: "monitoring",
    logging: "logging",
    databasemigrationservice: "datamigration",
    osconfig: "osconfig",
    networkconnectivity: "networkconnectivity",
    storage: "storage",
    billing: "billingbudgets",
    serviceaccount: "iam",
    projects: "cloudresourcemanager",
  };

  it("every API a stage's resources need is enabled, never disabled on destroy", async () => {
    const p = await planBootstrap();
    const services = ofType(p, "gcp:projects/service:Service");
    expect(services.map((s) => s.inputs.service)).toEqual([
      "artifactregistry.googleapis.com",
      "billingbudgets.googleapis.com",
      "certificatemanager.googleapis.com",
      "cloudkms.googleapis.com",
      "cloudresourcemanager.googleapis.com",
      "compute.googleapis.com",
      "container.googleapis.com",
      "datamigration.googleapis.com",
      "dns.googleapis.com",
      "iam.googleapis.com",
      "iamcredentials.googleapis.com",
      "logging.googleapis.com",
      "memcache.googleapis.com",
      "monitoring.googleapis.com",
      "networkconnectivity.googleapis.com",
      "osconfig.googleapis.com",
      "pubsub.googleapis.com",
      "redis.googleapis.com",
      "secretmanager.googleapis.com",
      "servicenetworking.googleapis.com",
      "serviceconsumermanagement.googleapis.com",
      "sqladmin.googleapis.com",
      "storage.googleapis.com",
      "sts.googleapis.com",
    ]);
    for (const s of services) expect([s.inputs.disableOnDestroy, s.inputs.disableDependentServices]).toEqual([false, false]);
    for (const stack of ["stage1", "stage2", "stage3", "stage4"]) {
      const modules = new Set(
        (await plan(stack)).resources.filter((r) => r.custom && r.type.startsWith("gcp:")).map((r) => r.type.split(":")[1]!.split("/")[0]!),
      );
      for (const m of modules) {
        expect(apiOf[m], `${stack}: module ${m}`).toBeDefined();
        expect(PROJECT_APIS, `${stack}: module ${m}`).toContain(`${apiOf[m]}.googleapis.com`);
      }
    }
  });
});
