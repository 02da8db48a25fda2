import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { plan, projectDir } from "./helpers/plan";
import { diffPlans } from "../src/plan/diff";
import { guardDiff } from "../src/plan/guard";
import type { Plan, PlannedResource } from "../src/plan/engine";

const run = promisify(execFile);
const tsx = join(projectDir, "node_modules/.bin/tsx");

function res(name: string, type: string, inputs: Record<string, unknown>, opts: Partial<PlannedResource> = {}): PlannedResource {
  return {
    urn: `urn:pulumi:s::course-organizer::${type}::${name}`,
    type,
    name,
    custom: true,
    inputs,
    dependencies: [],
    propertyDependencies: {},
    protect: true,
    retainOnDelete: true,
    deleteBeforeReplace: false,
    aliases: [],
    ignoreChanges: [],
    replaceOnChanges: [],
    additionalSecretOutputs: [],
    ...opts,
  };
}
const planOf = (resources: PlannedResource[]): Plan => ({ stack: "s", stage: 3, preview: false, resources, outputs: {} });
const sql = (region: string) =>
  res("database-primary", "gcp:sql/databaseInstance:DatabaseInstance", { name: "co-db", region, settings: { tier: "db-custom-4-15360" } });
const bucket = (retain: boolean) =>
  res("media-media", "gcp:storage/bucket:Bucket", { name: "course-organizer-demo-co-media", location: "US-CENTRAL1" }, { retainOnDelete: retain });

describe("the stage-move guard over deliberately unsafe changes", () => {
  it("catches a database region change, naming the resource", () => {
    const from = planOf([sql("us-central1")]);
    const to = planOf([sql("europe-west4")]);
    const g = guardDiff(diffPlans(from, to, "a"), from, to);
    expect(g.ok).toBe(false);
    expect(g.findings).toEqual([
      expect.objectContaining({ level: "error", name: "database-primary", message: expect.stringContaining("would be REPLACED (forced by region)") }),
    ]);
  });

  it("refuses to replace any protected resource: `pulumi up` would stop there", () => {
    const ip = (name: string) => res("lb-ip", "gcp:compute/globalAddress:GlobalAddress", { name }, { protect: true });
    const from = planOf([ip("co-lb-ip")]);
    const to = planOf([ip("co-lb-ip-2")]);
    const g = guardDiff(diffPlans(from, to, "a"), from, to);
    expect(g.ok).toBe(false);
    expect(g.findings.map((f) => f.message)).toEqual([
      "gcp:compute/globalAddress:GlobalAddress lb-ip would be REPLACED (forced by name), but it is protected: `pulumi up` refuses to replace it, and the new one would start empty. Keep name unchanged.",
    ]);
  });

  it("lets a derived secret version be replaced or dropped (GCP disables the old one), but not a protected one", () => {
    const version = (data: string, opts: Partial<PlannedResource>, deletionPolicy: string) =>
      res(
        "app-settings-json-version",
        "gcp:secretmanager/secretVersion:SecretVersion",
        { secret: "s", secretData: { "[secret]": data }, deletionPolicy },
        opts,
      );
    const derived = { protect: false, retainOnDelete: false };
    let from = planOf([version("a", derived, "DISABLE")]);
    let to = planOf([version("b", derived, "DISABLE")]);
    const d = diffPlans(from, to, "a");
    expect(d.replaces.map((r) => r.replacePaths)).toEqual([["secretData.[secret]"]]);
    let g = guardDiff(d, from, to);
    expect(g.ok).toBe(true);
    expect(g.findings.map((f) => f.level)).toEqual(["note"]);
    g = guardDiff(diffPlans(from, planOf([]), "a"), from, planOf([]));
    expect(g.ok).toBe(true);
    from = planOf([version("a", {}, "ABANDON")]);
    to = planOf([version("b", {}, "ABANDON")]);
    g = guardDiff(diffPlans(from, to, "a"), from, to);
    expect(g.ok).toBe(false);
    expect(g.findings[0]!.message).toContain("but it is protected");
  });

  it("allows a tier change (an in-place update)", () => {
    const from = planOf([sql("us-central1")]);
    const up = sql("us-central1");
    up.inputs = { ...up.inputs, settings: { tier: "db-custom-8-30720" } };
    const to = planOf([up]);
    const d = diffPlans(from, to, "a");
    expect(d.updates.map((u) => u.paths)).toEqual([["settings.tier"]]);
    expect(guardDiff(d, from, to).ok).toBe(true);
  });

  it("catches a removed bucket that is not retained", () => {
    const from = planOf([bucket(false)]);
    const to = planOf([]);
    const g = guardDiff(diffPlans(from, to, "a"), from, to);
    expect(g.ok).toBe(false);
    expect(g.findings[0]?.message).toContain("gcp:storage/bucket:Bucket media-media would be DELETED with its data");
  });

  it("lets a retained bucket leave the stack, saying it stays in GCP and must be unprotected first", () => {
    const from = planOf([bucket(true)]);
    const to = planOf([]);
    const g = guardDiff(diffPlans(from, to, "a"), from, to);
    expect(g.ok).toBe(true);
    expect(g.findings[0]).toMatchObject({
      level: "note",
      message: expect.stringContaining("stays in GCP (retainOnDelete); it is protected: `pulumi state unprotect"),
    });
  });

  it("catches a renamed component: new URN, same GCP name, even when retained", () => {
    const old = bucket(true);
    const renamed = { ...bucket(true), name: "files-media", urn: "urn:pulumi:s::course-organizer::gcp:storage/bucket:Bucket::files-media" };
    const from = planOf([old]);
    const to = planOf([renamed]);
    const g = guardDiff(diffPlans(from, to, "a"), from, to);
    expect(g.ok).toBe(false);
    expect(g.findings.find((f) => f.level === "error")?.message).toContain(`media-media changes its URN to ${renamed.urn} while keeping its GCP name`);
    // With an alias, the engine matches it: an unchanged resource.
    const aliased = { ...renamed, aliases: [old.urn] };
    const to2 = planOf([aliased]);
    const d2 = diffPlans(from, to2, "a");
    expect(d2.same).toBe(1);
    expect(guardDiff(d2, from, to2).ok).toBe(true);
  });
});

