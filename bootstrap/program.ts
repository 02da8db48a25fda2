/**
 * What deployments need, created once per GCP project before any stage stack (docs/deploy.md):
 * - a versioned, protected Cloud Storage bucket for Pulumi state (`pulumi login gs://<bucket>`);
 * - a Cloud KMS key ring and key for the stacks' secrets provider (`gcpkms://...`), rotated every 90 days;
 * - a Workload Identity Federation pool and OIDC provider for GitHub Actions, accepting only this repository;
 * - the deployer service account GitHub Actions impersonates, with least-privilege project roles.
 *
 * Run with a human's credentials (roles/owner or the IAM/KMS/Storage admin roles), once; CI never runs it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";

/** GitHub's OIDC issuer for Actions tokens. */
export const GITHUB_ISSUER = "https://token.actions.githubusercontent.com";

/** 90 days, in the seconds format Cloud KMS takes (CIS GCP 1.10: rotate KMS keys at most every 90 days). */
export const KEY_ROTATION = "7776000s";

/**
 * The project roles the deployer needs to create and update every stage of the main program, and no more:
 * each admin role is limited to one service the program manages (no roles/owner, no roles/editor).
 * Granting the app's and nodes' service accounts their roles needs projectIamAdmin; attaching those accounts to
 * VMs and node pools needs serviceAccountUser.
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
  "roles/storage.admin", // media and static buckets and their grants
  "roles/servicenetworking.networksAdmin", // Private Service Access for Cloud SQL and Memorystore
  "roles/certificatemanager.owner", // certificates, DNS authorizations, certificate maps
  "roles/dns.admin", // the Cloud DNS zone (stage 4)
  "roles/pubsub.admin", // the email queue (stage 4)
  "roles/monitoring.admin", // alert policies, channels, uptime checks, dashboards
  "roles/logging.configWriter", // log-based metrics
  "roles/datamigration.admin", // the VM-to-Cloud SQL migration job (stage 2 to 3)
  "roles/osconfig.osPolicyAssignmentAdmin", // the Ops Agent policy
  "roles/iam.serviceAccountAdmin", // the VM, app, node and workload service accounts
  "roles/iam.serviceAccountUser", // attach those accounts to VMs and node pools
  "roles/resourcemanager.projectIamAdmin", // grant those accounts their (least-privilege) project roles
  "roles/serviceusage.serviceUsageConsumer", // call the APIs on the project's quota
] as const;

/** Why a `githubRepository` value is unusable, or undefined (it must be GitHub's owner/name). */
export function repositoryProblem(repository: string): string | undefined {
  return /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository) ? undefined : `course-organizer-bootstrap:githubRepository: ${JSON.stringify(repository)} is not owner/name`;
}

/** The attribute condition that admits only tokens minted for one repository's workflows. */
export function repositoryCondition(repository: string): string {
  return `assertion.repository == "${repository}"`;
}

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

/** The previewer's project roles: read everything a preview reads, change nothing (roles/viewer has no IAM writes). */
export const PREVIEWER_ROLES = ["roles/viewer", "roles/iam.securityReviewer"];

export interface BootstrapOutputs {
  stateBucket: pulumi.Output<string>;
  backendUrl: pulumi.Output<string>;
  secretsProvider: pulumi.Output<string>;
  workloadIdentityProvider: pulumi.Output<string>;
  deployerServiceAccount: pulumi.Output<string>;
  previewerServiceAccount: pulumi.Output<string>;
  deployerRoles: string[];
}

