/**
 * Everything the single VM receives, assembled from the pure generators: the compose file, nginx.conf,
 * redis.conf, Prometheus and Grafana files, the scripts and systemd units, and the cloud-init user-data that
 * writes them all. components/vm-platform.ts registers each file with renderFile("vm", path, ...) and passes the
 * user-data to the instance's metadata, so `npm run render` writes exactly what the VM gets.
 *
 * Only names reach this function (secret ids, bucket name): never a secret value.
 */
import { cloudInit } from "./cloud-init";
import { composeFile, dataDirectories, grafanaDatasource, NGINX_PATHS, type ComposeEnv, type ComposeImages } from "./compose";
import { applyIndexesScript } from "./db-indexes";
import { backupScript, backupUnits, pgbackrestConf, postgresImageDockerfile, restoreScript } from "./pgbackrest";
import { nginxConf } from "./nginx";
import { redisConf } from "./redis";
import {
  APP_DIR,
  APPLIED_USER_DATA,
  BIN_DIR,
  DATA_MOUNT,
  ENV_FILE,
  certificateScript,
  configSyncScript,
  copyMediaScript,
  fetchSecretsScript,
  migrateScript,
  mountDataDiskScript,
  oneshotUnit,
  registryLoginScript,
  timerUnit,
} from "./vm-scripts";

/** The data disk's device name on the instance (-> /dev/disk/by-id/google-data). */
export const DATA_DEVICE_NAME = "data";

export interface VmBundleOptions {
  /** Error reporting DSN for the app (config monitoring.sentryDsn). */
  sentryDsn?: string;
  project: string;
  domain: string;
  meetDomain: string;
  /** Let's Encrypt account e-mail (stage 1). */
  acmeEmail: string;
  /** nginx terminates TLS (stage 1); false behind Google's load balancer (stage 2). */
  tls: boolean;
  /** Ranges whose X-Forwarded-For nginx believes (the load balancer's, stage 2). @default [] */
  loadBalancerRanges?: string[];
  images: ComposeImages;
  backendReplicas: number;
  gunicornWorkers: number;
  gunicornThreads: number;
  redis: { maxmemory: string; maxmemoryPolicy: string; save: [number, number][] };
  databaseIndexes: boolean;
  /** Secret ids in Secret Manager, per variable of the env file. */
  secrets: { env: ComposeEnv; secretId: string }[];
  /** Artifact Registry hosts docker logs in to. */
  registryHosts: string[];
  /** Media bucket (stage 2): the app writes media there; the disk's media are copied once when `copyMedia`. */
  mediaBucket?: string;
  publicMedia?: boolean;
  copyMedia?: boolean;
  /** Static-files bucket (stage 2): collectstatic uploads there. */
  staticBucket?: string;
  /** Cloud CDN key name for signed media URLs (its value is the CDN_SIGNING_KEY secret in `secrets`). */
  cdnSigningKeyName?: string;
  /** Static/media cache lifetimes nginx sets (seed: 30 and 7 days). */
  staticCacheDays?: number;
  mediaCacheDays?: number;
  /** The VM's PostgreSQL is a Database Migration Service source (src/files/compose.ts migrationSource). @default false */
  postgresMigrationSource?: boolean;
  /**
   * The self-hosted monitoring's files, paths relative to the app directory (src/files/prometheus.ts
   * vmMonitoringFiles: prometheus/prometheus.yml and rules, grafana/provisioning/..., bin/websocket-metric.sh).
   * Unset: a minimal Prometheus config scraping the VM and Prometheus itself, and Grafana's data source.
   */
  monitoringFiles?: { path: string; content: string; permissions?: string }[];
  /**
   * Point-in-time recovery of PostgreSQL with pgBackRest to the backup bucket (src/files/pgbackrest.ts): WAL
   * archiving, a daily base backup at `backupStartTime` (UTC HH:MM; full on `fullBackupDay`, 1 = Monday .. 7,
   * differential otherwise), `fullBackupsKept` full backups kept. Unset: no archiving.
   */
  backup?: { bucket: string; archiveTimeoutSeconds: number; fullBackupsKept: number; fullBackupDay: number; backupStartTime: string };
}

export interface VmFile {
  /** Path on the VM. */
  vmPath: string;
  /** Path in the rendered `vm/` folder. */
  renderPath: string;
  content: string;
  permissions: string;
}