describe("the stage-move guard over every stage pair", () => {
  const stacks = ["stage1", "stage2", "stage3", "stage4"];
  const pairs = stacks.flatMap((a) => stacks.filter((b) => b !== a).map((b) => [a, b] as const));
  it.each(pairs)("moving from %s to %s loses nothing stored", async (fromStack, toStack) => {
    // One deployment (the target's stack name, so URNs match), planned with each config.
    const from = await plan(toStack, { configStack: fromStack });
    const to = await plan(toStack);
    const g = guardDiff(diffPlans(from, to, fromStack), from, to);
    expect(g.findings.filter((f) => f.level === "error").map((f) => f.message)).toEqual([]);
    expect(g.ok).toBe(true);
  });
});

describe("npm run plan --from refuses unsafe moves", () => {
  it("refuses --stack stage3 --from stage3 --set gcp:region=europe-west4 with exit 3, naming the database", async () => {
    const err = await run(tsx, ["src/cli/plan.ts", "--stack", "stage3", "--from", "stage3", "--set", "gcp:region=europe-west4"], { cwd: projectDir }).then(
      () => undefined,
      (e: { code: number; stdout: string }) => e,
    );
    expect(err?.code).toBe(3);
    expect(err?.stdout).toContain("Stage-move guard: REFUSED");
    expect(err?.stdout).toMatch(/ERROR {2}gcp:sql\/databaseInstance:DatabaseInstance \S+ would be REPLACED \(forced by region\)/);
  });

  it("accepts stage 2 from stage 1 with exit 0", async () => {
    const { stdout } = await run(tsx, ["src/cli/plan.ts", "--stack", "stage2", "--from", "stage1"], { cwd: projectDir });
    expect(stdout).toContain("Stage-move guard: nothing stored is lost.");
  });
});
