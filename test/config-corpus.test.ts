/**
 * The corpus of values Google Cloud would refuse (test/fixtures/bad-configs.json: every section, all four stages):
 * each is refused by the config loader with a line naming its key, through the real program (`main`, as `pulumi up`
 * and the offline plan run it) before any resource but the stack itself is registered, and through the CLI
 * (`npm run plan`, a sample: two processes) with exit 2 and no stack trace.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config/load";
import { CONFIG_EXIT_CODE } from "../src/config/refusal";
import { planStack } from "../src/plan/engine";
import { readStackConfig } from "../src/plan/stackfile";
import { projectDir } from "./helpers/plan";

interface Case {
  stage: 1 | 2 | 3 | 4;
  set: string[];
  key: string;
  says: string;
}
const corpus = (JSON.parse(readFileSync(join(projectDir, "test/fixtures/bad-configs.json"), "utf8")) as { cases: Case[] }).cases;

function refusals(c: Pick<Case, "stage" | "set">): string[] {
  try {
    parseConfig(readStackConfig(projectDir, `stage${c.stage}`, c.set).config);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

describe("the corpus covers every section and stage", () => {
  it("has at least 40 values, from every stage and every section of the config", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
    expect(new Set(corpus.map((c) => c.stage))).toEqual(new Set([1, 2, 3, 4]));
    const sections = new Set(corpus.map((c) => (c.key.startsWith("gcp:") ? c.key : c.key.split(":")[1]!.split(/[.[]/)[0])));
    for (const s of [
      "gcp:region",
      "gcp:project",
      "secondaryRegions",
      "prefix",
      "meetDomain",
      "alertEmails",
      "labels",
      "images",
      "load",
      "network",
      "vm",
      "media",
      "loadBalancer",
      "httpPool",
      "wsPool",
      "database",
      "cache",
      "video",
      "kubernetes",
      "queue",
      "dns",
      "monitoring",
    ]) {
      expect(sections, `no corpus value for ${s}`).toContain(s);
    }
  });
});

describe("every corpus value is refused by the loader, naming its key", () => {
  it.each(corpus.map((c) => [`stage ${c.stage}: ${c.set.join(" ")}`, c] as const))("%s", (_label, c) => {
    const lines = refusals(c);
    const line = lines.find((l) => l.startsWith(`${c.key}: `));
    expect(line, `no line starts with ${c.key}; got:\n  ${lines.join("\n  ")}`).toBeDefined();
    expect(line).toContain(c.says);
    // One line per problem, in the refusal format: key, value, problem; allowed: ...
    expect(
      lines.every((l) => !l.includes("\n") && /^[a-z-]+:[A-Za-z0-9.[\]_-]+: .+; allowed: .+/.test(l)),
      lines.join("\n"),
    ).toBe(true);
  });

  it("the stack files as they are pass", () => {
    for (const stage of [1, 2, 3, 4] as const) expect(refusals({ stage, set: [] })).toEqual([]);
  });
});

describe("through the program: refused before any resource is registered", () => {
  /**
   * The real program (src/program.ts main, as `pulumi up` runs it) under the recording engine; its refusal is caught
   * inside the stack so the plan still returns what was registered up to then.
   */
  async function runProgram(c: Pick<Case, "stage" | "set">): Promise<{ error?: Error; types: string[] }> {
    const { main } = await import("../src/program");
    let error: Error | undefined;
    const caught = async () => {
      try {
        return await main();
      } catch (e) {
        error = e as Error;
        return {};
      }
    };
    const plan = await planStack({ stack: `stage${c.stage}`, projectDir, sets: c.set, preview: true, program: { project: "course-organizer", main: caught } });
    return { error, types: plan.resources.map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack") };
  }

  it("registers nothing but the stack for any corpus value; the same harness sees a valid stack register its resources", async () => {
    for (const c of corpus) {
      const r = await runProgram(c);
      expect(r.error?.message, c.set.join(" ")).toContain(c.says);
      // pulumi.RunError: the engine prints its message alone, without a stack trace.
      expect((r.error as { __pulumiRunError?: boolean } | undefined)?.__pulumiRunError, c.set.join(" ")).toBe(true);
      expect(r.types, c.set.join(" ")).toEqual([]);
    }
    const valid = await runProgram({ stage: 1, set: [] });
    expect(valid.error).toBeUndefined();
    expect(valid.types.length).toBeGreaterThan(20);
  }, 120_000);
});

describe("through the CLI (npm run plan): exit 2, one line per problem, no stack trace", () => {
  const run = promisify(execFile);
  const tsx = join(projectDir, "node_modules/.bin/tsx");
  const cli = async (args: string[]) =>
    run(tsx, ["src/cli/plan.ts", ...args], { cwd: projectDir }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it("one value: the issue's own example", async () => {
    const r = await cli(["--stack", "stage1", "--set", "gcp:region=us-central9"]);
    expect(r.code).toBe(CONFIG_EXIT_CODE);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "error: invalid stack configuration:\n" +
        '  - gcp:region: "us-central9" is not a Compute Engine region; allowed: one of the 42 Compute Engine regions of data/gcp-catalog.json (e.g. us-central1, europe-west1); did you mean "us-central1"?\n',
    );
  }, 60_000);

  it("a cache lifetime of 0 days: refused by the config (exit 2), not by the VM's nginx renderer after registration (exit 1)", async () => {
    const r = await cli(["--stack", "stage1", "--set", "media.staticCacheDays=0"]);
    expect(r.code).toBe(CONFIG_EXIT_CODE);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "error: invalid stack configuration:\n  - course-organizer:media.staticCacheDays: 0 is not allowed; allowed: a number >= 1; did you mean 1?\n",
    );
  }, 60_000);

  it("eight stage-4 values at once: every one refused, each on its own line", async () => {
    // Values the schema accepts and the rules refuse: the schema's refusals come first, alone (a value of the wrong
    // type or shape gives the rules nothing to read), so a mixed sample would show only those.
    const keys = [
      "nodesPerZoneMin",
      "primary.api.min",
      "masterAuthorizedNetworks[0].cidr",
      "nodeMachineType",
      "memcachedMemoryMb",
      "podsCidr",
      "subnetCidr",
      "gkeTrafficPercent",
    ];
    const sample = corpus.filter((c) => c.stage === 4 && keys.some((k) => c.key.endsWith(`.${k}`)));
    expect(sample).toHaveLength(keys.length);
    const r = await cli(["--stack", "stage4", ...sample.flatMap((c) => ["--set", c.set[0]!])]);
    expect(r.code).toBe(CONFIG_EXIT_CODE);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("  - "));
    for (const c of sample)
      expect(
        lines.some((l) => l.startsWith(`  - ${c.key}: `) && l.includes(c.says)),
        `${c.key} in:\n${r.stderr}`,
      ).toBe(true);
  }, 60_000);
});
