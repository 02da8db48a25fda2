/**
 * Components and file renderers refuse bad arguments in the config's refusal format (src/config/refusal.ts):
 * `<Owner> <param>.<path>: <value> <problem>; allowed: <...>`. The config refuses every value the program could
 * produce these from first (test/config-corpus.test.ts); these checks guard the components' other callers.
 *
 * Each component below is constructed with one bad argument by a program under the recording engine: it throws a
 * `pulumi.ResourceError` whose message is exactly the refusal line, and registers no child resource (only the
 * component itself). Each check of the pure checkers is exercised once, line for line.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { AppSettings } from "../components/app-settings";
import { BackupBucket } from "../components/backup-bucket";
import { Database } from "../components/database";
import { Dns, dnsProblems } from "../components/dns";
import { GkeCluster, gkeClusterProblems } from "../components/gke-cluster";
import { InstancePool } from "../components/instance-pool";
import { LoadBalancer } from "../components/load-balancer";
import { Media } from "../components/media";
import { Memcached, memcachedProblems } from "../components/memcached";
import { Monitoring } from "../components/monitoring";
import { Network, regionRanges } from "../components/network";
import { Queue, queueProblems } from "../components/queue";
import { Redis } from "../components/redis";
import { RedisCluster, redisClusterProblems } from "../components/redis-cluster";
import { ServiceAccount } from "../components/service-account";
import { VideoBridgePool } from "../components/video-bridges";
import { VmPlatform, vmPlatformProblems } from "../components/vm-platform";
import { Workloads, workloadsProblems } from "../components/workloads";
import { argRefuser } from "../src/config/refusal";
import { planStack } from "../src/plan/engine";
import { projectDir } from "./helpers/plan";

/** The shared format with an argument's key: owner, a space, the argument path, then value, problem and allowed. */
const ARG_REFUSAL = /^[A-Za-z]+ [A-Za-z0-9.[\]_-]+: .+; allowed: .+$/;

