import { describe, expect, it } from "vitest";
import { machineMonthly, sqlTierMonthly } from "../src/plan/cost";
import { deployTime } from "../src/plan/deploy-time";
import type { Plan, PlannedResource } from "../src/plan/engine";
import { plan } from "./helpers/plan";

describe("price rules, against hand-computed values from data/prices.json", () => {
  it("uses listed machine prices, with the sustained-use price for N2", () => {
    expect(machineMonthly("e2-standard-2").usd).toBe(48.92);
    expect(machineMonthly("n2-standard-4").usd).toBe(113.46);
    expect(machineMonthly("n2-highcpu-8").usd).toBe(167.52);
  });
  it("prices unlisted machine types from per-vCPU and per-GB rates", () => {
    // n2-standard-8: (8 x 0.031611 + 32 x 0.004237) x 730 x 0.8 = 226.86
    expect(machineMonthly("n2-standard-8").usd).toBeCloseTo(226.8676, 3);
    // e2-standard-8: (8 x 0.02181159 + 32 x 0.00292353) x 730 = 195.67
    expect(machineMonthly("e2-standard-8").usd).toBeCloseTo(195.6733, 3);
  });
  it("prices Cloud SQL custom tiers per vCPU and GB", () => {
    // db-custom-4-15360: (4 x 0.0413 + 15 x 0.0070) x 730 = 197.246 (gcp-prices.md: zonal 197.25)
    expect(sqlTierMonthly("db-custom-4-15360")).toBeCloseTo(197.246, 3);
    expect(sqlTierMonthly("db-custom-2-7680")).toBeCloseTo(98.623, 3);
  });
  it("says in the refusal format what data/prices.json cannot price (the config accepts these; Google runs them)", () => {
    expect(() => machineMonthly("n1-standard-2")).toThrow(
      'cost estimate machine type: "n1-standard-2" has no price in data/prices.json; allowed: a type listed in machineMonthly, or <family>-standard|highcpu|highmem-<vCPUs> of a family in familyHourly (e2, n2)',
    );
    expect(() => sqlTierMonthly("db-f1-micro")).toThrow(
      'cost estimate Cloud SQL tier: "db-f1-micro" has no price in data/prices.json; allowed: a custom tier db-custom-<vCPUs>-<MB> (priced per vCPU and GB)',
    );
  });
});

describe("deploy time", () => {
  const r = (name: string, type: string, deps: string[] = [], custom = true, parent?: string): PlannedResource => ({
    urn: `u::${name}`,
    type,
    name,
    custom,
    parent,
    inputs: {},
    dependencies: deps.map((d) => `u::${d}`),
    propertyDependencies: {},
    protect: false,
    retainOnDelete: false,
    deleteBeforeReplace: false,
    aliases: [],
    ignoreChanges: [],
    replaceOnChanges: [],
    additionalSecretOutputs: [],
  });
  it("follows the longest chain, expanding dependencies on components to their children", () => {
    const plan: Plan = {
      stack: "s",
      stage: 3,
      preview: false,
      outputs: {},
      resources: [
        r("net", "course-organizer:network:Network", [], false),
        r("vpc", "gcp:compute/network:Network", [], true, "u::net"),
        r("psa", "gcp:servicenetworking/connection:Connection", ["vpc"], true, "u::net"),
        r("sql", "gcp:sql/databaseInstance:DatabaseInstance", ["net"]),
        r("topic", "gcp:pubsub/topic:Topic"),
      ],
    };
    const d = deployTime(plan);
    // vpc 30 s, then the peering 60 s, then Cloud SQL 600 s.
    expect(d.totalSeconds).toBe(690);
    expect(d.criticalPath.map((s) => [s.name, s.seconds, s.finishesAt])).toEqual([
      ["vpc", 30, 30],
      ["psa", 60, 90],
      ["sql", 600, 690],
    ]);
  });
});

describe("deploy time of each stage's first `pulumi up` (data/creation-times.json)", () => {
  it.each([
    // stage 1: VPC 30 s, subnet 20 s, the VM 30 s
    ["stage1", "gcp:compute/instance:Instance", 30 + 20 + 30],
    // stage 3: VPC 30 + PSA range 10 + peering 60 + Cloud SQL 600 + replica 400 + settings 5 + template 10 + MIG 60 + LB chain 4 x 15
    ["stage3", "gcp:sql/databaseInstance:DatabaseInstance", 30 + 10 + 60 + 600 + 400 + 5 + 10 + 60 + 4 * 15],
    // stage 4: the same to the settings, then the metrics adapter's rollout 120 s, its APIService once it is ready
    // (registering it earlier breaks API discovery) 5 s, and the HPA that reads it 5 s
    ["stage4", "gcp:sql/databaseInstance:DatabaseInstance", 30 + 10 + 60 + 600 + 400 + 5 + 120 + 5 + 5],
  ])("%s: the critical path runs through %s, %i s", async (stack, through, seconds) => {
    const d = deployTime(await plan(stack));
    expect(d.criticalPath.map((s) => s.type)).toContain(through);
    expect(d.totalSeconds).toBe(seconds);
    expect(d.criticalPath.at(-1)!.finishesAt).toBe(seconds);
    // Each step starts when the one before it ends: a chain, not a sum of unrelated resources.
    d.criticalPath.forEach((s, i) => expect(s.finishesAt - s.seconds).toBe(i === 0 ? 0 : d.criticalPath[i - 1]!.finishesAt));
  });
});
