/**
 * Sizing model: the smallest complete configuration that covers a load, from the per-unit capacities the presets
 * and src/config/capacity.ts name. Each figure below says where it comes from; the headroom is stated once.
 *
 *  - load: the seed's per-user figures of the stage band the user count falls in (src/config/presets.ts `load`
 *    divided by its concurrentUsers), times the users;
 *  - autoscaled units (HTTP instances and api pods 100 req/s, WebSocket instances and ws pods 1,000 connections,
 *    bridges 500 participants): these are the autoscalers' targets (seed "Auto-scaling Configuration"; CPU 70 %),
 *    so each unit keeps about 30 % in reserve at the maximum and the maxima add no further factor;
 *  - fixed capacity (database vCPUs at 500 queries/s each, the VM, the connection budget): it cannot grow on demand,
 *    so it carries FIXED_HEADROOM (20 %) above the load;
 *  - GKE node pools: from the pods they must hold (src/config/node-capacity.ts);
 *  - caches: the seed's 5 GB Memorystore for 10,000 users, i.e. 0.5 MB per concurrent user; Redis evicts (allkeys-lru)
 *    rather than fail, so no headroom.
 * HA is kept: at stages 3-4 every pool keeps at least 2 instances, pods or bridges per region, Cloud SQL stays
 * REGIONAL, Memorystore STANDARD_HA and Redis Cluster one replica per shard.
 */
import { presetFor } from "./presets";
import { DB_QPS_PER_VCPU, VM_RPS_PER_THREAD, VM_WS_PER_DAPHNE, VM_DB_CPU_SHARE, VM_MEDIA_DISK_SHARE, vcpusOf } from "./capacity";
import { DB_CONNECTION_SHARE, pgbouncerServerCap } from "./load";
import { nodePoolBounds } from "./node-capacity";
import type { Config, Stage } from "./schema";
import { prices, sqlTierMonthly } from "../plan/cost";

/** Seed stage bands (concurrent users). */
export const stageBands: { stage: Stage; upTo: number; name: string; monthly: string }[] = [
  { stage: 1, upTo: 500, name: "Startup", monthly: "$50-100" },
  { stage: 2, upTo: 2000, name: "Growth", monthly: "$200-300" },
  { stage: 3, upTo: 10000, name: "Established", monthly: "$1,500-2,000" },
  { stage: 4, upTo: 50000, name: "Scale", monthly: "$5,000-8,000" },
];

/** Seed "Cost per User (Monthly)": users -> $ per user per month, the figure the advice aims at or below. */
export const seedCostPerUser: { users: number; usd: number }[] = [
  { users: 500, usd: 0.2 },
  { users: 2000, usd: 0.15 },
  { users: 10000, usd: 0.2 },
  { users: 50000, usd: 0.16 },
  { users: 200000, usd: 0.15 },
];

/** The seed's cost per user for a load: the figure of the first row at or above it (the last beyond 200,000). */
export function seedTargetPerUser(users: number): number {
  return (seedCostPerUser.find((r) => users <= r.users) ?? seedCostPerUser[seedCostPerUser.length - 1]!).usd;
}

/** Capacity that cannot grow on demand carries this share above the load. */
export const FIXED_HEADROOM = 0.2;
/** Cache memory per concurrent user: the seed's 5 GB Memorystore at 10,000 users. */
export const CACHE_MB_PER_USER = 0.5;
/**
 * Memory a PostgreSQL connection may take (backend ~10 MB + work_mem 4 MB, rounded up): database.maxConnections
 * stays at or below the tier's memory / 16 MB, and at or above the presets' 500.
 */
