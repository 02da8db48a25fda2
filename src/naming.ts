/**
 * Physical names and labels. Names are `<prefix>-<role>`: deterministic, lowercase, within the resource's
 * length limit, and never containing the stage, so that a stage move updates resources in place.
 */
import { createHash } from "node:crypto";
import { argRefuser } from "./config/refusal";

/** GCP length limits per kind of resource (characters). */
export const nameLimits = {
  /** Most Compute Engine resources (RFC 1035). */
  default: 63,
  /** Cloud SQL instance ids: 98 in the API, but the instance id plus project must fit the 98-char connection
   * name and Google's docs recommend short ids; hostnames derived from it are limited further. */
  sqlInstance: 84,
  /** Memorystore for Redis instance id. */
  redisInstance: 40,
  /** Memorystore for Redis Cluster id. */
  redisCluster: 63,
  /** Memcached instance id. */
  memcacheInstance: 40,
  /** Service account id (the part before @). */
  serviceAccount: 30,
  /** GKE cluster name. */
  gkeCluster: 40,
  /** Secret Manager secret id. */
  secret: 255,
  /** Cloud Storage bucket names (dots allowed up to 222, but we never use dots). */
  bucket: 63,
  /** Pub/Sub topic and subscription. */
  pubsub: 255,
  /** Cloud DNS managed zone. */
  dnsZone: 63,
  /** Artifact Registry repository id. */
  artifactRepository: 63,
  /** Instance group manager base instance name: 58 leaves room for the 4-char suffix GCP adds. */
  instanceBaseName: 58,
  /** Database Migration Service ids. */
  dms: 60,
} as const;

export type NameKind = keyof typeof nameLimits;

/**
 * `<prefix>-<role>` cut to the kind's limit. When a name has to be cut, a 4-char hash of the full name is kept
 * at the end so two long roles never collide; the result stays deterministic.
 */
export function physicalName(prefix: string, role: string, kind: NameKind = "default"): string {
  const limit = nameLimits[kind];
  const full = `${prefix}-${role}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  // The config's prefix starts with a letter (schema); other callers.
  if (!/^[a-z]/.test(full))
    throw new Error(
      argRefuser("physicalName", "")(
        "prefix",
        prefix,
        `makes the name ${JSON.stringify(full)}, which does not start with a letter`,
        "a prefix starting with a lowercase letter (GCP names do)",
      ),
    );
  // Service account ids are 6-30 characters (IAM refuses `co-vm`): a short one gets `-sa`.
  if (kind === "serviceAccount" && full.length < 6) return `${full}-sa`;
  if (full.length <= limit) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 4);
  return `${full.slice(0, limit - 5).replace(/-+$/, "")}-${hash}`;
}

/**
 * A Cloud Storage bucket's name: `<project>-<prefix>-<role>`. Bucket names are global across all of Cloud
 * Storage, and the project id is the one globally unique part a deployment has (`co-media` is surely taken).
 */
export function bucketName(project: string, prefix: string, role: string): string {
  return physicalName(`${project}-${prefix}`, role, "bucket");
}

/** Label values: lowercase letters, digits, _ and -, at most 63 chars. */
export function labelValue(v: string): string {
  return v
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .slice(0, 63);
}

export interface LabelContext {
  stage: number;
  extra?: Record<string, string>;
}

/**
 * The labels every labelable GCP resource carries: app, component, stage, managed-by.
 * The stage is a label value (not part of the name), so a stage move is an in-place label update.
 */
export function labels(ctx: LabelContext, component: string): Record<string, string> {
  return {
    ...(ctx.extra ?? {}),
    app: "course-organizer",
    component: labelValue(component),
    stage: String(ctx.stage),
    "managed-by": "pulumi",
  };
}
