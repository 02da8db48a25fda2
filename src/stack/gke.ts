/**
 * GKE clusters and the workloads' Google identities (stage 4), before the data step: the shards, Redis Cluster and
 * the queue grant these identities. Every region of the config (primary first) gets a regional cluster; a third
 * region in secondaryRegions adds a subnet, a cluster, its workloads, NEGs and a bridge pool by config alone.
 * The workloads themselves run once the app settings exist (workloads.ts).
 */
import { GkeCluster, masterCidr } from "../../components/gke-cluster";
import { spotPoolBounds } from "../config/node-capacity";
import { WorkloadIdentities } from "../../components/workloads";
import { APP_PORT, WORKLOADS } from "../files/k8s-manifests";
import type * as pulumi from "@pulumi/pulumi";
import type { NetworkedContext } from "./context";

export interface Gke {
  clusters: GkeCluster[];
  identities?: WorkloadIdentities;
  /** The workloads' service-account e-mails and IAM members (empty before stage 4). */
  emails: pulumi.Output<string>[];
  members: pulumi.Output<string>[];
}

export function buildGke(ctx: NetworkedContext): Gke {
  const k = ctx.config.kubernetes;
  if (!k.enabled) return { clusters: [], emails: [], members: [] };
  // One regional cluster per region (its workloads, through its own provider, in workloads.ts). First: the project's
  // workload pool `<project>.svc.id.goog` exists only once a cluster with Workload Identity does, and IAM refuses a
  // workloadIdentityUser binding naming it before ("Identity Pool does not exist").
  const clusters = ctx.regions.map(
    (region, i) =>
      new GkeCluster(`gke-${region}`, {
        ...ctx.scope("gke"),
        ...ctx.placement(region),
        nodeZones: ctx.zones(region),
        masterCidr: masterCidr(k.masterCidrBase, i),
        masterAuthorizedNetworks: k.masterAuthorizedNetworks.map((n) => ({ cidrBlock: n.cidr, displayName: n.name })),
        releaseChannel: k.releaseChannel,
        nodeMachineType: k.nodeMachineType,
        nodesPerZoneMin: k.nodesPerZoneMin,
        nodesPerZoneMax: k.nodesPerZoneMax,
        // The workers' own Spot pool, sized from their replica range (src/config/node-capacity.ts).
        spotPool: k.workerSpot ? spotPoolBounds(k.nodeMachineType, (i === 0 ? k.primary : k.secondary).worker) : undefined,
        maintenanceStartTime: k.maintenanceStartTime,
        podPort: APP_PORT,
      }),
  );
  const identities = new WorkloadIdentities("gke-identities", {
    prefix: ctx.prefix,
    project: ctx.project,
    workloadPoolReady: clusters.map((cl) => cl.cluster),
  });
  return {
    clusters,
    identities,
    emails: WORKLOADS.map((w) => identities.accounts[w].email),
    members: WORKLOADS.map((w) => identities.accounts[w].member),
  };
}