export const DB_MB_PER_CONNECTION = 16;
export const DB_MIN_MAX_CONNECTIONS = 500;
/** Read replicas the search considers; Cloud SQL allows 10, past 5 a larger tier is simpler to run. */
export const DB_MAX_READ_REPLICAS = 5;
/** Users from which the seed shards the database ("When to Upgrade": 100,000+ multi-region + sharding). */
export const SHARDING_FROM_USERS = 100000;
/** Memory per Redis Cluster node type (Memorystore for Redis Cluster node specifications), shared-core left out. */
export const REDIS_CLUSTER_NODE_GB: Record<string, number> = { REDIS_STANDARD_SMALL: 6.5, REDIS_HIGHMEM_MEDIUM: 13 };
/** WebSocket connections one channel-layer Redis serves: the stage-4 preset's 2 instances for 25,000. */
export const CHANNEL_LAYER_CONNECTIONS = 12500;
/** Memcached nodes per region (one instance per region) per 25,000 users there: the stage-4 preset's 3 in each of its two regions at 50,000. */
export const MEMCACHED_NODES_PER_25K = 3;
/** HA floor of every pool at stages 3-4 (instances, pods or bridges per region). */
export const HA_MIN = 2;
/** Share of the maximum kept at the minimum, from the seed's stage-4 ranges (api 10 of 50, ws 10 of 20, worker 5 of 10). */
export const MIN_SHARE = { api: 0.2, ws: 0.5, worker: 0.5 };
/** Worker pods per api pod at the maximum (seed primary region: 10 workers to 50 api pods). */
export const WORKERS_PER_API_POD = 0.2;
/** Cloud SQL custom tiers the search considers: 3.75 GB per vCPU (the seed's db-n1-standard shape). */
export const DB_TIER_VCPUS = [2, 4, 8, 16, 32];
export const dbTier = (vcpu: number) => `db-custom-${vcpu}-${vcpu * 3840}`;
const tierMemoryMb = (tier: string) => Number(/^db-custom-[0-9]+-([0-9]+)$/.exec(tier)?.[1] ?? 0);

const BASE = { project: "p-000000", region: "us-central1", prefix: "co", domain: "example.org" };

export interface SizingInput {
  users: number;
  /** Video participants at peak; default the band's share of the users. */
  participants?: number;
  /** Regions, primary first; default the stage preset's (stage 4: us-central1 and europe-west1). */
  regions?: string[];
  /** Stage 4: run the email workers on a Spot pool of their own (kubernetes.workerSpot). @default false */
  workerSpot?: boolean;
}

/** A config value as `--set key=value` takes it (lists and numbers as JSON). */
export type SetValue = string | number | boolean | string[];

export interface Sizing {
  stage: Stage;
  load: Config["load"];
  /** `--set` / `pulumi config set --path` pairs, keys without the project's namespace. */
  sets: Record<string, SetValue>;
  /** One line per sized value: how it follows from the load. */
  basis: string[];
}

/** The band of a user count (the last band beyond 50,000). */
export function bandOf(users: number): (typeof stageBands)[number] {
  return stageBands.find((b) => users <= b.upTo) ?? stageBands[stageBands.length - 1]!;
}

/** The load of `users` concurrent users: the band preset's figures per user, times the users. */
export function loadFor(users: number, participants?: number): Config["load"] {
  const band = bandOf(users);
  const ref = presetFor(band.stage, BASE).load;
  const per = (v: number) => v / ref.concurrentUsers;
  const up = (v: number) => Math.max(1, Math.ceil(per(v) * users));
  return {
    concurrentUsers: users,
    requestsPerSecond: up(ref.requestsPerSecond),
    websocketConnections: up(ref.websocketConnections),
    dbQueriesPerSecond: up(ref.dbQueriesPerSecond),
    mediaStorageGb: up(ref.mediaStorageGb),
    videoParticipants: participants ?? up(ref.videoParticipants),
    egressGbPerMonth: up(ref.egressGbPerMonth),
    pubsubGbPerMonth: ref.pubsubGbPerMonth > 0 ? up(ref.pubsubGbPerMonth) : 0,
  };
}

interface DbChoice {
  tier: string;
  readReplicas: number;
  shards: number;
  shardTier: string;
  maxConnections: number;
  monthlyUsd: number;
  capacity: number;
}

