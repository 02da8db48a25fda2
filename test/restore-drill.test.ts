/**
 * The Cloud SQL restore drill (scripts/cloudsql-restore-drill.sh), offline: a stand-in `gcloud` first on PATH
 * records every call and answers as Cloud SQL would; two real PostgreSQL 15 servers stand in for the instance
 * (127.0.0.1) and its point-in-time clone (127.0.0.2), so the checks and the swap run real psql, pg_dump and
 * pg_restore. Inside private mount and network namespaces, as root (the servers run as postgres).
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectDir } from "./helpers/plan";

const script = join(projectDir, "scripts/cloudsql-restore-drill.sh");

/** Answers as `gcloud sql ...` / `gcloud secrets ...` would for co-db and its clone. */
const fakeGcloud = String.raw`#!/usr/bin/env bash
set -euo pipefail
echo "gcloud $*" >> "$T/gcloud-calls.log"
args="$*"
case "$args" in
  "sql instances describe co-db --project=demo --format=value(settings.backupConfiguration.pointInTimeRecoveryEnabled)") echo True ;;
  "sql instances describe co-db-restore-20261205t081500 --project=demo --format=value(name)")
    [[ -f "$T/cloned" ]] || { echo "ERROR: (gcloud.sql.instances.describe) HTTPError 404: instance does not exist" >&2; exit 1; }
    echo co-db-restore-20261205t081500 ;;
  "sql instances clone co-db co-db-restore-20261205t081500 --point-in-time=2026-12-05T08:15:00Z --project=demo") touch "$T/cloned" ;;
  "sql instances describe co-db-restore-20261205t081500 --project=demo --format=value(state)") echo RUNNABLE ;;
  "sql instances describe co-db-restore-20261205t081500 --project=demo --format=value(ipAddresses[0].ipAddress)") echo 127.0.0.2 ;;
  "sql instances describe co-db --project=demo --format=value(ipAddresses[0].ipAddress)") echo 127.0.0.1 ;;
  "sql databases list --instance=co-db-restore-20261205t081500 --project=demo --format=value(name)") printf 'postgres\ncourse_organizer\n' ;;
  "secrets versions access latest --secret=co-db-course_organizer-password --project=demo") printf 'app-password' ;;
  *) echo "stand-in gcloud: unexpected call: $args" >&2; exit 1 ;;
esac
`;

const scene = String.raw`#!/usr/bin/env bash
set -euo pipefail
ip link set lo up
ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
PG=/usr/lib/postgresql/15/bin
as_pg() { runuser -u postgres -- "$@"; }
start() { # name ip
  install -d -o postgres -g postgres -m 0700 "$T/$1" "$T/$1-sock"
  as_pg "$PG/initdb" -D "$T/$1/data" -U postgres --no-sync --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  as_pg "$PG/pg_ctl" -D "$T/$1/data" -l "$T/$1/server.log" -w -o "-c listen_addresses=$2 -k $T/$1-sock -c fsync=off" start >/dev/null
  as_pg "$PG/psql" -h "$T/$1-sock" -d postgres -v ON_ERROR_STOP=1 -q \
    -c "create role cloudsqlsuperuser createdb" \
    -c "create role course_organizer login password 'app-password' createdb in role cloudsqlsuperuser" \
    -c "create database course_organizer owner cloudsqlsuperuser"
  as_pg "$PG/psql" -h "$T/$1-sock" -d course_organizer -v ON_ERROR_STOP=1 -q \
    -c "create table django_migrations (id serial primary key, app text, name text, applied timestamptz)" \
    -c "insert into django_migrations (app, name, applied) values ('core', '0001_initial', '2026-12-01 10:00:00+00')" \
    -c "create table note (id int primary key, body text)" \
    -c "alter table note owner to course_organizer" -c "alter table django_migrations owner to course_organizer" \
    -c "insert into note select g, 'note ' || g from generate_series(1, 10) g"
}
start source 127.0.0.1
start clone 127.0.0.2
# After the point in time, on the live instance only: an accidental delete and a new row.
as_pg "$PG/psql" -h "$T/source-sock" -d course_organizer -v ON_ERROR_STOP=1 -q -c "delete from note where id <= 5" -c "insert into note values (11, 'note 11')"
export PATH="$T/bin:/usr/lib/postgresql/15/bin:$PATH" PGSSLMODE=disable
set +e
"$SCRIPT" --project demo --instance co-db --time 2026-12-05T08:15:00Z > "$T/drill.log" 2>&1
echo "$?" > "$T/drill.rc"
"$SCRIPT" --project demo --instance co-db --time 2026-12-05T08:15:00Z --swap > "$T/swap.log" 2>&1
echo "$?" > "$T/swap.rc"
set -e
as_pg "$PG/psql" -h "$T/source-sock" -d course_organizer -Atq -c "select string_agg(id::text, ',' order by id) from note" > "$T/live.txt"
as_pg "$PG/psql" -h "$T/source-sock" -d postgres -Atq -c "select datname from pg_database where datname like 'course_organizer_%' order by 1" > "$T/kept-name.txt"
KEPT="$(cat "$T/kept-name.txt")"
as_pg "$PG/psql" -h "$T/source-sock" -d "$KEPT" -Atq -c "select string_agg(id::text, ',' order by id) from note" > "$T/kept.txt"
as_pg "$PG/psql" -h "$T/source-sock" -d postgres -Atq -c "select datallowconn from pg_database where datname = 'course_organizer'" > "$T/allowconn.txt"
as_pg "$PG/pg_ctl" -D "$T/source/data" -m fast -w stop >/dev/null
as_pg "$PG/pg_ctl" -D "$T/clone/data" -m fast -w stop >/dev/null
`;

