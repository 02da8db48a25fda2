/**
 * The example Django app (examples/app) served by what each stage renders, with Debian's real packages: Django 3.2,
 * Channels 4, channels_redis 4, Daphne, Gunicorn, psycopg2, django-redis, PostgreSQL 15, PgBouncer, Redis 7, nginx.
 *
 * One scene in private mount and network namespaces (`unshare -m -n`): its own loopback, so the rendered ports
 * (80, 443, 5432, 6379, 6432, 8000, 8001, 8080) are used as rendered without colliding with anything; /etc/hosts
 * maps the compose service names and Google's metadata and Secret Manager hosts to 127.0.0.1; /opt, /run and
 * /etc/pgbouncer are bind mounts of this test's temp dir. Every process is started through `nsenter` (which execs,
 * so the PID is the server's) and stopped by PID. One PostgreSQL (TLS on) serves the three stages.
 *
 * Stand-ins: `gcloud` (Secret Manager reads of the boot scripts), `docker` (runs the image's entrypoint or PgBouncer
 * on the host network), a metadata server and Secret Manager's REST API (test/fixtures/app-live), and
 * django-storages (not in Debian) writing "bucket" objects to a directory.
 *
 * Stage 1: fetch-secrets.sh, redis.conf, docker-compose.yml's environment, nginx.conf (from nginxConf with the VM's
 * options; only paths and the Jitsi upstream's port differ), the index SQL; Gunicorn and two Daphne processes
 * started by the image's entrypoint. Stage 3: the HTTP pool's fetch-settings.sh, run-pgbouncer.sh (pgbouncer.ini as
 * rendered, TLS to PostgreSQL), migrate.sh and run-app.sh, and the WebSocket pool's run-app.sh, with Redis over TLS.
 * Stage 4: the Deployments' environment, SETTINGS_FILE with the DATABASES map over two shards (passwords from the
 * Secret Manager stand-in), and the channel layer over two independent Redis instances (TLS).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { redisUrl } from "../components/redis";
import { settingsEnv } from "../components/app-settings";
import { appInstanceFiles, type AppInstanceOptions } from "../src/files/app-instance";
import { deploymentManifest, type WorkloadManifestArgs } from "../src/files/k8s-manifests";
import { nginxConf } from "../src/files/nginx";
import { shardDatabaseName } from "../src/stack/data";
import { databasesMap } from "../src/stack/settings";
import { file, plan, projectDir } from "./helpers/plan";
import { pgBin } from "./helpers/postgres";
import { waitForPid } from "./helpers/pid";
import { selfSigned, signedBy } from "./helpers/tls";

const run = promisify(execFile);
const APP = join(projectDir, "examples/app");
const FIX = join(projectDir, "test/fixtures/app-live");
const PY = "/usr/bin/python3";
const DOMAIN = "courses.example.org";
const PROJECT = "course-organizer-demo";

let D = "";
let holder: ChildProcess | undefined;
let H = 0;
const procs: { name: string; proc: ChildProcess; log: string[] }[] = [];
let pgPid = 0;
const t0 = Date.now();
/** Seconds since the file started, for the phase timings printed at the end. */
const marks: string[] = [];
const mark = (what: string) => marks.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);

