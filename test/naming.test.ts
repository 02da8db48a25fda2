import { describe, expect, it } from "vitest";
import { bucketName, labels, nameLimits, physicalName } from "../src/naming";

describe("physical names", () => {
  it("are <prefix>-<role>, lowercase", () => {
    expect(physicalName("co", "vpc")).toBe("co-vpc");
    // IAM service account ids are 6-30 characters.
    expect(physicalName("co", "vm", "serviceAccount")).toBe("co-vm-sa");
    expect(physicalName("co", "http", "serviceAccount")).toBe("co-http");
    expect(physicalName("co", "Subnet_US-Central1")).toBe("co-subnet-us-central1");
  });

  it("stay within each kind's limit, deterministically, and keep long names apart", () => {
    const role = "a-very-long-role-name-that-goes-on-and-on-well-past-what-gcp-allows-for-names";
    for (const kind of Object.keys(nameLimits) as (keyof typeof nameLimits)[]) {
      const n = physicalName("co", role, kind);
      expect(n.length).toBeLessThanOrEqual(nameLimits[kind]);
      expect(n).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
      expect(physicalName("co", role, kind)).toBe(n);
    }
    const a = physicalName("co", `${role}-alpha`, "serviceAccount");
    const b = physicalName("co", `${role}-omega`, "serviceAccount");
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(30);
    expect(a).toMatch(/-[0-9a-f]{4}$/);
    expect(physicalName("co", "redis-channels-0", "redisInstance")).toBe("co-redis-channels-0");
  });

  it("refuse a name that would not start with a letter", () => {
    expect(() => physicalName("1a", "x")).toThrow(
      'physicalName prefix: "1a" makes the name "1a-x", which does not start with a letter; allowed: a prefix starting with a lowercase letter (GCP names do)',
    );
  });
});

describe("labels", () => {
  it("carry app, component, stage and managed-by, plus extras that cannot override them", () => {
    expect(labels({ stage: 3, extra: { team: "platform", app: "other" } }, "Load Balancer")).toEqual({
      team: "platform",
      app: "course-organizer",
      component: "load-balancer",
      stage: "3",
      "managed-by": "pulumi",
    });
  });
});

describe("bucketName", () => {
  it("puts the project id first: bucket names are global across Cloud Storage", () => {
    expect(bucketName("course-organizer-demo", "co", "media")).toBe("course-organizer-demo-co-media");
    expect(bucketName("acme-prod-123456", "co", "static")).toBe("acme-prod-123456-co-static");
  });
  it("stays within 63 characters for the longest project id and prefix", () => {
    const name = bucketName("a".repeat(30), "b".repeat(10), "static");
    expect(name).toBe(`${"a".repeat(30)}-${"b".repeat(10)}-static`);
    expect(name.length).toBeLessThanOrEqual(63);
  });
});
