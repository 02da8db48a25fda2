/**
 * Stage presets: the seed's numbers (../shared/seed/scaling-guide.md) as data. A stack file overrides any of
 * them; nothing else in the program knows which stage it is in except through these values.
 */
import { nodePoolBounds } from "./node-capacity";
import type { Config, Stage } from "./schema";
import { APP_INSTANCE_BOOT_SECONDS, BRIDGE_BOOT_SECONDS } from "./boot-times";

/** Values a preset needs from the stack before it can be built (they name things). */
export interface PresetBase {
  project: string;
  region: string;
  prefix: string;
  domain: string;
}

type Preset = Omit<Config, "project" | "region" | "prefix" | "domain" | "stage">;

/** Third-party images pinned by version: a preset that said `latest` would drift under a deployed stack. */
function images(base: PresetBase): Config["images"] {
  return {
    backend: `${base.region}-docker.pkg.dev/${base.project}/${base.prefix}-images/backend:1.0.0`,
    nginx: "nginx:1.27.3-alpine",
    postgres: "postgres:15.10-alpine",
    redis: "redis:7.2.7-alpine",
    pgbouncer: "edoburu/pgbouncer:v1.24.1-p1",
    jitsiWeb: "jitsi/web:stable-9823",
    jitsiProsody: "jitsi/prosody:stable-9823",
    jitsiJicofo: "jitsi/jicofo:stable-9823",
    jitsiJvb: "jitsi/jvb:stable-9823",
    prometheus: "prom/prometheus:v2.55.1",
    nodeExporter: "prom/node-exporter:v1.8.2",
    postgresExporter: "quay.io/prometheuscommunity/postgres-exporter:v0.16.0",
    redisExporter: "oliver006/redis_exporter:v1.67.0",
    grafana: "grafana/grafana:11.4.0",
    certbot: "certbot/certbot:v3.0.1",
  };
}

/** Seed "Monitoring & Alerts" key metrics table: warning / critical. */
const seedThresholds = {
  cpuPercent: { warning: 70, critical: 85 },
  memoryPercent: { warning: 75, critical: 90 },
  apiLatencyMs: { warning: 200, critical: 500 },
  dbConnectionsPercent: { warning: 70, critical: 90 },
  websocketConnectionsPercent: { warning: 75, critical: 90 },
  diskPercent: { warning: 70, critical: 85 },
  errorRatePercent: { warning: 1, critical: 5 },
};

/** Seed Stage 4 drawing's replica ranges per region (primary and each further region). */
const seedWorkloads: Pick<Config["kubernetes"], "primary" | "secondary"> = {
  primary: {
    api: { initial: 20, min: 10, max: 50 },
    ws: { initial: 10, min: 10, max: 20 },
    worker: { initial: 5, min: 5, max: 10 },
  },
  secondary: {
    api: { initial: 10, min: 10, max: 20 },
    ws: { initial: 5, min: 5, max: 10 },
    worker: { initial: 2, min: 2, max: 5 },
  },
};

