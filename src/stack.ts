/**
 * Composition: which components exist for this config, and how they are wired. This is the one place that
 * looks at the config as a whole; components receive only their own typed args. Component names (the first
 * constructor argument) never contain the stage, so their URNs survive stage moves.
 */
import { alertThresholds, type Config } from "./config/schema";
import { APP_INSTANCE_BOOT_SECONDS } from "./config/boot-times";
import { labels as labelsFor } from "./naming";
import { Network, regionRanges } from "../components/network";
import { GOOGLE_LB_RANGES } from "../components/network";
import * as pulumi from "@pulumi/pulumi";
import { bucketName } from "./naming";
import { ServiceAccount } from "../components/service-account";
import { caBundleOf, Database, type DatabaseMigrationSource } from "../components/database";
import { Redis } from "../components/redis";
import { AppSettings, PGBOUNCER_PORT } from "../components/app-settings";
import { tags as networkTags } from "../components/network";
import { DB_NAME as VM_DB_NAME, DB_USER as VM_DB_USER } from "./files/vm-bundle";
import { Secret } from "../components/secret";
import { ArtifactRegistry } from "../components/artifact-registry";
import { VmPlatform, VM_PROJECT_ROLES, type VmSecret } from "../components/vm-platform";
import { vmMonitoringFiles } from "./files/prometheus";
import { VM_WS_PER_DAPHNE } from "./config/capacity";
import { Monitoring, zonesOf } from "../components/monitoring";
import { AuditLogging } from "../components/audit-logging";
import { capacityOf } from "./config/capacity";
import { spotPoolBounds } from "./config/node-capacity";
import { VM_POSTGRES_MAX_CONNECTIONS } from "./files/ops-agent";
import { Media } from "../components/media";
import { LoadBalancer, type BackendTarget, type LoadBalancerArgs, type RouteArgs } from "../components/load-balancer";
import { InstancePool, type PoolAutoscaling } from "../components/instance-pool";
import { JitsiSignaling } from "../components/jitsi-signaling";
import { VideoBridgePool } from "../components/video-bridges";
import { appInstanceFiles, appInstanceUserData, appPort, WS_CONNECTIONS_METRIC, type AppInstanceOptions, type AppKind } from "./files/app-instance";
import type { JitsiEnv } from "./files/jitsi";
import { appSecurityHeaders, asHeaderLines, HSTS } from "./files/security-headers";
import * as gcp from "@pulumi/gcp";
import { GkeCluster, masterCidr } from "../components/gke-cluster";
import { Workloads, WorkloadIdentities, negSelfLink } from "../components/workloads";
import { APP_PORT, WORKLOADS } from "./files/k8s-manifests";
import { Queue } from "../components/queue";
import { RedisCluster } from "../components/redis-cluster";
import { Memcached } from "../components/memcached";
import { ImageMirror } from "../components/image-mirror";
import { mirrorImages, registryHostsOf } from "./images";
import { Dns } from "../components/dns";
import { HEALTH_PATHS } from "./contract";
import { DeferredSettings, databasesMap, shardDatabaseName, stage4SettingKeys } from "./stage4-settings";
import { BackupBucket } from "../components/backup-bucket";
import { failoverPlan, vmBackupArgs } from "./recovery";

export interface StackContext {
  config: Config;
  /** Labels for a component: app, component, stage, managed-by (plus the stack's extra labels). */
  labels: (component: string) => Record<string, string>;
  /** All regions, the primary first. */
  regions: string[];
}

export function contextFor(config: Config): StackContext {
  return {
    config,
    labels: (component) => labelsFor({ stage: config.stage, extra: config.labels }, component),
    regions: [config.region, ...config.secondaryRegions],
  };
}