/** Construct a component in a program under the recording engine; what it threw and what got registered. */
async function construct(build: () => unknown): Promise<{ error: unknown; types: string[] }> {
  let error: unknown;
  const plan = await planStack({
    stack: "stage1",
    projectDir,
    preview: true,
    program: {
      project: "course-organizer",
      main: async () => {
        try {
          build();
        } catch (e) {
          error = e;
        }
        return {};
      },
    },
  });
  return { error, types: plan.resources.map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack") };
}

const labels = { app: "course-organizer" };

/** [component type token, constructor call with one bad argument, the exact refusal line] */
const cases: [string, () => unknown, string][] = [
  [
    "course-organizer:app:AppSettings",
    () =>
      new AppSettings("s", {
        prefix: "co",
        labels,
        database: { name: "d", user: "u", password: "p", directHost: "h" },
        redisUrl: "r",
        redisCaCert: "c",
        mediaBucket: "m",
        staticBucket: "s",
        cdnHost: "h",
        jitsiDomain: "j",
        extra: { REDIS_URL: "x" },
        accessors: [],
      }),
    'AppSettings args.extra.REDIS_URL: "REDIS_URL" redefines a built-in setting; allowed: a name that is not a built-in setting (SETTINGS_KEYS: DATABASE_URL, REDIS_URL, ...)',
  ],
  [
    "course-organizer:backup:BackupBucket",
    () =>
      new BackupBucket("b", {
        prefix: "co",
        project: "p",
        labels,
        location: "US",
        deletedObjectRetentionDays: 91,
        writers: ["serviceAccount:a@p.iam.gserviceaccount.com"],
      }),
    "BackupBucket args.deletedObjectRetentionDays: 91 is not a Cloud Storage soft-delete retention; allowed: a whole number of days, 7-90",
  ],
  [
    "course-organizer:database:Database",
    () =>
      new Database("db", {
        databases: ["app"],
        userName: "app",
        replicas: [],
        maintenanceHour: 4,
        backupStartTime: "02:00",
        pitrDays: 7,
        backupRetainedCount: 14,
        promote: { replicaKey: "us-east1", readReplicas: 0 },
      } as never),
    'Database args.promote.replicaKey: "us-east1" is not one of its replicas; allowed: none: the database has no replica to promote',
  ],
  [
    "course-organizer:dns:Dns",
    () =>
      new Dns("dns", {
        prefix: "co",
        labels,
        domain: "courses.example.org",
        meetDomain: "meet.example.org",
        dnssec: true,
        entryIp: "203.0.113.1",
        authorizationRecords: [],
      } as never),
    'Dns args.meetDomain: "meet.example.org" is not inside the zone of args.domain courses.example.org; allowed: a host under courses.example.org; did you mean "meet.courses.example.org"?',
  ],
  [
    "course-organizer:kubernetes:GkeCluster",
    () => new GkeCluster("gke", { nodesPerZoneMin: 4, nodesPerZoneMax: 3, maintenanceStartTime: "03:00" } as never),
    "GkeCluster args.nodesPerZoneMin: 4 is above args.nodesPerZoneMax 3; allowed: at most 3; did you mean 3?",
  ],
  [
    "course-organizer:compute:InstancePool",
    () =>
      new InstancePool("pool", {
        region: "us-central1",
        zones: ["us-central1-a"],
        autoscaling: { minReplicas: 1, maxReplicas: 2, cooldownSeconds: 60, cpuTarget: 0.7, scaleIn: { maxReplicas: 1, windowSeconds: 300 } },
        healthCheck: { port: 80, path: "/", initialDelaySec: -1 },
      } as never),
    "InstancePool args.healthCheck.initialDelaySec: -1 is outside the auto-healing initial delay GCE takes; allowed: 0-3600 seconds",
  ],
  [
    "course-organizer:lb:LoadBalancer",
    () =>
      new LoadBalancer("lb", {
        prefix: "co",
        labels,
        domains: [],
        staticBucketName: "s",
        mediaBucketName: "m",
        staticCacheDays: 30,
        mediaCacheDays: 7,
        signedMedia: false,
        routes: {
          default: {
            targets: [{ key: "vm", groups: [{ group: "g", kind: "instanceGroup" }], healthCheck: { path: "/health", port: 80 }, weight: 100 }],
            timeoutSec: 30,
            affinity: "NONE",
            drainingTimeoutSec: 60,
          },
        },
        rateLimitPerMinute: 600,
        wafMode: "enforce",
        logSampleRate: 1,
      } as never),
    "LoadBalancer args.domains: [] is empty; allowed: at least the main domain",
  ],
  [
    "course-organizer:media:Media",
    () =>
      new Media("media", {
        prefix: "co",
        project: "p",
        labels,
        location: "US",
        domains: ["courses.example.org"],
        nearlineAfterDays: 30,
        softDeleteDays: 91,
      } as never),
    "Media args.softDeleteDays: 91 is not a Cloud Storage soft-delete retention; allowed: 7-90 days",
  ],
  [
    "course-organizer:cache:Memcached",
    () => new Memcached("mc", { cpu: 1, memoryMb: 1500 } as never),
    "Memcached args.memoryMb: 1500 does not fit a 1-vCPU Memcached node; allowed: a multiple of 1024 MB from 1024 to 6144 (6656 MB per vCPU)",
  ],
  [
    "course-organizer:monitoring:Monitoring",
    () =>
      new Monitoring("m", {
        alertEmails: ["ops@example.org"],
        uptimeRegions: ["USA", "EUROPE", "ASIA_PACIFIC"],
        thresholds: {},
        websocketCapacity: -1,
      } as never),
    "Monitoring args.websocketCapacity: -1 is negative; allowed: 0 or more",
  ],
  [
    "course-organizer:network:Network",
    () => new Network("net", { prefix: "co", labels, regions: [] } as never),
    "Network args.regions: [] is empty; allowed: at least one region (the primary first)",
  ],
  [
    "course-organizer:queue:Queue",
    () => new Queue("q", { maxDeliveryAttempts: 4, minBackoffSeconds: 10, maxBackoffSeconds: 600, ackDeadlineSeconds: 60, retentionDays: 7 } as never),
    "Queue args.maxDeliveryAttempts: 4 is outside Pub/Sub's dead-letter delivery attempts; allowed: 5-100; did you mean 5?",
  ],
  [
    "course-organizer:cache:Redis",
    () => new Redis("r", { maintenanceHour: 24 } as never),
    "Redis args.maintenanceHour: 24 is not an hour of the day; allowed: 0-23 (UTC)",
  ],
  [
    "course-organizer:cache:RedisCluster",
    () => new RedisCluster("rc", { shards: 0, replicasPerShard: 1 } as never),
    "RedisCluster args.shards: 0 is outside Redis Cluster's shard counts; allowed: 1-250; did you mean 1?",
  ],
  [
    "course-organizer:identity:ServiceAccount",
    () => new ServiceAccount("sa", { prefix: "co", project: "p", role: "vm", description: "d", roles: ["roles/logging.logWriter", "roles/editor"] }),
    'ServiceAccount args.roles[1]: "roles/editor" is a basic role (project-wide); allowed: predefined roles that name what the account does, e.g. roles/logging.logWriter',
  ],
  [
    "course-organizer:video:VideoBridgePool",
    () => new VideoBridgePool("vb", { drainSeconds: 3541 } as never),
    "VideoBridgePool args.drainSeconds: 3541 does not leave room in GCE's graceful shutdown (3600 s at most, 60 s of it for the bridge's own stop); allowed: a whole number of seconds, 1-3540",
  ],
  [
    "course-organizer:vm:VmPlatform",
    () => new VmPlatform("vm", { snapshotRetentionDays: 7, snapshotStartTime: "03:30" } as never),
    'VmPlatform args.snapshotStartTime: "03:30" is not a whole hour (GCP snapshot schedules start on the hour); allowed: HH:00 (UTC)',
  ],
  [
    "course-organizer:kubernetes:Workloads",
    () =>
      new Workloads("wl", {
        replicas: { api: { min: 2, initial: 1, max: 4 }, ws: { min: 1, initial: 1, max: 1 }, worker: { min: 1, initial: 1, max: 1 } },
      } as never),
    "Workloads args.replicas.api.initial: 1 is outside args.replicas.api.min..max (2..4); allowed: 2-4; did you mean 2?",
  ],
];

describe("a component refuses a bad argument with a ResourceError in the refusal format, before any child", () => {
  it("covers every component that checks its arguments", () => {
    expect(cases.map(([type]) => type.split(":")[2])).toEqual([
      "AppSettings",
      "BackupBucket",
      "Database",
      "Dns",
      "GkeCluster",
      "InstancePool",
      "LoadBalancer",
      "Media",
      "Memcached",
      "Monitoring",
      "Network",
      "Queue",
      "Redis",
      "RedisCluster",
      "ServiceAccount",
      "VideoBridgePool",
      "VmPlatform",
      "Workloads",
    ]);
  });

  it.each(cases)("%s", async (type, build, line) => {
    const { error, types } = await construct(build);
    expect(error).toBeInstanceOf(pulumi.ResourceError);
    expect((error as Error).message).toBe(line);
    expect(line).toMatch(ARG_REFUSAL);
    // Only the component itself: the check runs before its first child.
    expect(types).toEqual([type]);
  });
});

describe("each check of the pure checkers, line for line", () => {
  it("Dns, GkeCluster, Memcached, Queue, RedisCluster, VmPlatform, Workloads", () => {
    const lines = [
      ...dnsProblems({ domain: "courses.example.org", meetDomain: "meet.courses.example.org" }),
      ...gkeClusterProblems({ nodesPerZoneMin: 1, nodesPerZoneMax: 3, maintenanceStartTime: "3:00" }),
      ...memcachedProblems({ cpu: 2, memoryMb: 14336 }),
      ...queueProblems({ maxDeliveryAttempts: 101, minBackoffSeconds: 30, maxBackoffSeconds: 20, ackDeadlineSeconds: 5, retentionDays: 8 }),
      ...queueProblems({ maxDeliveryAttempts: 5, minBackoffSeconds: 10, maxBackoffSeconds: 601, ackDeadlineSeconds: 601, retentionDays: 0 }),
      ...redisClusterProblems({ shards: 251, replicasPerShard: 3 }),
      ...vmPlatformProblems({ snapshotRetentionDays: 6, snapshotStartTime: "03:00" }),
      ...workloadsProblems({ replicas: { api: { min: 1, initial: 1, max: 1 }, ws: { min: 3, initial: 3, max: 2 }, worker: { min: 1, initial: 5, max: 4 } } }),
    ];
    expect(lines).toEqual([
      'GkeCluster args.maintenanceStartTime: "3:00" is not a time of day; allowed: HH:MM (UTC)',
      "Memcached args.memoryMb: 14336 does not fit a 2-vCPU Memcached node; allowed: a multiple of 1024 MB from 1024 to 13312 (6656 MB per vCPU)",
      "Queue args.maxDeliveryAttempts: 101 is outside Pub/Sub's dead-letter delivery attempts; allowed: 5-100; did you mean 100?",
      "Queue args.minBackoffSeconds: 30 is above args.maxBackoffSeconds 20; allowed: at most 20; did you mean 20?",
      "Queue args.ackDeadlineSeconds: 5 is outside Pub/Sub's acknowledgement deadlines (seconds); allowed: 10-600; did you mean 10?",
      "Queue args.retentionDays: 8 is outside Pub/Sub's message retention (days); allowed: 1-7; did you mean 7?",
      "Queue args.maxBackoffSeconds: 601 is outside Pub/Sub's retry backoff (seconds); allowed: 0-600; did you mean 600?",
      "Queue args.ackDeadlineSeconds: 601 is outside Pub/Sub's acknowledgement deadlines (seconds); allowed: 10-600; did you mean 600?",
      "Queue args.retentionDays: 0 is outside Pub/Sub's message retention (days); allowed: 1-7; did you mean 1?",
      "RedisCluster args.shards: 251 is outside Redis Cluster's shard counts; allowed: 1-250; did you mean 250?",
      "RedisCluster args.replicasPerShard: 3 is outside the replicas per shard this component supports; allowed: 0-2",
      "VmPlatform args.snapshotRetentionDays: 6 keeps less than a week of snapshots; allowed: at least 7 days; did you mean 7?",
      "Workloads args.replicas.ws.min: 3 is above args.replicas.ws.max 2; allowed: at most 2; did you mean 2?",
      "Workloads args.replicas.worker.initial: 5 is outside args.replicas.worker.min..max (1..4); allowed: 1-4; did you mean 4?",
    ]);
    for (const l of lines) expect(l).toMatch(ARG_REFUSAL);
  });

  it("regionRanges refuses a region beyond the base ranges' room", () => {
    const base = { subnetCidr: "10.0.224.0/20", podsCidr: "10.4.0.0/14", servicesCidr: "10.8.0.0/20" };
    expect(regionRanges(["us-central1", "us-east1"], base).map((r) => r.subnetCidr)).toEqual(["10.0.224.0/20", "10.0.240.0/20"]);
    expect(() => regionRanges(["us-central1", "us-east1", "europe-west1"], base)).toThrow(
      'regionRanges regions[2]: "europe-west1" leaves no room in the base ranges (subnet and services third octet + 16, pods second octet + 4 per region); allowed: at most 2 regions from these bases, or lower bases',
    );
  });

  it("argRefuser keys an argument by its owner and parameter", () => {
    expect(argRefuser("RedisCluster")("shards", 0, "is below 1", "1-250", 1)).toBe("RedisCluster args.shards: 0 is below 1; allowed: 1-250; did you mean 1?");
    expect(argRefuser("nginxConf", "options")("httpPort", 0, "is not a TCP port", "1-65535")).toBe(
      "nginxConf options.httpPort: 0 is not a TCP port; allowed: 1-65535",
    );
    expect(argRefuser("containingCidr", "")("ip", "x", "is not an IPv4 address", "a.b.c.d")).toBe(
      'containingCidr ip: "x" is not an IPv4 address; allowed: a.b.c.d',
    );
  });
});
