/**
 * pgbouncer.ini, checked by the tools that consume it: a real PostgreSQL 15 (initdb + postgres as the postgres
 * user in a temp dir, 127.0.0.1:15451) and a real PgBouncer started from the rendered ini (127.0.0.1:16401).
 * Only the server TLS mode is overridden ("disable": the local PostgreSQL has no certificate); a second
 * PgBouncer with the default ("require", 127.0.0.1:16402) shows that the default refuses a server without TLS.
 * A third one (127.0.0.1:16403) runs the GKE pods' ini (podPgbouncerIni) with the auth file the pods' init script
 * writes from a settings.json, only ports, paths and the server TLS mode rewritten for the loopback test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pgbouncerIni, pgbouncerProblems, userlistLine, type PgbouncerOptions } from "../src/files/pgbouncer";
import { podPgbouncerIni, writeUserlistScript } from "../src/files/k8s-manifests";
import { stopPid, waitForPid } from "./helpers/pid";

const PG_BIN = "/usr/lib/postgresql/15/bin";
const PG_PORT = 15451;
const PGB_PORT = 16401;
const PGB_REQUIRE_PORT = 16402;
const PGB_POD_PORT = 16403;
/** The pods' role: a password with a double quote and a space, which the auth file must quote. */
const POD_USER = "pod_app";
const POD_PASSWORD = 'pod "test" password-1';
const DB = "course_organizer";
const APP_USER = "app";
const APP_PASSWORD = "app-test-password-1";
const ADMIN = "pgbadmin";
const ADMIN_PASSWORD = "admin-test-password-1";

let dir = "";
const pids: number[] = [];

function idOf(flag: "-u" | "-g"): number {
  return Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
}

function giveToPostgres(path: string): void {
  chownSync(path, idOf("-u"), idOf("-g"));
}

