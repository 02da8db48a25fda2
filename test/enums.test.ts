/**
 * Every enum-valued input of every stage is one Google accepts (data/gcp-api-facts.json, from Google's resource
 * definitions). The provider would refuse a wrong value at preview time, which cannot run here.
 */
import { describe, expect, it } from "vitest";
import { plan } from "./helpers/plan";
import { gcpFacts, normPath } from "../src/plan/diff";

function leaves(v: unknown, prefix = ""): [string, unknown][] {
  if (Array.isArray(v)) return v.flatMap((x) => leaves(x, `${prefix}[]`));
  if (v && typeof v === "object") {
    if ("[secret]" in (v as object)) return [];
    return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => leaves(x, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, v]];
}

describe("enum inputs", () => {
  it("normalizes paths of the definitions and of Pulumi alike", () => {
    // Both spellings reach one key (a constant normalizer would pass a comparison of the two alone).
    const cache = "pathmatcher.pathrul.routeaction.cachepolicy.cachemod";
    expect([
      normPath("path_matcher[].path_rule[].routeAction.cachePolicy.cacheMode"),
      normPath("pathMatchers[0].pathRules[1].routeAction.cachePolicy.cacheMode"),
    ]).toEqual([cache, cache]);
    const tier = "networkinterfac.accessconfig.networktier";
    expect([normPath("networkInterface[].accessConfigs[].networkTier"), normPath("networkInterfaces[0].accessConfigs[0].networkTier")]).toEqual([tier, tier]);
  });

  it.each([1, 2, 3, 4])("stage %i uses only values Google accepts", async (n) => {
    const p = await plan(`stage${n}`);
    const facts = gcpFacts();
    const bad: string[] = [];
    let checked = 0;
    for (const r of p.resources) {
      const f = facts[r.type];
      if (!f || !r.custom) continue;
      const enums = new Map(Object.entries(f.enums).map(([k, v]) => [normPath(k), v]));
      for (const [path, value] of leaves(r.inputs)) {
        const allowed = enums.get(normPath(path));
        if (!allowed || typeof value !== "string" || value === "[unknown]") continue;
        checked++;
        if (!allowed.includes(value)) bad.push(`${r.type} ${r.name}: ${path} = ${JSON.stringify(value)}; allowed: ${allowed.join(", ")}`);
      }
    }
    expect(bad).toEqual([]);
    expect(checked).toBeGreaterThan(0);
  });
});
