import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { statefulOptions } from "../src/options";
import type { Weekday } from "./database";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext, RegionalPlacement } from "./context";

export interface RedisClusterArgs extends ComponentContext, RegionalPlacement {
  /** Role in the physical names. */
  role: string;
  shards: number;
  /** Replicas per shard, in other zones (MULTI_ZONE). */
  replicasPerShard: number;
  nodeType: "REDIS_SHARED_CORE_NANO" | "REDIS_STANDARD_SMALL" | "REDIS_HIGHMEM_MEDIUM" | "REDIS_HIGHMEM_XLARGE";
  maintenanceDay: Weekday;
  maintenanceHour: number;
  /** Members (`serviceAccount:...`) that connect with IAM authentication (roles/redis.dbConnectionUser). */
  connectors: pulumi.Input<string>[];
}

/**
 * Argument checks, one refusal line each: Redis Cluster's shard counts (1-250) and the replicas per shard this
 * component supports (0-2; data/gcp-catalog.json memorystoreRedisCluster). The config refuses cache.clusterShards and
 * cache.clusterReplicasPerShard first (schema and rules/catalog.ts).
 */
export function redisClusterProblems(args: Pick<RedisClusterArgs, "shards" | "replicasPerShard">): string[] {
  const refuse = argRefuser("RedisCluster");
  const p: string[] = [];
  if (!(Number.isInteger(args.shards) && args.shards >= 1 && args.shards <= 250))
    p.push(refuse("shards", args.shards, "is outside Redis Cluster's shard counts", "1-250", Math.min(250, Math.max(1, Math.round(args.shards) || 1))));
  if (!(Number.isInteger(args.replicasPerShard) && args.replicasPerShard >= 0 && args.replicasPerShard <= 2)) {
    p.push(refuse("replicasPerShard", args.replicasPerShard, "is outside the replicas per shard this component supports", "0-2"));
  }
  return p;
}

/**
 * Memorystore for Redis Cluster: the first cache level, sessions and rate limiting at stage 4 (the seed's
 * "Redis Cluster" row of "WebSocket Scaling", applied to the cache). Sharded, one replica per shard in another
 * zone, reached through Private Service Connect (a service connection policy for `gcp-memorystore-redis` in the
 * region's subnet creates the endpoints), TLS with server authentication, IAM authentication (clients send an
 * access token of their service account as the AUTH password), RDB persistence, GCP deletion protection.
 *
 * The app needs a cluster-aware client (redis-py's `RedisCluster`, django-redis with a cluster connection
 * factory): a plain client that ignores MOVED redirects fails on two of three shards. The Channels layer cannot
 * use it (channels_redis issues 381 and 420); it runs on separate Standard-tier instances.
 *
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`).
 */
export class RedisCluster extends pulumi.ComponentResource {
  public readonly cluster: gcp.redis.Cluster;
  public readonly connectionPolicy: gcp.networkconnectivity.ServiceConnectionPolicy;
  /**
   * The discovery endpoint `host:port`. The client must be cluster-aware: it asks this endpoint for the slot map
   * (CLUSTER SLOTS) and follows MOVED/ASK redirects to the shards.
   */
  public readonly discoveryEndpoint: pulumi.Output<string>;
  /**
   * The PEM CA certificates the cluster's TLS (SERVER_AUTHENTICATION) is signed with: the app's cluster client
   * verifies the nodes against them (REDIS_CLUSTER_CA_CERT).
   */
  public readonly caCerts: pulumi.Output<string>;

  constructor(name: string, args: RedisClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:cache:RedisCluster", name, {}, opts);
    const problems = redisClusterProblems(args);
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);
    // Memorystore for Redis Cluster is a PSC producer: it needs this policy in the consumer VPC before it is created.
    this.connectionPolicy = new gcp.networkconnectivity.ServiceConnectionPolicy(
      `${name}-psc-policy`,
      {
        name: physicalName(args.prefix, `${args.role}-psc-${args.region}`),
        location: args.region,
        serviceClass: "gcp-memorystore-redis",
        network: args.network,
        description: "Private Service Connect endpoints of Memorystore for Redis Cluster",
        pscConfig: { subnetworks: [args.subnetwork] },
        labels: args.labels,
      },
      { parent: this },
    );
    this.cluster = new gcp.redis.Cluster(
      `${name}-cluster`,
      {
        name: physicalName(args.prefix, args.role, "redisCluster"),
        region: args.region,
        shardCount: args.shards,
        replicaCount: args.replicasPerShard,
        nodeType: args.nodeType,
        pscConfigs: [{ network: args.network }],
        // Both force replacement (data/gcp-api-facts.json): fixed for the cluster's life.
        transitEncryptionMode: "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION",
        authorizationMode: "AUTH_MODE_IAM_AUTH",
        zoneDistributionConfig: { mode: "MULTI_ZONE" },
        persistenceConfig: { mode: "RDB", rdbConfig: { rdbSnapshotPeriod: "ONE_HOUR" } },
        redisConfigs: { "maxmemory-policy": "allkeys-lru" },
        maintenancePolicy: {
          weeklyMaintenanceWindows: [{ day: args.maintenanceDay, startTime: { hours: args.maintenanceHour, minutes: 0, seconds: 0, nanos: 0 } }],
        },
        labels: args.labels,
        deletionProtectionEnabled: true,
      },
      statefulOptions(this, { dependsOn: [this.connectionPolicy] }),
    );
    args.connectors.forEach(
      (member, i) =>
        new gcp.projects.IAMMember(`${name}-connector-${i}`, { project: args.project, role: "roles/redis.dbConnectionUser", member }, { parent: this }),
    );
    this.discoveryEndpoint = this.cluster.discoveryEndpoints.apply((e) => (e?.[0] ? `${e[0].address}:${e[0].port}` : ""));
    this.caCerts = this.cluster.managedServerCas.apply((cas) => managedCaPem(cas ?? []));
    this.registerOutputs({ discoveryEndpoint: this.discoveryEndpoint });
  }
}

/** Every certificate of the cluster's managed server CAs, PEM, one after the other (a client trusts any of them). */
export function managedCaPem(cas: { caCerts?: { certificates?: string[] }[] }[]): string {
  return cas
    .flatMap((ca) => ca.caCerts ?? [])
    .flatMap((c) => c.certificates ?? [])
    .map((pem) => pem.trim())
    .join("\n");
}
