#!/usr/bin/env bash
# Publishes Django's collectstatic output to the public static bucket as the release identity (the stack output
# `staticPublisher`, components/media.ts). No runtime identity (VM, HTTP pool, GKE api) can write that bucket:
# every browser loads the app's JavaScript from it. Run by the release job after `pulumi up`, for each new
# backend image, by an identity holding roles/iam.serviceAccountTokenCreator on the publisher.
#
#   scripts/publish-static.sh <backend-image> <static-bucket> <publisher-email>
#
# collectstatic runs inside the backend image with plain file storage into a local directory (no cloud
# credentials in the container); `gcloud storage rsync` then uploads it under static/ (the load balancer's
# /static/* path is the object name). Files are content-hashed by Django's manifest storage, so old pages keep
# finding their files: nothing is deleted (no --delete-unmatched-destination-objects).
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 <backend-image> <static-bucket> <publisher-email>" >&2
  exit 2
fi
IMAGE="$1"
BUCKET="$2"
PUBLISHER="$3"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
chmod 0777 "$out"

docker run --rm --network none \
  -e WORKER_TYPE=migrate \
  -e STATIC_ROOT=/out \
  -e STATICFILES_STORAGE=django.contrib.staticfiles.storage.ManifestStaticFilesStorage \
  -v "$out:/out" \
  "$IMAGE" python manage.py collectstatic --noinput

gcloud storage rsync --recursive \
  --cache-control="public, max-age=2592000, immutable" \
  --impersonate-service-account="$PUBLISHER" \
  "$out" "gs://$BUCKET/static"
