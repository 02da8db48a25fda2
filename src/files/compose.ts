/**
 * docker-compose.yml of the single VM (stages 1 and 2): nginx, the Django backend (Gunicorn, `backendReplicas`
 * containers), Daphne, PostgreSQL 15, Redis 7, Jitsi (web, prosody, jicofo, jvb), node-exporter, Prometheus,
 * Grafana and certbot. Started by co-app.service (`docker compose --env-file /run/course-organizer/app.env up -d`).
 *
 * No secret is in this file: passwords are `${VAR:?}` references, interpolated by compose from the env file that
 * fetch-secrets.sh writes at boot from Secret Manager into /run (tmpfs). Redis reads its password from the ACL
 * file written next to it. The Videobridge's public address (VM_PUBLIC_IP) comes from the metadata server at
 * boot through the same env file, so the rendered file never carries an address.
 *
 * Persistent state lives on the data disk (`dataDir`, /mnt/data): PostgreSQL, Redis's RDB, media (while on the
 * VM), Prometheus, Grafana, Jitsi's configuration, certificates. The boot disk holds nothing that matters.
 *
 * Checked with docker-compose 1.29 (`config -q`) in the tests; the VM runs Ubuntu's docker-compose-v2, which
 * reads the same file (it ignores `version`). Seed stage 2 "Backend Scaling": `deploy.replicas` with
 * GUNICORN_WORKERS / GUNICORN_THREADS in the environment.
 */
import { stringify } from "yaml";
import { HEALTH_PATHS, IMAGE, PORTS, type SettingName } from "../contract";
import { DATA_MOUNT, REDIS_ACL_FILE } from "./vm-scripts";
import { archiveSettings, CIPHER_PASS_ENV, PGBACKREST_CONF_PATH, postgresImageTag } from "./pgbackrest";
import { jicofoWebJwtEnv, JITSI_JWT_APP_ID, prosodyJwtEnv } from "./jitsi-auth";

/** node-exporter's textfile directory on the VM (src/files/prometheus.ts writes the WebSocket gauge there). */
export const TEXTFILE_DIR = "/var/lib/node-exporter/textfile";

/** Variables compose interpolates from the env file fetch-secrets.sh writes (and nothing else). */
export const COMPOSE_ENV = [
  "POSTGRES_PASSWORD",
  "DJANGO_SECRET_KEY",
  "REDIS_PASSWORD",
  "JICOFO_AUTH_PASSWORD",
  "JVB_AUTH_PASSWORD",
  "GRAFANA_ADMIN_PASSWORD",
  "VM_PUBLIC_IP",
  "VM_INTERNAL_IP",
  /** Cloud CDN signed-URL key for private media (stage 2; components/media.ts keeps it in Secret Manager). */
  "CDN_SIGNING_KEY",
  /** pgBackRest's repository cipher pass (src/files/pgbackrest.ts; the postgres container's PGBACKREST_REPO1_CIPHER_PASS). */
  "PGBACKREST_CIPHER_PASS",
  /** Jitsi's JWT secret (src/files/jitsi-auth.ts): Prosody verifies the tokens the app signs with it. */
  "JITSI_JWT_APP_SECRET",
] as const;
export type ComposeEnv = (typeof COMPOSE_ENV)[number];

export interface ComposeImages {
  backend: string;
  nginx: string;
  postgres: string;
  redis: string;
  jitsiWeb: string;
  jitsiProsody: string;
  jitsiJicofo: string;
  jitsiJvb: string;
  prometheus: string;
  nodeExporter: string;
  postgresExporter: string;
  redisExporter: string;
  grafana: string;
  certbot: string;
}

