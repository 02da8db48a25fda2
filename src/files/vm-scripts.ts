/**
 * Bash scripts and systemd units of the single VM (stages 1 and 2), as pure functions of their options. Each is
 * written by cloud-init (src/files/cloud-init.ts) and checked by `shellcheck -S style` in test/vm-files.test.ts.
 *
 * Boot order, every boot (systemd, so the app survives reboots and stop/start resizes):
 *   co-data-disk.service  mount-data-disk.sh: format the data disk only when it has no filesystem, mount it
 *   co-secrets.service    fetch-secrets.sh: Secret Manager -> /run/course-organizer (tmpfs, root only)
 *   co-app.service        registry login, `docker compose up -d` (RequiresMountsFor=/mnt/data)
 *   co-migrate.service    `manage.py migrate`, then the seed's stage-2 indexes (src/files/db-indexes.ts)
 *   co-media-copy.service once: data-disk media -> Cloud Storage (stage 2), resumable, done-marker
 *   co-cert.timer         stage 1 only: certbot renewal (webroot) and nginx reload
 *   co-config-sync.timer  re-applies changed user-data (cloud-init runs write_files only once per instance)
 */
import { shellQuote } from "./shell";

/** Where the app's files live on the VM (compose file, nginx.conf, redis.conf, scripts). */
export const APP_DIR = "/opt/course-organizer";
export const BIN_DIR = `${APP_DIR}/bin`;
/** The data disk's mount point: PostgreSQL, Redis, Prometheus, Grafana, media and certificates live here. */
export const DATA_MOUNT = "/mnt/data";
/** tmpfs (never on disk): the env file compose reads and the secret files; root only. */
export const RUNTIME_DIR = "/run/course-organizer";
export const ENV_FILE = `${RUNTIME_DIR}/app.env`;
/** Written by fetch-secrets.sh, read by Redis (the aclfile src/files/redis.ts names, mounted at /run/secrets). */
export const REDIS_ACL_FILE = `${RUNTIME_DIR}/secrets/redis-users.acl`;

const HEADER = [
  "# Rendered by src/files/vm-scripts.ts. Runs as root under systemd on the Course Organizer VM.",
  "# Ubuntu's GCE images install gcloud as a snap (/snap/bin), which is not on systemd's default PATH.",
  'PATH="$PATH:/snap/bin"',
].join("\n");

/** Option values are plain names: quoting only guards the rendering. */
const q = shellQuote;

export interface MountDataDiskOptions {
  /** The disk's device name on the instance: GCE links it as /dev/disk/by-id/google-<deviceName>. */
  deviceName: string;
  /** @default "/mnt/data" */
  mountPoint?: string;
  /** Directories created on the disk (relative to the mount point) with their owner "uid:gid". */
  directories: { path: string; owner: string }[];
  /** The device path. Tests pass an image file. @default "/dev/disk/by-id/google-<deviceName>" */
  devicePath?: string;
  /** The fstab the mount is recorded in. Tests pass a temp file. @default "/etc/fstab" */
  fstab?: string;
}

/**
 * Format the data disk only when it carries no filesystem (a new disk; a disk restored from a snapshot keeps its
 * data), mount it by its stable by-id path, and record it in fstab with `nofail` so a missing disk never stops
 * the VM from booting (the app then does not start: co-app.service has RequiresMountsFor=/mnt/data).
 * Follows GCE's "Format and mount a non-boot disk" guide: ext4, `-m 0`, `discard`.
 */
