/**
 * The sizing model: node capacity by GKE's reservation rules against hand-computed figures, the stage-4 preset's
 * node bounds derived from its pods, and the configuration it sizes for a load, value by value. (The pod requests
 * it assumes are checked against the rendered Deployments in test/gke.test.ts, which plans stage 4 anyway.)
 */
import { describe, expect, it } from "vitest";
import { allocatable, nodePoolBounds, nodesPerZoneFor, podsPerNode } from "../src/config/node-capacity";
import { loadFor, setArg, pulumiCommand, size, sizeDatabase, sizeRedisCluster, seedTargetPerUser } from "../src/config/sizing";
import { presetFor } from "../src/config/presets";
import { sqlTierMonthly } from "../src/plan/cost";

const base = { project: "p-000000", region: "us-central1", prefix: "co", domain: "example.org" };

describe("GKE node capacity (plan-node-sizes reservation rules)", () => {
  it("n2-standard-8: 7,910m and 29,022 MiB allocatable, 13 app pods", () => {
    // CPU: 8,000 - (60 + 10 + 2 x 5 + 4 x 2.5) = 7,910. Memory: 32,768 - (1,024 + 819.2 + 819.2 + 16,384 x 0.06) - 100 = 29,022.
    expect(allocatable("n2-standard-8")).toEqual({ cpuMilli: 7910, memoryMi: 29022 });
    // (7,910 - 400) / 550 = 13.65 -> 13 by CPU; (29,022 - 512) / 1,056 = 27 by memory.
    expect(podsPerNode("n2-standard-8")).toBe(13);
    // n2-standard-4: CPU 4,000 - 80 = 3,920 -> (3,920 - 400) / 550 = 6.
    expect(podsPerNode("n2-standard-4")).toBe(6);
  });

  it("nodes per zone follow the pods: 80 pods + 15 surge + 3 system = 98 -> 8 nodes -> 3 per zone", () => {
    expect(nodesPerZoneFor("n2-standard-8", 80, true)).toBe(3);
    // 35 + 15 + 3 = 53 -> 5 nodes -> 2 per zone; 25 + 3 at the minima -> 3 nodes -> 1 per zone
    expect(nodesPerZoneFor("n2-standard-8", 35, true)).toBe(2);
    expect(nodesPerZoneFor("n2-standard-8", 25, false)).toBe(1);
    // 170 pods + 15 + 3 = 188 -> 15 nodes -> 5 per zone
    expect(nodesPerZoneFor("n2-standard-8", 170, true)).toBe(5);
  });

  it("the stage-4 preset's node pool bounds are derived from its replica ranges, not fixed", () => {
    const k = presetFor(4, base).kubernetes;
    expect({ min: k.nodesPerZoneMin, max: k.nodesPerZoneMax }).toEqual({ min: 1, max: 3 });
    expect(nodePoolBounds(k.nodeMachineType, [k.primary, k.secondary])).toEqual({ nodesPerZoneMin: 1, nodesPerZoneMax: 3 });
  });
});

describe("load from the seed's per-user figures", () => {
  it.each([
    // stage-1 band: 50 req/s, 300 WebSockets, 100 queries/s, 10 GB, 50 participants, 100 GB egress per 500 users
    [
      250,
      {
        concurrentUsers: 250,
        requestsPerSecond: 25,
        websocketConnections: 150,
        dbQueriesPerSecond: 50,
        mediaStorageGb: 5,
        videoParticipants: 25,
        egressGbPerMonth: 50,
        pubsubGbPerMonth: 0,
      },
    ],
    // stage-4 band beyond 50,000: x 4 of the stage-4 preset
    [
      200000,
      {
        concurrentUsers: 200000,
        requestsPerSecond: 20000,
        websocketConnections: 100000,
        dbQueriesPerSecond: 40000,
        mediaStorageGb: 40960,
        videoParticipants: 30000,
        egressGbPerMonth: 80000,
        pubsubGbPerMonth: 200,
      },
    ],
  ])("%i users", (users, load) => expect(loadFor(users)).toEqual(load));

  it("takes the participants when given", () => expect(loadFor(6000, 1200).videoParticipants).toBe(1200));

  it.each([
    [50, 0.2],
    [500, 0.2],
    [501, 0.15],
    [10000, 0.2],
    [50000, 0.16],
    [300000, 0.15],
  ])("seed cost per user for %i users: $%d", (users, usd) => expect(seedTargetPerUser(users)).toBe(usd));
});

