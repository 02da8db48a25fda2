/**
 * The constraints ledger (data/provider-constraints.json) evaluated against a plan: one row per constrained input
 * the program sets, each of a small closed set of rule kinds that a machine can check on the plan's inputs.
 * The row format is documented in docs/first-up.md ("The constraints ledger"). Unknown values (preview mode,
 * computed outputs) are skipped, never guessed; secrets are read through their wrapper.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SECRET_MARK, UNKNOWN_MARK, type Plan, type PlannedResource } from "./engine";

export const RULE_KINDS = [
  "range",
  "enum",
  "pattern",
  "notPattern",
  "maxLength",
  "conflicts",
  "requiresWith",
  "createOnlyValues",
  "immutable",
  "eventual",
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** A condition on another input of the same resource: the row applies only when it holds. */
export interface When {
  path: string;
  equals?: unknown;
  in?: unknown[];
  pattern?: string;
  present?: boolean;
}

export interface ConstraintRow {
  /** Pulumi type token, e.g. gcp:memcache/instance:Instance. */
  type: string;
  /** Input path: dots between fields, `[*]` for every item of a list (`maintenancePolicy.weeklyMaintenanceWindows[*].duration`). */
  path: string;
  rule: RuleKind;
  /** range: bounds; durations ("3600s") compare as seconds. */
  min?: number;
  max?: number;
  /** enum, createOnlyValues: allowed values. */
  values?: unknown[];
  /** pattern / notPattern: a JavaScript regular expression the whole value must (not) match. */
  regex?: string;
  /** conflicts: paths that must be absent when `path` is set; requiresWith: conditions that must hold when it is. */
  with?: (string | When)[];
  /** eventual: the mechanism that waits — `dependsOn` a resource of type `on` (transitively), or a field check. */
  mechanism?: "dependsOn" | "field";
  on?: string;
  /** eventual with mechanism "field": the input (relative to the resource) and the value that makes the API wait. */
  field?: string;
  equals?: unknown;
  when?: When;
  /** Where the constraint is stated: a magic-modules path, provider doc, API reference or issue URL. */
  source: string;
  note?: string;
}

export interface Ledger {
  about: string;
  rows: ConstraintRow[];
}

export function loadLedger(dir = join(__dirname, "../..")): Ledger {
  return JSON.parse(readFileSync(join(dir, "data/provider-constraints.json"), "utf8")) as Ledger;
}

const unwrap = (v: unknown): unknown => (v && typeof v === "object" && SECRET_MARK in (v as object) ? unwrap((v as Record<string, unknown>)[SECRET_MARK]) : v);

/** Every value at a path (`a.b[*].c`); absent fields give nothing. */
export function valuesAt(root: unknown, path: string): unknown[] {
  let cur: unknown[] = [unwrap(root)];
  for (const part of path.split(".")) {
    const m = part.match(/^([^[]+)(\[\*\])?$/);
    if (!m) throw new Error(`bad ledger path ${path}`);
    const next: unknown[] = [];
    for (const c of cur) {
      if (c === UNKNOWN_MARK) {
        next.push(UNKNOWN_MARK);
        continue;
      }
      if (!c || typeof c !== "object") continue;
      const v = unwrap((c as Record<string, unknown>)[m[1]!]);
      if (v === undefined || v === null) continue;
      if (m[2]) {
        if (v === UNKNOWN_MARK) next.push(UNKNOWN_MARK);
        else if (Array.isArray(v)) next.push(...v.map(unwrap));
      } else next.push(v);
    }
    cur = next;
  }
  return cur;
}

const isUnknown = (v: unknown) => v === UNKNOWN_MARK || (typeof v === "string" && v.includes(UNKNOWN_MARK));

/** Seconds of a protobuf duration ("3600s", "3.5s"), or the number itself. */
function numeric(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && /^-?[0-9]+(\.[0-9]+)?s$/.test(v)) return Number(v.slice(0, -1));
  if (typeof v === "string" && /^-?[0-9]+(\.[0-9]+)?$/.test(v)) return Number(v);
  return undefined;
}

export function holds(r: PlannedResource, w: When): boolean {
  const vs = valuesAt(r.inputs, w.path).filter((v) => !isUnknown(v));
  if (w.present !== undefined) return w.present ? valuesAt(r.inputs, w.path).length > 0 : valuesAt(r.inputs, w.path).length === 0;
  return vs.some((v) =>
    w.equals !== undefined ? v === w.equals : w.in ? w.in.includes(v) : w.pattern ? typeof v === "string" && new RegExp(`^(?:${w.pattern})$`).test(v) : true,
  );
}

/** Resources a resource waits for: its dependencies, transitively; a component stands for everything under it. */
export function waitsFor(p: Plan, r: PlannedResource): Set<string> {
  const byUrn = new Map(p.resources.map((x) => [x.urn, x]));
  const children = new Map<string, string[]>();
  for (const x of p.resources) if (x.parent) children.set(x.parent, [...(children.get(x.parent) ?? []), x.urn]);
  const seen = new Set<string>();
  const stack = [...r.dependencies, ...Object.values(r.propertyDependencies).flat()];
  while (stack.length) {
    const u = stack.pop()!;
    if (seen.has(u)) continue;
    seen.add(u);
    const x = byUrn.get(u);
    if (!x) continue;
    stack.push(...x.dependencies, ...Object.values(x.propertyDependencies).flat());
    if (!x.custom) stack.push(...(children.get(u) ?? []));
  }
  return seen;
}

