import { verifiedTlsQuery } from "../src/contract";
import * as pulumi from "@pulumi/pulumi";
import type { SettingName } from "../src/contract";
import { Secret } from "./secret";
import { JITSI_JWT_APP_ID } from "../src/files/jitsi-auth";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext } from "./context";

/** PgBouncer's port on every app instance (src/files/pgbouncer.ts listens on 127.0.0.1 there). */
export const PGBOUNCER_PORT = 6432;

export interface AppSettingsDatabase {
  /** Database name (Django's default database). */
  name: string;
  user: string;
  /** The user's password, a Pulumi secret. */
  password: pulumi.Input<string>;
  /** Cloud SQL primary's private IP: PgBouncer's server. */
  directHost: pulumi.Input<string>;
  /** A read replica's private IP; the primary when there is none. @default directHost */
  replicaHost?: pulumi.Input<string>;
}

export interface AppSettingsArgs extends Pick<ComponentContext, "prefix" | "labels"> {
  /** Role in the secret id. @default "app-settings" */
  role?: string;
  database: AppSettingsDatabase;
  /** `rediss://:<auth>@host:6378/0` (Redis.url), a Pulumi secret. */
  redisUrl: pulumi.Input<string>;
  /** Memorystore's server CA (Redis.caCert), PEM. */
  redisCaCert: pulumi.Input<string>;
  mediaBucket: pulumi.Input<string>;
  staticBucket: pulumi.Input<string>;
  /** Host the CDN serves /static and /media on (the site's domain behind the load balancer). */
  cdnHost: pulumi.Input<string>;
  /** Jitsi Meet's host (JITSI_DOMAIN, as the VM's containers receive it). */
  jitsiDomain: pulumi.Input<string>;
  /** @default undefined (not written) */
  sentryDsn?: pulumi.Input<string>;
  /** Further settings (stage 4: the shard router's DATABASES map as JSON). They may not redefine the keys above. @default {} */
  extra?: Record<string, pulumi.Input<string>>;
  /** Service-account e-mails of the app machines and workloads that read the settings at boot. */
  accessors: pulumi.Input<string>[];
}

/** Keys the component writes itself; `extra` may not reuse them. */
export const SETTINGS_KEYS = [
  "DATABASE_URL",
  "DATABASE_REPLICA_URL",
  "DATABASE_DIRECT_HOST",
  "DATABASE_NAME",
  "DATABASE_USER",
  "DATABASE_PASSWORD",
  "DATABASE_DISABLE_SERVER_SIDE_CURSORS",
  "REDIS_URL",
  "REDIS_CA_CERT",
  "MEDIA_BUCKET",
  "STATIC_BUCKET",
  "CDN_HOST",
  "JITSI_DOMAIN",
  "JITSI_JWT_APP_ID",
  "SENTRY_DSN",
] as const satisfies readonly SettingName[];

export interface ResolvedSettings {
  /** `caFile`: the CA bundle direct connections verify against. @default DATABASE_CA_FILE (src/contract.ts) */
  database: { name: string; user: string; password: string; directHost: string; replicaHost?: string; caFile?: string };
  redisUrl: string;
  redisCaCert: string;
  mediaBucket: string;
  staticBucket: string;
  cdnHost: string;
  jitsiDomain: string;
  sentryDsn?: string;
  extra: Record<string, string>;
}

/**
 * The names of `extra`, one refusal line per bad name: none may redefine a built-in setting, each is an environment
 * variable name. The composition's extra names are the stage-4 settings of src/stack/settings.ts; other callers.
 */
export function extraSettingProblems(names: readonly string[]): string[] {
  const refuse = argRefuser("AppSettings");
  return names.flatMap((k) => {
    if ((SETTINGS_KEYS as readonly string[]).includes(k))
      return [refuse(`extra.${k}`, k, "redefines a built-in setting", "a name that is not a built-in setting (SETTINGS_KEYS: DATABASE_URL, REDIS_URL, ...)")];
    if (!/^[A-Z][A-Z0-9_]*$/.test(k)) return [refuse(`extra.${k}`, k, "is not an environment variable name", "UPPER_SNAKE_CASE ([A-Z][A-Z0-9_]*)")];
    return [];
  });
}

