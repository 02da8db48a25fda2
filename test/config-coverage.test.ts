/**
 * Generated from the zod schema: every key of the config gets invalid values (a wrong type, and each constraint the
 * schema declares broken: below a minimum, above a maximum, a fraction for an integer, a string its pattern refuses,
 * an option not in the enum, a list too short, a bad item or label key), and the refusal must name that key. A key
 * added to the schema tomorrow is walked the same way, so it is covered the day it is added; a schema type the
 * walker cannot break fails the test instead of being skipped.
 */
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { ConfigError, keyOf, parseConfig } from "../src/config/load";
import { configSchema } from "../src/config/schema";

type Path = (string | number)[];
interface Leaf {
  path: Path;
  /** Invalid values with what they break. */
  bad: { value: unknown; breaks: string }[];
}

type Def = { type: string; [k: string]: unknown };
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
type Check = { check: string; format?: string; value?: number; inclusive?: boolean; minimum?: number; maximum?: number };
const checksOf = (d: Def): Check[] => ((d.checks as { _zod: { def: Check } }[] | undefined) ?? []).map((c) => c._zod.def);

/** Invalid values of one scalar schema (after unwrapping optional). */
function invalidValues(s: z.ZodType): { value: unknown; breaks: string }[] | undefined {
  const d = defOf(s);
  const out: { value: unknown; breaks: string }[] = [];
  switch (d.type) {
    case "optional":
      return invalidValues(d.innerType as z.ZodType);
    case "string": {
      out.push({ value: 12345, breaks: "type (a number for a string)" });
      for (const c of checksOf(d)) {
        if (c.check === "string_format") out.push({ value: "Not Valid!!", breaks: `format ${c.format}` });
        if (c.check === "min_length" && (c.minimum ?? 0) > 0) out.push({ value: "", breaks: `min length ${c.minimum}` });
        if (c.check === "max_length") out.push({ value: "x".repeat((c.maximum ?? 0) + 1), breaks: `max length ${c.maximum}` });
      }
      return out;
    }
    case "number": {
      out.push({ value: "seven", breaks: "type (a string for a number)" });
      let lo: number | undefined;
      for (const c of checksOf(d)) {
        if (c.check === "number_format") out.push({ value: (lo ?? 1) + 0.5, breaks: "integer" });
        if (c.check === "greater_than") {
          lo = c.value;
          out.push({ value: c.inclusive ? c.value! - 1 : c.value!, breaks: `minimum ${c.value}` });
        }
        if (c.check === "less_than") out.push({ value: c.inclusive ? c.value! + 1 : c.value!, breaks: `maximum ${c.value}` });
      }
      // The integer probe is only meaningful inside the range: recompute it once the minimum is known.
      const int = out.find((o) => o.breaks === "integer");
      if (int && lo !== undefined) int.value = lo + 0.5;
      return out;
    }
    case "boolean":
      return [{ value: "yes", breaks: "type (a string for a boolean)" }];
    case "enum":
      return [
        { value: "NOT_AN_OPTION", breaks: "enum" },
        { value: 7, breaks: "type" },
      ];
    case "union":
    case "literal":
      return [
        { value: 9, breaks: "no option matches" },
        { value: "nine", breaks: "no option matches (a string)" },
      ];
    default:
      return undefined;
  }
}

/** Every leaf key of the schema, with its invalid values; arrays and records are leaves of their own and their items too. */
function leaves(s: z.ZodType, path: Path, out: Leaf[]): Leaf[] {
  const d = defOf(s);
  if (d.type === "optional") return leaves(d.innerType as z.ZodType, path, out);
  if (d.type === "object") {
    for (const [k, child] of Object.entries(d.shape as Record<string, z.ZodType>)) leaves(child, [...path, k], out);
    return out;
  }
  if (d.type === "array") {
    const bad: Leaf["bad"] = [{ value: "not-a-list", breaks: "type (a string for a list)" }];
    const min = checksOf(d).find((c) => c.check === "min_length");
    if (min && (min.minimum ?? 0) > 0) bad.push({ value: [], breaks: `at least ${min.minimum} items` });
    out.push({ path, bad });
    // The items: a list of one invalid item per invalid value of each item leaf.
    const items = leaves(d.element as z.ZodType, [], []);
    for (const item of items) {
      out.push({
        path: [...path, 0, ...item.path],
        bad: item.bad.map((b) => ({ value: b.value, breaks: `item: ${b.breaks}` })),
      });
    }
    return out;
  }
  if (d.type === "tuple") {
    const items = d.items as z.ZodType[];
    items.forEach((it, i) => out.push({ path: [...path, i], bad: invalidValues(it) ?? fail(path, "tuple item") }));
    return out;
  }
  if (d.type === "record") {
    out.push({
      path,
      bad: [
        { value: "not-an-object", breaks: "type" },
        { value: { "Bad Key!": "x" }, breaks: "key pattern" },
        { value: { team: "Bad Value!" }, breaks: "value pattern" },
      ],
    });
    return out;
  }
  out.push({ path, bad: invalidValues(s) ?? fail(path, d.type) });
  return out;
}

