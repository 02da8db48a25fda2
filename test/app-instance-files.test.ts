/**
 * What the stage-3 app instances receive, through the tools that consume it: `cloud-init schema` on the user-data,
 * `shellcheck -S style` on every script, a real PgBouncer on the rendered pgbouncer.ini; and the scripts run
 * against stubs on loopback (ports 18210-18219): the settings fetch with a stub gcloud, the WebSocket connection
 * publisher with a stub metadata server and Monitoring API counting real TCP connections.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { file, ofType, plan } from "./helpers/plan";
import { SECRET_MARK } from "../src/plan/engine";
import { fetchSettingsScript, wsConnectionsScript, WS_CONNECTIONS_METRIC } from "../src/files/app-instance";

const PORTS = { stub: 18210, daphne: 18211, pgbouncer: 18212 };
let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "app-instance-"));
  chmodSync(dir, 0o755);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, timeout: 60_000 });
  if (r.error) throw r.error; // a missing tool is a failure, never a skip
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Run a command without blocking the event loop (the stubs answer from this process). */
function runAsync(cmd: string, args: string[], env: Record<string, string>): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env } });
    let out = "";
    c.stdout.on("data", (d) => (out += d));
    c.stderr.on("data", (d) => (out += d));
    c.on("error", reject);
    c.on("close", (status) => resolve({ status, out }));
  });
}

async function renderRole(role: string): Promise<{ root: string; paths: string[] }> {
  const p = await plan("stage3", { withFiles: true });
  const root = join(dir, role);
  const files = (p.files ?? []).filter((f) => f.role === role);
  for (const f of files) {
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    writeFileSync(join(root, f.path), f.content);
  }
  return { root, paths: files.map((f) => f.path) };
}

describe.each(["http-pool", "ws-pool"])("the %s files pass their real tools", (role) => {
  it("user-data passes `cloud-init schema`, writes exactly the rendered files and starts the services", async () => {
    const { root } = await renderRole(role);
    const r = run("cloud-init", ["schema", "--config-file", join(root, "cloud-init/user-data.yaml")]);
    expect(r.out).toContain("Valid cloud-config");
    expect(r.status).toBe(0);
    const p = await plan("stage3", { withFiles: true });
    const doc = parse(file(p, role, "cloud-init/user-data.yaml")) as {
      packages: string[];
      write_files: { path: string; content: string; permissions: string }[];
      runcmd: string[][];
    };
    expect(doc.packages).toEqual(["docker.io", "docker-compose-v2", "jq"]);
    const others = (p.files ?? []).filter((f) => f.role === role && f.path !== "cloud-init/user-data.yaml");
    expect(others.length).toBeGreaterThan(0);
    expect(doc.write_files).toHaveLength(others.length);
    for (const f of others) {
      const path = f.path.startsWith("systemd/") ? `/etc/systemd/system/${f.path.slice(8)}` : `/opt/course-organizer/${f.path}`;
      const w = doc.write_files.find((x) => x.path === path);
      expect(w?.content, path).toBe(f.content);
      expect(w!.permissions).toBe(f.path.endsWith(".sh") ? "0755" : "0644");
    }
    const timers = role === "ws-pool" ? ["co-ws-connections.timer"] : [];
    const migrate = role === "http-pool" ? ["co-migrate.service"] : [];
    expect(doc.runcmd).toEqual([
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", "docker.service"],
      ["systemctl", "enable", "co-settings.service", "co-pgbouncer.service", "co-app.service", "co-ops-agent.service", ...migrate, ...timers],
      ["systemctl", "start", "--no-block", "co-ops-agent.service", ...migrate],
      ["systemctl", "start", "co-app.service", ...timers],
    ]);
    expect(Buffer.byteLength(file(p, role, "cloud-init/user-data.yaml"))).toBeLessThan(256 * 1024);
  });

  it("every script passes `shellcheck -S style`", async () => {
    const { root, paths } = await renderRole(role);
    const scripts = paths.filter((x) => x.endsWith(".sh"));
    expect(scripts.sort()).toEqual(
      [
        "fetch-settings.sh",
        "install-ops-agent.sh",
        "registry-login.sh",
        "run-app.sh",
        "run-pgbouncer.sh",
        ...(role === "ws-pool" ? ["publish-ws-connections.sh"] : ["migrate.sh"]),
      ]
        .map((s) => `bin/${s}`)
        .sort(),
    );
    for (const s of scripts) {
      const r = run("shellcheck", ["-S", "style", join(root, s)]);
      expect(r.out, s).toBe("");
      expect(r.status, s).toBe(0);
    }
  });
});

