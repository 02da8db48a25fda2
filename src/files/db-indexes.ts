/**
 * The seed's stage-2 "Database Optimization" indexes, applied to the VM's PostgreSQL after the app's own
 * migrations, and the script that applies them.
 *
 * Seed: "CREATE INDEX idx_groupmessage_group_created ON course_api_groupmessage(group_id, created_at DESC)" and
 * three more, then "ALTER TABLE course_api_course SET (autovacuum_enabled = true); VACUUM ANALYZE;". Changes
 * against the seed's text, and why:
 * - `CONCURRENTLY`: a plain CREATE INDEX locks the table against writes for the whole build (minutes for the
 *   message table at stage 2); CONCURRENTLY builds while the app keeps writing. It cannot run inside a
 *   transaction block, so each statement goes through its own `psql -c`.
 * - `IF NOT EXISTS`: the script runs at every boot. A CONCURRENTLY build that was interrupted leaves an INVALID
 *   index behind that IF NOT EXISTS would then accept forever; the script drops such an index and builds it again.
 * - An index whose columns an existing valid btree index already starts with (in the same order) is skipped
 *   with a log line: it would only slow writes. Django creates one index per foreign key (e.g. on
 *   course_api_studygroup.student_class_id), so depending on the app's models some seed indexes may already exist
 *   under Django's names.
 * - `ANALYZE <table>` per indexed table instead of a database-wide `VACUUM ANALYZE`: autovacuum stays on
 *   (PostgreSQL's default; the seed's ALTER only restates it, applied when that table exists) and vacuums on its
 *   own schedule; fresh statistics are what the planner needs to choose the new indexes.
 * - A table that does not exist yet (the app has not migrated it) is skipped with a log line; the next boot
 *   picks it up.
 */
import { argRefuser } from "../config/refusal";

export interface IndexColumn {
  name: string;
  /** Descending key order (the seed's `created_at DESC`: newest messages first). */
  descending?: boolean;
}

export interface IndexSpec {
  /** Index name, as in the seed. */
  name: string;
  /** Table it indexes (public schema, Django's `<app>_<model>` name). */
  table: string;
  columns: IndexColumn[];
  /** The seed's query this index is for. */
  serves: string;
}

/** The seed's four indexes (stage 2 "Database Optimization"; the queries from "Critical Query Optimizations"). */
export const seedIndexes: readonly IndexSpec[] = [
  {
    name: "idx_groupmessage_group_created",
    table: "course_api_groupmessage",
    columns: [{ name: "group_id" }, { name: "created_at", descending: true }],
    serves: "latest 50 messages of a group: WHERE group_id = ? ORDER BY created_at DESC LIMIT 50",
  },
  {
    name: "idx_studygroup_class",
    table: "course_api_studygroup",
    columns: [{ name: "student_class_id" }],
    serves: "study groups of a class: WHERE student_class_id = ?",
  },
  {
    name: "idx_user_email",
    table: "directory_user",
    columns: [{ name: "email" }],
    serves: "user by e-mail: WHERE email = ?",
  },
  {
    name: "idx_membership_user_group",
    table: "course_api_studygroupmembership",
    columns: [{ name: "user_id" }, { name: "group_id" }],
    serves: "a user's memberships: WHERE user_id = ? [AND group_id = ?]",
  },
];

/** Table whose autovacuum the seed switches on (it is on by default; the statement only restates it). */
export const autovacuumTable = "course_api_course";

