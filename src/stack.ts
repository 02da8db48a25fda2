/**
 * Composition: which components exist for this config, and how they are wired. This is the one place that
 * looks at the config as a whole; components receive only their own typed args. Component names (the first
 * constructor argument) never contain the stage, so their URNs survive stage moves.
 */
import type { Config } from "./config/schema";
import { labels as labelsFor } from "./naming";
import { Network, regionRanges } from "../components/network";
import { GOOGLE_LB_RANGES } from "../components/network";
import * as pulumi from "@pulumi/pulumi";
import { physicalName } from "./naming";
import { ServiceAccount } from "../components/service-account";
import { Database, type DatabaseMigrationSource } from "../components/database";
import { Redis } from "../components/redis";
import { AppSettings } from "../components/app-settings";
import { tags as networkTags } from "../components/network";
import { DB_NAME as VM_DB_NAME, DB_USER as VM_DB_USER } from "./files/vm-bundle";
import { Secret } from "../components/secret";
import { ArtifactRegistry } from "../components/artifact-registry";
import { VmPlatform, VM_PROJECT_ROLES, type VmSecret } from "../components/vm-platform";
import { Monitoring, zonesOf } from "../components/monitoring";
import { capacityOf } from "./config/capacity";
import { VM_POSTGRES_MAX_CONNECTIONS } from "./files/ops-agent";
import { InstancePool, type PoolAutoscaling } from "../components/instance-pool";
import { JitsiSignaling } from "../components/jitsi-signaling";
import { VideoBridgePool } from "../components/video-bridges";
import { appInstanceFiles, appInstanceUserData, appPort, WS_CONNECTIONS_METRIC, type AppInstanceOptions, type AppKind } from "./files/app-instance";
import type { JitsiEnv } from "./files/jitsi";

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

  const network = new Network("network", {
    prefix: c.prefix,
    labels: ctx.labels("network"),
    regions: regionRanges(ctx.regions, c.network),
    // Once a load balancer fronts the web machines, only Google's proxies reach 80/443.
    webSourceRanges: c.loadBalancer.enabled ? GOOGLE_LB_RANGES : ["0.0.0.0/0"],
    privateServiceAccess: c.network.privateServiceAccess,
    privateServicesPrefixLength: c.network.privateServicesPrefixLength,
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
          bootDependencies: [...vmSecrets.flatMap((s) => [s.secret.version, ...s.secret.accessorGrants]), ...registry.readerGrants],
          registryHosts: [...new Set([registry.host, ...registryHostsOf(Object.values(c.images))])],
          images: c.images,
          domain: c.domain,
          meetDomain: c.meetDomain,
          acmeEmail: c.alertEmails[0]!,
          backendReplicas: c.vm.backendReplicas,
          gunicornWorkers: c.vm.gunicornWorkers,
          gunicornThreads: c.vm.gunicornThreads,
          redis: { maxmemory: c.vm.redisMaxmemory, maxmemoryPolicy: c.vm.redisMaxmemoryPolicy, save: c.vm.redisSave },
          databaseIndexes: c.vm.databaseIndexes,
          publicMedia: c.media.publicMedia,
          copyMediaToBucket: c.media.copyFromVm,
          staticCacheDays: c.media.staticCacheDays,
          mediaCacheDays: c.media.mediaCacheDays,
          behindLoadBalancer: c.loadBalancer.enabled,
          loadBalancerRanges: c.loadBalancer.enabled ? GOOGLE_LB_RANGES : undefined,
          // The Database Migration Service job reads the VM's PostgreSQL over the VPC (Cloud SQL section).
          postgresMigrationSource: c.database.migrateFromVm,
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

  // ── Media buckets, CDN and the global load balancer (stage 2 on) ─────────────────────────────────

  // ── Cloud SQL, Memorystore, app settings (stage 3 on) ────────────────────────────────────────────
  // The app's identity exists before the machines that use it (instance pools at stage 3, GKE workloads through
  // Workload Identity at stage 4): the secrets below grant it access, the pools section runs as it.
  const appIdentity = c.database.enabled
    ? new ServiceAccount("app", {
        prefix: c.prefix,
        project: c.project,
        role: "app",
        description: "Course Organizer app (Gunicorn, Daphne, workers): reads its settings secret, writes logs and metrics",
        roles: ["roles/logging.logWriter", "roles/monitoring.metricWriter"],
      })
    : undefined;
  const appAccessors = appIdentity ? [appIdentity.email] : [];
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
      })
    : undefined;
  const cache = c.cache.enabled
    ? new Redis("cache", {
        prefix: c.prefix,
        labels: ctx.labels("cache"),
        role: "cache",
        region: c.region,
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
    : undefined;
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
            replicaHost: database.replicas.find((r) => r.region === c.region && r.key !== "analytics")?.privateIp,
          },
          redisUrl: cache.url,
          redisCaCert: cache.caCert,
          mediaBucket: physicalName(c.prefix, "media", "bucket"),
          staticBucket: physicalName(c.prefix, "static", "bucket"),
          // /static and /media are served by Cloud CDN behind the load balancer, on the site's own domain.
          cdnHost: c.domain,
          sentryDsn: c.monitoring.sentryDsn,
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
  const appPool = (kind: AppKind) => {
    const p = kind === "http" ? c.httpPool : c.wsPool;
    if (!p.enabled || !database || !appSettings) return undefined;
    const boot = appInstanceInputs({
      kind,
      project: c.project,
      backendImage: c.images.backend,
      pgbouncerImage: c.images.pgbouncer,
      registryHosts: [...new Set([registry.host, ...registryHostsOf(Object.values(c.images))])],
      settingsSecretId: appSettings.secretId,
      secrets: [{ env: "DJANGO_SECRET_KEY", secretId: djangoSecret.secretId }],
      dbHost: database.privateIp,
      dbName: APP_DATABASE,
      poolSize: c.database.pgbouncerPoolSize,
      domain: c.domain,
      gunicornWorkers: c.vm.gunicornWorkers,
      gunicornThreads: c.vm.gunicornThreads,
    });
    const autoscaling: PoolAutoscaling =
      kind === "http"
        ? {
            minReplicas: c.httpPool.minReplicas,
            maxReplicas: c.httpPool.maxReplicas,
            cooldownSeconds: c.httpPool.cooldownSeconds,
            cpuTarget: c.httpPool.cpuTargetPercent / 100,
            // Seed "Request count: 100 req/s per instance": the /api backend balances in RATE mode with
            // maxRatePerInstance = requestsPerSecondPerInstance (lbPoolTargets below), and the autoscaler keeps 100 %
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
      renderRole: `${kind}-pool`,
      renderFiles: boot.files,
      projectRoles: ["roles/logging.logWriter", "roles/monitoring.metricWriter"],
      secretIds: [appSettings.secretId, djangoSecret.secretId],
      registry: { location: c.region, repository: registry.repository.name },
      // Gunicorn stores uploads and collectstatic output in the buckets; Daphne only reads settings.
      writableBuckets: kind === "http" ? [physicalName(c.prefix, "media", "bucket"), physicalName(c.prefix, "static", "bucket")] : [],
      bootDependencies: [...appSettings.bootDependencies, djangoSecret.version],
      namedPorts: [{ name: kind, port }],
      healthCheck: {
        port,
        path: p.healthPath,
        // Django answers only for ALLOWED_HOSTS: the probe sends the site's host.
        host: c.domain,
        // First boot: packages, image pulls and settings take a few minutes before the app answers.
        initialDelaySec: 300,
      },
      autoscaling,
      publishedMetrics:
        kind === "ws"
          ? [{ type: WS_CONNECTIONS_METRIC, displayName: "Course Organizer WebSocket connections", description: "Established connections to Daphne on one instance (per-instance gauge, published every minute)" }]
          : [],
      description: kind === "http" ? "HTTP pool (Gunicorn)" : "WebSocket pool (Daphne)",
    });
  };
  const httpPool = appPool("http");
  const wsPool = appPool("ws");
  /** Load-balancer targets of the pools (the routes builder in the load-balancer section takes them). */
  const lbPoolTargets = httpPool && wsPool ? poolTargets(httpPool, wsPool, c) : undefined;
  void lbPoolTargets; // until the load-balancer routes (components/load-balancer.ts) take them
  if (httpPool) outputs.httpInstanceGroup = httpPool.instanceGroup;
  if (wsPool) outputs.wsInstanceGroup = wsPool.instanceGroup;

  const jitsiSecrets = vmSecrets.filter((s) => s.env === "JICOFO_AUTH_PASSWORD" || s.env === "JVB_AUTH_PASSWORD");
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
          images: c.images,
          meetDomain: c.meetDomain,
          acmeEmail: c.alertEmails[0]!,
          secrets: jitsiSecrets.map((s) => ({ env: s.env as JitsiEnv, secretId: s.secret.secretId })),
          bootDependencies: jitsiSecrets.map((s) => s.secret.version),
          relay: c.video.relay,
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
            image: c.images.jitsiJvb,
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
    thresholds: {
      cpuPercent: c.monitoring.cpuPercent,
      memoryPercent: c.monitoring.memoryPercent,
      apiLatencyMs: c.monitoring.apiLatencyMs,
      dbConnectionsPercent: c.monitoring.dbConnectionsPercent,
      websocketConnectionsPercent: c.monitoring.websocketConnectionsPercent,
      diskPercent: c.monitoring.diskPercent,
      errorRatePercent: c.monitoring.errorRatePercent,
    },
    durationSeconds: c.monitoring.durationSeconds,
    uptimeRegions: c.monitoring.uptimeRegions,
    // A retained (stopped) VM at stage 3 serves nothing: no VM metrics then.
    vm: vmServes ? { postgresMaxConnections: VM_POSTGRES_MAX_CONNECTIONS } : undefined,
    instancePools: appPools || videoPools,
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
  outputs.dashboard = monitoring.dashboard.id;
  outputs.uptimeChecks = pulumi.all(monitoring.uptimeChecks.map((u) => u.uptimeCheckId));

  return outputs;
}

