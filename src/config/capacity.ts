/**
 * Capacity check: the configured maximum capacity must cover the stage's load targets (config `load`,
 * the seed's figures). Each figure is what the autoscalers can reach at their maximum.
 */
import type { Config } from "./schema";

/**
 * Requests per second one Gunicorn thread serves on the VM: the seed's stage-1 API time of 50-200 ms puts a
 * thread at 5-20 req/s; 25 assumes the seed's "after indexes" 40 ms average.
 */
export const VM_RPS_PER_THREAD = 25;
/** Seed "WebSocket Connection Limits": one Daphne process, ~10,000 connections in practice. */
export const VM_WS_PER_DAPHNE = 10000;

/**
 * Database queries per second one PostgreSQL vCPU serves: the seed's stage 3 carries ~2,000 queries/s on a
 * 4-vCPU Cloud SQL primary (db-n1-standard-4), i.e. 500 per vCPU for the app's indexed point queries.
 */
export const DB_QPS_PER_VCPU = 500;
/** On the single VM PostgreSQL shares the machine with the app: half of its vCPUs count for the database. */
export const VM_DB_CPU_SHARE = 0.5;
/** On the single VM media shares the data disk with PostgreSQL and Redis: at most half of it for media. */
export const VM_MEDIA_DISK_SHARE = 0.5;

export interface Capacity {
  requestsPerSecond: number;
  websocketConnections: number;
  videoParticipants: number;
  dbQueriesPerSecond: number;
  /** Media the platform can store; null when unbounded (Cloud Storage). */
  mediaStorageGb: number | null;
  /** How each figure was computed, for the plan's --cost/--capacity output. */
  basis: { requestsPerSecond: string; websocketConnections: string; videoParticipants: string; dbQueriesPerSecond: string; mediaStorageGb: string };
}

/** vCPUs of a Compute Engine machine type (`n2-standard-4` 4, `e2-medium` 2 shared) or a Cloud SQL tier (`db-custom-4-15360` 4). */
export function vcpusOf(type: string): number {
  const custom = /^db-custom-([0-9]+)-[0-9]+$/.exec(type) ?? /-custom-([0-9]+)-[0-9]+(-ext)?$/.exec(type);
  if (custom) return Number(custom[1]);
  const perf = /^db-perf-optimized-N-([0-9]+)$/.exec(type);
  if (perf) return Number(perf[1]);
  const std = /^[a-z0-9]+-(standard|highmem|highcpu|highgpu|ultramem|megamem)-([0-9]+)$/.exec(type);
  if (std) return Number(std[2]);
  // Shared-core types: e2-micro/small/medium burst to 2 vCPUs; db-f1-micro and db-g1-small have a shared one.
  if (/^e2-(micro|small|medium)$/.test(type)) return 2;
  if (/^db-(f1-micro|g1-small)$/.test(type)) return 1;
  return 1;
}

