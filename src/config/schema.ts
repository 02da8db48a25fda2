/**
 * The one schema for everything a stack can set. A stack's values are the stage preset
 * (src/config/presets.ts) deep-merged with the overrides in Pulumi.<stack>.yaml; the merged
 * object must pass this schema. Every object is strict, so a typo in a stack file is refused
 * with its full key instead of being silently ignored.
 *
 * Keys in the stack file: `course-organizer:<section>` holds an object (structured config,
 * `pulumi config set --path 'course-organizer:vm.machineType' n2-standard-4`), scalars are top level.
 */
import { z } from "zod";
import { ALERT_METRICS, type AlertMetric, type AlertThresholds } from "../thresholds";

/** GCP region names: two lowercase words and a digit, e.g. us-central1, europe-west1. */
export const regionSchema = z.string().regex(/^[a-z]+-[a-z]+[0-9]+$/, "a GCP region name such as us-central1 or europe-west1");

/** GCP project ids: 6-30 chars, lowercase letters, digits, hyphens, starting with a letter. */
export const projectIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "a GCP project id: 6-30 lowercase letters, digits or hyphens, starting with a letter");

const hostnameSchema = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "a lowercase fully qualified domain name such as courses.example.org");

const emailSchema = z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, "an e-mail address");

/** An image reference: registry/path[:tag][@sha256:digest]. Digests are allowed and preferred. */
const imageSchema = z
  .string()
  .regex(
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
    "a container image reference such as us-docker.pkg.dev/p/repo/backend:1.2.3 or ...@sha256:<64 hex>",
  );

const machineTypeSchema = z
  .string()
  .regex(
    /^(e2|n1|n2|n2d|c2|c2d|c3|c3d|c4|t2d|t2a|m1|m3|n4)-(micro|small|medium|standard|highcpu|highmem|custom)(-[0-9]+)?(-[0-9]+)?$/,
    "a Compute Engine machine type such as e2-standard-2 or n2-highcpu-8",
  );

