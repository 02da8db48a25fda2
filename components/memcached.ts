import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { statefulOptions } from "../src/options";
import type { Weekday } from "./database";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext, PrivateServicePlacement } from "./context";

/** Memorystore for Memcached's weekly maintenance window: 3 h, the API's minimum (its range is 3-8 h). */
export const MEMCACHE_MAINTENANCE_WINDOW = "10800s";

export interface MemcachedArgs extends Pick<ComponentContext, "prefix" | "labels">, PrivateServicePlacement {
  /** Role in the physical name. */
  role: string;
  nodes: number;
  /** vCPUs per node. */
  cpu: number;
  /** Memory per node (MiB, multiples of 1024 for 1 vCPU up to 4096 per vCPU). */
  memoryMb: number;
  maintenanceDay: Weekday;
  maintenanceHour: number;
}

/**
 * Argument checks, one refusal line each: Memorystore for Memcached node memory is a multiple of 1024 MB, at most
 * 6656 MB per vCPU (data/gcp-catalog.json memorystoreMemcached). The config refuses cache.memcachedMemoryMb first
 * (rules/catalog.ts memorystoreProblems).
 */
export function memcachedProblems(args: Pick<MemcachedArgs, "cpu" | "memoryMb">): string[] {
  if (args.memoryMb % 1024 === 0 && args.memoryMb >= 1024 && args.memoryMb <= args.cpu * 6656) return [];
  const max = Math.floor((args.cpu * 6656) / 1024) * 1024;
  return [
    argRefuser("Memcached")(
      "memoryMb",
      args.memoryMb,
      `does not fit a ${args.cpu}-vCPU Memcached node`,
      `a multiple of 1024 MB from 1024 to ${max} (6656 MB per vCPU)`,
    ),
  ];
}

/**
 * Memorystore for Memcached: the second cache level (the seed's "persistent" cache, PyMemcacheCache, 1-hour
 * timeout). Nodes spread over the region's zones; private IPs from the Private Service Access range. The
 * discovery endpoint lists the nodes (Memorystore's auto discovery); pymemcache's HashClient takes the node list.
 *
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`).
 */
export class Memcached extends pulumi.ComponentResource {
  public readonly instance: gcp.memcache.Instance;
  public readonly region: string;
  /** `host:11211` of the discovery endpoint (for Memorystore's auto-discovery clients, not for get/set). */
  public readonly discoveryEndpoint: pulumi.Output<string>;
  /**
   * The nodes as `host:port,host:port`, what pymemcache's HashClient takes. Google: use the discovery endpoint only
   * with an auto-discovery client (memorystore/docs/memcached/auto-discovery-overview); pymemcache has none.
   * Reachable only from clients in the instance's own region (memorystore/docs/memcached/regions).
   */
  public readonly nodeAddresses: pulumi.Output<string>;

  constructor(name: string, args: MemcachedArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:cache:Memcached", name, {}, opts);
    const problems = memcachedProblems(args);
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);
    this.instance = new gcp.memcache.Instance(
      `${name}-instance`,
      {
        name: physicalName(args.prefix, args.role, "memcacheInstance"),
        displayName: `${args.prefix} ${args.role}`,
        region: args.region,
        authorizedNetwork: args.network,
        nodeCount: args.nodes,
        nodeConfig: { cpuCount: args.cpu, memorySizeMb: args.memoryMb },
        memcacheVersion: "MEMCACHE_1_6_15",
        maintenancePolicy: {
          // The API takes a window of 3 to 8 hours (magic-modules mmv1/products/memcache/Instance.yaml,
          // weeklyMaintenanceWindow.duration): the shortest, so updates stay in the quiet night hours.
          weeklyMaintenanceWindows: [
            { day: args.maintenanceDay, duration: MEMCACHE_MAINTENANCE_WINDOW, startTime: { hours: args.maintenanceHour, minutes: 0, seconds: 0, nanos: 0 } },
          ],
        },
        labels: args.labels,
        deletionProtection: true,
      },
      statefulOptions(this, { dependsOn: args.privateServiceConnection ? [args.privateServiceConnection] : [] }),
    );
    this.region = args.region;
    this.discoveryEndpoint = this.instance.discoveryEndpoint;
    this.nodeAddresses = this.instance.memcacheNodes.apply((nodes) =>
      [...(nodes ?? [])]
        .sort((a, b) => a.nodeId.localeCompare(b.nodeId))
        .map((n) => `${n.host}:${n.port}`)
        .join(","),
    );
    this.registerOutputs({ discoveryEndpoint: this.discoveryEndpoint, nodeAddresses: this.nodeAddresses });
  }
}
