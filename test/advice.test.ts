/**
 * Advice for a load: the seed's stage bands and triggers, then for the five loads of the seed's cost-per-user
 * table the advised `sets` planned in-process by the engine `npm run plan` uses (config validation, the capacity
 * check at the load, every component), the planned resources carrying the advised values, and the cost per user
 * at peak at or below the seed's.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { advise, stackOf } from "../src/config/advice";
import { size, setArg, seedCostPerUser } from "../src/config/sizing";
import { capacityProblems } from "../src/config/capacity";
import { parseConfig } from "../src/config/load";
import { readStackConfig } from "../src/plan/stackfile";
import { runAdviseCli } from "../src/cli/advise";
import { get, ofType, plan, projectDir } from "./helpers/plan";

const planned = (stack: string, sets: string[]) => plan(stack, { sets });

describe("stage for a load (seed bands)", () => {
  it.each([
    [50, 1],
    [500, 1],
    [501, 2],
    [2000, 2],
    [2001, 3],
    [10000, 3],
    [10001, 4],
    [200000, 4],
  ])("%i concurrent users -> stage %i", (users, stage) => {
    expect(size({ users }).stage).toBe(stage);
  });
});

describe.each(seedCostPerUser.map((r) => [r.users, r.usd] as const))("%i concurrent users", (users, seedUsd) => {
  it(`plans with the advised sets, covers the load, and costs at most $${seedUsd} per user at peak`, async () => {
    const a = await advise({ users }, { plan: planned });
    const args = Object.entries(a.sets).map(([k, v]) => setArg(k, v));
    // The full sets (budget included) pass the config schema, the cross-key rules and the capacity check.
    const config = parseConfig(readStackConfig(projectDir, stackOf(a.stage), args).config);
    expect(capacityProblems(config)).toEqual([]);
    expect(a.capacity.problems).toEqual([]);
    expect(config.load.concurrentUsers).toBe(users);
    for (const k of ["requestsPerSecond", "websocketConnections", "videoParticipants", "dbQueriesPerSecond"] as const) {
      expect(a.capacity.atMax[k], k).toBeGreaterThanOrEqual(a.capacity.load[k]);
    }
    // The plan the advice priced carries the advised values.
    const p = await planned(
      stackOf(a.stage),
      Object.entries(a.sets)
        .filter(([k]) => k !== "monitoring.monthlyBudgetUsd")
        .map(([k, v]) => setArg(k, v)),
    );
    expect(p.stage).toBe(a.stage);
    if (a.stage === 3) {
      const as = get(p, "gcp:compute/regionAutoscaler:RegionAutoscaler", "http-pool-autoscaler");
      expect((as.inputs.autoscalingPolicy as any).maxReplicas).toBe(a.sets["httpPool.maxReplicas"]);
    }
    if (a.stage === 4) {
      const pools = ofType(p, "gcp:container/nodePool:NodePool").filter((x) => !x.name.includes("spot"));
      // One app node pool per region (the stage-4 stack file's two regions).
      expect(pools.map((x) => x.name)).toEqual(["gke-us-central1-pool", "gke-europe-west1-pool"]);
      for (const pool of pools) {
        expect(pool.inputs.autoscaling).toEqual({
          minNodeCount: a.sets["kubernetes.nodesPerZoneMin"],
          maxNodeCount: a.sets["kubernetes.nodesPerZoneMax"],
          locationPolicy: "BALANCED",
        });
      }
    }
    if (a.stage >= 3) {
      const db = ofType(p, "gcp:sql/databaseInstance:DatabaseInstance").find((r) => r.name === "database-instance" || (r.inputs as any).name === "co-db");
      expect((db?.inputs.settings as any).tier).toBe(a.sets["database.tier"]);
      // HA kept: the primary stays REGIONAL.
      expect((db?.inputs.settings as any).availabilityType).toBe("REGIONAL");
    }
    // Cost per user at peak: the month at the maxima over the users, at or below the seed's figure.
    expect(a.cost.perUserAtPeakUsd).toBeCloseTo(a.cost.atMaxMonthlyUsd / users, 4);
    expect(a.cost.perUserAtPeakUsd).toBeLessThanOrEqual(seedUsd);
    expect(a.cost.meetsSeed).toBe(true);
    const names = ["on-demand", "commitment-1y", "commitment-3y"];
    // Stage 4 also weighs the email workers on Spot nodes (a second configuration, planned and priced).
    expect(a.cost.options.map((o) => o.name)).toEqual(a.stage === 4 ? [...names, ...names.map((n) => `${n}+spot-workers`)] : names);
    expect(a.cost.options.map((o) => o.name)).toContain(a.cost.option);
    expect(a.sets["kubernetes.workerSpot"]).toBe(a.stage === 4 ? a.cost.option.endsWith("+spot-workers") : undefined);
    // The least commitment that reaches the seed: every option of a lesser commitment misses it.
    const term = names.indexOf(a.cost.option.replace("+spot-workers", ""));
    for (const o of a.cost.options.filter((x) => names.indexOf(x.name.replace("+spot-workers", "")) < term))
      expect(o.perUserAtPeakUsd).toBeGreaterThan(seedUsd);
    // Within the chosen commitment, the cheaper variant.
    for (const o of a.cost.options.filter((x) => x.name.replace("+spot-workers", "") === names[term]))
      expect(a.cost.atMaxMonthlyUsd).toBeLessThanOrEqual(o.atMaxMonthlyUsd + 0.01);
    expect(a.sets["monitoring.monthlyBudgetUsd"]).toBe(Math.ceil(a.cost.atMaxMonthlyUsd / 100) * 100);
    expect(a.commands).toContain(`pulumi config set --path course-organizer:stage ${a.stage}`);
    // The README's sizing table (npm run bench:sizing) shows this figure.
    expect(readFileSync(join(projectDir, "README.md"), "utf8")).toContain(
      `| ${users.toLocaleString("en-US")} | ${a.stage} | ${a.cost.option} | $${a.cost.totalMonthlyUsd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })} | $${a.cost.atMaxMonthlyUsd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })} | $${a.cost.perUserAtPeakUsd.toFixed(3)} |`,
    );
  });
});

describe("the CLI", () => {
  it("--json prints stage, sets, capacity and cost", async () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((s: any) => (out.push(String(s)), true));
    try {
      expect(await runAdviseCli(["--users", "500", "--json"])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const a = JSON.parse(out.join(""));
    expect(a.stage).toBe(1);
    expect(a.sets).toMatchObject({ stage: 1, "load.concurrentUsers": 500, "vm.gunicornWorkers": 3 });
    expect(Object.keys(a.cost)).toEqual(expect.arrayContaining(["totalMonthlyUsd", "atMaxMonthlyUsd", "perUserAtPeakUsd"]));
    expect(a.capacity.problems).toEqual([]);
  });

  it("refuses a user count that is not a whole number", async () => {
    await expect(runAdviseCli(["--users", "-1"])).rejects.toThrow('--users: "-1" is not a whole number');
  });
});
