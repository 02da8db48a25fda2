/**
 * The context every composition step receives: the validated config and what every component shares (prefix,
 * project, labels, regions, zones); once the network exists, where machines and private services attach.
 */
import type { Config } from "../config/schema";
import { labels as labelsFor } from "../naming";
import { spreadZones } from "../zones";
import { failoverPlan, type FailoverPlan } from "../recovery";
import type { Network } from "../../components/network";
import type { ComponentContext, PrivateServicePlacement, RegionalPlacement } from "../../components/context";

export interface StackContext {
  config: Config;
  prefix: string;
  project: string;
  /** The primary region. */
  region: string;
  /** All regions, the primary first. */
  regions: string[];
  /** Labels for a component: app, component, stage, managed-by (plus the stack's extra labels). */
  labels: (component: string) => Record<string, string>;
  /** Prefix, project and the component's labels: what every component's args extend. */
  scope: (component: string) => ComponentContext;
  /** The three zones a regional group (instance groups, node pools, NEGs) spreads over. */
  zones: (region: string) => string[];
  /** Where the stateful services run: the primary region, or after its loss both (config failover, src/recovery.ts). */
  failover: FailoverPlan;
}

/** The context once the VPC exists. */
export interface NetworkedContext extends StackContext {
  network: Network;
  /** A region's attachment point: VPC and the region's subnet. */
  placement: (region: string) => RegionalPlacement;
  /** Private Service Access in the primary region (Cloud SQL, Memorystore, Memcached). */
  privateServices: () => PrivateServicePlacement;
}

export function contextFor(config: Config): StackContext {
  const labels = (component: string) => labelsFor({ stage: config.stage, extra: config.labels }, component);
  return {
    config,
    prefix: config.prefix,
    project: config.project,
    region: config.region,
    regions: [config.region, ...config.secondaryRegions],
    labels,
    scope: (component) => ({ prefix: config.prefix, project: config.project, labels: labels(component) }),
    zones: spreadZones,
    failover: failoverPlan(config),
  };
}

export function withNetwork(ctx: StackContext, network: Network): NetworkedContext {
  return {
    ...ctx,
    network,
    placement: (region) => ({ region, network: network.network.id, subnetwork: network.subnets[region]!.id }),
    privateServices: () => ({ region: ctx.region, network: network.network.id, privateServiceConnection: network.privateServiceConnection }),
  };
}

/** Stack outputs a step adds (merged by the outline). */
export type Outputs = Record<string, unknown>;
