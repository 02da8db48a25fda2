/**
 * Point-in-time recovery of the VM's PostgreSQL, for real: PostgreSQL 15 and pgBackRest (Debian's 2.45) run the
 * rendered pgbackrest.conf (only the repository swapped: a local posix directory stands in for the bucket), the
 * rendered server settings (archive_mode, archive_command, archive_timeout) and the rendered pg-backup.sh and
 * pg-restore.sh, unchanged, with a stand-in `docker` first on PATH that runs each `docker compose` call against
 * the local server as the postgres user. Rows are written, backed up, written again; the cluster is restored to
 * a time between the second and third batch, and exactly the rows committed before that time are there.
 *
 * Runs as root inside private mount and network namespaces (unshare -m -n): tmpfs over /var/lib/postgresql and
 * /var/run/postgresql (the container paths the rendered files use), port 5432 on a loopback of its own.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backupScript, CONTAINER_PGDATA, pgbackrestConf, restoreScript, STANZA } from "../src/files/pgbackrest";
import { postgresCommand } from "../src/files/compose";

/** The rendered config with only the repository swapped from the bucket to a local directory. */
export function localRepoConf(rendered: string, repoDir: string): string {
  return rendered
    .split("\n")
    .filter((l) => !l.startsWith("repo1-gcs-"))
    .map((l) => (l === "repo1-type=gcs" ? "repo1-type=posix" : l.startsWith("repo1-path=") ? `repo1-path=${repoDir}` : l))
    .join("\n");
}

/** `docker compose ...` as the rendered scripts call it, run against the local server. */
const fakeDocker = String.raw`#!/usr/bin/env bash
set -euo pipefail
echo "docker $*" >> "$T/docker-calls.log"
[[ "$1" == "compose" ]] || { echo "stand-in docker: only 'compose' is known" >&2; exit 1; }
shift
while [[ "$1" == --env-file || "$1" == -f ]]; do shift 2; done
sub="$1"; shift
PG=/usr/lib/postgresql/15/bin
as_pg() { runuser -u postgres -- "$@"; }
start_pg() {
  mapfile -t FLAGS < "$T/server-flags"
  as_pg "$PG/postgres" -D "$PGDATA_PATH" "${"$"}{FLAGS[@]}" -c listen_addresses=127.0.0.1 -c unix_socket_directories=/var/run/postgresql \
    >> "$T/postgres.log" 2>&1 &
  for _ in $(seq 1 100); do "$PG/pg_isready" -q -h /var/run/postgresql && return 0; sleep 0.1; done
  echo "postgres did not start" >&2; cat "$T/postgres.log" >&2; return 1
}
case "$sub" in
  exec|run)
    user=root; entry=""
    while [[ "$1" == -* ]]; do
      case "$1" in
        -u) user="$2"; shift 2 ;;
        --entrypoint) entry="$2"; shift 2 ;;
        *) shift ;;
      esac
    done
    [[ "$1" == postgres ]] || { echo "stand-in docker: unknown service $1" >&2; exit 1; }
    shift
    cmd=("$@")
    if [[ -n "$entry" ]]; then cmd=("$entry" "$@"); fi
    case "${"$"}{cmd[0]}" in pg_isready|psql) cmd[0]="$PG/${"$"}{cmd[0]}" ;; esac
    if [[ "$user" == postgres ]]; then as_pg "${"$"}{cmd[@]}"; else "${"$"}{cmd[@]}"; fi
    ;;
  stop)
    for s in "$@"; do
      if [[ "$s" == postgres ]]; then as_pg "$PG/pg_ctl" -D "$PGDATA_PATH" -m fast -w stop >/dev/null; fi
    done
    ;;
  up)
    for s in "$@"; do
      if [[ "$s" == postgres ]]; then start_pg; fi
    done
    ;;
  *) echo "stand-in docker: unknown subcommand $sub" >&2; exit 1 ;;
esac
`;