export function mountDataDiskScript(o: MountDataDiskOptions): string {
  const mount = o.mountPoint ?? DATA_MOUNT;
  const dev = o.devicePath ?? `/dev/disk/by-id/google-${o.deviceName}`;
  const dirs = o.directories.map((d) => `install -d -o ${q(d.owner.split(":")[0]!)} -g ${q(d.owner.split(":")[1]!)} -m 0750 "$MOUNT"/${q(d.path)}`);
  return `#!/usr/bin/env bash
${HEADER}
# Format the data disk only if it has no filesystem, then mount it (idempotent: runs at every boot).
set -euo pipefail

DEVICE=${q(dev)}
MOUNT=${q(mount)}
FSTAB=${q(o.fstab ?? "/etc/fstab")}

# The by-id link appears once udev has seen the disk; wait up to a minute for it.
for _ in $(seq 1 30); do
  [[ -e "$DEVICE" ]] && break
  sleep 2
done
if [[ ! -e "$DEVICE" ]]; then
  echo "data disk $DEVICE is not attached; refusing to continue (the app needs it)" >&2
  exit 1
fi

# blkid prints the filesystem type, or nothing for a blank disk. Only a blank disk is formatted: a disk
# restored from a snapshot, or the existing one after a resize, keeps its data.
FSTYPE="$(blkid -o value -s TYPE "$DEVICE" || true)"
if [[ -z "$FSTYPE" ]]; then
  echo "data disk $DEVICE has no filesystem: formatting it as ext4"
  mkfs.ext4 -m 0 -E lazy_itable_init=0,lazy_journal_init=0,discard -L co-data "$DEVICE"
elif [[ "$FSTYPE" != "ext4" ]]; then
  echo "data disk $DEVICE holds a $FSTYPE filesystem, expected ext4; not touching it" >&2
  exit 1
fi

install -d -m 0755 "$MOUNT"
# nofail: a missing disk must not drop the VM into emergency mode (no SSH to repair it).
if ! grep -qF "$DEVICE $MOUNT " "$FSTAB"; then
  echo "$DEVICE $MOUNT ext4 discard,defaults,nofail 0 2" >> "$FSTAB"
  # systemd generates mount units from fstab: reload so RequiresMountsFor=$MOUNT finds the new one.
  if [[ -d /run/systemd/system ]]; then
    systemctl daemon-reload
  fi
fi
if ! mountpoint -q "$MOUNT"; then
  mount -T "$FSTAB" "$MOUNT"
fi
# A disk grown in GCP (size is an in-place update) needs its filesystem grown too; a no-op otherwise.
resize2fs "$DEVICE" >/dev/null 2>&1 || true

${dirs.join("\n")}
`;
}

export interface SecretRef {
  /** Variable name in the env file compose reads (e.g. POSTGRES_PASSWORD). */
  env: string;
  /** Secret Manager secret id (`<prefix>-<role>`). */
  secretId: string;
}

export interface FetchSecretsOptions {
  project: string;
  secrets: SecretRef[];
  /** The env variable whose value becomes the Redis ACL (src/files/redis.ts reads users from an aclfile). */
  redisPasswordEnv?: string;
  /** uid:gid of the Redis process in its container (the redis alpine image: 999:1000) that must read the ACL. */
  redisOwner?: string;
  /** Where the env file and secret files go (tmpfs). Tests pass a temp dir. @default "/run/course-organizer" */
  runtimeDir?: string;
  /** Seconds between attempts while a new grant propagates. @default 10 */
  retryDelaySeconds?: number;
}

/**
 * Read every secret through the VM's service account (`gcloud secrets versions access latest`, Ubuntu's GCE
 * images ship gcloud) into files under /run (tmpfs: never written to a disk, gone at shutdown), mode 0600, root:
 * the env file compose interpolates, and Redis's ACL file. Retries: a grant made by the same `pulumi up` can take
 * a minute to reach Secret Manager. Also records the VM's public and internal IP from the metadata server, which
 * the Videobridge advertises (never baked into the rendered files: the address is only known at boot).
 */
