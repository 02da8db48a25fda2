import { describe, expect, it } from "vitest";
import { parseConfig, ConfigError, deepMerge, keyOf, pgbouncerServerCap } from "../src/config/load";
import { podPgbouncerIni } from "../src/files/k8s-manifests";
import { presetFor } from "../src/config/presets";
import { configSchema } from "../src/config/schema";

const base = {
  "gcp:project": "course-organizer-demo",
  "gcp:region": "us-central1",
  "course-organizer:domain": "courses.example.org",
};

function problems(extra: Record<string, string | undefined>): string[] {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...base, "course-organizer:stage": "1", ...extra })) if (v !== undefined) raw[k] = v;
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

const j = (v: unknown) => JSON.stringify(v);

describe("stage presets", () => {
  it.each([1, 2, 3, 4] as const)("stage %i preset passes the schema and the cross-key rules", (stage) => {
    const c = parseConfig({ ...base, "course-organizer:stage": String(stage) });
    expect(c.stage).toBe(stage);
    expect(configSchema.safeParse(c).success).toBe(true);
  });

  it("carries the seed's numbers", () => {
    const s = (n: 1 | 2 | 3 | 4) => parseConfig({ ...base, "course-organizer:stage": String(n) });
    expect(s(1).vm.machineType).toBe("e2-standard-2");
    expect(s(1).vm.dataDiskGb).toBe(50);
    expect(s(1).vm.dataDiskType).toBe("pd-ssd");
    expect(s(2).vm.machineType).toBe("n2-standard-4");
    expect([s(2).vm.backendReplicas, s(2).vm.gunicornWorkers, s(2).vm.gunicornThreads]).toEqual([2, 4, 2]);
    expect([s(2).vm.redisMaxmemory, s(2).vm.redisMaxmemoryPolicy]).toEqual(["2gb", "allkeys-lru"]);
    expect(s(2).vm.redisSave).toEqual([
      [900, 1],
      [300, 10],
      [60, 10000],
    ]);
    expect(s(3).httpPool).toMatchObject({
      machineType: "n2-standard-2",
      minReplicas: 2,
      maxReplicas: 10,
      cpuTargetPercent: 70,
      requestsPerSecondPerInstance: 100,
      cooldownSeconds: 300,
    });
    // The seed's 60 s / 120 s cooldowns are shorter than an instance's boot: GCP's initialization period is the
    // boot time (src/config/boot-times.ts), so the autoscaler does not count booting instances' CPU.
    expect(s(3).wsPool).toMatchObject({
      machineType: "n2-standard-4",
      minReplicas: 2,
      maxReplicas: 5,
      memoryTargetPercent: 75,
      connectionsPerInstance: 1000,
      cooldownSeconds: 300,
    });
    expect(s(3).database).toMatchObject({ tier: "db-custom-4-15360", availabilityType: "REGIONAL", diskGb: 100, maxConnections: 500, pitrDays: 7 });
    expect(s(3).cache).toMatchObject({ tier: "STANDARD_HA", memoryGb: 5 });
    expect(s(3).video).toMatchObject({ mode: "pool", bridgeMachineType: "n2-highcpu-8", bridgesPerRegion: 3, participantsPerBridge: 500 });
    expect(s(4).secondaryRegions).toEqual(["europe-west1"]);
    expect(s(4).kubernetes.primary).toEqual({
      api: { initial: 20, min: 10, max: 50 },
      ws: { initial: 10, min: 10, max: 20 },
      worker: { initial: 5, min: 5, max: 10 },
    });
    expect(s(4).kubernetes.secondary).toEqual({
      api: { initial: 10, min: 10, max: 20 },
      ws: { initial: 5, min: 5, max: 10 },
      worker: { initial: 2, min: 2, max: 5 },
    });
    expect(s(4).database.shards).toBe(4);
    expect(s(1).monitoring.cpuPercent).toEqual({ warning: 70, critical: 85 });
  });

  it("lets a stack file override any preset value and keeps the rest", () => {
    const c = parseConfig({ ...base, "course-organizer:stage": "2", "course-organizer:vm": j({ machineType: "n2-standard-8" }) });
    expect(c.vm.machineType).toBe("n2-standard-8");
    expect(c.vm.gunicornWorkers).toBe(4);
  });

  it("derives names from the prefix, never the stage", () => {
    const p = presetFor(3, { project: "p-123456", region: "europe-west4", prefix: "acme", domain: "a.example.org" });
    expect(p.images.backend).toBe("europe-west4-docker.pkg.dev/p-123456/acme-images/backend:1.0.0");
    expect(p.media.location).toBe("EUROPE-WEST4");
    expect(p.meetDomain).toBe("meet.a.example.org");
  });
});

