/**
 * Composition, as an outline in the order data flows: each step (src/stack/<step>.ts) takes the shared context and
 * what earlier steps built, creates its components and returns what later steps need plus its stack outputs. This
 * is the one place that looks at the config as a whole; components receive only their own typed args. Component
 * names (the first constructor argument) never contain the stage, so their URNs survive stage moves.
 */
import type { Config } from "./config/schema";
import type { RenderedFile } from "./render/registry";
import { contextFor } from "./stack/context";
import { buildIdentity } from "./stack/identity";
import { buildNetwork } from "./stack/network";
import { buildMedia } from "./stack/media";
import { buildVm } from "./stack/vm";
import { buildGke } from "./stack/gke";
import { buildData } from "./stack/data";
import { buildCaches } from "./stack/caches";
import { buildQueue } from "./stack/queue";
import { buildSettings } from "./stack/settings";
import { buildPools } from "./stack/pools";
import { buildVideo } from "./stack/video";
import { buildWorkloads } from "./stack/workloads";
import { buildEdge } from "./stack/edge";
import { buildObservability } from "./stack/observability";

export { contextFor, type StackContext } from "./stack/context";

export interface BuiltStack {
  outputs: Record<string, unknown>;
  /** Every file a machine or cluster receives, as the components expose them. */
  files: RenderedFile[];
}

export function buildStack(config: Config): BuiltStack {
  const base = contextFor(config);
  // Identities and secrets, then the VPC everything attaches to.
  const id = buildIdentity(base);
  const net = buildNetwork(base);
  const ctx = net.ctx;
  // Buckets and the CDN key (stage 2 on), then the single VM (stages 1-2) that uses them.
  const media = buildMedia(ctx, id);
  const vm = buildVm(ctx, id, media.media);
  // GKE clusters and the workloads' identities (stage 4): the data step grants them.
  const gke = buildGke(ctx);
  // Data: Cloud SQL and shards, caches, the queue; then the app settings that name them.
  const data = buildData(ctx, id, vm.vm, gke);
  const caches = buildCaches(ctx, gke);
  const queue = buildQueue(ctx, gke);
  const settings = buildSettings(ctx, data, caches, queue.queue);
  // What serves: instance pools (stage 3), Jitsi (stage 3 on), the workloads on GKE (stage 4).
  const pools = buildPools(ctx, { id, media: media.media, database: data.database, appSettings: settings.appSettings });
  const video = buildVideo(ctx, id);
  const workloads = buildWorkloads(ctx, { id, gke, data, caches, media: media.media, appSettings: settings.appSettings });
  // The edge in front of whatever serves, then what watches it all.
  const edge = buildEdge(ctx, {
    media: media.media,
    backends: { vm: vm.lbBackend, ...pools.lbBackends, gke: workloads.lbBackend },
    signaling: video.signaling,
  });
  const observability = buildObservability(ctx);
  const machines = [vm.vm, pools.httpPool, pools.wsPool, video.signaling, ...video.bridges, ...workloads.workloads, observability.monitoring];
  const outputs = {
    stage: config.stage,
    ...net.outputs,
    ...id.outputs,
    ...media.outputs,
    ...vm.outputs,
    ...data.outputs,
    ...caches.outputs,
    ...queue.outputs,
    ...settings.outputs,
    ...pools.outputs,
    ...video.outputs,
    ...workloads.outputs,
    ...edge.outputs,
    ...observability.outputs,
  };
  return { outputs, files: machines.flatMap((m) => m?.files ?? []) };
}