export async function buildStack(config: Config): Promise<Record<string, unknown>> {
  const ctx = contextFor(config);
  const c = config;
  const fo = failoverPlan(c);

  const network = new Network("network", {
    prefix: c.prefix,
    labels: ctx.labels("network"),
    regions: regionRanges(ctx.regions, c.network),
    // Once a load balancer fronts the web machines, only Google's proxies reach 80/443.
    webSourceRanges: c.loadBalancer.enabled ? GOOGLE_LB_RANGES : ["0.0.0.0/0"],
    privateServiceAccess: c.network.privateServiceAccess,
    privateServicesPrefixLength: c.network.privateServicesPrefixLength,
    privateServicesAddress: c.network.privateServicesAddress,
  });

  /** Stack outputs; each section below adds its own. */
  const outputs: Record<string, unknown> = { stage: c.stage, network: network.network.name };

  // ── Identities, secrets, artifact registry (every stage) ──────────────────────────────────────────
  // The VM exists while it serves (stages 1-2) and, stopped, while its data is migrated (vm.retained, stage 3).
  const vmPresent = c.vm.enabled || c.vm.retained;
  // The VM's identity is created before the secrets and the repository, which grant it access on each resource.
  const vmIdentity = vmPresent
    ? new ServiceAccount("vm-identity", {
        prefix: c.prefix,
        project: c.project,
        role: "vm",
        description: "Course Organizer single VM: reads its secrets and images, writes logs and metrics",
        roles: VM_PROJECT_ROLES,
      })
    : undefined;
  const vmAccessors = vmIdentity ? [vmIdentity.email] : [];
  /** The VM's generated secrets, one Secret each; kept at every stage so a value never changes under a move. */
  const vmSecretDefs: { name: string; env: VmSecret["env"]; length?: number }[] = [
    { name: "vm-db-password", env: "POSTGRES_PASSWORD" },
    // Django's SECRET_KEY: 50 characters, as Django's own startproject generates.
    { name: "django-secret-key", env: "DJANGO_SECRET_KEY", length: 50 },
    { name: "jitsi-jicofo-password", env: "JICOFO_AUTH_PASSWORD" },
    { name: "jitsi-jvb-password", env: "JVB_AUTH_PASSWORD" },
    { name: "grafana-admin-password", env: "GRAFANA_ADMIN_PASSWORD" },
    { name: "vm-redis-password", env: "REDIS_PASSWORD" },
    // pgBackRest's repository encryption (src/files/pgbackrest.ts): a changed value would make every existing
    // backup unreadable, so it is created once and kept at every stage like the others.
    { name: "vm-backup-cipher-pass", env: "PGBACKREST_CIPHER_PASS", length: 64 },
    // Jitsi's JWT secret (HS256, 64 characters): Prosody verifies the room tokens the app signs with it, every stage.
    { name: "jitsi-jwt-secret", env: "JITSI_JWT_APP_SECRET", length: 64 },
  ];
  const vmSecrets = vmSecretDefs.map((d) => ({
    env: d.env,
    secret: new Secret(d.name, {
      prefix: c.prefix,
      labels: ctx.labels("secrets"),
      role: d.name,
      length: d.length,
      // Alphanumeric: the values go into URLs (DATABASE_URL, REDIS_URL) and env files unquoted.
      special: false,
      accessors: vmAccessors,
    }),
  }));
  const registry = new ArtifactRegistry("artifact-registry", {
    prefix: c.prefix,
    project: c.project,
    location: c.region,
    labels: ctx.labels("artifact-registry"),
    readers: vmIdentity ? [vmIdentity.member] : [],
  });
  outputs.registryUrl = registry.url;
  // Docker Hub images come through the project's pull-through cache at every stage (src/images.ts says why).
  const mirror = new ImageMirror("image-mirror", {
    prefix: c.prefix,
    project: c.project,
    location: c.region,
    labels: ctx.labels("image-mirror"),
    readers: vmIdentity ? [vmIdentity.member] : [],
  });
  const images = mirrorImages(c.images, mirror.prefix);
  // The release step of the deploy workflow publishes this image's static files (scripts/publish-static.sh).
  outputs.backendImage = images.backend;
  const registryHosts = [...new Set([registry.host, ...registryHostsOf(Object.values(images))])];
  outputs.imageMirror = mirror.prefix;

  // ── Media buckets and the CDN signing key (stage 2 on; before the VM, whose files and grants use them) ──
  // Buckets named <project>-<prefix>-static and <project>-<prefix>-media: bucket names are global, the project id is unique.
  // The load balancer that serves them is built after the backends (end of this file).
  const lbDomains = [c.domain, ...c.loadBalancer.extraDomains];
  if (c.loadBalancer.enabled && !c.media.enabled) {
    throw new Error("loadBalancer.enabled needs media.enabled: the load balancer serves /static/* and /media/* from the media buckets");
  }
  const media = c.media.enabled
    ? new Media("media", {
        prefix: c.prefix,
        project: c.project,
        labels: ctx.labels("media"),
        location: c.media.location,
        domains: lbDomains,
        publicMedia: c.media.publicMedia,
        nearlineAfterDays: c.media.nearlineAfterDays,
        softDeleteDays: c.media.softDeleteDays,
        // Whoever signs media URLs reads the key: the VM at stage 2 here; from stage 3 the HTTP pool and the GKE
        // api workload grant their own accounts by listing media.signingKeySecretId in their secret ids.
        signingKeyAccessors: vmIdentity && c.vm.enabled ? [vmIdentity.email] : [],
      })
    : undefined;
  if (media) {
    outputs.staticBucket = media.staticBucketName;
    outputs.mediaBucket = media.mediaBucketName;
    // The release identity that alone writes the static bucket (scripts/publish-static.sh impersonates it).
    outputs.staticPublisher = media.staticPublisher.email;
    if (media.signingKeySecretId) outputs.cdnSigningKeySecret = media.signingKeySecretId;
    if (media.keyName) outputs.cdnSigningKeyName = media.keyName;
  }

  // ── Point-in-time recovery of the VM's PostgreSQL: the backup bucket (while the VM exists) ────────
  const backupBucket =
    vmIdentity && c.vm.backup.enabled
      ? new BackupBucket("vm-backups", {
          prefix: c.prefix,
          project: c.project,
          labels: ctx.labels("vm-backups"),
          location: c.vm.backup.bucketLocation,
          deletedObjectRetentionDays: c.vm.backup.deletedObjectRetentionDays,
          writers: [vmIdentity.member],
        })
      : undefined;
  if (backupBucket) outputs.vmBackupBucket = backupBucket.bucketName;

  // ── Single-VM platform (stages 1-2; retained, stopped, at stage 3) ───────────────────────────────
  const vm =
    vmPresent && vmIdentity
      ? new VmPlatform("vm", {
          prefix: c.prefix,
          project: c.project,
          region: c.region,
          // GCP zones are not all a/b/c (europe-west1 has b, c, d); -b exists in every region we use.
          zone: c.vm.zone ?? `${c.region}-b`,
          labels: ctx.labels("vm"),
          network: network.network.id,
          subnetwork: network.subnets[c.region]!.id,
          serviceAccountEmail: vmIdentity.email,
          machineType: c.vm.machineType,
          bootDiskGb: c.vm.bootDiskGb,
          dataDiskGb: c.vm.dataDiskGb,
          dataDiskType: c.vm.dataDiskType,
          snapshotRetentionDays: c.vm.snapshotRetentionDays,
          snapshotStartTime: c.vm.snapshotStartTime,
          secrets: vmSecrets.map((s) => ({ env: s.env, secretId: s.secret.secretId })),
          // The first boot reads every secret and pulls the backend image: the values and grants exist before it.
          bootDependencies: [
            ...vmSecrets.flatMap((s) => [s.secret.version, ...s.secret.accessorGrants]),
            ...registry.readerGrants,
            ...mirror.readerGrants,
            ...(media?.signingKey && c.vm.enabled ? [media.signingKey.version, ...media.signingKey.accessorGrants] : []),
            ...(backupBucket?.writerGrants ?? []),
          ],
          registryHosts,
          images,
          domain: c.domain,
          meetDomain: c.meetDomain,
          acmeEmail: c.alertEmails[0]!,
          backendReplicas: c.vm.backendReplicas,
          gunicornWorkers: c.vm.gunicornWorkers,
          gunicornThreads: c.vm.gunicornThreads,
          redis: { maxmemory: c.vm.redisMaxmemory, maxmemoryPolicy: c.vm.redisMaxmemoryPolicy, save: c.vm.redisSave },
          databaseIndexes: c.vm.databaseIndexes,
          // Stage 2: media and static files in Cloud Storage (the media section's buckets: the grants and files
          // take their names as outputs, so they wait for the buckets).
          mediaBucket: media?.mediaBucket.name,
          staticBucket: media?.staticBucket.name,
          // Private media: the app signs CDN URLs with the media section's key (it grants the VM's account access).
          cdnSigningKey: media?.keyName && media.signingKeySecretId ? { keyName: media.keyName, secretId: media.signingKeySecretId } : undefined,
          publicMedia: c.media.publicMedia,
          sentryDsn: c.monitoring.sentryDsn,
          copyMediaToBucket: c.media.copyFromVm,
          staticCacheDays: c.media.staticCacheDays,
          mediaCacheDays: c.media.mediaCacheDays,
          behindLoadBalancer: c.loadBalancer.enabled,
          loadBalancerRanges: c.loadBalancer.enabled ? GOOGLE_LB_RANGES : undefined,
          // The seed's self-hosted monitoring (Prometheus, Grafana) with the same thresholds as Cloud Monitoring's policies.
          monitoringFiles: vmMonitoringFiles({
            project: c.project,
            thresholds: alertThresholds(c.monitoring),
            durationSeconds: c.monitoring.durationSeconds,
            // The VM's own Prometheus watches its one Daphne process (seed: ~10,000 connections).
            websocketCapacity: VM_WS_PER_DAPHNE,
          }),
          // The Database Migration Service job reads the VM's PostgreSQL over the VPC (Cloud SQL section).
          postgresMigrationSource: c.database.migrateFromVm,
          backup: backupBucket ? vmBackupArgs(c.vm.backup, backupBucket.bucketName) : undefined,
          // Stage 3 (vm.enabled false, vm.retained true): stopped, out of the load balancer, final snapshot.
          retired: !c.vm.enabled,
        })
      : undefined;
  if (vm) {
    outputs.vmIp = vm.address;
    outputs.vmName = vm.instance.name;
    outputs.vmZone = vm.instance.zone;
    outputs.vmServiceAccount = vm.serviceAccountEmail;
    outputs.vmDataDisk = vm.dataDisk.name;
  }

  /**
   * What the global load balancer routes to. Each section that creates a backend registers it here
   * (`lbBackends.httpPool = {...}` in the instance-pool section, `lbBackends.gke = {...}` in the GKE section);
   * the load-balancer section after them builds every route in one place with lbRoutes() (end of this file).
   */
  const lbBackends: LbBackends = {
    // Stage 2: the VM's unmanaged instance group (named port http:80); none once the VM is retired.
    vm: vm?.instanceGroup ? { group: vm.instanceGroup.selfLink } : undefined,
  };

  // ── Cloud SQL, Memorystore, app settings (stage 3 on) ────────────────────────────────────────────
  // Who reads these secrets: each instance pool grants its own service account the app-settings secret (its
  // `secretIds`, pools section), and stage 4's workloads grant theirs. The settings carry everything the app
  // needs, so the database password and the Redis AUTH string have no reader besides Pulumi itself.
  const appAccessors: pulumi.Input<string>[] = [];
  /** The app's database and role: the VM's PostgreSQL names (src/files/vm-bundle.ts), so a migration keeps them. */
  const APP_DATABASE = VM_DB_NAME;
  const APP_DB_USER = VM_DB_USER;
  /**
   * The VM's PostgreSQL as the Database Migration Service source (stage 2 to 3, config database.migrateFromVm):
   * its internal IP over the VPC, its database owner (the postgres image makes POSTGRES_USER a superuser, which
   * has REPLICATION) and that user's password from the VM's secret.
   */
  const vmDbPassword = vmSecrets.find((s) => s.env === "POSTGRES_PASSWORD")?.secret.value;
  const vmMigrationSource: DatabaseMigrationSource | undefined =
    c.database.migrateFromVm && vm && vmDbPassword
      ? {
          host: vm.instance.networkInterfaces.apply((n) => n[0]?.networkIp ?? ""),
          port: 5432,
          user: VM_DB_USER,
          password: vmDbPassword,
          // The VM carries the web tag (components/vm-platform.ts).
          targetTags: [networkTags.web],
          privateServicesPrefixLength: c.network.privateServicesPrefixLength,
          state: c.database.migrationState,
        }
      : undefined;
  const database = c.database.enabled
    ? new Database("database", {
        prefix: c.prefix,
        labels: ctx.labels("database"),
        role: "db",
        project: c.project,
        region: c.region,
        network: network.network.id,
        privateServiceConnection: network.privateServiceConnection,
        version: c.database.version,
        tier: c.database.tier,
        availabilityType: c.database.availabilityType,
        diskGb: c.database.diskGb,
        diskAutoresizeLimitGb: c.database.diskAutoresizeLimitGb,
        backupStartTime: c.database.backupStartTime,
        backupRetainedCount: c.database.backupRetainedCount,
        pitrDays: c.database.pitrDays,
        maintenanceDay: c.database.maintenanceDay,
        maintenanceHour: c.database.maintenanceHour,
        maxConnections: c.database.maxConnections,
        databases: [APP_DATABASE],
        userName: APP_DB_USER,
        passwordAccessors: appAccessors,
        // Same-region read replicas "0".."n-1" (seed: "Read replicas: 1-2"), one per further region (stage 4)
        // and the read-only analytics replica (seed's sharding DATABASES map). Keys, not positions, name them.
        replicas: [
          ...Array.from({ length: c.database.readReplicas }, (_, i) => ({ key: String(i), region: c.region })),
          ...(c.database.crossRegionReplicas ? c.secondaryRegions.map((region) => ({ key: region, region })) : []),
          ...(c.database.analyticsReplica ? [{ key: "analytics", region: c.region, readOnly: true }] : []),
        ],
        migrateFrom: c.database.migrateFromVm && vmMigrationSource ? vmMigrationSource : undefined,
        adoptDatabases: c.database.adoptDatabases,
        promote: fo.promote(c.database.readReplicas),
      })
    : undefined;
  // Region loss (config failover, src/recovery.ts): the lost region's cache stays in the program unchanged and a
  // new one serves from the active region; in normal operation `fo.regions` is only the primary region.
  const caches = fo.regions.map((r) =>
    c.cache.enabled
      ? new Redis(`cache${r.suffix}`, {
        prefix: c.prefix,
        labels: ctx.labels("cache"),
        role: `cache${r.suffix}`,
        region: r.region,
        network: network.network.id,
        privateServiceConnection: network.privateServiceConnection,
        tier: c.cache.tier,
        memoryGb: c.cache.memoryGb,
        redisVersion: c.cache.redisVersion,
        maxmemoryPolicy: "allkeys-lru",
        // Memorystore's shortest period; the seed's stage-2 "save 900 1" snapshotted every 15 minutes.
        rdbSnapshotPeriod: "ONE_HOUR",
        maintenanceDay: c.database.maintenanceDay,
        // An hour after Cloud SQL's window, so the two never restart together.
        maintenanceHour: (c.database.maintenanceHour + 1) % 24,
        authAccessors: appAccessors,
      })
      : undefined,
  );
  const cache = caches.at(-1);
  // Stage-4 settings (DATABASES map, Channels hosts, caches, queue): keys from the config, values filled by the
  // stage-4 section once its resources exist (src/stage4-settings.ts).
  const stage4Settings = new DeferredSettings(stage4SettingKeys(c));
  const appSettings =
    database && cache
      ? new AppSettings("app-settings", {
          prefix: c.prefix,
          labels: ctx.labels("app-settings"),
          database: {
            name: APP_DATABASE,
            user: database.userName,
            password: database.password.value,
            directHost: database.privateIp,
            replicaHost: database.replicas.find((r) => r.region === fo.activeRegion && r.key !== "analytics" && r.key !== c.failover.activeRegion)?.privateIp,
          },
          redisUrl: cache.url,
          redisCaCert: cache.caCert,
          mediaBucket: bucketName(c.project, c.prefix, "media"),
          staticBucket: bucketName(c.project, c.prefix, "static"),
          // /static and /media are served by Cloud CDN behind the load balancer, on the site's own domain.
          cdnHost: c.domain,
          jitsiDomain: c.meetDomain,
          sentryDsn: c.monitoring.sentryDsn,
          extra: stage4Settings.extra,
          accessors: appAccessors,
        })
      : undefined;
  if (database) {
    outputs.databaseConnectionName = database.connectionName;
    outputs.databasePrivateIp = database.privateIp;
    outputs.databaseReplicaIps = pulumi.all(database.replicas.map((r) => r.privateIp));
  }
  if (cache) outputs.redisHost = cache.host;
  // The app reads its settings from this secret at boot; its /ws clients must send heartbeats as data frames,
  // since Google's load balancer does not count WebSocket ping/pong as activity (docs: components/app-settings.ts).
  if (appSettings) outputs.appSettingsSecret = appSettings.secretId;
  if (database?.migrationJob) outputs.migrationJob = database.migrationJob.name;

  // ── HTTP and WebSocket instance groups, Jitsi signaling and Videobridge pools (stage 3 on) ──────
  // Both app pools run the backend image with PgBouncer in front of Cloud SQL and read the app-settings secret at
  // boot; each has its own service account, granted exactly the secrets, repository and buckets it uses.
  const poolZones = zonesOf(c.region).slice(0, 3);
  const djangoSecret = vmSecrets.find((s) => s.env === "DJANGO_SECRET_KEY")!.secret;
  const jitsiJwtSecret = vmSecrets.find((s) => s.env === "JITSI_JWT_APP_SECRET")!.secret;
  const appPool = (kind: AppKind) => {
    const p = kind === "http" ? c.httpPool : c.wsPool;
    if (!p.enabled || !database || !appSettings) return undefined;
    // Private media: Gunicorn signs the CDN URLs with the media section's key (its secret, granted below).
    const signing =
      kind === "http" && media?.signingKey && media.keyName ? { secretId: media.signingKey.secretId, keyName: media.keyName, version: media.signingKey.version } : undefined;
    const extraSecrets = [
      { env: "DJANGO_SECRET_KEY", secretId: djangoSecret.secretId },
      // Gunicorn signs Jitsi room tokens (src/files/jitsi-auth.ts); Daphne has no use for the secret.
      ...(kind === "http" ? [{ env: "JITSI_JWT_APP_SECRET", secretId: jitsiJwtSecret.secretId }] : []),
      ...(signing ? [{ env: "CDN_SIGNING_KEY", secretId: signing.secretId }] : []),
    ];
    const boot = appInstanceInputs({
      kind,
      project: c.project,
      backendImage: images.backend,
      pgbouncerImage: images.pgbouncer,
      registryHosts,
      settingsSecretId: appSettings.secretId,
      secrets: extraSecrets,
      cdnSigningKeyName: signing?.keyName,
      dbHost: database.privateIp,
      // The CAs of the primary and its replicas: PgBouncer's and the direct connections' (DATABASE_REPLICA_URL).
      dbCaCert: database.caBundle,
      dbName: APP_DATABASE,
      poolSize: c.database.pgbouncerPoolSize,
      domain: c.domain,
      gunicornWorkers: c.httpPool.gunicornWorkers,
      gunicornThreads: c.httpPool.gunicornThreads,
    });
    const autoscaling: PoolAutoscaling =
      kind === "http"
        ? {
            minReplicas: c.httpPool.minReplicas,
            maxReplicas: c.httpPool.maxReplicas,
            cooldownSeconds: c.httpPool.cooldownSeconds,
            cpuTarget: c.httpPool.cpuTargetPercent / 100,
            // Seed "Request count: 100 req/s per instance": the /api backend balances in RATE mode with
            // maxRatePerInstance = requestsPerSecondPerInstance (lbRoutes), and the autoscaler keeps 100 %
            // of that capacity, i.e. it adds instances once the mean passes 100 req/s (10 x 100 = the stage's peak).
            loadBalancingUtilization: 1,
            scaleIn: { maxReplicas: c.httpPool.scaleInMaxReplicas, windowSeconds: c.httpPool.scaleInWindowSeconds },
          }
        : {
            minReplicas: c.wsPool.minReplicas,
            maxReplicas: c.wsPool.maxReplicas,
            cooldownSeconds: c.wsPool.cooldownSeconds,
            metrics: [
              // Seed "Memory 75 %": the Ops Agent's per-instance memory use (the hypervisor cannot see it).
              { name: "agent.googleapis.com/memory/percent_used", target: c.wsPool.memoryTargetPercent, type: "GAUGE", filter: 'metric.labels.state = "used"' },
              // Seed "1000 connections/instance": the count each instance publishes (src/files/app-instance.ts).
              { name: WS_CONNECTIONS_METRIC, target: c.wsPool.connectionsPerInstance, type: "GAUGE" },
            ],
            scaleIn: { maxReplicas: c.wsPool.scaleInMaxReplicas, windowSeconds: c.wsPool.scaleInWindowSeconds },
          };
    const port = appPort(kind);
    return new InstancePool(`${kind}-pool`, {
      prefix: c.prefix,
      role: kind,
      labels: ctx.labels(`${kind}-pool`),
      project: c.project,
      region: c.region,
      zones: poolZones,
      network: network.network.id,
      subnetwork: network.subnets[c.region]!.id,
      machineType: p.machineType,
      tags: [kind === "http" ? networkTags.api : networkTags.ws],
      userData: boot.userData,
      // The settings are read at boot: naming their version here makes a new version a new template, which the
      // group rolls out (a name, never the value).
      metadata: { "settings-version": appSettings.secret.version.name },
      renderRole: `${kind}-pool`,
      renderFiles: boot.files,
      projectRoles: ["roles/logging.logWriter", "roles/monitoring.metricWriter"],
      secretIds: [appSettings.secretId, ...extraSecrets.map((x) => x.secretId)],
      registry: { location: c.region, repository: registry.repository.name },
      imageMirror: { location: c.region, repository: mirror.repository.name },
      // Gunicorn stores uploads in the media bucket; Daphne only reads settings. Nobody at runtime writes the
      // static bucket: the release identity publishes it (components/media.ts staticPublisher).
      writableBuckets: kind === "http" && media ? [media.mediaBucketName] : [],
      bootDependencies: [...appSettings.bootDependencies, djangoSecret.version, ...(kind === "http" ? [jitsiJwtSecret.version] : []), ...(signing ? [signing.version] : [])],
      namedPorts: [{ name: kind, port }],
      healthCheck: {
        port,
        path: p.healthPath,
        // Django answers only for ALLOWED_HOSTS: the probe sends the site's host.
        host: c.domain,
        // First boot: packages, image pulls and settings take a few minutes before the app answers.
        initialDelaySec: APP_INSTANCE_BOOT_SECONDS,
      },
      autoscaling,
      description: kind === "http" ? "HTTP pool (Gunicorn)" : "WebSocket pool (Daphne)",
    });
  };
  const httpPool = appPool("http");
  const wsPool = appPool("ws");
  // The load balancer's /api/*, default and /ws/* routes (lbRoutes): RATE 100 req/s per instance on the HTTP pool,
  // UTILIZATION on the WebSocket pool. Its own health checks probe the same paths; the groups' auto-healing checks
  // above are separate, as GCP recommends (auto-healing should be less eager than load balancing).
  if (httpPool) lbBackends.httpPool = { group: httpPool.instanceGroup, portName: "http", healthCheck: { path: c.httpPool.healthPath, port: appPort("http") } };
  if (wsPool) lbBackends.wsPool = { group: wsPool.instanceGroup, portName: "ws", healthCheck: { path: c.wsPool.healthPath, port: appPort("ws") } };
  if (httpPool) outputs.httpInstanceGroup = httpPool.instanceGroup;
  if (wsPool) outputs.wsInstanceGroup = wsPool.instanceGroup;

  const jitsiSecrets = vmSecrets.filter((s) => s.env === "JICOFO_AUTH_PASSWORD" || s.env === "JVB_AUTH_PASSWORD" || s.env === "JITSI_JWT_APP_SECRET");
  const signaling =
    c.video.mode === "pool"
      ? new JitsiSignaling("jitsi-signaling", {
          prefix: c.prefix,
          project: c.project,
          region: c.region,
          // The second zone of the region (GCP zones are not all a/b/c: europe-west1 has b, c, d).
          zone: zonesOf(c.region)[1]!,
          labels: ctx.labels("jitsi-signaling"),
          network: network.network.id,
          subnetwork: network.subnets[c.region]!.id,
          machineType: c.video.signalingMachineType,
          images,
          imageMirror: { location: c.region, repository: mirror.repository.name },
          meetDomain: c.meetDomain,
          acmeEmail: c.alertEmails[0]!,
          secrets: jitsiSecrets.map((s) => ({ env: s.env as JitsiEnv, secretId: s.secret.secretId })),
          bootDependencies: jitsiSecrets.map((s) => s.secret.version),
          relay: c.video.relay,
          regions: ctx.regions,
          maxBridgeParticipants: c.video.participantsPerBridge,
        })
      : undefined;
  const jvbSecret = vmSecrets.find((s) => s.env === "JVB_AUTH_PASSWORD")!.secret;
  // One pool per region (stage 4: every region, cascaded through the relay); component names carry the region only.
  const bridges = signaling
    ? ctx.regions.map(
        (region) =>
          new VideoBridgePool(`video-bridges-${region}`, {
            prefix: c.prefix,
            project: c.project,
            region,
            zones: zonesOf(region).slice(0, 3),
            labels: ctx.labels("video-bridges"),
            network: network.network.id,
            subnetwork: network.subnets[region]!.id,
            machineType: c.video.bridgeMachineType,
            image: images.jitsiJvb,
            imageMirror: { location: c.region, repository: mirror.repository.name },
            meetDomain: c.meetDomain,
            xmppServer: signaling.internalIp,
            secrets: [{ env: "JVB_AUTH_PASSWORD", secretId: jvbSecret.secretId }],
            bootDependencies: [jvbSecret.version],
            minBridges: c.video.bridgesPerRegion,
            maxBridges: c.video.maxBridgesPerRegion,
            cpuTargetPercent: c.video.cpuTargetPercent,
            cooldownSeconds: c.video.bridgeCooldownSeconds,
            drainSeconds: c.video.drainSeconds,
            relay: c.video.relay,
          }),
      )
    : [];
  if (signaling) {
    outputs.meetIp = signaling.address;
    outputs.jitsiSignalingInternalIp = signaling.internalIp;
  }
  if (bridges.length > 0) outputs.videoBridgeGroups = pulumi.all(bridges.map((b) => b.instanceGroup));

  // ── GKE, workloads, shards, Redis Cluster, Memcached, Pub/Sub, DNS (stage 4) ────────────────────
  // Every region of the config (primary first) gets a cluster and its workloads; a third region in
  // secondaryRegions adds a subnet (Network section), a cluster, its workloads, NEGs and a bridge pool by config alone.
  const k = c.kubernetes;
  /** Node (and NEG) zones: the first three of the region, as the instance groups use. */
  const gkeZones = (region: string) => zonesOf(region).slice(0, 3);
  const gkeRegions = k.enabled ? ctx.regions : [];
  if (k.enabled && !appSettings) throw new Error("kubernetes.enabled needs database.enabled and cache.enabled: the pods read the app settings secret");
  // One regional cluster per region (its workloads, through its own provider, further down). First: the project's
  // workload pool `<project>.svc.id.goog` exists only once a cluster with Workload Identity does, and IAM refuses a
  // workloadIdentityUser binding naming it before ("Identity Pool does not exist").
  const clusters = gkeRegions.map(
    (region, i) =>
      new GkeCluster(`gke-${region}`, {
        prefix: c.prefix,
        labels: ctx.labels("gke"),
        project: c.project,
        region,
        nodeZones: gkeZones(region),
        network: network.network.id,
        subnetwork: network.subnets[region]!.id,
        masterCidr: masterCidr(k.masterCidrBase, i),
        masterAuthorizedNetworks: k.masterAuthorizedNetworks.map((n) => ({ cidrBlock: n.cidr, displayName: n.name })),
        releaseChannel: k.releaseChannel,
        nodeMachineType: k.nodeMachineType,
        nodesPerZoneMin: k.nodesPerZoneMin,
        nodesPerZoneMax: k.nodesPerZoneMax,
        // The workers' own Spot pool, sized from their replica range (src/config/node-capacity.ts).
        spotPool: k.workerSpot ? spotPoolBounds(k.nodeMachineType, (i === 0 ? k.primary : k.secondary).worker) : undefined,
        maintenanceStartTime: k.maintenanceStartTime,
        podPort: APP_PORT,
      }),
  );
  const gkeIdentities = k.enabled
    ? new WorkloadIdentities("gke-identities", { prefix: c.prefix, project: c.project, workloadPoolReady: clusters.map((cl) => cl.cluster) })
    : undefined;
  const gkeEmails = gkeIdentities ? WORKLOADS.map((w) => gkeIdentities.accounts[w].email) : [];
  const gkeMembers = gkeIdentities ? WORKLOADS.map((w) => gkeIdentities.accounts[w].member) : [];
  // The pods read the settings JSON and Django's key (their ids are in the manifests) and the primary's password
  // (referenced from the DATABASES map): one accessor grant per secret and identity, on that secret only.
  const djangoKey = vmSecrets.find((s) => s.env === "DJANGO_SECRET_KEY")!.secret;
  const podSecrets = appSettings && database ? { settings: appSettings.secret, django: djangoKey, "db-password": database.password } : {};
  const podSecretGrants = gkeIdentities
    ? Object.entries(podSecrets).flatMap(([key, secret]) =>
        WORKLOADS.map(
          (w) =>
            new gcp.secretmanager.SecretIamMember(
              `gke-identities-${w}-${key}-accessor`,
              { secretId: secret.secret.id, role: "roles/secretmanager.secretAccessor", member: gkeIdentities.accounts[w].member },
              { parent: gkeIdentities },
            ),
        ),
      )
    : [];

  // Shards (seed "Database Sharding Strategy": user_id % n): one Cloud SQL instance each, same settings as the
  // primary at the shard tier. The stage-3 primary keeps the users database (Django's `default`).
  const shards =
    database && c.database.shards > 0
      ? Array.from(
          { length: c.database.shards },
          (_, i) =>
            new Database(`database-shard-${i}`, {
              prefix: c.prefix,
              labels: ctx.labels("database-shard"),
              role: `db-shard-${i}`,
              project: c.project,
              region: c.region,
              network: network.network.id,
              privateServiceConnection: network.privateServiceConnection,
              version: c.database.version,
              tier: c.database.shardTier,
              availabilityType: c.database.availabilityType,
              diskGb: c.database.diskGb,
              diskAutoresizeLimitGb: c.database.diskAutoresizeLimitGb,
              backupStartTime: c.database.backupStartTime,
              backupRetainedCount: c.database.backupRetainedCount,
              pitrDays: c.database.pitrDays,
              maintenanceDay: c.database.maintenanceDay,
              maintenanceHour: c.database.maintenanceHour,
              maxConnections: c.database.maxConnections,
              databases: [shardDatabaseName(i)],
              userName: APP_DB_USER,
              passwordAccessors: [...appAccessors, ...gkeEmails],
              // A shard's rows exist nowhere else: each gets a replica in every further region (region loss).
              replicas: c.database.crossRegionReplicas ? c.secondaryRegions.map((region) => ({ key: region, region })) : [],
              // Shards run no same-region read replicas; the promoted one gets the shards' HA (availabilityType).
              promote: fo.promote(0),
            }),
        )
      : [];
  // The api stores uploads in the media bucket and signs media URLs (as the stage-3 HTTP pool); the static bucket
  // is the release identity's alone (components/media.ts staticPublisher). The former static grant is dropped.
  const apiMediaGrants =
    gkeIdentities && media
      ? [
          new gcp.storage.BucketIAMMember(
            "gke-identities-api-bucket-media",
            { bucket: media.mediaBucket.name, role: "roles/storage.objectAdmin", member: gkeIdentities.accounts.api.member },
            { parent: gkeIdentities },
          ),
          ...(media.signingKey
            ? [
                new gcp.secretmanager.SecretIamMember(
                  "gke-identities-api-cdn-signing-key-accessor",
                  { secretId: media.signingKey.secret.id, role: "roles/secretmanager.secretAccessor", member: gkeIdentities.accounts.api.member },
                  { parent: gkeIdentities },
                ),
              ]
            : []),
        ]
      : [];
  // The api signs Jitsi room tokens (src/files/jitsi-auth.ts): it alone reads the JWT secret.
  const apiJitsiGrant = gkeIdentities
    ? new gcp.secretmanager.SecretIamMember(
        "gke-identities-api-jitsi-jwt-accessor",
        { secretId: jitsiJwtSecret.secret.id, role: "roles/secretmanager.secretAccessor", member: gkeIdentities.accounts.api.member },
        { parent: gkeIdentities },
      )
    : undefined;
  const analytics = database?.replicas.find((r) => r.key === "analytics");

  // Channels layer (seed "WebSocket Scaling with Redis Pub/Sub"): independent Standard-tier instances that
  // channels_redis shards across itself (consistent hashing over `hosts`). It cannot use Redis Cluster: its Lua
  // scripts touch keys that hash to different cluster slots (django/channels_redis issues 381 and 420).
  const channelLayers = fo.regions.map(({ region, suffix }) =>
    c.cache.enabled && c.cache.channelLayerInstances > 0
      ? Array.from(
          { length: c.cache.channelLayerInstances },
          (_, i) =>
            new Redis(`cache-channels${suffix}-${i}`, {
              prefix: c.prefix,
              labels: ctx.labels("cache-channels"),
              role: `channels${suffix}-${i}`,
              region,
              network: network.network.id,
              privateServiceConnection: network.privateServiceConnection,
              tier: c.cache.tier,
              memoryGb: c.cache.channelLayerMemoryGb,
              redisVersion: c.cache.redisVersion,
              // Channel messages and group memberships all carry expiries (60 s, 1 day): evict the nearest expiry first.
              maxmemoryPolicy: "volatile-ttl",
              rdbSnapshotPeriod: "TWENTY_FOUR_HOURS",
              maintenanceDay: c.database.maintenanceDay,
              // Apart from each other and from the cache's window, so both hosts never fail over together.
              maintenanceHour: (c.database.maintenanceHour + 2 + i) % 24,
              authAccessors: [],
            }),
        )
      : [],
  );
  const channelLayer = channelLayers.at(-1) ?? [];
  // First cache level, sessions, rate limits: Memorystore for Redis Cluster (3 shards, 1 replica each).
  const redisClusters = fo.regions.map(({ region, suffix }) =>
    c.cache.enabled && c.cache.clusterEnabled
      ? new RedisCluster(`cache-cluster${suffix}`, {
          prefix: c.prefix,
          labels: ctx.labels("cache-cluster"),
          project: c.project,
          role: `cache-cluster${suffix}`,
          region,
          network: network.network.id,
          subnetwork: network.subnets[region]!.id,
          shards: c.cache.clusterShards,
          replicasPerShard: c.cache.clusterReplicasPerShard,
          nodeType: c.cache.clusterNodeType,
          maintenanceDay: c.database.maintenanceDay,
          maintenanceHour: (c.database.maintenanceHour + 4) % 24,
          // IAM authentication: the workloads' identities (stage 4 runs no instance pools).
          // roles/redis.dbConnectionUser is a project role: the first cluster's grants cover a failover cluster too.
          connectors: suffix ? [] : gkeMembers,
        })
      : undefined,
  );
  const redisCluster = redisClusters.at(-1);
  // Second cache level (seed "persistent": PyMemcacheCache, 1 hour), one instance per region that runs pods: Memorystore
  // for Memcached serves only clients in its own region (memorystore/docs/memcached/regions). The primary region's
  // keeps its name (and URN); each further region's carries the region. So after a region loss the surviving
  // region's instance is already there (nothing for failover.activeRegion to build).
  const memcachedRegions = c.cache.enabled && c.cache.memcachedEnabled ? (k.enabled ? gkeRegions : [c.region]) : [];
  const memcached = memcachedRegions.map(
    (region) =>
      new Memcached(region === c.region ? "memcached" : `memcached-${region}`, {
        prefix: c.prefix,
        labels: ctx.labels("memcached"),
        role: region === c.region ? "memcached" : `memcached-${region}`,
        region,
        network: network.network.id,
        privateServiceConnection: network.privateServiceConnection,
        nodes: c.cache.memcachedNodes,
        cpu: c.cache.memcachedCpu,
        memoryMb: c.cache.memcachedMemoryMb,
        maintenanceDay: c.database.maintenanceDay,
        maintenanceHour: (c.database.maintenanceHour + 5) % 24,
      }),
  );
  // Seed "Message Queue for Async Tasks": the api publishes, the workers consume; nobody else holds either right.
  const queue = c.queue.enabled
    ? new Queue("queue", {
        labels: ctx.labels("queue"),
        project: c.project,
        topicName: "email-queue",
        subscriptionName: "email-worker",
        ackDeadlineSeconds: c.queue.ackDeadlineSeconds,
        maxDeliveryAttempts: c.queue.maxDeliveryAttempts,
        retentionDays: c.queue.retentionDays,
        minBackoffSeconds: c.queue.minBackoffSeconds,
        maxBackoffSeconds: c.queue.maxBackoffSeconds,
        publishers: gkeIdentities ? [gkeIdentities.accounts.api.member] : [],
        subscribers: gkeIdentities ? [gkeIdentities.accounts.worker.member] : [],
      })
    : undefined;

  // What the app reads from its settings secret at stage 4 (declared in the Cloud SQL section, filled here).
  if (stage4Settings.keys.length > 0) {
    const values: Record<string, pulumi.Input<string>> = {};
    if (stage4Settings.keys.includes("DATABASES") && database) {
      values.DATABASES = pulumi
        .all([
          database.privateIp,
          database.passwordSecretId,
          pulumi.all(shards.map((s) => pulumi.all([s.privateIp, s.passwordSecretId]))),
          pulumi.output(analytics?.privateIp ?? ""),
        ])
        .apply(([primary, password, sh, an]) =>
          JSON.stringify(
            databasesMap({
              user: APP_DB_USER,
              usersDatabase: APP_DATABASE,
              primary: { host: primary, passwordSecret: password },
              pooler: { host: "127.0.0.1", port: PGBOUNCER_PORT },
              shards: sh.map(([host, passwordSecret], i) => ({ name: shardDatabaseName(i), host, passwordSecret })),
              analyticsHost: an || undefined,
            }),
          ),
        );
      values.DATABASE_SHARD_COUNT = String(shards.length);
    }
    if (channelLayer.length > 0) {
      values.CHANNEL_LAYER_REDIS_URLS = pulumi.all(channelLayer.map((r) => r.url)).apply((u) => JSON.stringify(u));
      values.CHANNEL_LAYER_REDIS_CA_CERTS = pulumi.all(channelLayer.map((r) => r.caCert)).apply((u) => JSON.stringify(u));
    }
    if (redisCluster) {
      values.REDIS_CLUSTER_ENDPOINT = redisCluster.discoveryEndpoint;
      // In-transit TLS with server authentication: the client needs the cluster's CA to verify the nodes.
      values.REDIS_CLUSTER_CA_CERT = redisCluster.caCerts;
    }
    if (queue) {
      values.PUBSUB_PROJECT = c.project;
      values.PUBSUB_EMAIL_TOPIC = queue.topicName;
      values.PUBSUB_EMAIL_SUBSCRIPTION = queue.subscriptionName;
    }
    stage4Settings.fill(values);
  }

  // The NEGs for the load balancer come from each cluster's workloads (below).
  // The pods verify every Cloud SQL instance they connect to (primary, replicas, shards) against one CA bundle.
  const stage4CaBundle = caBundleOf([database, ...shards].flatMap((d) => (d ? [d.instance, ...d.replicas.map((r) => r.instance)] : [])));
  const workloads =
    gkeIdentities && appSettings && database
      ? clusters.map(
          (cluster, i) =>
            new Workloads(`workloads-${cluster.region}`, {
              prefix: c.prefix,
              project: c.project,
              region: cluster.region,
              image: images.backend,
              secretFiles: [
                { file: "settings.json", secretId: appSettings.secretId },
                { file: "django-secret-key", secretId: djangoKey.secretId, setting: "DJANGO_SECRET_KEY" },
                // The app signs Jitsi room tokens with it (src/files/jitsi-auth.ts).
                { file: "jitsi-jwt-app-secret", secretId: jitsiJwtSecret.secretId, setting: "JITSI_JWT_APP_SECRET", workloads: ["api" as const] },
                // Private media: the api signs Cloud CDN URLs with the media section's key.
                ...(media?.signingKeySecretId ? [{ file: "cdn-signing-key", secretId: media.signingKeySecretId, setting: "CDN_SIGNING_KEY" as const, workloads: ["api" as const] }] : []),
              ],
              cdnSigningKeyName: media?.signingKeySecretId ? media.keyName : undefined,
              googleServiceAccounts: { api: gkeIdentities.accounts.api.email, ws: gkeIdentities.accounts.ws.email, worker: gkeIdentities.accounts.worker.email },
              adapterServiceAccount: gkeIdentities.adapter.email,
              // Seed Stage 4 drawing: the primary region runs the larger ranges, every further region the smaller.
              // The region serving as primary (after a region loss: failover.activeRegion) runs the larger ranges.
              replicas: cluster.region === fo.activeRegion ? k.primary : k.secondary,
              cpuTargetPercent: k.cpuTargetPercent,
              memoryTargetPercent: k.memoryTargetPercent,
              requestsPerSecondPerPod: k.requestsPerSecondPerPod,
              connectionsPerPod: k.connectionsPerPod,
              backlogPerWorker: k.backlogPerWorker,
              workerRegions: clusters.length,
              // Endpoints reachable only from this region: its own Memcached nodes (pymemcache's HashClient list).
              regionSettings: Object.fromEntries(
                memcached.filter((m) => m.region === cluster.region).map((m) => ["MEMCACHED_NODES", m.nodeAddresses] as const),
              ),
              workerSpot: k.workerSpot,
              subscription: "email-worker",
              domain: c.domain,
              labels: ctx.labels("workloads"),
              // The settings' DATABASE_URL is 127.0.0.1:6432 in every pod too: a PgBouncer sidecar forwarding to the
              // primary's database, as on the stage-3 instances, within the pods' connection budget (config load.ts).
              pgbouncer: { image: images.pgbouncer, dbHost: database.privateIp, dbCaCert: stage4CaBundle, databases: [APP_DATABASE], poolSize: k.pgbouncerPoolSizePerPod },
              // The egress NetworkPolicy's managed-service ranges (Memorystore and Cloud SQL sit outside the cluster).
              egress: { privateServicesRange: network.privateServicesRange ?? "", regionSubnet: network.subnets[cluster.region]!.ipCidrRange },
              provider: cluster.provider,
              podDependencies: [
                ...appSettings.bootDependencies,
                djangoKey.version,
                jitsiJwtSecret.version,
                ...podSecretGrants,
                ...apiMediaGrants,
                ...(apiJitsiGrant ? [apiJitsiGrant] : []),
                ...gkeIdentities.bindings,
              ],
            }),
        )
      : [];
  if (workloads.length > 0) {
    // Standalone NEGs: the NEG controller creates `<prefix>-api-<region>` / `<prefix>-ws-<region>` in each node zone
    // once the Service exists; GCP gives them no Pulumi resource, so the backend services refer to them by URL
    // (project, zone, name) and wait for the Services (each URL is derived from its Service's output). On a first
    // `up` the controller may still be creating them when the backend service is updated: set
    // loadBalancer.gkeTrafficPercent to 0 for the first stage-4 `up` (no GKE backend yet), then raise it.
    const negUrls = (w: "api" | "ws") =>
      workloads.flatMap((wl, i) =>
        (c.loadBalancer.gkeTrafficPercent > 0 ? clusters[i]!.nodeZones : []).map((zone) =>
          wl.services[w].metadata.apply(() => negSelfLink(c.project, zone, wl.negNames[w])),
        ),
      );
    lbBackends.gke = { api: negUrls("api"), ws: negUrls("ws"), port: APP_PORT, apiHealthPath: HEALTH_PATHS.readiness, wsHealthPath: HEALTH_PATHS.readiness };
    outputs.gkeClusters = pulumi.all(clusters.map((cl) => cl.name));
    outputs.gkeNegs = workloads.map((w) => w.negNames);
  }
  if (shards.length > 0) outputs.databaseShardIps = pulumi.all(shards.map((s) => s.privateIp));
  if (channelLayer.length > 0) outputs.channelLayerHosts = pulumi.all(channelLayer.map((r) => r.host));
  // A cluster-aware client (redis-py RedisCluster) must use this endpoint: it follows MOVED redirects to the shards.
  if (redisCluster) outputs.redisClusterDiscoveryEndpoint = redisCluster.discoveryEndpoint;
  if (memcached.length > 0) outputs.memcachedNodes = pulumi.output(Object.fromEntries(memcached.map((m) => [m.region, m.nodeAddresses])));
  if (queue) {
    outputs.emailTopic = queue.topicName;
    outputs.emailSubscription = queue.subscriptionName;
  }

  // ── Global load balancer (stage 2 on): built after every section that registers a backend ─────────
  // The address, certificates, certificate map and URL maps keep their names at every stage; stage 3 and 4 only
  // change which backend services the routes use (lbRoutes), updating the URL map in place.
  const routes = c.loadBalancer.enabled ? lbRoutes(c, lbBackends) : undefined;
  if (c.loadBalancer.enabled && !routes) {
    // Never silently: the plan shows it, and `up` cannot delete the protected address and certificates.
    pulumi.log.warn("loadBalancer.enabled but no backend registered in lbBackends (vm, httpPool or gke): the load balancer is left out");
  }
  const loadBalancer =
    routes && media
      ? new LoadBalancer("lb", {
          prefix: c.prefix,
          project: c.project,
          labels: ctx.labels("load-balancer"),
          // The meet domain has a certificate at every stage with a load balancer (a protected certificate cannot
          // leave at the stage 2 -> 3 move), but a host rule only while Jitsi runs on the VM behind it (stage 2:
          // the VM's 443 is closed to the internet); from stage 3 the signaling VM serves it on its own address.
          domains: [...new Set([...lbDomains, c.meetDomain])],
          hostRoutes: lbBackends.vm ? [{ host: c.meetDomain, route: "ws" }] : [],
          staticBucketName: media.staticBucket.name,
          mediaBucketName: media.mediaBucket.name,
          staticCacheDays: c.media.staticCacheDays,
          mediaCacheDays: c.media.mediaCacheDays,
          signedMedia: !c.media.publicMedia,
          signingKey: media.keyName && media.signingKeyValue ? { name: media.keyName, value: media.signingKeyValue } : undefined,
          routes,
          rateLimitPerMinute: c.loadBalancer.rateLimitPerMinute,
          wafMode: c.loadBalancer.wafMode,
          logSampleRate: c.loadBalancer.logSampleRate,
        })
      : undefined;
  if (loadBalancer) {
    outputs.lbIp = loadBalancer.address;
    outputs.urlMap = loadBalancer.urlMap.name;
    // CNAMEs proving control of each domain to Certificate Manager: create them in the domain's zone (the
    // stage-4 Cloud DNS section does; before that, by hand at the registrar) so the certificates issue and renew.
    outputs.dnsAuthorizationRecords = loadBalancer.dnsAuthorizationRecords;
  }

  // ── Cloud DNS (stage 4): after the load balancer, whose address and certificate records it publishes ─────
  const dns =
    c.dns.enabled && loadBalancer
      ? new Dns("dns", {
          prefix: c.prefix,
          labels: ctx.labels("dns"),
          domain: c.domain,
          meetDomain: c.meetDomain,
          dnssec: c.dns.dnssec,
          entryIp: loadBalancer.address,
          meetIp: signaling?.address,
          // One Certificate Manager DNS authorization per certificate domain inside the zone (others: their own zone).
          // The meet domain's certificate (kept from stage 2) renews through its record too.
          authorizationRecords: Object.keys(loadBalancer.dnsAuthorizations)
            .filter((d) => d === c.domain || d.endsWith(`.${c.domain}`))
            .map((d) => {
              const rec = loadBalancer.dnsAuthorizations[d]!.dnsResourceRecords.apply((rs) => rs?.[0]);
              return { name: rec.apply((r) => r?.name ?? ""), type: rec.apply((r) => r?.type ?? "CNAME"), data: rec.apply((r) => r?.data ?? "") };
            }),
        })
      : undefined;
  if (c.dns.enabled && !loadBalancer) throw new Error("dns.enabled needs loadBalancer.enabled: the zone's A record is the load balancer's address");
  if (dns) outputs.dnsNameServers = dns.nameServers;

  // ── Monitoring and alerting (every stage) ────────────────────────────────────────────────────────
  // What exists decides which metrics each policy watches (components/monitoring.ts metricSpecs); the names of
  // channels, policies and checks never carry the stage, so a stage move updates them in place.
  const vmServes = c.vm.enabled;
  const appPools = c.httpPool.enabled || c.wsPool.enabled;
  const videoPools = c.video.mode === "pool";
  const monitoring = new Monitoring("monitoring", {
    prefix: c.prefix,
    project: c.project,
    labels: ctx.labels("monitoring"),
    domain: c.domain,
    alertEmails: c.alertEmails,
    webhookUrl: c.monitoring.webhookUrl,
    pagerdutyServiceKeySecret: c.monitoring.pagerdutyServiceKeySecret,
    thresholds: alertThresholds(c.monitoring),
    durationSeconds: c.monitoring.durationSeconds,
    uptimeRegions: c.monitoring.uptimeRegions,
    // A retained (stopped) VM at stage 3 serves nothing: no VM metrics then.
    vm: vmServes ? { postgresMaxConnections: VM_POSTGRES_MAX_CONNECTIONS } : undefined,
    instancePools: appPools || videoPools,
    websocketPool: c.wsPool.enabled,
    loadBalancer: c.loadBalancer.enabled,
    cloudSql: c.database.enabled ? { maxConnections: c.database.maxConnections } : undefined,
    gke: c.kubernetes.enabled,
    websocketCapacity: capacityOf(c).websocketConnections,
    // The Ops Agent policy is zonal: the VM's zone; the zones regional instance groups spread over (HTTP/WS pools
    // in the primary region, Videobridge pools in every region).
    opsAgentZones: [
      ...new Set([
        ...(vmServes ? [c.vm.zone ?? `${c.region}-b`] : []),
        ...(appPools ? zonesOf(c.region) : []),
        ...(videoPools ? ctx.regions.flatMap(zonesOf) : []),
      ]),
    ],
    budget: c.monitoring.billingAccount ? { billingAccount: c.monitoring.billingAccount, monthlyUsd: c.monitoring.monthlyBudgetUsd } : undefined,
    sentryDsn: c.monitoring.sentryDsn,
  });
  // Data Access audit logs and configuration-change alerts (CIS GCP 2.x), every stage.
  new AuditLogging("audit-logging", {
    prefix: c.prefix,
    project: c.project,
    labels: ctx.labels("audit-logging"),
    notificationChannels: [...monitoring.emailChannels.map((ch) => ch.id), ...(monitoring.webhookChannel ? [monitoring.webhookChannel.id] : [])],
  });
  outputs.dashboard = monitoring.dashboard.id;
  outputs.uptimeChecks = pulumi.all(monitoring.uptimeChecks.map((u) => u.uptimeCheckId));

  return outputs;
}

