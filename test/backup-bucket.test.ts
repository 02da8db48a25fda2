/**
 * The VM's backup bucket and the pgBackRest files the VM receives: exact inputs, grants and protection in the
 * plan, the rendered config naming the bucket, the cipher pass reaching the container only through the env file.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { file, get, ofType, plan } from "./helpers/plan";
import { backupBucketProblems } from "../components/backup-bucket";
import { STANZA } from "../src/files/pgbackrest";
import { multiRegionOf } from "../src/config/presets";

const T = {
  bucket: "gcp:storage/bucket:Bucket",
  member: "gcp:storage/bucketIAMMember:BucketIAMMember",
};

describe("the VM's backup bucket", () => {
  it("is private, versioned, soft-deleting, protected and retained, in the region's multi-region", async () => {
    const p = await plan("stage1");
    const b = get(p, T.bucket, "vm-backups-bucket");
    expect(b.parent).toBe("urn:pulumi:stage1::course-organizer::course-organizer:backup:BackupBucket::vm-backups");
    expect(b.protect).toBe(true);
    expect(b.retainOnDelete).toBe(true);
    expect(b.inputs).toMatchObject({
      name: "course-organizer-demo-co-backups",
      location: "US",
      storageClass: "STANDARD",
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      versioning: { enabled: true },
      softDeletePolicy: { retentionDurationSeconds: 30 * 86400 },
      lifecycleRules: [{ action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: 30, withState: "ARCHIVED" } }],
      forceDestroy: false,
    });
    // No WORM retention policy: pgBackRest rewrites backup.info/archive.info, which a retention policy refuses.
    expect(b.inputs.retentionPolicy).toBeUndefined();
    expect((b.inputs.labels as Record<string, string>).access).toBe("private");
  });

  it("is written by the VM's account alone, granted before the VM boots", async () => {
    const p = await plan("stage2");
    const grants = ofType(p, T.member).filter((m) => m.inputs.bucket === "course-organizer-demo-co-backups");
    expect(grants.map((g) => [g.name, g.inputs.role, g.inputs.member])).toEqual([
      ["vm-backups-writer-0", "roles/storage.objectAdmin", "serviceAccount:co-vm-sa@course-organizer-demo.iam.gserviceaccount.com"],
    ]);
    const vm = get(p, "gcp:compute/instance:Instance", "vm-vm");
    expect(vm.dependencies).toContain(grants[0]!.urn);
  });

  it("stays with the retired VM at stage 3 and leaves the program with it at stage 4 (retained in GCP)", async () => {
    expect(get(await plan("stage3"), T.bucket, "vm-backups-bucket").inputs.name).toBe("course-organizer-demo-co-backups");
    expect(ofType(await plan("stage4"), T.bucket).map((b) => b.name)).not.toContain("vm-backups-bucket");
  });

  it("refuses arguments GCP would refuse, naming them", () => {
    expect(backupBucketProblems({ deletedObjectRetentionDays: 5, location: "us", writers: [] })).toEqual([
      "BackupBucket args.deletedObjectRetentionDays: 5 is not a Cloud Storage soft-delete retention; allowed: a whole number of days, 7-90",
      'BackupBucket args.location: "us" is not an upper-case Cloud Storage location; allowed: e.g. US, EU, US-CENTRAL1',
      "BackupBucket args.writers: [] is empty: nothing could write the backups; allowed: at least one member (the VM's service account)",
    ]);
    expect(["us-central1", "europe-west1", "asia-east1", "australia-southeast1"].map(multiRegionOf)).toEqual(["US", "EU", "ASIA", "AUSTRALIA-SOUTHEAST1"]);
  });
});

describe("what the VM receives for point-in-time recovery", () => {
  it("pgbackrest.conf names the bucket and carries no secret; the cipher pass reaches the container from the tmpfs env file", async () => {
    const p = await plan("stage1", { withFiles: true });
    const conf = file(p, "vm", "pgbackrest/pgbackrest.conf");
    expect(conf).toContain("repo1-type=gcs\nrepo1-gcs-bucket=course-organizer-demo-co-backups\nrepo1-gcs-key-type=auto\n");
    expect(conf).toContain("repo1-cipher-type=aes-256-cbc");
    expect(conf).toContain("repo1-retention-full=2");
    expect(conf).toContain(`[${STANZA}]\npg1-path=/var/lib/postgresql/data/pgdata`);
    expect(conf).not.toMatch(/cipher-pass=/);
    const pg = parse(file(p, "vm", "docker-compose.yml")).services.postgres;
    expect(pg.environment.PGBACKREST_REPO1_CIPHER_PASS).toBe(
      "${PGBACKREST_CIPHER_PASS:?PGBACKREST_CIPHER_PASS comes from /run/course-organizer/app.env (fetch-secrets.sh)}",
    );
    // Recovery point: a segment switch at least every 5 minutes.
    expect(pg.command).toEqual([
      "postgres",
      "-c",
      "archive_mode=on",
      "-c",
      `archive_command=pgbackrest --stanza=${STANZA} archive-push %p`,
      "-c",
      "archive_timeout=300",
    ]);
    expect(file(p, "vm", "bin/fetch-secrets.sh")).toContain("fetch 'PGBACKREST_CIPHER_PASS' 'co-vm-backup-cipher-pass'");
    expect(file(p, "vm", "systemd/co-pg-backup.timer")).toContain("OnCalendar=*-*-* 04:00:00 UTC\nPersistent=true");
    expect(file(p, "vm", "bin/pg-backup.sh")).toContain(`if [[ "$(date -u +%u)" == '7' ]]`);
    const userData = parse(file(p, "vm", "cloud-init/user-data.yaml")) as { runcmd: string[][] };
    expect(userData.runcmd.find((c) => c[1] === "enable" && c.includes("co-app.service"))).toEqual(
      expect.arrayContaining(["co-pg-stanza.service", "co-pg-backup.timer"]),
    );
  });
});
