/**
 * The monthly estimate of each stage's plan against figures computed by hand from data/prices.json
 * (730 h/month, us-central1 list prices), line by line where the rule is the point.
 */
import { describe, expect, it } from "vitest";
import { plan, projectDir } from "./helpers/plan";
import { estimateCost, seedComparison, type CostEstimate } from "../src/plan/cost";
import { parseConfig } from "../src/config/load";
import { readStackConfig } from "../src/plan/stackfile";

async function cost(stack: string, sets: string[] = []): Promise<CostEstimate> {
  return estimateCost(await plan(stack, { sets }), parseConfig(readStackConfig(projectDir, stack, sets).config));
}
const line = (c: CostEstimate, item: RegExp) => {
  const found = c.lines.filter((l) => item.test(l.item));
  expect(found.map((l) => l.item), String(item)).toHaveLength(1);
  return found[0]!;
};
const secrets = (c: CostEstimate) => c.lines.filter((l) => l.item === "secret versions").reduce((s, l) => s + l.monthlyUsd, 0);

describe("stage 1: one e2-standard-2", () => {
  it("is the VM, its disks and IP, seven secrets, NAT and 100 GB egress: $80.01", async () => {
    const c = await cost("stage1");
    // e2-standard-2 48.92 + 30 GB pd-balanced boot disk x 0.10 = 51.92
    expect(line(c, /^vm-vm /).monthlyUsd).toBeCloseTo(51.92, 2);
    // 50 GB pd-ssd x 0.17 = 8.50 + snapshots ~ one full copy 50 GB x 0.05 = 2.50
    expect(line(c, /^vm-data /).monthlyUsd).toBeCloseTo(11.0, 2);
    expect(line(c, /^vm-ip /).monthlyUsd).toBeCloseTo(3.65, 2);
    // The VM's six secrets and pgBackRest's repository cipher pass.
    expect(secrets(c)).toBeCloseTo(7 * 0.06, 2);
    // one VM x 730 h x 0.0014
    expect(line(c, /Cloud NAT/).monthlyUsd).toBeCloseTo(1.022, 2);
    expect(line(c, /^internet egress/).monthlyUsd).toBeCloseTo(100 * 0.12, 2);
    expect(c.totalMonthlyUsd).toBeCloseTo(51.92 + 11 + 3.65 + 0.42 + 1.022 + 12, 1);
    expect(c.atMaxMonthlyUsd).toBeCloseTo(c.totalMonthlyUsd, 2);
    expect(c.seedEstimate).toEqual({ stage: 1, range: "$50-100", lowUsd: 50, highUsd: 100 });
  });
});

describe("stage 2: n2-standard-4, media on Cloud Storage behind the CDN", () => {
  it("adds the load balancer, Cloud Armor, the bucket and the CDN: $217.27", async () => {
    const c = await cost("stage2");
    // n2-standard-4 with sustained use 113.46 + boot disk 3.00
    expect(line(c, /^vm-vm /).monthlyUsd).toBeCloseTo(116.46, 2);
    // Cloud Armor: 5 per policy + 1 per rule x 2
    expect(line(c, /Cloud Armor/).monthlyUsd).toBeCloseTo(7, 2);
    expect(line(c, /forwarding rules/).monthlyUsd).toBeCloseTo(18.25, 2);
    // 100 GB x 0.02; 600 GB egress, 80 % from the CDN at 0.08, the rest at 0.12, LB processing 0.008/GB
    expect(line(c, /^Cloud Storage/).monthlyUsd).toBeCloseTo(2, 2);
    expect(line(c, /^Cloud CDN egress/).monthlyUsd).toBeCloseTo(480 * 0.08, 2);
    expect(line(c, /^internet egress/).monthlyUsd).toBeCloseTo(120 * 0.12, 2);
    expect(line(c, /^load balancer data processed/).monthlyUsd).toBeCloseTo(120 * 0.008, 2);
    expect(secrets(c)).toBeCloseTo(8 * 0.06, 2);
    const hand = 116.46 + 11 + 3.65 + 3.65 + 7 + 18.25 + 0.48 + 1.022 + 2 + 38.4 + 14.4 + 0.96;
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
      expect(pool.atMaxMonthlyUsd).toBeGreaterThan(pool.monthlyUsd * 9);
    }
    // No Memcached list price in the price table: counted 0 and said so on the line, never guessed.
    const memcached = line(c, /^co-memcached /);
    expect(memcached.monthlyUsd).toBe(0);
    expect(memcached.basis).toMatch(/^not counted: no list price found/);
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
