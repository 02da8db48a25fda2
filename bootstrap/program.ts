/**
 * What deployments need, created once per GCP project before any stage stack (docs/deploy.md):
 * - a versioned, protected Cloud Storage bucket for Pulumi state (`pulumi login gs://<bucket>`);
 * - a Cloud KMS key ring and key for the stacks' secrets provider (`gcpkms://...`), rotated every 90 days;
 * - a Workload Identity Federation pool and OIDC provider for GitHub Actions, admitting only the deploy workflow
 *   of this repository (by numeric id) on the deploy ref, in a GitHub environment;
 * - the deployer service account those jobs impersonate, with least-privilege project roles, its IAM admin
 *   conditioned to the roles the program grants, and actAs on each runtime account only;
 * - the runtime service accounts, so the deployer's actAs can be granted per account (bootstrap/trust.ts).
 * Optionally (seedProject), state, KMS, the pool and the deployer live in a separate seed project, as Google's
 * security foundations blueprint separates them (the workload project then holds no credential for its own state).
 *
 * Run with a human's credentials (roles/owner or the IAM/KMS/Storage admin roles), once; CI never runs it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import {
  DEFAULT_DEPLOY_REF,
  DEFAULT_DEPLOY_WORKFLOW,
  DEPLOY_ATTRIBUTE,
  DEPLOY_ATTRIBUTE_MAPPING,
  GITHUB_ISSUER,
  PROGRAM_PROJECT_ROLES,
  attributeCondition,
  deployAttribute,
  modifiedGrantsCondition,
  programBucketsCondition,
  stateBucketProblem,
  runtimeAccountRoles,
  deployerRolesOnRuntimeAccount,
  trustProblems,
  type GithubTrust,
} from "./trust";

export { GITHUB_ISSUER } from "./trust";

/** 90 days, in the seconds format Cloud KMS takes (CIS GCP 1.10: rotate KMS keys at most every 90 days). */
export const KEY_ROTATION = "7776000s";

/**
 * The project roles the deployer holds without a condition: each admin role is limited to one service the program
 * manages (no roles/owner, no roles/editor). None of them can set the project's IAM policy, act as a service
 * account, or create a credential for one: those come conditioned (DEPLOYER_CONDITIONAL_ROLES) or per account.
 */
export const DEPLOYER_ROLES = [
  "roles/compute.admin", // VPC, firewalls, VMs, instance groups, load balancer, Cloud Armor, SSL policies
  // Stage 4's Redis Cluster reaches the VPC through a service connection policy (networkconnectivity API, not
  // compute): GCP documents Compute Network Admin as the role that creates one (VPC > service connection policies).
  "roles/compute.networkAdmin",
  "roles/cloudsql.admin", // Cloud SQL instances, replicas, databases, users
  "roles/redis.admin", // Memorystore for Redis and Redis Cluster
  "roles/memcache.admin", // Memorystore for Memcached (stage 4)
  "roles/container.admin", // GKE clusters, node pools, and the workloads inside them
  "roles/secretmanager.admin", // generated secrets and their accessor grants
  "roles/artifactregistry.admin", // the image repository and its reader grants
  "roles/servicenetworking.networksAdmin", // Private Service Access for Cloud SQL and Memorystore
  "roles/certificatemanager.owner", // certificates, DNS authorizations, certificate maps
  "roles/dns.admin", // the Cloud DNS zone (stage 4)
  "roles/pubsub.admin", // the email queue (stage 4)
  "roles/monitoring.admin", // alert policies, channels, uptime checks, dashboards
  "roles/logging.configWriter", // log-based metrics
  "roles/datamigration.admin", // the VM-to-Cloud SQL migration job (stage 2 to 3)
  "roles/osconfig.osPolicyAssignmentAdmin", // the Ops Agent policy
  // Create accounts only (iam.serviceAccounts.create/get/list): the program's Account resources are created by
  // the bootstrap first (createIgnoreAlreadyExists adopts them); a new account carries no grant the deployer could use.
  "roles/iam.serviceAccountCreator",
  "roles/serviceusage.serviceUsageConsumer", // call the APIs on the project's quota
] as const;

/**
 * The APIs the main program's resources need at some stage (and the bootstrap's own), enabled once here so no
 * stage move stops on "API has not been used in project". Never disabled on destroy: other things may use them.
 */
