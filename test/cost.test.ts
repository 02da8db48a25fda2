/**
 * The monthly estimate of each stage's plan against figures computed by hand from data/prices.json
 * (730 h/month, us-central1 list prices), line by line where the rule is the point.
 */
import { describe, expect, it } from "vitest";
import { plan, projectDir } from "./helpers/plan";
import { estimateCost, seedComparison, ZERO_PRICED, type CostEstimate } from "../src/plan/cost";
import { parseConfig } from "../src/config/load";
import { readStackConfig } from "../src/plan/stackfile";

async function cost(stack: string, sets: string[] = []): Promise<CostEstimate> {
  return estimateCost(await plan(stack, { sets }), parseConfig(readStackConfig(projectDir, stack, sets).config));
}
const line = (c: CostEstimate, item: RegExp) => {
  const found = c.lines.filter((l) => item.test(l.item));
  expect(
    found.map((l) => l.item),
    String(item),
  ).toHaveLength(1);
  return found[0]!;
};
const secrets = (c: CostEstimate) => c.lines.filter((l) => l.item === "secret versions").reduce((s, l) => s + l.monthlyUsd, 0);

describe("stage 1: one e2-standard-2", () => {
  it("is the VM, its disks and IP, eight secrets, backups, NAT and 100 GB egress: $82.15", async () => {
    const c = await cost("stage1");
    // e2-standard-2 48.92 + 30 GB pd-balanced boot disk x 0.10 = 51.92
    expect(line(c, /^vm-vm /).monthlyUsd).toBeCloseTo(51.92, 2);
    // 50 GB pd-ssd x 0.17 = 8.50 + snapshots ~ one full copy 50 GB x 0.05 = 2.50
    expect(line(c, /^vm-data /).monthlyUsd).toBeCloseTo(11.0, 2);
    expect(line(c, /^vm-ip /).monthlyUsd).toBeCloseTo(3.65, 2);
    // The VM's six secrets, pgBackRest's repository cipher pass and the Jitsi JWT signing secret.
    expect(secrets(c)).toBeCloseTo(8 * 0.06, 2);
    // one VM x 730 h x 0.0014
    expect(line(c, /Cloud NAT/).monthlyUsd).toBeCloseTo(1.022, 2);
    expect(line(c, /^internet egress/).monthlyUsd).toBeCloseTo(100 * 0.12, 2);
    // Backups: at most 2 full copies of what the 50 GB data disk holds beside 10 GB of media, multi-region 0.026.
    expect(line(c, /database backups/).monthlyUsd).toBeCloseTo(2 * (50 - 10) * 0.026, 2);
    expect(c.totalMonthlyUsd).toBeCloseTo(51.92 + 11 + 3.65 + 0.48 + 1.022 + 12 + 2.08, 1);
    expect(c.atMaxMonthlyUsd).toBeCloseTo(c.totalMonthlyUsd, 2);
    expect(c.seedEstimate).toEqual({ stage: 1, range: "$50-100", lowUsd: 50, highUsd: 100 });
  });
});

describe("stage 2: n2-standard-4, media on Cloud Storage behind the CDN", () => {
  it("adds the load balancer, Cloud Armor, the bucket and the CDN: $230.93", async () => {
    const c = await cost("stage2");
    // n2-standard-4 with sustained use 113.46 + boot disk 3.00
    expect(line(c, /^vm-vm /).monthlyUsd).toBeCloseTo(116.46, 2);
    // Cloud Armor: 5 per policy + 1 per rule: the backend services' policy (2 throttles, 5 preconfigured WAF rules)
    // and the CDN buckets' edge policy (1)
    expect(line(c, /^lb-armor /).monthlyUsd).toBeCloseTo(12, 2);
    expect(line(c, /^lb-edge-armor /).monthlyUsd).toBeCloseTo(6, 2);
    expect(line(c, /forwarding rules/).monthlyUsd).toBeCloseTo(18.25, 2);
    // 100 GB x 0.02; 600 GB egress, 80 % from the CDN at 0.08, the rest at 0.12, LB processing 0.008/GB
    expect(line(c, /^Cloud Storage/).monthlyUsd).toBeCloseTo(2, 2);
    expect(line(c, /^Cloud CDN egress/).monthlyUsd).toBeCloseTo(480 * 0.08, 2);
    expect(line(c, /^internet egress/).monthlyUsd).toBeCloseTo(120 * 0.12, 2);
    expect(line(c, /^load balancer data processed/).monthlyUsd).toBeCloseTo(120 * 0.008, 2);
    // Stage 1's eight and the CDN signing key.
    expect(secrets(c)).toBeCloseTo(9 * 0.06, 2);
    // Backups: the media left the disk, so at most 2 full copies of the whole 50 GB disk.
    expect(line(c, /database backups/).monthlyUsd).toBeCloseTo(2 * 50 * 0.026, 2);
    const hand = 116.46 + 11 + 3.65 + 3.65 + 12 + 6 + 18.25 + 0.54 + 1.022 + 2 + 38.4 + 14.4 + 0.96 + 2.6;
    expect(c.totalMonthlyUsd).toBeCloseTo(hand, 1);
    expect(c.totalMonthlyUsd).toBeGreaterThanOrEqual(c.seedEstimate.lowUsd);
    expect(c.totalMonthlyUsd).toBeLessThanOrEqual(c.seedEstimate.highUsd);
  });
});

