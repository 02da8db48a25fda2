/**
 * Who may act as the deployer, and what the deployer may grant: pure functions the bootstrap program and its
 * tests share (docs/deploy.md "Who can do what").
 *
 * The rules they encode:
 * - GitHub's issuer is shared by every repository on github.com: the pool admits only tokens whose immutable
 *   numeric repository id and owner id are this repository's (a name can be deleted and re-created by someone
 *   else; the ids cannot), minted on the deploy ref by the deploy workflow file.
 * - The deployer is bound per deploy environment AND ref AND workflow file: one combined attribute, because a
 *   principalSet matches a single attribute value.
 * - The deployer's IAM admin is conditioned to the project roles the main program grants
 *   (`iam.googleapis.com/modifiedGrantsByRole`), its Cloud Storage admin to the program's own buckets, and it acts
 *   only as the runtime accounts (serviceAccountUser on each account, never at project level).
 */
import { physicalName } from "../src/naming";

/** GitHub's OIDC issuer for Actions tokens. */
export const GITHUB_ISSUER = "https://token.actions.githubusercontent.com";

/** Where deploys come from unless the bootstrap config says otherwise. */
export const DEFAULT_DEPLOY_REF = "refs/heads/main";
export const DEFAULT_DEPLOY_WORKFLOW = ".github/workflows/deploy.yml";

export interface GithubTrust {
  /** owner/name (only to spell the workflow ref: GitHub's job_workflow_ref starts with it). */
  repository: string;
  /** GitHub's numeric repository id (`gh api repos/OWNER/NAME --jq .id`): survives renames, never reused. */
  repositoryId: string;
  /** GitHub's numeric id of the owning user or organization (`gh api repos/OWNER/NAME --jq .owner.id`). */
  ownerId: string;
  /** The ref deploys run from (a protected branch). */
  ref: string;
  /** The workflow file, relative to the repository root. */
  workflow: string;
}

/** Why a trust config is unusable (each message names the key and the value), or [] when it is fine. */
export function trustProblems(t: GithubTrust): string[] {
  const out: string[] = [];
  const key = (k: string) => `course-organizer-bootstrap:${k}`;
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(t.repository)) out.push(`${key("githubRepository")}: ${JSON.stringify(t.repository)} is not owner/name`);
  // The ids are strings of digits in GitHub's tokens; anything else would be pasted into the CEL condition.
  if (!/^[1-9][0-9]{0,19}$/.test(t.repositoryId))
    out.push(`${key("githubRepositoryId")}: ${JSON.stringify(t.repositoryId)} is not GitHub's numeric repository id (gh api repos/OWNER/NAME --jq .id)`);
  if (!/^[1-9][0-9]{0,19}$/.test(t.ownerId))
    out.push(`${key("githubOwnerId")}: ${JSON.stringify(t.ownerId)} is not GitHub's numeric owner id (gh api repos/OWNER/NAME --jq .owner.id)`);
  if (!/^refs\/(heads|tags)\/[A-Za-z0-9_./-]+$/.test(t.ref))
    out.push(`${key("deployRef")}: ${JSON.stringify(t.ref)} is not a full ref such as refs/heads/main`);
  if (!/^\.github\/workflows\/[A-Za-z0-9_.-]+\.ya?ml$/.test(t.workflow))
    out.push(`${key("deployWorkflow")}: ${JSON.stringify(t.workflow)} is not a file under .github/workflows/`);
  return out;
}

/** GitHub's `job_workflow_ref` claim for the deploy workflow on the deploy ref. */
export function workflowRef(t: GithubTrust): string {
  return `${t.repository}/${t.workflow}@${t.ref}`;
}

/**
 * The provider's attribute condition: a token is exchanged only when it was minted for this repository (by id),
 * this owner (by id), on the deploy ref, by the deploy workflow file, inside a GitHub environment. Pull requests
 * (ref refs/pull/N/merge), other branches and other workflows are refused at the pool, before any binding.
 */
export function attributeCondition(t: GithubTrust): string {
  return [
    `assertion.repository_id == "${t.repositoryId}"`,
    `assertion.repository_owner_id == "${t.ownerId}"`,
    `assertion.ref == "${t.ref}"`,
    `assertion.job_workflow_ref == "${workflowRef(t)}"`,
    `has(assertion.environment)`,
  ].join(" && ");
}

/**
 * The attribute the deployer is bound on: environment, ref and workflow together (a principalSet names one
 * attribute value, so the three are one string). GitHub puts `environment` only in tokens of jobs that run in one.
 */
export const DEPLOY_ATTRIBUTE = "deploy";
export const DEPLOY_ATTRIBUTE_MAPPING = `(has(assertion.environment) ? assertion.environment : "") + "|" + assertion.ref + "|" + assertion.job_workflow_ref`;