export const PROJECT_APIS = [
  "artifactregistry",
  "billingbudgets",
  "certificatemanager",
  "cloudkms",
  "cloudresourcemanager",
  "compute",
  "container",
  "datamigration",
  "dns",
  "iam",
  "iamcredentials",
  "logging",
  "memcache",
  "monitoring",
  "networkconnectivity",
  "osconfig",
  "pubsub",
  "redis",
  "secretmanager",
  "servicenetworking",
  "serviceconsumermanagement",
  "sqladmin",
  "storage",
  "sts",
].map((a) => `${a}.googleapis.com`);

/** The deployer's role on the billing account (bootstrap config `billingAccount`): create and update budgets. */
export const DEPLOYER_BILLING_ROLE = "roles/billing.costsManager";

/** The APIs a seed project needs for what it holds (state, KMS, the pool, the deployer). */
export const SEED_APIS = ["cloudkms", "iam", "iamcredentials", "sts", "storage", "cloudresourcemanager"].map((a) => `${a}.googleapis.com`);

/** Conditional project roles of the deployer: the role, why, and the condition (bootstrap/trust.ts). */
export interface ConditionalRole {
  role: string;
  title: string;
  expression: string;
}

export function deployerConditionalRoles(project: string, prefix: string): ConditionalRole[] {
  return [
    // Grants the runtime accounts their project roles, and nothing else: no owner, no editor, no IAM admin role
    // for itself or anyone (Google's "limited IAM admin").
    { role: "roles/resourcemanager.projectIamAdmin", title: "program-roles-only", expression: modifiedGrantsCondition(PROGRAM_PROJECT_ROLES) },
    // The media and static buckets (and their objects and grants), not the state bucket nor any other bucket.
    { role: "roles/storage.admin", title: "program-buckets-only", expression: programBucketsCondition(project, prefix) },
  ];
}

export interface BootstrapOutputs {
  stateBucket: pulumi.Output<string>;
  backendUrl: pulumi.Output<string>;
  secretsProvider: pulumi.Output<string>;
  workloadIdentityProvider: pulumi.Output<string>;
  deployerServiceAccount: pulumi.Output<string>;
  deployerRoles: string[];
  runtimeServiceAccounts: pulumi.Output<string>[];
  seedProject: string;
}