export interface Violation {
  row: ConstraintRow;
  resource: string;
  problem: string;
}

/**
 * Every violation of the rows in one plan. `fromEmpty`: the plan is a first `up` (createOnlyValues apply);
 * `previous`: the plan of the stage before (immutable inputs of protected resources must not change).
 */
export function evaluate(p: Plan, rows: ConstraintRow[], opts: { fromEmpty: boolean; previous?: Plan }): { violations: Violation[]; checked: number } {
  const violations: Violation[] = [];
  let checked = 0;
  // The same resource in another stack's plan: its URN without the stack name.
  const key = (urn: string) => urn.replace(/^urn:pulumi:[^:]+::/, "");
  const prevByUrn = new Map((opts.previous?.resources ?? []).map((r) => [key(r.urn), r]));
  for (const row of rows) {
    for (const r of p.resources.filter((x) => x.type === row.type)) {
      if (row.when && !holds(r, row.when)) continue;
      const bad = (problem: string) =>
        violations.push({ row, resource: r.name, problem: `${row.type} ${r.name}: ${row.path} ${problem} (${row.rule}; ${row.source})` });
      const vs = valuesAt(r.inputs, row.path).filter((v) => !isUnknown(v));
      switch (row.rule) {
        case "range":
          for (const v of vs) {
            checked++;
            const n = numeric(v);
            if (n === undefined) bad(`= ${JSON.stringify(v)} is not a number or duration`);
            else if ((row.min !== undefined && n < row.min) || (row.max !== undefined && n > row.max))
              bad(`= ${JSON.stringify(v)} outside ${row.min ?? "-inf"}..${row.max ?? "inf"}`);
          }
          break;
        case "enum":
        case "createOnlyValues":
          if (row.rule === "createOnlyValues" && !opts.fromEmpty) break;
          for (const v of vs) {
            checked++;
            if (!row.values!.includes(v))
              bad(`= ${JSON.stringify(v)}; allowed${row.rule === "createOnlyValues" ? " at create" : ""}: ${JSON.stringify(row.values)}`);
          }
          break;
        case "pattern":
        case "notPattern":
          for (const v of vs) {
            checked++;
            const ok = typeof v === "string" && new RegExp(`^(?:${row.regex})$`, "s").test(v);
            if (row.rule === "pattern" && !ok) bad(`= ${JSON.stringify(v)} does not match ${row.regex}`);
            if (row.rule === "notPattern" && ok) bad(`= ${JSON.stringify(v)} matches the forbidden ${row.regex}`);
          }
          break;
        case "maxLength":
          for (const v of vs) {
            checked++;
            if (String(v).length > row.max!) bad(`= ${JSON.stringify(v)} is ${String(v).length} long; at most ${row.max}`);
          }
          break;
        case "conflicts":
          if (valuesAt(r.inputs, row.path).length === 0) break;
          checked++;
          for (const other of row.with as string[]) if (valuesAt(r.inputs, other).length > 0) bad(`is set together with ${other}`);
          break;
        case "requiresWith":
          if (valuesAt(r.inputs, row.path).length === 0) break;
          checked++;
          for (const w of row.with as When[]) {
            const all = valuesAt(r.inputs, w.path);
            if (all.length === 0) bad(`needs ${w.path}`);
            else if (all.every((v) => !isUnknown(v)) && !holds(r, w))
              bad(`needs ${w.path} ${JSON.stringify(w.in ?? w.equals ?? w.pattern)}; it is ${JSON.stringify(all)}`);
          }
          break;
        case "immutable": {
          const before = prevByUrn.get(key(r.urn));
          if (!before || !r.protect) break;
          const [a, b] = [valuesAt(before.inputs, row.path), valuesAt(r.inputs, row.path)];
          if ([...a, ...b].some(isUnknown)) break;
          checked++;
          if (JSON.stringify(a) !== JSON.stringify(b))
            bad(`changes ${JSON.stringify(a)} -> ${JSON.stringify(b)} on a protected resource (the change would replace it)`);
          break;
        }
        case "eventual":
          if (valuesAt(r.inputs, row.path).length === 0 && row.path !== "*") break;
          checked++;
          if (row.mechanism === "dependsOn") {
            const targets = p.resources.filter((x) => x.type === row.on);
            if (targets.length === 0) break;
            const deps = waitsFor(p, r);
            if (!targets.some((t) => deps.has(t.urn))) bad(`does not wait for any ${row.on}`);
          } else {
            const fs = valuesAt(r.inputs, row.field!);
            if (fs.length === 0 || fs.some((v) => !isUnknown(v) && v !== row.equals)) bad(`has no ${row.field} = ${JSON.stringify(row.equals)}`);
          }
          break;
      }
    }
  }
  return { violations, checked };
}

/** Custom resource types of a plan that no row covers. */
export function uncoveredTypes(p: Plan, rows: ConstraintRow[]): string[] {
  const covered = new Set(rows.map((r) => r.type));
  return [...new Set(p.resources.filter((r) => r.custom && !covered.has(r.type)).map((r) => r.type))].sort();
}