export interface ComposeOptions {
  images: ComposeImages;
  /** Error reporting (config monitoring.sentryDsn): SENTRY_DSN for the backend and Daphne when set. */
  sentryDsn?: string;
  /** The app's host name (Django ALLOWED_HOSTS, CSRF origin). */
  domain: string;
  /** Jitsi Meet's host name. */
  meetDomain: string;
  /** nginx terminates TLS (stage 1: ports 80 and 443, certbot); false behind the load balancer (port 80 only). */
  tls: boolean;
  /** Gunicorn containers (seed stage 2: 2). */
  backendReplicas: number;
  /** GUNICORN_WORKERS per container (seed stage 2: 4). */
  gunicornWorkers: number;
  /** GUNICORN_THREADS per worker (seed stage 2: 2). */
  gunicornThreads: number;
  /** PostgreSQL database and role of the app. */
  dbName: string;
  dbUser: string;
  /** Media in Cloud Storage (stage 2): the bucket django-storages writes to. Unset: media on the data disk. */
  mediaBucket?: string;
  /**
   * Static-files bucket (stage 2): `collectstatic` uploads there, the load balancer serves /static/* from it
   * through Cloud CDN. Unset: static files on the data disk, served by nginx.
   */
  staticBucket?: string;
  /** Name of the Cloud CDN key (on the media backend bucket) that signs private media URLs; its value is CDN_SIGNING_KEY. */
  cdnSigningKeyName?: string;
  /** Media objects are public (an IAM grant on the bucket) instead of private with signed URLs. @default false */
  publicMedia?: boolean;
  /** Mount of the data disk. @default "/mnt/data" */
  dataDir?: string;
  /**
   * The VM's PostgreSQL is the source of a Database Migration Service job (stage 2 -> 3, config
   * database.migrateFromVm): it listens on the VM's internal address (the firewall admits only the Private Service
   * Access range) with the settings DMS requires (wal_level=logical, pglogical preloaded, replication slots and
   * senders). DMS needs the pglogical extension in the image: `images.postgres` must then be an image that has it
   * (e.g. postgres:15 plus Debian's postgresql-15-pglogical, built into Artifact Registry).
   * @default false
   */
  migrationSource?: boolean;
  /** Prometheus retention. @default "15d" */
  prometheusRetention?: string;
  /**
   * Point-in-time recovery (src/files/pgbackrest.ts): the postgres service runs the configured image plus
   * pgBackRest (built on the VM), archives every WAL segment to the backup bucket and switches segments at least
   * every `archiveTimeoutSeconds`. Unset: no archiving.
   */
  backup?: { archiveTimeoutSeconds: number };
}

/** The postgres service's server settings (`command`): archiving, then what a DMS source needs (compose `command`). */
export function postgresCommand(o: Pick<ComposeOptions, "backup" | "migrationSource">): string[] | undefined {
  const settings = [
    ...(o.backup ? archiveSettings(o.backup.archiveTimeoutSeconds) : []),
    // Google's DMS source requirements for PostgreSQL (pglogical, logical decoding). wal_level=logical archives
    // everything `replica` does, so point-in-time recovery keeps working during the migration.
    ...(o.migrationSource
      ? ["wal_level=logical", "shared_preload_libraries=pglogical", "max_replication_slots=10", "max_wal_senders=10", "max_worker_processes=8"]
      : []),
  ];
  return settings.length === 0 ? undefined : ["postgres", ...settings.flatMap((x) => ["-c", x])];
}

/** Container paths nginx sees (passed to src/files/nginx.ts as staticRoot, mediaRoot, certDir, acmeRoot). */
export const NGINX_PATHS = {
  staticRoot: "/srv/static",
  mediaRoot: "/srv/media",
  letsencrypt: "/etc/letsencrypt",
  acmeRoot: "/var/www/certbot",
} as const;

/** Data-disk directories and the uid:gid of the container process that writes them. */
export function dataDirectories(): { path: string; owner: string }[] {
  return [
    { path: "postgres", owner: "70:70" }, // postgres alpine image: uid 70 (its entrypoint also fixes ownership)
    { path: "redis", owner: "999:1000" }, // redis alpine image: uid 999, gid 1000
    // The backend image's user writes collectstatic's output and uploads (src/contract.ts IMAGE.uid).
    { path: "static", owner: `${IMAGE.uid}:${IMAGE.uid}` },
    { path: "media", owner: `${IMAGE.uid}:${IMAGE.uid}` },
    { path: "prometheus", owner: "65534:65534" }, // prom/prometheus runs as nobody
    { path: "grafana", owner: "472:0" }, // grafana image: uid 472
    { path: "jitsi", owner: "0:0" },
    { path: "certbot", owner: "0:0" },
  ];
}

