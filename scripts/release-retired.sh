#!/usr/bin/env bash
# Final archive and release of what a stage move leaves behind (docs/runbooks/release-retired.md): after 3 -> 4
# the stage 1-2 VM, its data disk (PostgreSQL, Redis, media, monitoring data: personal data), its daily and
# final snapshots, its static IP and the pgBackRest backup bucket are out of the stack but still in GCP
# (retainOnDelete). This keeps exactly one archive with an expiry date and releases the rest, so no personal
# data stays around unmanaged.
#
#   scripts/release-retired.sh --project P --prefix co --zone us-central1-b --region us-central1 \
#       [--archive-days 365] [--confirm-migrated] [--yes]
#   scripts/release-retired.sh --project P --prefix co --expire [--yes]    # delete archives past their expiry
#
# Without --yes it prints every command and changes nothing. Tested offline with a stand-in gcloud
# (test/release-retired.test.ts).
set -euo pipefail

PROJECT="" PREFIX="" ZONE="" REGION="" DAYS=365 MIGRATED=no YES=no EXPIRE=no
while [[ $# -gt 0 ]]; do
  case "$1" in
    --project) PROJECT="$2"; shift 2 ;;
    --prefix) PREFIX="$2"; shift 2 ;;
    --zone) ZONE="$2"; shift 2 ;;
    --region) REGION="$2"; shift 2 ;;
    --archive-days) DAYS="$2"; shift 2 ;;
    --confirm-migrated) MIGRATED=yes; shift ;;
    --expire) EXPIRE=yes; shift ;;
    --yes) YES=yes; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
if [[ -z "$PROJECT" || -z "$PREFIX" ]]; then
  echo "usage: $0 --project P --prefix co --zone Z --region R [--archive-days N] [--confirm-migrated] [--yes] | --expire [--yes]" >&2
  exit 2
fi
TODAY="${TODAY:-$(date -u +%Y-%m-%d)}"

# Run a changing command, or only print it (dry run).
act() {
  echo "+ $*"
  if [[ "$YES" == "yes" ]]; then "$@"; fi
}

if [[ "$EXPIRE" == "yes" ]]; then
  echo "== archives of $PREFIX past their expiry ($TODAY)"
  while IFS=$'\t' read -r name expires; do
    [[ -z "$name" ]] && continue
    # Labels hold dates as yyyy-mm-dd; string order is date order.
    if [[ "$expires" < "$TODAY" || "$expires" == "$TODAY" ]]; then
      act gcloud compute snapshots delete "$name" --project="$PROJECT" --quiet
    else
      echo "keep $name until $expires"
    fi
  done < <(gcloud compute snapshots list --project="$PROJECT" --filter="labels.purpose=final-archive AND labels.prefix=$PREFIX" --format='value(name,labels.expires)')
  BUCKET="$PROJECT-$PREFIX-backups"
  if BUCKET_EXPIRES="$(gcloud storage buckets describe "gs://$BUCKET" --project="$PROJECT" --format='value(labels.expires)' 2>/dev/null)"; then
    if [[ -n "$BUCKET_EXPIRES" ]] && [[ "$BUCKET_EXPIRES" < "$TODAY" || "$BUCKET_EXPIRES" == "$TODAY" ]]; then
      act gcloud storage rm --recursive "gs://$BUCKET" --project="$PROJECT"
    else
      echo "keep gs://$BUCKET until ${BUCKET_EXPIRES:-(no expiry label: archive it first)}"
    fi
  fi
  exit 0
fi

if [[ -z "$ZONE" || -z "$REGION" ]]; then
  echo "--zone and --region are needed (the VM's zone and region)" >&2
  exit 2
fi
if ! [[ "$DAYS" =~ ^[0-9]+$ ]] || (( DAYS < 30 || DAYS > 3650 )); then
  echo "--archive-days $DAYS: expected 30 to 3650 days" >&2
  exit 2
fi
if [[ "$MIGRATED" != "yes" ]]; then
  echo "refusing: pass --confirm-migrated once the data is in Cloud SQL and Cloud Storage (docs/runbooks/2-to-3.md, 1-to-2.md)" >&2
  exit 2
fi

VM="$PREFIX-vm" DISK="$PREFIX-data" IPNAME="$PREFIX-vm-ip" POLICY="$PREFIX-data-daily"
BUCKET="$PROJECT-$PREFIX-backups"
EXPIRES="$(date -u -d "$TODAY + $DAYS days" +%Y-%m-%d)"
ARCHIVE="$PREFIX-data-archive-$(date -u -d "$TODAY" +%Y%m%d)"

