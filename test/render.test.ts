import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { plan, projectDir } from "./helpers/plan";

const run = promisify(execFile);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

describe.each(["stage1", "stage3"])("npm run render -- --stack %s", (stack) => {
  it("writes exactly the files the program passes to the resources, one folder per machine role", async () => {
    const out = mkdtempSync(join(tmpdir(), "render-"));
    try {
      const { stdout } = await run(join(projectDir, "node_modules/.bin/tsx"), ["src/cli/render.ts", "--stack", stack, "--out", out], { cwd: projectDir });
      const p = await plan(stack, { withFiles: true });
      const files = p.files ?? [];
      expect(files.length).toBeGreaterThan(0);
      expect(stdout).toContain(`wrote ${files.length} files`);
      const written = walk(out)
        .map((f) => relative(out, f))
        .sort();
      expect(written).toEqual(files.map((f) => `${f.role}/${f.path}`).sort());
      for (const f of files) expect(readFileSync(join(out, f.role, f.path), "utf8")).toBe(f.content);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
