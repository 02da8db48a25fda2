/**
 * Loss of the primary region at stage 4, as config (failover.activeRegion): what `npm run plan -- --from` shows
 * and what the guard proves (nothing stored deleted or replaced), the promoted replicas' exact inputs, the caches
 * and channel layer rebuilt in the surviving region, both regions' workloads repointed, and the refusals.
 */
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { get, ofType, plan, projectDir } from "./helpers/plan";
import { ConfigError, parseConfig } from "../src/config/load";
import { computedOutputs } from "../src/plan/mocks";

const run = promisify(execFile);
const tsx = join(projectDir, "node_modules/.bin/tsx");
const SQL = "gcp:sql/databaseInstance:DatabaseInstance";
const SET = "failover.activeRegion=europe-west1";

describe("region loss at stage 4: npm run plan --from with failover.activeRegion", () => {
  it("lists the promotions, the rebuilt caches and the repointed workloads, and the guard passes (exit 0)", async () => {
    const { stdout } = await run(tsx, ["src/cli/plan.ts", "--stack", "stage4", "--from", "stage4", "--set", SET], { cwd: projectDir, maxBuffer: 32 << 20 });
    expect(stdout).toContain("Stage-move guard: nothing stored is lost.");
    expect(stdout).toMatch(/ 0 to delete \(0 retained\)/);
    const lines = stdout.split("\n");
    const line = (kind: string, type: string, name: string) =>
      lines.find((l) => new RegExp(`^ \\S+ +${kind} +${type.replace(/[/$]/g, "\\$&")} +${name}( |$)`).test(l));
    // The primary's and every shard's cross-region replica are promoted in place.
    for (const name of ["database-replica-europe-west1", ...[0, 1, 2, 3].map((i) => `database-shard-${i}-replica-europe-west1`)]) {
      expect(line("update", SQL, name), name).toContain("instanceType, masterInstanceName, replicaConfiguration, settings.availabilityType");
    }
    // Read replicas, caches and the channel layer in the surviving region.
    for (const [type, name] of [
      [SQL, "database-replica-failover-0"],
      [SQL, "database-replica-failover-1"],
      ["gcp:redis/instance:Instance", "cache-europe-west1-instance"],
      ["gcp:redis/instance:Instance", "cache-channels-europe-west1-0-instance"],
      ["gcp:redis/instance:Instance", "cache-channels-europe-west1-1-instance"],
      ["gcp:redis/cluster:Cluster", "cache-cluster-europe-west1-cluster"],
    ]) {
      expect(line("create", type!, name!), name).toBeDefined();
    }
    // Both regions' pods are repointed (their PgBouncer connects to the promoted primary).
    for (const region of ["us-central1", "europe-west1"]) {
      expect(line("update", "kubernetes:core/v1:ConfigMap", `workloads-${region}-configmap-course-organizer-pgbouncer`), region).toContain(
        "data.pgbouncer.ini",
      );
    }
    // The only replacement is the settings secret's new version (the old one is disabled, kept by GCP).
    expect(lines.filter((l) => l.includes("REPLACE")).map((l) => l.trim().split(/\s+/).slice(2, 4).join(" "))).toEqual([
      "gcp:secretmanager/secretVersion:SecretVersion app-settings-json-version",
    ]);
    // Nothing in the lost region changes: its primary, caches and clusters are not touched.
    for (const name of ["database-primary", "database-replica-0", "database-replica-analytics", "database-shard-0-primary"]) {
      expect(line("(update|REPLACE|delete)", SQL, name), name).toBeUndefined();
    }
    expect(lines.some((l) => / (update|REPLACE|delete) +gcp:redis\/instance:Instance +cache-instance/.test(l))).toBe(false);
  }, 240_000);

  it("promotes the replica to an HA primary with backups and PITR, and the app uses it and the new caches", async () => {
    const p = await plan("stage4", { sets: [SET], withFiles: true });
    const promoted = get(p, SQL, "database-replica-europe-west1");
    expect(promoted.protect).toBe(true);
    expect(promoted.retainOnDelete).toBe(true);
    expect(promoted.inputs.instanceType).toBe("CLOUD_SQL_INSTANCE");
    expect(promoted.inputs.masterInstanceName).toBeUndefined();
    expect(promoted.inputs.replicaConfiguration).toBeUndefined();
    expect(promoted.inputs.deletionProtection).toBe(true);
    expect(promoted.inputs.region).toBe("europe-west1");
    expect(promoted.inputs.name).toBe("co-db-replica-europe-west1");
    expect(promoted.inputs.settings).toMatchObject({
      tier: "db-custom-8-30720",
      availabilityType: "REGIONAL",
      deletionProtectionEnabled: true,
      retainBackupsOnDelete: true,
      backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: true, transactionLogRetentionDays: 7, startTime: "02:00" },
    });
    const failoverReplica = get(p, SQL, "database-replica-failover-0");
    expect(failoverReplica.inputs).toMatchObject({
      name: "co-db-replica-failover-0",
      region: "europe-west1",
      masterInstanceName: "co-db-replica-europe-west1",
      instanceType: "READ_REPLICA_INSTANCE",
    });
    // The lost primary stays in the program exactly as it was.
    const lost = get(p, SQL, "database-primary");
    expect(lost.inputs).toMatchObject({ name: "co-db", region: "us-central1", deletionProtection: true });
    expect(lost.protect).toBe(true);
    // Caches in the surviving region keep RDB persistence where sessions live.
    const cache = get(p, "gcp:redis/instance:Instance", "cache-europe-west1-instance");
    expect(cache.inputs).toMatchObject({
      name: "co-cache-europe-west1",
      region: "europe-west1",
      tier: "STANDARD_HA",
      persistenceConfig: { persistenceMode: "RDB", rdbSnapshotPeriod: "ONE_HOUR" },
    });
    expect(get(p, "gcp:redis/cluster:Cluster", "cache-cluster-europe-west1-cluster").inputs).toMatchObject({
      region: "europe-west1",
      persistenceConfig: { mode: "RDB", rdbConfig: { rdbSnapshotPeriod: "ONE_HOUR" } },
    });
    // Memcached: every region already runs its own (nothing to build).
    expect(ofType(p, "gcp:memcache/instance:Instance").map((m) => [m.name, m.inputs.region])).toEqual([
      ["memcached-instance", "us-central1"],
      ["memcached-europe-west1-instance", "europe-west1"],
    ]);
    // The surviving region's pods take the primary region's replica ranges (api 10-50), the lost region's the smaller.
    const hpa = (region: string) =>
      get(p, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", `workloads-${region}-horizontalpodautoscaler-course-organizer-api-hpa`).inputs.spec as {
        minReplicas: number;
        maxReplicas: number;
      };
    expect([hpa("europe-west1").minReplicas, hpa("europe-west1").maxReplicas]).toEqual([10, 50]);
    expect([hpa("us-central1").minReplicas, hpa("us-central1").maxReplicas]).toEqual([10, 20]);
    // The app's settings name the promoted primary (its private IP from the mock engine) and the new cache.
    const pgb = get(p, "kubernetes:core/v1:ConfigMap", "workloads-us-central1-configmap-course-organizer-pgbouncer").inputs.data as Record<string, string>;
    const ipOf = (physical: string, region: string) => computedOutputs(SQL, physical, { region }, "course-organizer-demo").privateIpAddress as string;
    const promotedIp = ipOf("co-db-replica-europe-west1", "europe-west1");
    expect(promotedIp).not.toBe(ipOf("co-db", "us-central1"));
    expect(p.outputs.databasePrivateIp).toBe(promotedIp);
    expect(pgb["pgbouncer.ini"]).toContain(`course_organizer = host=${promotedIp} port=5432 dbname=course_organizer`);
  }, 240_000);
});