const roleSlug = (role: string) =>
  role
    .replace(/^(roles|projects\/[^/]+\/roles)\//, "")
    .replace(/[^a-zA-Z0-9]+/g, "-")
    .toLowerCase();

export async function bootstrap(): Promise<BootstrapOutputs> {
  const gcpConfig = new pulumi.Config("gcp");
  const config = new pulumi.Config();
  const project = gcpConfig.require("project");
  const region = gcpConfig.require("region");
  const trust: GithubTrust = {
    repository: config.require("githubRepository"),
    repositoryId: String(config.require("githubRepositoryId")),
    ownerId: String(config.require("githubOwnerId")),
    ref: config.get("deployRef") ?? DEFAULT_DEPLOY_REF,
    workflow: config.get("deployWorkflow") ?? DEFAULT_DEPLOY_WORKFLOW,
  };
  const prefix = config.get("prefix") ?? "co";
  // Google's security foundations blueprint keeps state, KMS and the identity pool in a seed project apart from
  // the workloads: the workload project's admins then cannot read state or decrypt stack secrets.
  const seed = config.get("seedProject") ?? project;
  const noncurrentDays = config.getNumber("noncurrentStateDays") ?? 90;
  const deployEnvironments = config.getObject<string[]>("deployEnvironments") ?? ["production"];
  const regions = config.getObject<string[]>("regions") ?? [region];
  const stateBucketName = config.get("stateBucket") ?? `${seed}-pulumi-state`;
  const problems = trustProblems(trust);
  for (const env of deployEnvironments) {
    if (!/^[A-Za-z0-9_.-]{1,255}$/.test(env))
      problems.push(`course-organizer-bootstrap:deployEnvironments: ${JSON.stringify(env)} is not a GitHub environment name`);
  }
  const bucketProblem = stateBucketProblem(project, seed, prefix, stateBucketName);
  if (bucketProblem) problems.push(bucketProblem);
  // RunError prints its message without a stack trace; nothing has been registered yet.
  if (problems.length > 0) throw new pulumi.RunError(problems.join("\n"));
  const labels = { app: "course-organizer", component: "bootstrap", stage: "all", "managed-by": "pulumi" };
  const stateful = { protect: true, retainOnDelete: true };

  // ── APIs ──────────────────────────────────────────────────────────────────────────────────────────
  for (const service of PROJECT_APIS) {
    new gcp.projects.Service(`api-${service.split(".")[0]}`, { project, service, disableOnDestroy: false, disableDependentServices: false });
  }
  if (seed !== project) {
    for (const service of SEED_APIS) {
      new gcp.projects.Service(`seed-api-${service.split(".")[0]}`, { project: seed, service, disableOnDestroy: false, disableDependentServices: false });
    }
  }

  // ── State bucket ──────────────────────────────────────────────────────────────────────────────────
  const stateBucket = new gcp.storage.Bucket(
    "state",
    {
      name: stateBucketName,
      project: seed,
      location: region,
      storageClass: "STANDARD",
      labels,
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      // Every `pulumi up` rewrites the stack's state file: versions let a bad write be rolled back.
      versioning: { enabled: true },
      softDeletePolicy: { retentionDurationSeconds: 7 * 86400 },
      lifecycleRules: [
        // Replaced state versions are kept for noncurrentStateDays, then deleted (state files are small, but
        // a busy stack writes thousands of versions a year).
        { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: noncurrentDays, withState: "ARCHIVED" } },
        // ... and never more than the 50 newest replaced versions per file.
        { action: { type: "Delete" }, condition: { numNewerVersions: 50, withState: "ARCHIVED" } },
      ],
      forceDestroy: false,
    },
    stateful,
  );

  // ── KMS key for the stacks' secrets provider ──────────────────────────────────────────────────────
  // Key rings and keys cannot be deleted in GCP (only their versions destroyed): protected so Pulumi never tries.
  const keyRing = new gcp.kms.KeyRing("secrets", { name: physicalName(prefix, "pulumi"), location: region, project: seed }, stateful);
  const key = new gcp.kms.CryptoKey(
    "secrets",
    {
      name: "stack-secrets",
      keyRing: keyRing.id,
      purpose: "ENCRYPT_DECRYPT",
      rotationPeriod: KEY_ROTATION,
      versionTemplate: { algorithm: "GOOGLE_SYMMETRIC_ENCRYPTION", protectionLevel: "SOFTWARE" },
      // 30 days between "destroy" and destruction of a key version: time to notice before secrets become unreadable.
      destroyScheduledDuration: "2592000s",
      labels,
    },
    stateful,
  );

  // ── GitHub Actions through Workload Identity Federation (no JSON keys) ─────────────────────────────
  const { pool, provider } = githubFederation(seed, prefix, trust);

  // ── The deployer ──────────────────────────────────────────────────────────────────────────────────
  const deployer = new gcp.serviceaccount.Account("deployer", {
    project: seed,
    accountId: physicalName(prefix, "deployer", "serviceAccount"),
    displayName: "Course Organizer deployer (GitHub Actions)",
    description: `pulumi preview/up of the stage stacks from ${trust.repository} ${trust.ref}, ${trust.workflow}, in a deploy environment`,
  });
  const member = pulumi.interpolate`serviceAccount:${deployer.email}`;
  for (const role of DEPLOYER_ROLES) {
    new gcp.projects.IAMMember(`deployer-${roleSlug(role)}`, { project, role, member });
  }
  // Bucket creation is checked on the project, where a bucket-name condition cannot apply: a custom role with only
  // create and list (project-level storage.admin would also create HMAC keys for any account of the project).
  const bucketCreatorId = `${prefix.replace(/[^a-zA-Z0-9]/g, "")}DeployerBucketCreator`;
  const bucketCreator = new gcp.projects.IAMCustomRole("deployer-bucket-creator", {
    project,
    roleId: bucketCreatorId,
    title: "Course Organizer deployer: create buckets",
    description: "storage.buckets.create and list only; every other storage permission comes conditioned to the program's buckets",
    permissions: ["storage.buckets.create", "storage.buckets.list"],
    stage: "GA",
  });
  new gcp.projects.IAMMember(
    "deployer-bucket-creator",
    { project, role: `projects/${project}/roles/${bucketCreatorId}`, member },
    { dependsOn: bucketCreator },
  );
  for (const c of deployerConditionalRoles(project, prefix)) {
    new gcp.projects.IAMMember(`deployer-${roleSlug(c.role)}`, {
      project,
      role: c.role,
      member,
      condition: { title: c.title, description: "bootstrap/trust.ts", expression: c.expression },
    });
  }
  // Only jobs of the deploy workflow, on the deploy ref, inside one of the deploy environments (behind their
  // required reviewers) may act as the deployer: one binding per environment on the combined attribute.
  deployEnvironments.forEach(
    (env, i) =>
      new gcp.serviceaccount.IAMMember(`deployer-github-${i}`, {
        serviceAccountId: deployer.name,
        role: "roles/iam.workloadIdentityUser",
        member: pulumi.interpolate`principalSet://iam.googleapis.com/${pool.name}/attribute.${DEPLOY_ATTRIBUTE}/${deployAttribute(trust, env)}`,
      }),
  );
  // The main program's billing budget (course-organizer:monitoring.billingAccount) is created on the billing
  // account, not the project: billing.budgets.create there, in roles/billing.costsManager. Whoever runs this
  // bootstrap needs roles/billing.admin on that account to grant it.
  const billingAccount = config.get("billingAccount");
  if (billingAccount) {
    new gcp.billing.AccountIamMember("deployer-billing-costs-manager", { billingAccountId: billingAccount, role: DEPLOYER_BILLING_ROLE, member });
  }
  new gcp.kms.CryptoKeyIAMMember("deployer-secrets", { cryptoKeyId: key.id, role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member });
  new gcp.storage.BucketIAMMember("deployer-state", { bucket: stateBucket.name, role: "roles/storage.objectAdmin", member });

  // ── The runtime accounts, and the deployer's actAs on each ─────────────────────────────────────────
  // Created here so a human grants the deployer serviceAccountUser per account (a service account's policy takes
  // no conditions, and a project-level grant would reach every account, the deployer's own included). The main
  // program's Account resources adopt them (createIgnoreAlreadyExists); serviceAccountAdmin on each lets it update
  // them and bind GKE workload identities to them (stage 4), on these accounts only.
  const runtime = runtimeAccountRoles(regions).map((role) => {
    const account = new gcp.serviceaccount.Account(`runtime-${role}`, {
      project,
      accountId: physicalName(prefix, role, "serviceAccount"),
      displayName: `${prefix} ${role}`,
      description: "Runtime identity of the Course Organizer program (created by bootstrap/ so the deployer acts as it per account)",
    });
    for (const r of deployerRolesOnRuntimeAccount(role)) {
      new gcp.serviceaccount.IAMMember(`runtime-${role}-deployer-${roleSlug(r)}`, { serviceAccountId: account.name, role: r, member });
    }
    return account.email;
  });

  return {
    stateBucket: stateBucket.name,
    backendUrl: pulumi.interpolate`gs://${stateBucket.name}`,
    secretsProvider: pulumi.interpolate`gcpkms://${key.id}`,
    workloadIdentityProvider: provider.name,
    deployerServiceAccount: deployer.email,
    deployerRoles: [...DEPLOYER_ROLES],
    runtimeServiceAccounts: runtime,
    seedProject: seed,
  };
}