/** The value of `attribute.deploy` for a job of the deploy workflow in `environment`. */
export function deployAttribute(t: GithubTrust, environment: string): string {
  return `${environment}|${t.ref}|${workflowRef(t)}`;
}

/**
 * The project roles the main program grants to its runtime accounts at some stage (every stage's plan:
 * test/bootstrap.test.ts proves this is exactly that set). The deployer's projectIamAdmin is conditioned to these.
 */
export const PROGRAM_PROJECT_ROLES = [
  "roles/artifactregistry.reader",
  "roles/autoscaling.metricsWriter",
  "roles/cloudtrace.agent",
  "roles/logging.logWriter",
  "roles/monitoring.metricWriter",
  "roles/monitoring.viewer",
  "roles/redis.dbConnectionUser",
  "roles/stackdriver.resourceMetadata.writer",
] as const;

/**
 * Google's limited-IAM-admin condition (cloud.google.com/iam/docs/setting-limits-on-granting-roles): a
 * setIamPolicy call is allowed only when every role it grants or revokes is in `roles`. Other calls under the
 * role (getIamPolicy) carry no such attribute and evaluate the default [], which hasOnly accepts.
 */
export function modifiedGrantsCondition(roles: readonly string[]): string {
  return `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${roles.map((r) => `'${r}'`).join(", ")}])`;
}

/** Physical-name prefix of every bucket the main program creates (src/naming.ts bucketName). */
export function programBucketPrefix(project: string, prefix: string): string {
  return `${project}-${prefix}-`;
}

/** Why the state bucket's name is unusable, or undefined: the deployer is storage admin over <project>-<prefix>-*. */
export function stateBucketProblem(project: string, seed: string, prefix: string, bucket: string): string | undefined {
  if (seed !== project || !bucket.startsWith(programBucketPrefix(project, prefix))) return undefined;
  return `course-organizer-bootstrap:stateBucket: ${JSON.stringify(bucket)} starts with the program's bucket prefix ${JSON.stringify(programBucketPrefix(project, prefix))}, where the deployer is storage admin; pick a name outside it`;
}

/**
 * The deployer's Cloud Storage admin reaches only the program's buckets and their objects (Cloud Storage
 * recognizes resource.name in conditions: projects/_/buckets/NAME[/objects/OBJECT]). The state bucket is not
 * among them (bootstrap refuses a prefix under which it would be).
 */
export function programBucketsCondition(project: string, prefix: string): string {
  return `resource.name.startsWith('projects/_/buckets/${programBucketPrefix(project, prefix)}')`;
}

/**
 * The runtime service accounts of every stage (the roles passed to physicalName(prefix, role, "serviceAccount")
 * across components/: vm, the stage-3 pools, Jitsi, GKE nodes and workloads). The bootstrap creates them so it,
 * not the deployer, can grant the deployer actAs on each: IAM has no condition on a service account's name
 * (service accounts recognise neither resource.name nor conditional bindings), so a project-level
 * serviceAccountUser would reach every account of the project, the deployer's own included.
 * test/bootstrap.test.ts proves this is exactly the set the four stages' plans create.
 */
export function runtimeAccountRoles(regions: readonly string[]): string[] {
  return [
    "vm",
    "http-pool",
    "ws-pool",
    "jitsi-signaling",
    "gke-api",
    "gke-ws",
    "gke-worker",
    "gke-metrics-adapter",
    // The release identity that alone writes the public static bucket (components/media.ts staticPublisher).
    "static-publisher",
    ...regions.flatMap((r) => [`jvb-${r}-pool`, `gke-nodes-${r}`]),
  ];
}

/**
 * The deployer's roles on one runtime account: actAs and admin on each (see runtimeAccountRoles), and on the
 * static publisher alone token creation too: the deploy workflow's release step (scripts/publish-static.sh)
 * uploads the static files as that account, the only writer of the public static bucket. No runtime account
 * holds a token-creation grant, so no workload can act as the publisher.
 */
export function deployerRolesOnRuntimeAccount(role: string): string[] {
  const base = ["roles/iam.serviceAccountUser", "roles/iam.serviceAccountAdmin"];
  return role === STATIC_PUBLISHER_ROLE ? [...base, "roles/iam.serviceAccountTokenCreator"] : base;
}

/** The release identity's role name in physicalName (components/media.ts staticPublisher). */
export const STATIC_PUBLISHER_ROLE = "static-publisher";

export function runtimeAccountIds(prefix: string, regions: readonly string[]): string[] {
  return runtimeAccountRoles(regions).map((role) => physicalName(prefix, role, "serviceAccount"));
}