describe("stage 3: pools, Cloud SQL HA, Memorystore, Videobridges", () => {
  it("prices the instance groups from their templates at min and max size", async () => {
    const c = await cost("stage3");
    // n2-standard-2 56.73 + 3.00 boot disk = 59.73: x2 min, x10 max
    const http = line(c, /^http-pool-group /);
    expect(http.monthlyUsd).toBeCloseTo(2 * 59.73, 2);
    expect(http.atMaxMonthlyUsd).toBeCloseTo(10 * 59.73, 2);
    // n2-standard-4 113.46 + 3.00 = 116.46: x2 min, x5 max
    const ws = line(c, /^ws-pool-group /);
    expect(ws.monthlyUsd).toBeCloseTo(2 * 116.46, 2);
    expect(ws.atMaxMonthlyUsd).toBeCloseTo(5 * 116.46, 2);
    // n2-highcpu-8 167.52 + 3.00 = 170.52: x3 min, x6 max
    const jvb = line(c, /^video-bridges-us-central1-pool-group /);
    expect(jvb.monthlyUsd).toBeCloseTo(3 * 170.52, 2);
    expect(jvb.atMaxMonthlyUsd).toBeCloseTo(6 * 170.52, 2);
  });

  it("prices Cloud SQL HA as two instances plus SSD and backups, the replica once, Memorystore per GB-hour", async () => {
    const c = await cost("stage3");
    // db-custom-4-15360 197.246 x 2 (HA) + 100 GB SSD at the HA rate 0.34 + backups ~ 100 GB x 0.08 = 436.49
    expect(line(c, /^co-db \(/).monthlyUsd).toBeCloseTo(197.246 * 2 + 34 + 8, 1);
    // replica: 197.246 + 17
    expect(line(c, /^co-db-replica-0 /).monthlyUsd).toBeCloseTo(197.246 + 17, 1);
    // STANDARD_HA 5 GB x 0.054 x 730
    expect(line(c, /^co-cache /).monthlyUsd).toBeCloseTo(5 * 0.054 * 730, 1);
    // The stopped VM costs its disks only.
    expect(line(c, /^vm-vm /).monthlyUsd).toBeCloseTo(3, 2);
  });
});

describe("stage 4: GKE in two regions", () => {
  it("prices each regional cluster's fee and its node pool across three zones", async () => {
    const c = await cost("stage4");
    for (const region of ["us-central1", "europe-west1"]) {
      expect(line(c, new RegExp(`^co-gke-${region} \\(GKE cluster fee\\)`)).monthlyUsd).toBeCloseTo(0.1 * 730, 2);
      const pool = line(c, new RegExp(`^gke-${region}-pool `));
      // n2-standard-8 226.87 (sustained use) + 100 GB pd-balanced boot disk 10.00 (the node pool's default), x 3 zones
      expect(pool.monthlyUsd).toBeCloseTo(3 * (226.8676 + 10), 0);
      // 3 per zone at the maxima (derived from the pods, src/config/node-capacity.ts): 9 nodes
      expect(pool.atMaxMonthlyUsd).toBeCloseTo(9 * (226.8676 + 10), 0);
    }
    // Memcached, one instance per region: 3 nodes x (1 vCPU x 0.05 + 4 GB x 0.0044) x 730 = 148.04 each
    for (const item of [/^co-memcached /, /^co-memcached-europe-west1 /]) {
      expect(line(c, item).monthlyUsd).toBeCloseTo(3 * (0.05 + 4 * 0.0044) * 730, 2);
    }
  });

  it("at its maxima: node pools sized from their pods (18 nodes, not 60), about $14,900 on demand and $9,400 with a 3-year commitment", async () => {
    const c = await cost("stage4");
    const nodes = c.lines.filter((l) => /^gke-.*-pool /.test(l.item));
    expect(nodes.reduce((s, l) => s + l.atMaxMonthlyUsd, 0)).toBeCloseTo(18 * (226.8676 + 10), 0);
    // With 1-10 nodes per zone the maxima came to about $24,000; the rest of the gap to the seed's $8,000 is the
    // preset's fixed database layout (8-vCPU HA primary, 3 replicas, analytics replica, 4 HA shards, each shard's
    // cross-region replica).
    expect(c.atMaxMonthlyUsd).toBeGreaterThan(14600);
    expect(c.atMaxMonthlyUsd).toBeLessThan(15200);
    const c3 = estimateCost(await plan("stage4", { sets: [] }), parseConfig(readStackConfig(projectDir, "stage4", []).config), { commitment: "3y" });
    expect(c3.atMaxMonthlyUsd).toBeGreaterThan(9100);
    expect(c3.atMaxMonthlyUsd).toBeLessThan(9650);
  });
});

describe("committed-use discounts, sized to the maxima", () => {
  it("prices the stage-3 pools at the list price less the commitment, at min and max alike", async () => {
    const p = await plan("stage3", { sets: [] });
    const config = parseConfig(readStackConfig(projectDir, "stage3", []).config);
    const c3 = estimateCost(p, config, { commitment: "3y" });
    // n2-standard-2 list 70.90 x (1 - 0.55) = 31.905 + 3.00 boot disk, x 10 (the maximum, billed every month)
    const http = line(c3, /^http-pool-group /);
    expect(http.monthlyUsd).toBeCloseTo(10 * (70.9 * 0.45 + 3), 2);
    expect(http.atMaxMonthlyUsd).toBeCloseTo(http.monthlyUsd, 2);
    // Cloud SQL: 197.246 x 2 x (1 - 0.52) + 34 + 8 (storage and backups undiscounted)
    expect(line(c3, /^co-db \(/).monthlyUsd).toBeCloseTo(197.246 * 2 * 0.48 + 34 + 8, 1);
    // Memorystore: 5 GB x 0.054 x 730 x (1 - 0.40)
    expect(line(c3, /^co-cache /).monthlyUsd).toBeCloseTo(5 * 0.054 * 730 * 0.6, 1);
    expect(c3.options).toEqual([
      "3-year committed-use discounts sized to the maxima: Compute Engine 55 %, Cloud SQL 52 %, Memorystore 40 % (billed every month, used or not)",
    ]);
    const c1 = estimateCost(p, config, { commitment: "1y" });
    expect(line(c1, /^http-pool-group /).monthlyUsd).toBeCloseTo(10 * (70.9 * 0.63 + 3), 2);
    // Usage lines are not discounted.
    expect(line(c1, /^Cloud CDN egress/).monthlyUsd).toBe(line(c3, /^Cloud CDN egress/).monthlyUsd);
  });
});

describe("Spot nodes", () => {
  it("prices a Spot pool at the list price less the Spot rate, never committed", async () => {
    const sets = ["kubernetes.workerSpot=true"];
    const p = await plan("stage4", { sets });
    const config = parseConfig(readStackConfig(projectDir, "stage4", sets).config);
    for (const commitment of ["none", "3y"] as const) {
      const c = estimateCost(p, config, { commitment });
      const spot = line(c, /^gke-us-central1-spot-pool /);
      // n2-standard-8 list (8 x 0.031611 + 32 x 0.004237) x 730 = 283.58 x (1 - 0.60) + 10.00 disk; 1-2 nodes
      const per = (8 * 0.031611 + 32 * 0.004237) * 730 * 0.4 + 10;
      expect(spot.monthlyUsd).toBeCloseTo(1 * per, 1);
      expect(spot.atMaxMonthlyUsd).toBeCloseTo(2 * per, 1);
      expect(c.options).toContain("Spot node pools at 60 % off list");
    }
  });
});

describe.each(["stage1", "stage2", "stage3", "stage4"])("%s: every planned resource type is priced or its zero explained", (stack) => {
  it("has a nonzero line for each type not in ZERO_PRICED (src/plan/cost.ts)", async () => {
    const p = await plan(stack, { sets: [] });
    const c = await cost(stack);
    const priced = new Set(c.lines.filter((l) => l.monthlyUsd > 0 && l.atMaxMonthlyUsd > 0).map((l) => l.type));
    const types = [...new Set(p.resources.filter((r) => r.custom).map((r) => r.type))].sort();
    expect(types.filter((t) => !priced.has(t) && !(t in ZERO_PRICED))).toEqual([]);
    // No line at zero unless its type says why; no type both priced and explained as zero (a double count).
    expect(c.lines.filter((l) => l.monthlyUsd === 0 && !(l.type in ZERO_PRICED)).map((l) => l.item)).toEqual([]);
    expect(types.filter((t) => t in ZERO_PRICED && priced.has(t))).toEqual([]);
  });
});

describe("the estimate beside the seed's", () => {
  const seed = { stage: 3, range: "$1,500-2,000", lowUsd: 1500, highUsd: 2000 };
  it.each([
    [2162.9, "this estimate is 8 % above its upper bound"],
    [1750, "this estimate is within it"],
    [1200, "this estimate is 20 % below its lower bound"],
  ])("$%d: %s", (total, words) => expect(seedComparison({ totalMonthlyUsd: total, seedEstimate: seed })).toBe(words));
});