/** An instance group behind the load balancer, with the health check its machines answer. */
export interface LbInstanceGroup {
  group: pulumi.Input<string>;
  /** @default "http" */
  portName?: string;
  /** @default { path: "/health", port: 80 } (nginx on the VM, src/files/nginx.ts) */
  healthCheck?: { path: string; port: number };
}

/** The backends that exist at a stage; sections register theirs before the load-balancer section runs. */
export interface LbBackends {
  /** The single VM's unmanaged instance group (stage 2): it serves every path. */
  vm?: LbInstanceGroup;
  /** The HTTP pool's regional MIG (stage 3): /api/* and the default route. */
  httpPool?: LbInstanceGroup;
  /** The WebSocket pool's regional MIG (stage 3): /ws/*. */
  wsPool?: LbInstanceGroup;
  /** GKE standalone NEGs (stage 4), one per zone and region, for the api and ws Services. */
  gke?: { api: pulumi.Input<string>[]; ws: pulumi.Input<string>[]; port: number; apiHealthPath: string; wsHealthPath: string };
}

/** Seed "Load Balancer Configuration": api timeout 30 s, no affinity. */
const API_TIMEOUT_SEC = 30;
/** Seed: ws timeout 3600 s (1 hour for long connections); the LB default of 30 s would close every socket. */
const WS_TIMEOUT_SEC = 3600;
/** HTTP requests finish within the 30 s timeout: 60 s of draining covers them. */
const API_DRAINING_SEC = 60;
/** WebSocket clients reconnect with backoff; 300 s lets sessions on a removed backend end and reconnect elsewhere. */
const WS_DRAINING_SEC = 300;