/** Artifact Registry hosts (`<region>-docker.pkg.dev`) among image references: docker logs in to each at boot. */
function registryHostsOf(images: string[]): string[] {
  return images.map((i) => i.split("/")[0]!).filter((h) => h.endsWith("-docker.pkg.dev"));
}

/**
 * The user-data and files of an app instance from its (partly unknown) inputs: names and addresses are resolved,
 * never secret values. The file list depends only on plain options, so previews register every path too.
 */
function appInstanceInputs(
  o: Omit<AppInstanceOptions, "settingsSecretId" | "secrets" | "dbHost"> & {
    settingsSecretId: pulumi.Input<string>;
    secrets: { env: string; secretId: pulumi.Input<string> }[];
    dbHost: pulumi.Input<string>;
  },
): { userData: pulumi.Output<string>; files: { path: string; content: pulumi.Output<string> }[] } {
  const resolved = pulumi
    .all([o.settingsSecretId, pulumi.all(o.secrets.map((s) => s.secretId)), o.dbHost])
    .apply(([settingsSecretId, ids, dbHost]) => {
      const opts: AppInstanceOptions = { ...o, settingsSecretId, dbHost, secrets: o.secrets.map((s, i) => ({ env: s.env, secretId: ids[i]! })) };
      const files = appInstanceFiles(opts);
      return { files, userData: appInstanceUserData(opts, files) };
    });
  const paths = appInstanceFiles({ ...o, settingsSecretId: "x", dbHost: "10.0.0.1", secrets: o.secrets.map((s) => ({ env: s.env, secretId: "x" })) }).map((f) => f.renderPath);
  return {
    userData: resolved.apply((r) => r.userData),
    files: paths.map((p) => ({ path: p, content: resolved.apply((r) => r.files.find((f) => f.renderPath === p)!.content) })),
  };
}

