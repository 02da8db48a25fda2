#!/usr/bin/env bash
# Restore drill for Cloud SQL (stages 3-4; docs/runbooks/restore.md): clone an instance to a point in time, check
# the clone, and (with --swap) swap the app's database to the restored data. Nothing is deleted: the clone stays
# until you delete it, and a swapped-out database is kept under a new name.
#
#   scripts/cloudsql-restore-drill.sh --project P --instance co-db --time 2026-12-05T08:15:00Z \
#       [--database course_organizer] [--user course_organizer] [--password-secret co-db-course_organizer-password] \
#       [--clone co-db-restore-20261205t0815] [--swap]
#
# The checks and the swap connect to the instances' private IPs (psql, pg_dump, pg_restore): run it from a machine
# inside the VPC (an HTTP-pool VM at stage 3, a toolbox pod at stage 4). PGSSLMODE defaults to require (Cloud SQL
# is ENCRYPTED_ONLY). Tested offline with a stand-in gcloud and two real PostgreSQL servers (test/restore-drill.test.ts).
set -euo pipefail

PROJECT="" INSTANCE="" TIME="" DATABASE="course_organizer" DB_USER="course_organizer" SECRET="" CLONE="" SWAP=no
while [[ $# -gt 0 ]]; do
  case "$1" in
    --project) PROJECT="$2"; shift 2 ;;
    --instance) INSTANCE="$2"; shift 2 ;;
    --time) TIME="$2"; shift 2 ;;
    --database) DATABASE="$2"; shift 2 ;;
    --user) DB_USER="$2"; shift 2 ;;
    --password-secret) SECRET="$2"; shift 2 ;;
    --clone) CLONE="$2"; shift 2 ;;
    --swap) SWAP=yes; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
if [[ -z "$PROJECT" || -z "$INSTANCE" || -z "$TIME" ]]; then
  echo "usage: $0 --project P --instance NAME --time RFC3339 [--database DB] [--user U] [--password-secret ID] [--clone NAME] [--swap]" >&2
  exit 2
fi
if ! [[ "$TIME" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$ ]]; then
  echo "--time $TIME: expected RFC 3339 in UTC, e.g. 2026-12-05T08:15:00Z (what gcloud --point-in-time takes)" >&2
  exit 2
fi
STAMP="$(date -u -d "$TIME" +%Y%m%dt%H%M%S)"
CLONE="${CLONE:-$INSTANCE-restore-$STAMP}"
SECRET="${SECRET:-$INSTANCE-$DB_USER-password}"
export PGSSLMODE="${PGSSLMODE:-require}" PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-10}"
if [[ "$DATABASE" =~ [^a-z0-9_] ]]; then
  echo "--database $DATABASE: expected a lowercase PostgreSQL identifier" >&2
  exit 2
fi

echo "== 1. the source keeps point-in-time recovery"
PITR="$(gcloud sql instances describe "$INSTANCE" --project="$PROJECT" --format='value(settings.backupConfiguration.pointInTimeRecoveryEnabled)')"
if [[ "${PITR,,}" != "true" ]]; then
  echo "$INSTANCE has no point-in-time recovery enabled; restore from a backup instead (gcloud sql backups list)" >&2
  exit 1
fi

echo "== 2. clone $INSTANCE at $TIME into $CLONE (minutes: grows with the data)"
if gcloud sql instances describe "$CLONE" --project="$PROJECT" --format='value(name)' >/dev/null 2>&1; then
  echo "$CLONE exists already: reusing it (delete it or pass --clone NAME for a new one)"
else
  gcloud sql instances clone "$INSTANCE" "$CLONE" --point-in-time="$TIME" --project="$PROJECT"
fi

echo "== 3. check the clone"
STATE="$(gcloud sql instances describe "$CLONE" --project="$PROJECT" --format='value(state)')"
if [[ "$STATE" != "RUNNABLE" ]]; then
  echo "$CLONE is $STATE, not RUNNABLE" >&2
  exit 1
fi
private_ip() {
  gcloud sql instances describe "$1" --project="$PROJECT" --format='value(ipAddresses[0].ipAddress)'
}
CLONE_IP="$(private_ip "$CLONE")"
SOURCE_IP="$(private_ip "$INSTANCE")"
if ! gcloud sql databases list --instance="$CLONE" --project="$PROJECT" --format='value(name)' | grep -qx "$DATABASE"; then
  echo "$CLONE has no database $DATABASE" >&2
  exit 1
fi
PGPASSWORD="$(gcloud secrets versions access latest --secret="$SECRET" --project="$PROJECT")"
export PGPASSWORD PGUSER="$DB_USER"
q() { psql -h "$1" -d "$2" -v ON_ERROR_STOP=1 -Atq -c "$3"; }
MIGRATIONS="$(q "$CLONE_IP" "$DATABASE" "select count(*) from django_migrations")"
LAST="$(q "$CLONE_IP" "$DATABASE" "select coalesce(max(applied)::text, 'none') from django_migrations")"
echo "clone $CLONE ($CLONE_IP): $MIGRATIONS Django migrations applied, the last at $LAST"
TABLES="$(q "$CLONE_IP" "$DATABASE" "select count(*) from pg_stat_user_tables")"
echo "clone $CLONE: $TABLES tables"
if [[ "$MIGRATIONS" -eq 0 ]]; then
  echo "$CLONE holds no applied migrations: not the app's data" >&2
  exit 1
fi

if [[ "$SWAP" != "yes" ]]; then
  echo "== drill done: $CLONE is the database as it was at $TIME. Swap with --swap, or copy single tables back"
  echo "   (pg_dump -h $CLONE_IP -t <table> $DATABASE | psql -h $SOURCE_IP $DATABASE). Delete the clone when done:"
  echo "   gcloud sql instances delete $CLONE --project=$PROJECT"
  exit 0
fi

echo "== 4. swap: the restored data becomes $DATABASE on $INSTANCE ($SOURCE_IP); the current one is kept"
RESTORED="${DATABASE}_restored_$STAMP"
KEPT="${DATABASE}_before_restore_$(date -u +%Y%m%dt%H%M%S)"
q "$SOURCE_IP" postgres "create database $RESTORED"
DUMP="$(mktemp)"
trap 'rm -f "$DUMP"' EXIT
pg_dump -h "$CLONE_IP" -d "$DATABASE" -Fc --no-owner -f "$DUMP"
pg_restore -h "$SOURCE_IP" -d "$RESTORED" --no-owner --exit-on-error "$DUMP"
# The app's PgBouncers reconnect on their own: refuse new connections, end the open ones, rename both ways.
q "$SOURCE_IP" postgres "alter database $DATABASE with allow_connections false"
q "$SOURCE_IP" postgres "select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = '$DATABASE' and pid <> pg_backend_pid()" >/dev/null
q "$SOURCE_IP" postgres "alter database $DATABASE rename to $KEPT"
q "$SOURCE_IP" postgres "alter database $RESTORED rename to $DATABASE"
q "$SOURCE_IP" postgres "alter database $KEPT with allow_connections true"
echo "swapped: $DATABASE on $INSTANCE now holds the data of $TIME; the data from before is in $KEPT"
echo "delete the clone when done: gcloud sql instances delete $CLONE --project=$PROJECT"