const stage1: Preset = {
  secondaryRegions: [],
  meetDomain: "",
  alertEmails: ["ops@example.org"],
  labels: {},
  images: undefined as never, // filled from the base in presetFor()
  // Seed Stage 1: 0-500 concurrent, ~50 req/s, 200-300 WebSockets, ~100 queries/s, <10 GB media.
  load: {
    concurrentUsers: 500,
    requestsPerSecond: 50,
    websocketConnections: 300,
    dbQueriesPerSecond: 100,
    mediaStorageGb: 10,
    videoParticipants: 50,
    egressGbPerMonth: 100,
    pubsubGbPerMonth: 0,
  },
  network: {
    subnetCidr: "10.10.0.0/20",
    podsCidr: "10.16.0.0/14",
    servicesCidr: "10.12.0.0/20",
    privateServicesPrefixLength: 16,
    // 10.100.0.0/16: clear of the subnets (10.10.x), services (10.12.x) and pod ranges (10.16-10.27 for 3 regions).
    privateServicesAddress: "10.100.0.0",
    privateServiceAccess: false,
  },
  vm: {
    enabled: true,
    retained: false,
    // Seed: "e2-medium/e2-standard-2 ... 8-16GB RAM". e2-medium has 4 GB, so 8 GB means e2-standard-2.
    machineType: "e2-standard-2",
    bootDiskGb: 30,
    // Seed: 50GB SSD. Kept at 50 on stage 2 too: a disk cannot shrink, so a way back must not ask for less.
    dataDiskGb: 50,
    dataDiskType: "pd-ssd",
    snapshotRetentionDays: 7,
    snapshotStartTime: "03:00",
    backendReplicas: 1,
    gunicornWorkers: 3,
    gunicornThreads: 2,
    redisMaxmemory: "512mb",
    redisMaxmemoryPolicy: "allkeys-lru",
    redisSave: [
      [900, 1],
      [300, 10],
      [60, 10000],
    ],
    databaseIndexes: true,
    backup: {
      enabled: true,
      bucketLocation: "",
      // At most 5 minutes of committed work outside the bucket (recovery point), whatever the write rate.
      archiveTimeoutSeconds: 300,
      // Weekly full + daily differential, two fulls kept: recovery to any moment of the last 8-14 days.
      fullBackupsKept: 2,
      fullBackupDay: "SUNDAY",
      // After the 03:00 disk snapshot, outside teaching hours.
      backupStartTime: "04:00",
      deletedObjectRetentionDays: 30,
    },
  },
  media: {
    enabled: false,
    location: "",
    publicMedia: false,
    staticCacheDays: 30,
    mediaCacheDays: 7,
    nearlineAfterDays: 365,
    softDeleteDays: 7,
    copyFromVm: true,
  },
  loadBalancer: {
    enabled: false,
    // 600 requests a minute per client IP (Cloud Armor, backend services only: /static and /media from the CDN do
    // not count): a class of 30 pupils behind one school NAT makes 20 app requests a minute each before any 429.
    rateLimitPerMinute: 600,
    // The WAF rules block from the start (sensitivity 1, Google's fewest false positives); "preview" to tune.
    wafMode: "enforce",
    logSampleRate: 0.1,
    gkeTrafficPercent: 0,
    extraDomains: [],
  },
  // Seed Stage 3 "Backend Instance Group (HTTP API)" and "Auto-scaling Configuration".
  httpPool: {
    enabled: false,
    machineType: "n2-standard-2",
    minReplicas: 2,
    maxReplicas: 10,
    // The autoscaler's initialization period: an instance's boot time (src/config/boot-times.ts), not less.
    cooldownSeconds: APP_INSTANCE_BOOT_SECONDS,
    scaleInMaxReplicas: 1,
    scaleInWindowSeconds: 300,
    healthPath: "/api/health",
    cpuTargetPercent: 70,
    requestsPerSecondPerInstance: 100,
    // Gunicorn's rule of thumb, 2 x vCPU + 1 workers (n2-standard-2), with the seed's 2 threads each: 10 requests
    // in flight, enough for 100 req/s at the seed's 50-100 ms responses.
    gunicornWorkers: 5,
    gunicornThreads: 2,
  },
  // Seed Stage 3 "WebSocket Instance Group (Channels)".
  wsPool: {
    enabled: false,
    machineType: "n2-standard-4",
    minReplicas: 2,
    maxReplicas: 5,
    cooldownSeconds: APP_INSTANCE_BOOT_SECONDS,
    scaleInMaxReplicas: 1,
    scaleInWindowSeconds: 600,
    healthPath: "/health",
    memoryTargetPercent: 75,
    connectionsPerInstance: 1000,
  },
  // Seed Stage 3 "Managed Database (Cloud SQL)": db-n1-standard-4 (4 vCPU, 15 GB) is db-custom-4-15360 today.
  database: {
    enabled: false,
    version: "POSTGRES_15",
    tier: "db-custom-4-15360",
    availabilityType: "REGIONAL",
    diskGb: 100,
    diskAutoresizeLimitGb: 1000,
    readReplicas: 1,
    maxConnections: 500,
    pitrDays: 7,
    backupStartTime: "02:00",
    backupRetainedCount: 14,
    maintenanceDay: "SUNDAY",
    maintenanceHour: 4,
    crossRegionReplicas: false,
    shards: 0,
    shardTier: "db-custom-2-7680",
    analyticsReplica: false,
    pgbouncerPoolSize: 20,
    migrateFromVm: false,
    migrationState: "NOT_STARTED",
    cutover: true,
    adoptDatabases: false,
  },
  // Seed Stage 3 "Managed Redis (Memorystore)": Standard tier, 5 GB.
  cache: {
    enabled: false,
    tier: "STANDARD_HA",
    memoryGb: 5,
    redisVersion: "REDIS_7_0",
    channelLayerInstances: 0,
    channelLayerMemoryGb: 5,
    clusterEnabled: false,
    clusterShards: 3,
    clusterReplicasPerShard: 1,
    clusterNodeType: "REDIS_HIGHMEM_MEDIUM",
    memcachedEnabled: false,
    memcachedNodes: 3,
    memcachedCpu: 1,
    memcachedMemoryMb: 4096,
  },
  // Seed "Jitsi Scaling": n2-highcpu-8 per JVB, ~500 participants each, balanced by Jicofo.
  video: {
    mode: "vm",
    signalingMachineType: "e2-standard-4",
    bridgeMachineType: "n2-highcpu-8",
    bridgesPerRegion: 3,
    maxBridgesPerRegion: 6,
    participantsPerBridge: 500,
    cpuTargetPercent: 70,
    // A bridge boots, pulls the jvb image and joins the brewery in about 3-5 minutes.
    bridgeCooldownSeconds: BRIDGE_BOOT_SECONDS,
    // Half an hour for the last conference on a removed bridge to end (most class meetings end within it).
    drainSeconds: 1800,
    relay: false,
  },
  // Seed Stage 4 "Kubernetes Deployment" and its architecture drawing's replica ranges.
  kubernetes: {
    enabled: false,
    releaseChannel: "REGULAR",
    nodeMachineType: "n2-standard-8",
    // Derived from the pods the pools must hold (src/config/node-capacity.ts): 1 and 3 per zone for the ranges
    // below (13 app pods per n2-standard-8; the primary's 80 pods at their maxima, a rollout's 15 and the system
    // pods need 8 nodes). A fixed 10 per zone priced 60 nodes at the maxima, about $14,000 a month of the stage's
    // $24,000, for pods that fit on 18.
    ...nodePoolBounds("n2-standard-8", [seedWorkloads.primary, seedWorkloads.secondary]),
    masterCidrBase: "172.16.0.0/28",
    // Set the CIDR of the machine that runs `pulumi up` (CI); empty admits only the VPC's own ranges.
    masterAuthorizedNetworks: [],
    maintenanceStartTime: "03:00",
    primary: seedWorkloads.primary,
    secondary: seedWorkloads.secondary,
    cpuTargetPercent: 70,
    memoryTargetPercent: 75,
    requestsPerSecondPerPod: 100,
    connectionsPerPod: 1000,
    backlogPerWorker: 100,
    // Stage 4 at the replica maxima: primary 50 + 20 + 10 and europe-west1 20 + 10 + 5 = 115 pods, each PgBouncer
    // capped at pool 2 + reserve 1 = 3 server connections: 115 x 3 = 345 <= 80 % of max_connections 500 (400).
    // Pool 3 (+1 reserve = 4) would need 460. A rolling update's surge (maxSurge 5 per Deployment, 30 pods in two
    // regions, 90 connections) stays under the 500 itself. A third region (150 pods x 3 = 450) needs pool 1 or a
    // higher database.maxConnections.
    pgbouncerPoolSizePerPod: 2,
    workerSpot: false,
  },
  queue: {
    enabled: false,
    ackDeadlineSeconds: 60,
    maxDeliveryAttempts: 5,
    retentionDays: 7,
    minBackoffSeconds: 10,
    maxBackoffSeconds: 600,
  },
  dns: { enabled: false, dnssec: true },
  // Normal operation: the primary region serves (docs/runbooks/region-loss.md sets failover.activeRegion).
  failover: {},
  monitoring: {
    ...seedThresholds,
    durationSeconds: 300,
    monthlyBudgetUsd: 100,
    uptimeRegions: ["USA", "EUROPE", "ASIA_PACIFIC"],
  },
};

