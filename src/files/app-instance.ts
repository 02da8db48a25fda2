/**
 * What an app instance of the stage-3 pools receives (components/instance-pool.ts): the HTTP pool runs the backend
 * image as Gunicorn (WORKER_TYPE=http), the WebSocket pool as Daphne (WORKER_TYPE=ws), as the app contract names
 * them at every stage (src/contract.ts); both run PgBouncer in
 * transaction mode on 127.0.0.1:6432 in front of Cloud SQL's private IP (src/files/pgbouncer.ts), and the Ops Agent
 * (its `agent.googleapis.com/memory/percent_used` metric drives the WebSocket autoscaler). WebSocket instances also
 * publish their established connection count as a custom Cloud Monitoring metric every minute.
 *
 * Image: Ubuntu 24.04 LTS, not Container-Optimized OS. COS also runs cloud-init, but it has no package manager and
 * Google does not support the Ops Agent on it; the memory metric the WebSocket autoscaler needs comes from the Ops
 * Agent. Ubuntu's GCE images run cloud-init user-data and ship gcloud (Secret Manager at boot).
 *
 * Settings: nothing but names reaches this text. At every boot co-settings.service reads the app-settings secret
 * (a JSON object, components/app-settings.ts) and the further secrets (DJANGO_SECRET_KEY) through the instance's
 * service account into /run/course-organizer (tmpfs, root only): single-line values into the env file docker
 * reads, multi-line values (REDIS_CA_CERT) into files the run script passes as environment variables (an env file
 * cannot carry a newline), and PgBouncer's userlist.txt.
 *
 * Boot order (systemd, every boot): co-settings -> co-pgbouncer -> co-app; co-migrate (HTTP pool) runs Django's
 * migrations; co-ops-agent installs the agent once; co-ws-connections.timer publishes the
 * connection count (WebSocket pool only).
 */
import { DATABASE_CA_FILE, PORTS, verifiedTlsQuery, type WorkerType } from "../contract";
import { cloudInit } from "./cloud-init";
import { pgbouncerIni } from "./pgbouncer";
import { oneshotUnit, registryLoginScript, timerUnit } from "./vm-scripts";
import { shellQuote } from "./shell";

export const APP_DIR = "/opt/course-organizer";
export const APP_BIN = `${APP_DIR}/bin`;
/** tmpfs (never on disk): env file, multi-line values, PgBouncer's userlist; root only. */
export const APP_RUNTIME = "/run/course-organizer";
/** Cloud SQL's server CA inside PgBouncer's container (instances and pods). */
export const PGBOUNCER_CA_FILE = "/etc/pgbouncer/server-ca.pem";
/**
 * The CA bundle of the Cloud SQL instances on the host: PgBouncer's server_tls_ca_file, and the app containers'
 * DATABASE_CA_FILE (their direct connections: the migration, DATABASE_REPLICA_URL).
 */
const DB_CA_HOST_FILE = `${APP_DIR}/pgbouncer/server-ca.pem`;

function withNewline(pem: string): string {
  return pem.endsWith("\n") ? pem : `${pem}\n`;
}

/** PgBouncer's port on every app instance (components/app-settings.ts DATABASE_URL points here). */
export const PGBOUNCER_LISTEN_PORT = 6432;
/** uid:gid PgBouncer runs as in the edoburu/pgbouncer image (Alpine's postgres user): it must read userlist.txt. */
export const PGBOUNCER_UID = "70:70";
/** Ports the backend serves on each pool's instances (the firewall's health-checks rule admits 8000 and 8001). */
export const APP_PORTS = PORTS.vm;
/** The custom metric WebSocket instances publish (one time series per instance, resource gce_instance). */
export const WS_CONNECTIONS_METRIC = "custom.googleapis.com/course_organizer/websocket_connections";

const HEADER = [
  "# Rendered by src/files/app-instance.ts. Runs as root under systemd on a Course Organizer app instance.",
  "# Ubuntu's GCE images install gcloud as a snap (/snap/bin), which is not on systemd's default PATH.",
  'PATH="$PATH:/snap/bin"',
].join("\n");

const q = shellQuote;