/** The workload identity pool and GitHub's OIDC provider in the seed project (protected: deploys depend on them). */
function githubFederation(seed: string, prefix: string, trust: GithubTrust) {
  const pool = new gcp.iam.WorkloadIdentityPool(
    "github",
    { project: seed, workloadIdentityPoolId: physicalName(prefix, "github"), displayName: "GitHub Actions", description: `Deploys of ${trust.repository}` },
    { protect: true },
  );
  const provider = new gcp.iam.WorkloadIdentityPoolProvider(
    "github",
    {
      project: seed,
      workloadIdentityPoolId: pool.workloadIdentityPoolId,
      workloadIdentityPoolProviderId: "github-actions",
      displayName: "GitHub Actions OIDC",
      attributeMapping: {
        "google.subject": "assertion.sub",
        "attribute.actor": "assertion.actor",
        "attribute.repository_id": "assertion.repository_id",
        "attribute.repository_owner_id": "assertion.repository_owner_id",
        "attribute.ref": "assertion.ref",
        "attribute.job_workflow_ref": "assertion.job_workflow_ref",
        [`attribute.${DEPLOY_ATTRIBUTE}`]: DEPLOY_ATTRIBUTE_MAPPING,
      },
      // Google requires a condition for GitHub's shared issuer: this repository and owner by their numeric ids,
      // the deploy ref, the deploy workflow file, a job inside an environment (bootstrap/trust.ts).
      attributeCondition: attributeCondition(trust),
      oidc: { issuerUri: GITHUB_ISSUER },
    },
    { protect: true },
  );
  return { pool, provider };
}
