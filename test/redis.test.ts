/**
 * Memorystore for Redis on the stage-3 plan: the seed's "Managed Redis (Memorystore)" numbers (Standard tier HA,
 * 5 GB, RDB), AUTH and TLS, private service access, protection, the AUTH string in Secret Manager, the rediss://
 * URL, enums against Google's definitions, and the same instance at stage 4.
 */
import { describe, expect, it } from "vitest";
import { get, ofType, plan } from "./helpers/plan";
import { diffPlans, gcpFacts, normPath } from "../src/plan/diff";
import { redisUrl } from "../components/redis";

const REDIS = "gcp:redis/instance:Instance";
const PSA = "urn:pulumi:stage3::course-organizer::course-organizer:network:Network$gcp:servicenetworking/connection:Connection::network-psa";

describe("Memorystore at stage 3", () => {
  it("is Standard tier HA, 5 GB, Redis 7.0, AUTH, TLS, RDB hourly, allkeys-lru, private service access", async () => {
    const p = await plan("stage3");
    const r = get(p, REDIS, "cache-instance");
    expect(r.inputs).toEqual({
      name: "co-cache",
      displayName: "co cache",
      region: "us-central1",
      tier: "STANDARD_HA",
      memorySizeGb: 5,
      redisVersion: "REDIS_7_0",
      authorizedNetwork: "projects/course-organizer-demo/global/networks/co-vpc",
      connectMode: "PRIVATE_SERVICE_ACCESS",
      authEnabled: true,
      transitEncryptionMode: "SERVER_AUTHENTICATION",
      persistenceConfig: { persistenceMode: "RDB", rdbSnapshotPeriod: "ONE_HOUR" },
      redisConfigs: { "maxmemory-policy": "allkeys-lru" },
      maintenancePolicy: { weeklyMaintenanceWindows: [{ day: "SUNDAY", startTime: { hours: 5, minutes: 0, seconds: 0, nanos: 0 } }] },
      labels: { app: "course-organizer", component: "cache", "managed-by": "pulumi", stage: "3" },
      deletionProtection: true,
    });
    expect(r.protect).toBe(true);
    expect(r.retainOnDelete).toBe(true);
    expect(r.dependencies).toContain(PSA);
    // The provider marks the AUTH string a secret output, so it never shows in plain text in the state.
    expect(r.additionalSecretOutputs).toContain("authString");
    expect(r.parent).toBe("urn:pulumi:stage3::course-organizer::course-organizer:cache:Redis::cache");
  });

  it("stores the AUTH string in Secret Manager, with no other reader", async () => {
    const p = await plan("stage3");
    expect(get(p, "gcp:secretmanager/secret:Secret", "cache-auth-secret").inputs.secretId).toBe("co-cache-redis-auth");
    const version = get(p, "gcp:secretmanager/secretVersion:SecretVersion", "cache-auth-version");
    expect(version.inputs.secretData).toEqual({ "[secret]": expect.stringMatching(/^mock-auth-[0-9a-f]{16}$/) });
    expect(version.dependencies).toContain(get(p, REDIS, "cache-instance").urn);
    // No reader besides Pulumi: the app gets the AUTH string inside REDIS_URL in the app-settings secret.
    expect(ofType(p, "gcp:secretmanager/secretIamMember:SecretIamMember").filter((g) => g.name.startsWith("cache-"))).toEqual([]);
  });

  it("gives the app a rediss:// URL on the TLS port 6378 and the server CA", async () => {
    const p = await plan("stage3");
    const data = get(p, "gcp:secretmanager/secretVersion:SecretVersion", "app-settings-json-version").inputs.secretData as { "[secret]": string };
    const settings = JSON.parse(data["[secret]"]) as Record<string, string>;
    const auth = (get(p, "gcp:secretmanager/secretVersion:SecretVersion", "cache-auth-version").inputs.secretData as { "[secret]": string })["[secret]"];
    expect(settings.REDIS_URL).toBe(`rediss://:${auth}@${p.outputs.redisHost}:6378/0`);
    expect(settings.REDIS_CA_CERT).toBe("-----BEGIN CERTIFICATE-----\nMOCKREDIS\n-----END CERTIFICATE-----");
    expect(p.outputs.redisHost).toMatch(/^10\.100\.\d+\.\d+$/);
  });

  it("uses only enum values Google accepts (data/gcp-api-facts.json)", async () => {
    const p = await plan("stage3");
    const r = get(p, REDIS, "cache-instance");
    const enums = gcpFacts()[REDIS]!.enums;
    const at = (path: string) => enums[Object.keys(enums).find((k) => normPath(k) === normPath(path))!]!;
    const i = r.inputs as Record<string, any>;
    expect(at("tier")).toContain(i.tier);
    expect(at("connectMode")).toContain(i.connectMode);
    expect(at("transitEncryptionMode")).toContain(i.transitEncryptionMode);
    expect(at("persistenceConfig.persistenceMode")).toContain(i.persistenceConfig.persistenceMode);
    expect(at("persistenceConfig.rdbSnapshotPeriod")).toContain(i.persistenceConfig.rdbSnapshotPeriod);
    expect(at("maintenancePolicy.weeklyMaintenanceWindow[].day")).toContain(i.maintenancePolicy.weeklyMaintenanceWindows[0].day);
  });

  it("does not exist before stage 3", async () => {
    expect(ofType(await plan("stage2"), REDIS)).toEqual([]);
  });

  it("plans in preview mode: the AUTH string and host stay unknown, nothing breaks", async () => {
    const p = await plan("stage3", { preview: true });
    expect(get(p, REDIS, "cache-instance").inputs.name).toBe("co-cache");
    expect(p.outputs.redisHost).toBe("[unknown]");
    expect(JSON.stringify(get(p, "gcp:secretmanager/secretVersion:SecretVersion", "cache-auth-version").inputs.secretData ?? "[unknown]")).toContain(
      "[unknown]",
    );
  });
});

describe("stage 3 -> 4", () => {
  it("keeps the cache instance as it is (only the stage label changes)", async () => {
    const d = diffPlans(await plan("stage4", { configStack: "stage3" }), await plan("stage4"), "stage3");
    const u = d.updates.find((x) => x.name === "cache-instance");
    expect(u?.paths).toEqual(["labels.stage"]);
    expect(d.replaces.filter((x) => x.type === REDIS)).toEqual([]);
    expect(d.deletes.filter((x) => x.type === REDIS)).toEqual([]);
  });
});

describe("redisUrl", () => {
  it("is rediss with the AUTH string as password and database 0", () => {
    expect(redisUrl("0f1e2d3c-aaaa-bbbb-cccc-000000000000", "10.100.0.3", 6378)).toBe("rediss://:0f1e2d3c-aaaa-bbbb-cccc-000000000000@10.100.0.3:6378/0");
    expect(redisUrl("a/b@c", "h", 6378)).toBe("rediss://:a%2Fb%40c@h:6378/0");
  });
});