export function fetchSecretsScript(o: FetchSecretsOptions): string {
  const lines = o.secrets.map((s) => `fetch ${q(s.env)} ${q(s.secretId)}`);
  const redis = o.redisPasswordEnv
    ? `
# Redis users (src/files/redis.ts: aclfile). Only the SHA-256 of the password is written ("#<hex>").
REDIS_HASH="$(printf '%s' "\${VALUES[${o.redisPasswordEnv}]}" | sha256sum | cut -d' ' -f1)"
install -m 0600 -o ${(o.redisOwner ?? "999:1000").split(":")[0]} -g ${(o.redisOwner ?? "999:1000").split(":")[1]} /dev/null "$SECRETS_DIR/redis-users.acl.tmp"
printf 'user default on #%s ~* &* +@all\\n' "$REDIS_HASH" > "$SECRETS_DIR/redis-users.acl.tmp"
mv "$SECRETS_DIR/redis-users.acl.tmp" "$SECRETS_DIR/redis-users.acl"
`
    : "";
  return `#!/usr/bin/env bash
${HEADER}
# Secret Manager -> ${RUNTIME_DIR} (tmpfs), readable by root only. No secret is ever in metadata or on disk.
set -euo pipefail
umask 077

PROJECT=${q(o.project)}
RUNTIME_DIR=${q(o.runtimeDir ?? RUNTIME_DIR)}
SECRETS_DIR="$RUNTIME_DIR/secrets"
ENV_FILE="$RUNTIME_DIR/app.env"
DELAY=${o.retryDelaySeconds ?? 10}
METADATA=http://metadata.google.internal/computeMetadata/v1
install -d -m 0700 "$RUNTIME_DIR" "$SECRETS_DIR"

declare -A VALUES=()

fetch() {
  local env="$1" id="$2" value="" attempt
  for attempt in $(seq 1 30); do
    if value="$(gcloud secrets versions access latest --secret="$id" --project="$PROJECT" --quiet 2>/dev/null)"; then
      VALUES["$env"]="$value"
      return 0
    fi
    echo "secret $id not readable yet (attempt $attempt/30); retrying in $DELAY s" >&2
    sleep "$DELAY"
  done
  echo "secret $id could not be read through the VM's service account" >&2
  return 1
}

metadata() {
  curl -fsS --retry 10 --retry-connrefused -H 'Metadata-Flavor: Google' "$METADATA/$1"
}

${lines.join("\n")}

# The Videobridge advertises the VM's public address (a 1:1 NAT: the VM itself only sees its internal one).
VM_PUBLIC_IP="$(metadata instance/network-interfaces/0/access-configs/0/external-ip)"
VM_INTERNAL_IP="$(metadata instance/network-interfaces/0/ip)"

TMP="$(mktemp "$RUNTIME_DIR/app.env.XXXXXX")"
{
  for env in "\${!VALUES[@]}"; do
    printf '%s=%s\\n' "$env" "\${VALUES[$env]}"
  done
  printf 'VM_PUBLIC_IP=%s\\n' "$VM_PUBLIC_IP"
  printf 'VM_INTERNAL_IP=%s\\n' "$VM_INTERNAL_IP"
} > "$TMP"
mv "$TMP" "$ENV_FILE"
${redis}
echo "secrets written to $ENV_FILE (\${#VALUES[@]} values)"
`;
}

export interface RegistryLoginOptions {
  /** Artifact Registry hosts to log in to (e.g. us-central1-docker.pkg.dev). */
  hosts: string[];
}

/** Log docker in to Artifact Registry with a short-lived token of the VM's service account (valid 1 hour: pulls happen at start). */
export function registryLoginScript(o: RegistryLoginOptions): string {
  return `#!/usr/bin/env bash
${HEADER}
# docker login to Artifact Registry with the service account's access token (artifactregistry.reader on the repository).
set -euo pipefail

HOSTS=(${o.hosts.map(q).join(" ")})
for host in "\${HOSTS[@]}"; do
  gcloud auth print-access-token --quiet | docker login -u oauth2accesstoken --password-stdin "https://$host"
done
`;
}

export interface MigrateOptions {
  /** Compose project directory. @default "/opt/course-organizer" */
  appDir?: string;
  /** Apply the seed's stage-2 indexes after the migrations (config vm.databaseIndexes). */
  databaseIndexes: boolean;
  /** Path of src/files/db-indexes.ts' applyIndexesScript() on the VM. */
  indexesScript: string;
  /** PostgreSQL role and database the app uses. */
  dbUser: string;
  dbName: string;
  /**
   * Run collectstatic into the data disk's static directory (nginx serves it). false once static files live in
   * the public bucket (stage 2): only the release identity writes there (scripts/publish-static.sh), never the VM.
   * @default true
   */
  collectstatic?: boolean;
}

/**
 * Django's migrations, then (config vm.databaseIndexes) the seed's indexes. The index script runs inside the
 * postgres container through its Unix socket (trusted locally by the image, so no password is needed) after
 * `manage.py migrate`, so the tables it indexes exist; tables that do not are skipped by the script itself.
 */