describe("database layout: the cheapest that serves the queries and holds the connections", () => {
  it("10,000 users: 2,400 queries/s and 375 connections -> 4 vCPU primary + 1 replica", () => {
    const d = sizeDatabase({
      qps: 2000,
      clients: 15,
      perClientConnections: 25,
      crossRegionReplicas: 0,
      analyticsReplica: false,
      shardsAllowed: false,
      diskGb: 100,
    });
    // 2 vCPU x 3 instances would serve 3,000 but 500 connections need 8,000 MB (db-custom-2-7680 holds 480).
    expect(d).toMatchObject({ tier: "db-custom-4-15360", readReplicas: 1, shards: 0, maxConnections: 500, capacity: 4000 });
    // (197.25 + 17) x (2 HA + 1 replica)
    expect(d.monthlyUsd).toBeCloseTo((sqlTierMonthly("db-custom-4-15360") + 17) * 3, 2);
  });

  it("raises max_connections for the pods' PgBouncers and a tier that holds them", () => {
    // 340 pods x 3 = 1,020 / 0.8 = 1,275 -> 1,300; 1,300 x 16 MB = 20,800 MB: 8 vCPU (30,720 MB) and up
    const d = sizeDatabase({
      qps: 40000,
      clients: 340,
      perClientConnections: 3,
      crossRegionReplicas: 1,
      analyticsReplica: true,
      shardsAllowed: true,
      diskGb: 100,
    });
    expect(d.maxConnections).toBe(1300);
    expect(Number(/db-custom-([0-9]+)-/.exec(d.tier)![1])).toBeGreaterThanOrEqual(8);
    expect(Number(/db-custom-([0-9]+)-/.exec(d.shardTier)![1])).toBeGreaterThanOrEqual(8);
    expect(d.capacity).toBeGreaterThanOrEqual(48000);
  });

  it("Redis Cluster: the cheapest node type, at least 3 shards", () => {
    // 24.4 GB: 4 x 6.5 GB STANDARD_SMALL (4 x 2 x 104.03 = 832) beats 3 x 13 GB HIGHMEM_MEDIUM (842)
    expect(sizeRedisCluster(24.4)).toEqual({ nodeType: "REDIS_STANDARD_SMALL", shards: 4 });
    // 97.7 GB: 8 x 13 GB (2,246) beats 16 x 6.5 GB (3,329)
    expect(sizeRedisCluster(97.7)).toEqual({ nodeType: "REDIS_HIGHMEM_MEDIUM", shards: 8 });
  });
});

describe("the configuration for a load", () => {
  it("10,000 users: stage 3, pools and bridges from the per-unit capacities", () => {
    const s = size({ users: 10000 });
    expect(s.stage).toBe(3);
    expect(s.sets).toEqual({
      stage: 3,
      "load.concurrentUsers": 10000,
      "load.requestsPerSecond": 1000,
      "load.websocketConnections": 5000,
      "load.dbQueriesPerSecond": 2000,
      "load.mediaStorageGb": 1000,
      "load.videoParticipants": 1500,
      "load.egressGbPerMonth": 3000,
      "load.pubsubGbPerMonth": 0,
      "video.bridgesPerRegion": 2,
      "video.maxBridgesPerRegion": 3,
      "httpPool.minReplicas": 2,
      "httpPool.maxReplicas": 10,
      "wsPool.minReplicas": 2,
      "wsPool.maxReplicas": 5,
      "cache.memoryGb": 5,
      "database.tier": "db-custom-4-15360",
      "database.readReplicas": 1,
      "database.maxConnections": 500,
    });
  });

  it("200,000 users in three regions: stage 4, the load split over the regions, shards past 100,000", () => {
    const s = size({ users: 200000, regions: ["us-central1", "europe-west1", "asia-east1"] });
    expect(s.stage).toBe(4);
    expect(s.sets["gcp:region"]).toBe("us-central1");
    expect(s.sets.secondaryRegions).toEqual(["europe-west1", "asia-east1"]);
    // 20,000 req/s / 100 / 3 = 67 api pods; 100,000 / 1,000 / 3 = 34 ws; 67 x 0.2 = 14 workers
    expect(s.sets["kubernetes.primary.api.max"]).toBe(67);
    expect(s.sets["kubernetes.secondary.ws.max"]).toBe(34);
    expect(s.sets["kubernetes.primary.worker.max"]).toBe(14);
    // 115 pods + 15 + 3 = 133 -> 11 nodes -> 4 per zone
    expect(s.sets["kubernetes.nodesPerZoneMax"]).toBe(4);
    // 30,000 participants / 500 / 3 regions
    expect(s.sets["video.maxBridgesPerRegion"]).toBe(20);
    expect(s.sets["database.shards"]).toBeGreaterThan(0);
  });

  it("a second region alone moves to stage 4; one region at stage 4 drops the cross-region features", () => {
    expect(size({ users: 3000, regions: ["us-central1", "europe-west1"] }).stage).toBe(4);
    const one = size({ users: 30000, regions: ["us-east1"] });
    expect(one.sets).toMatchObject({ "gcp:region": "us-east1", secondaryRegions: [], "database.crossRegionReplicas": false, "video.relay": false });
  });

  it("more participants than one bridge moves a stage-1 load to the pool", () => {
    expect(size({ users: 1000, participants: 800 }).stage).toBe(3);
  });

  it("refuses a user count that is not a whole number >= 1", () => {
    expect(() => size({ users: 0 })).toThrow("--users must be a whole number >= 1, got 0");
    expect(() => size({ users: 2.5 })).toThrow("--users must be a whole number >= 1, got 2.5");
  });

  it("writes each pair as --set and as pulumi config set", () => {
    expect(setArg("kubernetes.primary.api.max", 67)).toBe("kubernetes.primary.api.max=67");
    expect(setArg("secondaryRegions", ["europe-west1"])).toBe('secondaryRegions=["europe-west1"]');
    expect(pulumiCommand("database.tier", "db-custom-4-15360")).toBe("pulumi config set --path course-organizer:database.tier db-custom-4-15360");
    expect(pulumiCommand("secondaryRegions", ["europe-west1"])).toBe(`pulumi config set course-organizer:secondaryRegions '["europe-west1"]'`);
    expect(pulumiCommand("gcp:region", "us-east1")).toBe("pulumi config set --path gcp:region us-east1");
  });
});