// Root runs the servers as postgres (runuser) in private namespaces; the tools are installed by scripts/test-all.sh.
// A missing tool is a failure, never a skip.
const canRun = process.getuid?.() === 0;

describe("scripts/cloudsql-restore-drill.sh (stand-in gcloud, real PostgreSQL)", () => {
  it("passes shellcheck", () => {
    const r = spawnSync("shellcheck", ["-S", "style", script], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("refuses a time that is not RFC 3339 UTC, before calling gcloud", () => {
    const r = spawnSync("bash", [script, "--project", "demo", "--instance", "co-db", "--time", "2026-12-05 08:15"], {
      encoding: "utf8",
      env: { PATH: "/nonexistent:/usr/bin:/bin" },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--time 2026-12-05 08:15: expected RFC 3339 in UTC");
  });

  it.runIf(canRun)(
    "clones to the point in time, checks the clone, and swaps the restored data in while keeping the current one",
    () => {
      const t = mkdtempSync(join(tmpdir(), "drill-"));
      chmodSync(t, 0o755);
      try {
        spawnSync("install", ["-d", "-m", "0755", join(t, "bin")]);
        writeFileSync(join(t, "bin", "gcloud"), fakeGcloud, { mode: 0o755 });
        writeFileSync(join(t, "scene.sh"), scene, { mode: 0o755 });
        const r = spawnSync("unshare", ["-m", "-n", "bash", join(t, "scene.sh")], {
          encoding: "utf8",
          env: { ...process.env, T: t, SCRIPT: script },
          timeout: 90_000,
        });
        const read = (f: string) => readFileSync(join(t, f), "utf8").trim();
        const logs = ["drill.log", "swap.log"].map((f) => spawnSync("cat", [join(t, f)], { encoding: "utf8" }).stdout).join("\n");
        expect(r.status, `${r.stderr}\n${logs}`).toBe(0);
        expect(read("drill.rc"), read("drill.log")).toBe("0");
        expect(read("drill.log")).toContain("clone co-db-restore-20261205t081500 (127.0.0.2): 1 Django migrations applied, the last at 2026-12-01 10:00:00+00");
        expect(read("drill.log")).toContain("gcloud sql instances delete co-db-restore-20261205t081500 --project=demo");
        expect(read("swap.rc"), read("swap.log")).toBe("0");
        // The live database now holds the clone's rows (as at the point in time) ...
        expect(read("live.txt")).toBe("1,2,3,4,5,6,7,8,9,10");
        expect(read("allowconn.txt")).toBe("t");
        // ... and the data from before the swap is kept under a new name, connectable.
        expect(read("kept-name.txt")).toMatch(/^course_organizer_before_restore_\d{8}t\d{6}$/);
        expect(read("kept.txt")).toBe("6,7,8,9,10,11");
        // Every gcloud call, in order: the clone only once (the second run reuses it).
        expect(read("gcloud-calls.log").split("\n")).toEqual([
          "gcloud sql instances describe co-db --project=demo --format=value(settings.backupConfiguration.pointInTimeRecoveryEnabled)",
          "gcloud sql instances describe co-db-restore-20261205t081500 --project=demo --format=value(name)",
          "gcloud sql instances clone co-db co-db-restore-20261205t081500 --point-in-time=2026-12-05T08:15:00Z --project=demo",
          "gcloud sql instances describe co-db-restore-20261205t081500 --project=demo --format=value(state)",
          "gcloud sql instances describe co-db-restore-20261205t081500 --project=demo --format=value(ipAddresses[0].ipAddress)",
          "gcloud sql instances describe co-db --project=demo --format=value(ipAddresses[0].ipAddress)",
          "gcloud sql databases list --instance=co-db-restore-20261205t081500 --project=demo --format=value(name)",
          "gcloud secrets versions access latest --secret=co-db-course_organizer-password --project=demo",
          "gcloud sql instances describe co-db --project=demo --format=value(settings.backupConfiguration.pointInTimeRecoveryEnabled)",
          "gcloud sql instances describe co-db-restore-20261205t081500 --project=demo --format=value(name)",
          "gcloud sql instances describe co-db-restore-20261205t081500 --project=demo --format=value(state)",
          "gcloud sql instances describe co-db-restore-20261205t081500 --project=demo --format=value(ipAddresses[0].ipAddress)",
          "gcloud sql instances describe co-db --project=demo --format=value(ipAddresses[0].ipAddress)",
          "gcloud sql databases list --instance=co-db-restore-20261205t081500 --project=demo --format=value(name)",
          "gcloud secrets versions access latest --secret=co-db-course_organizer-password --project=demo",
        ]);
      } finally {
        rmSync(t, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