const percent = z.number().min(1).max(100);
const hhmm = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, "a UTC time HH:MM");
const weekday = z.enum(["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]);

/** The container images every stage runs. */
export const imagesSchema = z
  .object({
    /** The Django backend (Gunicorn and Daphne from one image; WORKER_TYPE picks the process). */
    backend: imageSchema,
    nginx: imageSchema,
    postgres: imageSchema,
    redis: imageSchema,
    pgbouncer: imageSchema,
    jitsiWeb: imageSchema,
    jitsiProsody: imageSchema,
    jitsiJicofo: imageSchema,
    jitsiJvb: imageSchema,
    prometheus: imageSchema,
    nodeExporter: imageSchema,
    /** Prometheus exporters of the VM's PostgreSQL and Redis (scraped by the VM's Prometheus). */
    postgresExporter: imageSchema,
    redisExporter: imageSchema,
    grafana: imageSchema,
    certbot: imageSchema,
  })
  .strict();

/** Seed load targets of the stage ("Users / Load / WebSocket / Database / Storage"), used by the capacity check. */
export const loadSchema = z
  .object({
    concurrentUsers: z.number().int().min(1),
    requestsPerSecond: z.number().int().min(1),
    websocketConnections: z.number().int().min(0),
    dbQueriesPerSecond: z.number().int().min(0),
    mediaStorageGb: z.number().min(0),
    videoParticipants: z.number().int().min(0),
    /** Monthly internet egress assumed by the cost estimate (GiB), CDN included. */
    egressGbPerMonth: z.number().min(0),
    /** Pub/Sub volume assumed by the cost estimate (GiB per month). */
    pubsubGbPerMonth: z.number().min(0),
  })
  .strict();

export const networkSchema = z
  .object({
    /** Primary subnet range of the primary region; further regions take the following /20 blocks. */
    subnetCidr: z.string().regex(/^10\.[0-9]{1,3}\.[0-9]{1,3}\.0\/20$/, "a 10.x.y.0/20 range"),
    /** Secondary ranges kept for GKE (pods /14, services /20) from the first stage on, so stage 4 adds no subnet change. */
    podsCidr: z.string().regex(/^10\.[0-9]{1,3}\.0\.0\/14$/, "a 10.x.0.0/14 range"),
    servicesCidr: z.string().regex(/^10\.[0-9]{1,3}\.[0-9]{1,3}\.0\/20$/, "a 10.x.y.0/20 range"),
    /** The range Private Service Access reserves for Cloud SQL, Memorystore and Memcached (a /16 prefix). */
    privateServicesPrefixLength: z.number().int().min(16).max(24),
    /**
     * First address of that range. Fixed, not left to GCP: an automatic allocation made at stage 3 could take the
     * block a later region's subnet or pod range needs at stage 4, and moving it then replaces a protected range.
     */
    privateServicesAddress: z.string().regex(/^10\.[0-9]{1,3}\.[0-9]{1,3}\.0$/, "a 10.x.y.0 address"),
    /** Enable Private Service Access (needed by Cloud SQL, Memorystore, Memcached). */
    privateServiceAccess: z.boolean(),
  })
  .strict();

/** Point-in-time recovery of the VM's PostgreSQL (pgBackRest to a Cloud Storage bucket, src/files/pgbackrest.ts). */
export const vmBackupSchema = z
  .object({
    /** Archive every WAL segment and take daily base backups to the backup bucket while the VM exists. */
    enabled: z.boolean(),
    /** Location of the backup bucket: a multi-region (US, EU, ASIA) outlives the loss of the VM's region. */
    bucketLocation: z.string().regex(/^[A-Z]+[A-Z0-9-]*$/, "an upper-case GCS location such as US, EU or US-CENTRAL1"),
    /** PostgreSQL archive_timeout: the most committed work not yet in the bucket (recovery point; at most 5 minutes). */
    archiveTimeoutSeconds: z.number().int().min(30).max(300),
    /** Full backups kept (pgBackRest repo1-retention-full); with a weekly full, 2 keep 8-14 days of recovery. */
    fullBackupsKept: z.number().int().min(1).max(52),
    /** Day of the weekly full backup; the other days take a differential. */
    fullBackupDay: weekday,
    /** Daily backup start, UTC. */
    backupStartTime: hhmm,
    /** Deleted or overwritten backup objects stay recoverable this many days (soft delete, 7 to 90). */
    deletedObjectRetentionDays: z.number().int().min(7).max(90),
  })
  .strict();

export const vmSchema = z
  .object({
    /** Run the single-VM platform (stages 1-2). When false after having been true, the VM is retained, not deleted. */
    enabled: z.boolean(),
    /** Keep the VM (and its disk and IP) in the program, stopped, after a move to stage 3 until the data is migrated. */
    retained: z.boolean(),
    machineType: machineTypeSchema,
    /** Zone of the VM; GCP zones are not all a/b/c (europe-west1 has b, c, d), so the preset uses -b. */
    zone: z
      .string()
      .regex(/^[a-z]+-[a-z]+[0-9]+-[a-z]$/, "a zone such as us-central1-b")
      .optional(),
    bootDiskGb: z.number().int().min(20).max(500),
    dataDiskGb: z.number().int().min(10).max(65536),
    dataDiskType: z.enum(["pd-ssd", "pd-balanced", "pd-standard"]),
    snapshotRetentionDays: z.number().int().min(7).max(365),
    /** Daily snapshot start, UTC; GCP snapshot schedules start on a whole hour. */
    snapshotStartTime: z.string().regex(/^([01][0-9]|2[0-3]):00$/, "a whole UTC hour HH:00 (GCP snapshot schedules start on the hour)"),
    backendReplicas: z.number().int().min(1).max(8),
    gunicornWorkers: z.number().int().min(1).max(64),
    gunicornThreads: z.number().int().min(1).max(32),
    /** Redis maxmemory on the VM (redis.conf units: 512mb, 2gb). */
    redisMaxmemory: z.string().regex(/^[0-9]+(mb|gb)$/, "a size such as 512mb or 2gb"),
    redisMaxmemoryPolicy: z.enum(["allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu", "noeviction"]),
    /** RDB snapshot points (seconds changes), the seed's stage-2 "save 900 1 / 300 10 / 60 10000". */
    redisSave: z.array(z.tuple([z.number().int().min(1), z.number().int().min(1)])),
    /** Apply the seed's stage-2 database indexes after the app's migrations. */
    databaseIndexes: z.boolean(),
    backup: vmBackupSchema,
  })
  .strict();

export const mediaSchema = z
  .object({
    /** Static files and media in Cloud Storage behind Cloud CDN (stage 2 on). */
    enabled: z.boolean(),
    location: z.string().regex(/^[A-Z]+[A-Z0-9-]*$/, "an upper-case GCS location such as US-CENTRAL1 or US"),
    /** Media is private and served through CDN signed URLs; true makes media public-read, as the seed's GS_DEFAULT_ACL. */
    publicMedia: z.boolean(),
    /**
     * Days browsers and Cloud CDN keep static files and media (seed: 30 and 7). At least 1: the VM's nginx renders
     * them as Cache-Control max-age and refuses 0 (src/files/nginx.ts), which used to fail a stage 1-2 plan with
     * exit 1 after resources were registered instead of refusing the config.
     */
    staticCacheDays: z.number().int().min(1).max(365),
    mediaCacheDays: z.number().int().min(1).max(365),
    /** Move media objects to Nearline after this many days (seed: 10TB+ row, older files on Nearline). */
    nearlineAfterDays: z.number().int().min(30).max(3650),
    softDeleteDays: z.number().int().min(7).max(90),
    /** Copy media from the VM's data disk into the bucket (once, resumable) when the bucket first appears. */
    copyFromVm: z.boolean(),
  })
  .strict();

export const loadBalancerSchema = z
  .object({
    /** A global external HTTPS load balancer in front of the platform (stage 2 on). */
    enabled: z.boolean(),
    /** Per-client rate limit of the Cloud Armor policy (requests per minute per IP). */
    rateLimitPerMinute: z.number().int().min(60).max(100000),
    /** Share of requests logged at the backend services. */
    logSampleRate: z.number().min(0).max(1),
    /** Share (percent) of /api and /ws traffic sent to GKE when both instance groups and GKE exist (stage 3 to 4 cut-over). */
    gkeTrafficPercent: z.number().int().min(0).max(100),
    /** Extra domains on the certificate (the main domain is always on it). */
    extraDomains: z.array(hostnameSchema),
    /**
     * Cloud Armor's preconfigured WAF rules (SQL injection, XSS, LFI, RCE, scanner detection): "preview" logs what
     * they would block without blocking (the request log's previewSecurityPolicy field), "enforce" answers 403.
     * The switch: run a new rule set in preview, read the matches, then set enforce (README "Edge security").
     */
    wafMode: z.enum(["preview", "enforce"]),
  })
  .strict();

const autoscaledPool = {
  enabled: z.boolean(),
  machineType: machineTypeSchema,
  minReplicas: z.number().int().min(1).max(100),
  maxReplicas: z.number().int().min(1).max(1000),
  cooldownSeconds: z.number().int().min(15).max(3600),
  /** Scale-in control: at most `scaleInMaxReplicas` removed per `scaleInWindowSeconds`. */
  scaleInMaxReplicas: z.number().int().min(1).max(100),
  scaleInWindowSeconds: z.number().int().min(60).max(3600),
  healthPath: z.string().regex(/^\/[A-Za-z0-9/_-]*$/, "an absolute URL path"),
};

export const httpPoolSchema = z
  .object({
    ...autoscaledPool,
    cpuTargetPercent: percent,
    requestsPerSecondPerInstance: z.number().int().min(1).max(100000),
    /** Gunicorn worker processes and threads per worker on each instance. */
    gunicornWorkers: z.number().int().min(1).max(64),
    gunicornThreads: z.number().int().min(1).max(32),
  })
  .strict();

export const wsPoolSchema = z
  .object({
    ...autoscaledPool,
    memoryTargetPercent: percent,
    connectionsPerInstance: z.number().int().min(1).max(100000),
  })
  .strict();

export const databaseSchema = z
  .object({
    /** Cloud SQL for PostgreSQL (stage 3 on). */
    enabled: z.boolean(),
    version: z.enum(["POSTGRES_15", "POSTGRES_16"]),
    tier: z.string().regex(/^db-(custom-[0-9]+-[0-9]+|f1-micro|g1-small|perf-optimized-N-[0-9]+)$/, "a Cloud SQL tier such as db-custom-4-15360"),
    availabilityType: z.enum(["ZONAL", "REGIONAL"]),
    diskGb: z.number().int().min(10).max(65536),
    diskAutoresizeLimitGb: z.number().int().min(0).max(65536),
    readReplicas: z.number().int().min(0).max(10),
    maxConnections: z.number().int().min(25).max(262143),
    pitrDays: z.number().int().min(1).max(35),
    backupStartTime: hhmm,
    backupRetainedCount: z.number().int().min(1).max(365),
    maintenanceDay: weekday,
    maintenanceHour: z.number().int().min(0).max(23),
    /** A read replica of the primary in each further region (stage 4). */
    crossRegionReplicas: z.boolean(),
    /** Shard instances shard_0..shard_{n-1} keyed by user_id % n (stage 4); 0 means no sharding. */
    shards: z.number().int().min(0).max(16),
    shardTier: z.string().regex(/^db-custom-[0-9]+-[0-9]+$/, "a Cloud SQL custom tier such as db-custom-2-7680"),
    /** A read replica for reports with default_transaction_read_only=on (stage 4). */
    analyticsReplica: z.boolean(),
    /** PgBouncer pool size per app instance (transaction mode). */
    pgbouncerPoolSize: z.number().int().min(1).max(500),
    /** Database Migration Service job from the VM's PostgreSQL (stage 2 to 3 move). */
    migrateFromVm: z.boolean(),
    /**
     * The migration job's desired state. The provider creates a job only NOT_STARTED ("Migration Job cannot be
     * created in RUNNING state", magic-modules templates/terraform/pre_create/dms_migration_job.go.tmpl) and starts
     * it on the update to RUNNING (verify, then start: post_update/dms_migration_job.go.tmpl). Set RUNNING for the
     * `up` after the destination was demoted (docs/runbooks/2-to-3.md, scripts/dms-demote-destination.sh).
     */
    migrationState: z.enum(["NOT_STARTED", "RUNNING"]),
    /** Point the app at Cloud SQL (true) or keep it on the VM's PostgreSQL during the migration (false). */
    cutover: z.boolean(),
    /**
     * Adopt the databases a finished migration created (Pulumi import by id) instead of creating them: set it for
     * the first `up` after promoting the migration job (docs in components/database.ts).
     */
    adoptDatabases: z.boolean(),
  })
  .strict();

export const cacheSchema = z
  .object({
    /** Memorystore for Redis, Standard tier (stage 3 on). */
    enabled: z.boolean(),
    tier: z.enum(["BASIC", "STANDARD_HA"]),
    memoryGb: z.number().int().min(1).max(300),
    redisVersion: z.enum(["REDIS_6_X", "REDIS_7_0", "REDIS_7_2"]),
    /** Independent Standard-tier instances for the Channels layer (channels_redis shards across them; stage 4). */
    channelLayerInstances: z.number().int().min(0).max(8),
    channelLayerMemoryGb: z.number().int().min(1).max(300),
    /** Memorystore for Redis Cluster for the first-level cache, sessions and rate limiting (stage 4). */
    clusterEnabled: z.boolean(),
    clusterShards: z.number().int().min(1).max(250),
    clusterReplicasPerShard: z.number().int().min(0).max(2),
    clusterNodeType: z.enum(["REDIS_SHARED_CORE_NANO", "REDIS_STANDARD_SMALL", "REDIS_HIGHMEM_MEDIUM", "REDIS_HIGHMEM_XLARGE"]),
    /** Memorystore for Memcached, the second cache level (stage 4). */
    memcachedEnabled: z.boolean(),
    memcachedNodes: z.number().int().min(1).max(20),
    memcachedCpu: z.number().int().min(1).max(32),
    memcachedMemoryMb: z.number().int().min(1024).max(262144),
  })
  .strict();

export const videoSchema = z
  .object({
    /** Jitsi on the single VM (stages 1-2) or a dedicated signaling VM plus Videobridge pools (stage 3 on). */
    mode: z.enum(["vm", "pool"]),
    signalingMachineType: machineTypeSchema,
    bridgeMachineType: machineTypeSchema,
    /** Bridges per region at rest (the MIG's minimum). */
    bridgesPerRegion: z.number().int().min(1).max(100),
    maxBridgesPerRegion: z.number().int().min(1).max(200),
    /** Seed: ~500 participants per JVB. */
    participantsPerBridge: z.number().int().min(10).max(2000),
    cpuTargetPercent: percent,
    /** Seconds a new bridge is left alone by the autoscaler (boot, image pull, XMPP login). */
    bridgeCooldownSeconds: z.number().int().min(15).max(3600),
    /** Seconds a bridge the group removes may take to let its conferences end (graceful shutdown; GCE allows 3600). */
    drainSeconds: z.number().int().min(60).max(3540),
    /** Cascade bridges of different regions (Jitsi relay, formerly Octo). */
    relay: z.boolean(),
  })
  .strict();

const replicaRange = z
  .object({
    initial: z.number().int().min(1).max(1000),
    min: z.number().int().min(1).max(1000),
    max: z.number().int().min(1).max(1000),
  })
  .strict();

const regionWorkloads = z.object({ api: replicaRange, ws: replicaRange, worker: replicaRange }).strict();

export const kubernetesSchema = z
  .object({
    /** Regional GKE Standard clusters in every region (stage 4). */
    enabled: z.boolean(),
    releaseChannel: z.enum(["RAPID", "REGULAR", "STABLE", "EXTENDED"]),
    nodeMachineType: machineTypeSchema,
    /** Node pool autoscaling bounds per zone. */
    nodesPerZoneMin: z.number().int().min(0).max(100),
    nodesPerZoneMax: z.number().int().min(1).max(1000),
    masterCidrBase: z.string().regex(/^172\.16\.[0-9]{1,3}\.0\/28$/, "a 172.16.x.0/28 range; each further region takes the next /28"),
    /** CIDRs allowed to reach the clusters' control-plane endpoint (CI runners, operators); nodes' subnets always are. */
    masterAuthorizedNetworks: z.array(
      z
        .object({ cidr: z.string().regex(/^[0-9]{1,3}(\.[0-9]{1,3}){3}\/[0-9]{1,2}$/, "an IPv4 CIDR such as 203.0.113.0/24"), name: z.string().min(1).max(60) })
        .strict(),
    ),
    maintenanceStartTime: hhmm,
    /** Replica ranges in the primary region and in every further region (seed: Stage 4 drawing). */
    primary: regionWorkloads,
    secondary: regionWorkloads,
    /** HPA targets. */
    cpuTargetPercent: percent,
    memoryTargetPercent: percent,
    requestsPerSecondPerPod: z.number().int().min(1),
    connectionsPerPod: z.number().int().min(1),
    /** Pub/Sub backlog (undelivered messages) per worker pod. */
    backlogPerWorker: z.number().int().min(1),
    /**
     * Server connections the PgBouncer sidecar of each app pod (api, ws, worker) keeps to the Cloud SQL primary
     * (`default_pool_size`); PgBouncer adds a reserve of max(1, ceil(size / 4)) for bursts, and the two together are
     * its hard cap per pod (`max_db_connections`). The pods at every region's replica maxima times that cap must
     * stay within 80 % of database.maxConnections (checked in src/config/load.ts).
     * @default 2 (stage presets: src/config/presets.ts shows the arithmetic)
     */
    pgbouncerPoolSizePerPod: z.number().int().min(1).max(100),
    /**
     * Run the email workers on a Spot node pool of their own (tainted; only the worker Deployment tolerates it),
     * sized from the worker replica range. Workers tolerate preemption: an unacknowledged Pub/Sub message is
     * delivered again (at least once), so a preempted worker's email is retried by another.
     * @default false
     */
    workerSpot: z.boolean(),
  })
  .strict();

export const queueSchema = z
  .object({
    /** Pub/Sub email-queue, email-worker subscription and dead letter (stage 4). */
    enabled: z.boolean(),
    ackDeadlineSeconds: z.number().int().min(10).max(600),
    maxDeliveryAttempts: z.number().int().min(5).max(100),
    retentionDays: z.number().int().min(1).max(7),
    minBackoffSeconds: z.number().int().min(0).max(600),
    maxBackoffSeconds: z.number().int().min(0).max(600),
  })
  .strict();

/**
 * Loss of the primary region (stage 4; docs/runbooks/region-loss.md). Unset in normal operation. Set
 * `activeRegion` to the surviving secondary region to run there: its cross-region replicas (primary and shards) are
 * promoted to primaries with HA and read replicas, the caches and the channel layer are created there, and both
 * regions' workloads are pointed at them. Everything in the lost region stays in the program unchanged (nothing
 * stored is deleted or replaced; `npm run plan -- --from` proves it).
 */
export const failoverSchema = z
  .object({
    /** The region that serves as primary after the loss of `gcp:region`: one of secondaryRegions. */
    activeRegion: regionSchema.optional(),
  })
  .strict();

export const dnsSchema = z
  .object({
    /** A Cloud DNS zone for the domain with records for the entry IP and Jitsi. */
    enabled: z.boolean(),
    dnssec: z.boolean(),
  })
  .strict();

const thresholdPair = z.object({ warning: z.number().min(0), critical: z.number().min(0) }).strict();

export const monitoringSchema = z
  .object({
    /** Seed "Monitoring & Alerts": warning and critical per metric. */
    cpuPercent: thresholdPair,
    memoryPercent: thresholdPair,
    apiLatencyMs: thresholdPair,
    dbConnectionsPercent: thresholdPair,
    websocketConnectionsPercent: thresholdPair,
    diskPercent: thresholdPair,
    errorRatePercent: thresholdPair,
    /** How long a condition must hold before the policy fires (seconds). */
    durationSeconds: z.number().int().min(0).max(86400),
    webhookUrl: z.string().url().optional(),
    pagerdutyServiceKeySecret: z.string().optional(),
    sentryDsn: z.string().url().optional(),
    billingAccount: z
      .string()
      .regex(/^[A-F0-9]{6}-[A-F0-9]{6}-[A-F0-9]{6}$/, "a billing account id XXXXXX-XXXXXX-XXXXXX")
      .optional(),
    monthlyBudgetUsd: z.number().min(1).max(1_000_000),
    uptimeRegions: z.array(z.enum(["USA", "EUROPE", "SOUTH_AMERICA", "ASIA_PACIFIC", "USA_OREGON", "USA_IOWA", "USA_VIRGINIA"])).min(3),
  })
  .strict();

export { ALERT_METRICS, type AlertMetric } from "../thresholds";

/** The warning/critical pair of every metric of the table, from config `monitoring`. */
export function alertThresholds(m: Pick<z.infer<typeof monitoringSchema>, AlertMetric>): AlertThresholds {
  return Object.fromEntries(ALERT_METRICS.map((k) => [k, m[k]])) as AlertThresholds;
}

export const configSchema = z
  .object({
    stage: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]),
    project: projectIdSchema,
    region: regionSchema,
    /** Further regions (stage 4 runs a cluster and a bridge pool in each). */
    secondaryRegions: z.array(regionSchema),
    /** Prefix of every physical name (`<prefix>-<role>`): never the stage, so a stage move renames nothing. */
    prefix: z.string().regex(/^[a-z][a-z0-9]{1,9}$/, "2-10 lowercase letters or digits, starting with a letter"),
    domain: hostnameSchema,
    /** The host Jitsi answers on (defaults to meet.<domain>). */
    meetDomain: hostnameSchema,
    alertEmails: z.array(emailSchema).min(1),
    /** Extra labels on every labelable resource. */
    labels: z.record(
      z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, "a label key: 1-63 lowercase letters, digits, '_' or '-', starting with a letter"),
      z.string().regex(/^[a-z0-9_-]{0,63}$/, "a label value: 0-63 lowercase letters, digits, '_' or '-'"),
    ),
    images: imagesSchema,
    load: loadSchema,
    network: networkSchema,
    vm: vmSchema,
    media: mediaSchema,
    loadBalancer: loadBalancerSchema,
    httpPool: httpPoolSchema,
    wsPool: wsPoolSchema,
    database: databaseSchema,
    cache: cacheSchema,
    video: videoSchema,
    kubernetes: kubernetesSchema,
    queue: queueSchema,
    dns: dnsSchema,
    monitoring: monitoringSchema,
    failover: failoverSchema,
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type Stage = Config["stage"];
export type ReplicaRange = z.infer<typeof replicaRange>;

/** The top-level keys a stack may set under the project's namespace (plus gcp:project and gcp:region). */
export const configKeys = Object.keys(configSchema.shape).filter((k) => k !== "project" && k !== "region");