/** The scene: server with the rendered settings, rows, backup, more rows, restore to a time between, dumps. */
const scene = String.raw`#!/usr/bin/env bash
set -euo pipefail
ip link set lo up
mount -t tmpfs -o mode=0755 tmpfs /var/lib/postgresql
mount -t tmpfs -o mode=0755 tmpfs /var/run/postgresql
install -d -o postgres -g postgres -m 0755 /var/run/postgresql
install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data
install -d -o postgres -g postgres -m 0700 "$T/repo"
install -d -m 0755 /tmp/pgbackrest && mount -t tmpfs -o mode=0777 tmpfs /tmp/pgbackrest
export PGDATA_PATH PATH="$T/bin:$PATH" PGBACKREST_CONFIG="$T/pgbackrest.conf"
PG=/usr/lib/postgresql/15/bin
psql_() { runuser -u postgres -- "$PG/psql" -h /var/run/postgresql -d postgres -v ON_ERROR_STOP=1 -Atq "$@"; }

runuser -u postgres -- "$PG/initdb" -D "$PGDATA_PATH" -U postgres -E UTF8 --no-sync --auth-local=trust >/dev/null
docker compose up -d postgres
psql_ -c "create table note (id int primary key, body text not null, at timestamptz not null default clock_timestamp())"
psql_ -c "insert into note (id, body) select g, 'before backup ' || g from generate_series(1, 50) g"

"$T/pg-backup.sh" full > "$T/backup.log" 2>&1

psql_ -c "insert into note (id, body) select g, 'after backup ' || g from generate_series(51, 80) g"
psql_ -c "update note set body = body || ' (edited)' where id in (3, 60)"
psql_ -c "delete from note where id = 7"
sleep 1.1
TARGET="$(psql_ -c "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")"
sleep 1.1
psql_ -c "insert into note (id, body) select g, 'too late ' || g from generate_series(81, 90) g"
psql_ -c "delete from note where id = 1"
psql_ -c "select pg_switch_wal()" >/dev/null
SEG="$(psql_ -c "select pg_walfile_name(pg_current_wal_lsn())")"
# Wait until the segment holding the last commits is in the repository (archive_command has returned).
for _ in $(seq 1 100); do
  LAST="$(psql_ -c "select coalesce(last_archived_wal, '') from pg_stat_archiver")"
  if [[ -n "$LAST" && "$LAST" < "$SEG" ]] || [[ -z "$LAST" ]]; then sleep 0.1; else break; fi
done
psql_ -c "select id, body from note order by id" > "$T/before-restore.txt"
echo "$TARGET" > "$T/target.txt"

"$T/pg-restore.sh" "$TARGET" --yes > "$T/restore.log" 2>&1

psql_ -c "select id, body from note order by id" > "$T/after-restore.txt"
psql_ -c "select pg_is_in_recovery()" > "$T/in-recovery.txt"
runuser -u postgres -- pgbackrest --stanza=${STANZA} info --output=json > "$T/info.json"
runuser -u postgres -- "$PG/pg_ctl" -D "$PGDATA_PATH" -m fast -w stop >/dev/null
ls -d "$PGDATA_PATH".before-restore-* > "$T/aside.txt"
`;

// Root runs the servers as postgres (runuser) in private namespaces; the tools are installed by scripts/test-all.sh.
// A missing tool is a failure, never a skip.
const canRun = process.getuid?.() === 0;

