/**
 * pgbouncer.ini for the PgBouncer that runs on every app instance (stage 3) in front of Cloud SQL's private IP.
 *
 * Why a pooler at all: Cloud SQL is set to max_connections 500 (seed "Managed Database (Cloud SQL)"), while up to
 * 10 HTTP instances x Gunicorn workers x threads plus 5 Daphne instances would open far more. Transaction pooling
 * lets each instance's clients share `poolSize` server connections.
 *
 * What stays out of this file: the password. PgBouncer reads `auth_file` (a userlist.txt with
 * `"user" "password"` lines), which the instance writes at boot from Secret Manager through its service account
 * (mode 0600, owned by the pgbouncer user); this ini only names the file.
 */
import { argRefuser } from "../config/refusal";

export interface PgbouncerOptions {
  /** Address PgBouncer listens on; 127.0.0.1 on app instances (only local processes connect). */
  listenAddr: string;
  /** Port PgBouncer listens on (6432 by convention, so it never clashes with a local PostgreSQL on 5432). */
  listenPort: number;
  /** The PostgreSQL server: Cloud SQL's private IP. */
  dbHost: string;
  dbPort: number;
  /** Databases clients may connect to; each is forwarded to the same name on the server. */
  databases: string[];
  /** Server connections per (database, user) pair on this instance (`default_pool_size`). */
  poolSize: number;
  /** Client connections this PgBouncer accepts (Gunicorn/Daphne workers x threads, with headroom). */
  maxClientConn: number;
  /** Path of the userlist.txt written at boot from Secret Manager. */
  authFile: string;
  /**
   * TLS to the server. Cloud SQL is set to sslMode ENCRYPTED_ONLY, so plain connections are refused there.
   * "require" encrypts without checking the certificate; "verify-ca" with `serverTlsCaFile` (the instance's
   * server CA) also checks it. Only a local test against a PostgreSQL without TLS sets "disable".
   * @default "require"
   */
  serverTlsSslmode?: string;
  /** CA file for verify-ca / verify-full (Cloud SQL's server CA certificate, written at boot). */
  serverTlsCaFile?: string;
  /** Users allowed on the admin console (`psql -p 6432 pgbouncer`: SHOW POOLS, PAUSE, RELOAD). @default [] */
  adminUsers?: string[];
  /**
   * Run `server_reset_query` (DISCARD ALL) after every transaction, not only in session mode. PgBouncer's own
   * words for this setting: it "changes non-deterministic breakage to deterministic breakage: clients always lose
   * their state after each transaction". With it, a session-level SET (Django's `SET TIME ZONE` when the server's
   * zone differs, a stray `SET statement_timeout`) never reaches another client that happens to get the same
   * server connection. Cost: one extra statement per transaction on the same server connection.
   * @default true
   */
  resetAlways?: boolean;
  /**
   * Protocol-level prepared statements tracked per server connection (PgBouncer 1.21+; psycopg 3 prepares after
   * 5 executions). Leave undefined for PgBouncer 1.18 (Debian 12), which does not know the key.
   * @default undefined (not written)
   */
  maxPreparedStatements?: number;
  /** Where PgBouncer writes its pid file. @default "/run/pgbouncer/pgbouncer.pid" */
  pidFile?: string;
  /** Log file; undefined logs to stderr (journald on the instances). @default undefined */
  logFile?: string;
  /** Directory of the Unix socket; "" disables it (TCP on loopback only). @default "" */
  unixSocketDir?: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Validate options, one refusal line each (src/config/refusal.ts): `pgbouncerIni options.<field>: ...`. The pools'
 * and pods' options are constants and database.pgbouncerPoolSize / kubernetes.pgbouncerPoolSizePerPod, which the
 * schema bounds (1-500, 1-100); these guard other callers.
 */
export function pgbouncerProblems(o: PgbouncerOptions): string[] {
  const refuse = argRefuser("pgbouncerIni", "options");
  const p: string[] = [];
  const port = (field: string, v: number) => {
    if (!Number.isInteger(v) || v < 1 || v > 65535) p.push(refuse(field, v, "is not a TCP port", "1-65535"));
  };
  const ident = "a plain identifier ([A-Za-z_][A-Za-z0-9_]*)";
  port("listenPort", o.listenPort);
  port("dbPort", o.dbPort);
  if (o.databases.length === 0) p.push(refuse("databases", o.databases, "is empty", "at least one database"));
  o.databases.forEach((d, i) => {
    if (!NAME.test(d)) p.push(refuse(`databases[${i}]`, d, "is not a plain identifier", ident));
  });
  (o.adminUsers ?? []).forEach((u, i) => {
    if (!NAME.test(u)) p.push(refuse(`adminUsers[${i}]`, u, "is not a plain identifier", ident));
  });
  if (!Number.isInteger(o.poolSize) || o.poolSize < 1) p.push(refuse("poolSize", o.poolSize, "is not a positive whole number", "1 or more"));
  if (!Number.isInteger(o.maxClientConn) || o.maxClientConn < o.poolSize) {
    p.push(refuse("maxClientConn", o.maxClientConn, `is below options.poolSize ${o.poolSize}`, `a whole number >= ${o.poolSize}`));
  }
  const modes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];
  const mode = o.serverTlsSslmode ?? "require";
  if (!modes.includes(mode)) p.push(refuse("serverTlsSslmode", mode, "is not a PgBouncer sslmode", modes.join(", ")));
  if ((mode === "verify-ca" || mode === "verify-full") && !o.serverTlsCaFile)
    p.push(refuse("serverTlsCaFile", o.serverTlsCaFile, `is not set while options.serverTlsSslmode is ${mode}`, "the path of the server's CA certificate"));
  if (!o.authFile.startsWith("/")) p.push(refuse("authFile", o.authFile, "is not an absolute path", "an absolute path, e.g. /etc/pgbouncer/userlist.txt"));
  if (/\s/.test(o.dbHost) || o.dbHost === "") p.push(refuse("dbHost", o.dbHost, "is not a host", "a host name or IP address without spaces"));
  return p;
}