/** `systemd-analyze verify` on a role's units, with the instance's paths mapped into the temp dir (stub docker). */
function verifyUnits(root: string, paths: string[], binDir: string) {
  const units = paths.filter((x) => x.startsWith("systemd/"));
  const unitDir = join(root, "verify-units");
  mkdirSync(unitDir, { recursive: true });
  const docker = join(root, "docker-stub");
  writeFileSync(docker, "#!/bin/sh\n");
  chmodSync(docker, 0o755);
  for (const x of paths.filter((y) => y.startsWith("bin/"))) chmodSync(join(root, x), 0o755);
  for (const u of units) {
    const text = readFileSync(join(root, u), "utf8").replaceAll(binDir, join(root, "bin")).replaceAll("/usr/bin/docker", docker);
    writeFileSync(join(unitDir, u.slice("systemd/".length)), text);
  }
  writeFileSync(join(unitDir, "docker.service"), `[Unit]\nDescription=stub\n[Service]\nExecStart=${docker}\n`);
  return { units, r: run("systemd-analyze", ["verify", "--man=no", ...units.map((u) => u.slice("systemd/".length))], { SYSTEMD_UNIT_PATH: `${unitDir}:` }) };
}

describe.each(["http-pool", "ws-pool"])("the %s systemd units", (role) => {
  it("pass `systemd-analyze verify`", async () => {
    const { root, paths } = await renderRole(role);
    const { units, r } = verifyUnits(root, paths, "/opt/course-organizer/bin");
    expect(units.length).toBe(role === "http-pool" ? 5 : 6);
    expect(r.out).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("what the processes get", () => {
  it("HTTP pool: Gunicorn only (WORKER_TYPE=http) on 8000; WebSocket pool: Daphne only on 8001 plus the connection publisher", async () => {
    const p = await plan("stage3", { withFiles: true });
    const http = file(p, "http-pool", "bin/run-app.sh");
    expect(http).toContain(
      "-e WORKER_TYPE=http \\\n  -e PORT=8000 \\\n  -e GUNICORN_WORKERS=5 \\\n  -e GUNICORN_THREADS=2 \\\n  -e CDN_SIGNING_KEY_NAME='co-media-key' \\\n",
    );
    expect(http).toContain("'us-central1-docker.pkg.dev/course-organizer-demo/co-images/backend:1.0.0'");
    expect(http).not.toContain("daphne");
    const ws = file(p, "ws-pool", "bin/run-app.sh");
    expect(ws).toContain("-e WORKER_TYPE=ws \\\n  -e PORT=8001 \\\n");
    expect(file(p, "ws-pool", "systemd/co-ws-connections.timer")).toContain("OnUnitActiveSec=60s");
    // A point every minute, not every 60-120 s (systemd's default AccuracySec is a minute).
    expect(file(p, "ws-pool", "systemd/co-ws-connections.timer")).toContain("AccuracySec=1s");
    expect(file(p, "ws-pool", "bin/publish-ws-connections.sh")).toContain("PORT=8001\n");
    expect(() => file(p, "http-pool", "bin/publish-ws-connections.sh")).toThrow();
    expect(file(p, "http-pool", "systemd/co-app.service")).toContain("Requires=docker.service co-settings.service co-pgbouncer.service");
    // Migrations and collectstatic from the HTTP pool only, over the direct connection.
    expect(file(p, "http-pool", "bin/migrate.sh")).toContain('--env-file "$RUNTIME_DIR/migrate.env"');
    expect(() => file(p, "ws-pool", "bin/migrate.sh")).toThrow();
  });

  it("PgBouncer: transaction pooling to Cloud SQL's private IP, config pool size, TLS; the settings secret by id", async () => {
    const p = await plan("stage3", { withFiles: true });
    const ini = file(p, "http-pool", "pgbouncer/pgbouncer.ini");
    expect(ini).toContain(`course_organizer = host=${p.outputs.databasePrivateIp} port=5432 dbname=course_organizer\n`);
    expect(ini).toContain("pool_mode = transaction\n");
    expect(ini).toContain("default_pool_size = 20\n");
    expect(ini).toContain("listen_addr = 127.0.0.1\nlisten_port = 6432\n");
    // Cloud SQL's server certificate verified against the instance's CA, written beside the ini.
    expect(ini).toContain("server_tls_sslmode = verify-ca\nserver_tls_ca_file = /etc/pgbouncer/server-ca.pem\n");
    // The CAs of the primary and its replica (each instance has its own): PgBouncer's and the direct connections'.
    expect(file(p, "http-pool", "pgbouncer/server-ca.pem")).toBe(
      "-----BEGIN CERTIFICATE-----\nMOCK co-db\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMOCK co-db-replica-0\n-----END CERTIFICATE-----\n",
    );
    // Mounted read-only into the app and migration containers at the contract's path.
    expect(file(p, "http-pool", "bin/run-app.sh")).toContain(
      "-v '/opt/course-organizer/pgbouncer/server-ca.pem':/run/course-organizer/database-ca.pem:ro \\\n",
    );
    expect(file(p, "http-pool", "bin/migrate.sh")).toContain(
      "-v '/opt/course-organizer/pgbouncer/server-ca.pem':/run/course-organizer/database-ca.pem:ro \\\n",
    );
    expect(file(p, "http-pool", "bin/run-pgbouncer.sh")).toContain("-v '/opt/course-organizer/pgbouncer/server-ca.pem':/etc/pgbouncer/server-ca.pem:ro \\\n");
    const fetch = file(p, "http-pool", "bin/fetch-settings.sh");
    expect(fetch).toContain("SETTINGS_SECRET='co-app-settings'\n");
    expect(fetch).toContain(
      "extra 'DJANGO_SECRET_KEY' 'co-django-secret-key'\nextra 'JITSI_JWT_APP_SECRET' 'co-jitsi-jwt-secret'\nextra 'CDN_SIGNING_KEY' 'co-cdn-signing-key'\n",
    );
    expect(file(p, "ws-pool", "bin/fetch-settings.sh")).not.toContain("JITSI_JWT_APP_SECRET");
    expect(file(p, "ws-pool", "bin/fetch-settings.sh")).not.toContain("CDN_SIGNING_KEY");
  });

  it("no generated secret value in any rendered file of the pools or the Jitsi machines", async () => {
    const p = await plan("stage3", { withFiles: true });
    const values = ofType(p, "gcp:secretmanager/secretVersion:SecretVersion").map((v) => (v.inputs.secretData as Record<string, string>)[SECRET_MARK]!);
    const mine = (p.files ?? []).filter((f) => ["http-pool", "ws-pool", "jitsi-signaling", "video-bridges-us-central1"].includes(f.role));
    expect(mine.length).toBeGreaterThan(30);
    expect(values.length).toBeGreaterThan(5);
    for (const f of mine) {
      expect(f.content).not.toBe("[unknown]");
      for (const v of values) {
        // The settings JSON holds the database password and the Redis URL; no part of a value may appear.
        for (const line of v.split("\n").filter((l) => l.length >= 12)) expect(f.content.includes(line), `${f.role}/${f.path}`).toBe(false);
      }
    }
  });
});

describe("fetch-settings.sh against a stub gcloud", () => {
  it("splits single- and multi-line settings, adds DJANGO_SECRET_KEY, writes PgBouncer's userlist root-only for uid 70", () => {
    const root = join(dir, "fetch");
    const bin = join(root, "bin");
    mkdirSync(bin, { recursive: true });
    const settings = {
      DATABASE_URL: "postgres://course_organizer:pa%22ss@127.0.0.1:6432/course_organizer",
      DATABASE_USER: "course_organizer",
      DATABASE_PASSWORD: 'pa"ss',
      REDIS_CA_CERT: "-----BEGIN CERTIFICATE-----\nABC\n-----END CERTIFICATE-----",
      CDN_HOST: "courses.example.org",
      DATABASE_DIRECT_HOST: "10.100.0.5",
      DATABASE_NAME: "course_organizer",
    };
    writeFileSync(
      join(bin, "gcloud"),
      `#!/usr/bin/env bash
case "$*" in
  *--secret=co-app-settings*) printf '%s' ${JSON.stringify(JSON.stringify(settings))} ;;
  *--secret=co-django-secret-key*) printf 'django-key-value' ;;
  *) exit 1 ;;
esac
`,
    );
    chmodSync(join(bin, "gcloud"), 0o755);
    const rt = join(root, "run");
    const script = join(root, "fetch-settings.sh");
    writeFileSync(
      script,
      fetchSettingsScript({
        project: "p",
        settingsSecretId: "co-app-settings",
        secrets: [{ env: "DJANGO_SECRET_KEY", secretId: "co-django-secret-key" }],
        runtimeDir: rt,
        retryDelaySeconds: 0,
      }),
    );
    const r = run("bash", [script], { PATH: `${bin}:${process.env.PATH}` });
    expect(r.out).toContain("settings written to");
    expect(r.status).toBe(0);
    expect(readFileSync(join(rt, "app.env"), "utf8").split("\n").filter(Boolean).sort()).toEqual(
      [
        "CDN_HOST=courses.example.org",
        'DATABASE_PASSWORD=pa"ss',
        "DATABASE_URL=postgres://course_organizer:pa%22ss@127.0.0.1:6432/course_organizer",
        "DATABASE_USER=course_organizer",
        "DATABASE_DIRECT_HOST=10.100.0.5",
        "DATABASE_NAME=course_organizer",
        "DJANGO_SECRET_KEY=django-key-value",
      ].sort(),
    );
    // Migrations: the same settings, DATABASE_URL replaced by a direct TLS connection to Cloud SQL (URL-encoded).
    expect(readFileSync(join(rt, "migrate.env"), "utf8").split("\n").filter(Boolean).sort()).toEqual(
      [
        "CDN_HOST=courses.example.org",
        'DATABASE_PASSWORD=pa"ss',
        "DATABASE_URL=postgres://course_organizer:pa%22ss@10.100.0.5:5432/course_organizer?sslmode=verify-ca&sslrootcert=/run/course-organizer/database-ca.pem",
        "DATABASE_USER=course_organizer",
        "DATABASE_DIRECT_HOST=10.100.0.5",
        "DATABASE_NAME=course_organizer",
        "DJANGO_SECRET_KEY=django-key-value",
      ].sort(),
    );
    expect(statSync(join(rt, "migrate.env")).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(rt, "multiline"))).toEqual(["REDIS_CA_CERT"]);
    expect(readFileSync(join(rt, "multiline/REDIS_CA_CERT"), "utf8")).toBe(`${settings.REDIS_CA_CERT}\n`);
    const userlist = join(rt, "pgbouncer/userlist.txt");
    expect(readFileSync(userlist, "utf8")).toBe('"course_organizer" "pa""ss"\n');
    const st = statSync(userlist);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([70, 70, 0o600]);
    expect(statSync(join(rt, "app.env")).mode & 0o777).toBe(0o600);
    expect(statSync(rt).mode & 0o777).toBe(0o700);

    // A secret that cannot be read fails the unit (the app does not start with half its settings).
    writeFileSync(
      script,
      fetchSettingsScript({ project: "p", settingsSecretId: "co-missing", secrets: [], runtimeDir: join(root, "run2"), retryDelaySeconds: 0 }),
    );
    const bad = run("bash", [script], { PATH: `${bin}:${process.env.PATH}` });
    expect(bad.status).not.toBe(0);
    expect(bad.out).toContain("secret co-missing could not be read");
  });
});

describe("the WebSocket connection publisher against stub metadata and Monitoring servers", () => {
  let stub: Server | undefined;
  let daphne: ReturnType<typeof createTcpServer> | undefined;
  const clients: Socket[] = [];
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await new Promise<void>((r) => (daphne ? daphne.close(() => r()) : r()));
    await new Promise<void>((r) => (stub ? stub.close(() => r()) : r()));
  });

  it("counts established connections on Daphne's port with ss and writes one gce_instance GAUGE point", async () => {
    const posts: { auth?: string; body: any; url?: string }[] = [];
    stub = createServer((req, res) => {
      const meta: Record<string, string> = {
        "/computeMetadata/v1/project/project-id": "course-organizer-demo",
        "/computeMetadata/v1/instance/id": "1234567890",
        "/computeMetadata/v1/instance/zone": "projects/123/zones/us-central1-b",
        "/computeMetadata/v1/instance/service-accounts/default/token": JSON.stringify({ access_token: "tok", expires_in: 3599, token_type: "Bearer" }),
      };
      if (req.method === "GET" && meta[req.url ?? ""] !== undefined) {
        if (req.headers["metadata-flavor"] !== "Google") return void res.writeHead(403).end();
        return void res.writeHead(200).end(meta[req.url!]);
      }
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        posts.push({ auth: req.headers.authorization, body: JSON.parse(body), url: req.url });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => stub!.listen(PORTS.stub, "127.0.0.1", r));
    daphne = createTcpServer(() => undefined);
    await new Promise<void>((r) => daphne!.listen(PORTS.daphne, "127.0.0.1", r));
    for (let i = 0; i < 3; i++) {
      const c = connect(PORTS.daphne, "127.0.0.1");
      clients.push(c);
      await new Promise<void>((r) => c.on("connect", () => r()));
    }
    const script = join(dir, "publish.sh");
    writeFileSync(
      script,
      wsConnectionsScript({
        port: PORTS.daphne,
        metadataUrl: `http://127.0.0.1:${PORTS.stub}/computeMetadata/v1`,
        monitoringUrl: `http://127.0.0.1:${PORTS.stub}/v3`,
      }),
    );
    const r = await runAsync("bash", [script], {});
    expect(r.out).toContain(`published 3 connections on port ${PORTS.daphne}`);
    expect(r.status).toBe(0);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.url).toBe("/v3/projects/course-organizer-demo/timeSeries");
    expect(posts[0]!.auth).toBe("Bearer tok");
    const ts = posts[0]!.body.timeSeries;
    expect(ts).toEqual([
      {
        metric: { type: WS_CONNECTIONS_METRIC },
        resource: { type: "gce_instance", labels: { project_id: "course-organizer-demo", instance_id: "1234567890", zone: "us-central1-b" } },
        points: [{ interval: { endTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) }, value: { int64Value: "3" } }],
      },
    ]);
  });
});