export async function bootstrap(): Promise<BootstrapOutputs> {
  const gcpConfig = new pulumi.Config("gcp");
  const config = new pulumi.Config();
  const project = gcpConfig.require("project");
  const region = gcpConfig.require("region");
  const repository = config.require("githubRepository");
  const problem = repositoryProblem(repository);
  // RunError prints its message without a stack trace; nothing has been registered yet.
  if (problem) throw new pulumi.RunError(problem);
  const prefix = config.get("prefix") ?? "co";
  const noncurrentDays = config.getNumber("noncurrentStateDays") ?? 90;
  const deployEnvironments = config.getObject<string[]>("deployEnvironments") ?? ["production"];
  const labels = { app: "course-organizer", component: "bootstrap", stage: "all", "managed-by": "pulumi" };
  const stateful = { protect: true, retainOnDelete: true };

  // ── APIs ──────────────────────────────────────────────────────────────────────────────────────────
  for (const service of PROJECT_APIS) {
    new gcp.projects.Service(`api-${service.split(".")[0]}`, { project, service, disableOnDestroy: false, disableDependentServices: false });
  }

  // ── State bucket ──────────────────────────────────────────────────────────────────────────────────
  const stateBucket = new gcp.storage.Bucket(
    "state",
    {
      name: config.get("stateBucket") ?? `${project}-pulumi-state`,
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
  const keyRing = new gcp.kms.KeyRing("secrets", { name: physicalName(prefix, "pulumi"), location: region, project }, stateful);
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
  const pool = new gcp.iam.WorkloadIdentityPool(
    "github",
    { project, workloadIdentityPoolId: physicalName(prefix, "github"), displayName: "GitHub Actions", description: `Deploys of ${repository}` },
    { protect: true },
  );
  const provider = new gcp.iam.WorkloadIdentityPoolProvider(
    "github",
    {
      project,
      workloadIdentityPoolId: pool.workloadIdentityPoolId,
      workloadIdentityPoolProviderId: "github-actions",
      displayName: "GitHub Actions OIDC",
      attributeMapping: {
        "google.subject": "assertion.sub",
        "attribute.actor": "assertion.actor",
        "attribute.repository": "assertion.repository",
        "attribute.repository_owner": "assertion.repository_owner",
        "attribute.ref": "assertion.ref",
        "attribute.environment": "assertion.environment",
      },
      // Google requires a condition for GitHub's shared issuer; this one admits this repository only.
      attributeCondition: repositoryCondition(repository),
      oidc: { issuerUri: GITHUB_ISSUER },
    },
    { protect: true },
  );

  // ── The deployer ──────────────────────────────────────────────────────────────────────────────────
  const deployer = new gcp.serviceaccount.Account("deployer", {
    project,
    accountId: physicalName(prefix, "deployer", "serviceAccount"),
    displayName: "Course Organizer deployer (GitHub Actions)",
    description: `pulumi preview/up of the stage stacks from ${repository}`,
  });
  const member = pulumi.interpolate`serviceAccount:${deployer.email}`;
  for (const role of DEPLOYER_ROLES) {
    new gcp.projects.IAMMember(`deployer-${role.replace(/^roles\//, "").replace(/[^a-zA-Z0-9]+/g, "-").toLowerCase()}`, { project, role, member });
  }
  // Only jobs that run inside one of the deploy environments (deploy.yml `up`, behind their required reviewers) may
  // act as the deployer: its roles can grant IAM, so a pull request's own workflow must never reach it.
  deployEnvironments.forEach((env, i) =>
    new gcp.serviceaccount.IAMMember(`deployer-github-${i}`, {
      serviceAccountId: deployer.name,
      role: "roles/iam.workloadIdentityUser",
      member: pulumi.interpolate`principalSet://iam.googleapis.com/${pool.name}/attribute.environment/${env}`,
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

  // ── The previewer: what pull requests run `pulumi preview` as ────────────────────────────────────
  // Read-only on the project: a preview reads the state and the cloud, it changes nothing. Any workflow of the
  // repository may use it (a pull request's branch included), so it holds no role that could change GCP.
  const previewer = new gcp.serviceaccount.Account("previewer", {
    project,
    accountId: physicalName(prefix, "previewer", "serviceAccount"),
    displayName: "Course Organizer previewer (GitHub Actions pull requests)",
    description: `pulumi preview of the stage stacks from ${repository}, read-only`,
  });
  const previewMember = pulumi.interpolate`serviceAccount:${previewer.email}`;
  for (const role of PREVIEWER_ROLES) {
    new gcp.projects.IAMMember(`previewer-${role.replace(/^roles\//, "").replace(/[^a-zA-Z0-9]+/g, "-").toLowerCase()}`, { project, role, member: previewMember });
  }
  new gcp.serviceaccount.IAMMember("previewer-github", {
    serviceAccountId: previewer.name,
    role: "roles/iam.workloadIdentityUser",
    member: pulumi.interpolate`principalSet://iam.googleapis.com/${pool.name}/attribute.repository/${repository}`,
  });
  // Decrypt the stacks' secrets in the state; the state bucket read and its lock file written (no state write
  // happens in a preview, but the backend takes its lock there).
  new gcp.kms.CryptoKeyIAMMember("previewer-secrets", { cryptoKeyId: key.id, role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member: previewMember });
  new gcp.storage.BucketIAMMember("previewer-state", { bucket: stateBucket.name, role: "roles/storage.objectAdmin", member: previewMember });

  return {
    stateBucket: stateBucket.name,
    backendUrl: pulumi.interpolate`gs://${stateBucket.name}`,
    secretsProvider: pulumi.interpolate`gcpkms://${key.id}`,
    workloadIdentityProvider: provider.name,
    deployerServiceAccount: deployer.email,
    previewerServiceAccount: previewer.email,
    deployerRoles: [...DEPLOYER_ROLES],
  };
}