/** The ini text. Throws with every problem when the options are invalid. */
export function pgbouncerIni(o: PgbouncerOptions): string {
  const problems = pgbouncerProblems(o);
  if (problems.length > 0) throw new Error(problems.join("\n"));
  const sslmode = o.serverTlsSslmode ?? "require";
  const lines: string[] = [
    "; Generated by src/files/pgbouncer.ts: edit the generator, not this file.",
    "[databases]",
    // One entry per database, same name on both sides; the user comes from the client (auth_file).
    ...o.databases.map((d) => `${d} = host=${o.dbHost} port=${o.dbPort} dbname=${d}`),
    "",
    "[pgbouncer]",
    `listen_addr = ${o.listenAddr}`,
    `listen_port = ${o.listenPort}`,
    `unix_socket_dir = ${o.unixSocketDir ?? ""}`,
    `pidfile = ${o.pidFile ?? "/run/pgbouncer/pgbouncer.pid"}`,
    ...(o.logFile ? [`logfile = ${o.logFile}`] : []),
    "",
    "; Transaction pooling: a server connection belongs to a client only for one transaction.",
    "pool_mode = transaction",
    `default_pool_size = ${o.poolSize}`,
    // A short burst may borrow a few more connections for up to 3 s before clients queue.
    `reserve_pool_size = ${Math.max(1, Math.ceil(o.poolSize / 4))}`,
    "reserve_pool_timeout = 3",
    `max_client_conn = ${o.maxClientConn}`,
    // Hard cap per database on this instance: pool + reserve, so instances x cap stays within max_connections.
    `max_db_connections = ${o.poolSize + Math.max(1, Math.ceil(o.poolSize / 4))}`,
    "",
    "; Clients authenticate against auth_file (written at boot from Secret Manager; no password here).",
    // SCRAM to clients and to the server: Cloud SQL for PostgreSQL 14+ stores SCRAM-SHA-256 verifiers.
    "auth_type = scram-sha-256",
    `auth_file = ${o.authFile}`,
    `admin_users = ${(o.adminUsers ?? []).join(", ")}`,
    `stats_users = ${(o.adminUsers ?? []).join(", ")}`,
    "",
    "; Session state never outlives a transaction (see resetAlways in src/files/pgbouncer.ts).",
    "server_reset_query = DISCARD ALL",
    `server_reset_query_always = ${(o.resetAlways ?? true) ? 1 : 0}`,
    // Django and psycopg send these startup parameters; PgBouncer refuses unknown ones unless listed.
    "ignore_startup_parameters = extra_float_digits, options",
    ...(o.maxPreparedStatements !== undefined ? [`max_prepared_statements = ${o.maxPreparedStatements}`] : []),
    "",
    "; TLS to Cloud SQL (sslMode ENCRYPTED_ONLY refuses plain connections).",
    `server_tls_sslmode = ${sslmode}`,
    ...(o.serverTlsCaFile ? [`server_tls_ca_file = ${o.serverTlsCaFile}`] : []),
    "",
    "; Timeouts (seconds).",
    // Cloud SQL HA fails over in under 60 s (seed: "Failover: Automatic <60 seconds"): clients wait for a
    // connection that long rather than failing at once; past it they get an error instead of hanging.
    "query_wait_timeout = 60",
    "server_connect_timeout = 10",
    "server_login_retry = 5",
    // Close idle server connections after 10 min and recycle every hour, so a failover's new primary and
    // rebalanced IPs are picked up without restarts.
    "server_idle_timeout = 600",
    "server_lifetime = 3600",
    // A client holding a transaction open and idle for 5 min pins a server connection; cut it.
    "idle_transaction_timeout = 300",
    "client_login_timeout = 30",
    "server_check_query = select 1",
    "server_check_delay = 30",
    "",
    "; TCP keepalives detect a vanished Cloud SQL primary during failover faster than the kernel default (2 h).",
    "tcp_keepalive = 1",
    "tcp_keepidle = 60",
    "tcp_keepintvl = 10",
    "tcp_keepcnt = 6",
    "",
    "log_connections = 0",
    "log_disconnections = 0",
    "log_pooler_errors = 1",
    "stats_period = 60",
    "",
  ];
  return lines.join("\n");
}

/**
 * The userlist.txt line for one user (what the boot script writes to `authFile` after reading the password
 * from Secret Manager). Exported for the boot script generator and the live test; never rendered with a value.
 */
export function userlistLine(user: string, password: string): string {
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return `${q(user)} ${q(password)}`;
}