/**
 * The cheapest Cloud SQL layout whose vCPUs serve the queries with headroom and whose tiers hold the connection
 * budget: primary tier x read replicas (x shards from SHARDING_FROM_USERS), priced from data/prices.json.
 */
export function sizeDatabase(o: {
  qps: number;
  clients: number;
  perClientConnections: number;
  crossRegionReplicas: number;
  analyticsReplica: boolean;
  shardsAllowed: boolean;
  diskGb: number;
}): DbChoice {
  const needQps = Math.ceil(o.qps * (1 + FIXED_HEADROOM));
  const needConn = o.clients * o.perClientConnections;
  const maxConnections = Math.max(DB_MIN_MAX_CONNECTIONS, Math.ceil(needConn / DB_CONNECTION_SHARE / 100) * 100);
  const disk = o.diskGb * prices().cloudSql.ssdGbMonth.usd;
  const fits = (tier: string) => maxConnections <= tierMemoryMb(tier) / DB_MB_PER_CONNECTION;
  let best: DbChoice | undefined;
  const shardCounts = o.shardsAllowed ? [2, 4, 8, 16] : [0];
  for (const v of DB_TIER_VCPUS) {
    const tier = dbTier(v);
    if (!fits(tier)) continue;
    for (let r = 0; r <= DB_MAX_READ_REPLICAS; r++) {
      for (const shards of shardCounts) {
        for (const sv of shards > 0 ? DB_TIER_VCPUS : [2]) {
          const shardTier = dbTier(sv);
          if (shards > 0 && !fits(shardTier)) continue;
          const capacity = (v * (1 + r + o.crossRegionReplicas) + shards * sv) * DB_QPS_PER_VCPU;
          if (capacity < needQps) continue;
          // Primary and shards REGIONAL (x2, instance and disk); replicas zonal.
          const zonal = r + o.crossRegionReplicas + (o.analyticsReplica ? 1 : 0);
          const usd = (sqlTierMonthly(tier) + disk) * (2 + zonal) + shards * (sqlTierMonthly(shardTier) + disk) * 2;
          if (!best || usd < best.monthlyUsd - 0.005) best = { tier, readReplicas: r, shards, shardTier, maxConnections, monthlyUsd: usd, capacity };
        }
      }
    }
  }
  if (!best)
    throw new Error(
      `no Cloud SQL layout of up to ${DB_TIER_VCPUS[DB_TIER_VCPUS.length - 1]} vCPUs x ${1 + DB_MAX_READ_REPLICAS} serves ${needQps} queries/s with ${maxConnections} connections`,
    );
  return best;
}

/** The cheapest Redis Cluster node type and shard count (min 3, one replica each) holding `gb`. */
export function sizeRedisCluster(gb: number): { nodeType: string; shards: number } {
  let best: { nodeType: string; shards: number; usd: number } | undefined;
  for (const [nodeType, nodeGb] of Object.entries(REDIS_CLUSTER_NODE_GB)) {
    const shards = Math.max(3, Math.ceil(gb / nodeGb));
    const usd = shards * 2 * prices().redisClusterNodeMonth[nodeType]!.usd;
    if (!best || usd < best.usd) best = { nodeType, shards, usd };
  }
  return { nodeType: best!.nodeType, shards: best!.shards };
}

const range = (max: number, share: number) => {
  const min = Math.min(max, Math.max(HA_MIN, Math.ceil(max * share)));
  return { initial: min, min, max };
};

