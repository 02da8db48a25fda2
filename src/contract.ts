/**
 * The app contract: what the Course Organizer backend image receives at every stage, and what it must answer.
 * One image, one set of setting names and one set of WORKER_TYPE values from the single VM to GKE: a stage may
 * add settings, never rename them. Every renderer of the app's processes (src/files/compose.ts at stages 1-2,
 * src/files/app-instance.ts and components/app-settings.ts at stage 3, src/files/k8s-manifests.ts at stage 4)
 * takes its names, ports, health paths and process types from here; `npm run contract` writes
 * docs/app-contract.md and the example image's entrypoint (examples/app/docker-entrypoint.sh) from this module
 * (src/contract-doc.ts), and test/contract.test.ts fails when the code, the rendered files of the four stages or
 * the document disagree.
 */

/** The processes one backend image runs; the image's entrypoint picks one from WORKER_TYPE. */
export const WORKER_TYPES = ["http", "ws", "worker", "migrate"] as const;
export type WorkerType = (typeof WORKER_TYPES)[number];

/** Paths every serving process answers (HTTP GET, 200 when well). */
export const HEALTH_PATHS = {
  /** Liveness: the process runs and answers; no dependency is checked (a dead database must not restart every pod). */
  liveness: "/health",
  /** Readiness: the database and Redis answer; the load balancer sends traffic only to a ready process. */
  readiness: "/ready",
  /** The liveness check under /api/, the prefix the VM's nginx and the load balancer route to Gunicorn. */
  api: "/api/health",
} as const;

/** Ports the processes listen on (the PORT setting): one port per process on machines, one port per pod on GKE. */
export const PORTS = {
  /** Stages 1-3: Gunicorn and Daphne share a machine (the VM) or a firewall rule (the instance pools). */
  vm: { http: 8000, ws: 8001 },
  /** Stage 4: every pod's serving port (the seed's probes on 8080); the worker answers its probes there too. */
  pod: 8080,
  /** Stage 4: Prometheus metrics (django-prometheus), off the serving port so the load balancer never exposes it. */
  metrics: 9091,
} as const;

/** The backend image's layout the rendered files rely on (compose volumes, docker run, manifests). */
export const IMAGE = {
  workdir: "/app",
  entrypoint: "/app/docker-entrypoint.sh",
  /** collectstatic's target on the VM (a volume from the data disk that nginx serves). */
  staticRoot: "/app/staticfiles",
  /** Uploads on the VM while media is on the data disk (stage 1). */
  mediaRoot: "/app/media",
  /** The image's user (not root): the VM's static and media directories belong to it. */
  uid: 10001,
} as const;

/**
 * Where every app container finds the CA bundle of the Cloud SQL instances it connects to directly (stages 3-4:
 * DATABASE_REPLICA_URL, the migration's DATABASE_URL, the DATABASES map's shards and analytics entries), which
 * name it as `sslrootcert` with `sslmode=verify-ca`: libpq then refuses a server whose certificate no instance's
 * CA signed. verify-ca, not verify-full: Cloud SQL's per-instance CA names the instance, not the private IP.
 * The platform mounts the file read-only (the instances' docker run, the pods' ConfigMap) under /run, which the
 * image leaves empty: a runtime-provided file, like the settings.
 */
export const DATABASE_CA_FILE = "/run/course-organizer/database-ca.pem";

/** libpq parameters of a direct Cloud SQL connection: TLS verified against the instances' CAs. */
export function verifiedTls(caFile: string = DATABASE_CA_FILE): { sslmode: "verify-ca"; sslrootcert: string } {
  return { sslmode: "verify-ca", sslrootcert: caFile };
}