export function migrateScript(o: MigrateOptions): string {
  const dir = o.appDir ?? APP_DIR;
  const collect =
    o.collectstatic === false
      ? "# Static files are published to the static bucket by the release identity (scripts/publish-static.sh).\n"
      : 'docker compose "${COMPOSE[@]}" run --rm --no-deps -e WORKER_TYPE=migrate backend python manage.py collectstatic --noinput\n';
  const indexes = o.databaseIndexes
    ? `
# The seed's stage-2 indexes (CREATE INDEX CONCURRENTLY IF NOT EXISTS, then ANALYZE), after the app's migrations.
docker compose "\${COMPOSE[@]}" exec -T \\
  -e PGHOST=/var/run/postgresql -e PGUSER=${q(o.dbUser)} -e PGDATABASE=${q(o.dbName)} \\
  postgres bash -s < ${q(o.indexesScript)}
`
    : "";
  return `#!/usr/bin/env bash
${HEADER}
# Django migrations, then the database indexes. Idempotent: runs after every start of the app.
set -euo pipefail
cd ${q(dir)}
COMPOSE=(--env-file ${q(ENV_FILE)} -f docker-compose.yml)

# Wait for PostgreSQL (its healthcheck) before migrating.
for _ in $(seq 1 60); do
  if docker compose "\${COMPOSE[@]}" exec -T postgres pg_isready -q -h /var/run/postgresql; then
    break
  fi
  sleep 5
done

docker compose "\${COMPOSE[@]}" run --rm --no-deps -e WORKER_TYPE=migrate backend python manage.py migrate --noinput
${collect}${indexes}`;
}

export interface CopyMediaOptions {
  /** Media directory on the data disk. */
  source: string;
  /** Destination bucket name. */
  bucket: string;
  /** Object prefix in the bucket (django-storages' `location`). @default "media" */
  prefix?: string;
  /** Marker written once the copy is complete. */
  doneMarker: string;
}

/**
 * Stage 1 -> 2: copy the media already on the data disk into the bucket, once. `gcloud storage rsync` compares
 * by name, size and checksum, so a run interrupted by a reboot resumes where it stopped; the done-marker (on the
 * data disk, named after the bucket) makes later boots skip it. Files are never deleted on either side.
 */
export function copyMediaScript(o: CopyMediaOptions): string {
  const prefix = o.prefix ?? "media";
  return `#!/usr/bin/env bash
${HEADER}
# Copy the data disk's media into Cloud Storage once (seed "Media Storage Scaling", phase 2: sync existing media).
set -euo pipefail

SOURCE=${q(o.source)}
DEST=${q(`gs://${o.bucket}/${prefix}`)}
MARKER=${q(o.doneMarker)}

if [[ -f "$MARKER" ]]; then
  echo "media already copied to $DEST ($(cat "$MARKER")); nothing to do"
  exit 0
fi
if [[ ! -d "$SOURCE" ]] || [[ -z "$(ls -A "$SOURCE")" ]]; then
  echo "no media in $SOURCE; nothing to copy"
else
  # Resumable: objects already in the bucket with the same checksum are skipped. No --delete-unmatched-destination-objects.
  gcloud storage rsync --recursive --quiet "$SOURCE" "$DEST"
fi
date -u +%Y-%m-%dT%H:%M:%SZ > "$MARKER.tmp"
mv "$MARKER.tmp" "$MARKER"
echo "media copied to $DEST"
`;
}

export interface CertificateOptions {
  /** Names on the certificate: the domain first (it names the certificate directory), then the Jitsi host. */
  domains: string[];
  /** Let's Encrypt account e-mail (expiry notices). */
  email: string;
  /** Host directory mounted at /etc/letsencrypt in the nginx and certbot containers. */
  confDir: string;
  /** Host directory of the ACME webroot (nginx's acmeRoot). */
  webrootDir: string;
  /** Compose project directory. @default "/opt/course-organizer" */
  appDir?: string;
}

/**
 * Stage 1 certificates. nginx refuses to start without its certificate files, so before the first start a
 * self-signed placeholder is written (`placeholder` mode); once nginx answers on port 80, certbot (webroot, the
 * HTTP-01 challenge) replaces it and nginx reloads (`issue` mode, later `renew` from a timer). A failed issue
 * (DNS not pointing at the VM yet) leaves the placeholder and is retried by the timer.
 */
export function certificateScript(o: CertificateOptions): string {
  const dir = o.appDir ?? APP_DIR;
  const primary = o.domains[0]!;
  return `#!/usr/bin/env bash
${HEADER}
# Let's Encrypt certificate for nginx: placeholder | issue | renew.
set -euo pipefail
cd ${q(dir)}
COMPOSE=(--env-file ${q(ENV_FILE)} -f docker-compose.yml)
CONF=${q(o.confDir)}
WEBROOT=${q(o.webrootDir)}
LIVE="$CONF/live/"${q(primary)}
MODE="\${1:-renew}"

is_placeholder() {
  [[ -f "$LIVE/.placeholder" ]]
}

certbot() {
  docker compose "\${COMPOSE[@]}" run --rm --no-deps certbot "$@"
}

case "$MODE" in
  placeholder)
    if [[ ! -f "$LIVE/fullchain.pem" ]]; then
      install -d -m 0755 "$LIVE" "$WEBROOT"
      openssl req -x509 -nodes -newkey rsa:2048 -days 7 -subj "/CN="${q(primary)} \\
        -keyout "$LIVE/privkey.pem" -out "$LIVE/fullchain.pem"
      touch "$LIVE/.placeholder"
      echo "wrote a self-signed placeholder certificate to $LIVE"
    fi
    ;;
  issue|renew)
    if [[ "$MODE" == "issue" ]] || is_placeholder; then
      if ! is_placeholder; then
        echo "certificate already issued"
        exit 0
      fi
      # certbot refuses to write into a live/ directory it did not create; nginx keeps the loaded placeholder.
      mv "$LIVE" "$LIVE.placeholder"
      if certbot certonly --webroot -w /var/www/certbot --non-interactive --agree-tos --no-eff-email \\
          -m ${q(o.email)} --cert-name ${q(primary)} ${o.domains.map((d) => `-d ${q(d)}`).join(" ")}; then
        rm -rf "$LIVE.placeholder"
      else
        echo "certificate request failed (does DNS point at this VM?); keeping the placeholder, the timer retries" >&2
        rm -rf "$LIVE"
        mv "$LIVE.placeholder" "$LIVE"
        exit 0
      fi
    else
      certbot renew --webroot -w /var/www/certbot --quiet
    fi
    docker compose "\${COMPOSE[@]}" exec -T nginx nginx -s reload
    ;;
  *)
    echo "usage: $0 placeholder|issue|renew" >&2
    exit 2
    ;;