export interface SqlStatement {
  kind: "index" | "analyze" | "autovacuum";
  /** The table the statement needs; the script skips the statement when it does not exist. */
  table: string;
  sql: string;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

/**
 * Validate index specs, one refusal line each (src/config/refusal.ts): every name is a plain lowercase identifier
 * (they are interpolated into SQL and bash). The program passes the seed's constant indexes; other callers.
 */
export function indexProblems(indexes: readonly IndexSpec[]): string[] {
  const refuse = argRefuser("indexStatements", "");
  const ident = "a plain lowercase identifier ([a-z_][a-z0-9_]*)";
  const p: string[] = [];
  const names = indexes.map((ix) => ix.name);
  indexes.forEach((ix, i) => {
    if (!IDENT.test(ix.name)) p.push(refuse(`indexes[${i}].name`, ix.name, "is not a plain identifier", ident));
    if (names.indexOf(ix.name) < i)
      p.push(refuse(`indexes[${i}].name`, ix.name, `is used twice (also indexes[${names.indexOf(ix.name)}])`, "each index name once"));
    if (!IDENT.test(ix.table)) p.push(refuse(`indexes[${i}].table`, ix.table, "is not a plain identifier", ident));
    if (ix.columns.length === 0) p.push(refuse(`indexes[${i}].columns`, ix.columns, "is empty", "at least one column"));
    ix.columns.forEach((c, j) => {
      if (!IDENT.test(c.name)) p.push(refuse(`indexes[${i}].columns[${j}].name`, c.name, "is not a plain identifier", ident));
    });
  });
  return p;
}

function checked(indexes: readonly IndexSpec[]): readonly IndexSpec[] {
  const problems = indexProblems(indexes);
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return indexes;
}

/** `CREATE INDEX CONCURRENTLY IF NOT EXISTS <name> ON <table> (<cols>);` */
export function createIndexStatement(ix: IndexSpec): string {
  const cols = ix.columns.map((c) => (c.descending ? `${c.name} DESC` : c.name)).join(", ");
  return `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${ix.name} ON ${ix.table} (${cols});`;
}

/** The statements in the order they run: the indexes, ANALYZE of each indexed table, the autovacuum setting. */
export function indexStatements(indexes: readonly IndexSpec[] = seedIndexes): SqlStatement[] {
  checked(indexes);
  const tables = [...new Set(indexes.map((ix) => ix.table))];
  return [
    ...indexes.map((ix): SqlStatement => ({ kind: "index", table: ix.table, sql: createIndexStatement(ix) })),
    ...tables.map((t): SqlStatement => ({ kind: "analyze", table: t, sql: `ANALYZE ${t};` })),
    { kind: "autovacuum", table: autovacuumTable, sql: `ALTER TABLE ${autovacuumTable} SET (autovacuum_enabled = true);` },
  ];
}

/**
 * The full SQL text (for `npm run render` and for reading). Run it statement by statement, not as one
 * transaction (`psql -f` without `--single-transaction` does that); `applyIndexesScript()` is what the VM runs.
 */
export function indexesSql(indexes: readonly IndexSpec[] = seedIndexes): string {
  const byName = new Map(indexes.map((ix) => [createIndexStatement(ix), ix]));
  const out = [
    '-- Rendered by src/files/db-indexes.ts: the seed\'s stage-2 "Database Optimization".',
    "-- CONCURRENTLY cannot run inside a transaction block: run statement by statement (psql -f, no -1).",
    "-- The VM runs apply-db-indexes.sh, which also skips tables that do not exist yet and rebuilds invalid indexes.",
    "",
  ];
  for (const s of indexStatements(indexes)) {
    const ix = byName.get(s.sql);
    if (ix) out.push(`-- ${ix.serves}`);
    out.push(s.sql);
  }
  out.push("");
  return out.join("\n");
}

/**
 * The bash script the VM runs after the app's migrations. Connection from the usual libpq variables (PGHOST,
 * PGPORT, PGUSER, PGDATABASE); the password from PGPASSFILE (libpq reads it) or from the file named by
 * PGPASSWORD_FILE (e.g. /run/secrets/postgres-password, written at boot from Secret Manager). Never embedded.
 * Exit 0 when every existing table has its indexes; non-zero on any SQL error.
 */
export function applyIndexesScript(indexes: readonly IndexSpec[] = seedIndexes): string {
  checked(indexes);
  const tables = [...new Set(indexes.map((ix) => ix.table))];
  const calls = indexes.map((ix) => {
    const cols = ix.columns.map((c) => c.name).join(",");
    return `apply_index ${ix.name} ${ix.table} ${cols} '${createIndexStatement(ix)}'`;
  });
  return `#!/usr/bin/env bash
# Rendered by src/files/db-indexes.ts: the seed's stage-2 "Database Optimization" indexes.
# Runs after the app's migrations, at every boot; idempotent. Each statement runs on its own: CREATE INDEX
# CONCURRENTLY cannot run inside a transaction block.
set -euo pipefail

: "\${PGHOST:?PGHOST must name the PostgreSQL host}"
: "\${PGPORT:=5432}"
: "\${PGUSER:?PGUSER must name the owner of the app tables}"
: "\${PGDATABASE:?PGDATABASE must name the app database}"
export PGHOST PGPORT PGUSER PGDATABASE
# The password comes from a file (PGPASSFILE is read by libpq itself), never from this script.
if [[ -n "\${PGPASSWORD_FILE:-}" ]]; then
  PGPASSWORD="$(<"\${PGPASSWORD_FILE}")"
  export PGPASSWORD
fi

log() {
  printf '%s db-indexes: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

# One statement, its own session, stop on the first error; -At prints bare values.
sql() {
  psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"
}

# "t" or "f". Callers assign the result to a variable: a failing psql inside [[ ]] or an if condition would not
# stop the script (set -e is off there) and would read as "no such table".
table_present() {
  sql "SELECT to_regclass('public.$1') IS NOT NULL"
}

# Name of another valid btree index on the table whose leading key columns are exactly $2 (comma-separated).
covering_index() {
  local table="$1" columns="$2" name="$3"
  sql "SELECT c.relname FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_am am ON am.oid = c.relam
       WHERE i.indrelid = 'public.\${table}'::regclass AND i.indisvalid AND i.indpred IS NULL
         AND am.amname = 'btree' AND c.relname <> '\${name}'
         AND i.indnkeyatts >= cardinality(string_to_array('\${columns}', ','))
         AND (SELECT string_agg(a.attname, ',' ORDER BY k.n)
                FROM unnest((string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(string_to_array('\${columns}', ','))])
                     WITH ORDINALITY AS k(attnum, n)
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) = '\${columns}'
       ORDER BY c.relname LIMIT 1"
}

apply_index() {
  local name="$1" table="$2" columns="$3" statement="$4" present valid other
  present="$(table_present "$table")"
  if [[ "$present" != "t" ]]; then
    log "skip \${name}: table \${table} does not exist yet (the app has not migrated it); the next run adds it"
    return 0
  fi
  valid="$(sql "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass('public.\${name}')")"
  if [[ "$valid" == "f" ]]; then
    # An interrupted CONCURRENTLY build leaves an invalid index that IF NOT EXISTS would keep forever.
    log "rebuild \${name}: an earlier build was interrupted and left it invalid"
    sql "DROP INDEX CONCURRENTLY IF EXISTS public.\${name}"
  elif [[ "$valid" == "t" ]]; then
    log "ok \${name}: present on \${table}"
    return 0
  fi
  other="$(covering_index "$table" "$columns" "$name")"
  if [[ -n "$other" ]]; then
    log "skip \${name}: \${other} already indexes \${table} (\${columns}); a second index would only slow writes"
    return 0
  fi
  log "create \${name} on \${table} (\${columns})"
  sql "$statement"
}

# Fail early, with psql's own message, when the server cannot be reached or the password is wrong.
sql "SELECT 1" >/dev/null
log "connected to \${PGDATABASE} on \${PGHOST}:\${PGPORT} as \${PGUSER}"

${calls.join("\n")}

for table in ${tables.join(" ")}; do
  present="$(table_present "$table")"
  if [[ "$present" == "t" ]]; then
    log "analyze \${table}"
    sql "ANALYZE public.\${table}"
  fi
done

# Autovacuum is on by default; the seed's statement restates it for the course table.
present="$(table_present ${autovacuumTable})"
if [[ "$present" == "t" ]]; then
  sql "ALTER TABLE public.${autovacuumTable} SET (autovacuum_enabled = true)"
  log "autovacuum on for ${autovacuumTable}"
else
  log "skip autovacuum setting: table ${autovacuumTable} does not exist yet"
fi
log "done"
`;
}