describe("PgBouncer starts on the rendered pgbouncer.ini", () => {
  let proc: ChildProcess | undefined;
  afterAll(() => {
    if (proc?.pid) process.kill(proc.pid, "SIGTERM");
  });

  it("listens on loopback with the file as rendered (empty pidfile and socket dir), reading the boot-time userlist", async () => {
    const p = await plan("stage3", { withFiles: true });
    const root = join(dir, "pgb");
    mkdirSync(root, { recursive: true });
    chmodSync(root, 0o755);
    const ini = file(p, "http-pool", "pgbouncer/pgbouncer.ini")
      .replace("listen_port = 6432", `listen_port = ${PORTS.pgbouncer}`)
      .replace("auth_file = /etc/pgbouncer/userlist.txt", `auth_file = ${join(root, "userlist.txt")}`);
    writeFileSync(join(root, "pgbouncer.ini"), ini);
    writeFileSync(join(root, "userlist.txt"), '"course_organizer" "x"\n', { mode: 0o600 });
    run("chown", ["postgres:postgres", join(root, "userlist.txt")]);
    let out = "";
    proc = spawn("runuser", ["-u", "postgres", "--", "pgbouncer", join(root, "pgbouncer.ini")]);
    proc.stdout!.on("data", (d) => (out += d));
    proc.stderr!.on("data", (d) => (out += d));
    const ok = await new Promise<boolean>((resolve) => {
      const t = setInterval(() => {
        if (/listening on 127\.0\.0\.1:18212/.test(out)) {
          clearInterval(t);
          resolve(true);
        }
        if (proc!.exitCode !== null) {
          clearInterval(t);
          resolve(false);
        }
      }, 100);
      setTimeout(() => (clearInterval(t), resolve(false)), 15_000);
    });
    expect(ok, out).toBe(true);
    // A client gets to PgBouncer (the server behind it is not there: the login is what is checked here).
    const c = connect(PORTS.pgbouncer, "127.0.0.1");
    await new Promise<void>((r, j) => (c.on("connect", () => r()), c.on("error", j)));
    c.destroy();
  });
});
