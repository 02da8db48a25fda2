/**
 * Composition: which components exist for this config, and how they are wired. This is the one place that
 * looks at the config as a whole; components receive only their own typed args. Component names (the first
 * constructor argument) never contain the stage, so their URNs survive stage moves.
 */
import type { Config } from "./config/schema";
import { labels as labelsFor } from "./naming";
import { Network, regionRanges } from "../components/network";
import { GOOGLE_LB_RANGES } from "../components/network";

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

  // ── HTTP and WebSocket instance groups, Jitsi signaling and Videobridge pools (stage 3 on) ──────

  // ── GKE, workloads, shards, Redis Cluster, Memcached, Pub/Sub, DNS (stage 4) ────────────────────

  // ── Monitoring and alerting (every stage) ────────────────────────────────────────────────────────

  return outputs;
}