/**
 * The load balancer's routes from whatever backends exist, in one place for every stage:
 * - stage 2: the VM for every path; /ws/* gets its own backend service on the same instance group, because a
 *   backend service's timeout is also the WebSocket session limit (3600 s there, 30 s for the rest);
 * - stage 3: /api/* and the default route to the HTTP pool, /ws/* to the WebSocket pool;
 * - stage 3 -> 4 cut-over: instance groups and GKE NEGs side by side on /api/*, /ws/* and the default route,
 *   GKE taking loadBalancer.gkeTrafficPercent of the traffic (weightedBackendServices in the URL map);
 * - stage 4: GKE NEGs only.
 * Target keys ("vm", "mig", "gke") name the backend services (`lb-be-<route>-<key>`), never the stage.
 * Undefined when nothing can take the default route.
 */
export function lbRoutes(c: Config, b: LbBackends): LoadBalancerArgs["routes"] | undefined {
  // The app's security headers (src/files/security-headers.ts), added by the load balancer to what the pools and
  // pods answer; the VM's nginx (stage 2) sends them itself, and its meet host has headers of its own.
  const headers = [`Strict-Transport-Security: ${HSTS}`, ...asHeaderLines(appSecurityHeaders(c.meetDomain))];
  const ig = (key: string, g: LbInstanceGroup, rate?: number): BackendTarget => ({
    key,
    groups: [{ group: g.group, kind: "instanceGroup", ...(rate !== undefined ? { maxRatePerInstance: rate } : {}) }],
    portName: g.portName ?? "http",
    healthCheck: g.healthCheck ?? { path: "/health", port: 80 },
    weight: 100,
    ...(key === "vm" ? {} : { responseHeaders: headers }),
  });
  const gkeShare = c.loadBalancer.gkeTrafficPercent;
  const split = (mig: BackendTarget | undefined, gke: BackendTarget | undefined): BackendTarget[] => {
    if (mig && gke) return [{ ...mig, weight: 100 - gkeShare }, { ...gke, weight: gkeShare }];
    return [mig, gke].filter((t): t is BackendTarget => t !== undefined);
  };
  const neg = (groups: pulumi.Input<string>[], rate: number, path: string, port: number): BackendTarget => ({
    key: "gke",
    groups: groups.map((group) => ({ group, kind: "neg" as const, maxRatePerEndpoint: rate })),
    healthCheck: { path, port },
    weight: 100,
    responseHeaders: headers,
  });
  // The HTTP pool balances by requests/s per instance (its autoscaling target); pods by requests/s per pod.
  const apiTargets = split(
    b.httpPool ? ig("mig", b.httpPool, c.httpPool.requestsPerSecondPerInstance) : undefined,
    b.gke && b.gke.api.length > 0 ? neg(b.gke.api, c.kubernetes.requestsPerSecondPerPod, b.gke.apiHealthPath, b.gke.port) : undefined,
  );
  // WebSocket backends hold long sockets, not request rates: instance groups by CPU, pods by new sockets/s.
  const wsTargets = split(
    b.wsPool ? ig("mig", b.wsPool) : undefined,
    b.gke && b.gke.ws.length > 0 ? neg(b.gke.ws, c.kubernetes.requestsPerSecondPerPod, b.gke.wsHealthPath, b.gke.port) : undefined,
  );
  const api = (targets: BackendTarget[]): RouteArgs => ({ targets, timeoutSec: API_TIMEOUT_SEC, affinity: "NONE", drainingTimeoutSec: API_DRAINING_SEC });
  const ws = (targets: BackendTarget[]): RouteArgs => ({ targets, timeoutSec: WS_TIMEOUT_SEC, affinity: "NONE", drainingTimeoutSec: WS_DRAINING_SEC });
  // While the VM serves (stage 2, and phase A of the 2 -> 3 move while DMS copies its database), every route goes
  // to it: the pools' Cloud SQL is then a demoted migration destination that refuses writes, and the meet host's
  // Jitsi runs on the VM. The pools get traffic only once vm.enabled is false (phase B, docs/runbooks/2-to-3.md).
  if (b.vm) {
    const vm = ig("vm", b.vm);
    return { default: api([vm]), ws: ws([vm]) };
  }
  // No backend registered for the default route: the caller leaves the load balancer out and says so.
  if (apiTargets.length === 0) return undefined;
  return { default: api(apiTargets), api: api(apiTargets), ...(wsTargets.length > 0 ? { ws: ws(wsTargets) } : {}) };
}


