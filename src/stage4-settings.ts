/**
 * Settings the app receives at stage 4 (the shard router's DATABASES map, the Channels hosts, the cache and queue
 * endpoints) come from resources the stage-4 section of src/stack.ts creates after the AppSettings secret is
 * declared in the Cloud SQL section. The keys are known from the config alone, so the secret is declared with
 * one deferred output per key, and the stage-4 section fills them once its resources exist.
 */
import { verifiedTls } from "./contract";
import * as pulumi from "@pulumi/pulumi";
import type { Config } from "./config/schema";

/** The setting names the stage-4 section provides for this config (empty before stage 4). */
export function stage4SettingKeys(c: Config): string[] {
  const keys: string[] = [];
  if (c.database.enabled && (c.database.shards > 0 || c.database.analyticsReplica)) keys.push("DATABASES", "DATABASE_SHARD_COUNT");
  if (c.cache.enabled && c.cache.channelLayerInstances > 0) keys.push("CHANNEL_LAYER_REDIS_URLS", "CHANNEL_LAYER_REDIS_CA_CERTS");
  if (c.cache.enabled && c.cache.clusterEnabled) keys.push("REDIS_CLUSTER_ENDPOINT", "REDIS_CLUSTER_CA_CERT");
  if (c.queue.enabled) keys.push("PUBSUB_PROJECT", "PUBSUB_EMAIL_TOPIC", "PUBSUB_EMAIL_SUBSCRIPTION");
  return keys;
}

/** One deferred output per key: `extra` for AppSettings, `fill` from the section that owns the values. */
export class DeferredSettings {
  public readonly extra: Record<string, pulumi.Output<string>> = {};
  private readonly resolvers: Record<string, (v: pulumi.Output<string>) => void> = {};
  private filled = false;

  constructor(public readonly keys: string[]) {
    for (const k of keys) {
      const [out, resolve] = pulumi.deferredOutput<string>();
      this.extra[k] = out;
      this.resolvers[k] = resolve;
    }
  }

  /** Resolve every key (exactly the declared ones: a missing key would leave the settings secret waiting forever). */
  fill(values: Record<string, pulumi.Input<string>>): void {
    if (this.filled) throw new Error("stage-4 settings filled twice");
    const given = Object.keys(values).sort();
    const want = [...this.keys].sort();
    if (JSON.stringify(given) !== JSON.stringify(want)) {
      throw new Error(`stage-4 settings: expected keys ${want.join(", ") || "(none)"}, got ${given.join(", ") || "(none)"}`);
    }
    this.filled = true;
    for (const k of this.keys) this.resolvers[k]!(pulumi.output(values[k]!));
  }
}

/** The database of shard i (seed: course_organizer_shard_0 .. _3, user_id % n). */
export const shardDatabaseName = (i: number) => `course_organizer_shard_${i}`;

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
    ? { ...entry(a.usersDatabase, a.pooler.host, a.primary.passwordSecret), OPTIONS: { sslmode: "disable" }, PORT: String(a.pooler.port), DISABLE_SERVER_SIDE_CURSORS: true }
    : entry(a.usersDatabase, a.primary.host, a.primary.passwordSecret);
  const map: Record<string, Record<string, unknown>> = { default: primary };
  a.shards.forEach((s, i) => (map[`shard_${i}`] = entry(s.name, s.host, s.passwordSecret)));
  if (a.analyticsHost) {
    map.analytics = entry(a.usersDatabase, a.analyticsHost, a.primary.passwordSecret, { options: "-c default_transaction_read_only=on" });
  }
  return map;
}
