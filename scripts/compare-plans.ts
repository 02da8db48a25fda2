/**
 * Compare two offline plans (`npm run plan -- --stack <s> --json [--preview]`) resource by resource, keyed by URN:
 * which URNs exist, and for each the type, parent, inputs, dependencies, property dependencies, protect,
 * retainOnDelete, deleteBeforeReplace, aliases, ignoreChanges, replaceOnChanges, additional secret outputs; then the
 * stack outputs. Registration order is not compared (it does not reach the engine's state), nor the order within
 * dependency lists. Prints every difference and exits 1 when there is any, 0 when the plans are the same.
 *
 *   npx tsx scripts/compare-plans.ts before.json after.json
 *   npx tsx scripts/compare-plans.ts before-dir/ after-dir/      # every *.json present in both folders
 *
 * Use it around a refactoring that must not change what `pulumi up` does.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

interface PlanResource {
  urn: string;
  type: string;
  name: string;
  parent?: string;
  inputs: unknown;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  [key: string]: unknown;
}

interface PlanRecord {
  stack: string;
  resources: PlanResource[];
  outputs?: unknown;
}

/** Fields compared as they are. */
const EXACT_FIELDS = [
  "type",
  "parent",
  "inputs",
  "protect",
  "retainOnDelete",
  "deleteBeforeReplace",
  "aliases",
  "ignoreChanges",
  "replaceOnChanges",
  "additionalSecretOutputs",
  "provider",
];

/** JSON with sorted object keys, so key order never counts as a difference. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

/** Paths (`a.b[2].c`) where two JSON values differ, with both values, at most `limit` of them. */
function diffValues(a: unknown, b: unknown, path: string, out: string[], limit = 20): void {
  if (out.length >= limit || canonical(a) === canonical(b)) return;
  const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === "object" && !Array.isArray(x);
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => diffValues(x, b[i], `${path}[${i}]`, out, limit));
    return;
  }
  if (isObj(a) && isObj(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) diffValues(a[k], b[k], path ? `${path}.${k}` : k, out, limit);
    return;
  }
  const show = (x: unknown) => {
    const s = x === undefined ? "(absent)" : JSON.stringify(x);
    return s.length > 200 ? `${s.slice(0, 200)}...` : s;
  };
  out.push(`${path || "(value)"}: ${show(a)} -> ${show(b)}`);
}

const sortedDeps = (r: PlanResource) => [...(r.dependencies ?? [])].sort();
const sortedPropDeps = (r: PlanResource) =>
  Object.fromEntries(
    Object.entries(r.propertyDependencies ?? {})
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => [k, [...v].sort()]),
  );

/** Every difference between two plans, one line each (empty: the same). */
export function comparePlans(before: PlanRecord, after: PlanRecord): string[] {
  const lines: string[] = [];
  const a = new Map(before.resources.map((r) => [r.urn, r]));
  const b = new Map(after.resources.map((r) => [r.urn, r]));
  for (const urn of a.keys()) if (!b.has(urn)) lines.push(`- removed ${urn}`);
  for (const urn of b.keys()) if (!a.has(urn)) lines.push(`+ added   ${urn}`);
  for (const [urn, ra] of a) {
    const rb = b.get(urn);
    if (!rb) continue;
    const diffs: string[] = [];
    for (const f of EXACT_FIELDS) diffValues(ra[f], rb[f], f, diffs);
    diffValues(sortedDeps(ra), sortedDeps(rb), "dependencies", diffs);
    diffValues(sortedPropDeps(ra), sortedPropDeps(rb), "propertyDependencies", diffs);
    if (diffs.length > 0) lines.push(`~ changed ${urn}`, ...diffs.map((d) => `    ${d}`));
  }
  const outs: string[] = [];
  diffValues(before.outputs, after.outputs, "outputs", outs);
  lines.push(...outs.map((d) => `~ output  ${d}`));
  return lines;
}

function main(argv: string[]): number {
  if (argv.length !== 2) {
    process.stderr.write("usage: tsx scripts/compare-plans.ts <before.json|dir> <after.json|dir>\n");
    return 2;
  }
  const [left, right] = argv as [string, string];
  const pairs: [string, string][] = statSync(left).isDirectory()
    ? readdirSync(left)
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => [join(left, f), join(right, f)])
    : [[left, right]];
  let differing = 0;
  for (const [l, r] of pairs) {
    let lines: string[];
    try {
      lines = comparePlans(JSON.parse(readFileSync(l, "utf8")) as PlanRecord, JSON.parse(readFileSync(r, "utf8")) as PlanRecord);
    } catch (e) {
      lines = [`cannot compare: ${(e as Error).message}`];
    }
    const count = JSON.parse(readFileSync(l, "utf8")).resources?.length ?? 0;
    process.stdout.write(`${l} vs ${r}: ${lines.length === 0 ? `same (${count} resources)` : `${lines.length} difference line(s)`}\n`);
    for (const line of lines) process.stdout.write(`  ${line}\n`);
    if (lines.length > 0) differing++;
  }
  return differing === 0 ? 0 : 1;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