const stage2: Preset = {
  ...stage1,
  // Seed Stage 2: 500-2,000 concurrent, ~200 req/s, ~1,000 WebSockets, ~500 queries/s, 50-100 GB media.
  load: {
    concurrentUsers: 2000,
    requestsPerSecond: 200,
    websocketConnections: 1000,
    dbQueriesPerSecond: 500,
    mediaStorageGb: 100,
    videoParticipants: 500,
    egressGbPerMonth: 600,
    pubsubGbPerMonth: 0,
  },
  vm: {
    ...stage1.vm,
    // Seed "Upgrade VM Tier": n2-standard-4 (4 vCPU, 16 GB); "Backend Scaling": 2 replicas x 4 workers x 2 threads.
    machineType: "n2-standard-4",
    backendReplicas: 2,
    gunicornWorkers: 4,
    gunicornThreads: 2,
    // Seed "Redis Configuration".
    redisMaxmemory: "2gb",
    redisMaxmemoryPolicy: "allkeys-lru",
  },
  media: { ...stage1.media, enabled: true },
  loadBalancer: { ...stage1.loadBalancer, enabled: true },
  monitoring: { ...stage1.monitoring, monthlyBudgetUsd: 300 },
};

const stage3: Preset = {
  ...stage2,
  // Seed Stage 3: 2,000-10,000 concurrent, ~1,000 req/s, ~5,000 WebSockets, ~2,000 queries/s, 200 GB-1 TB media.
  load: {
    concurrentUsers: 10000,
    requestsPerSecond: 1000,
    websocketConnections: 5000,
    dbQueriesPerSecond: 2000,
    mediaStorageGb: 1000,
    videoParticipants: 1500,
    egressGbPerMonth: 3000,
    pubsubGbPerMonth: 0,
  },
  network: { ...stage2.network, privateServiceAccess: true },
  // The VM stops serving; it stays (stopped, with a final snapshot) until its data lives in Cloud SQL.
  vm: { ...stage2.vm, enabled: false, retained: true },
  httpPool: { ...stage2.httpPool, enabled: true },
  wsPool: { ...stage2.wsPool, enabled: true },
  database: { ...stage2.database, enabled: true },
  cache: { ...stage2.cache, enabled: true },
  video: { ...stage2.video, mode: "pool" },
  monitoring: { ...stage2.monitoring, monthlyBudgetUsd: 2000 },
};