echo "== 1. one archive of the data disk (ARCHIVE snapshot, $REGION), expiring $EXPIRES"
if gcloud compute disks describe "$DISK" --zone="$ZONE" --project="$PROJECT" --format='value(name)' >/dev/null 2>&1; then
  if ! gcloud compute snapshots describe "$ARCHIVE" --project="$PROJECT" --format='value(name)' >/dev/null 2>&1; then
    act gcloud compute snapshots create "$ARCHIVE" --project="$PROJECT" --source-disk="$DISK" --source-disk-zone="$ZONE" \
      --snapshot-type=ARCHIVE --storage-location="$REGION" \
      --labels="purpose=final-archive,prefix=$PREFIX,expires=$EXPIRES" \
      --description="Final archive of $DISK (retired VM data); delete after $EXPIRES: $0 --expire"
  else
    echo "$ARCHIVE exists already"
  fi
else
  echo "$DISK is gone already; archives: gcloud compute snapshots list --filter=labels.purpose=final-archive"
fi

echo "== 2. the backup bucket expires its objects after the same time; the VM no longer writes to it"
if gcloud storage buckets describe "gs://$BUCKET" --project="$PROJECT" --format='value(name)' >/dev/null 2>&1; then
  RULES="$(mktemp)"
  trap 'rm -f "$RULES"' EXIT
  printf '{"rule":[{"action":{"type":"Delete"},"condition":{"age":%d}},{"action":{"type":"Delete"},"condition":{"daysSinceNoncurrentTime":1,"isLive":false}}]}\n' "$DAYS" > "$RULES"
  act gcloud storage buckets update "gs://$BUCKET" --project="$PROJECT" --lifecycle-file="$RULES" \
    --update-labels="purpose=final-archive,expires=$EXPIRES"
  act gcloud storage buckets remove-iam-policy-binding "gs://$BUCKET" --project="$PROJECT" \
    --member="serviceAccount:$PREFIX-vm@$PROJECT.iam.gserviceaccount.com" --role=roles/storage.objectAdmin
else
  echo "gs://$BUCKET does not exist"
fi

echo "== 3. release the VM, its disk, its snapshots and its IP"
if gcloud compute instances describe "$VM" --zone="$ZONE" --project="$PROJECT" --format='value(name)' >/dev/null 2>&1; then
  act gcloud compute instances update "$VM" --zone="$ZONE" --project="$PROJECT" --no-deletion-protection
  act gcloud compute instances delete "$VM" --zone="$ZONE" --project="$PROJECT" --keep-disks=data --quiet
fi
if gcloud compute disks describe "$DISK" --zone="$ZONE" --project="$PROJECT" --format='value(name)' >/dev/null 2>&1; then
  if [[ "$YES" == "yes" ]] && ! gcloud compute snapshots describe "$ARCHIVE" --project="$PROJECT" --format='value(status)' | grep -qx READY; then
    echo "refusing to delete $DISK: archive $ARCHIVE is not READY yet; re-run when it is" >&2
    exit 1
  fi
  act gcloud compute disks delete "$DISK" --zone="$ZONE" --project="$PROJECT" --quiet
fi
# Daily and final snapshots of the disk (kept by the schedule's KEEP_AUTO_SNAPSHOTS): the archive replaces them.
while read -r snap; do
  [[ -z "$snap" || "$snap" == "$ARCHIVE" ]] && continue
  act gcloud compute snapshots delete "$snap" --project="$PROJECT" --quiet
done < <(gcloud compute snapshots list --project="$PROJECT" --filter="sourceDisk~/disks/$DISK\$ AND -labels.purpose=final-archive" --format='value(name)')
if gcloud compute resource-policies describe "$POLICY" --region="$REGION" --project="$PROJECT" --format='value(name)' >/dev/null 2>&1; then
  act gcloud compute resource-policies delete "$POLICY" --region="$REGION" --project="$PROJECT" --quiet
fi
if gcloud compute addresses describe "$IPNAME" --region="$REGION" --project="$PROJECT" --format='value(name)' >/dev/null 2>&1; then
  act gcloud compute addresses delete "$IPNAME" --region="$REGION" --project="$PROJECT" --quiet
fi
echo "== done: kept $ARCHIVE and gs://$BUCKET until $EXPIRES; run '$0 --project $PROJECT --prefix $PREFIX --expire' after that date"