esac
`;
}

/** Our own copy of the user-data the last first-boot run applied (runcmd writes it: src/files/vm-bundle.ts). */
export const APPLIED_USER_DATA = "/var/lib/course-organizer/applied-user-data";

export interface ConfigSyncOptions {
  /** Copy of the user-data cloud-init last applied with write_files. @default APPLIED_USER_DATA */
  appliedCopy?: string;
  /** cloud-init's instance directory (user-data.txt, boot-finished). Tests pass a temp dir. @default "/var/lib/cloud/instance" */
  cloudInstanceDir?: string;
  /** Where the one-reset-per-version marker lives. @default "/var/lib/course-organizer" */
  stateDir?: string;
}

/**
 * cloud-init applies user-data (write_files, runcmd) once per instance, so a later metadata update (a stage move
 * changes the compose file) would otherwise never reach the VM. This script compares the user-data in the
 * metadata server with the copy the first-boot run recorded (APPLIED_USER_DATA, written by runcmd); when they
 * differ it clears cloud-init's state and reboots, so the new user-data is applied as on a first boot (every step
 * is idempotent; SSH host keys are kept: `ssh_deletekeys: false`).
 *
 * Not cloud-init's own /var/lib/cloud/instance/user-data.txt: cloud-init re-reads the metadata and rewrites that
 * file on every boot (Init.update) while running write_files only for a new instance, so after a stop/start
 * (a stage move that resizes the VM sets the new metadata, then stops and starts it) it already equals the new
 * user-data that was never applied. boot-finished is rewritten at the end of every boot: until then, wait.
 */
export function configSyncScript(o: ConfigSyncOptions = {}): string {
  const instance = o.cloudInstanceDir ?? "/var/lib/cloud/instance";
  return `#!/usr/bin/env bash
${HEADER}
# Re-apply user-data when the instance's metadata changed since it was last applied.
set -euo pipefail

APPLIED=${q(o.appliedCopy ?? APPLIED_USER_DATA)}
CLOUD_INSTANCE=${q(instance)}
STATE=${q(o.stateDir ?? "/var/lib/course-organizer")}
if [[ ! -f "$CLOUD_INSTANCE/boot-finished" ]]; then
  exit 0 # cloud-init is still running this boot; the timer checks again
