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

  // ── Single-VM platform (stages 1-2; retained, stopped, at stage 3) ───────────────────────────────

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
  /** The app's database and role (the same names as the VM's PostgreSQL, so a migration keeps them). */
  const APP_DATABASE = "course_organizer";
  const APP_DB_USER = "course_organizer";
  /** The VM's PostgreSQL as the Database Migration Service source (stage 2 to 3, config database.migrateFromVm). */
  const vmMigrationSource: DatabaseMigrationSource | undefined = undefined;
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
  if (appSettings) outputs.appSettingsSecret = appSettings.secretId;
  if (database?.migrationJob) outputs.migrationJob = database.migrationJob.name;

  // ── HTTP and WebSocket instance groups, Jitsi signaling and Videobridge pools (stage 3 on) ──────

  // ── GKE, workloads, shards, Redis Cluster, Memcached, Pub/Sub, DNS (stage 4) ────────────────────

  // ── Monitoring and alerting (every stage) ────────────────────────────────────────────────────────

  return outputs;
}
