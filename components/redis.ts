import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { statefulOptions } from "../src/options";
import { Secret } from "./secret";
import type { Weekday } from "./database";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext, PrivateServicePlacement } from "./context";

export interface RedisArgs extends Pick<ComponentContext, "prefix" | "labels">, PrivateServicePlacement {
  /** Role in the physical names: "cache" (stage 3 on), "channels-0", "channels-1" (stage 4 channel layer). */
  role: string;
  /** "STANDARD_HA": a replica in another zone with automatic failover (seed: "<60 seconds"). Forces replacement. */
  tier: "BASIC" | "STANDARD_HA";
  memoryGb: number;
  redisVersion: string;
  /**
   * Eviction policy. The instance holds cache, sessions and (stage 3) the Channels layer; allkeys-lru keeps
   * writes working when memory is full (the seed's stage-2 redis.conf uses the same).
   */
  maxmemoryPolicy: string;
  /** RDB snapshot period (seed: "Persistence: RDB snapshots"). */
  rdbSnapshotPeriod: "ONE_HOUR" | "SIX_HOURS" | "TWELVE_HOURS" | "TWENTY_FOUR_HOURS";
  maintenanceDay: Weekday;
  /** UTC hour the one-hour maintenance window starts. */
  maintenanceHour: number;
  /** Service-account e-mails that may read the AUTH string from Secret Manager. @default [] */
  authAccessors?: pulumi.Input<string>[];
}

/** The app's Redis URL: TLS (`rediss`), AUTH string as password, database 0. */
export function redisUrl(auth: string, host: string, port: number): string {
  // Memorystore AUTH strings are UUIDs (hex and hyphens), safe in a URL; encoded anyway.
  return `rediss://:${encodeURIComponent(auth)}@${host}:${port}/0`;
}

/**
 * Memorystore for Redis, Standard tier: primary and replica in two zones with automatic failover, AUTH, in-transit
 * TLS (server authentication, port 6378), RDB snapshots, private IP through Private Service Access.
 *
 * Stage 4 creates two more for the Channels layer (roles "channels-0", "channels-1"): channels_redis shards
 * across independent hosts itself and cannot use Redis Cluster, because its Lua scripts touch keys that live on
 * different cluster nodes (django/channels_redis issues 381 and 420).
 *
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`).
 */
export class Redis extends pulumi.ComponentResource {
  public readonly instance: gcp.redis.Instance;
  /** Private IP of the primary endpoint (moves with failover; the IP stays). */
  public readonly host: pulumi.Output<string>;
  /** 6378: Memorystore's TLS port when transit encryption is on. */
  public readonly port: pulumi.Output<number>;
  /** `rediss://:<auth>@host:6378/0`, a Pulumi secret. Clients must trust `caCert`. */
  public readonly url: pulumi.Output<string>;
  /** The instance's server CA (PEM): clients verify the TLS certificate against it (REDIS_CA_CERT). */
  public readonly caCert: pulumi.Output<string>;
  /** The AUTH string in Secret Manager. */
  public readonly auth: Secret;
  public readonly authSecretId: pulumi.Output<string>;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:cache:Redis", name, {}, opts);
    // The composition derives the hour modulo 24 from database.maintenanceHour (0-23 in the schema): other callers.
    if (!(Number.isInteger(args.maintenanceHour) && args.maintenanceHour >= 0 && args.maintenanceHour <= 23)) {
      throw new pulumi.ResourceError(argRefuser("Redis")("maintenanceHour", args.maintenanceHour, "is not an hour of the day", "0-23 (UTC)"), this);
    }
    this.instance = new gcp.redis.Instance(
      `${name}-instance`,
      {
        // name, region, tier, connectMode and transitEncryptionMode force replacement: all fixed per role.
        name: physicalName(args.prefix, args.role, "redisInstance"),
        displayName: `${args.prefix} ${args.role}`,
        region: args.region,
        tier: args.tier,
        memorySizeGb: args.memoryGb,
        redisVersion: args.redisVersion,
        authorizedNetwork: args.network,
        connectMode: "PRIVATE_SERVICE_ACCESS",
        authEnabled: true,
        // TLS with server authentication: clients connect to 6378 and verify serverCaCerts.
        transitEncryptionMode: "SERVER_AUTHENTICATION",
        persistenceConfig: { persistenceMode: "RDB", rdbSnapshotPeriod: args.rdbSnapshotPeriod },
        redisConfigs: { "maxmemory-policy": args.maxmemoryPolicy },
        maintenancePolicy: {
          weeklyMaintenanceWindows: [{ day: args.maintenanceDay, startTime: { hours: args.maintenanceHour, minutes: 0, seconds: 0, nanos: 0 } }],
        },
        labels: args.labels,
        deletionProtection: true,
      },
      // The provider itself marks authString a secret output.
      statefulOptions(this, { dependsOn: args.privateServiceConnection ? [args.privateServiceConnection] : [] }),
    );
    this.host = this.instance.host;
    this.port = this.instance.port;
    this.caCert = this.instance.serverCaCerts.apply((c) => c?.[0]?.cert ?? "");
    this.auth = new Secret(
      `${name}-auth`,
      {
        prefix: args.prefix,
        labels: args.labels,
        role: `${args.role}-redis-auth`,
        value: pulumi.secret(this.instance.authString),
        accessors: args.authAccessors ?? [],
      },
      { parent: this },
    );
    this.authSecretId = this.auth.secretId;
    this.url = pulumi.secret(pulumi.all([this.instance.authString, this.host, this.port]).apply(([auth, host, port]) => redisUrl(auth, host, port)));
    this.registerOutputs({ host: this.host, port: this.port, authSecretId: this.authSecretId });
  }
}