fi
# A VM first booted before the copy existed: cloud-init's copy is the best record of what it applied.
if [[ ! -f "$APPLIED" ]]; then
  APPLIED="$CLOUD_INSTANCE/user-data.txt"
fi
if [[ ! -f "$APPLIED" ]]; then
  exit 0
fi
CURRENT="$(mktemp)"
trap 'rm -f "$CURRENT"' EXIT
curl -fsS --retry 5 -H 'Metadata-Flavor: Google' \\
  http://metadata.google.internal/computeMetadata/v1/instance/attributes/user-data -o "$CURRENT"
if cmp -s "$CURRENT" "$APPLIED"; then
  exit 0
fi
# One reset per user-data version: if cloud-init applied it and the copies still differ, never loop on reboots.
HASH="$(sha256sum "$CURRENT" | cut -d' ' -f1)"
install -d -m 0700 "$STATE"
if [[ -f "$STATE/reset-for" ]] && [[ "$(cat "$STATE/reset-for")" == "$HASH" ]]; then
  echo "user-data $HASH was re-applied already but still differs from the applied copy; not rebooting again" >&2
  exit 1
fi
echo "$HASH" > "$STATE/reset-for"
echo "user-data changed since it was applied: re-running cloud-init from a clean state"
cloud-init clean --logs
systemctl reboot
`;
}

export interface UnitOptions {
  description: string;
  /** ExecStart command lines. */
  exec: string[];
  after?: string[];
  requires?: string[];
  wants?: string[];
  before?: string[];
  requiresMountsFor?: string[];
  /** Extra [Service] lines. */
  service?: string[];
  /** [Unit] Condition lines. */
  conditions?: string[];
  /** @default "multi-user.target" (undefined: not enabled by itself, e.g. started by a timer) */
  wantedBy?: string | null;
  workingDirectory?: string;
  execStop?: string[];
  execStartPre?: string[];
  timeoutStartSec?: number;
  /** Keep the unit active after its command exits (dependants see it as up). Timer-driven units set false. @default true */
  remainAfterExit?: boolean;
}

/** A oneshot systemd service (RemainAfterExit by default, so dependants see it as active). */
export function oneshotUnit(o: UnitOptions): string {
  const u: string[] = ["[Unit]", `Description=${o.description}`];
  if (o.wants?.length) u.push(`Wants=${o.wants.join(" ")}`);
  if (o.requires?.length) u.push(`Requires=${o.requires.join(" ")}`);
  if (o.after?.length) u.push(`After=${o.after.join(" ")}`);
  if (o.before?.length) u.push(`Before=${o.before.join(" ")}`);
  for (const m of o.requiresMountsFor ?? []) u.push(`RequiresMountsFor=${m}`);
  u.push(...(o.conditions ?? []));
  u.push("", "[Service]", "Type=oneshot", `RemainAfterExit=${o.remainAfterExit === false ? "no" : "yes"}`);
  if (o.workingDirectory) u.push(`WorkingDirectory=${o.workingDirectory}`);
  for (const e of o.execStartPre ?? []) u.push(`ExecStartPre=${e}`);
  for (const e of o.exec) u.push(`ExecStart=${e}`);
  for (const e of o.execStop ?? []) u.push(`ExecStop=${e}`);
  if (o.timeoutStartSec) u.push(`TimeoutStartSec=${o.timeoutStartSec}`);
  u.push(...(o.service ?? []));
  const wantedBy = o.wantedBy === undefined ? "multi-user.target" : o.wantedBy;
  if (wantedBy) u.push("", "[Install]", `WantedBy=${wantedBy}`);
  return u.join("\n") + "\n";
}

/** A systemd timer for a oneshot service. */
export function timerUnit(o: {
  description: string;
  onBootSec: string;
  onUnitActiveSec: string;
  randomizedDelaySec?: string;
  /** systemd fires timers within 1 min of their time by default; a per-minute metric needs tighter. */
  accuracySec?: string;
}): string {
  return [
    "[Unit]",
    `Description=${o.description}`,
    "",
    "[Timer]",
    `OnBootSec=${o.onBootSec}`,
    `OnUnitActiveSec=${o.onUnitActiveSec}`,
    ...(o.randomizedDelaySec ? [`RandomizedDelaySec=${o.randomizedDelaySec}`] : []),
    ...(o.accuracySec ? [`AccuracySec=${o.accuracySec}`] : []),
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
}
