/**
 * The catalog of what Google Cloud offers (data/gcp-catalog.json) and its look-ups (src/config/catalog.ts): dated
 * and sourced, internally consistent, and answering the boundary cases of Google's published rules exactly.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REGIONS, catalog, gcsLocationsFor, machineType, nearestTypeInRegion, seriesInRegion, seriesOf, sqlTier, zonesOf } from "../src/config/catalog";
import { ConfigError, parseConfig } from "../src/config/load";
import { nearestName, nearestNumber, refusal } from "../src/config/refusal";
import { readStackConfig } from "../src/plan/stackfile";
import { projectDir } from "./helpers/plan";

const raw = JSON.parse(readFileSync(join(projectDir, "data/gcp-catalog.json"), "utf8")) as Record<string, unknown> & { asOf: string };

describe("data/gcp-catalog.json", () => {
  it("is dated and every section names its source", () => {
    expect(raw.asOf).toMatch(/^20[0-9]{2}-[01][0-9]-[0-3][0-9]$/);
    const sections = Object.entries(raw).filter(([k]) => k !== "about" && k !== "asOf");
    expect(sections.map(([k]) => k).sort()).toEqual([
      "cloudSql",
      "cloudStorage",
      "labels",
      "machineSeries",
      "memorystoreMemcached",
      "memorystoreRedis",
      "memorystoreRedisCluster",
      "regions",
    ]);
    for (const [k, v] of sections) expect((v as { source?: string }).source, k).toMatch(/^https:\/\/cloud\.google\.com\//);
  });

  it("has the regions and zones Google publishes, zone letters included", () => {
    expect(REGIONS.length).toBeGreaterThanOrEqual(40);
    for (const r of REGIONS) {
      expect(r).toMatch(/^[a-z]+-[a-z]+[0-9]+$/);
      expect(zonesOf(r).length, r).toBeGreaterThanOrEqual(3);
      for (const z of zonesOf(r)) expect(z.startsWith(`${r}-`), z).toBe(true);
    }
    expect(zonesOf("us-central1")).toEqual(["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"]);
    expect(zonesOf("us-east1")).toEqual(["us-east1-b", "us-east1-c", "us-east1-d"]);
    expect(zonesOf("europe-west1")).toEqual(["europe-west1-b", "europe-west1-c", "europe-west1-d"]);
    expect(zonesOf("moon-west9")).toEqual([]);
  });

  it("lists every machine series the schema's machine-type pattern accepts", () => {
    const schema = readFileSync(join(projectDir, "src/config/schema.ts"), "utf8");
    const series = /\^\(([a-z0-9|]+)\)-\(micro/.exec(schema)![1]!.split("|");
    expect(series).toEqual(["e2", "n1", "n2", "n2d", "c2", "c2d", "c3", "c3d", "c4", "t2d", "t2a", "m1", "m3", "n4"]);
    for (const s of series)
      expect(machineType(`${s}-x`).ok === false && (machineType(`${s}-x`) as { problem: string }).problem, s).not.toBe(
        "is not a Compute Engine machine series",
      );
  });
});

describe("machine types", () => {
  it("knows predefined sizes with their memory", () => {
    expect(machineType("e2-standard-2")).toEqual({ ok: true, facts: { name: "e2-standard-2", series: "e2", vcpus: 2, memoryGb: 8, custom: false } });
    expect(machineType("n1-standard-1")).toMatchObject({ ok: true, facts: { vcpus: 1, memoryGb: 3.75 } });
    expect(machineType("e2-medium")).toMatchObject({ ok: true, facts: { vcpus: 2, memoryGb: 4 } });
    expect(machineType("c3-highcpu-22")).toMatchObject({ ok: true, facts: { vcpus: 22, memoryGb: 44 } });
  });

  it("applies each series' custom rules at their edges", () => {
    expect(machineType("e2-custom-2-1024")).toMatchObject({ ok: true, facts: { vcpus: 2, memoryGb: 1, custom: true } }); // 0.5 GB/vCPU
    expect(machineType("e2-custom-2-16384")).toMatchObject({ ok: true }); // 8 GB/vCPU
    expect(machineType("e2-custom-2-16640")).toMatchObject({ ok: false, nearest: "e2-custom-2-16384" }); // 8.125 GB/vCPU
    expect(machineType("e2-custom-2-4000")).toMatchObject({ ok: false }); // not a multiple of 256
    expect(machineType("n2-custom-32-32768")).toMatchObject({ ok: true });
    expect(machineType("n2-custom-34-34816")).toMatchObject({ ok: false, nearest: "n2-custom-32-34816" }); // 32+ in steps of 4
    expect(machineType("n1-custom-2-7680")).toMatchObject({ ok: false }); // N1 custom is custom-<vCPU>-<MiB>
    expect(machineType("c3-custom-4-16384")).toMatchObject({ ok: false }); // no custom C3
  });

  it("suggests the nearest size of the shape", () => {
    expect(machineType("n2-standard-6")).toMatchObject({ ok: false, nearest: "n2-standard-4" });
    expect(machineType("n2-standrd-4")).toMatchObject({ ok: false, nearest: "n2-standard-4" });
  });

  it("knows where a series is offered", () => {
    expect(seriesInRegion("t2a", "us-central1")).toBe(true);
    expect(seriesInRegion("t2a", "europe-west1")).toBe(false);
    expect(seriesInRegion("n2", "europe-west1")).toBe(true);
    expect(seriesInRegion("n2", "moon-west9")).toBe(false);
    // Pairs from the Compute Engine API's machine-type list (data/gcp-catalog.json machineSeries.source).
    expect(seriesInRegion("c3d", "us-central1")).toBe(true);
    expect(seriesInRegion("c3d", "asia-northeast1")).toBe(false);
    expect(seriesInRegion("c3", "europe-west6")).toBe(false);
    expect(seriesInRegion("c2d", "europe-west9")).toBe(false);
    expect(seriesInRegion("t2d", "asia-northeast3")).toBe(false);
    expect(seriesInRegion("n1", "us-south1")).toBe(false);
    expect(seriesInRegion("n2", "northamerica-south1")).toBe(false);
    expect(seriesInRegion("n2d", "europe-north2")).toBe(false);
    expect(seriesInRegion("c4", "africa-south1")).toBe(true);
    expect(seriesInRegion("n4", "northamerica-south1")).toBe(true);
    expect(seriesOf("northamerica-south1")).toEqual(["e2", "n4", "c3d", "c4"]);
  });

  it("has a region rule for every series, in step with its note", () => {
    const regionList = (regions: string[]) => regions.join(", ");
    for (const [name, s] of Object.entries(catalog.machineSeries.series)) {
      if (s.regions === "*") {
        expect(s.note, name).toMatch(/^Offered in every region of this catalog\./);
        continue;
      }
      expect(s.regions.length, name).toBeGreaterThan(0);
      expect(new Set(s.regions).size, name).toBe(s.regions.length);
      for (const r of s.regions) expect(REGIONS, `${name}: ${r}`).toContain(r);
      // The note names exactly the regions the list leaves out (or the list itself, when that is shorter).
      const inCatalogOrder = Object.keys(catalog.regions.zones);
      const missing = inCatalogOrder.filter((r) => !s.regions.includes(r));
      expect(missing.length, `${name} is in every region: write "*"`).toBeGreaterThan(0);
      const expected =
        missing.length <= s.regions.length
          ? `Not offered in ${regionList(missing)}.`
          : `Offered only in ${regionList(inCatalogOrder.filter((r) => s.regions.includes(r)))} (none of the other catalog regions).`;
      expect(s.note!.startsWith(expected), `${name}: ${s.note}`).toBe(true);
    }
  });

  it("suggests the closest type a region offers", () => {
    const facts = (name: string) => (machineType(name) as { ok: true; facts: Parameters<typeof nearestTypeInRegion>[0] }).facts;
    // Same vCPUs and memory; of those, the most similar name.
    expect(nearestTypeInRegion(facts("c3d-standard-4"), "asia-northeast1")).toBe("c2d-standard-4");
    // Neither c2d nor c3 in europe-west6; c4-highcpu has c3d-highcpu's 2 GB per vCPU, n2d-highcpu only 1 GB.
    expect(nearestTypeInRegion(facts("c3d-highcpu-8"), "europe-west6")).toBe("c4-highcpu-8");
    // No n2 there: e2- and n4-standard-4 are equally close by name, and catalog order puts e2 first.
    expect(nearestTypeInRegion(facts("n2-standard-4"), "northamerica-south1")).toBe("e2-standard-4");
    // N1's 3.75 GB per vCPU is matched exactly by C4 (us-south1 has no n1).
    expect(nearestTypeInRegion(facts("n1-standard-8"), "us-south1")).toBe("c4-standard-8");
    // A custom type gets a predefined type of its size.
    expect(nearestTypeInRegion(facts("n2-custom-4-16384"), "europe-north2")).toBe("e2-standard-4");
    // Arm stays Arm, and there is none outside t2a's regions.
    expect(nearestTypeInRegion(facts("t2a-standard-4"), "europe-west1")).toBeUndefined();
    for (const [name, region] of [
      ["c3d-standard-4", "asia-northeast1"],
      ["n1-standard-8", "us-south1"],
      ["c2-standard-60", "europe-west8"],
      ["t2d-standard-60", "asia-northeast3"],
    ] as const) {
      const nearest = nearestTypeInRegion(facts(name), region)!;
      expect(machineType(nearest).ok, `${name} -> ${nearest}`).toBe(true);
      expect(seriesInRegion(nearest.split("-")[0]!, region), `${name} -> ${nearest} in ${region}`).toBe(true);
    }
  });
});

describe("the config refuses a machine type where its region lacks the series", () => {
  function problems(stack: string, sets: string[]): string[] {
    try {
      parseConfig(readStackConfig(projectDir, stack, sets).config);
      return [];
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
  }
  const machineLines = (lines: string[]) => lines.filter((l) => /MachineType: |machineType: /.test(l));

  it("refuses c3d in asia-northeast1 and suggests the closest type offered there", () => {
    expect(machineLines(problems("stage2", ["gcp:region=asia-northeast1", "vm.machineType=c3d-standard-4"]))).toEqual([
      `course-organizer:vm.machineType: "c3d-standard-4" is not offered in asia-northeast1 (series c3d); allowed: a type of a series asia-northeast1 has: ${seriesOf("asia-northeast1").join(", ")}; did you mean "c2d-standard-4"?`,
    ]);
  });

  it("refuses a node type the secondary region lacks, naming that region only", () => {
    expect(machineLines(problems("stage4", ['secondaryRegions=["asia-northeast1"]', "kubernetes.nodeMachineType=c3d-standard-8"]))).toEqual([
      `course-organizer:kubernetes.nodeMachineType: "c3d-standard-8" is not offered in asia-northeast1 (series c3d); allowed: a type of a series asia-northeast1 has: ${seriesOf("asia-northeast1").join(", ")}; did you mean "c2d-standard-8"?`,
    ]);
  });

  it("accepts the series where the list has it", () => {
    expect(problems("stage2", ["vm.machineType=c3d-standard-4"])).toEqual([]);
    expect(problems("stage4", ['secondaryRegions=["europe-west4"]', "kubernetes.nodeMachineType=c3d-standard-8"])).toEqual([]);
    expect(
      problems("stage2", ["gcp:region=northamerica-south1", "vm.machineType=n4-standard-4"]).filter(
        (l) => l.includes("MachineType") || l.includes("machineType"),
      ),
    ).toEqual([]);
  });
});

describe("Cloud SQL tiers", () => {
  it.each([
    ["db-f1-micro", true],
    ["db-g1-small", true],
    ["db-custom-1-3840", true], // 1 vCPU, the minimum memory
    ["db-custom-1-6656", true], // 6.5 GiB per vCPU
    ["db-custom-1-6912", false], // 6.75 GiB per vCPU
    ["db-custom-2-3840", true], // 1.875 GiB per vCPU, still >= 3840 MiB
    ["db-custom-2-3584", false], // below 3840 MiB
    ["db-custom-4-3840", true], // 0.9375 GiB per vCPU
    ["db-custom-8-7168", false], // 0.875 GiB per vCPU
    ["db-custom-3-11520", false], // odd vCPUs
    ["db-custom-96-393216", true], // 96 vCPUs, 4 GiB each
    ["db-custom-98-401408", false], // above 96
    ["db-custom-4-15000", false], // not a multiple of 256
    ["db-perf-optimized-N-8", false], // Enterprise Plus
    ["db-n1-standard-4", false],
  ])("%s -> %s", (tier, ok) => {
    expect(sqlTier(tier).ok).toBe(ok);
  });

  it("suggests a valid tier", () => {
    expect(sqlTier("db-custom-4-30720")).toMatchObject({ ok: false, nearest: "db-custom-4-26624" });
    for (const t of ["db-custom-3-11520", "db-custom-2-3000", "db-custom-8-7168", "db-perf-optimized-N-8"]) {
      const r = sqlTier(t);
      expect(r.ok).toBe(false);
      expect(sqlTier((r as { nearest: string }).nearest).ok, `${t} -> ${(r as { nearest: string }).nearest}`).toBe(true);
    }
  });
});

describe("bucket locations and the refusal helpers", () => {
  it("gives the locations that store data in a region", () => {
    expect(gcsLocationsFor("us-central1")).toEqual(["US-CENTRAL1", "US", "NAM4"]);
    expect(gcsLocationsFor("europe-west1")).toEqual(["EUROPE-WEST1", "EU", "EUR5"]);
    expect(gcsLocationsFor("europe-west2")).toEqual(["EUROPE-WEST2", "EUR5", "EUR7"]);
  });

  it("words one line with key, value, what is allowed and the nearest value", () => {
    expect(refusal({ key: "gcp:region", value: "us-central9", problem: "is not a region", allowed: "a region", nearest: "us-central1" })).toBe(
      'gcp:region: "us-central9" is not a region; allowed: a region; did you mean "us-central1"?',
    );
    expect(refusal({ key: "course-organizer:x", value: 3, allowed: "1 or\n 2" })).toBe("course-organizer:x: 3 is not allowed; allowed: 1 or 2");
    expect(nearestName("us-centrl1", REGIONS)).toBe("us-central1");
    expect(nearestName("nothing-like-it", ["us-central1"])).toBeUndefined();
    expect(nearestNumber(5, [2, 4, 8])).toBe(4);
  });
});