/** What the load balancer's routes need from the two pools (named ports, balancing, affinity, timeouts). */
export interface PoolTarget {
  instanceGroup: pulumi.Output<string>;
  healthCheck: pulumi.Output<string>;
  portName: string;
  balancingMode: "RATE" | "UTILIZATION";
  maxRatePerInstance?: number;
  maxUtilization?: number;
  sessionAffinity: "NONE" | "CLIENT_IP";
  timeoutSec: number;
  connectionDrainingTimeoutSec: number;
}

/**
 * The /api (and default) and /ws targets, seed "Load Balancer Configuration". An external Application Load
 * Balancer accepts only RATE or UTILIZATION for instance groups (CONNECTION is for proxy network load balancers).
 */
function poolTargets(http: InstancePool, ws: InstancePool, c: Config): { api: PoolTarget; ws: PoolTarget } {
  return {
    api: {
      instanceGroup: http.instanceGroup,
      healthCheck: http.healthCheck.id,
      portName: "http",
      // 100 req/s per instance: the capacity the autoscaler's loadBalancingUtilization is a fraction of.
      balancingMode: "RATE",
      maxRatePerInstance: c.httpPool.requestsPerSecondPerInstance,
      sessionAffinity: "NONE",
      timeoutSec: 30,
      connectionDrainingTimeoutSec: 30,
    },
    ws: {
      instanceGroup: ws.instanceGroup,
      healthCheck: ws.healthCheck.id,
      portName: "ws",
      // Daphne instances are balanced by CPU; the autoscaler scales them on memory and connections instead.
      balancingMode: "UTILIZATION",
      maxUtilization: 0.8,
      sessionAffinity: "CLIENT_IP",
      // Seed: 3600 s for long WebSocket connections (the backend-service timeout bounds a WebSocket's life).
      timeoutSec: 3600,
      // A removed instance keeps its sockets 300 s, so clients reconnect to another one at their own pace.
      connectionDrainingTimeoutSec: 300,
    },
  };
}
