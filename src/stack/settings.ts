/**
 * The app's settings secret (stage 3 on), built once the resources it names exist: the primary and its replica,
 * the cache, and at stage 4 the shard router's DATABASES map, the Channels hosts, Redis Cluster, Memcached and the
 * queue. Every app instance and pod reads it at boot.
 */
import * as pulumi from "@pulumi/pulumi";
import { AppSettings, PGBOUNCER_PORT } from "../../components/app-settings";
import { bucketName } from "../naming";
import { verifiedTls } from "../contract";
import { APP_DATABASE, APP_DB_USER, shardDatabaseName, type Data } from "./data";
import type { Caches } from "./caches";
import type { Queue } from "../../components/queue";
import type { Outputs, StackContext } from "./context";

export function buildSettings(ctx: StackContext, data: Data, caches: Caches, queue: Queue | undefined): { appSettings?: AppSettings; outputs: Outputs } {
  const c = ctx.config;
  const { database } = data;
  const { cache } = caches;
  if (!database || !cache) return { outputs: {} };
  const appSettings = new AppSettings("app-settings", {
    prefix: ctx.prefix,
    labels: ctx.labels("app-settings"),
    database: {
      name: APP_DATABASE,
      user: database.userName,
      password: database.password.value,
      directHost: database.privateIp,
      replicaHost: database.replicas.find((r) => r.region === ctx.failover.activeRegion && r.key !== "analytics" && r.key !== c.failover.activeRegion)
        ?.privateIp,
    },
    redisUrl: cache.url,
    redisCaCert: cache.caCert,
    mediaBucket: bucketName(ctx.project, ctx.prefix, "media"),
    staticBucket: bucketName(ctx.project, ctx.prefix, "static"),
    // /static and /media are served by Cloud CDN behind the load balancer, on the site's own domain.
    cdnHost: c.domain,
    jitsiDomain: c.meetDomain,
    sentryDsn: c.monitoring.sentryDsn,
    extra: stage4Settings(ctx, data, caches, queue),
    accessors: [],
  });
  // The app reads its settings from this secret at boot; its /ws clients must send heartbeats as data frames,
  // since Google's load balancer does not count WebSocket ping/pong as activity (docs: components/app-settings.ts).
  return { appSettings, outputs: { appSettingsSecret: appSettings.secretId } };
}

/** What the app reads at stage 4 besides the stage-3 settings (nothing before stage 4). */
function stage4Settings(ctx: StackContext, data: Data, caches: Caches, queue: Queue | undefined): Record<string, pulumi.Input<string>> {
  const values: Record<string, pulumi.Input<string>> = {};
  const { database, shards } = data;
  const analytics = database?.replicas.find((r) => r.key === "analytics");
  if (database && (shards.length > 0 || analytics)) {
    values.DATABASES = pulumi
      .all([
        database.privateIp,
        database.passwordSecretId,
        pulumi.all(shards.map((s) => pulumi.all([s.privateIp, s.passwordSecretId]))),
        pulumi.output(analytics?.privateIp ?? ""),
      ])
      .apply(([primary, password, sh, an]) =>
        JSON.stringify(
          databasesMap({
            user: APP_DB_USER,
            usersDatabase: APP_DATABASE,
            primary: { host: primary, passwordSecret: password },
            pooler: { host: "127.0.0.1", port: PGBOUNCER_PORT },
            shards: sh.map(([host, passwordSecret], i) => ({ name: shardDatabaseName(i), host, passwordSecret })),
            analyticsHost: an || undefined,
          }),
        ),
      );
    values.DATABASE_SHARD_COUNT = String(shards.length);
  }
  if (caches.channelLayer.length > 0) {
    values.CHANNEL_LAYER_REDIS_URLS = pulumi.all(caches.channelLayer.map((r) => r.url)).apply((u) => JSON.stringify(u));
    values.CHANNEL_LAYER_REDIS_CA_CERTS = pulumi.all(caches.channelLayer.map((r) => r.caCert)).apply((u) => JSON.stringify(u));
  }
  if (caches.redisCluster) {
    values.REDIS_CLUSTER_ENDPOINT = caches.redisCluster.discoveryEndpoint;
    // In-transit TLS with server authentication: the client needs the cluster's CA to verify the nodes.
    values.REDIS_CLUSTER_CA_CERT = caches.redisCluster.caCerts;
  }
  if (queue) {
    values.PUBSUB_PROJECT = ctx.project;
    values.PUBSUB_EMAIL_TOPIC = queue.topicName;
    values.PUBSUB_EMAIL_SUBSCRIPTION = queue.subscriptionName;
  }
  return values;
}

export interface DatabasesMapArgs {
  /** The app's PostgreSQL user (the same on the primary and every shard). */
  user: string;
  /** The users database on the stage-3 primary (Django's `default`). */
  usersDatabase: string;
  /** The primary: private IP and the Secret Manager id of the user's password. */
  primary: { host: string; passwordSecret: string };
  shards: { name: string; host: string; passwordSecret: string }[];
  /** The local PgBouncer in front of the primary (127.0.0.1:6432 on instances and in pods); undefined: direct. */
  pooler?: { host: string; port: number };
  /** The analytics read replica's private IP. @default undefined (no `analytics` entry) */
  analyticsHost?: string;
  /** The CA bundle the direct entries verify the server against. @default DATABASE_CA_FILE (src/contract.ts) */
  caFile?: string;
}

/**
 * The seed's DATABASES map for the shard router (core.db_routers.ShardRouter), with hosts, names and the Secret
 * Manager ids of the passwords (`PASSWORD_SECRET`), never a password: the app resolves them at start.
 * `default` is the users database on the stage-3 primary (it keeps the name it had since the VM); `analytics`
 * reads the same database on the read-only replica, so it carries the primary's database name, not the seed's
 * `course_organizer_analytics`, which no instance has. Direct entries verify the server (verify-ca against the
 * instances' CA bundle, src/contract.ts DATABASE_CA_FILE); `default` talks to the loopback PgBouncer in clear.
 */
export function databasesMap(a: DatabasesMapArgs): Record<string, Record<string, unknown>> {
  const entry = (name: string, host: string, passwordSecret: string, options: Record<string, string> = {}) => ({
    ENGINE: "django.db.backends.postgresql",
    NAME: name,
    HOST: host,
    PORT: "5432",
    USER: a.user,
    PASSWORD_SECRET: passwordSecret,
    OPTIONS: { ...verifiedTls(a.caFile), ...options },
  });
  // `default` goes through the PgBouncer every app instance and pod runs on loopback (transaction pooling, TLS to
  // Cloud SQL is PgBouncer's): the primary's connection budget holds only with it (src/config/load.ts).
  const primary = a.pooler
    ? {
        ...entry(a.usersDatabase, a.pooler.host, a.primary.passwordSecret),
        OPTIONS: { sslmode: "disable" },
        PORT: String(a.pooler.port),
        DISABLE_SERVER_SIDE_CURSORS: true,
      }
    : entry(a.usersDatabase, a.primary.host, a.primary.passwordSecret);
  const map: Record<string, Record<string, unknown>> = { default: primary };
  a.shards.forEach((s, i) => (map[`shard_${i}`] = entry(s.name, s.host, s.passwordSecret)));
  if (a.analyticsHost) {
    map.analytics = entry(a.usersDatabase, a.analyticsHost, a.primary.passwordSecret, { options: "-c default_transaction_read_only=on" });
  }
  return map;
}
