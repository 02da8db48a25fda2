/**
 * How many GKE nodes a set of pods needs: the pods' resource requests against what a node can give them
 * (allocatable less GKE's own DaemonSets). The node pool's bounds follow from the pods it must hold, not from a
 * fixed number. Used by the stage-4 preset (src/config/presets.ts) and the sizing model (src/config/sizing.ts).
 */
import { vcpusOf } from "./capacity";

/**
 * Requests of one app pod (api, ws or worker), as src/files/k8s-manifests.ts writes them: the app container
 * 500m / 1Gi (the seed's api-deployment.yaml) plus the PgBouncer native sidecar 50m / 32Mi, which counts for the
 * whole life of the pod. The fetch-settings init container (100m / 128Mi) runs before them and needs less.
 * test/sizing.test.ts checks these figures against the rendered Deployments.
 */
export const APP_POD_REQUEST = { cpuMilli: 500 + 50, memoryMi: 1024 + 32 };

/**
 * Pods a rolling update adds on top of the maxima: the Deployments' maxSurge of 5 (seed), for the three
 * Deployments of a region at once (a release rolls them together).
 */
export const ROLLOUT_SURGE_PODS = 3 * 5;

/**
 * GKE's own DaemonSets on every Standard node (kube-proxy 100m, fluentbit-gke, gke-metrics-agent, pdcsi-node, netd,
 * the managed Prometheus collector): their requests come to about 300m and 400 MiB on GKE 1.30-1.33 nodes;
 * 400m / 512 MiB is kept as margin.
 */
export const DAEMONSET_PER_NODE = { cpuMilli: 400, memoryMi: 512 };

/**
 * Cluster-wide system pods that land on the app nodes (kube-dns x2, metrics-server, konnectivity agents, the
 * custom-metrics adapter x2 at 250m / 400Mi each from src/files/k8s-manifests.ts): about 1.5 vCPU and 2 GiB.
 */
export const CLUSTER_SYSTEM = { cpuMilli: 1500, memoryMi: 2048 };

/** Node zones of a regional pool (the first three of the region, src/zones.ts spreadZones). */
export const NODE_ZONES = 3;

/** Memory in MiB of a predefined machine type (standard 4 GB, highmem 8 GB, highcpu 1 GB per vCPU). */
export function memoryMiOf(machineType: string): number {
  const m = /^[a-z0-9]+-(standard|highmem|highcpu)-([0-9]+)$/.exec(machineType);
  if (!m) throw new Error(`node machine type ${machineType}: only predefined standard/highmem/highcpu types are sized`);
  const perVcpu = { standard: 4, highmem: 8, highcpu: 1 }[m[1] as "standard"];
  return Number(m[2]) * perVcpu * 1024;
}

/**
 * Allocatable CPU (millicores) and memory (MiB) of a GKE Standard node, by GKE's reservation rules
 * (cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes): CPU 6 % of the first core, 1 % of the next,
 * 0.5 % of the next two, 0.25 % above four; memory 25 % of the first 4 GiB, 20 % of the next 4, 10 % of the next 8,
 * 6 % of the next 112, 2 % above 128, plus a 100 MiB eviction threshold.
 */
export function allocatable(machineType: string): { cpuMilli: number; memoryMi: number } {
  const cores = vcpusOf(machineType);
  const cpuReserved =
    1000 *
    (0.06 * Math.min(cores, 1) + 0.01 * Math.min(Math.max(cores - 1, 0), 1) + 0.005 * Math.min(Math.max(cores - 2, 0), 2) + 0.0025 * Math.max(cores - 4, 0));
  const mem = memoryMiOf(machineType);
  const gib = 1024;
  const bands: [number, number][] = [
    [4 * gib, 0.25],
    [4 * gib, 0.2],
    [8 * gib, 0.1],
    [112 * gib, 0.06],
    [Infinity, 0.02],
  ];
  let left = mem;
  let memReserved = 0;
  for (const [size, share] of bands) {
    const part = Math.min(left, size);
    memReserved += part * share;
    left -= part;
    if (left <= 0) break;
  }
  return { cpuMilli: Math.floor(1000 * cores - cpuReserved), memoryMi: Math.floor(mem - memReserved - 100) };
}

/** App pods one node holds: whole pods by CPU and by memory after the DaemonSets, the smaller of the two. */
export function podsPerNode(machineType: string): number {
  const a = allocatable(machineType);
  const byCpu = Math.floor((a.cpuMilli - DAEMONSET_PER_NODE.cpuMilli) / APP_POD_REQUEST.cpuMilli);
  const byMem = Math.floor((a.memoryMi - DAEMONSET_PER_NODE.memoryMi) / APP_POD_REQUEST.memoryMi);
  const n = Math.min(byCpu, byMem);
  if (n < 1) throw new Error(`node machine type ${machineType} cannot hold one app pod (${APP_POD_REQUEST.cpuMilli}m, ${APP_POD_REQUEST.memoryMi} MiB)`);
  return n;
}

/**
 * Nodes per zone a regional pool needs for `appPods` app pods (plus the cluster's system pods, and the rollout
 * surge when `surge`): whole pods per node, spread over the pool's zones.
 */
export function nodesPerZoneFor(machineType: string, appPods: number, surge: boolean): number {
  const perNode = podsPerNode(machineType);
  const systemPods = Math.max(Math.ceil(CLUSTER_SYSTEM.cpuMilli / APP_POD_REQUEST.cpuMilli), Math.ceil(CLUSTER_SYSTEM.memoryMi / APP_POD_REQUEST.memoryMi));
  const pods = appPods + (surge ? ROLLOUT_SURGE_PODS : 0) + systemPods;
  return Math.max(1, Math.ceil(Math.ceil(pods / perNode) / NODE_ZONES));
}

/**
 * Bounds of the whole Spot pool of a region (GKE total node counts, any zone: Spot capacity is wherever it is)
 * for the workers alone: their minimum, and their maximum plus one Deployment's rollout surge (5).
 */
export function spotPoolBounds(machineType: string, workers: { min: number; max: number }): { totalMinNodes: number; totalMaxNodes: number } {
  const perNode = podsPerNode(machineType);
  return { totalMinNodes: Math.ceil(workers.min / perNode), totalMaxNodes: Math.ceil((workers.max + ROLLOUT_SURGE_PODS / 3) / perNode) };
}

type Range = { min: number; max: number };
type RegionRanges = { api: Range; ws: Range; worker: Range };

/**
 * Node pool bounds per zone for the replica ranges of every region (one pair of keys serves every region's pool):
 * the maximum holds every region's pods at their maxima plus a rollout's surge, the minimum their minima.
 */
export function nodePoolBounds(machineType: string, regions: RegionRanges[]): { nodesPerZoneMin: number; nodesPerZoneMax: number } {
  const pods = (r: RegionRanges, k: "min" | "max") => r.api[k] + r.ws[k] + r.worker[k];
  return {
    nodesPerZoneMin: Math.max(...regions.map((r) => nodesPerZoneFor(machineType, pods(r, "min"), false))),
    nodesPerZoneMax: Math.max(...regions.map((r) => nodesPerZoneFor(machineType, pods(r, "max"), true))),
  };
}