/**
 * The user-data and files of an app instance from its (partly unknown) inputs: names and addresses are resolved,
 * never secret values. The file list depends only on plain options, so previews register every path too.
 */
function appInstanceInputs(
  o: Omit<AppInstanceOptions, "settingsSecretId" | "secrets" | "dbHost" | "dbCaCert"> & {
    dbCaCert: pulumi.Input<string>;
    settingsSecretId: pulumi.Input<string>;
    secrets: { env: string; secretId: pulumi.Input<string> }[];
    dbHost: pulumi.Input<string>;
  },
): { userData: pulumi.Output<string>; files: { path: string; content: pulumi.Output<string> }[] } {
  const resolved = pulumi
    .all([o.settingsSecretId, pulumi.all(o.secrets.map((s) => s.secretId)), o.dbHost, o.dbCaCert])
    .apply(([settingsSecretId, ids, dbHost, dbCaCert]) => {
      const opts: AppInstanceOptions = { ...o, settingsSecretId, dbHost, dbCaCert, secrets: o.secrets.map((s, i) => ({ env: s.env, secretId: ids[i]! })) };
      const files = appInstanceFiles(opts);
      return { files, userData: appInstanceUserData(opts, files) };
    });
  const paths = appInstanceFiles({ ...o, settingsSecretId: "x", dbHost: "10.0.0.1", dbCaCert: "x", secrets: o.secrets.map((s) => ({ env: s.env, secretId: "x" })) }).map((f) => f.renderPath);
  return {
    userData: resolved.apply((r) => r.userData),
    files: paths.map((p) => ({ path: p, content: resolved.apply((r) => r.files.find((f) => f.renderPath === p)!.content) })),
  };
}