describe("failover.activeRegion is checked against the config", () => {
  const base = { "gcp:project": "course-organizer-demo", "gcp:region": "us-central1", "course-organizer:domain": "courses.example.org" };
  const problems = (raw: Record<string, string>): string[] => {
    try {
      parseConfig({ ...base, ...raw });
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
    return [];
  };
  it("accepts a secondary region at stage 4 and refuses the primary, an unknown region, or no replica to promote", () => {
    expect(problems({ "course-organizer:stage": "4", "course-organizer:failover": JSON.stringify({ activeRegion: "europe-west1" }) })).toEqual([]);
    expect(problems({ "course-organizer:stage": "4", "course-organizer:failover": JSON.stringify({ activeRegion: "us-central1" }) })).toEqual([
      'course-organizer:failover.activeRegion: "us-central1" is the primary region (gcp:region) itself; allowed: one of secondaryRegions (europe-west1), or unset in normal operation',
    ]);
    expect(problems({ "course-organizer:stage": "4", "course-organizer:failover": JSON.stringify({ activeRegion: "asia-east1" }) })).toEqual([
      'course-organizer:failover.activeRegion: "asia-east1" is not one of secondaryRegions (europe-west1); allowed: a secondary region, which holds the replicas to promote',
    ]);
    expect(problems({ "course-organizer:stage": "3", "course-organizer:failover": JSON.stringify({ activeRegion: "europe-west1" }) })).toEqual([
      'course-organizer:failover.activeRegion: "europe-west1" is not one of secondaryRegions (none); allowed: a secondary region, which holds the replicas to promote',
      'course-organizer:failover.activeRegion: "europe-west1" needs database.enabled and database.crossRegionReplicas true: without a cross-region replica there is nothing to promote (restore from backups instead: docs/runbooks/restore.md)',
    ]);
  });
});