export function capacityOf(c: Config): Capacity {
  const regions = 1 + c.secondaryRegions.length;
  let rps = 0;
  const rpsParts: string[] = [];
  let ws = 0;
  const wsParts: string[] = [];
  if (c.vm.enabled) {
    const v = c.vm.backendReplicas * c.vm.gunicornWorkers * c.vm.gunicornThreads * VM_RPS_PER_THREAD;
    rps += v;
    rpsParts.push(
      `VM ${c.vm.backendReplicas} replicas x ${c.vm.gunicornWorkers} workers x ${c.vm.gunicornThreads} threads x ${VM_RPS_PER_THREAD} req/s = ${v}`,
    );
    ws += VM_WS_PER_DAPHNE;
    wsParts.push(`VM one Daphne process ~${VM_WS_PER_DAPHNE}`);
  }
  if (c.httpPool.enabled) {
    const v = c.httpPool.maxReplicas * c.httpPool.requestsPerSecondPerInstance;
    rps += v;
    rpsParts.push(`HTTP pool max ${c.httpPool.maxReplicas} x ${c.httpPool.requestsPerSecondPerInstance} req/s = ${v}`);
  }
  if (c.wsPool.enabled) {
    const v = c.wsPool.maxReplicas * c.wsPool.connectionsPerInstance;
    ws += v;
    wsParts.push(`WebSocket pool max ${c.wsPool.maxReplicas} x ${c.wsPool.connectionsPerInstance} = ${v}`);
  }
  if (c.kubernetes.enabled) {
    const apiMax = c.kubernetes.primary.api.max + c.kubernetes.secondary.api.max * c.secondaryRegions.length;
    const wsMax = c.kubernetes.primary.ws.max + c.kubernetes.secondary.ws.max * c.secondaryRegions.length;
    const v1 = apiMax * c.kubernetes.requestsPerSecondPerPod;
    const v2 = wsMax * c.kubernetes.connectionsPerPod;
    rps += v1;
    ws += v2;
    rpsParts.push(`GKE api pods max ${apiMax} x ${c.kubernetes.requestsPerSecondPerPod} req/s = ${v1}`);
    wsParts.push(`GKE ws pods max ${wsMax} x ${c.kubernetes.connectionsPerPod} = ${v2}`);
  }
  const bridges = c.video.mode === "pool" ? regions * c.video.maxBridgesPerRegion : 1;
  const video = bridges * c.video.participantsPerBridge;

  // The database the app uses: Cloud SQL once cut over (reads spread over the replicas, users over the shards),
  // else the VM's PostgreSQL.
  let qps = 0;
  let qpsBasis = "no database";
  if (c.database.enabled && c.database.cutover) {
    const tierCpu = vcpusOf(c.database.tier);
    const replicas = c.database.readReplicas + (c.database.crossRegionReplicas ? c.secondaryRegions.length : 0);
    const shardCpu = c.database.shards * vcpusOf(c.database.shardTier);
    qps = (tierCpu * (1 + replicas) + shardCpu) * DB_QPS_PER_VCPU;
    qpsBasis =
      `Cloud SQL (${tierCpu} vCPU primary + ${replicas} replica(s) of ${tierCpu}` +
      (c.database.shards > 0 ? ` + ${c.database.shards} shard(s) of ${vcpusOf(c.database.shardTier)}` : "") +
      `) x ${DB_QPS_PER_VCPU} queries/s per vCPU = ${qps}`;
  } else if (c.vm.enabled) {
    const cpu = vcpusOf(c.vm.machineType) * VM_DB_CPU_SHARE;
    qps = cpu * DB_QPS_PER_VCPU;
    qpsBasis = `PostgreSQL on the VM (${cpu} of ${c.vm.machineType}'s ${vcpusOf(c.vm.machineType)} vCPUs) x ${DB_QPS_PER_VCPU} queries/s per vCPU = ${qps}`;
  }

  const media = c.media.enabled ? null : c.vm.dataDiskGb * VM_MEDIA_DISK_SHARE;
  const mediaBasis = c.media.enabled
    ? "Cloud Storage buckets: no size limit"
    : `${VM_MEDIA_DISK_SHARE * 100} % of the VM's ${c.vm.dataDiskGb} GB data disk = ${media} GB (PostgreSQL and Redis use the rest)`;

  return {
    requestsPerSecond: rps,
    websocketConnections: ws,
    videoParticipants: video,
    dbQueriesPerSecond: qps,
    mediaStorageGb: media,
    basis: {
      requestsPerSecond: rpsParts.join(" + ") || "nothing serves HTTP",
      websocketConnections: wsParts.join(" + ") || "nothing serves WebSockets",
      videoParticipants: `${bridges} bridge(s) x ${c.video.participantsPerBridge} participants = ${video}`,
      dbQueriesPerSecond: qpsBasis,
      mediaStorageGb: mediaBasis,
    },
  };
}

/** One line per load target the configured maximum does not reach. */
export function capacityProblems(c: Config): string[] {
  const cap = capacityOf(c);
  const out: string[] = [];
  const check = (target: number, have: number, loadKey: string, fix: string, basis: string) => {
    if (have < target) {
      out.push(
        `course-organizer:load.${loadKey}: ${target} is not covered; the configured maximum is ${have} (${basis}), short by ${target - have}; raise ${fix}; allowed: a target the configured maximum reaches (at most ${have})`,
      );
    }
  };
  check(
    c.load.requestsPerSecond,
    cap.requestsPerSecond,
    "requestsPerSecond",
    "httpPool.maxReplicas, kubernetes.*.api.max or the VM's gunicorn workers",
    cap.basis.requestsPerSecond,
  );
  check(
    c.load.websocketConnections,
    cap.websocketConnections,
    "websocketConnections",
    "wsPool.maxReplicas or kubernetes.*.ws.max",
    cap.basis.websocketConnections,
  );
  check(c.load.videoParticipants, cap.videoParticipants, "videoParticipants", "video.maxBridgesPerRegion", cap.basis.videoParticipants);
  check(
    c.load.dbQueriesPerSecond,
    cap.dbQueriesPerSecond,
    "dbQueriesPerSecond",
    "database.tier, database.readReplicas or database.shards (vm.machineType on the VM)",
    cap.basis.dbQueriesPerSecond,
  );
  if (cap.mediaStorageGb !== null)
    check(
      c.load.mediaStorageGb,
      cap.mediaStorageGb,
      "mediaStorageGb",
      "vm.dataDiskGb, or move media to Cloud Storage (media.enabled)",
      cap.basis.mediaStorageGb,
    );
  return out;
}