describe("invalid configs are refused with the key, the value and what is allowed", () => {
  const cases: [string, Record<string, string | undefined>, string][] = [
    ["stage 9", { "course-organizer:stage": "9" }, "course-organizer:stage: 9 is not allowed; allowed: 1, 2, 3, 4"],
    ["stage not a number", { "course-organizer:stage": "two" }, 'course-organizer:stage: "two" is not allowed; allowed: 1, 2, 3, 4'],
    ["stage missing", { "course-organizer:stage": undefined }, "course-organizer:stage: (not set) is required"],
    ["project missing", { "gcp:project": undefined }, "gcp:project: (not set) is required"],
    ["region missing", { "gcp:region": undefined }, "gcp:region: (not set) is required"],
    ["domain missing", { "course-organizer:domain": undefined }, "course-organizer:domain: (not set) is required"],
    [
      "unknown top-level key",
      { "course-organizer:vmm": j({}) },
      'course-organizer:vmm: "{}" is set on an unknown key; allowed: the keys course-organizer:stage,',
    ],
    [
      "unknown nested key",
      { "course-organizer:vm": j({ machineTyp: "e2-standard-2" }) },
      'course-organizer:vm.machineTyp: "e2-standard-2" is set on an unknown key; allowed: the keys enabled, retained, machineType,',
    ],
    ["wrong type", { "course-organizer:vm": j({ dataDiskGb: "fifty" }) }, 'course-organizer:vm.dataDiskGb: "fifty" is not allowed; allowed: a number'],
    [
      "out of range",
      { "course-organizer:vm": j({ snapshotRetentionDays: 3 }) },
      "course-organizer:vm.snapshotRetentionDays: 3 is not allowed; allowed: a number >= 7; did you mean 7?",
    ],
    [
      "bad enum",
      { "course-organizer:vm": j({ dataDiskType: "pd-fast" }) },
      'course-organizer:vm.dataDiskType: "pd-fast" is not allowed; allowed: "pd-ssd", "pd-balanced", "pd-standard"',
    ],
    [
      "bad machine type",
      { "course-organizer:vm": j({ machineType: "huge" }) },
      'course-organizer:vm.machineType: "huge" is not allowed; allowed: a Compute Engine machine type',
    ],
    ["bad region", { "gcp:region": "mars-north9x" }, 'gcp:region: "mars-north9x" is not allowed; allowed: a GCP region name'],
    ["bad project id", { "gcp:project": "X" }, 'gcp:project: "X" is not allowed; allowed: a GCP project id'],
    ["bad prefix", { "course-organizer:prefix": "Co_1" }, 'course-organizer:prefix: "Co_1" is not allowed; allowed: 2-10 lowercase letters or digits'],
    [
      "bad domain",
      { "course-organizer:domain": "not a domain" },
      'course-organizer:domain: "not a domain" is not allowed; allowed: a lowercase fully qualified domain name',
    ],
    ["bad e-mail", { "course-organizer:alertEmails": j(["nobody"]) }, 'course-organizer:alertEmails[0]: "nobody" is not allowed; allowed: an e-mail address'],
    ["no e-mails", { "course-organizer:alertEmails": j([]) }, "course-organizer:alertEmails: [] is not allowed; allowed: at least 1 items"],
    ["not JSON for an object key", { "course-organizer:vm": "machineType=x" }, 'course-organizer:vm: "machineType=x" is not a structured value'],
    [
      "bad image reference",
      { "course-organizer:images": j({ backend: "Not An Image!" }) },
      'course-organizer:images.backend: "Not An Image!" is not allowed; allowed: a container image reference',
    ],
    [
      "min above max",
      { "course-organizer:stage": "3", "course-organizer:httpPool": j({ minReplicas: 12 }) },
      "course-organizer:httpPool.minReplicas: 12 is above course-organizer:httpPool.maxReplicas 10; allowed: at most 10 (or raise course-organizer:httpPool.maxReplicas); did you mean 10?",
    ],
    [
      "warning above critical",
      { "course-organizer:monitoring": j({ cpuPercent: { warning: 90, critical: 85 } }) },
      "course-organizer:monitoring.cpuPercent.warning: 90 is not below course-organizer:monitoring.cpuPercent.critical 85; allowed: less than 85",
    ],
    [
      "database without private service access",
      { "course-organizer:stage": "3", "course-organizer:network": j({ privateServiceAccess: false }) },
      "course-organizer:database.enabled: true needs course-organizer:network.privateServiceAccess=true",
    ],
    [
      "retained and enabled VM exclude each other",
      { "course-organizer:vm": j({ retained: true }) },
      "course-organizer:vm.retained: true excludes course-organizer:vm.enabled=true",
    ],
    ["nothing serving", { "course-organizer:vm": j({ enabled: false }) }, "leaves nothing serving the app"],
    [
      "pools without a load balancer",
      { "course-organizer:stage": "3", "course-organizer:loadBalancer": j({ enabled: false }) },
      "course-organizer:loadBalancer.enabled: false but instance groups or GKE need the load balancer",
    ],
    [
      "cutover during migration",
      { "course-organizer:stage": "3", "course-organizer:database": j({ migrateFromVm: true }), "course-organizer:vm": j({ enabled: true, retained: false }) },
      "course-organizer:database.cutover: true while course-organizer:database.migrateFromVm=true",
    ],
    [
      "migration from the stock postgres image (no pglogical)",
      {
        "course-organizer:stage": "3",
        "course-organizer:database": j({ migrateFromVm: true, cutover: false }),
        "course-organizer:vm": j({ enabled: true, retained: false }),
      },
      'course-organizer:images.postgres: "postgres:15.10-alpine" has no pglogical, which course-organizer:database.migrateFromVm=true preloads',
    ],
    [
      "migration started without a migration",
      { "course-organizer:stage": "3", "course-organizer:database": j({ migrationState: "RUNNING" }) },
      'course-organizer:database.migrationState: "RUNNING" needs course-organizer:database.migrateFromVm=true',
    ],
    [
      "relay without a second region",
      { "course-organizer:stage": "4", "course-organizer:secondaryRegions": j([]) },
      "course-organizer:database.crossRegionReplicas: true needs at least one region",
    ],
    [
      "primary region listed again",
      { "course-organizer:stage": "4", "course-organizer:secondaryRegions": j(["us-central1"]) },
      'course-organizer:secondaryRegions[0]: "us-central1" is the primary region (gcp:region)',
    ],
    [
      "initial replicas outside the range",
      { "course-organizer:stage": "4", "course-organizer:kubernetes": j({ primary: { api: { initial: 60 } } }) },
      "course-organizer:kubernetes.primary.api.initial: 60 is outside course-organizer:kubernetes.primary.api.min..max (10..50); allowed: 10-50; did you mean 50?",
    ],
    [
      "under-provisioned HTTP pool",
      { "course-organizer:stage": "3", "course-organizer:httpPool": j({ maxReplicas: 5 }) },
      "course-organizer:load.requestsPerSecond: 1000 is not covered; the configured maximum is 500 (HTTP pool max 5 x 100 req/s = 500), short by 500",
    ],
    [
      "under-provisioned database",
      { "course-organizer:stage": "3", "course-organizer:database": j({ tier: "db-custom-1-3840", readReplicas: 1 }) },
      "course-organizer:load.dbQueriesPerSecond: 2000 is not covered; the configured maximum is 1000 (Cloud SQL (1 vCPU primary + 1 replica(s) of 1) x 500 queries/s per vCPU = 1000), short by 1000; raise database.tier, database.readReplicas or database.shards",
    ],
    [
      "media larger than the VM's disk share",
      { "course-organizer:load": j({ mediaStorageGb: 40 }) },
      "course-organizer:load.mediaStorageGb: 40 is not covered; the configured maximum is 25 (50 % of the VM's 50 GB data disk = 25 GB",
    ],
    [
      "a DNS zone without the load balancer",
      { "course-organizer:dns": j({ enabled: true }) },
      "course-organizer:dns.enabled: true needs course-organizer:loadBalancer.enabled=true",
    ],
    [
      "GKE pods' PgBouncers over the database's connection budget",
      { "course-organizer:stage": "4", "course-organizer:kubernetes": j({ pgbouncerPoolSizePerPod: 4 }) },
      "course-organizer:kubernetes.pgbouncerPoolSizePerPod: 4 (+1 reserve = 5 server connections per pod) x 115 pods at the kubernetes.primary/secondary maxima in 2 region(s) = 575, over 80 % of course-organizer:database.maxConnections 500 (400) by 175; allowed: a pool whose pods fit 400 connections; or lower the maxima, or raise database.maxConnections; did you mean 2?",
    ],
    [
      "a third region at the stage-4 maxima needs a smaller pod pool",
      { "course-organizer:stage": "4", "course-organizer:secondaryRegions": j(["europe-west1", "asia-east1"]) },
      "course-organizer:kubernetes.pgbouncerPoolSizePerPod: 2 (+1 reserve = 3 server connections per pod) x 150 pods at the kubernetes.primary/secondary maxima in 3 region(s) = 450, over 80 % of course-organizer:database.maxConnections 500 (400) by 50",
    ],
    [
      "private services range on a pod range",
      { "course-organizer:stage": "4", "course-organizer:network": j({ privateServicesAddress: "10.20.0.0" }) },
      'course-organizer:network.privateServicesAddress: "10.20.0.0" makes the Private Service Access range 10.20.0.0/16 overlap the pods range of europe-west1 10.20.0.0/14',
    ],
    [
      "private services address not on its block",
      { "course-organizer:stage": "3", "course-organizer:network": j({ privateServicesAddress: "10.100.4.0" }) },
      'course-organizer:network.privateServicesAddress: "10.100.4.0" does not start a /16 block',
    ],
    [
      "under-provisioned bridges",
      { "course-organizer:stage": "3", "course-organizer:video": j({ maxBridgesPerRegion: 2, bridgesPerRegion: 2 }) },
      "course-organizer:load.videoParticipants: 1500 is not covered; the configured maximum is 1000",
    ],
  ];

  it.each(cases)("%s", (_label, extra, expected) => {
    const found = problems(extra);
    expect(found.length).toBeGreaterThan(0);
    expect(
      found.some((p) => p.includes(expected)),
      `expected a line containing:\n  ${expected}\ngot:\n  ${found.join("\n  ")}`,
    ).toBe(true);
  });

  it("reports every problem at once, one line each", () => {
    const found = problems({
      "course-organizer:vm": j({ dataDiskType: "pd-fast", snapshotRetentionDays: 1 }),
      "course-organizer:media": j({ staticCacheDays: -1 }),
    });
    expect(found).toHaveLength(3);
    expect(found.every((l) => !l.includes("\n"))).toBe(true);
  });

  it("checks naming values before deriving names from them", () => {
    expect(problems({ "course-organizer:prefix": "X" })).toEqual([
      'course-organizer:prefix: "X" is not allowed; allowed: 2-10 lowercase letters or digits, starting with a letter',
    ]);
  });

  it("says nothing about a valid config", () => {
    expect(problems({})).toEqual([]);
  });
});