export const DB_NAME = "course_organizer";
export const DB_USER = "course_organizer";

/** The minimal Prometheus config used until src/files/prometheus.ts provides the full one. */
function minimalPrometheus(): string {
  return [
    "# Rendered by src/files/vm-bundle.ts (minimal: the VM itself and Prometheus).",
    "global:",
    "  scrape_interval: 30s",
    "  evaluation_interval: 30s",
    "scrape_configs:",
    "  - job_name: node",
    "    static_configs:",
    "      - targets: ['node-exporter:9100']",
    "  - job_name: prometheus",
    "    static_configs:",
    "      - targets: ['localhost:9090']",
    "",
  ].join("\n");
}

/** Every file the VM receives (without the user-data itself). */
export function vmFiles(o: VmBundleOptions): VmFile[] {
  const files: VmFile[] = [];
  const app = (rel: string, content: string, permissions = "0644") => files.push({ vmPath: `${APP_DIR}/${rel}`, renderPath: rel, content, permissions });
  const unit = (unitName: string, content: string) =>
    files.push({ vmPath: `/etc/systemd/system/${unitName}`, renderPath: `systemd/${unitName}`, content, permissions: "0644" });
  const script = (n: string, content: string) => app(`bin/${n}`, content, "0755");

  const mediaInBucket = o.mediaBucket !== undefined;
  app(
    "docker-compose.yml",
    composeFile({
      images: o.images,
      domain: o.domain,
      meetDomain: o.meetDomain,
      tls: o.tls,
      backendReplicas: o.backendReplicas,
      gunicornWorkers: o.gunicornWorkers,
      gunicornThreads: o.gunicornThreads,
      dbName: DB_NAME,
      dbUser: DB_USER,
      mediaBucket: o.mediaBucket,
      staticBucket: o.staticBucket,
      cdnSigningKeyName: o.cdnSigningKeyName,
      publicMedia: o.publicMedia,
      migrationSource: o.postgresMigrationSource,
      sentryDsn: o.sentryDsn,
      backup: o.backup ? { archiveTimeoutSeconds: o.backup.archiveTimeoutSeconds } : undefined,
    }),
    "0640",
  );
  if (o.backup) {
    app("pgbackrest/pgbackrest.conf", pgbackrestConf({ bucket: o.backup.bucket, fullBackupsKept: o.backup.fullBackupsKept }));
    app("postgres/Dockerfile", postgresImageDockerfile());
  }
  app(
    "nginx/nginx.conf",
    nginxConf({
      serverName: o.domain,
      meetServerName: o.meetDomain,
      tls: o.tls,
      // Docker's DNS answers "backend" with every replica's address; nginx balances across them.
      apiUpstreams: ["backend:8000"],
      wsUpstreams: ["daphne:8001"],
      jitsiUpstream: "jitsi-web:80",
      staticRoot: NGINX_PATHS.staticRoot,
      mediaRoot: mediaInBucket ? undefined : NGINX_PATHS.mediaRoot,
      certDir: `${NGINX_PATHS.letsencrypt}/live/${o.domain}`,
      acmeRoot: NGINX_PATHS.acmeRoot,
      loadBalancerRanges: o.loadBalancerRanges,
      staticCacheDays: o.staticCacheDays,
      mediaCacheDays: o.mediaCacheDays,
    }),
  );
  app("redis/redis.conf", redisConf({ maxmemory: o.redis.maxmemory, maxmemoryPolicy: o.redis.maxmemoryPolicy, save: o.redis.save }));
  if (o.monitoringFiles) {
    for (const f of o.monitoringFiles) app(f.path, f.content, f.permissions ?? "0644");
  } else {
    app("prometheus/prometheus.yml", minimalPrometheus());
    app("grafana/provisioning/datasources/prometheus.yml", grafanaDatasource());
  }
  const websocketMetric = o.monitoringFiles?.some((f) => f.path === "bin/websocket-metric.sh") ?? false;

  script("mount-data-disk.sh", mountDataDiskScript({ deviceName: DATA_DEVICE_NAME, directories: dataDirectories() }));
  script("fetch-secrets.sh", fetchSecretsScript({ project: o.project, secrets: o.secrets, redisPasswordEnv: "REDIS_PASSWORD" }));
  script("registry-login.sh", registryLoginScript({ hosts: o.registryHosts }));
  script("apply-db-indexes.sh", applyIndexesScript());
  script(
    "migrate.sh",
    migrateScript({
      databaseIndexes: o.databaseIndexes,
      indexesScript: `${BIN_DIR}/apply-db-indexes.sh`,
      dbUser: DB_USER,
      dbName: DB_NAME,
      collectstatic: !o.staticBucket,
    }),
  );
  script("config-sync.sh", configSyncScript());
  if (o.backup) {
    script("pg-backup.sh", backupScript({ fullBackupDay: o.backup.fullBackupDay }));
    // Every service that talks to PostgreSQL stops while it is restored.
    script("pg-restore.sh", restoreScript({ clients: ["nginx", "backend", "daphne", "postgres-exporter"] }));
  }
  const marker = o.mediaBucket ? `${DATA_MOUNT}/.media-copied-to-${o.mediaBucket}` : "";
  if (o.mediaBucket && o.copyMedia) {
    script("copy-media-to-gcs.sh", copyMediaScript({ source: `${DATA_MOUNT}/media`, bucket: o.mediaBucket, doneMarker: marker }));
  }
  const domains = [o.domain, o.meetDomain];
  if (o.tls) {
    script(
      "certificate.sh",
      certificateScript({ domains, email: o.acmeEmail, confDir: `${DATA_MOUNT}/certbot/conf`, webrootDir: `${DATA_MOUNT}/certbot/www` }),
    );
  }

  unit(
    "co-data-disk.service",
    oneshotUnit({
      description: "Course Organizer: format (only if blank) and mount the data disk",
      exec: [`${BIN_DIR}/mount-data-disk.sh`],
      // cloud-init writes the scripts and units (write_files, config stage) before anything of ours runs.
      after: ["cloud-config.service"],
      before: ["co-app.service"],
    }),
  );
  unit(
    "co-secrets.service",
    oneshotUnit({
      description: "Course Organizer: fetch secrets from Secret Manager into /run",
      exec: [`${BIN_DIR}/fetch-secrets.sh`],
      wants: ["network-online.target"],
      after: ["network-online.target", "cloud-config.service"],
      before: ["co-app.service"],
      timeoutStartSec: 600,
    }),
  );
  unit(
    "co-app.service",
    oneshotUnit({
      description: "Course Organizer: the app (docker compose)",
      requires: ["docker.service", "co-secrets.service", "co-data-disk.service"],
      wants: ["network-online.target"],
      // After cloud-config: when user-data was re-applied (co-config-sync), compose starts from the new files.
      after: ["docker.service", "co-secrets.service", "co-data-disk.service", "network-online.target", "cloud-config.service"],
      // Never start PostgreSQL and Redis on the boot disk: without the data disk mounted the app stays down.
      requiresMountsFor: [DATA_MOUNT],
      workingDirectory: APP_DIR,
      execStartPre: [`${BIN_DIR}/registry-login.sh`, ...(o.tls ? [`${BIN_DIR}/certificate.sh placeholder`] : [])],
      exec: [`/usr/bin/docker compose --env-file ${ENV_FILE} -f ${APP_DIR}/docker-compose.yml up -d --remove-orphans`],
      execStop: [`/usr/bin/docker compose --env-file ${ENV_FILE} -f ${APP_DIR}/docker-compose.yml stop`],
      // Image pulls on the first boot take minutes.
      timeoutStartSec: 1200,
    }),
  );
  unit(
    "co-migrate.service",
    oneshotUnit({
      description: "Course Organizer: Django migrations, then the database indexes",
      requires: ["co-app.service"],
      after: ["co-app.service"],
      exec: [`${BIN_DIR}/migrate.sh`],
      timeoutStartSec: 3600,
    }),
  );
  unit(
    "co-config-sync.service",
    oneshotUnit({
      description: "Course Organizer: re-apply changed user-data",
      wants: ["network-online.target"],
      // At boot too; while cloud-init is still running it leaves the check to the timer (5 minutes after boot).
      after: ["network-online.target"],
      before: ["co-app.service"],
      exec: [`${BIN_DIR}/config-sync.sh`],
      remainAfterExit: false,
    }),
  );
  unit("co-config-sync.timer", timerUnit({ description: "Course Organizer: check for changed user-data", onBootSec: "5min", onUnitActiveSec: "5min" }));
  const timers = ["co-config-sync.timer"];
  if (o.backup) {
    const u = backupUnits({ backupStartTime: o.backup.backupStartTime, binDir: BIN_DIR });
    unit("co-pg-stanza.service", u.stanza);
    unit("co-pg-backup.service", u.service);
    unit("co-pg-backup.timer", u.timer);
    timers.push("co-pg-backup.timer");
  }
  if (websocketMetric) {
    unit(
      "co-websocket-metric.service",
      oneshotUnit({
        description: "Course Organizer: publish Daphne's WebSocket connection count",
        after: ["co-app.service"],
        exec: [`${BIN_DIR}/websocket-metric.sh`],
        wantedBy: null,
        remainAfterExit: false,
      }),
    );
    // Every minute: Cloud Monitoring's custom-metric alignment period and Prometheus' scrape both see fresh values.
    unit(
      "co-websocket-metric.timer",
      timerUnit({ description: "Course Organizer: WebSocket gauge", onBootSec: "2min", onUnitActiveSec: "1min", accuracySec: "1s" }),
    );
    timers.push("co-websocket-metric.timer");
  }
  if (o.mediaBucket && o.copyMedia) {
    unit(
      "co-media-copy.service",
      oneshotUnit({
        description: "Course Organizer: copy the data disk's media into Cloud Storage (once)",
        after: ["co-app.service", "network-online.target"],
        requiresMountsFor: [DATA_MOUNT],
        conditions: [`ConditionPathExists=!${marker}`],
        exec: [`${BIN_DIR}/copy-media-to-gcs.sh`],
        wantedBy: null,
        remainAfterExit: false,
      }),
    );
    // A timer, not a boot dependency: the copy may take hours; a failed or interrupted run is retried hourly.
    unit("co-media-copy.timer", timerUnit({ description: "Course Organizer: media copy (until done)", onBootSec: "3min", onUnitActiveSec: "1h" }));
    timers.push("co-media-copy.timer");
  }
  if (o.tls) {
    unit(
      "co-cert.service",
      oneshotUnit({
        description: "Course Organizer: issue or renew the Let's Encrypt certificate",
        requires: ["co-app.service"],
        after: ["co-app.service"],
        exec: [`${BIN_DIR}/certificate.sh renew`],
        wantedBy: null,
        remainAfterExit: false,
      }),
    );
    // Let's Encrypt recommends two renewal attempts a day; certbot renews only within 30 days of expiry.
    unit(
      "co-cert.timer",
      timerUnit({ description: "Course Organizer: certificate issue/renewal", onBootSec: "2min", onUnitActiveSec: "12h", randomizedDelaySec: "1h" }),
    );
    timers.push("co-cert.timer");
  }
  return files;
}