const stage4: Preset = {
  ...stage3,
  // Seed Stage 4 (the seed's "europe-west1" replica region).
  secondaryRegions: ["europe-west1"],
  load: {
    concurrentUsers: 50000,
    requestsPerSecond: 5000,
    websocketConnections: 25000,
    dbQueriesPerSecond: 10000,
    mediaStorageGb: 10240,
    videoParticipants: 7500,
    egressGbPerMonth: 20000,
    pubsubGbPerMonth: 50,
  },
  vm: { ...stage3.vm, enabled: false, retained: false },
  // Instance groups stay until the weighted cut-over to GKE is finished (loadBalancer.gkeTrafficPercent).
  httpPool: { ...stage3.httpPool, enabled: false },
  wsPool: { ...stage3.wsPool, enabled: false },
  loadBalancer: { ...stage3.loadBalancer, gkeTrafficPercent: 100 },
  database: {
    ...stage3.database,
    // "The stage-3 primary grows": 8 vCPU / 30 GB, same instance (a tier change is an in-place update).
    tier: "db-custom-8-30720",
    readReplicas: 2,
    crossRegionReplicas: true,
    shards: 4,
    analyticsReplica: true,
  },
  cache: {
    ...stage3.cache,
    channelLayerInstances: 2,
    clusterEnabled: true,
    memcachedEnabled: true,
  },
  video: { ...stage3.video, maxBridgesPerRegion: 8, relay: true },
  kubernetes: { ...stage3.kubernetes, enabled: true },
  queue: { ...stage3.queue, enabled: true },
  dns: { ...stage3.dns, enabled: true },
  monitoring: { ...stage3.monitoring, monthlyBudgetUsd: 8000 },
};

const presets: Record<Stage, Preset> = { 1: stage1, 2: stage2, 3: stage3, 4: stage4 };

/** The full preset of a stage for a given project, region, prefix and domain. */
export function presetFor(stage: Stage, base: PresetBase): Omit<Config, "stage"> {
  const p = presets[stage];
  return {
    ...structuredClone(p),
    project: base.project,
    region: base.region,
    prefix: base.prefix,
    domain: base.domain,
    meetDomain: `meet.${base.domain}`,
    images: images(base),
    media: { ...structuredClone(p.media), location: base.region.toUpperCase() },
    vm: { ...structuredClone(p.vm), backup: { ...structuredClone(p.vm.backup), bucketLocation: multiRegionOf(base.region) } },
  };
}

/** The Cloud Storage multi-region around a region (US, EU, ASIA); other regions keep their own location. */
export function multiRegionOf(region: string): string {
  if (region.startsWith("us-")) return "US";
  if (region.startsWith("europe-")) return "EU";
  if (region.startsWith("asia-")) return "ASIA";
  return region.toUpperCase();
}
