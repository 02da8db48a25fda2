/**
 * Point-in-time recovery of the single VM's PostgreSQL (stages 1-2) with pgBackRest: continuous WAL archiving and
 * periodic base backups to a Cloud Storage bucket (components/backup-bucket.ts), encrypted, with retention.
 *
 * Where pgBackRest runs: inside the postgres container, not on the VM host. PostgreSQL itself runs
 * `archive_command` for every finished WAL segment, in its own process and file system; only a pgBackRest inside
 * that container can push the segment without a hand-made spool between container and host (which would add its
 * own delay to the recovery point and its own failure mode). The container image is the configured
 * `images.postgres` plus the distribution's pgbackrest package, built on the VM from a two-line Dockerfile
 * (postgresImageDockerfile); its tag is derived from the base image, so a new base image builds a new one.
 *
 * Secrets: the repository cipher pass comes from Secret Manager through fetch-secrets.sh into the tmpfs env file
 * and reaches the container as PGBACKREST_REPO1_CIPHER_PASS (pgBackRest reads any option from a
 * PGBACKREST_<OPTION> variable); it is never in pgbackrest.conf, the compose file or the instance metadata.
 * Google credentials: `repo1-gcs-key-type=auto`, the VM's service account through the metadata server
 * (pgBackRest 2.40+), which holds objectAdmin on the backup bucket only.
 *
 * Recovery point: `archive_timeout` forces a WAL segment switch at least every `archiveTimeoutSeconds` (<= 300),
 * so at most that much committed work is not yet in the bucket. Recovery time: restore of the last full backup
 * plus its differential plus WAL replay (pg-restore.sh).
 */
import { createHash } from "node:crypto";
import { APP_DIR, DATA_MOUNT, ENV_FILE } from "./vm-scripts";

/** The stanza (pgBackRest's name for one PostgreSQL cluster). */
export const STANZA = "course-organizer";
/** Where the config is mounted in the postgres container (pgBackRest's default path). */
export const PGBACKREST_CONF_PATH = "/etc/pgbackrest/pgbackrest.conf";
/** PGDATA inside the postgres container (src/files/compose.ts sets it). */
export const CONTAINER_PGDATA = "/var/lib/postgresql/data/pgdata";
/** The same directory on the VM host (the data disk is mounted at /mnt/data; compose binds /mnt/data/postgres). */
export const HOST_PGDATA = `${DATA_MOUNT}/postgres/pgdata`;
/** The env variable carrying the repository cipher pass (pgBackRest's own name for repo1-cipher-pass). */
export const CIPHER_PASS_ENV = "PGBACKREST_REPO1_CIPHER_PASS";

export interface PgBackRestOptions {
  /** The backup bucket's name (components/backup-bucket.ts). */
  bucket: string;
  /** Full backups kept (repo1-retention-full); older ones and their WAL are expired after each backup. */
  fullBackupsKept: number;
  /** Object prefix in the bucket. @default "/pgbackrest" */
  repoPath?: string;
}

/**
 * pgbackrest.conf. No secret: the cipher pass is PGBACKREST_REPO1_CIPHER_PASS in the container's environment.
 * Every option here exists in pgBackRest 2.45 (Debian 12, what the tests run) and later (Alpine's, Ubuntu's).
 */
