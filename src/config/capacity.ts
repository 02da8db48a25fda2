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

export interface Capacity {
  requestsPerSecond: number;
  websocketConnections: number;
  videoParticipants: number;
  /** How each figure was computed, for the plan's --cost/--capacity output. */
  basis: { requestsPerSecond: string; websocketConnections: string; videoParticipants: string };
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
    rpsParts.push(`VM ${c.vm.backendReplicas} replicas x ${c.vm.gunicornWorkers} workers x ${c.vm.gunicornThreads} threads x ${VM_RPS_PER_THREAD} req/s = ${v}`);
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
  return {
    requestsPerSecond: rps,
    websocketConnections: ws,
    videoParticipants: video,
    basis: {
      requestsPerSecond: rpsParts.join(" + ") || "nothing serves HTTP",
      websocketConnections: wsParts.join(" + ") || "nothing serves WebSockets",
      videoParticipants: `${bridges} bridge(s) x ${c.video.participantsPerBridge} participants = ${video}`,
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
        `course-organizer:load.${loadKey}: ${target} is not covered; the configured maximum is ${have} (${basis}), short by ${target - have}; raise ${fix}`,
      );
    }
  };
  check(c.load.requestsPerSecond, cap.requestsPerSecond, "requestsPerSecond", "httpPool.maxReplicas, kubernetes.*.api.max or the VM's gunicorn workers", cap.basis.requestsPerSecond);
  check(c.load.websocketConnections, cap.websocketConnections, "websocketConnections", "wsPool.maxReplicas or kubernetes.*.ws.max", cap.basis.websocketConnections);
  check(c.load.videoParticipants, cap.videoParticipants, "videoParticipants", "video.maxBridgesPerRegion", cap.basis.videoParticipants);
  return out;
}