/** A pool's kind is the WORKER_TYPE its instances run. */
export type AppKind = Extract<WorkerType, "http" | "ws">;

export interface AppInstanceOptions {
  kind: AppKind;
  project: string;
  /** The backend image (Gunicorn and Daphne in one; WORKER_TYPE picks the process). */
  backendImage: string;
  pgbouncerImage: string;
  /** Artifact Registry hosts docker logs in to before pulling. */
  registryHosts: string[];
  /** Secret Manager id of the app settings JSON (components/app-settings.ts `secretId`). */
  settingsSecretId: string;
  /** Further secrets read at boot into the env file (e.g. DJANGO_SECRET_KEY). @default [] */
  secrets?: { env: string; secretId: string }[];
  /** Cloud SQL primary's private IP (PgBouncer's server). */
  dbHost: string;
  /**
   * The server CAs of the Cloud SQL instances (PEM bundle, Database.caBundle: primary and replicas): PgBouncer
   * and the app's direct connections verify against it (sslmode verify-ca), so a host answering on a private IP
   * without an instance's certificate is refused.
   */
  dbCaCert: string;
  dbName: string;
  /** PgBouncer server connections per instance (config database.pgbouncerPoolSize). */
  poolSize: number;
  /** The site's host (Django ALLOWED_HOSTS, CSRF origin; the health checks send it as Host). */
  domain: string;
  /** Gunicorn workers and threads per worker (HTTP pool). @default 4 and 2 (seed stage 2 "Backend Scaling") */
  gunicornWorkers?: number;
  gunicornThreads?: number;
  /**
   * Cloud CDN key name that signs private media URLs (its value is the CDN_SIGNING_KEY secret in `secrets`).
   * @default undefined (public media, or an instance that serves no media URLs)
   */
  cdnSigningKeyName?: string;
  /** Seconds between two connection-count samples (WebSocket pool). @default 60 */
  metricIntervalSeconds?: number;
}

export interface AppFile {
  /** Path on the instance. */
  path: string;
  /** Path in the rendered folder of the pool's role. */
  renderPath: string;
  content: string;
  permissions: string;
}

/** The port the backend listens on for a pool kind. */
export function appPort(kind: AppKind): number {
  return APP_PORTS[kind];
}