describe("point-in-time recovery of the VM's PostgreSQL (PostgreSQL 15 + pgBackRest, local repository)", () => {
  it.runIf(canRun)(
    "restores exactly the rows committed before the target time, from an encrypted repository",
    () => {
      const t = mkdtempSync(join(tmpdir(), "pitr-"));
      chmodSync(t, 0o755);
      try {
        const bin = join(t, "bin");
        spawnSync("install", ["-d", "-m", "0755", bin]);
        writeFileSync(join(bin, "docker"), fakeDocker, { mode: 0o755 });
        const conf = localRepoConf(pgbackrestConf({ bucket: "co-backups", fullBackupsKept: 2 }), join(t, "repo"));
        writeFileSync(join(t, "pgbackrest.conf"), conf, { mode: 0o644 });
        // The server settings exactly as the compose file passes them (`postgres -c k=v ...`), minus "postgres".
        const command = postgresCommand({ backup: { archiveTimeoutSeconds: 60 } })!;
        expect(command[0]).toBe("postgres");
        writeFileSync(join(t, "server-flags"), command.slice(1).join("\n") + "\n");
        writeFileSync(join(t, "pg-backup.sh"), backupScript({ fullBackupDay: 7, appDir: t }), { mode: 0o755 });
        writeFileSync(join(t, "pg-restore.sh"), restoreScript({ clients: ["backend", "daphne"], appDir: t, hostPgdata: CONTAINER_PGDATA }), { mode: 0o755 });
        writeFileSync(join(t, "scene.sh"), scene, { mode: 0o755 });

        const r = spawnSync("unshare", ["-m", "-n", "bash", join(t, "scene.sh")], {
          encoding: "utf8",
          env: { ...process.env, T: t, PGDATA_PATH: CONTAINER_PGDATA, PGBACKREST_REPO1_CIPHER_PASS: "test-cipher-pass-0123456789abcdef" },
          timeout: 90_000,
        });
        const logs = ["backup.log", "restore.log", "postgres.log"].map((f) => {
          try {
            return `--- ${f}\n${readFileSync(join(t, f), "utf8")}`;
          } catch {
            return "";
          }
        });
        expect(r.status, `${r.stderr}\n${logs.join("\n")}`).toBe(0);

        const rows = (f: string) => readFileSync(join(t, f), "utf8").trim().split("\n");
        // Committed before the target: 1-50 (backed up), 51-80 after the backup, 3 and 60 edited, 7 deleted.
        const expected = [
          ...Array.from({ length: 50 }, (_, i) => i + 1).map((id) => `${id}|before backup ${id}`),
          ...Array.from({ length: 30 }, (_, i) => i + 51).map((id) => `${id}|after backup ${id}`),
        ]
          .filter((l) => !l.startsWith("7|"))
          .map((l) => (l.startsWith("3|") || l.startsWith("60|") ? `${l} (edited)` : l));
        expect(rows("after-restore.txt")).toEqual(expected);
        // And the server had more (81-90, without 1) before the restore: the restore really went back in time.
        const before = rows("before-restore.txt");
        expect(before).toHaveLength(expected.length + 10 - 1);
        expect(before[0]).toBe("2|before backup 2");
        expect(before.at(-1)).toBe("90|too late 90");
        // Promoted, writable, on a new timeline; the data from before the restore was moved aside, not deleted.
        expect(readFileSync(join(t, "in-recovery.txt"), "utf8").trim()).toBe("f");
        expect(readFileSync(join(t, "aside.txt"), "utf8").trim()).toMatch(new RegExp(`^${CONTAINER_PGDATA}\\.before-restore-\\d{8}T\\d{6}Z$`));
        const info = JSON.parse(readFileSync(join(t, "info.json"), "utf8")) as { name: string; backup: { type: string }[]; cipher: string }[];
        expect(info[0]!.name).toBe(STANZA);
        expect(info[0]!.cipher).toBe("aes-256-cbc");
        expect(info[0]!.backup.map((b) => b.type)).toEqual(["full"]);
        expect(readFileSync(join(t, "restore.log"), "utf8")).toContain(`restored to ${readFileSync(join(t, "target.txt"), "utf8").trim()}`);
        // Encrypted at rest: the repository's files start with OpenSSL's salted header, never pgBackRest's plain text.
        const archiveInfo = readFileSync(join(t, "repo", "archive", STANZA, "archive.info"));
        expect(archiveInfo.subarray(0, 8).toString("latin1")).toBe("Salted__");
        const walDir = join(
          t,
          "repo",
          "archive",
          STANZA,
          readdirSync(join(t, "repo", "archive", STANZA)).find((d) => /^15-\d+$/.test(d))!,
        );
        expect(readdirSync(walDir).length).toBeGreaterThan(0);
        // The calls the scripts made, in order, as they would reach docker compose on the VM.
        const calls = readFileSync(join(t, "docker-calls.log"), "utf8");
        expect(calls).toContain("docker compose --env-file /run/course-organizer/app.env -f docker-compose.yml stop backend daphne");
        expect(calls).toContain(`run --rm --no-deps -T -u postgres --entrypoint pgbackrest postgres --stanza=${STANZA} --type=time --target=`);
      } finally {
        rmSync(t, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