describe("the GKE pods' connection budget", () => {
  it("stage 4's preset: 115 pods x (pool 2 + reserve 1) = 345 within 80 % of 500; pool 3 would not fit", () => {
    const c = parseConfig({ ...base, "course-organizer:stage": "4" });
    expect(c.kubernetes.pgbouncerPoolSizePerPod).toBe(2);
    expect(pgbouncerServerCap(2)).toBe(3);
    expect(problems({ "course-organizer:stage": "4", "course-organizer:kubernetes": j({ pgbouncerPoolSizePerPod: 3 }) })).toEqual([
      "course-organizer:kubernetes.pgbouncerPoolSizePerPod: 3 (+1 reserve = 4 server connections per pod) x 115 pods at the kubernetes.primary/secondary maxima in 2 region(s) = 460, over 80 % of course-organizer:database.maxConnections 500 (400) by 60; allowed: a pool whose pods fit 400 connections; or lower the maxima, or raise database.maxConnections; did you mean 2?",
    ]);
    // More connections on the database, or fewer pods, make room again.
    expect(
      problems({
        "course-organizer:stage": "4",
        "course-organizer:kubernetes": j({ pgbouncerPoolSizePerPod: 3 }),
        "course-organizer:database": j({ maxConnections: 600 }),
      }),
    ).toEqual([]);
    expect(
      problems({
        "course-organizer:stage": "4",
        "course-organizer:secondaryRegions": j(["europe-west1", "asia-east1"]),
        "course-organizer:kubernetes": j({ pgbouncerPoolSizePerPod: 1 }),
      }),
    ).toEqual([]);
    // Without GKE (stage 3) the key has no pods to budget.
    expect(problems({ "course-organizer:stage": "3", "course-organizer:kubernetes": j({ pgbouncerPoolSizePerPod: 50 }) })).toEqual([]);
  });

  it("counts the cap PgBouncer enforces per pod: the ini's max_db_connections", () => {
    for (const pool of [1, 2, 3, 4, 5, 8, 20, 100]) {
      const ini = podPgbouncerIni({ dbHost: "10.0.0.2", databases: ["course_organizer"], poolSize: pool });
      expect(ini.split("\n")).toContain(`max_db_connections = ${pgbouncerServerCap(pool)}`);
    }
  });
});

describe("config helpers", () => {
  it("deep-merges objects and replaces arrays", () => {
    expect(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] } })).toEqual({ a: { b: 1, c: [3] }, d: 1 });
  });
  it("names keys as the stack file does", () => {
    expect(keyOf(["region"])).toBe("gcp:region");
    expect(keyOf(["vm", "redisSave", 1, 0])).toBe("course-organizer:vm.redisSave[1][0]");
  });
});