export function pgbackrestConf(o: PgBackRestOptions): string {
  return [
    "# Rendered by src/files/pgbackrest.ts. The repository cipher pass is not here: it is",
    `# ${CIPHER_PASS_ENV} in the postgres container's environment (from Secret Manager, via the tmpfs env file).`,
    "[global]",
    "repo1-type=gcs",
    `repo1-gcs-bucket=${o.bucket}`,
    // The VM's service account through the metadata server (no key file on the VM).
    "repo1-gcs-key-type=auto",
    `repo1-path=${o.repoPath ?? "/pgbackrest"}`,
    // Client-side encryption of every file in the repository (the bucket's own encryption is Google's key).
    "repo1-cipher-type=aes-256-cbc",
    // Full backups kept; each one's differentials and the WAL needed to recover from it go with it.
    `repo1-retention-full=${o.fullBackupsKept}`,
    "repo1-retention-full-type=count",
    // Segments are pushed from a local spool in the background so a slow bucket never stalls commits;
    // archive_command returns once the segment is queued and the previous ones have been pushed.
    "archive-async=y",
    "spool-path=/var/lib/postgresql/data/pgbackrest-spool",
    // If the bucket stays unreachable, pgBackRest stops queueing at 4 GiB: it then drops segments (a gap in the
    // archive until the next full backup; the "archive failing" alert fires first) rather than letting pg_wal fill
    // the data disk, which would stop PostgreSQL itself.
    "archive-push-queue-max=4GiB",
    "compress-type=zst",
    "process-max=2",
    // The backup starts at once (an immediate checkpoint) instead of waiting up to checkpoint_timeout.
    "start-fast=y",
    "log-level-console=info",
    "log-level-file=off",
    "lock-path=/tmp/pgbackrest",
    "",
    `[${STANZA}]`,
    `pg1-path=${CONTAINER_PGDATA}`,
    "pg1-socket-path=/var/run/postgresql",
    "pg1-port=5432",
    "",
  ].join("\n");
}

/**
 * The server settings archiving needs (the postgres service's `command`): WAL archiving through pgBackRest and a
 * forced segment switch every `archiveTimeoutSeconds`. wal_level stays `replica` (PostgreSQL 15's default) unless
 * the Database Migration Service source needs `logical`, which includes everything `replica` archives.
 */
export function archiveSettings(archiveTimeoutSeconds: number): string[] {
  return ["archive_mode=on", `archive_command=pgbackrest --stanza=${STANZA} archive-push %p`, `archive_timeout=${archiveTimeoutSeconds}`];
}

/** The Dockerfile of the postgres image with pgBackRest: the configured image plus its distribution's package. */
export function postgresImageDockerfile(): string {
  return [
    "# Rendered by src/files/pgbackrest.ts: the configured PostgreSQL image plus pgBackRest from its distribution.",
    "ARG BASE_IMAGE",
    "FROM ${BASE_IMAGE}",
    "# Alpine images: the community package; Debian images: apt.postgresql.org, which the official images configure.",
    "RUN if command -v apk >/dev/null; then apk add --no-cache pgbackrest; \\",
    "    else apt-get update && apt-get install -y --no-install-recommends pgbackrest && rm -rf /var/lib/apt/lists/*; fi \\",
    "    && install -d -o postgres -g postgres -m 0750 /tmp/pgbackrest",
    "",
  ].join("\n");
}

/** The local tag of the built image: changes with the base image (and the Dockerfile), so compose rebuilds it. */
export function postgresImageTag(baseImage: string): string {
  const h = createHash("sha256").update(baseImage).update(postgresImageDockerfile()).digest("hex").slice(0, 12);
  return `course-organizer/postgres-pgbackrest:${h}`;
}

const HEADER = ["# Rendered by src/files/pgbackrest.ts. Runs as root on the Course Organizer VM.", 'PATH="$PATH:/snap/bin"'].join("\n");