function asPostgres(cmd: string, args: string[]): string {
  return execFileSync("runuser", ["-u", "postgres", "--", cmd, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function psql(port: number, db: string, user: string, password: string, ...commands: string[]): { status: number | null; out: string; err: string } {
  const conn = `host=127.0.0.1 port=${port} dbname=${db} user=${user} connect_timeout=5`;
  const r = spawnSync("psql", [conn, "-X", "-At", "-v", "ON_ERROR_STOP=1", ...commands.flatMap((c) => ["-c", c])], {
    encoding: "utf8",
    env: { ...process.env, PGPASSWORD: password, PGSSLMODE: "disable" },
    timeout: 20_000,
  });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

function ok(port: number, db: string, user: string, password: string, ...commands: string[]): string[] {
  const r = psql(port, db, user, password, ...commands);
  if (r.status !== 0) throw new Error(`psql failed (${r.status}): ${r.err}`);
  return r.out.split("\n");
}

function options(over: Partial<PgbouncerOptions> = {}): PgbouncerOptions {
  return {
    listenAddr: "127.0.0.1",
    listenPort: PGB_PORT,
    dbHost: "127.0.0.1",
    dbPort: PG_PORT,
    databases: [DB],
    poolSize: 1,
    maxClientConn: 50,
    authFile: join(dir, "userlist.txt"),
    serverTlsSslmode: "disable",
    adminUsers: [ADMIN],
    pidFile: join(dir, "pgbouncer.pid"),
    logFile: join(dir, "pgbouncer.log"),
    ...over,
  };
}

function startPgbouncer(ini: string, name: string): void {
  const path = join(dir, `${name}.ini`);
  writeFileSync(path, ini);
  giveToPostgres(path);
  // -d: daemonize, so the pid file names the PgBouncer process itself (runuser would otherwise sit between).
  asPostgres("pgbouncer", ["-d", path]);
  const pidFile = /^pidfile = (.*)$/m.exec(ini)![1]!;
  pids.push(waitForPid(pidFile));
}

const stop = (pid: number) => stopPid(pid);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "pgbouncer-test-"));
  chmodSync(dir, 0o755);
  giveToPostgres(dir);
  const data = join(dir, "data");
  const pw = join(dir, "pw");
  writeFileSync(pw, "postgres-test-password\n");
  giveToPostgres(pw);
  asPostgres(`${PG_BIN}/initdb`, ["-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", `--pwfile=${pw}`, "-E", "UTF8"]);
  asPostgres(`${PG_BIN}/pg_ctl`, [
    "-D",
    data,
    "-l",
    join(dir, "postgres.log"),
    "-w",
    "-o",
    `-p ${PG_PORT} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=20 -c ssl=off`,
    "start",
  ]);
  pids.push(waitForPid(join(data, "postmaster.pid")));
  const local = (sql: string) => asPostgres("psql", ["-h", dir, "-p", String(PG_PORT), "-U", "postgres", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]);
  local(`CREATE ROLE ${APP_USER} LOGIN PASSWORD '${APP_PASSWORD}'`);
  local(`CREATE DATABASE ${DB} OWNER ${APP_USER}`);

  // What the instance's boot script writes from Secret Manager.
  const userlist = join(dir, "userlist.txt");
  writeFileSync(userlist, `${userlistLine(APP_USER, APP_PASSWORD)}\n${userlistLine(ADMIN, ADMIN_PASSWORD)}\n`, { mode: 0o600 });
  giveToPostgres(userlist);

  local(`CREATE ROLE ${POD_USER} LOGIN PASSWORD '${POD_PASSWORD}'`);

  // The pods' init script, run on a settings.json as Secret Manager returns it (the settings dir rewritten).
  const settingsDir = join(dir, "settings");
  execFileSync("install", ["-d", "-m", "0755", settingsDir]);
  writeFileSync(join(settingsDir, "settings.json"), JSON.stringify({ DATABASE_USER: POD_USER, DATABASE_PASSWORD: POD_PASSWORD, DATABASE_NAME: DB }));
  execFileSync("sh", ["-ec", writeUserlistScript().replaceAll("/var/run/settings", settingsDir)]);
  // The image's postgres user is uid 70; this machine's postgres user has another uid.
  for (const f of [join(settingsDir, "pgbouncer"), join(settingsDir, "pgbouncer", "userlist.txt")]) giveToPostgres(f);

  startPgbouncer(pgbouncerIni(options()), "pgbouncer");
  const podIni = podPgbouncerIni({ dbHost: "127.0.0.1", databases: [DB], poolSize: 2 });
  const rewrite = (text: string, from: string, to: string) => {
    if (!text.includes(from)) throw new Error(`pod ini has no ${JSON.stringify(from)}`);
    return text.replace(from, to);
  };
  let ini = rewrite(podIni, "listen_port = 6432\n", `listen_port = ${PGB_POD_PORT}\n`);
  ini = rewrite(ini, `host=127.0.0.1 port=5432 `, `host=127.0.0.1 port=${PG_PORT} `);
  // The pods verify Cloud SQL's CA (test/db-verify-ca.test.ts runs that against a TLS server); this server has no TLS.
  ini = rewrite(ini, "server_tls_sslmode = verify-ca\nserver_tls_ca_file = /etc/pgbouncer/server-ca.pem\n", "server_tls_sslmode = disable\n");
  ini = rewrite(ini, "auth_file = /etc/pgbouncer-auth/userlist.txt\n", `auth_file = ${join(settingsDir, "pgbouncer", "userlist.txt")}\n`);
  // Daemon mode here needs a pid file (the pod runs PgBouncer in the foreground without one).
  ini = rewrite(ini, "pidfile = \n", `pidfile = ${join(dir, "pgb-pod.pid")}\nlogfile = ${join(dir, "pgb-pod.log")}\n`);
  startPgbouncer(ini, "pgb-pod");
  startPgbouncer(
    pgbouncerIni(
      options({ listenPort: PGB_REQUIRE_PORT, serverTlsSslmode: undefined, pidFile: join(dir, "pgb-require.pid"), logFile: join(dir, "pgb-require.log") }),
    ),
    "pgb-require",
  );
}, 90_000);

