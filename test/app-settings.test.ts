/**
 * The app's settings secret on the stage-3 plan: exact contents (database through the local PgBouncer, replica,
 * Redis over TLS, buckets, CDN host), who may read it, Sentry only when configured, the `extra` map for stage 4,
 * and that no secret value reaches a rendered file.
 */
import { describe, expect, it } from "vitest";
import { get, ofType, plan } from "./helpers/plan";
import { settingsEnv, type ResolvedSettings } from "../components/app-settings";

const VERSION = "gcp:secretmanager/secretVersion:SecretVersion";
const SECRET = "gcp:secretmanager/secret:Secret";
const secretOf = (v: unknown) => (v as { "[secret]": string })["[secret]"];

async function settings(sets: string[] = []): Promise<{ env: Record<string, string>; password: string; auth: string; p: Awaited<ReturnType<typeof plan>> }> {
  const p = await plan("stage3", { sets });
  const env = JSON.parse(secretOf(get(p, VERSION, "app-settings-json-version").inputs.secretData)) as Record<string, string>;
  const password = secretOf(get(p, VERSION, "database-password-version").inputs.secretData);
  const auth = secretOf(get(p, VERSION, "cache-auth-version").inputs.secretData);
  return { env, password, auth, p };
}

describe("app settings at stage 3", () => {
  it("hold the database (through PgBouncer on 127.0.0.1:6432), its replica, Redis over TLS, buckets and CDN host", async () => {
    const { env, password, auth, p } = await settings();
    const primaryIp = p.outputs.databasePrivateIp as string;
    const replicaIp = (p.outputs.databaseReplicaIps as string[])[0]!;
    expect(env).toEqual({
      DATABASE_URL: `postgres://course_organizer:${password}@127.0.0.1:6432/course_organizer`,
      DATABASE_REPLICA_URL: `postgres://course_organizer:${password}@${replicaIp}:5432/course_organizer?sslmode=verify-ca&sslrootcert=/run/course-organizer/database-ca.pem`,
      DATABASE_DIRECT_HOST: primaryIp,
      DATABASE_NAME: "course_organizer",
      DATABASE_USER: "course_organizer",
      DATABASE_PASSWORD: password,
      DATABASE_DISABLE_SERVER_SIDE_CURSORS: "true",
      REDIS_URL: `rediss://:${auth}@${p.outputs.redisHost}:6378/0`,
      REDIS_CA_CERT: "-----BEGIN CERTIFICATE-----\nMOCKREDIS\n-----END CERTIFICATE-----",
      MEDIA_BUCKET: "course-organizer-demo-co-media",
      STATIC_BUCKET: "course-organizer-demo-co-static",
      CDN_HOST: "courses.example.org",
      // As the VM's containers receive it (src/contract.ts: required at every stage).
      JITSI_DOMAIN: "meet.courses.example.org",
      JITSI_JWT_APP_ID: "course-organizer",
    });
    expect(primaryIp).not.toBe(replicaIp);
  });

  it("are one protected secret, readable by the two app pools' service accounts only", async () => {
    const { p } = await settings();
    const secret = get(p, SECRET, "app-settings-json-secret");
    expect(secret.inputs.secretId).toBe("co-app-settings");
    expect(secret.inputs.deletionProtection).toBe(true);
    expect(secret.protect).toBe(true);
    expect(p.outputs.appSettingsSecret).toBe("co-app-settings");
    // The component itself grants nobody at stage 3: each pool grants its own account (InstancePool secretIds).
    expect(ofType(p, "gcp:secretmanager/secretIamMember:SecretIamMember").filter((g) => g.name.startsWith("app-settings-"))).toEqual([]);
    const readers = ofType(p, "gcp:secretmanager/secretIamMember:SecretIamMember").filter(
      (g) => String(g.inputs.secretId).replace(/^projects\/[^/]+\/secrets\//, "") === "co-app-settings",
    );
    const poolAccounts = ofType(p, "gcp:serviceaccount/account:Account").filter((a) => /^(http|ws)-pool/.test(a.name));
    expect(poolAccounts).toHaveLength(2);
    expect(readers.map((g) => g.inputs.role)).toEqual(["roles/secretmanager.secretAccessor", "roles/secretmanager.secretAccessor"]);
    expect(readers.map((g) => g.inputs.member).sort()).toEqual(
      poolAccounts.map((a) => `serviceAccount:${a.inputs.accountId}@course-organizer-demo.iam.gserviceaccount.com`).sort(),
    );
  });

  it("carry SENTRY_DSN only when monitoring.sentryDsn is set", async () => {
    expect((await settings()).env.SENTRY_DSN).toBeUndefined();
    const dsn = "https://abc123@o1.ingest.sentry.io/42";
    expect((await settings([`monitoring.sentryDsn=${dsn}`])).env.SENTRY_DSN).toBe(dsn);
  });

  it("never reach a rendered file: no password, AUTH string or settings JSON in what machines receive", async () => {
    const p = await plan("stage3", { withFiles: true });
    const { password, auth } = await settings();
    expect(p.files?.length).toBeGreaterThan(0);
    for (const f of p.files ?? []) {
      expect(f.content, `${f.role}/${f.path}`).not.toContain(password);
      expect(f.content, `${f.role}/${f.path}`).not.toContain(auth);
      expect(f.content, `${f.role}/${f.path}`).not.toContain('DATABASE_URL":');
    }
  });

  it("do not exist before stage 3", async () => {
    expect(ofType(await plan("stage2"), "course-organizer:app:AppSettings")).toEqual([]);
  });
});

describe("settingsEnv", () => {
  const base: ResolvedSettings = {
    database: { name: "users", user: "app", password: "p@ss/word", directHost: "10.100.0.5" },
    redisUrl: "rediss://:x@10.100.0.9:6378/0",
    redisCaCert: "PEM",
    mediaBucket: "m",
    staticBucket: "s",
    cdnHost: "cdn.example.org",
    jitsiDomain: "meet.example.org",
    extra: {},
  };

  it("URL-encodes credentials and falls back to the primary when there is no replica", () => {
    const env = settingsEnv(base);
    expect(env.DATABASE_URL).toBe("postgres://app:p%40ss%2Fword@127.0.0.1:6432/users");
    expect(env.DATABASE_REPLICA_URL).toBe(
      "postgres://app:p%40ss%2Fword@10.100.0.5:5432/users?sslmode=verify-ca&sslrootcert=/run/course-organizer/database-ca.pem",
    );
    expect(Object.keys(env)).toEqual([
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
    ]);
  });

  it("adds stage 4's extra settings (the shard router's DATABASES map) and refuses to redefine built-ins", () => {
    const databases = JSON.stringify({ default: { HOST: "10.100.0.5" }, shard_0: { HOST: "10.100.0.6" } });
    expect(settingsEnv({ ...base, extra: { DATABASES_JSON: databases } }).DATABASES_JSON).toBe(databases);
    expect(() => settingsEnv({ ...base, extra: { REDIS_URL: "x" } })).toThrow(
      'AppSettings args.extra.REDIS_URL: "REDIS_URL" redefines a built-in setting; allowed: a name that is not a built-in setting (SETTINGS_KEYS: DATABASE_URL, REDIS_URL, ...)',
    );
    expect(() => settingsEnv({ ...base, extra: { "shard-map": "x" } })).toThrow(
      'AppSettings args.extra.shard-map: "shard-map" is not an environment variable name; allowed: UPPER_SNAKE_CASE ([A-Z][A-Z0-9_]*)',
    );
  });
});