function q(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

export interface BackupScriptOptions {
  /** Weekday of the full backup (date +%u: 1 Monday .. 7 Sunday); differentials on the other days. */
  fullBackupDay: number;
  /** Compose project directory. @default "/opt/course-organizer" */
  appDir?: string;
}

/**
 * pg-backup.sh [full|diff|auto]: creates the stanza when it does not exist yet (idempotent), then takes a full
 * backup on `fullBackupDay` (or when none exists: pgBackRest then promotes a diff to full) and a differential on
 * the other days; pgBackRest expires what falls out of the retention after each backup. `check` first proves the
 * archive works end to end (it forces a WAL switch and waits for that segment in the bucket).
 */
export function backupScript(o: BackupScriptOptions): string {
  return `#!/usr/bin/env bash
${HEADER}
# Base backup of the VM's PostgreSQL to the backup bucket (pgBackRest, in the postgres container).
set -euo pipefail
cd ${q(o.appDir ?? APP_DIR)}
COMPOSE=(--env-file ${q(ENV_FILE)} -f docker-compose.yml)
STANZA=${q(STANZA)}
TYPE="\${1:-auto}"
if [[ "$TYPE" == "auto" ]]; then
  if [[ "$(date -u +%u)" == ${q(String(o.fullBackupDay))} ]]; then TYPE="full"; else TYPE="diff"; fi
fi
case "$TYPE" in
  full|diff|stanza) ;;
  *) echo "usage: $0 [full|diff|auto|stanza]" >&2; exit 2 ;;
esac

pgbr() {
  docker compose "\${COMPOSE[@]}" exec -T -u postgres postgres pgbackrest --stanza="$STANZA" "$@"
}

# Wait for PostgreSQL (its healthcheck) after a boot.
for _ in $(seq 1 60); do
  if docker compose "\${COMPOSE[@]}" exec -T postgres pg_isready -q -h /var/run/postgresql; then
    break
  fi
  sleep 5
done

# A new bucket needs its stanza before the first segment can be archived (idempotent for an existing one).
pgbr stanza-create
pgbr check
if [[ "$TYPE" == "stanza" ]]; then
  # At boot: a repository without any backup gets its first full one now, so recovery is possible from the start.
  if pgbr info --output=json | grep -qF '"backup":[]'; then
    pgbr --type=full backup
  fi
else
  pgbr --type="$TYPE" backup
fi
pgbr info
`;
}

export interface RestoreScriptOptions {
  /** PGDATA on the host (what the postgres container mounts). @default HOST_PGDATA */
  hostPgdata?: string;
  /** Compose project directory. @default "/opt/course-organizer" */
  appDir?: string;
  /** Services that use the database, stopped during the restore. */
  clients: string[];
}

/**
 * pg-restore.sh '<timestamp>' [--yes]: recover the VM's PostgreSQL to a point in time from the bucket.
 *  1. stops the app (every database client) and PostgreSQL;
 *  2. moves the current PGDATA aside (never deletes it: `<pgdata>.before-restore-<utc>`, removed by hand once
 *     the restore is verified);
 *  3. `pgbackrest restore --type=time --target=<timestamp> --target-action=promote` into an empty PGDATA, in a
 *     one-off postgres container (same image, config and cipher pass as archiving);
 *  4. starts PostgreSQL, which replays WAL up to the target and promotes to a new timeline (archiving continues
 *     on it), waits until it accepts connections, then starts the app again.
 * Timestamps as PostgreSQL reads them, with a zone: '2026-12-05 08:15:00+00'.
 */
export function restoreScript(o: RestoreScriptOptions): string {
  return `#!/usr/bin/env bash
${HEADER}
# Point-in-time restore of the VM's PostgreSQL from the backup bucket (docs/runbooks/restore.md).
set -euo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: $0 '<timestamp with zone, e.g. 2026-12-05 08:15:00+00>' [--yes]" >&2
  exit 2
fi
TARGET="$1"
CONFIRM="\${2:-}"
cd ${q(o.appDir ?? APP_DIR)}
COMPOSE=(--env-file ${q(ENV_FILE)} -f docker-compose.yml)
STANZA=${q(STANZA)}
PGDATA_HOST=${q(o.hostPgdata ?? HOST_PGDATA)}
CLIENTS=(${o.clients.map(q).join(" ")})

if ! date -u -d "$TARGET" >/dev/null 2>&1; then
  echo "target $TARGET is not a timestamp (expected e.g. '2026-12-05 08:15:00+00')" >&2
  exit 2
fi
if [[ "$CONFIRM" != "--yes" ]]; then
  echo "this stops the app and restores PostgreSQL to $TARGET; the current data is kept aside. Re-run with --yes." >&2
  exit 2
fi

pgbr() {
  docker compose "\${COMPOSE[@]}" run --rm --no-deps -T -u postgres --entrypoint pgbackrest postgres --stanza="$STANZA" "$@"
}

echo "backups in the repository:"
pgbr info

echo "stopping the app and PostgreSQL"
docker compose "\${COMPOSE[@]}" stop "\${CLIENTS[@]}"
docker compose "\${COMPOSE[@]}" stop postgres

ASIDE="$PGDATA_HOST.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
OWNER="$(stat -c %u:%g "$PGDATA_HOST")"
mv "$PGDATA_HOST" "$ASIDE"
install -d -m 0700 -o "\${OWNER%%:*}" -g "\${OWNER##*:}" "$PGDATA_HOST"
echo "current data moved to $ASIDE"

echo "restoring to $TARGET"
pgbr --type=time --target="$TARGET" --target-action=promote restore

docker compose "\${COMPOSE[@]}" up -d postgres
for _ in $(seq 1 120); do
  if docker compose "\${COMPOSE[@]}" exec -T postgres pg_isready -q -h /var/run/postgresql; then
    break
  fi
  sleep 2
done
# pg_isready answers during recovery too: wait for the promotion (end of recovery) before the app writes.
for _ in $(seq 1 300); do
  if [[ "$(docker compose "\${COMPOSE[@]}" exec -T -u postgres postgres psql -h /var/run/postgresql -d postgres -Atc 'select pg_is_in_recovery()')" == "f" ]]; then
    break
  fi
  sleep 2
done
if [[ "$(docker compose "\${COMPOSE[@]}" exec -T -u postgres postgres psql -h /var/run/postgresql -d postgres -Atc 'select pg_is_in_recovery()')" != "f" ]]; then
  echo "PostgreSQL did not finish recovery; the app stays stopped. Logs: docker compose logs postgres" >&2
  exit 1
fi
docker compose "\${COMPOSE[@]}" up -d "\${CLIENTS[@]}"
echo "restored to $TARGET; the data from before the restore is in $ASIDE"
`;
}

/**
 * The systemd units of the backups: at every boot the stanza check (and a first full backup into an empty
 * repository), a daily oneshot backup and its timer at the configured time (UTC).
 */
export function backupUnits(o: { backupStartTime: string; binDir: string }): { stanza: string; service: string; timer: string } {
  return {
    stanza: [
      "[Unit]",
      "Description=Course Organizer: pgBackRest stanza and first backup",
      "Requires=co-app.service",
      "After=co-app.service network-online.target",
      "",
      "[Service]",
      "Type=oneshot",
      "RemainAfterExit=yes",
      `ExecStart=${o.binDir}/pg-backup.sh stanza`,
      "TimeoutStartSec=21600",
      "",
      "[Install]",
      "WantedBy=multi-user.target",
      "",
    ].join("\n"),
    service: [
      "[Unit]",
      "Description=Course Organizer: PostgreSQL base backup to Cloud Storage (pgBackRest)",
      "Requires=co-app.service",
      "After=co-app.service",
      "",
      "[Service]",
      "Type=oneshot",
      `ExecStart=${o.binDir}/pg-backup.sh auto`,
      "TimeoutStartSec=21600",
      "",
    ].join("\n"),
    timer: [
      "[Unit]",
      "Description=Course Organizer: daily PostgreSQL base backup",
      "",
      "[Timer]",
      `OnCalendar=*-*-* ${o.backupStartTime}:00 UTC`,
      // A VM that was off at that hour backs up when it comes back.
      "Persistent=true",
      "RandomizedDelaySec=10min",
      "",
      "[Install]",
      "WantedBy=timers.target",
      "",
    ].join("\n"),
  };
}