function fail(path: Path, type: string): never {
  throw new Error(`no invalid value generator for ${keyOf(path)} (zod type ${type}): teach test/config-coverage.test.ts this type`);
}

const base = {
  "gcp:project": "course-organizer-demo",
  "gcp:region": "us-central1",
  "course-organizer:domain": "courses.example.org",
  "course-organizer:stage": "1",
};
const scalarKeys = new Set(["stage", "prefix", "domain", "meetDomain"]);

/** The raw stack config that sets `path` (whose items/fields are built into one JSON value) to `value`. */
function rawFor(path: Path, value: unknown): Record<string, string> {
  const [head, ...rest] = path as [string, ...Path];
  if (head === "project" || head === "region") return { ...base, [`gcp:${head}`]: String(value) };
  if (rest.length === 0) {
    if (scalarKeys.has(head)) return { ...base, [`course-organizer:${head}`]: typeof value === "string" ? value : JSON.stringify(value) };
    return { ...base, [`course-organizer:${head}`]: JSON.stringify(value) };
  }
  // Build the nested value; a numeric segment is a one-item list whose item holds the rest.
  const build = (segs: Path): unknown => {
    if (segs.length === 0) return value;
    const [s, ...more] = segs;
    if (typeof s === "number") {
      // A list of objects needs its other fields valid: masterAuthorizedNetworks items carry cidr and name.
      const inner = build(more);
      if (more.length > 0 && typeof more[0] === "string") return [{ cidr: "203.0.113.0/24", name: "office", ...(inner as object) }];
      return [inner];
    }
    return { [s]: build(more) };
  };
  // Tuples: redisSave items are [seconds, changes]; fill the other position with a valid 1.
  if (head === "vm" && rest[0] === "redisSave" && rest.length === 3) {
    const pair = [1, 1];
    pair[rest[2] as number] = value as number;
    return { ...base, "course-organizer:vm": JSON.stringify({ redisSave: [pair] }) };
  }
  return { ...base, [`course-organizer:${head}`]: JSON.stringify(build(rest)) };
}

function refusals(raw: Record<string, string>): string[] {
  try {
    parseConfig(raw);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

const all = leaves(configSchema as unknown as z.ZodType, [], []);
const cases = all.flatMap((l) => l.bad.map((b) => ({ key: keyOf(l.path), path: l.path, ...b })));

describe("every key of the schema refuses invalid values, naming the key", () => {
  it("walks every key (at least the 200 of today; none without an invalid value)", () => {
    expect(all.length).toBeGreaterThanOrEqual(200);
    expect(all.every((l) => l.bad.length > 0)).toBe(true);
    // The sections are all there: a section missing from the walk would be a section never tested.
    expect(new Set(all.map((l) => l.path[0]))).toEqual(new Set(Object.keys(configSchema.shape)));
  });

  it.each(cases.map((c) => [`${c.key} <- ${JSON.stringify(c.value).slice(0, 40)} (${c.breaks})`, c] as const))("%s", (_label, c) => {
    const lines = refusals(rawFor(c.path, c.value));
    // The refusal names the key itself, or (for a list item or a value that fails as a whole) its nearest container.
    const named = lines.some((l) => l.startsWith(`${c.key}:`) || l.startsWith(`${c.key}[`) || l.startsWith(`${c.key}.`));
    expect(named, `no refusal names ${c.key}; got:\n  ${lines.join("\n  ")}`).toBe(true);
    expect(lines.every((l) => !l.includes("\n"))).toBe(true);
  });
});
