#!/usr/bin/env bash
# Stage 2 -> 3, phase A (docs/runbooks/2-to-3.md): demote the existing Cloud SQL instance that the migration job
# writes into, before the job starts. Database Migration Service copies into an existing instance only once it is
# demoted to a replica of the source (REST migrationJobs.demoteDestination; gcloud's demote-destination has no
# --async flag, so it returns when the operation is done). The provider has no resource for it, hence this step.
#
# usage: scripts/dms-demote-destination.sh <migration-job-id> <region> [project]
#   e.g. scripts/dms-demote-destination.sh co-db-migration us-central1 my-project
# Then: pulumi config set --path course-organizer:database.migrationState RUNNING && pulumi up
set -euo pipefail

job="${1:?usage: $0 <migration-job-id> <region> [project]}"
region="${2:?usage: $0 <migration-job-id> <region> [project]}"
extra=()
if [[ -n "${3:-}" ]]; then extra=(--project "$3"); fi

state="$(gcloud database-migration migration-jobs describe "$job" --region "$region" "${extra[@]}" --format='value(state)')"
if [[ "$state" != "NOT_STARTED" ]]; then
  # A started job already has its destination demoted (or is past it): demoting again would fail or undo nothing.
  echo "migration job $job is $state, not NOT_STARTED: nothing to demote (see docs/runbooks/2-to-3.md)" >&2
  exit 1
fi
gcloud database-migration migration-jobs demote-destination "$job" --region "$region" "${extra[@]}"
echo "destination of $job demoted; next: pulumi config set --path course-organizer:database.migrationState RUNNING && pulumi up"