/** The cloud-init user-data that writes `files` and starts the app. */
export function vmUserData(o: VmBundleOptions, files: VmFile[] = vmFiles(o)): string {
  const units = files.filter((f) => f.vmPath.startsWith("/etc/systemd/system/")).map((f) => f.vmPath.split("/").pop()!);
  const services = [
    "co-config-sync.service",
    "co-data-disk.service",
    "co-secrets.service",
    "co-app.service",
    "co-migrate.service",
    ...(units.includes("co-pg-stanza.service") ? ["co-pg-stanza.service"] : []),
  ];
  const timers = units.filter((u) => u.endsWith(".timer"));
  return cloudInit({
    files: files.map((f) => ({ path: f.vmPath, content: f.content, permissions: f.permissions })),
    runcmd: [
      // What write_files just applied: co-config-sync compares the metadata with this copy (cloud-init's own
      // user-data.txt is rewritten from the metadata at every boot, applied or not).
      ["install", "-D", "-m", "0600", "/var/lib/cloud/instance/user-data.txt", APPLIED_USER_DATA],
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", "docker.service"],
      ["systemctl", "enable", ...services, ...timers],
      // Mount, fetch secrets, compose up (blocks until the containers are created), then migrations in the background.
      ["systemctl", "start", "co-app.service"],
      ["systemctl", "start", "--no-block", "co-migrate.service", ...(units.includes("co-pg-stanza.service") ? ["co-pg-stanza.service"] : []), ...timers],
    ],
  });
}
