/**
 * The app contract (src/contract.ts) against what the four stages render: the document is generated from the code,
 * every name and WORKER_TYPE a stage gives the app is the contract's, ports and probes agree, and the example
 * image's entrypoint and Dockerfile follow the contract's commands.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { HEALTH_PATHS, IMAGE, PORTS, WORKER_TYPES, entrypointScript, settingOf, unknownSettings } from "../src/contract";
import { contractDocument, contractProblems, settingsOf, stageView, type StageView } from "../src/contract-doc";
import { CONTRACT_STACKS, EXAMPLE_MODULE } from "../src/cli/contract";
import { plan, projectDir } from "./helpers/plan";

const run = promisify(execFile);
let views: StageView[];

beforeAll(async () => {
  views = [];
  for (const s of CONTRACT_STACKS) views.push(stageView(await plan(s, { withFiles: true })));
}, 300_000);

describe("docs/app-contract.md", () => {
  it("is what `npm run contract` generates from the code and the four plans", () => {
    const doc = readFileSync(join(projectDir, "docs/app-contract.md"), "utf8");
    expect(doc, "run `npm run contract` and commit docs/app-contract.md").toBe(contractDocument(views));
  });
});

describe("one contract at every stage", () => {
  it("the four stages keep it: known names, WORKER_TYPE values, PORT, probes, required settings, no rename", () => {
    expect(contractProblems(views)).toEqual([]);
  });

  it("one set of WORKER_TYPE values: http and ws everywhere, migrate on the machines, the worker on GKE", () => {
    expect(views.map((v) => [v.stage, v.processes.map((p) => p.workerType)])).toEqual([
      [1, ["http", "ws", "migrate"]],
      [2, ["http", "ws", "migrate"]],
      [3, ["http", "migrate", "ws"]],
      [4, ["http", "ws", "worker"]],
    ]);
    for (const v of views) for (const p of v.processes) expect(WORKER_TYPES).toContain(p.workerType);
  });

  it("ports and health paths: 8000/8001 on machines, 8080 in pods, probed on the contract's paths", () => {
    const ports = (s: number) => views[s - 1]!.processes.filter((p) => p.port).map((p) => [p.workerType, p.port]);
    expect(ports(1)).toEqual([
      ["http", PORTS.vm.http],
      ["ws", PORTS.vm.ws],
    ]);
    expect(ports(3)).toEqual([
      ["http", 8000],
      ["ws", 8001],
    ]);
    expect(ports(4)).toEqual([
      ["http", 8080],
      ["ws", 8080],
      ["worker", 8080],
    ]);
    const probes = views[2]!.processes.flatMap((p) => p.probes.map((x) => `${p.workerType} ${x.by} ${x.path}:${x.port}`));
    expect(probes).toEqual([
      `http load balancer ${HEALTH_PATHS.api}:8000`,
      `http auto-healing ${HEALTH_PATHS.api}:8000`,
      `ws load balancer ${HEALTH_PATHS.liveness}:8001`,
      `ws auto-healing ${HEALTH_PATHS.liveness}:8001`,
    ]);
    const gke = views[3]!.processes.find((p) => p.workerType === "http")!.probes.map((x) => `${x.by} ${x.path}:${x.port}`);
    expect(gke).toEqual(["kubelet liveness /health:8080", "kubelet readiness /ready:8080", "load balancer (NEG) /ready:8080"]);
  });

  it("the same setting names carry the database, Redis, the buckets and the secret key from stage 1 to 4", () => {
    const all = (s: number, w: string) => views[s - 1]!.processes.filter((p) => p.workerType === w).flatMap(settingsOf);
    for (const s of [1, 2, 3, 4]) {
      for (const n of [
        "DATABASE_URL",
        "REDIS_URL",
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "JITSI_DOMAIN",
        "PORT",
        "WORKER_TYPE",
      ]) {
        expect(all(s, "http"), `stage ${s} http ${n}`).toContain(n);
        expect(all(s, "ws"), `stage ${s} ws ${n}`).toContain(n);
      }
    }
    for (const s of [2, 3, 4])
      for (const n of ["MEDIA_BUCKET", "STATIC_BUCKET", "CDN_HOST", "CDN_SIGNING_KEY_NAME", "CDN_SIGNING_KEY"])
        expect(all(s, "http"), `stage ${s} ${n}`).toContain(n);
    // Stage 4 delivers the secret key as a file: the contract's name with _FILE.
    expect(views[3]!.processes[0]!.variables).toContain("DJANGO_SECRET_KEY_FILE");
    expect(settingOf("DJANGO_SECRET_KEY_FILE")).toBe("DJANGO_SECRET_KEY");
  });

  it("catches a divergence: an old WORKER_TYPE value, a renamed setting, a probe on another path or port", () => {
    const bad = structuredClone(views);
    const s1 = bad[0]!.processes[0]!;
    s1.workerType = "gunicorn";
    s1.variables = s1.variables.map((v) => (v === "PORT" ? "GUNICORN_BIND" : v));
    s1.port = undefined;
    bad[3]!.processes[1]!.probes[0]!.path = "/healthz";
    bad[2]!.processes[0]!.settingsKeys = bad[2]!.processes[0]!.settingsKeys.filter((k) => k !== "JITSI_DOMAIN");
    expect(contractProblems(bad)).toEqual([
      "stage 1 VM container `backend`: not in the contract: GUNICORN_BIND",
      "stage 1 VM container `backend`: WORKER_TYPE=gunicorn is not one of http, ws, worker, migrate",
      "stage 1 VM container `backend`: no PORT",
      "stage 1 VM container `backend`: docker compose healthcheck probes port 8000, the process listens on undefined",
      "stage 1 VM container `backend`: missing required PORT",
      "stage 3 HTTP pool instance (`docker run`, host network): missing required JITSI_DOMAIN",
      "stage 4 GKE Deployment `course-organizer-ws`: kubelet liveness probes /healthz, not a contract health path",
      "stage 3 http: JITSI_DOMAIN (given at stage 2) is gone and the app has no fallback for it",
    ]);
    expect(unknownSettings(["GS_BUCKET_NAME", "MEDIA_BUCKET", "CDN_SIGNING_KEY_FILE"])).toEqual(["GS_BUCKET_NAME"]);
  });
});

describe("the example backend image (examples/app)", () => {
  const app = join(projectDir, "examples/app");

  it("its entrypoint is the one the contract renders, and passes shellcheck as POSIX sh", async () => {
    const text = readFileSync(join(app, "docker-entrypoint.sh"), "utf8");
    expect(text, "run `npm run contract`").toBe(entrypointScript(EXAMPLE_MODULE));
    const r = await run("shellcheck", ["-s", "sh", "-S", "style", join(app, "docker-entrypoint.sh")]).then(
      () => "",
      (e: { stdout: string }) => e.stdout,
    );
    expect(r).toBe("");
  });

  it("refuses a WORKER_TYPE outside the contract (the old `gunicorn`, `daphne`, `email-worker`) with exit 64", async () => {
    for (const w of ["gunicorn", "daphne", "email-worker", ""]) {
      const r = await run("sh", [join(app, "docker-entrypoint.sh")], { env: { PATH: "/usr/bin:/bin", WORKER_TYPE: w } }).then(
        () => ({ code: 0, stderr: "" }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
      expect(r).toEqual({ code: 64, stderr: `WORKER_TYPE=${w} is not one of: http ws worker migrate\n` });
    }
  });

  it("its Dockerfile runs that entrypoint from the contract's workdir as the contract's uid, with no CMD to override it", () => {
    const lines = readFileSync(join(app, "Dockerfile"), "utf8")
      .split("\n")
      .filter((l) => /^[A-Z]+ /.test(l));
    const of = (k: string) => lines.filter((l) => l.startsWith(`${k} `)).map((l) => l.slice(k.length + 1));
    expect(of("ENTRYPOINT").map((e) => JSON.parse(e))).toEqual([[IMAGE.entrypoint]]);
    expect(of("WORKDIR")).toEqual([IMAGE.workdir]);
    expect(of("USER")).toEqual([String(IMAGE.uid)]);
    expect(of("CMD")).toEqual([]);
    expect(of("FROM")).toEqual(["python:3.12-slim"]);
  });
});
