import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { bucketName } from "../src/naming";
import { statefulOptions } from "../src/options";
import { ACCESS_LABEL } from "./media";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext } from "./context";

export interface BackupBucketArgs extends ComponentContext {
  /**
   * Cloud Storage location. A multi-region (US, EU, ASIA) keeps the backups readable when the VM's whole region
   * is lost, which is what a backup outside the VM's disk snapshots is for.
   */
  location: string;
  /**
   * Days a deleted or overwritten object stays recoverable: Cloud Storage soft delete (7 to 90) and the age at
   * which noncurrent versions are removed. pgBackRest deletes expired backups and rewrites its info files; both
   * stay restorable this long, whoever deleted them.
   */
  deletedObjectRetentionDays: number;
  /** Members that read and write the backups (roles/storage.objectAdmin on this bucket only): the VM's identity. */
  writers: pulumi.Input<string>[];
}

/** Cloud Storage soft-delete retention is given in seconds. */
const DAY_SECONDS = 86400;

/**
 * The bucket the VM's pgBackRest archives WAL and base backups to (src/files/pgbackrest.ts): private (uniform
 * access, public access prevention enforced), versioned, soft delete, protected and retained, and read and written
 * by the VM's own service account only (objectAdmin granted on this bucket, no project-wide storage role).
 *
 * Retention without a bucket retention policy: a retention policy (`retentionPolicy`, WORM) forbids deleting *or
 * replacing* any object younger than its period, and pgBackRest rewrites `backup.info` and `archive.info` after
 * every backup and archive push, so every backup would fail with 403. Versioning plus soft delete keep the same
 * promise for this workload: nothing deleted or overwritten disappears for `deletedObjectRetentionDays`, and
 * the VM's objectAdmin role cannot shorten it (changing the soft-delete policy needs storage.buckets.update).
 * pgBackRest's own retention (repo1-retention-full) decides which backups are live.
 *
 * Name `<project>-<prefix>-backups` (src/naming.ts bucketName): never the stage, so it keeps its URN from stage 1
 * to 3. After the move to stage 4 it leaves the program with the VM and stays in GCP (retainOnDelete) until the
 * final archive and release (scripts/release-retired.sh, docs/runbooks/release-retired.md).
 *
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`: the kept full backups at
 * the multi-region rate); soft-deleted and noncurrent bytes bill while kept.
 */
export class BackupBucket extends pulumi.ComponentResource {
  public readonly bucket: gcp.storage.Bucket;
  /** Physical bucket name (known in preview). */
  public readonly bucketName: string;
  /** The objectAdmin grants: the VM's first boot archives WAL, so they come before it. */
  public readonly writerGrants: gcp.storage.BucketIAMMember[];

  constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:backup:BackupBucket", name, {}, opts);
    const problems = backupBucketProblems(args);
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);
    this.bucketName = bucketName(args.project, args.prefix, "backups");

    this.bucket = new gcp.storage.Bucket(
      `${name}-bucket`,
      {
        name: this.bucketName,
        location: args.location,
        storageClass: "STANDARD",
        labels: { ...args.labels, [ACCESS_LABEL]: "private" },
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        versioning: { enabled: true },
        softDeletePolicy: { retentionDurationSeconds: args.deletedObjectRetentionDays * DAY_SECONDS },
        lifecycleRules: [
          {
            // Overwritten info files and expired backups: kept as noncurrent versions, then removed.
            action: { type: "Delete" },
            condition: { daysSinceNoncurrentTime: args.deletedObjectRetentionDays, withState: "ARCHIVED" },
          },
        ],
        forceDestroy: false,
      },
      statefulOptions(this),
    );

    this.writerGrants = args.writers.map(
      (member, i) =>
        new gcp.storage.BucketIAMMember(`${name}-writer-${i}`, { bucket: this.bucket.name, role: "roles/storage.objectAdmin", member }, { parent: this }),
    );

    this.registerOutputs({ bucketName: this.bucketName });
  }
}

/**
 * Argument checks, one refusal line each (src/config/refusal.ts). The config refuses what it could produce first
 * (vm.backup.deletedObjectRetentionDays 7-90, vm.backup.bucketLocation); these guard other callers.
 */
export function backupBucketProblems(args: Pick<BackupBucketArgs, "deletedObjectRetentionDays" | "location" | "writers">): string[] {
  const refuse = argRefuser("BackupBucket");
  const p: string[] = [];
  // Cloud Storage soft delete: 0 (off) or 7 to 90 days.
  const days = args.deletedObjectRetentionDays;
  if (!Number.isInteger(days) || days < 7 || days > 90)
    p.push(refuse("deletedObjectRetentionDays", days, "is not a Cloud Storage soft-delete retention", "a whole number of days, 7-90"));
  if (!/^[A-Z]+[A-Z0-9-]*$/.test(args.location))
    p.push(refuse("location", args.location, "is not an upper-case Cloud Storage location", "e.g. US, EU, US-CENTRAL1"));
  if (args.writers.length === 0)
    p.push(refuse("writers", args.writers, "is empty: nothing could write the backups", "at least one member (the VM's service account)"));
  return p;
}