/** Secret Manager -> /run/course-organizer: env file, multi-line values, PgBouncer's userlist. */
export function fetchSettingsScript(o: {
  project: string;
  settingsSecretId: string;
  secrets: { env: string; secretId: string }[];
  runtimeDir?: string;
  retryDelaySeconds?: number;
  pgbouncerOwner?: string;
}): string {
  const owner = (o.pgbouncerOwner ?? PGBOUNCER_UID).split(":");
  const extra = o.secrets.map((s) => `extra ${q(s.env)} ${q(s.secretId)}`).join("\n");
  return `#!/usr/bin/env bash
${HEADER}
# Read the app settings (one JSON secret) and further secrets into tmpfs. No value is ever in metadata or on disk.
set -euo pipefail
umask 077

PROJECT=${q(o.project)}
SETTINGS_SECRET=${q(o.settingsSecretId)}
RUNTIME_DIR=${q(o.runtimeDir ?? APP_RUNTIME)}
DELAY=${o.retryDelaySeconds ?? 10}
install -d -m 0700 "$RUNTIME_DIR" "$RUNTIME_DIR/multiline" "$RUNTIME_DIR/pgbouncer"

# A grant made by the same deployment can take a minute to reach Secret Manager: retry for up to 5 minutes.
access() {
  local id="$1" attempt
  for attempt in $(seq 1 30); do
    if gcloud secrets versions access latest --secret="$id" --project="$PROJECT" --quiet 2>/dev/null; then
      return 0
    fi
    echo "secret $id not readable yet (attempt $attempt/30); retrying in $DELAY s" >&2
    sleep "$DELAY"
  done
  echo "secret $id could not be read through the instance's service account" >&2
  return 1
}

SETTINGS="$RUNTIME_DIR/settings.json"
access "$SETTINGS_SECRET" > "$SETTINGS.tmp"
jq -e 'type == "object"' "$SETTINGS.tmp" >/dev/null
mv "$SETTINGS.tmp" "$SETTINGS"

ENV_TMP="$(mktemp "$RUNTIME_DIR/app.env.XXXXXX")"
rm -f "$RUNTIME_DIR"/multiline/*
# docker's --env-file takes KEY=value lines literally; a value with a newline goes to its own file instead.
jq -r 'to_entries[] | select((.value | tostring | contains("\\n")) | not) | "\\(.key)=\\(.value)"' "$SETTINGS" > "$ENV_TMP"
while IFS= read -r key; do
  jq -r --arg k "$key" '.[$k]' "$SETTINGS" > "$RUNTIME_DIR/multiline/$key"
done < <(jq -r 'to_entries[] | select(.value | tostring | contains("\\n")) | .key' "$SETTINGS")

extra() {
  local env="$1" id="$2" value
  value="$(access "$id")"
  printf '%s=%s\\n' "$env" "$value" >> "$ENV_TMP"
}
${extra}
mv "$ENV_TMP" "$RUNTIME_DIR/app.env"

# Migrations bypass PgBouncer (transaction pooling): the same settings with a direct connection to Cloud SQL,
# TLS verified against the instances' CAs (the bundle is mounted at DATABASE_CA_FILE, src/contract.ts).
grep -v '^DATABASE_URL=' "$RUNTIME_DIR/app.env" > "$RUNTIME_DIR/migrate.env.tmp" || true
jq -r '"DATABASE_URL=postgres://\\(.DATABASE_USER | @uri):\\(.DATABASE_PASSWORD | @uri)@\\(.DATABASE_DIRECT_HOST):5432/\\(.DATABASE_NAME)?${verifiedTlsQuery()}"' \\
  "$SETTINGS" >> "$RUNTIME_DIR/migrate.env.tmp"
mv "$RUNTIME_DIR/migrate.env.tmp" "$RUNTIME_DIR/migrate.env"

# PgBouncer's auth_file: "user" "password", double quotes doubled (src/files/pgbouncer.ts userlistLine).
DB_USER="$(jq -r '.DATABASE_USER' "$SETTINGS")"
DB_PASSWORD="$(jq -r '.DATABASE_PASSWORD' "$SETTINGS")"
USERLIST="$RUNTIME_DIR/pgbouncer/userlist.txt"
install -m 0600 -o ${owner[0]} -g ${owner[1]} /dev/null "$USERLIST.tmp"
printf '"%s" "%s"\\n' "\${DB_USER//\\"/\\"\\"}" "\${DB_PASSWORD//\\"/\\"\\"}" > "$USERLIST.tmp"
mv "$USERLIST.tmp" "$USERLIST"

echo "settings written to $RUNTIME_DIR ($(jq 'length' "$SETTINGS") keys)"
`;
}