/** Run a command in the scene's namespaces to completion. */
async function nsRun(args: string[], env: Record<string, string> = {}, opts: { cwd?: string; net?: boolean } = {}): Promise<string> {
  const ns = opts.net === false ? ["-m"] : ["-m", "-n"];
  try {
    // Entering a mount namespace resets the working directory: nsenter --wd sets it inside.
    const wd = opts.cwd ? [`--wd=${opts.cwd}`] : [];
    const { stdout } = await run("nsenter", ["-t", String(H), ...ns, ...wd, "--", ...args], {
      env: Object.keys(env).length > 0 ? env : process.env,
      maxBuffer: 32 << 20,
      timeout: 240_000,
    });
    return stdout;
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${args.join(" ")} failed: ${x.message}\n${x.stdout ?? ""}\n${x.stderr ?? ""}`);
  }
}

/** Start a long-running process in the scene (stopped by PID in afterAll or by `stop`). */
function nsStart(name: string, args: string[], env: Record<string, string>, cwd?: string): ChildProcess {
  const proc = spawn("nsenter", ["-t", String(H), "-m", "-n", ...(cwd ? [`--wd=${cwd}`] : []), "--", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  proc.stdout!.on("data", (d: Buffer) => log.push(d.toString()));
  proc.stderr!.on("data", (d: Buffer) => log.push(d.toString()));
  procs.push({ name, proc, log });
  return proc;
}

function logsOf(name: string): string {
  return procs
    .filter((p) => p.name === name)
    .map((p) => p.log.join("").slice(-4000))
    .join("\n");
}

/** SIGTERM to each named process at once, then SIGKILL to any still running after 10 s. */
async function stop(names: string[]): Promise<void> {
  const running = procs.filter((x) => names.includes(x.name) && x.proc.exitCode === null && x.proc.pid);
  await Promise.all(
    running.map(async (p) => {
      const done = new Promise((r) => p.proc.once("exit", r));
      p.proc.kill("SIGTERM");
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
      if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill("SIGKILL");
    }),
  );
}

/** Wait until GET url answers 2xx inside the scene (curl retries connection refusals). */
async function waitHttp(url: string, name: string, host = "127.0.0.1"): Promise<void> {
  try {
    await nsRun([
      "curl",
      "-fsS",
      "-o",
      "/dev/null",
      "-H",
      `Host: ${host}`,
      "--retry",
      "80",
      "--retry-connrefused",
      "--retry-delay",
      "0",
      "--retry-max-time",
      "60",
      "-m",
      "5",
      url,
    ]);
  } catch (e) {
    throw new Error(`${name} did not answer ${url}: ${(e as Error).message}\n${logsOf(name)}`);
  }
}

/** A bash loop that waits for a TCP port on the scene's loopback (no nc on this machine: bash's /dev/tcp). */
const portWait = (port: number) => `for i in $(seq 1 150); do (exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && exit 0; sleep 0.1; done; exit 1`;

async function psql(db: string, ...sql: string[]): Promise<string> {
  const args = ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", join(D, "pg/sock"), "-p", "5432", "-U", "postgres", "-d", db];
  for (const s of sql) args.push("-c", s);
  return (await run("psql", args)).stdout.trim();
}

/** The image's process environment (what `docker run` gives it) plus where the image's python and packages are. */
function imageEnv(env: Record<string, string>): Record<string, string> {
  // PYTHONDONTWRITEBYTECODE: as the Dockerfile's ENV (and no __pycache__ written into the source tree).
  return {
    ...env,
    PATH: `${D}/imagebin:/usr/bin:/bin:/usr/sbin:/sbin`,
    PYTHONPATH: join(FIX, "pystubs"),
    PYTHONDONTWRITEBYTECODE: "1",
    STANDIN_GCS_DIR: join(D, "gcs"),
    HOME: D,
  };
}

function standinEnv(): Record<string, string> {
  return {
    PATH: `${D}/standin:/usr/bin:/bin:/usr/sbin:/sbin`,
    STANDIN_APP_DIR: APP,
    STANDIN_BACKEND_IMAGE: "backend:test",
    STANDIN_IMAGE_PATH: `${D}/imagebin:/usr/bin:/bin`,
    STANDIN_IMAGE_PYTHONPATH: join(FIX, "pystubs"),
    STANDIN_GCS_DIR: join(D, "gcs"),
  };
}

async function client(scenario: Record<string, unknown>): Promise<Record<string, any>> {
  const out = await nsRun([PY, join(FIX, "app_client.py"), JSON.stringify(scenario)]);
  return JSON.parse(out) as Record<string, any>;
}

/** A user, a group and the membership, created by the app's own models (Django's shell in the image). */
async function seedUser(env: Record<string, string>, email: string, password: string): Promise<number> {
  const code = [
    "from directory.models import User",
    "from course_api.models import StudyGroup, StudyGroupMembership",
    `u = User.objects.create_user(${JSON.stringify(email)}, ${JSON.stringify(password)})`,
    "g = StudyGroup.objects.create(name='Algebra', student_class_id=7)",
    "StudyGroupMembership.objects.create(user=u, group=g)",
    "print('GROUP', g.id)",
  ].join("; ");
  const out = await nsRun([join(APP, "docker-entrypoint.sh"), "python", "manage.py", "shell", "-c", code], imageEnv(env), { cwd: APP });
  return Number(/GROUP (\d+)/.exec(out)![1]);
}

async function redisTls(name: string, port: number, auth: string): Promise<void> {
  mkdirSync(join(D, name), { recursive: true });
  nsStart(
    name,
    [
      "redis-server",
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--tls-cert-file",
      join(D, "tls/server.pem"),
      "--tls-key-file",
      join(D, "tls/server.key"),
      "--tls-ca-cert-file",
      join(D, "tls/ca.pem"),
      "--tls-auth-clients",
      "no",
      "--requirepass",
      auth,
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      join(D, name),
    ],
    process.env as Record<string, string>,
  );
  await nsRun([
    "sh",
    "-c",
    `for i in $(seq 1 100); do redis-cli --tls --cacert ${D}/tls/ca.pem -p ${port} -a ${auth} --no-auth-warning ping 2>/dev/null | grep -q PONG && exit 0; sleep 0.1; done; exit 1`,
  ]);
}

async function redisCommands(port: number, auth: string): Promise<number> {
  const out = await nsRun(["redis-cli", "--tls", "--cacert", join(D, "tls/ca.pem"), "-p", String(port), "-a", auth, "--no-auth-warning", "info", "stats"]);
  return Number(/total_commands_processed:(\d+)/.exec(out)![1]);
}

beforeAll(async () => {
  D = mkdtempSync(join(tmpdir(), "app-live-"));
  chmodSync(D, 0o755);
  for (const d of [
    "opt",
    "run",
    "etc-pgbouncer",
    "standin",
    "imagebin",
    "secrets",
    "gcs",
    "tls",
    "pg/data",
    "pg/sock",
    "pg/log",
    "nginx",
    "certs",
    "static",
    "media",
    "acme",
  ])
    mkdirSync(join(D, d), { recursive: true });
  // Certificates: one CA; the server's for 127.0.0.1 and the names the stand-ins answer.
  const t = (f: string) => join(D, "tls", f);
  const ca = { key: t("ca.key"), cert: t("ca.pem") };
  selfSigned({ ...ca, subject: "/CN=app-live test CA", days: 2 });
  signedBy(ca, {
    key: t("server.key"),
    cert: t("server.pem"),
    subject: "/CN=127.0.0.1",
    days: 2,
    altNames: ["IP:127.0.0.1", "DNS:localhost", "DNS:secretmanager.googleapis.com", `DNS:${DOMAIN}`],
  });
  cpSync(t("server.pem"), join(D, "certs/fullchain.pem"));
  cpSync(t("server.key"), join(D, "certs/privkey.pem"));
  writeFileSync(
    join(D, "hosts"),
    `127.0.0.1 localhost postgres redis backend daphne jitsi-web ${DOMAIN}\n127.0.0.2 metadata.google.internal secretmanager.googleapis.com\n`,
  );
  // The image's `python` is Debian's interpreter with the app's packages.
  symlinkSync(PY, join(D, "imagebin/python"));
  writeFileSync(
    join(D, "standin/gcloud"),
    `#!/bin/sh\n# gcloud secrets versions access latest --secret=ID --project=P\nfor a in "$@"; do case "$a" in --secret=*) id="\${a#--secret=}";; esac; done\ncat "${D}/secrets/$id"\n`,
  );
  chmodSync(join(D, "standin/gcloud"), 0o755);
  writeFileSync(join(D, "standin/docker"), `#!/bin/sh\nexec ${PY} ${join(FIX, "docker_standin.py")} "$@"\n`);
  chmodSync(join(D, "standin/docker"), 0o755);

  holder = spawn(
    "unshare",
    [
      "-m",
      "-n",
      "--propagation",
      "private",
      "sh",
      "-ec",
      [
        "ip link set lo up",
        `mount --bind ${D}/hosts /etc/hosts`,
        `mount --bind ${D}/opt /opt`,
        `mount --bind ${D}/run /run`,
        `mount --bind ${D}/etc-pgbouncer /etc/pgbouncer`,
        "echo ready",
        "exec sleep 100000",
      ].join("\n"),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  await new Promise<void>((resolve, reject) => {
    holder!.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
    holder!.on("exit", (c) => reject(new Error(`namespace holder exited ${c}`)));
  });
  H = holder.pid!;

  nsStart(
    "standin",
    [PY, join(FIX, "gce_standin.py"), join(D, "secrets"), join(D, "tls/server.pem"), join(D, "tls/server.key"), PROJECT],
    process.env as Record<string, string>,
  );

  // PostgreSQL 15 with TLS, in the scene's network (the socket directory is a path: psql reaches it from outside).
  const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
  const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
  for (const d of ["pg", "pg/data", "pg/sock", "pg/log"]) chownSync(join(D, d), uid, gid);
  cpSync(t("server.key"), join(D, "pg/server.key"));
  cpSync(t("server.pem"), join(D, "pg/server.pem"));
  for (const f of ["server.key", "server.pem"]) chownSync(join(D, "pg", f), uid, gid);
  chmodSync(join(D, "pg/server.key"), 0o600);
  writeFileSync(join(D, "pg/pw"), "superuser-not-used-over-tcp\n");
  chownSync(join(D, "pg/pw"), uid, gid);
  await run("runuser", [
    "-u",
    "postgres",
    "--",
    `${pgBin}/initdb`,
    "-D",
    join(D, "pg/data"),
    "-U",
    "postgres",
    "--no-sync",
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    `--pwfile=${join(D, "pg/pw")}`,
  ]);
  const opts = [
    "-p 5432",
    `-k ${D}/pg/sock`,
    "-c listen_addresses=127.0.0.1",
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c ssl=on",
    `-c ssl_cert_file=${D}/pg/server.pem`,
    `-c ssl_key_file=${D}/pg/server.key`,
  ].join(" ");
  await nsRun([
    "runuser",
    "-u",
    "postgres",
    "--",
    `${pgBin}/pg_ctl`,
    "-D",
    join(D, "pg/data"),
    "-l",
    join(D, "pg/log/postgres.log"),
    "-o",
    opts,
    "-w",
    "-t",
    "30",
    "start",
  ]);
  pgPid = waitForPid(join(D, "pg/data/postmaster.pid"));
  mark("scene ready (certificates, namespaces, PostgreSQL)");
}, 120_000);

afterAll(async () => {
  mark("done");
  if (process.env.APP_LIVE_TIMINGS) process.stderr.write(`app-live phases:\n  ${marks.join("\n  ")}\n`);
  await stop(procs.map((p) => p.name));
  // Never 0 or 1: process.kill(0, ...) would signal the test runner's whole process group.
  if (pgPid > 1) {
    try {
      process.kill(pgPid, "SIGINT");
      for (let i = 0; i < 100; i++) {
        process.kill(pgPid, 0);
        await new Promise((r) => setTimeout(r, 100));
      }
    } catch {
      /* gone */
    }
  }
  if (holder?.pid && holder.exitCode === null) holder.kill("SIGKILL");
  if (D && existsSync(D)) rmSync(D, { recursive: true, force: true });
}, 60_000);

describe("stage 1: the VM's rendered files serve the app", () => {
  let result: Record<string, any>;
  let indexes = "";

  beforeAll(async () => {
    const p = await plan("stage1", { withFiles: true });
    mark("stage 1 planned");
    // Secret Manager values for the ids fetch-secrets.sh reads; it writes the env file compose interpolates from.
    const fetch = file(p, "vm", "bin/fetch-secrets.sh");
    for (const m of fetch.matchAll(/^fetch '([A-Z_]+)' '([^']+)'/gm))
      writeFileSync(join(D, "secrets", m[2]!), `${m[1]!.toLowerCase().replace(/_/g, "")}${"x".repeat(20)}`);
    writeFileSync(join(D, "opt/fetch-secrets.sh"), fetch, { mode: 0o755 });
    await nsRun(["bash", "/opt/fetch-secrets.sh"], standinEnv());
    const appEnv = Object.fromEntries(
      readFileSync(join(D, "run/course-organizer/app.env"), "utf8")
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    // Redis with the rendered redis.conf and the ACL file fetch-secrets.sh wrote (compose mounts it at /run/secrets).
    mkdirSync(join(D, "run/secrets"), { recursive: true });
    cpSync(join(D, "run/course-organizer/secrets/redis-users.acl"), join(D, "run/secrets/redis-users.acl"));
    // The container's data volume (/data) is this scene's directory: Redis applies `dir` while parsing the file.
    const redisConf = file(p, "vm", "redis/redis.conf");
    expect(redisConf).toMatch(/^dir \/data$/m);
    writeFileSync(join(D, "redis1.conf"), redisConf.replace(/^dir \/data$/m, `dir ${D}/redis1`));
    mkdirSync(join(D, "redis1"));
    nsStart("redis1", ["redis-server", join(D, "redis1.conf")], process.env as Record<string, string>);
    await nsRun([
      "sh",
      "-c",
      `for i in $(seq 1 100); do REDISCLI_AUTH='${appEnv.REDIS_PASSWORD}' redis-cli -p 6379 ping 2>/dev/null | grep -q PONG && exit 0; sleep 0.1; done; exit 1`,
    ]).catch((e: Error) => {
      throw new Error(`${e.message}\n${logsOf("redis1")}`);
    });

    const compose = parse(file(p, "vm", "docker-compose.yml")) as { services: Record<string, { environment: Record<string, string> }> };
    // Compose's interpolation: ${VAR:?message} from the env file.
    const interpolate = (env: Record<string, string>) =>
      Object.fromEntries(
        Object.entries(env).map(([k, v]) => [k, v.replace(/\$\{([A-Z_]+):\?[^}]*\}/g, (_m, name: string) => appEnv[name] ?? `<unset ${name}>`)]),
      );
    const backend = interpolate(compose.services.backend!.environment);
    const daphne = interpolate(compose.services.daphne!.environment);
    const [dbUser, dbPass, dbName] = /postgres:\/\/([^:]+):([^@]+)@postgres:5432\/(\w+)/.exec(backend.DATABASE_URL!)!.slice(1);
    await psql("postgres", `CREATE ROLE ${dbUser} LOGIN PASSWORD '${dbPass}'`, `CREATE DATABASE ${dbName} OWNER ${dbUser}`);

    // migrate.sh: `docker compose run -e WORKER_TYPE=migrate backend python manage.py migrate --noinput` (collectstatic
    // writes /app/staticfiles, a path this machine does not have: it runs at stage 3, into the bucket).
    await nsRun([join(APP, "docker-entrypoint.sh"), "python", "manage.py", "migrate", "--noinput"], imageEnv({ ...backend, WORKER_TYPE: "migrate" }), {
      cwd: APP,
    });
    // Then the rendered index SQL (apply-db-indexes.sh), on the tables the app's migrations created.
    writeFileSync(join(D, "apply-db-indexes.sh"), file(p, "vm", "bin/apply-db-indexes.sh"));
    await run("bash", [join(D, "apply-db-indexes.sh")], {
      env: { ...process.env, PGHOST: join(D, "pg/sock"), PGPORT: "5432", PGUSER: dbUser!, PGDATABASE: dbName! },
    });
    indexes = await psql(dbName!, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1");
    mark("stage 1 migrated and indexed");

    nsStart("gunicorn", [join(APP, "docker-entrypoint.sh")], imageEnv(backend), APP);
    nsStart("daphne-a", [join(APP, "docker-entrypoint.sh")], imageEnv(daphne), APP);
    // A second Daphne (compose would scale the service: another container, same port, its own address): here 8002.
    nsStart("daphne-b", [join(APP, "docker-entrypoint.sh")], imageEnv({ ...daphne, PORT: "8002" }), APP);
    // nginx.conf as the VM receives it (vm-bundle's options), with this scene's paths, jitsi-web moved off port 80, and
    // listening on 127.0.0.1 only (the metadata and Secret Manager stand-ins hold ports 80 and 443 of 127.0.0.2).
    writeFileSync(
      join(D, "nginx/nginx.conf"),
      nginxConf({
        serverName: DOMAIN,
        meetServerName: `meet.${DOMAIN}`,
        tls: true,
        apiUpstreams: ["backend:8000"],
        wsUpstreams: ["daphne:8001"],
        jitsiUpstream: "jitsi-web:8080",
        staticRoot: join(D, "static"),
        mediaRoot: join(D, "media"),
        certDir: join(D, "certs"),
        acmeRoot: join(D, "acme"),
        runtimeDir: join(D, "nginx"),
        listenAddress: "127.0.0.1",
      }),
    );
    nsStart(
      "nginx",
      ["nginx", "-p", `${D}/nginx/`, "-e", join(D, "nginx/error.log"), "-c", join(D, "nginx/nginx.conf"), "-g", "daemon off;"],
      process.env as Record<string, string>,
    );
    const group = await seedUser(backend, "ada@example.org", "correct horse battery");
    await waitHttp("http://127.0.0.1:8000/api/health", "gunicorn");
    await waitHttp("http://127.0.0.1:8001/health", "daphne-a");
    await waitHttp("http://127.0.0.1:8002/health", "daphne-b");
    await nsRun(["bash", "-c", portWait(443)]).catch((e: Error) => {
      throw new Error(`${e.message}\n${logsOf("nginx")}\n${existsSync(join(D, "nginx/error.log")) ? readFileSync(join(D, "nginx/error.log"), "utf8") : ""}`);
    });
    mark("stage 1 serving");
    result = await client({
      site: DOMAIN,
      http: "https://127.0.0.1",
      ws: [`wss://127.0.0.1/ws/groups/${group}/`, `ws://127.0.0.1:8002/ws/groups/${group}/`],
      email: "ada@example.org",
      password: "correct horse battery",
      group,
      tag: "s1",
    });
  }, 180_000);

  afterAll(async () => {
    await stop(["gunicorn", "daphne-a", "daphne-b", "nginx", "redis1"]);
  });

  it("the rendered index SQL applies to the tables the app's migrations created", () => {
    for (const ix of ["idx_groupmessage_group_created", "idx_studygroup_class", "idx_membership_user_group"]) expect(indexes).toContain(ix);
    // directory_user.email is unique in the app: its unique index serves the e-mail lookup, so the script keeps it.
    expect(indexes).toMatch(/idx_user_email|directory_user_email_key/);
  });

  it("HTTPS through nginx reaches Gunicorn: login by e-mail (session in Redis), a view that writes and reads PostgreSQL", () => {
    expect(result.health).toEqual([200, { status: "ok" }]);
    expect(result.login[0]).toBe(200);
    expect(result.post[0]).toBe(201);
    expect(result.post[1]).toMatchObject({ content: "http-s1", database: "default" });
    expect(result.list[0]).toBe(200);
    expect(result.list[1].messages.map((m: { content: string }) => m.content)).toEqual(["http-s1", "ws-s1"]);
    expect(result.ready).toEqual([200, { status: "ready", problems: {} }]);
  });

  it("a WebSocket message sent on one Daphne (through nginx) reaches a client of the other; heartbeats are answered", () => {
    expect(result.ws_status).toEqual([101, 101]);
    expect(result.pong).toEqual({ type: "pong" });
    expect(result.b_got_ws).toMatchObject({ content: "ws-s1" });
    // Gunicorn's broadcast reaches both Daphne processes through the channel layer.
    expect(result.a_got_http.content).toBe("http-s1");
    expect(result.b_got_http.content).toBe("http-s1");
  });
});

const S3 = {
  db: "co_stage3",
  user: "co_app",
  password: "s3-db-password-123",
  redisAuth: "memorystore-auth-1",
  secretKey: "django-secret-key-stage3-xxxxxxxxxxxxxxxxxxxxxxx",
};

function stage3Settings(extra: Record<string, string> = {}): Record<string, string> {
  return settingsEnv({
    database: { name: S3.db, user: S3.user, password: S3.password, directHost: "127.0.0.1" },
    redisUrl: redisUrl(S3.redisAuth, "127.0.0.1", 6378),
    redisCaCert: readFileSync(join(D, "tls/ca.pem"), "utf8"),
    mediaBucket: "co-media",
    staticBucket: "co-static",
    cdnHost: DOMAIN,
    jitsiDomain: `meet.${DOMAIN}`,
    extra,
  });
}

let group3 = 0;

describe("stage 3: the app instances' rendered scripts serve the same requests", () => {
  let result: Record<string, any>;

  beforeAll(async () => {
    await psql("postgres", `CREATE ROLE ${S3.user} LOGIN PASSWORD '${S3.password}'`, `CREATE DATABASE ${S3.db} OWNER ${S3.user}`);
    await redisTls("redis3", 6378, S3.redisAuth);
    writeFileSync(join(D, "secrets/co-app-settings"), JSON.stringify(stage3Settings(), null, 2));
    writeFileSync(join(D, "secrets/co-django-secret-key"), S3.secretKey);
    const base: AppInstanceOptions = {
      kind: "http",
      project: PROJECT,
      backendImage: "backend:test",
      pgbouncerImage: "pgbouncer:test",
      registryHosts: [],
      settingsSecretId: "co-app-settings",
      secrets: [{ env: "DJANGO_SECRET_KEY", secretId: "co-django-secret-key" }],
      dbHost: "127.0.0.1",
      dbName: S3.db,
      // PgBouncer verifies the server against this CA (verify-ca): the test CA that signed PostgreSQL's certificate.
      dbCaCert: readFileSync(join(D, "tls/ca.pem"), "utf8"),
      poolSize: 5,
      domain: DOMAIN,
      // One worker process: the scene runs on two shared cores (the config's 5 x 2 changes nothing the test checks).
      gunicornWorkers: 1,
    };
    for (const f of appInstanceFiles(base)) {
      const target = join(D, "opt", f.path.replace(/^\/opt\//, ""));
      if (!f.path.startsWith("/opt/")) continue;
      mkdirSync(join(target, ".."), { recursive: true });
      writeFileSync(target, f.content, { mode: Number.parseInt(f.permissions, 8) });
    }
    const wsRun = appInstanceFiles({ ...base, kind: "ws" }).find((f) => f.renderPath === "bin/run-app.sh")!;
    writeFileSync(join(D, "opt/course-organizer/bin/run-app-ws.sh"), wsRun.content, { mode: 0o755 });
    const bin = "/opt/course-organizer/bin";
    await nsRun(["bash", `${bin}/fetch-settings.sh`], standinEnv());
    nsStart("pgbouncer", ["bash", `${bin}/run-pgbouncer.sh`], standinEnv());
    await nsRun(["bash", "-c", portWait(6432)]).catch((e: Error) => {
      throw new Error(`${e.message}\n${logsOf("pgbouncer")}`);
    });
    mark("stage 3 settings and PgBouncer");
    await nsRun(["bash", `${bin}/migrate.sh`], standinEnv());
    mark("stage 3 migrated");
    // The user and group, through PgBouncer, with the instance's env file (as `docker run --env-file` would).
    const env = Object.fromEntries(
      readFileSync(join(D, "run/course-organizer/app.env"), "utf8")
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    nsStart("gunicorn3", ["bash", `${bin}/run-app.sh`], standinEnv());
    nsStart("daphne3", ["bash", `${bin}/run-app-ws.sh`], standinEnv());
    group3 = await seedUser(env, "grace@example.org", "another horse staple");
    await waitHttp("http://127.0.0.1:8000/api/health", "gunicorn3");
    await waitHttp("http://127.0.0.1:8001/health", "daphne3");
    mark("stage 3 serving");
    result = await client({
      site: DOMAIN,
      http: "http://127.0.0.1:8000",
      ws: [`ws://127.0.0.1:8001/ws/groups/${group3}/`, `ws://127.0.0.1:8001/ws/groups/${group3}/`],
      email: "grace@example.org",
      password: "another horse staple",
      group: group3,
      tag: "s3",
    });
  }, 180_000);

  afterAll(async () => {
    await stop(["gunicorn3", "daphne3"]);
  });

  it("fetch-settings.sh wrote the env file from the settings secret; migrate.sh migrated over TLS and left the static bucket to the publisher", async () => {
    const env = readFileSync(join(D, "run/course-organizer/app.env"), "utf8");
    expect(env).toContain(`DATABASE_URL=postgres://${S3.user}:${S3.password}@127.0.0.1:6432/${S3.db}\n`);
    expect(env).toContain(`DJANGO_SECRET_KEY=${S3.secretKey}\n`);
    // The migration's direct connection verified PostgreSQL's certificate against the mounted CA bundle.
    expect(readFileSync(join(D, "run/course-organizer/migrate.env"), "utf8")).toContain(
      `DATABASE_URL=postgres://${S3.user}:${S3.password}@127.0.0.1:5432/${S3.db}?sslmode=verify-ca&sslrootcert=/run/course-organizer/database-ca.pem\n`,
    );
    expect(readdirSync(join(D, "run/course-organizer/multiline"))).toEqual(["REDIS_CA_CERT"]);
    // The public static bucket is written by the release identity only (scripts/publish-static.sh), never by an instance.
    expect(existsSync(join(D, "gcs/co-static/static/course_api/app.css"))).toBe(false);
    expect(await psql(S3.db, "SELECT count(*) FROM django_migrations WHERE app = 'course_api'")).toBe("2");
    // PgBouncer reached PostgreSQL over TLS.
    expect(await psql("postgres", `SELECT bool_and(ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = '${S3.user}'`)).toBe("t");
  });

  it("Gunicorn (through PgBouncer) and Daphne serve the same requests, with Redis over TLS", () => {
    expect(result.health).toEqual([200, { status: "ok" }]);
    expect(result.login[0]).toBe(200);
    expect(result.post).toEqual([201, expect.objectContaining({ content: "http-s3", database: "default" })]);
    expect(result.ws_status).toEqual([101, 101]);
    expect(result.pong).toEqual({ type: "pong" });
    expect(result.b_got_ws.content).toBe("ws-s3");
    expect(result.a_got_http.content).toBe("http-s3");
    expect(result.list[1].messages.map((m: { content: string }) => m.content)).toEqual(["http-s3", "ws-s3"]);
    expect(result.ready).toEqual([200, { status: "ready", problems: {} }]);
  });
});

describe("stage 4: the shard router over several databases and the channel layer over two Redis instances", () => {
  let result: Record<string, any>;
  const layers = [
    { port: 6380, auth: "channel-layer-auth-0" },
    { port: 6381, auth: "channel-layer-auth-1" },
  ];
  const before: number[] = [];

  beforeAll(async () => {
    const shards = [0, 1].map(shardDatabaseName);
    for (const s of shards) await psql("postgres", `CREATE DATABASE ${s} OWNER ${S3.user}`);
    writeFileSync(join(D, "secrets/co-db-password"), S3.password);
    for (const l of layers) await redisTls(`layer${l.port}`, l.port, l.auth);
    for (const l of layers) before.push(await redisCommands(l.port, l.auth));
    const ca = readFileSync(join(D, "tls/ca.pem"), "utf8");
    const settings = stage3Settings({
      DATABASES: JSON.stringify(
        databasesMap({
          user: S3.user,
          usersDatabase: S3.db,
          primary: { host: "127.0.0.1", passwordSecret: "co-db-password" },
          pooler: { host: "127.0.0.1", port: 6432 },
          shards: shards.map((name) => ({ name, host: "127.0.0.1", passwordSecret: "co-db-password" })),
        }),
      ),
      DATABASE_SHARD_COUNT: "2",
      CHANNEL_LAYER_REDIS_URLS: JSON.stringify(layers.map((l) => redisUrl(l.auth, "127.0.0.1", l.port))),
      CHANNEL_LAYER_REDIS_CA_CERTS: JSON.stringify(layers.map(() => ca)),
    });
    // What the pgbouncer ConfigMap's server-ca.pem mount gives the app container: the CA bundle the map's direct
    // entries (the shards) verify PostgreSQL against (verify-ca).
    mkdirSync(join(D, "run/course-organizer"), { recursive: true });
    writeFileSync(join(D, "run/course-organizer/database-ca.pem"), ca);
    // What the init container writes into the pod's memory-backed volume (/var/run/settings).
    mkdirSync(join(D, "run/settings"), { recursive: true });
    writeFileSync(join(D, "run/settings/settings.json"), JSON.stringify(settings, null, 2));
    writeFileSync(join(D, "run/settings/django-secret-key"), S3.secretKey);
    const args = {
      prefix: "co",
      project: PROJECT,
      domain: DOMAIN,
      region: "us-central1",
      image: "backend:test",
      secretFiles: [
        { file: "settings.json", secretId: "co-app-settings" },
        { file: "django-secret-key", secretId: "co-django-secret-key", setting: "DJANGO_SECRET_KEY" as const },
      ],
      googleServiceAccounts: { api: "a", ws: "w", worker: "k" },
      adapterServiceAccount: "x",
      replicas: { api: { initial: 1, min: 1, max: 1 }, ws: { initial: 1, min: 1, max: 1 }, worker: { initial: 1, min: 1, max: 1 } },
      cpuTargetPercent: 70,
      memoryTargetPercent: 75,
      requestsPerSecondPerPod: 100,
      connectionsPerPod: 1000,
      backlogPerWorker: 100,
      workerRegions: 1,
      subscription: "email-worker",
      labels: {},
      pgbouncer: { image: "pgbouncer:test", ini: "", iniSha256: "", serverCa: "" },
      egress: { privateServicesRange: "10.100.0.0/16", regionSubnet: "10.10.0.0/20" },
    } satisfies WorkloadManifestArgs;
    // The container's environment as the Deployment declares it; $(POD_IP) is the pod's address (here loopback).
    const podEnv = (w: "api" | "ws"): Record<string, string> => {
      const c = (deploymentManifest(args, w).spec as any).template.spec.containers[0];
      return Object.fromEntries(
        (c.env as { name: string; value?: string }[]).map((e) => [
          e.name,
          e.name === "POD_IP" ? "127.0.0.1" : (e.value ?? "").replace("$(POD_IP)", "127.0.0.1"),
        ]),
      );
    };
    // Python trusts the Secret Manager stand-in's certificate through OpenSSL's SSL_CERT_FILE (a pod trusts Google's).
    const trust = { SSL_CERT_FILE: join(D, "tls/ca.pem") };
    // GUNICORN_WORKERS (the contract's name; unset on GKE, the entrypoint's default is 4): one process here.
    const api: Record<string, string> = { ...podEnv("api"), ...trust, GUNICORN_WORKERS: "1" };
    const ws: Record<string, string> = { ...podEnv("ws"), ...trust };
    expect([api.WORKER_TYPE, api.PORT, ws.WORKER_TYPE, ws.PORT]).toEqual(["http", "8080", "ws", "8080"]);
    // The contract's migrate process: `manage.py migrate` migrates default and every shard.
    await nsRun([join(APP, "docker-entrypoint.sh")], imageEnv({ ...api, WORKER_TYPE: "migrate" }), { cwd: APP });
    mark("stage 4 migrated");
    nsStart("api4", [join(APP, "docker-entrypoint.sh")], imageEnv(api), APP);
    // Two ws pods (each has its own IP on GKE; here one loopback, so the second moves to 8081 and the first to 8082).
    nsStart("ws4a", [join(APP, "docker-entrypoint.sh")], imageEnv({ ...ws, PORT: "8081" }), APP);
    nsStart("ws4b", [join(APP, "docker-entrypoint.sh")], imageEnv({ ...ws, PORT: "8082" }), APP);
    await waitHttp("http://127.0.0.1:8080/ready", "api4");
    await waitHttp("http://127.0.0.1:8081/ready", "ws4a");
    await waitHttp("http://127.0.0.1:8082/ready", "ws4b");
    mark("stage 4 serving");
    // The user and the group of stage 3 are still there: the users database is stage 4's `default`.
    result = await client({
      site: DOMAIN,
      http: "http://127.0.0.1:8080",
      ws: [`ws://127.0.0.1:8081/ws/groups/${group3}/`, `ws://127.0.0.1:8082/ws/groups/${group3}/`],
      email: "grace@example.org",
      password: "another horse staple",
      group: group3,
      tag: "s4",
    });
  }, 180_000);

  afterAll(async () => {
    await stop(["api4", "ws4a", "ws4b"]);
  });

  it("the stage-3 user logs in (default = the users database through PgBouncer); messages go to the group's shard", async () => {
    expect(result.login[0]).toBe(200);
    const shard = `shard_${group3 % 2}`;
    expect(result.post).toEqual([201, expect.objectContaining({ content: "http-s4", database: shard })]);
    expect(result.list[1]).toMatchObject({ database: shard });
    expect(result.list[1].messages.map((m: { content: string }) => m.content)).toEqual(["http-s4", "ws-s4"]);
    expect(await psql(shardDatabaseName(group3 % 2), "SELECT string_agg(content, ',' ORDER BY id) FROM course_api_groupmessage")).toBe("ws-s4,http-s4");
    expect(await psql(shardDatabaseName((group3 + 1) % 2), "SELECT count(*) FROM course_api_groupmessage")).toBe("0");
    // The router keeps users on default: no user table on a shard.
    expect(await psql(shardDatabaseName(0), "SELECT count(*) FROM pg_tables WHERE tablename = 'directory_user'")).toBe("0");
    expect(result.ready).toEqual([200, { status: "ready", problems: {} }]);
  });

  it("a message on one Daphne reaches the other through the channel layer sharded over two Redis instances", async () => {
    expect(result.ws_status).toEqual([101, 101]);
    expect(result.pong).toEqual({ type: "pong" });
    expect(result.b_got_ws.content).toBe("ws-s4");
    expect(result.b_got_http.content).toBe("http-s4");
    const after = await Promise.all(layers.map((l) => redisCommands(l.port, l.auth)));
    // The layer spans both instances (each reached, one or both carrying the exchange): channels_redis picks an
    // instance per group and per channel by hashing the name, and process channel names are random, so in one short
    // exchange either instance may carry almost all of it.
    const carried = after.map((n, i) => n - before[i]!);
    expect(
      carried.every((n) => n > 0),
      `commands per instance: ${carried.join(", ")}`,
    ).toBe(true);
    expect(carried.reduce((a, b) => a + b, 0)).toBeGreaterThan(10);
  });
});