afterAll(() => {
  // PgBouncers first (SIGINT: safe shutdown), then the postmaster (SIGINT: fast shutdown), each by PID.
  for (const pid of [...pids].reverse()) stop(pid);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("pgbouncerIni (rendered text)", () => {
  const text = pgbouncerIni({
    listenAddr: "127.0.0.1",
    listenPort: 6432,
    dbHost: "10.100.0.5",
    dbPort: 5432,
    databases: ["course_organizer"],
    poolSize: 20,
    maxClientConn: 1000,
    authFile: "/etc/pgbouncer/userlist.txt",
    adminUsers: ["pgbouncer_admin"],
  });

  it("pools per transaction, requires TLS to the server and names the auth file, never a password", () => {
    expect(text).toContain("pool_mode = transaction\n");
    expect(text).toContain("server_tls_sslmode = require\n");
    expect(text).toContain("auth_file = /etc/pgbouncer/userlist.txt\n");
    expect(text).toContain("auth_type = scram-sha-256\n");
    expect(text).toContain("course_organizer = host=10.100.0.5 port=5432 dbname=course_organizer\n");
    expect(text).toContain("default_pool_size = 20\n");
    expect(text).toContain("max_client_conn = 1000\n");
    expect(text).toContain("max_db_connections = 25\n");
    expect(text).toContain("server_reset_query_always = 1\n");
    expect(text).not.toMatch(/password\s*=/i);
    expect(text).not.toContain("max_prepared_statements");
  });

  it("refuses bad options with messages naming the field", () => {
    const bad = pgbouncerProblems({
      listenAddr: "127.0.0.1",
      listenPort: 70000,
      dbHost: "",
      dbPort: 5432,
      databases: ["bad name"],
      poolSize: 10,
      maxClientConn: 5,
      authFile: "userlist.txt",
      serverTlsSslmode: "verify-full",
    });
    expect(bad).toEqual([
      "pgbouncerIni options.listenPort: 70000 is not a TCP port; allowed: 1-65535",
      'pgbouncerIni options.databases[0]: "bad name" is not a plain identifier; allowed: a plain identifier ([A-Za-z_][A-Za-z0-9_]*)',
      "pgbouncerIni options.maxClientConn: 5 is below options.poolSize 10; allowed: a whole number >= 10",
      "pgbouncerIni options.serverTlsCaFile: (not set) is not set while options.serverTlsSslmode is verify-full; allowed: the path of the server's CA certificate",
      'pgbouncerIni options.authFile: "userlist.txt" is not an absolute path; allowed: an absolute path, e.g. /etc/pgbouncer/userlist.txt',
      'pgbouncerIni options.dbHost: "" is not a host; allowed: a host name or IP address without spaces',
    ]);
    expect(() => pgbouncerIni({ ...options(), databases: [] })).toThrow("pgbouncerIni options.databases: [] is empty; allowed: at least one database");
    expect(
      pgbouncerProblems({
        ...options(),
        authFile: "/etc/pgbouncer/userlist.txt",
        dbPort: 0,
        adminUsers: ["pgb admin"],
        poolSize: 0,
        maxClientConn: 10,
        serverTlsSslmode: "strict" as never,
      }),
    ).toEqual([
      "pgbouncerIni options.dbPort: 0 is not a TCP port; allowed: 1-65535",
      'pgbouncerIni options.adminUsers[0]: "pgb admin" is not a plain identifier; allowed: a plain identifier ([A-Za-z_][A-Za-z0-9_]*)',
      "pgbouncerIni options.poolSize: 0 is not a positive whole number; allowed: 1 or more",
      'pgbouncerIni options.serverTlsSslmode: "strict" is not a PgBouncer sslmode; allowed: disable, allow, prefer, require, verify-ca, verify-full',
    ]);
  });
});

describe("a real PgBouncer started from the rendered ini, in front of a real PostgreSQL 15", () => {
  it("runs queries through PgBouncer with the password from the auth file, and refuses a wrong one", () => {
    expect(ok(PGB_PORT, DB, APP_USER, APP_PASSWORD, "select current_user || ':' || current_database() || ':' || (6*7)")).toEqual([`${APP_USER}:${DB}:42`]);
    const wrong = psql(PGB_PORT, DB, APP_USER, "not-the-password", "select 1");
    expect(wrong.status).not.toBe(0);
    expect(wrong.err).toMatch(/SASL authentication failed|password authentication failed/);
  });

  it("reports pool_mode transaction on the admin console (SHOW CONFIG, SHOW POOLS)", () => {
    const config = ok(PGB_PORT, "pgbouncer", ADMIN, ADMIN_PASSWORD, "SHOW CONFIG");
    const row = (key: string) => config.find((l) => l.startsWith(`${key}|`))?.split("|")[1];
    expect(row("pool_mode")).toBe("transaction");
    expect(row("default_pool_size")).toBe("1");
    expect(row("server_tls_sslmode")).toBe("disable");
    expect(row("server_reset_query_always")).toBe("1");
    const pools = ok(PGB_PORT, "pgbouncer", ADMIN, ADMIN_PASSWORD, "SHOW POOLS");
    const dbPool = pools.map((l) => l.split("|")).find((cols) => cols[0] === DB && cols[1] === APP_USER);
    expect(dbPool).toBeDefined();
    expect(dbPool!.at(-1)).toBe("transaction");
  });

  it("shares one server connection between clients (transaction pooling, pool size 1)", () => {
    const a = ok(PGB_PORT, DB, APP_USER, APP_PASSWORD, "select pg_backend_pid()")[0];
    const b = ok(PGB_PORT, DB, APP_USER, APP_PASSWORD, "select pg_backend_pid()")[0];
    expect(Number(a)).toBeGreaterThan(0);
    expect(b).toBe(a);
  });

  it("does not let a session-level SET outlive its transaction, for the same or another client", () => {
    // Two -c commands in one psql session are two transactions on (pool size 1) the same server connection.
    const same = ok(PGB_PORT, DB, APP_USER, APP_PASSWORD, "SET statement_timeout = '4321ms'", "SHOW statement_timeout", "select pg_backend_pid()");
    expect(same[0]).toBe("SET");
    expect(same[1]).toBe("0");
    // Within one transaction it holds.
    const inTx = ok(PGB_PORT, DB, APP_USER, APP_PASSWORD, "BEGIN; SET statement_timeout = '4321ms'; SHOW statement_timeout; COMMIT");
    expect(inTx.filter((l) => l.endsWith("ms"))).toEqual(["4321ms"]);
    const other = ok(PGB_PORT, DB, APP_USER, APP_PASSWORD, "SHOW statement_timeout", "select pg_backend_pid()");
    expect(other[0]).toBe("0");
    // The same server process served both clients: the reset, not a fresh connection, cleared the setting.
    expect(other[1]).toBe(same[2]);
  });

  it("drops SQL-level prepared statements between transactions (DISCARD ALL), so the app must not rely on them", () => {
    const r = psql(PGB_PORT, DB, APP_USER, APP_PASSWORD, "PREPARE q AS select 1", "EXECUTE q");
    expect(r.status).not.toBe(0);
    expect(r.err).toMatch(/prepared statement "q" does not exist/);
    expect(ok(PGB_PORT, DB, APP_USER, APP_PASSWORD, "BEGIN; PREPARE q2 AS select 7; EXECUTE q2; COMMIT").filter((l) => l === "7")).toEqual(["7"]);
  });

  it("the GKE pods' ini and init-script auth file: queries run as the settings' user, a wrong password is refused", () => {
    expect(ok(PGB_POD_PORT, DB, POD_USER, POD_PASSWORD, "select current_user || ':' || current_database()")).toEqual([`${POD_USER}:${DB}`]);
    const wrong = psql(PGB_POD_PORT, DB, POD_USER, "pod test password-1", "select 1");
    expect(wrong.status).not.toBe(0);
    expect(wrong.err).toMatch(/SASL authentication failed|password authentication failed/);
  });

  it("with the default server_tls_sslmode (require), never opens a plain connection to a server without TLS", () => {
    const r = psql(PGB_REQUIRE_PORT, DB, APP_USER, APP_PASSWORD, "select 1");
    // The client waits (query_wait_timeout) while PgBouncer's logins fail ("server refused SSL"); psql gives up first.
    expect(r.status).not.toBe(0);
    expect(r.err).toMatch(/timeout expired/);
    const admin = (q: string) => ok(PGB_REQUIRE_PORT, "pgbouncer", ADMIN, ADMIN_PASSWORD, q);
    expect(
      admin("SHOW CONFIG")
        .find((l) => l.startsWith("server_tls_sslmode|"))
        ?.split("|")[1],
    ).toBe("require");
    const pools = admin("SHOW POOLS").map((l) => l.split("|"));
    const pool = pools.find((c) => c[0] === DB && c[1] === APP_USER);
    expect(pool).toBeDefined();
    // Columns 3.. are cl_active, cl_waiting, ..., sv_active, ..., sv_idle, sv_used: no server connection exists.
    const header = ok(PGB_REQUIRE_PORT, "pgbouncer", ADMIN, ADMIN_PASSWORD, "\\pset tuples_only off", "SHOW POOLS")
      .find((l) => l.startsWith("database|"))!
      .split("|");
    const col = (name: string) => Number(pool![header.indexOf(name)]);
    expect(header).toContain("sv_idle");
    expect(col("sv_active") + col("sv_idle") + col("sv_used")).toBe(0);
  });
});
