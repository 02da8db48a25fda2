/**
 * scripts/dms-demote-destination.sh (runbook 2 -> 3, phase A2) under shellcheck and against a stand-in gcloud on
 * PATH that records its arguments: it demotes only a NOT_STARTED job, with the job id and region it was given.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectDir } from "./helpers/plan";

const SCRIPT = join(projectDir, "scripts/dms-demote-destination.sh");

function runWith(state: string, args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "dms-"));
  const log = join(dir, "calls");
  writeFileSync(join(dir, "gcloud"), `#!/bin/sh\necho "$*" >> ${log}\ncase "$*" in *describe*) echo ${state};; esac\n`);
  chmodSync(join(dir, "gcloud"), 0o755);
  const r = spawnSync("bash", [SCRIPT, ...args], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: "utf8" });
  let calls: string[] = [];
  try {
    calls = readFileSync(log, "utf8").trim().split("\n");
  } catch {
    calls = [];
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls };
}

describe("scripts/dms-demote-destination.sh", () => {
  it("passes shellcheck -S style", () => {
    const r = spawnSync("shellcheck", ["-S", "style", SCRIPT], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("demotes the destination of a NOT_STARTED job, then says how to start it", () => {
    const r = runWith("NOT_STARTED", ["co-db-migration", "us-central1", "my-project"]);
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      "database-migration migration-jobs describe co-db-migration --region us-central1 --project my-project --format=value(state)",
      "database-migration migration-jobs demote-destination co-db-migration --region us-central1 --project my-project",
    ]);
    expect(r.stdout).toContain("database.migrationState RUNNING");
  });

  it("refuses a job that already runs, and a call without job and region", () => {
    const r = runWith("RUNNING", ["co-db-migration", "us-central1"]);
    expect(r.status).toBe(1);
    expect(r.calls).toEqual(["database-migration migration-jobs describe co-db-migration --region us-central1 --format=value(state)"]);
    expect(r.stderr).toContain("is RUNNING, not NOT_STARTED");
    expect(runWith("NOT_STARTED", []).status).not.toBe(0);
  });
});