/** The same as a connection URI's query (`/` needs no escaping in a query, RFC 3986 3.4). */
export function verifiedTlsQuery(caFile: string = DATABASE_CA_FILE): string {
  return Object.entries(verifiedTls(caFile))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

/** Object prefixes in the buckets: the load balancer maps /static/x and /media/x to objects static/x and media/x. */
export const BUCKET_PREFIXES = { static: "static", media: "media" } as const;

/** Seconds between the application heartbeats a WebSocket client sends as data frames (see `websocketHeartbeat`). */
export const WS_HEARTBEAT_SECONDS = 30;

/**
 * How a process starts: shell commands, one per line of the entrypoint's case branch. `{module}` is the Django project's package (settings, wsgi, asgi).
 * The entrypoint runs the arguments it is given instead, when any (`docker run IMAGE python manage.py migrate`).
 */
export const PROCESSES: Record<WorkerType, { about: string; command: string[]; serves: string }> = {
  http: {
    about: "Gunicorn: Django's HTTP views (WSGI)",
    command: [
      'exec python -m gunicorn {module}.wsgi:application --bind "0.0.0.0:${PORT:?PORT is required}" --workers "${GUNICORN_WORKERS:-4}" --threads "${GUNICORN_THREADS:-2}" --graceful-timeout 30 --access-logfile -',
    ],
    serves: `HTTP on PORT: the app, ${HEALTH_PATHS.api}, ${HEALTH_PATHS.liveness}, ${HEALTH_PATHS.readiness}`,
  },
  ws: {
    about: "Daphne: Django Channels consumers (ASGI), WebSockets under /ws/",
    command: ['exec python -m daphne --bind 0.0.0.0 --port "${PORT:?PORT is required}" --proxy-headers {module}.asgi:application'],
    serves: `WebSockets and HTTP on PORT: /ws/*, ${HEALTH_PATHS.liveness}, ${HEALTH_PATHS.readiness}`,
  },
  worker: {
    about: "the Pub/Sub e-mail worker (`manage.py email_worker`), with its probes' HTTP server on PORT",
    command: ["exec python manage.py email_worker"],
    serves: `HTTP on PORT: ${HEALTH_PATHS.liveness}, ${HEALTH_PATHS.readiness} only`,
  },
  migrate: {
    about: "Django's migrations then collectstatic, once per deployment (no port)",
    command: ["python manage.py migrate --noinput", "exec python manage.py collectstatic --noinput"],
    serves: "nothing (exits 0 when done)",
  },
};

export interface SettingSpec {
  /** What it is and how the app uses it. */
  about: string;
  /** A credential: never logged, never in a rendered file (it reaches the process from Secret Manager). */
  secret?: boolean;
  /** What the app does when the stage does not provide it. Unset: every stage provides it. */
  whenAbsent?: string;
}

/**
 * Every setting name the app may receive. The renderers may only use these names (test/contract.test.ts), and
 * `REQUIRED` ones are there at every stage. Delivery: an environment variable, or `<NAME>_FILE` naming a file
 * that holds the value, or a key of the JSON object in the file SETTINGS_FILE names (stage 4); the settings
 * module reads the three forms in that order (examples/app/courseorganizer/contract.py).
 */
export const SETTINGS = {
  // The process.
  WORKER_TYPE: { about: `which process the image runs: ${WORKER_TYPES.join(", ")}` },
  PORT: { about: "the port the serving process listens on, on every address (http, ws, worker; migrate serves nothing)" },
  GUNICORN_WORKERS: { about: "Gunicorn worker processes (http)", whenAbsent: "4" },
  GUNICORN_THREADS: { about: "threads per Gunicorn worker (http)", whenAbsent: "2" },
  METRICS_PORT: { about: "port of the Prometheus /metrics endpoint (Managed Prometheus scrapes it)", whenAbsent: "no metrics endpoint" },
  SETTINGS_FILE: {
    about: "a JSON object of further settings (the app-settings secret, fetched at pod start)",
    whenAbsent: "all settings are environment variables",
  },
  // Django.
  DJANGO_SECRET_KEY: { about: "Django's SECRET_KEY", secret: true },
  DJANGO_ALLOWED_HOSTS: { about: "comma-separated ALLOWED_HOSTS: the site, and the address health checks send as Host" },
  CSRF_TRUSTED_ORIGINS: { about: "comma-separated CSRF_TRUSTED_ORIGINS (https://<site>)" },
  SENTRY_DSN: { about: "error reporting", whenAbsent: "no error reporting" },
  JITSI_DOMAIN: { about: "the Jitsi Meet host the app links meetings to" },
  JITSI_JWT_APP_ID: {
    about: "the `iss`/`aud` of the room tokens the app signs for Jitsi (Prosody verifies them)",
    whenAbsent: "this process signs no room tokens",
  },
  JITSI_JWT_APP_SECRET: { about: "the HS256 key the app signs Jitsi room tokens with", secret: true, whenAbsent: "this process signs no room tokens" },
  // PostgreSQL.
  DATABASE_URL: { about: "Django's default database (postgres://user:password@host:port/name[?sslmode=...])", secret: true },
  DATABASE_REPLICA_URL: { about: "a read replica for reports (TLS)", secret: true, whenAbsent: "reports read DATABASE_URL" },
  DATABASE_DIRECT_HOST: { about: "the primary's own address (migrations bypass PgBouncer's transaction pooling)", whenAbsent: "DATABASE_URL is direct" },
  DATABASE_NAME: { about: "the default database's name (for tools; DATABASE_URL has it too)", whenAbsent: "read from DATABASE_URL" },
  DATABASE_USER: { about: "the default database's user (PgBouncer's auth file)", whenAbsent: "read from DATABASE_URL" },
  DATABASE_PASSWORD: { about: "the default database's password (PgBouncer's auth file)", secret: true, whenAbsent: "read from DATABASE_URL" },
  DATABASE_DISABLE_SERVER_SIDE_CURSORS: {
    about: '"true" when DATABASE_URL is a transaction-pooling PgBouncer: server-side cursors do not survive it',
    whenAbsent: "false",
  },
  DATABASES: {
    about:
      "JSON: the shard router's DATABASES map (default, shard_0..n-1, analytics) with PASSWORD_SECRET, the Secret Manager id of each password, instead of a password",
    whenAbsent: "one database: DATABASE_URL",
  },
  DATABASE_SHARD_COUNT: { about: "number of shard_<i> databases; a user's rows live on shard user_id % count", whenAbsent: "0: no shards" },
  // Redis.
  REDIS_URL: { about: "Redis for cache, sessions and the channel layer (redis:// or rediss:// with REDIS_CA_CERT)", secret: true },
  REDIS_CA_CERT: { about: "PEM of the CA that signed Redis's TLS certificate (multi-line)", whenAbsent: "REDIS_URL is plain redis://" },
  CACHE_URL: { about: "Redis database of Django's cache", secret: true, whenAbsent: "REDIS_URL" },
  SESSION_REDIS_URL: { about: "Redis database of the sessions", secret: true, whenAbsent: "REDIS_URL" },
  CHANNEL_LAYER_URL: { about: "Redis database of the Channels layer", secret: true, whenAbsent: "REDIS_URL" },
  CHANNEL_LAYER_REDIS_URLS: {
    about: "JSON list of independent Redis instances the channel layer shards groups and channels over",
    secret: true,
    whenAbsent: "one channel-layer Redis: CHANNEL_LAYER_URL",
  },
  CHANNEL_LAYER_REDIS_CA_CERTS: { about: "JSON list of the CA PEMs of CHANNEL_LAYER_REDIS_URLS, in the same order", whenAbsent: "plain redis://" },
  REDIS_CLUSTER_ENDPOINT: {
    about: "discovery endpoint (host:port) of the Redis Cluster for cache data (cluster-aware client, TLS)",
    whenAbsent: "cache on CACHE_URL",
  },
  REDIS_CLUSTER_CA_CERT: { about: "PEM of the Redis Cluster's CA", whenAbsent: "no cluster" },
  MEMCACHED_NODES: {
    about: "comma-separated host:port of the Memcached nodes in the process's own region (the hot read cache; pymemcache hashes keys over them)",
    whenAbsent: "no Memcached",
  },
  // Files.
  STATIC_ROOT: { about: "directory collectstatic writes and nginx serves /static/ from", whenAbsent: "static files in STATIC_BUCKET" },
  MEDIA_ROOT: { about: "directory uploads are written to and nginx serves /media/ from", whenAbsent: "media in MEDIA_BUCKET" },
  STATIC_BUCKET: { about: `Cloud Storage bucket collectstatic uploads to (objects ${BUCKET_PREFIXES.static}/<path>)`, whenAbsent: "STATIC_ROOT" },
  MEDIA_BUCKET: { about: `Cloud Storage bucket uploads are written to (objects ${BUCKET_PREFIXES.media}/<path>)`, whenAbsent: "MEDIA_ROOT" },
  CDN_HOST: {
    about: "host that serves /static/* and /media/* from the buckets through Cloud CDN (the site itself)",
    whenAbsent: "the site serves them (nginx)",
  },
  CDN_SIGNING_KEY_NAME: { about: "Cloud CDN key name for signed media URLs; set means media is private", whenAbsent: "media URLs are public" },
  CDN_SIGNING_KEY: { about: "the base64url value of that key", secret: true, whenAbsent: "media URLs are public" },
  // Pub/Sub.
  PUBSUB_PROJECT: { about: "project of the e-mail topic and subscription", whenAbsent: "e-mail is sent inline" },
  PUBSUB_EMAIL_TOPIC: { about: "topic the app publishes e-mail jobs to", whenAbsent: "e-mail is sent inline" },
  PUBSUB_EMAIL_SUBSCRIPTION: { about: "subscription the worker pulls e-mail jobs from", whenAbsent: "no worker" },
  // The platform.
  POD_IP: { about: "the pod's IP (Kubernetes), which probes and NEG health checks send as Host", whenAbsent: "not on GKE" },
  REGION: {
    about: "the region the process runs in; meeting links carry it as `region=<REGION>` so Jicofo puts the participant on a bridge there",
    whenAbsent: "one region",
  },
} as const satisfies Record<string, SettingSpec>;
export type SettingName = keyof typeof SETTINGS;
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

/** Settings every serving process receives at every stage (migrate: all but PORT). */
export const REQUIRED_SETTINGS: SettingName[] = (SETTING_NAMES as SettingName[]).filter((n) => !("whenAbsent" in SETTINGS[n]));

/** `<NAME>_FILE`: the value is in that file (a secret mounted as a file; the name is the contract's, with _FILE). */
export const fileSetting = (name: SettingName) => `${name}_FILE`;

/** The contract's name a delivered variable stands for (`DJANGO_SECRET_KEY_FILE` -> `DJANGO_SECRET_KEY`), or undefined. */
export function settingOf(variable: string): SettingName | undefined {
  if ((SETTING_NAMES as string[]).includes(variable)) return variable as SettingName;
  const base = variable.endsWith("_FILE") ? variable.slice(0, -"_FILE".length) : undefined;
  return base && (SETTING_NAMES as string[]).includes(base) ? (base as SettingName) : undefined;
}

/** Names in `variables` that are not the contract's (empty when every name is one). */
export function unknownSettings(variables: Iterable<string>): string[] {
  return [...variables].filter((v) => settingOf(v) === undefined);
}

/** The image's entrypoint: WORKER_TYPE picks the process, arguments (when given) run instead. */
export function entrypointScript(module: string): string {
  const cases = WORKER_TYPES.map((w) => {
    const lines = PROCESSES[w].command.map((l) => l.replaceAll("{module}", module));
    return [`  ${w})`, `    # ${PROCESSES[w].about}`, ...lines.map((l) => `    ${l}`), "    ;;"].join("\n");
  });
  return `#!/bin/sh
# The backend image's entrypoint, rendered from the app contract (src/contract.ts, \`npm run contract\`).
# WORKER_TYPE picks the process; arguments, when given, run instead (\`docker run IMAGE python manage.py migrate\`).
set -eu
if [ "$#" -gt 0 ]; then
  exec "$@"
fi
case "\${WORKER_TYPE:-}" in
${cases.join("\n")}
  *)
    echo "WORKER_TYPE=\${WORKER_TYPE:-} is not one of: ${WORKER_TYPES.join(" ")}" >&2
    exit 64
    ;;
esac
`;
}
