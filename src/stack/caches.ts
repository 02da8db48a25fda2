/**
 * Caches (stage 3 on): the Memorystore Redis the app's sessions, cache and Channels use at stage 3; at stage 4 the
 * Channels layer's own instances, Redis Cluster (first cache level) and Memcached (second level).
 */
import * as pulumi from "@pulumi/pulumi";
import { Redis } from "../../components/redis";
import { RedisCluster } from "../../components/redis-cluster";
import { Memcached } from "../../components/memcached";
import type { Gke } from "./gke";
import type { NetworkedContext, Outputs } from "./context";

/**
 * Each managed service's maintenance window, in hours after Cloud SQL's (database.maintenanceHour), on the same day:
 * apart, so two of them never restart or fail over together. The Channels instances take consecutive hours from
 * `channels` on.
 */
export const MAINTENANCE_OFFSET_HOURS = { cache: 1, channels: 2, cluster: 4, memcached: 5 } as const;

/** A maintenance window `offset` hours after Cloud SQL's, on its day. */
const maintenanceWindow = (ctx: NetworkedContext) => (offset: number) => ({
  maintenanceDay: ctx.config.database.maintenanceDay,
  maintenanceHour: (ctx.config.database.maintenanceHour + offset) % 24,
});

export interface Caches {
  /** The cache the app uses: the active region's (ctx.failover). */
  cache?: Redis;
  /** The active region's Channels instances. */
  channelLayer: Redis[];
  /** The active region's Redis Cluster. */
  redisCluster?: RedisCluster;
  /** One per region that runs pods (the primary region only before stage 4). */
  memcached: Memcached[];
  outputs: Outputs;
}

export function buildCaches(ctx: NetworkedContext, gke: Gke): Caches {
  const c = ctx.config;
  if (!c.cache.enabled) return { channelLayer: [], memcached: [], outputs: {} };
  const window = maintenanceWindow(ctx);
  // Region loss (config failover, src/recovery.ts): the lost region's caches stay in the program unchanged and new
  // ones serve from the active region; in normal operation `failover.regions` is only the primary region. The last
  // set is the one the app uses.
  const sets = ctx.failover.regions.map(({ region, suffix }) => cacheSet(ctx, gke, region, suffix));
  const { cache, channelLayer, redisCluster } = sets.at(-1)!;
  // Second cache level (seed "persistent": PyMemcacheCache, 1 hour), one instance per region that runs pods: Memorystore
  // for Memcached serves only clients in its own region (memorystore/docs/memcached/regions). The primary region's
  // keeps its name (and URN); each further region's carries the region. So after a region loss the surviving
  // region's instance is already there (nothing for failover.activeRegion to build).
  const memcachedRegions = c.cache.memcachedEnabled ? (c.kubernetes.enabled ? ctx.regions : [ctx.region]) : [];
  const memcached = memcachedRegions.map((region) => {
    const key = region === ctx.region ? "memcached" : `memcached-${region}`;
    return new Memcached(key, {
      ...ctx.scope("memcached"),
      ...ctx.privateServices(),
      region,
      role: key,
      nodes: c.cache.memcachedNodes,
      cpu: c.cache.memcachedCpu,
      memoryMb: c.cache.memcachedMemoryMb,
      ...window(MAINTENANCE_OFFSET_HOURS.memcached),
    });
  });
  const outputs: Outputs = { redisHost: cache.host };
  if (channelLayer.length > 0) outputs.channelLayerHosts = pulumi.all(channelLayer.map((r) => r.host));
  // A cluster-aware client (redis-py RedisCluster) must use this endpoint: it follows MOVED redirects to the shards.
  if (redisCluster) outputs.redisClusterDiscoveryEndpoint = redisCluster.discoveryEndpoint;
  if (memcached.length > 0) outputs.memcachedNodes = pulumi.output(Object.fromEntries(memcached.map((m) => [m.region, m.nodeAddresses])));
  return { cache, channelLayer, redisCluster, memcached, outputs };
}

/** One region's Redis for the app, Channels instances and Redis Cluster; `suffix` names a failover region's set. */
function cacheSet(ctx: NetworkedContext, gke: Gke, region: string, suffix: string): { cache: Redis; channelLayer: Redis[]; redisCluster?: RedisCluster } {
  const c = ctx.config;
  const window = maintenanceWindow(ctx);
  const cache = new Redis(`cache${suffix}`, {
    ...ctx.scope("cache"),
    ...ctx.privateServices(),
    region,
    role: `cache${suffix}`,
    tier: c.cache.tier,
    memoryGb: c.cache.memoryGb,
    redisVersion: c.cache.redisVersion,
    maxmemoryPolicy: "allkeys-lru",
    // Memorystore's shortest period; the seed's stage-2 "save 900 1" snapshotted every 15 minutes.
    rdbSnapshotPeriod: "ONE_HOUR",
    ...window(MAINTENANCE_OFFSET_HOURS.cache),
    authAccessors: [],
  });
  // Channels layer (seed "WebSocket Scaling with Redis Pub/Sub"): independent Standard-tier instances that
  // channels_redis shards across itself (consistent hashing over `hosts`). It cannot use Redis Cluster: its Lua
  // scripts touch keys that hash to different cluster slots (django/channels_redis issues 381 and 420).
  const channelLayer = Array.from(
    { length: c.cache.channelLayerInstances },
    (_, i) =>
      new Redis(`cache-channels${suffix}-${i}`, {
        ...ctx.scope("cache-channels"),
        ...ctx.privateServices(),
        region,
        role: `channels${suffix}-${i}`,
        tier: c.cache.tier,
        memoryGb: c.cache.channelLayerMemoryGb,
        redisVersion: c.cache.redisVersion,
        // Channel messages and group memberships all carry expiries (60 s, 1 day): evict the nearest expiry first.
        maxmemoryPolicy: "volatile-ttl",
        rdbSnapshotPeriod: "TWENTY_FOUR_HOURS",
        ...window(MAINTENANCE_OFFSET_HOURS.channels + i),
        authAccessors: [],
      }),
  );
  // First cache level, sessions, rate limits: Memorystore for Redis Cluster.
  const redisCluster = c.cache.clusterEnabled
    ? new RedisCluster(`cache-cluster${suffix}`, {
        ...ctx.scope("cache-cluster"),
        ...ctx.placement(region),
        role: `cache-cluster${suffix}`,
        shards: c.cache.clusterShards,
        replicasPerShard: c.cache.clusterReplicasPerShard,
        nodeType: c.cache.clusterNodeType,
        ...window(MAINTENANCE_OFFSET_HOURS.cluster),
        // IAM authentication: the workloads' identities (stage 4 runs no instance pools).
        // roles/redis.dbConnectionUser is a project role: the first cluster's grants cover a failover cluster too.
        connectors: suffix ? [] : gke.members,
      })
    : undefined;
  return { cache, channelLayer, redisCluster };
}