const env = (name: ComposeEnv) => `\${${name}:?${name} comes from /run/course-organizer/app.env (fetch-secrets.sh)}`;

/** The docker-compose.yml text. */
export function composeFile(o: ComposeOptions): string {
  const data = o.dataDir ?? DATA_MOUNT;
  const redisUrl = `redis://:${env("REDIS_PASSWORD")}@redis:6379`;
  const logging = { driver: "journald" };
  const restart = "unless-stopped";

  // The app contract's names only (src/contract.ts); test/contract.test.ts checks every key.
  const django: Partial<Record<SettingName, string>> = {
    DJANGO_SECRET_KEY: env("DJANGO_SECRET_KEY"),
    // The site, and 127.0.0.1 for the containers' own healthchecks (Django answers other hosts with 400).
    DJANGO_ALLOWED_HOSTS: `${o.domain},127.0.0.1`,
    CSRF_TRUSTED_ORIGINS: `https://${o.domain}`,
    DATABASE_URL: `postgres://${o.dbUser}:${env("POSTGRES_PASSWORD")}@postgres:5432/${o.dbName}`,
    // Seed stage 2 "Redis Configuration": one Redis for cache (db 0), sessions (db 1) and the Channels layer (db 2).
    REDIS_URL: `${redisUrl}/0`,
    CACHE_URL: `${redisUrl}/0`,
    SESSION_REDIS_URL: `${redisUrl}/1`,
    CHANNEL_LAYER_URL: `${redisUrl}/2`,
    STATIC_ROOT: IMAGE.staticRoot,
    ...(o.mediaBucket ? {} : { MEDIA_ROOT: IMAGE.mediaRoot }),
    JITSI_DOMAIN: o.meetDomain,
    // The app signs the tokens Jitsi's rooms require (src/files/jitsi-auth.ts).
    JITSI_JWT_APP_ID,
    JITSI_JWT_APP_SECRET: env("JITSI_JWT_APP_SECRET"),
    ...(o.sentryDsn ? { SENTRY_DSN: o.sentryDsn } : {}),
  };
  if (o.mediaBucket) {
    // Seed stage 2 "Move Media to Object Storage": django-storages on Cloud Storage (objects media/<path>, the
    // path the load balancer's /media/* maps to), credentials from the VM's service account (objectAdmin on this
    // bucket only) through the metadata server. The contract's names, as at stage 3 (components/app-settings.ts);
    // the app's settings module derives django-storages' own settings from them. No public-read ACL (the seed's
    // GS_DEFAULT_ACL): the bucket has uniform bucket-level access, where object ACLs are refused; public media is
    // an IAM grant on the bucket (components/media.ts), private media is served through signed CDN URLs.
    Object.assign(django, { MEDIA_BUCKET: o.mediaBucket, CDN_HOST: o.domain });
    if (!o.publicMedia && o.cdnSigningKeyName) {
      Object.assign(django, { CDN_SIGNING_KEY_NAME: o.cdnSigningKeyName, CDN_SIGNING_KEY: env("CDN_SIGNING_KEY") });
    }
  }
  if (o.staticBucket) {
    // collectstatic uploads to the bucket (objects static/<path>); the load balancer serves /static/* through the CDN.
    Object.assign(django, { STATIC_BUCKET: o.staticBucket, CDN_HOST: o.domain });
  }
  const backendVolumes = [`${data}/static:${IMAGE.staticRoot}`, ...(o.mediaBucket ? [] : [`${data}/media:${IMAGE.mediaRoot}`])];
  const dependsOnData = { postgres: { condition: "service_healthy" }, redis: { condition: "service_healthy" } };
  const py = (url: string) => ["CMD", "python", "-c", `import urllib.request; urllib.request.urlopen('${url}', timeout=4)`];

  // Jitsi's internal XMPP domains (docker-jitsi-meet defaults); the public host is PUBLIC_URL.
  const xmpp = {
    XMPP_DOMAIN: "meet.jitsi",
    XMPP_AUTH_DOMAIN: "auth.meet.jitsi",
    XMPP_INTERNAL_MUC_DOMAIN: "internal-muc.meet.jitsi",
    XMPP_MUC_DOMAIN: "muc.meet.jitsi",
    XMPP_GUEST_DOMAIN: "guest.meet.jitsi",
    XMPP_SERVER: "xmpp.meet.jitsi",
    PUBLIC_URL: `https://${o.meetDomain}`,
    TZ: "UTC",
  };

  const services: Record<string, unknown> = {
    nginx: {
      image: o.images.nginx,
      restart,
      // Stage 2: only port 80 (Google's load balancer terminates TLS; the firewall admits only its ranges).
      ports: o.tls ? ["80:80", "443:443"] : ["80:80"],
      volumes: [
        "./nginx/nginx.conf:/etc/nginx/nginx.conf:ro",
        `${data}/static:${NGINX_PATHS.staticRoot}:ro`,
        ...(o.mediaBucket ? [] : [`${data}/media:${NGINX_PATHS.mediaRoot}:ro`]),
        ...(o.tls ? [`${data}/certbot/conf:${NGINX_PATHS.letsencrypt}:ro`, `${data}/certbot/www:${NGINX_PATHS.acmeRoot}:ro`] : []),
      ],
      depends_on: { backend: { condition: "service_started" }, daphne: { condition: "service_started" }, "jitsi-web": { condition: "service_started" } },
      // Behind the load balancer /health answers on port 80; with TLS port 80 only redirects, so check 443 is open.
      healthcheck: {
        test: ["CMD-SHELL", o.tls ? "nc -z 127.0.0.1 443 || exit 1" : "wget -q -O /dev/null http://127.0.0.1/health || exit 1"],
        interval: "30s",
        timeout: "5s",
        retries: 3,
      },
      logging,
    },
    backend: {
      image: o.images.backend,
      restart,
      deploy: { replicas: o.backendReplicas },
      expose: [String(PORTS.vm.http)],
      environment: {
        ...django,
        WORKER_TYPE: "http",
        PORT: String(PORTS.vm.http),
        GUNICORN_WORKERS: String(o.gunicornWorkers),
        GUNICORN_THREADS: String(o.gunicornThreads),
      },
      volumes: backendVolumes,
      depends_on: dependsOnData,
      healthcheck: { test: py(`http://127.0.0.1:${PORTS.vm.http}${HEALTH_PATHS.api}`), interval: "30s", timeout: "5s", retries: 3, start_period: "60s" },
      logging,
    },
    daphne: {
      image: o.images.backend,
      restart,
      expose: [String(PORTS.vm.ws)],
      environment: { ...django, WORKER_TYPE: "ws", PORT: String(PORTS.vm.ws) },
      volumes: backendVolumes,
      depends_on: dependsOnData,
      healthcheck: { test: py(`http://127.0.0.1:${PORTS.vm.ws}${HEALTH_PATHS.liveness}`), interval: "30s", timeout: "5s", retries: 3, start_period: "60s" },
      logging,
    },
    postgres: {
      image: o.backup ? postgresImageTag(o.images.postgres) : o.images.postgres,
      // pgBackRest must run where archive_command runs: the configured image plus its package (src/files/pgbackrest.ts).
      ...(o.backup ? { build: { context: "./postgres", args: { BASE_IMAGE: o.images.postgres } } } : {}),
      restart,
      environment: {
        POSTGRES_DB: o.dbName,
        POSTGRES_USER: o.dbUser,
        POSTGRES_PASSWORD: env("POSTGRES_PASSWORD"),
        PGDATA: "/var/lib/postgresql/data/pgdata",
        ...(o.backup ? { [CIPHER_PASS_ENV]: env("PGBACKREST_CIPHER_PASS") } : {}),
      },
      volumes: [
        `${data}/postgres:/var/lib/postgresql/data`,
        // The server's Unix socket on the host too: the Ops Agent's postgresql receiver reads it (src/files/ops-agent.ts).
        "/var/run/postgresql:/var/run/postgresql",
        ...(o.backup ? [`./pgbackrest/pgbackrest.conf:${PGBACKREST_CONF_PATH}:ro`] : []),
      ],
      ...(postgresCommand(o) ? { command: postgresCommand(o) } : {}),
      ...(o.migrationSource ? { ports: [`${env("VM_INTERNAL_IP")}:5432:5432`] } : {}),
      shm_size: "256mb",
      healthcheck: {
        test: ["CMD", "pg_isready", "-q", "-h", "/var/run/postgresql", "-U", o.dbUser, "-d", o.dbName],
        interval: "10s",
        timeout: "5s",
        retries: 5,
        start_period: "30s",
      },
      stop_grace_period: "60s",
      logging,
    },
    redis: {
      image: o.images.redis,
      restart,
      command: ["redis-server", "/usr/local/etc/redis/redis.conf"],
      volumes: [
        "./redis/redis.conf:/usr/local/etc/redis/redis.conf:ro",
        // src/files/redis.ts: aclfile /run/secrets/redis-users.acl, written by fetch-secrets.sh.
        `${REDIS_ACL_FILE}:/run/secrets/redis-users.acl:ro`,
        `${data}/redis:/data`,
      ],
      // redis-cli reads REDISCLI_AUTH, so the healthcheck authenticates without the password on its command line.
      environment: { REDISCLI_AUTH: env("REDIS_PASSWORD") },
      healthcheck: { test: ["CMD", "redis-cli", "ping"], interval: "10s", timeout: "5s", retries: 5 },
      logging,
    },
    "jitsi-web": {
      image: o.images.jitsiWeb,
      restart,
      expose: ["80"],
      // nginx (ours) terminates TLS and proxies meet.<domain> here.
      environment: { ...xmpp, ...jicofoWebJwtEnv(), DISABLE_HTTPS: "1", ENABLE_LETSENCRYPT: "0", ENABLE_HTTP_REDIRECT: "0" },
      volumes: [`${data}/jitsi/web:/config`],
      depends_on: { "jitsi-prosody": { condition: "service_started" } },
      logging,
    },
    "jitsi-prosody": {
      image: o.images.jitsiProsody,
      restart,
      expose: ["5222", "5347", "5280"],
      // Rooms only with the app's token (JWT auth, src/files/jitsi-auth.ts).
      environment: {
        ...xmpp,
        ...prosodyJwtEnv(env("JITSI_JWT_APP_SECRET")),
        JICOFO_AUTH_PASSWORD: env("JICOFO_AUTH_PASSWORD"),
        JVB_AUTH_PASSWORD: env("JVB_AUTH_PASSWORD"),
      },
      volumes: [`${data}/jitsi/prosody:/config`],
      networks: { default: { aliases: ["xmpp.meet.jitsi"] } },
      logging,
    },
    "jitsi-jicofo": {
      image: o.images.jitsiJicofo,
      restart,
      environment: { ...xmpp, ...jicofoWebJwtEnv(), JICOFO_AUTH_PASSWORD: env("JICOFO_AUTH_PASSWORD"), JVB_BREWERY_MUC: "jvbbrewery" },
      volumes: [`${data}/jitsi/jicofo:/config`],
      depends_on: { "jitsi-prosody": { condition: "service_started" } },
      logging,
    },
    "jitsi-jvb": {
      image: o.images.jitsiJvb,
      restart,
      // Media on UDP 10000 (the firewall's video rule); clients reach the VM's public address directly.
      ports: ["10000:10000/udp"],
      environment: {
        ...xmpp,
        JVB_AUTH_PASSWORD: env("JVB_AUTH_PASSWORD"),
        JVB_BREWERY_MUC: "jvbbrewery",
        JVB_PORT: "10000",
        // The VM sees only its internal address (GCE's external IP is a 1:1 NAT): advertise the public one,
        // read from the metadata server at boot, and the internal one for clients inside the VPC.
        JVB_ADVERTISE_IPS: `${env("VM_PUBLIC_IP")},${env("VM_INTERNAL_IP")}`,
        DOCKER_HOST_ADDRESS: env("VM_PUBLIC_IP"),
        COLIBRI_REST_ENABLED: "true",
      },
      volumes: [`${data}/jitsi/jvb:/config`],
      // jitsi-web proxies /colibri-ws/ to the host "jvb" (docker-jitsi-meet's default name).
      networks: { default: { aliases: ["jvb"] } },
      depends_on: { "jitsi-prosody": { condition: "service_started" } },
      logging,
    },
    "node-exporter": {
      image: o.images.nodeExporter,
      restart,
      // The textfile collector reads the WebSocket gauge the host's websocket-metric.sh writes (src/files/prometheus.ts).
      command: ["--path.rootfs=/host", `--collector.textfile.directory=/host${TEXTFILE_DIR}`],
      pid: "host",
      volumes: ["/:/host:ro,rslave"],
      expose: ["9100"],
      logging,
    },
    "postgres-exporter": {
      image: o.images.postgresExporter,
      restart,
      expose: ["9187"],
      environment: {
        DATA_SOURCE_URI: `postgres:5432/${o.dbName}?sslmode=disable`,
        DATA_SOURCE_USER: o.dbUser,
        DATA_SOURCE_PASS: env("POSTGRES_PASSWORD"),
      },
      depends_on: { postgres: { condition: "service_healthy" } },
      logging,
    },
    "redis-exporter": {
      image: o.images.redisExporter,
      restart,
      expose: ["9121"],
      environment: { REDIS_ADDR: "redis://redis:6379", REDIS_PASSWORD: env("REDIS_PASSWORD") },
      depends_on: { redis: { condition: "service_healthy" } },
      logging,
    },
    prometheus: {
      image: o.images.prometheus,
      restart,
      command: [
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        `--storage.tsdb.retention.time=${o.prometheusRetention ?? "15d"}`,
      ],
      volumes: ["./prometheus:/etc/prometheus:ro", `${data}/prometheus:/prometheus`],
      // Loopback only: reach it through `gcloud compute ssh --tunnel-through-iap -- -L 9090:localhost:9090`.
      ports: ["127.0.0.1:9090:9090"],
      logging,
    },
    grafana: {
      image: o.images.grafana,
      restart,
      environment: {
        GF_SECURITY_ADMIN_PASSWORD: env("GRAFANA_ADMIN_PASSWORD"),
        GF_USERS_ALLOW_SIGN_UP: "false",
        GF_ANALYTICS_REPORTING_ENABLED: "false",
      },
      volumes: ["./grafana/provisioning:/etc/grafana/provisioning:ro", `${data}/grafana:/var/lib/grafana`],
      ports: ["127.0.0.1:3000:3000"],
      depends_on: { prometheus: { condition: "service_started" } },
      logging,
    },
  };
  if (o.tls) {
    // Not started by `up`: certificate.sh runs it for issue and renewal (webroot, HTTP-01 through nginx).
    services.certbot = {
      image: o.images.certbot,
      profiles: ["certbot"],
      volumes: [`${data}/certbot/conf:/etc/letsencrypt`, `${data}/certbot/www:/var/www/certbot`],
      logging,
    };
  }
  const doc = { version: "3.9", services };
  return `# Rendered by src/files/compose.ts. Secrets are \${VAR} references filled from /run/course-organizer/app.env.\n${stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

/** Grafana's provisioned data source: the Prometheus next to it. */
export function grafanaDatasource(): string {
  return `# Rendered by src/files/compose.ts\n${stringify({
    apiVersion: 1,
    datasources: [{ name: "Prometheus", type: "prometheus", access: "proxy", url: "http://prometheus:9090", isDefault: true, editable: false }],
  })}`;
}
