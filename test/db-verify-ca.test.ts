/**
 * Database TLS verifies the server (stages 3-4): the PgBouncer of every app instance (src/files/app-instance.ts)
 * and of every GKE pod (podPgbouncerIni) connects with sslmode verify-ca against the Cloud SQL instance's server
 * CA. Checked with a real PostgreSQL 15 serving TLS with a certificate from a test CA made here with openssl
 * (named after the instance, not its IP, as Cloud SQL's per-instance CA does: verify-full would fail), on
 * 127.0.0.1:15461, and real PgBouncers: the instance's ini with the right CA (16411), the same ini with another
 * CA (16412, refused), the pods' ini with the right CA (16413). Every process is stopped by its PID.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appInstanceFiles, PGBOUNCER_CA_FILE } from "../src/files/app-instance";
import { podPgbouncerIni } from "../src/files/k8s-manifests";
import { settingsEnv } from "../components/app-settings";
import { DATABASE_CA_FILE } from "../src/contract";
import { databasesMap } from "../src/stack/settings";
import { userlistLine } from "../src/files/pgbouncer";
import { stopPid, waitForPid } from "./helpers/pid";
import { selfSigned, signedBy } from "./helpers/tls";

const PG_BIN = "/usr/lib/postgresql/15/bin";
const PG_PORT = 15461;
const PORTS = { instance: 16411, wrongCa: 16412, pod: 16413 };
const DB = "course_organizer";
const USER = "app";
const PASSWORD = "app-test-password-1";
const INSTANCE_NAME = "course-organizer-demo:us-central1:co-db";

let dir = "";
const pids: number[] = [];
const idOf = (flag: "-u" | "-g") => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
const give = (path: string) => chownSync(path, idOf("-u"), idOf("-g"));
const asPostgres = (cmd: string, args: string[]) =>
  execFileSync("runuser", ["-u", "postgres", "--", cmd, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

function psql(port: number, sql: string): { status: number | null; out: string; err: string } {
  const r = spawnSync("psql", [`host=127.0.0.1 port=${port} dbname=${DB} user=${USER} connect_timeout=5`, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], {
    encoding: "utf8",
    env: { ...process.env, PGPASSWORD: PASSWORD, PGSSLMODE: "disable", PGCONNECT_TIMEOUT: "5", PGOPTIONS: "" },
    timeout: 20_000,
  });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

/** Replace text that must be present (a renamed key would otherwise make the test pass on a different ini). */
function rewrite(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`ini has no ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

function startPgbouncer(ini: string, name: string, port: number, caFile: string): void {
  let t = rewrite(ini, "listen_port = 6432\n", `listen_port = ${port}\n`);
  t = rewrite(t, "host=10.100.0.5 port=5432 ", `host=127.0.0.1 port=${PG_PORT} `);
  t = rewrite(t, /^server_tls_ca_file = .*$/m.exec(t)![0], `server_tls_ca_file = ${caFile}`);
  t = rewrite(t, /^auth_file = .*$/m.exec(t)![0], `auth_file = ${join(dir, "userlist.txt")}`);
  t = rewrite(t, "pidfile = \n", `pidfile = ${join(dir, `${name}.pid`)}\nlogfile = ${join(dir, `${name}.log`)}\n`);
  const path = join(dir, `${name}.ini`);
  writeFileSync(path, t);
  give(path);
  asPostgres("pgbouncer", ["-d", path]);
  pids.push(waitForPid(join(dir, `${name}.pid`)));
}

const stop = (pid: number) => stopPid(pid);

const instanceIni = () =>
  appInstanceFiles({
    kind: "http",
    project: "course-organizer-demo",
    backendImage: "backend:1",
    pgbouncerImage: "edoburu/pgbouncer:v1.24.1-p1",
    registryHosts: [],
    settingsSecretId: "co-app-settings",
    dbHost: "10.100.0.5",
    dbCaCert: "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----",
    dbName: DB,
    poolSize: 2,
    domain: "courses.example.org",
  }).find((f) => f.renderPath === "pgbouncer/pgbouncer.ini")!.content;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "db-verify-ca-"));
  chmodSync(dir, 0o755);
  give(dir);
  // The test CA, the server certificate it signs (named after the instance), and an unrelated CA.
  const f = (n: string) => join(dir, n);
  const ca = { key: f("ca.key"), cert: f("ca.pem") };
  selfSigned({ ...ca, subject: "/CN=Google Cloud SQL Server CA/O=Test" });
  signedBy(ca, { key: f("server.key"), cert: f("server.pem"), subject: `/CN=${INSTANCE_NAME}` });
  selfSigned({ key: f("other.key"), cert: f("other-ca.pem"), subject: "/CN=Another CA" });
  for (const n of ["server.key", "server.pem", "ca.pem", "other-ca.pem"]) give(f(n));
  chmodSync(f("server.key"), 0o600);

  const data = f("data");
  writeFileSync(f("pw"), "postgres-test-password\n");
  give(f("pw"));
  asPostgres(`${PG_BIN}/initdb`, ["-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", `--pwfile=${f("pw")}`, "-E", "UTF8"]);
  asPostgres(`${PG_BIN}/pg_ctl`, [
    "-D",
    data,
    "-l",
    f("postgres.log"),
    "-w",
    "-o",
    `-p ${PG_PORT} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=20 -c ssl=on -c ssl_cert_file=${f("server.pem")} -c ssl_key_file=${f("server.key")}`,
    "start",
  ]);
  pids.push(waitForPid(join(data, "postmaster.pid")));
  const local = (sql: string) => asPostgres("psql", ["-h", dir, "-p", String(PG_PORT), "-U", "postgres", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]);
  local(`CREATE ROLE ${USER} LOGIN PASSWORD '${PASSWORD}'`);
  local(`CREATE DATABASE ${DB} OWNER ${USER}`);
  writeFileSync(f("userlist.txt"), `${userlistLine(USER, PASSWORD)}\n`, { mode: 0o600 });
  give(f("userlist.txt"));

  startPgbouncer(instanceIni(), "instance", PORTS.instance, f("ca.pem"));
  startPgbouncer(instanceIni(), "wrong-ca", PORTS.wrongCa, f("other-ca.pem"));
  startPgbouncer(podPgbouncerIni({ dbHost: "10.100.0.5", databases: [DB], poolSize: 2 }), "pod", PORTS.pod, f("ca.pem"));
}, 120_000);

afterAll(() => {
  for (const pid of [...pids].reverse()) stop(pid);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("PgBouncer verifies Cloud SQL's server certificate (verify-ca)", () => {
  it("renders verify-ca with the instance's CA file at stage 3 and in the pods", () => {
    expect(instanceIni()).toContain(`server_tls_sslmode = verify-ca\nserver_tls_ca_file = ${PGBOUNCER_CA_FILE}\n`);
    expect(PGBOUNCER_CA_FILE).toBe("/etc/pgbouncer/server-ca.pem");
    expect(podPgbouncerIni({ dbHost: "10.100.0.5", databases: [DB], poolSize: 2 })).toContain(
      "server_tls_sslmode = verify-ca\nserver_tls_ca_file = /etc/pgbouncer/server-ca.pem\n",
    );
  });

  for (const [what, port] of [
    ["the instance's ini", PORTS.instance],
    ["the pods' ini", PORTS.pod],
  ] as const) {
    it(`${what}: queries reach the server over TLS verified against its CA`, () => {
      const r = psql(port, "select ssl from pg_stat_ssl where pid = pg_backend_pid()");
      expect(r.err).toBe("");
      expect(r.out).toBe("t");
    });
  }

  it("a server whose certificate another CA signed is refused: no server connection is ever made", () => {
    const r = psql(PORTS.wrongCa, "select 1");
    expect(r.status).not.toBe(0);
    const log = readFileSync(join(dir, "wrong-ca.log"), "utf8");
    expect(log).toMatch(/certificate verify failed/);
  }, 30_000);
});

describe("the app's direct connections verify Cloud SQL's server certificate (verify-ca)", () => {
  /** psql with a connection URI or conninfo, no environment defaults that could weaken it. */
  function connect(conninfo: string, sql: string) {
    const r = spawnSync("psql", [conninfo, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, PGCONNECT_TIMEOUT: "5" },
      timeout: 20_000,
    });
    return { status: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
  }
  const bundle = (name: string, ...cas: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, cas.map((c) => readFileSync(join(dir, c), "utf8")).join(""));
    return path;
  };
  const replicaUrl = () =>
    settingsEnv({
      database: { name: DB, user: USER, password: PASSWORD, directHost: "10.100.0.5", replicaHost: "10.100.0.9" },
      redisUrl: "rediss://:x@10.0.0.3:6378/0",
      redisCaCert: "",
      mediaBucket: "m",
      staticBucket: "s",
      cdnHost: "courses.example.org",
      jitsiDomain: "meet.courses.example.org",
      extra: {},
    }).DATABASE_REPLICA_URL!;

  it("DATABASE_REPLICA_URL, the migration's URL and the DATABASES map's direct entries name verify-ca and the mounted bundle", () => {
    expect(DATABASE_CA_FILE).toBe("/run/course-organizer/database-ca.pem");
    expect(replicaUrl()).toBe(`postgres://${USER}:${PASSWORD}@10.100.0.9:5432/${DB}?sslmode=verify-ca&sslrootcert=/run/course-organizer/database-ca.pem`);
    const map = databasesMap({
      user: USER,
      usersDatabase: DB,
      primary: { host: "10.100.0.5", passwordSecret: "co-db-password" },
      pooler: { host: "127.0.0.1", port: 6432 },
      shards: [{ name: "course_organizer_shard_0", host: "10.100.0.7", passwordSecret: "co-db-shard-0-password" }],
      analyticsHost: "10.100.0.9",
    });
    expect(map.default!.OPTIONS).toEqual({ sslmode: "disable" });
    expect(map.shard_0!.OPTIONS).toEqual({ sslmode: "verify-ca", sslrootcert: "/run/course-organizer/database-ca.pem" });
    expect(map.analytics!.OPTIONS).toEqual({
      sslmode: "verify-ca",
      sslrootcert: "/run/course-organizer/database-ca.pem",
      options: "-c default_transaction_read_only=on",
    });
    // The boot script's jq template for migrate.env, run by the real jq over settings like the secret's.
    const script = appInstanceFiles({
      kind: "http",
      project: "course-organizer-demo",
      backendImage: "backend:1",
      pgbouncerImage: "edoburu/pgbouncer:v1.24.1-p1",
      registryHosts: [],
      settingsSecretId: "co-app-settings",
      dbHost: "10.100.0.5",
      dbCaCert: "x",
      dbName: DB,
      poolSize: 2,
      domain: "courses.example.org",
    }).find((f) => f.renderPath === "bin/fetch-settings.sh")!.content;
    const filter = /^jq -r '("DATABASE_URL=.*")' \\$/m.exec(script)![1]!;
    const settings = join(dir, "settings.json");
    writeFileSync(
      settings,
      JSON.stringify({ DATABASE_USER: "app user", DATABASE_PASSWORD: "p@ss/word", DATABASE_DIRECT_HOST: "10.100.0.5", DATABASE_NAME: DB }),
    );
    expect(execFileSync("jq", ["-r", filter, settings], { encoding: "utf8" })).toBe(
      `DATABASE_URL=postgres://app%20user:p%40ss%2Fword@10.100.0.5:5432/${DB}?sslmode=verify-ca&sslrootcert=/run/course-organizer/database-ca.pem\n`,
    );
  });

  it("libpq with the rendered URL reaches the server when the bundle holds its CA among others, over TLS", () => {
    const url = replicaUrl()
      .replace("@10.100.0.9:5432/", `@127.0.0.1:${PG_PORT}/`)
      .replace(DATABASE_CA_FILE, bundle("bundle-ok.pem", "other-ca.pem", "ca.pem"));
    const r = connect(url, "select ssl from pg_stat_ssl where pid = pg_backend_pid()");
    expect(r.err).toBe("");
    expect(r.out).toBe("t");
  });

  it("libpq refuses a server whose certificate no CA of the bundle signed", () => {
    const url = replicaUrl().replace("@10.100.0.9:5432/", `@127.0.0.1:${PG_PORT}/`).replace(DATABASE_CA_FILE, bundle("bundle-wrong.pem", "other-ca.pem"));
    const r = connect(url, "select 1");
    expect(r.status).not.toBe(0);
    expect(r.err).toMatch(/certificate verify failed/);
  });
});