/** The smallest complete configuration covering `users` (and participants, regions): stage, sets and why. */
export function size(input: SizingInput): Sizing {
  const { users } = input;
  if (!Number.isInteger(users) || users < 1) throw new Error(`--users must be a whole number >= 1, got ${users}`);
  if (input.participants !== undefined && (!Number.isInteger(input.participants) || input.participants < 0)) {
    throw new Error(`--participants must be a whole number >= 0, got ${input.participants}`);
  }
  const basis: string[] = [];
  const load = loadFor(users, input.participants);
  let stage: Stage = bandOf(users).stage;
  basis.push(`stage ${stage}: the seed's band for ${users} concurrent users`);
  const perBridge = presetFor(1, BASE).video.participantsPerBridge;
  if (stage < 3 && load.videoParticipants > perBridge) {
    stage = 3;
    basis.push(`stage 3: ${load.videoParticipants} video participants need more than one bridge (${perBridge} each), the Videobridge pool`);
  }
  if (stage < 4 && input.regions && input.regions.length > 1) {
    stage = 4;
    basis.push(`stage 4: ${input.regions.length} regions need GKE in each`);
  }
  const preset = presetFor(stage, BASE);
  const sets: Record<string, SetValue> = { stage };
  for (const [k, v] of Object.entries(load)) sets[`load.${k}`] = v;
  basis.push(
    `load: the stage-${bandOf(users).stage} preset's figures per user x ${users}: ${load.requestsPerSecond} req/s, ${load.websocketConnections} WebSockets, ${load.dbQueriesPerSecond} queries/s, ${load.videoParticipants} participants, ${load.mediaStorageGb} GB media, ${load.egressGbPerMonth} GB egress`,
  );
  const fixed = (v: number) => Math.ceil(v * (1 + FIXED_HEADROOM));

  if (stage <= 2) {
    const vm = preset.vm;
    const perWorker = vm.backendReplicas * vm.gunicornThreads * VM_RPS_PER_THREAD;
    const workers = Math.max(vm.gunicornWorkers, Math.ceil(fixed(load.requestsPerSecond) / perWorker));
    if (workers > 2 * vcpusOf(vm.machineType) + 1)
      throw new Error(`${users} users need ${workers} Gunicorn workers per replica, more than ${vm.machineType} runs; move to stage 3`);
    sets["vm.gunicornWorkers"] = workers;
    basis.push(
      `vm.gunicornWorkers ${workers}: ${fixed(load.requestsPerSecond)} req/s (load + ${FIXED_HEADROOM * 100} %) / (${vm.backendReplicas} replicas x ${vm.gunicornThreads} threads x ${VM_RPS_PER_THREAD} req/s)`,
    );
    const dbQps = vcpusOf(vm.machineType) * VM_DB_CPU_SHARE * DB_QPS_PER_VCPU;
    if (dbQps < fixed(load.dbQueriesPerSecond)) throw new Error(`${load.dbQueriesPerSecond} queries/s exceed the VM's PostgreSQL (${dbQps}); move to stage 3`);
    if (load.websocketConnections > VM_WS_PER_DAPHNE)
      throw new Error(`${load.websocketConnections} WebSockets exceed one Daphne (${VM_WS_PER_DAPHNE}); move to stage 3`);
    if (!preset.media.enabled) {
      const disk = Math.max(vm.dataDiskGb, Math.ceil(fixed(load.mediaStorageGb) / VM_MEDIA_DISK_SHARE / 10) * 10);
      sets["vm.dataDiskGb"] = disk;
      basis.push(
        `vm.dataDiskGb ${disk}: media ${load.mediaStorageGb} GB + ${FIXED_HEADROOM * 100} % on ${VM_MEDIA_DISK_SHARE * 100} % of the disk (never below the preset's ${vm.dataDiskGb}: a disk cannot shrink)`,
      );
    }
    return { stage, load, sets, basis };
  }

  // Stages 3-4: regions.
  const regions =
    stage === 4 ? (input.regions && input.regions.length > 0 ? input.regions : [BASE.region, ...preset.secondaryRegions]) : [input.regions?.[0] ?? BASE.region];
  const nRegions = regions.length;
  if (input.regions && input.regions.length > 0) sets["gcp:region"] = regions[0]!;
  if (stage === 4) sets.secondaryRegions = regions.slice(1);
  const bridgesMax = Math.max(HA_MIN, Math.ceil(load.videoParticipants / preset.video.participantsPerBridge / nRegions));
  sets["video.bridgesPerRegion"] = Math.min(HA_MIN, bridgesMax);
  sets["video.maxBridgesPerRegion"] = bridgesMax;
  basis.push(
    `video: ${bridgesMax} bridges per region (${load.videoParticipants} participants / ${preset.video.participantsPerBridge} per bridge / ${nRegions} region(s), at least ${HA_MIN}); ${HA_MIN} at rest`,
  );

  let clients: number;
  let perClient: number;
  if (stage === 3) {
    const http = Math.max(HA_MIN, Math.ceil(load.requestsPerSecond / preset.httpPool.requestsPerSecondPerInstance));
    const ws = Math.max(HA_MIN, Math.ceil(load.websocketConnections / preset.wsPool.connectionsPerInstance));
    sets["httpPool.minReplicas"] = HA_MIN;
    sets["httpPool.maxReplicas"] = http;
    sets["wsPool.minReplicas"] = HA_MIN;
    sets["wsPool.maxReplicas"] = ws;
    basis.push(`httpPool ${HA_MIN}-${http}: ${load.requestsPerSecond} req/s / ${preset.httpPool.requestsPerSecondPerInstance} per instance`);
    basis.push(`wsPool ${HA_MIN}-${ws}: ${load.websocketConnections} connections / ${preset.wsPool.connectionsPerInstance} per instance`);
    const mem = Math.max(1, Math.ceil((users * CACHE_MB_PER_USER) / 1024));
    sets["cache.memoryGb"] = mem;
    basis.push(`cache.memoryGb ${mem}: ${users} users x ${CACHE_MB_PER_USER} MB`);
    clients = http + ws;
    perClient = pgbouncerServerCap(preset.database.pgbouncerPoolSize);
  } else {
    const k = preset.kubernetes;
    const api = Math.max(HA_MIN, Math.ceil(load.requestsPerSecond / k.requestsPerSecondPerPod / nRegions));
    const ws = Math.max(HA_MIN, Math.ceil(load.websocketConnections / k.connectionsPerPod / nRegions));
    const worker = Math.max(HA_MIN, Math.ceil(api * WORKERS_PER_API_POD));
    const r = { api: range(api, MIN_SHARE.api), ws: range(ws, MIN_SHARE.ws), worker: range(worker, MIN_SHARE.worker) };
    for (const where of ["primary", "secondary"] as const) {
      for (const w of ["api", "ws", "worker"] as const) {
        for (const f of ["initial", "min", "max"] as const) sets[`kubernetes.${where}.${w}.${f}`] = r[w][f];
      }
    }
    basis.push(
      `GKE per region (load split evenly over ${nRegions}; the global load balancer overflows a full region to the next): api ${r.api.min}-${api} (${load.requestsPerSecond} req/s / ${k.requestsPerSecondPerPod}), ws ${r.ws.min}-${ws} (${load.websocketConnections} / ${k.connectionsPerPod}), worker ${r.worker.min}-${worker} (${WORKERS_PER_API_POD} per api pod)`,
    );
    // With Spot workers the app pool holds api and ws only; the workers' pool is sized in the program (spotPoolBounds).
    const spot = input.workerSpot === true;
    const onApp = spot ? { ...r, worker: { initial: 0, min: 0, max: 0 } } : r;
    const nodes = nodePoolBounds(k.nodeMachineType, [onApp]);
    sets["kubernetes.nodesPerZoneMin"] = nodes.nodesPerZoneMin;
    sets["kubernetes.nodesPerZoneMax"] = nodes.nodesPerZoneMax;
    sets["kubernetes.workerSpot"] = spot;
    basis.push(
      `kubernetes.nodesPerZone ${nodes.nodesPerZoneMin}-${nodes.nodesPerZoneMax}: ${api + ws + (spot ? 0 : worker)} pods at the maxima + rollout surge + system pods on ${k.nodeMachineType} (src/config/node-capacity.ts), 3 zones${spot ? `; the ${worker} workers on a Spot pool of their own` : ""}`,
    );
    const cacheGb = (users * CACHE_MB_PER_USER) / 1024;
    const cluster = sizeRedisCluster(cacheGb);
    sets["cache.clusterShards"] = cluster.shards;
    sets["cache.clusterNodeType"] = cluster.nodeType;
    basis.push(
      `Redis Cluster ${cluster.shards} shards of ${cluster.nodeType} + 1 replica each: ${Math.ceil(cacheGb)} GB (${users} users x ${CACHE_MB_PER_USER} MB), cheapest node type`,
    );
    const channels = Math.min(8, Math.max(preset.cache.channelLayerInstances, Math.ceil(load.websocketConnections / CHANNEL_LAYER_CONNECTIONS)));
    if (load.websocketConnections > 8 * CHANNEL_LAYER_CONNECTIONS)
      throw new Error(`${load.websocketConnections} WebSockets exceed 8 channel-layer instances (${CHANNEL_LAYER_CONNECTIONS} each)`);
    sets["cache.channelLayerInstances"] = channels;
    basis.push(`cache.channelLayerInstances ${channels}: ${load.websocketConnections} connections / ${CHANNEL_LAYER_CONNECTIONS}`);
    const memcached = Math.min(20, Math.max(MEMCACHED_NODES_PER_25K, Math.ceil((users / nRegions / 25000) * MEMCACHED_NODES_PER_25K)));
    sets["cache.memcachedNodes"] = memcached;
    basis.push(`cache.memcachedNodes ${memcached} per region: ${MEMCACHED_NODES_PER_25K} per 25,000 users of the region (${Math.ceil(users / nRegions)})`);
    if (nRegions === 1) {
      sets["database.crossRegionReplicas"] = false;
      sets["video.relay"] = false;
    }
    clients = (api + ws + worker) * nRegions;
    perClient = pgbouncerServerCap(k.pgbouncerPoolSizePerPod);
  }

  const db = sizeDatabase({
    qps: load.dbQueriesPerSecond,
    clients,
    perClientConnections: perClient,
    crossRegionReplicas: stage === 4 && preset.database.crossRegionReplicas && nRegions > 1 ? nRegions - 1 : 0,
    analyticsReplica: stage === 4 && preset.database.analyticsReplica,
    shardsAllowed: stage === 4 && users >= SHARDING_FROM_USERS,
    diskGb: preset.database.diskGb,
  });
  sets["database.tier"] = db.tier;
  sets["database.readReplicas"] = db.readReplicas;
  sets["database.maxConnections"] = db.maxConnections;
  if (stage === 4) {
    sets["database.shards"] = db.shards;
    if (db.shards > 0) sets["database.shardTier"] = db.shardTier;
  }
  basis.push(
    `database ${db.tier} + ${db.readReplicas} read replica(s)${db.shards ? ` + ${db.shards} shards of ${db.shardTier}` : ""}: ${db.capacity} queries/s >= ${load.dbQueriesPerSecond} + ${FIXED_HEADROOM * 100} %, the cheapest layout searched; maxConnections ${db.maxConnections} >= ${clients} PgBouncers x ${perClient} / ${DB_CONNECTION_SHARE}`,
  );
  if (stage === 4 && db.shards === 0 && preset.database.shards > 0) {
    basis.push(`database.shards 0 below ${SHARDING_FROM_USERS} users (seed); a running stack never lowers its shard count (the shards hold data)`);
  }
  return { stage, load, sets, basis };
}

/** `key=value` as `npm run plan -- --set` takes it. */
export function setArg(key: string, v: SetValue): string {
  return `${key}=${typeof v === "string" ? v : JSON.stringify(v)}`;
}

/** The same pair as a `pulumi config set` command. */
export function pulumiCommand(key: string, v: SetValue, namespace = "course-organizer"): string {
  const qualified = key.includes(":") ? key : `${namespace}:${key}`;
  if (Array.isArray(v)) return `pulumi config set ${qualified} '${JSON.stringify(v)}'`;
  return `pulumi config set --path ${qualified} ${typeof v === "string" ? v : JSON.stringify(v)}`;
}