/** The settings as a flat map of environment variables (pure; the component stores its JSON). */
export function settingsEnv(s: ResolvedSettings): Record<string, string> {
  const problems = extraSettingProblems(Object.keys(s.extra));
  if (problems.length > 0) throw new Error(problems.join("\n"));
  const db = s.database;
  const cred = `${encodeURIComponent(db.user)}:${encodeURIComponent(db.password)}`;
  const env: Partial<Record<SettingName, string>> = {
    // Through PgBouncer on the instance itself (transaction pooling, TLS to Cloud SQL is PgBouncer's job).
    DATABASE_URL: `postgres://${cred}@127.0.0.1:${PGBOUNCER_PORT}/${db.name}`,
    // Reports read from the replica directly (few connections), over TLS verified against the instances' CAs.
    DATABASE_REPLICA_URL: `postgres://${cred}@${db.replicaHost ?? db.directHost}:5432/${db.name}?${verifiedTlsQuery(db.caFile)}`,
    DATABASE_DIRECT_HOST: db.directHost,
    DATABASE_NAME: db.name,
    DATABASE_USER: db.user,
    // For the boot script's PgBouncer auth_file (userlist.txt), so it need not parse the URL.
    DATABASE_PASSWORD: db.password,
    // Django's docs: server-side cursors do not survive transaction pooling; the app must turn them off.
    DATABASE_DISABLE_SERVER_SIDE_CURSORS: "true",
    REDIS_URL: s.redisUrl,
    REDIS_CA_CERT: s.redisCaCert,
    MEDIA_BUCKET: s.mediaBucket,
    STATIC_BUCKET: s.staticBucket,
    CDN_HOST: s.cdnHost,
    JITSI_DOMAIN: s.jitsiDomain,
    // The iss/aud of the room tokens the http processes sign (the secret comes separately, from its own secret).
    JITSI_JWT_APP_ID,
  };
  if (s.sentryDsn) env.SENTRY_DSN = s.sentryDsn;
  return { ...env, ...s.extra };
}

/**
 * The app's settings as one Secret Manager secret: a JSON object of environment variables (values may span lines,
 * e.g. REDIS_CA_CERT, which an env file cannot carry). App instances read it at boot through their service
 * account (`gcloud secrets versions access latest --secret <secretId>`); nothing of it goes to metadata.
 *
 * For the app: the WebSocket path (`/ws/*`, backend timeout 3600 s) needs application-level heartbeats sent as
 * data frames, e.g. every 30 s: Google's external Application Load Balancer does not count WebSocket ping/pong
 * control frames as activity, so an idle socket is closed when the backend timeout runs out.
 */
export class AppSettings extends pulumi.ComponentResource {
  /** The secret holding the settings JSON. */
  public readonly secret: Secret;
  /**
   * Secret Manager id that boot scripts read. For the app behind it: WebSocket clients and Daphne must exchange
   * application heartbeats as data frames (the load balancer ignores ping/pong when timing out idle sockets).
   */
  public readonly secretId: pulumi.Output<string>;
  /**
   * What a machine reading the settings at boot must wait for: the secret's version and its accessor grants
   * (pass them to the instance template's dependsOn, as the VM does with its secrets).
   */
  public readonly bootDependencies: pulumi.Resource[];
  /** The setting names in the secret (no values), for documentation and tests. */
  public readonly keys: pulumi.Output<string[]>;

  constructor(name: string, args: AppSettingsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:app:AppSettings", name, {}, opts);
    const extraNames = Object.keys(args.extra ?? {});
    // The names are plain: refuse them here, before any child, rather than inside the settings' apply.
    const problems = extraSettingProblems(extraNames);
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);
    const extraValues = pulumi.all(Object.values(args.extra ?? {}));
    const env = pulumi
      .output({
        db: pulumi.output({
          name: args.database.name,
          user: args.database.user,
          password: args.database.password,
          directHost: args.database.directHost,
          replicaHost: args.database.replicaHost,
        }),
        redisUrl: args.redisUrl,
        redisCaCert: args.redisCaCert,
        mediaBucket: args.mediaBucket,
        staticBucket: args.staticBucket,
        cdnHost: args.cdnHost,
        jitsiDomain: args.jitsiDomain,
        sentryDsn: args.sentryDsn,
        extra: extraValues,
      })
      .apply((v) =>
        settingsEnv({
          database: v.db,
          redisUrl: v.redisUrl,
          redisCaCert: v.redisCaCert,
          mediaBucket: v.mediaBucket,
          staticBucket: v.staticBucket,
          cdnHost: v.cdnHost,
          jitsiDomain: v.jitsiDomain,
          sentryDsn: v.sentryDsn,
          extra: Object.fromEntries(extraNames.map((k, i) => [k, v.extra[i]!])),
        }),
      );
    this.keys = env.apply((e) => Object.keys(e));
    this.secret = new Secret(
      `${name}-json`,
      {
        prefix: args.prefix,
        labels: args.labels,
        role: args.role ?? "app-settings",
        value: pulumi.secret(env.apply((e) => JSON.stringify(e, null, 2))),
        accessors: args.accessors,
        // Hosts, names and other secrets' ids: it changes with the stage, each change a new version.
        derived: true,
      },
      { parent: this },
    );
    this.secretId = this.secret.secretId;
    this.bootDependencies = [this.secret.version, ...this.secret.accessorGrants];
    this.registerOutputs({ secretId: this.secretId });
  }
}
