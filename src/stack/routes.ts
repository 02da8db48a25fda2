/**
 * The load balancer's routes from whatever backends exist at a stage: the VM (stage 2), the instance groups
 * (stage 3), GKE's NEGs (stage 4), or groups and NEGs side by side during the 3 -> 4 cut-over.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Config } from "../config/schema";
import type { BackendTarget, LoadBalancerArgs, RouteArgs } from "../../components/load-balancer";
import { appSecurityHeaders, asHeaderLines, HSTS } from "../files/security-headers";

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
    if (mig && gke)
      return [
        { ...mig, weight: 100 - gkeShare },
        { ...gke, weight: gkeShare },
      ];
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