/** Start the backend container in the foreground (systemd keeps it running). */
export function runAppScript(o: {
  kind: AppKind;
  image: string;
  domain: string;
  gunicornWorkers: number;
  gunicornThreads: number;
  cdnSigningKeyName?: string;
  runtimeDir?: string;
}): string {
  const rt = o.runtimeDir ?? APP_RUNTIME;
  const port = appPort(o.kind);
  const process =
    o.kind === "http"
      ? [
          // Gunicorn only (seed: "Image: Backend with Gunicorn only").
          `-e WORKER_TYPE=http`,
          `-e PORT=${port}`,
          `-e GUNICORN_WORKERS=${o.gunicornWorkers}`,
          `-e GUNICORN_THREADS=${o.gunicornThreads}`,
          ...(o.cdnSigningKeyName ? [`-e CDN_SIGNING_KEY_NAME=${q(o.cdnSigningKeyName)}`] : []),
        ]
      : [
          // Daphne only (seed: "Image: Backend with Daphne only").
          `-e WORKER_TYPE=ws`,
          `-e PORT=${port}`,
        ];
  return `#!/usr/bin/env bash
${HEADER}
# The backend (${o.kind === "http" ? "Gunicorn" : "Daphne"}) on port ${port}, host network: PgBouncer is on 127.0.0.1:${PGBOUNCER_LISTEN_PORT}.
set -euo pipefail

RUNTIME_DIR=${q(rt)}
ARGS=()
# Multi-line settings (REDIS_CA_CERT) travel as environment variables of this process, never through a file docker reads.
for f in "$RUNTIME_DIR"/multiline/*; do
  [[ -f "$f" ]] || continue
  key="$(basename "$f")"
  export "$key=$(cat "$f")"
  ARGS+=(-e "$key")
done

# Health checks without a Host header send the instance's internal IP as Host (GCP's default): Django must accept it.
INTERNAL_IP="$(curl -fsS --retry 10 --retry-connrefused -H 'Metadata-Flavor: Google' \\
  http://metadata.google.internal/computeMetadata/v1/instance/network-interfaces/0/ip)"

docker rm -f app >/dev/null 2>&1 || true
exec docker run --rm --name app --network host \\
  --log-driver journald --stop-timeout 30 \\
  --env-file "$RUNTIME_DIR/app.env" \\
  -v ${q(DB_CA_HOST_FILE)}:${DATABASE_CA_FILE}:ro \\
  "\${ARGS[@]}" \\
  -e DJANGO_ALLOWED_HOSTS=${q(o.domain)}",$INTERNAL_IP" \\
  -e CSRF_TRUSTED_ORIGINS=${q(`https://${o.domain}`)} \\
  ${process.join(" \\\n  ")} \\
  ${q(o.image)}
`;
}

/**
 * Django's migrations after every boot of an HTTP-pool instance, over a
 * direct connection to Cloud SQL. Several instances may boot together (a rollout surges one per zone): each
 * migration runs in one PostgreSQL transaction (DDL is transactional), so of two concurrent runs one applies it
 * and the other fails and rolls back cleanly; the script retries after a random pause, finding nothing left to do.
 */
export function migrateScript(o: { image: string; runtimeDir?: string; attempts?: number }): string {
  const rt = o.runtimeDir ?? APP_RUNTIME;
  return `#!/usr/bin/env bash
${HEADER}
# Django migrations (direct to Cloud SQL); idempotent, retried when another instance races it.
set -euo pipefail

RUNTIME_DIR=${q(rt)}
IMAGE=${q(o.image)}
ARGS=()
for f in "$RUNTIME_DIR"/multiline/*; do
  [[ -f "$f" ]] || continue
  key="$(basename "$f")"
  export "$key=$(cat "$f")"
  ARGS+=(-e "$key")
done

manage() {
  # migrate.env: the app's settings with DATABASE_URL pointing at Cloud SQL directly (fetch-settings.sh).
  docker run --rm --network host --log-driver journald \\
    --env-file "$RUNTIME_DIR/migrate.env" \\
    -v ${q(DB_CA_HOST_FILE)}:${DATABASE_CA_FILE}:ro \\
    "\${ARGS[@]}" -e WORKER_TYPE=migrate "$IMAGE" python manage.py "$@"
}

for attempt in $(seq 1 ${o.attempts ?? 5}); do
  if manage migrate --noinput; then
    # No collectstatic: the public static bucket is written by the release identity only (scripts/publish-static.sh).
    exit 0
  fi
  pause=$((RANDOM % 30 + 10))
  echo "migrate attempt $attempt failed (another instance migrating?); retrying in $pause s" >&2
  sleep "$pause"
done
exit 1
`;
}

/** PgBouncer in the foreground with the rendered ini and the boot-time userlist. */
export function runPgbouncerScript(o: { image: string; runtimeDir?: string }): string {
  const rt = o.runtimeDir ?? APP_RUNTIME;
  return `#!/usr/bin/env bash
${HEADER}
# PgBouncer (transaction pooling) on 127.0.0.1:${PGBOUNCER_LISTEN_PORT} in front of Cloud SQL's private IP.
set -euo pipefail

docker rm -f pgbouncer >/dev/null 2>&1 || true
exec docker run --rm --name pgbouncer --network host \\
  --log-driver journald --user ${PGBOUNCER_UID} \\
  -v ${q(`${APP_DIR}/pgbouncer/pgbouncer.ini`)}:/etc/pgbouncer/pgbouncer.ini:ro \\
  -v ${q(DB_CA_HOST_FILE)}:${PGBOUNCER_CA_FILE}:ro \\
  -v ${q(`${rt}/pgbouncer/userlist.txt`)}:/etc/pgbouncer/userlist.txt:ro \\
  ${q(o.image)} /usr/bin/pgbouncer /etc/pgbouncer/pgbouncer.ini
`;
}

/**
 * Install Google's Ops Agent once (its installer adds Google's apt repository and the package), so the memory
 * signal of the autoscaler exists from the first boot even where no OS Config policy (components/monitoring.ts)
 * reaches the instance yet. The agent's
 * default configuration already reports `agent.googleapis.com/memory/percent_used`, which the WebSocket
 * autoscaler reads; the VM-level memory is invisible to the hypervisor's own metrics.
 */
export function installOpsAgentScript(): string {
  return `#!/usr/bin/env bash
${HEADER}
# Install the Google Cloud Ops Agent (memory metrics for the autoscaler, logs). Idempotent.
set -euo pipefail

if dpkg-query -W -f='\${Status}' google-cloud-ops-agent 2>/dev/null | grep -q "install ok installed"; then
  echo "Ops Agent already installed"
  exit 0
fi
INSTALLER="$(mktemp)"
trap 'rm -f "$INSTALLER"' EXIT
curl -fsSL --retry 5 https://dl.google.com/cloudagents/add-google-cloud-ops-agent-repo.sh -o "$INSTALLER"
# The monitoring stack's OS Config policy may be installing the same package right now (dpkg lock): retry.
for attempt in 1 2 3 4 5; do
  if bash "$INSTALLER" --also-install; then
    exit 0
  fi
  echo "Ops Agent install attempt $attempt failed; retrying in 60 s" >&2
  sleep 60
done
exit 1
`;
}

/**
 * Count established WebSocket connections on Daphne's port with `ss` and write them as one GAUGE point of the
 * custom metric, per instance (resource gce_instance), through the Monitoring API with the metadata server's
 * token. The regional autoscaler reads it with a per-instance target (1,000 connections, seed "Auto-scaling
 * Configuration"). Each TCP connection from a Google front end to Daphne is one client WebSocket: the load
 * balancer does not multiplex WebSockets. Cloud Monitoring creates the custom metric's descriptor (GAUGE, INT64)
 * on the first write; until then the autoscaler has no value for it and scales on memory alone.
 */
export function wsConnectionsScript(o: { port: number; metricType?: string; metadataUrl?: string; monitoringUrl?: string }): string {
  return `#!/usr/bin/env bash
${HEADER}
# Publish the number of established connections on port ${o.port} as ${o.metricType ?? WS_CONNECTIONS_METRIC}.
set -euo pipefail

PORT=${o.port}
METRIC=${q(o.metricType ?? WS_CONNECTIONS_METRIC)}
METADATA=${q(o.metadataUrl ?? "http://metadata.google.internal/computeMetadata/v1")}
MONITORING=${q(o.monitoringUrl ?? "https://monitoring.googleapis.com/v3")}

metadata() {
  curl -fsS --retry 3 -H 'Metadata-Flavor: Google' "$METADATA/$1"
}

# -H: no header line; one line per established TCP connection whose local port is Daphne's.
COUNT="$(ss -Htn state established "( sport = :$PORT )" | wc -l)"
PROJECT="$(metadata project/project-id)"
INSTANCE_ID="$(metadata instance/id)"
ZONE="$(metadata instance/zone)"
ZONE="\${ZONE##*/}"
TOKEN="$(metadata instance/service-accounts/default/token | jq -r '.access_token')"
NOW="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

BODY="$(jq -n --arg metric "$METRIC" --arg project "$PROJECT" --arg instance "$INSTANCE_ID" --arg zone "$ZONE" \\
  --arg now "$NOW" --arg count "$COUNT" '{
    timeSeries: [{
      metric: { type: $metric },
      resource: { type: "gce_instance", labels: { project_id: $project, instance_id: $instance, zone: $zone } },
      points: [{ interval: { endTime: $now }, value: { int64Value: $count } }]
    }]
  }')"
curl -fsS --retry 3 -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
  --data "$BODY" "$MONITORING/projects/$PROJECT/timeSeries" >/dev/null
echo "published $COUNT connections on port $PORT"
`;
}

/** A long-running service (restarted on failure), for the containers. */
export function serviceUnit(o: {
  description: string;
  exec: string;
  requires?: string[];
  after?: string[];
  wants?: string[];
  execStartPre?: string[];
  execStop?: string;
  stopTimeoutSec?: number;
}): string {
  const u = ["[Unit]", `Description=${o.description}`];
  if (o.wants?.length) u.push(`Wants=${o.wants.join(" ")}`);
  if (o.requires?.length) u.push(`Requires=${o.requires.join(" ")}`);
  if (o.after?.length) u.push(`After=${o.after.join(" ")}`);
  u.push("", "[Service]", "Type=simple", "Restart=always", "RestartSec=5");
  for (const e of o.execStartPre ?? []) u.push(`ExecStartPre=${e}`);
  u.push(`ExecStart=${o.exec}`);
  if (o.execStop) u.push(`ExecStop=${o.execStop}`);
  // Image pulls on the first boot take minutes.
  u.push("TimeoutStartSec=900");
  if (o.stopTimeoutSec) u.push(`TimeoutStopSec=${o.stopTimeoutSec}`);
  u.push("", "[Install]", "WantedBy=multi-user.target", "");
  return u.join("\n");
}

/** Every file an app instance receives (without the user-data itself). */
export function appInstanceFiles(o: AppInstanceOptions): AppFile[] {
  const files: AppFile[] = [];
  const add = (path: string, renderPath: string, content: string, permissions: string) => files.push({ path, renderPath, content, permissions });
  const script = (n: string, content: string) => add(`${APP_BIN}/${n}`, `bin/${n}`, content, "0755");
  const unit = (n: string, content: string) => add(`/etc/systemd/system/${n}`, `systemd/${n}`, content, "0644");
  const port = appPort(o.kind);
  const workers = o.gunicornWorkers ?? 4;
  const threads = o.gunicornThreads ?? 2;

  add(
    `${APP_DIR}/pgbouncer/pgbouncer.ini`,
    "pgbouncer/pgbouncer.ini",
    pgbouncerIni({
      listenAddr: "127.0.0.1",
      listenPort: PGBOUNCER_LISTEN_PORT,
      dbHost: o.dbHost,
      dbPort: 5432,
      databases: [o.dbName],
      poolSize: o.poolSize,
      // Gunicorn: workers x threads connections at most; Daphne: one async process, a few dozen at once.
      maxClientConn: Math.max(o.poolSize, o.kind === "http" ? workers * threads * 4 : 200),
      authFile: "/etc/pgbouncer/userlist.txt",
      // In the container's foreground no pid file is needed (and /run/pgbouncer does not exist there).
      pidFile: "",
      // Cloud SQL's server certificate is checked against the instance's CA (mounted next to the ini).
      serverTlsSslmode: "verify-ca",
      serverTlsCaFile: PGBOUNCER_CA_FILE,
    }),
    "0644",
  );
  add(`${APP_DIR}/pgbouncer/server-ca.pem`, "pgbouncer/server-ca.pem", withNewline(o.dbCaCert), "0644");
  script("fetch-settings.sh", fetchSettingsScript({ project: o.project, settingsSecretId: o.settingsSecretId, secrets: o.secrets ?? [] }));
  script("registry-login.sh", registryLoginScript({ hosts: o.registryHosts }));
  script("run-pgbouncer.sh", runPgbouncerScript({ image: o.pgbouncerImage }));
  script(
    "run-app.sh",
    runAppScript({
      kind: o.kind,
      image: o.backendImage,
      domain: o.domain,
      gunicornWorkers: workers,
      gunicornThreads: threads,
      cdnSigningKeyName: o.cdnSigningKeyName,
    }),
  );
  script("install-ops-agent.sh", installOpsAgentScript());

  unit(
    "co-settings.service",
    oneshotUnit({
      description: "Course Organizer: app settings from Secret Manager into /run",
      exec: [`${APP_BIN}/fetch-settings.sh`],
      wants: ["network-online.target"],
      after: ["network-online.target"],
      before: ["co-pgbouncer.service", "co-app.service"],
      timeoutStartSec: 600,
    }),
  );
  unit(
    "co-pgbouncer.service",
    serviceUnit({
      description: "Course Organizer: PgBouncer (transaction pooling) to Cloud SQL",
      requires: ["docker.service", "co-settings.service"],
      after: ["docker.service", "co-settings.service"],
      execStartPre: [`${APP_BIN}/registry-login.sh`],
      exec: `${APP_BIN}/run-pgbouncer.sh`,
    }),
  );
  unit(
    "co-app.service",
    serviceUnit({
      description: `Course Organizer: the backend (${o.kind === "http" ? "Gunicorn" : "Daphne"})`,
      requires: ["docker.service", "co-settings.service", "co-pgbouncer.service"],
      after: ["docker.service", "co-settings.service", "co-pgbouncer.service"],
      execStartPre: [`${APP_BIN}/registry-login.sh`],
      exec: `${APP_BIN}/run-app.sh`,
      // Gunicorn finishes in-flight requests; Daphne closes its sockets (clients reconnect to another instance).
      execStop: "/usr/bin/docker stop --time 30 app",
      stopTimeoutSec: 45,
    }),
  );
  unit(
    "co-ops-agent.service",
    oneshotUnit({
      description: "Course Organizer: install the Ops Agent (memory metrics)",
      exec: [`${APP_BIN}/install-ops-agent.sh`],
      wants: ["network-online.target"],
      after: ["network-online.target"],
      timeoutStartSec: 900,
    }),
  );
  if (o.kind === "http") {
    script("migrate.sh", migrateScript({ image: o.backendImage }));
    unit(
      "co-migrate.service",
      oneshotUnit({
        description: "Course Organizer: Django migrations",
        requires: ["co-settings.service", "docker.service"],
        // After the app: its image is pulled by then, and the app serves while migrations run.
        after: ["co-app.service", "co-settings.service", "docker.service"],
        exec: [`${APP_BIN}/migrate.sh`],
        timeoutStartSec: 3600,
      }),
    );
  }
  if (o.kind === "ws") {
    const interval = o.metricIntervalSeconds ?? 60;
    script("publish-ws-connections.sh", wsConnectionsScript({ port }));
    unit(
      "co-ws-connections.service",
      oneshotUnit({
        description: "Course Organizer: publish the WebSocket connection count to Cloud Monitoring",
        exec: [`${APP_BIN}/publish-ws-connections.sh`],
        after: ["co-app.service", "network-online.target"],
        wantedBy: null,
        remainAfterExit: false,
      }),
    );
    // Every minute: the autoscaler's sampling period; Monitoring accepts one point per series every 5 s at most.
    unit(
      "co-ws-connections.timer",
      timerUnit({ description: "Course Organizer: WebSocket connection metric", onBootSec: "2min", onUnitActiveSec: `${interval}s`, accuracySec: "1s" }),
    );
  }
  return files;
}

/** The cloud-init user-data that writes `files` and starts the services. */
export function appInstanceUserData(o: AppInstanceOptions, files: AppFile[] = appInstanceFiles(o)): string {
  const units = files.filter((f) => f.path.startsWith("/etc/systemd/system/")).map((f) => f.path.split("/").pop()!);
  const timers = units.filter((u) => u.endsWith(".timer"));
  const services = [
    "co-settings.service",
    "co-pgbouncer.service",
    "co-app.service",
    "co-ops-agent.service",
    ...(o.kind === "http" ? ["co-migrate.service"] : []),
  ];
  return cloudInit({
    files: files.map((f) => ({ path: f.path, content: f.content, permissions: f.permissions })),
    // jq reads the settings JSON; curl is in the image already.
    packages: ["jq"],
    runcmd: [
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", "docker.service"],
      ["systemctl", "enable", ...services, ...timers],
      ["systemctl", "start", "--no-block", "co-ops-agent.service", ...(o.kind === "http" ? ["co-migrate.service"] : [])],
      ["systemctl", "start", "co-app.service", ...timers],
    ],
  });
}
