/**
 * Every config the documentation tells a reader to set still plans: the `npm run plan -- ... --set` commands and the
 * `pulumi config set/rm` sequences of README.md and docs/runbooks/*.md are extracted from the text, replayed in
 * document order on the stack file they start from (a runbook N-to-M starts at stage N; each section of back.md at
 * its "N → M" heading), and every point where the reader plans or runs `pulumi up` is loaded by the config and
 * planned offline. A documented refusal (a block showing `error: invalid stack configuration`) must be refused with
 * exactly the lines shown. Nothing is hard-coded here but the placeholders' example values.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config/load";
import { planStack } from "../src/plan/engine";
import { readStackConfig } from "../src/plan/stackfile";
import { projectDir } from "./helpers/plan";

/** One state of a reader's stack: the stack file it started from and the top-level values set since. */
interface Checkpoint {
  doc: string;
  what: string;
  stage: number;
  sets: string[];
  /** Lines the docs show the refusal with (a documented refusal), else the config must plan. */
  refused?: string[];
}

type Value = unknown;
type Op = { kind: "set"; path: (string | number)[]; value: Value } | { kind: "rm"; path: (string | number)[] };

/** `course-organizer:kubernetes.masterAuthorizedNetworks[0].cidr` -> ["course-organizer:kubernetes", "masterAuthorizedNetworks", 0, "cidr"]. */
function splitKey(key: string): (string | number)[] {
  const full = key.includes(":") ? key : `course-organizer:${key}`;
  const m = /^([^.[]+)(.*)$/.exec(full)!;
  const rest = [...m[2]!.matchAll(/\.([^.[]+)|\[([0-9]+)\]/g)].map((x) => (x[2] !== undefined ? Number(x[2]) : x[1]!));
  return [m[1]!, ...rest];
}

/** A value as `pulumi config set --path` and `--set` take it: JSON when it parses (numbers, booleans), else the string. */
function parseValue(v: string): Value {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function apply(state: Map<string, Value>, op: Op): void {
  const [top, ...path] = op.path as [string, ...(string | number)[]];
  if (path.length === 0) {
    if (op.kind === "rm") state.delete(top);
    else state.set(top, op.value);
    return;
  }
  const root = (state.get(top) ?? (typeof path[0] === "number" ? [] : {})) as Record<string | number, unknown>;
  let cur = root;
  for (let i = 0; i < path.length - 1; i++) {
    const p = path[i]!;
    if (cur[p] === undefined || typeof cur[p] !== "object") cur[p] = typeof path[i + 1] === "number" ? [] : {};
    cur = cur[p] as Record<string | number, unknown>;
  }
  const last = path[path.length - 1]!;
  if (op.kind === "rm") delete cur[last];
  else cur[last] = op.value;
  state.set(top, root);
}

/** The `--set` arguments that reproduce a state on top of the stack file: one whole value per top-level key. */
function setsOf(state: Map<string, Value>, fileKeys: Set<string>): string[] {
  for (const k of fileKeys) if (!state.has(k)) throw new Error(`the docs remove ${k}, which the stack file sets: teach this test to replay that`);
  return [...state].map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
}

/** Words of a shell command line, quotes removed ('a b' and "a b" are one word). */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

const placeholders = (s: string, base: number) =>
  s
    .replaceAll("<stack>", `stage${base}`)
    .replaceAll("<N+1>", String(base + 1))
    .replaceAll("<target>", String(base + 1))
    .replaceAll("<your-project-id>", "course-organizer-demo");

/** Code of a markdown text in document order: fenced blocks (whole) and inline spans, each with its position. */
function codeOf(md: string): { code: string; fenced: boolean }[] {
  const out: { at: number; code: string; fenced: boolean }[] = [];
  const fences = [...md.matchAll(/```[a-z]*\n([\s\S]*?)```/g)];
  for (const f of fences) out.push({ at: f.index!, code: f[1]!, fenced: true });
  const outside = md.replace(/```[a-z]*\n[\s\S]*?```/g, (m) => " ".repeat(m.length));
  for (const m of outside.matchAll(/`([^`]+)`/g)) out.push({ at: m.index!, code: m[1]!.replace(/\s*\n\s*/g, " "), fenced: false });
  return out.sort((a, b) => a.at - b.at);
}

function checkpoints(doc: string, md: string, fixedBase: number | undefined): Checkpoint[] {
  const out: Checkpoint[] = [];
  // Files without a starting stage (the READMEs): each snippet stands alone, for every stage it can start from.
  const bases = fixedBase !== undefined ? [fixedBase] : [1, 2, 3];
  for (const base of bases) {
    const fileConfig = readStackConfig(projectDir, `stage${base}`, []).config;
    const fileKeys = new Set(Object.keys(fileConfig));
    const fresh = () =>
      new Map<string, Value>(
        Object.entries(fileConfig).map(([k, v]) => [k, k.startsWith("gcp:") || k.endsWith(":stage") || k.endsWith(":domain") ? v : parseValue(v)]),
      );
    let state = fresh();
    for (const { code, fenced } of codeOf(md)) {
      if (fixedBase === undefined) state = fresh();
      const shown = code
        .split("\n")
        .filter((l) => /^\s+- /.test(l))
        .map((l) => l.replace(/^\s+- /, ""));
      const refusedBlock = fenced && code.includes("error: invalid stack configuration:");
      if (fixedBase === undefined && !/<stack>|<N\+1>|<target>|stage[1-4]\b|pulumi config/.test(code)) continue;
      if (fixedBase === undefined && base > 1 && !/<stack>|<N\+1>|<target>/.test(code)) continue; // stack-independent: once
      for (const raw of code.split("\n").flatMap((l) => l.replace(/#.*$/, "").split(/&&|\|/))) {
        const w = words(placeholders(raw.replace(/^\s*\$\s*/, "").trim(), base));
        if (w[0] === "npm" && w[1] === "run" && w[2] === "plan") {
          const stackAt = w.indexOf("--stack");
          const stack = w[stackAt + 1]!;
          const sets = w.flatMap((x, i) => (w[i - 1] === "--set" ? [x] : []));
          const own = stack !== `stage${base}` || /--stack stage[1-4]/.test(raw);
          const stage = Number(stack.replace("stage", ""));
          out.push({ doc, what: raw.trim(), stage, sets: own ? sets : [...setsOf(state, fileKeys), ...sets], refused: refusedBlock ? shown : undefined });
        } else if (w[0] === "pulumi" && w[1] === "config" && (w[2] === "set" || w[2] === "rm")) {
          const args = w.slice(3).filter((x) => x !== "--path");
          if (args.length === 0 || (w[2] === "set" && args.length < 2)) continue; // the command named in prose
          const path = splitKey(args[0]!);
          apply(state, w[2] === "rm" ? { kind: "rm", path } : { kind: "set", path, value: w.includes("--path") ? parseValue(args[1]!) : args[1]! });
          // A config change the docs make without a plan or up after it (README step lists) is still checked.
          if (fixedBase === undefined) out.push({ doc, what: raw.trim(), stage: base, sets: setsOf(state, fileKeys) });
        } else if (w[0] === "pulumi" && w[1] === "up") {
          out.push({
            doc,
            what: `pulumi up after: ${code.trim().split("\n").slice(-3).join(" / ").slice(0, 120)}`,
            stage: base,
            sets: setsOf(state, fileKeys),
          });
        }
      }
    }
  }
  return out;
}

const docsDir = join(projectDir, "docs/runbooks");
const all: Checkpoint[] = [];
all.push(...checkpoints("README.md", readFileSync(join(projectDir, "README.md"), "utf8"), undefined));
for (const f of readdirSync(docsDir)
  .filter((x) => x.endsWith(".md"))
  .sort()) {
  const md = readFileSync(join(docsDir, f), "utf8");
  // A runbook for one stage says so (`<!-- stage: N -->`, e.g. region loss at stage 4); a move N-to-M starts at N.
  const move = /^([1-4])-to-[1-4]\.md$/.exec(f) ?? /<!-- stage: ([1-4]) -->/.exec(md);
  if (move) all.push(...checkpoints(`docs/runbooks/${f}`, md, Number(move[1])));
  else if (f === "back.md") {
    // Each "## N → M" section starts again from stage N.
    for (const sec of md.split(/^## /m).slice(1)) {
      const from = /^([1-4]) → [1-4]/.exec(sec);
      if (from) all.push(...checkpoints(`docs/runbooks/${f} (${sec.split("\n")[0]})`, sec, Number(from[1])));
    }
  } else all.push(...checkpoints(`docs/runbooks/${f}`, md, undefined));
}

function load(c: Pick<Checkpoint, "stage" | "sets">): string[] {
  try {
    parseConfig(readStackConfig(projectDir, `stage${c.stage}`, c.sets).config);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

/** The validated config a checkpoint loads (undefined when refused). */
function configOf(c: Pick<Checkpoint, "stage" | "sets">): string | undefined {
  try {
    return JSON.stringify(parseConfig(readStackConfig(projectDir, `stage${c.stage}`, c.sets).config));
  } catch {
    return undefined;
  }
}

/**
 * Distinct configs, each planned once: many checkpoints load the same config, and one equal to a stack file as it is
 * is planned by test/plan.test.ts already (all four, in preview and update).
 */
const stackFiles = new Set([1, 2, 3, 4].map((stage) => configOf({ stage, sets: [] })));
const distinct = new Map<string, Checkpoint>();
for (const c of all) {
  const config = c.refused ? undefined : configOf(c);
  if (config !== undefined && !stackFiles.has(config) && !distinct.has(config)) distinct.set(config, c);
}

describe("the documented configs", () => {
  it("are found: every runbook and the README contribute, including the refusal example", () => {
    const docs = new Set(all.map((c) => c.doc.split(" (")[0]));
    for (const d of [
      "README.md",
      "docs/runbooks/1-to-2.md",
      "docs/runbooks/2-to-3.md",
      "docs/runbooks/3-to-4.md",
      "docs/runbooks/back.md",
      "docs/runbooks/README.md",
    ])
      expect(docs).toContain(d);
    expect(all.filter((c) => c.refused)).toHaveLength(1);
    // 2-to-3's phase A really carries its settings into the plan (not just the stage).
    expect(all.some((c) => c.doc.endsWith("2-to-3.md") && c.sets.some((s) => s.includes('"migrateFromVm":true') && s.includes('"cutover":false')))).toBe(true);
    // 3-to-4's control-plane access list is built from its indexed --path keys.
    expect(all.some((c) => c.sets.some((s) => s.includes('"masterAuthorizedNetworks":[{"cidr":"203.0.113.0/24","name":"office"}]')))).toBe(true);
  });

  it.each(all.map((c) => [`${c.doc}: ${c.what.slice(0, 100)}`, c] as const))("load: %s", (_label, c) => {
    if (c.refused) {
      expect(load(c)).toEqual(c.refused);
      return;
    }
    expect(load(c)).toEqual([]);
  });

  it.each([...distinct.values()].map((c) => [`${c.doc}: ${c.what.slice(0, 100)}`, c] as const))(
    "plan: %s",
    async (_label, c) => {
      const plan = await planStack({ stack: `stage${c.stage}`, projectDir, sets: c.sets });
      expect(plan.resources.length).toBeGreaterThan(20);
    },
    120_000,
  );
});
