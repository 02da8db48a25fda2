import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { get, ofType, plan, projectDir } from "./helpers/plan";
import { diffPlans, replacingPaths } from "../src/plan/diff";
import { applySets } from "../src/plan/stackfile";
import { formatTree } from "../src/plan/format";

const run = promisify(execFile);
const tsx = join(projectDir, "node_modules/.bin/tsx");
const network = "urn:pulumi:stage1::course-organizer::course-organizer:network:Network::network";

describe("the offline plan records what the engine sees", () => {
  it("records URNs, parents, dependencies and inputs", async () => {
    const p = await plan("stage1");
    const vpc = get(p, "gcp:compute/network:Network", "network-vpc");
    expect(vpc.urn).toBe(`urn:pulumi:stage1::course-organizer::course-organizer:network:Network$gcp:compute/network:Network::network-vpc`);
    expect(vpc.parent).toBe(network);
    expect(vpc.inputs).toEqual({ name: "co-vpc", autoCreateSubnetworks: false, routingMode: "REGIONAL", description: "Course Organizer VPC" });
    const subnet = get(p, "gcp:compute/subnetwork:Subnetwork", "network-subnet-us-central1");
    expect(subnet.dependencies).toContain(vpc.urn);
    expect(subnet.propertyDependencies.network).toEqual([vpc.urn]);
    expect(subnet.inputs.network).toBe("projects/course-organizer-demo/global/networks/co-vpc");
    expect(subnet.inputs.secondaryIpRanges).toEqual([
      { rangeName: "pods", ipCidrRange: "10.16.0.0/14" },
      { rangeName: "services", ipCidrRange: "10.12.0.0/20" },
    ]);
  });

  it("records protect and retainOnDelete of stateful resources", async () => {
    const p = await plan("stage3");
    const range = get(p, "gcp:compute/globalAddress:GlobalAddress", "network-psa-range");
    // A fixed block, clear of every region's subnet and GKE ranges (GCP's automatic pick could take a later one's).
    expect(range.inputs).toMatchObject({ purpose: "VPC_PEERING", addressType: "INTERNAL", address: "10.100.0.0", prefixLength: 16 });
    expect(range.protect).toBe(true);
    expect(range.retainOnDelete).toBe(true);
    expect(get(p, "gcp:compute/network:Network", "network-vpc").protect).toBe(false);
  });

  it.each(["stage1", "stage2", "stage3", "stage4"])(
    "%s registers the same resources, options and dependencies in preview as in update (none inside apply())",
    async (stack) => {
      const update = await plan(stack);
      const preview = await plan(stack, { preview: true });
      const shape = (p: typeof update) =>
        p.resources
          .map((r) => ({
            urn: r.urn,
            parent: r.parent,
            protect: r.protect,
            retainOnDelete: r.retainOnDelete,
            dependencies: [...r.dependencies].sort(),
            aliases: r.aliases,
          }))
          .sort((a, b) => a.urn.localeCompare(b.urn));
      expect(preview.resources.length).toBe(update.resources.length);
      expect(shape(preview)).toEqual(shape(update));
    },
  );

  it("leaves computed outputs unknown in preview mode", async () => {
    const p = await plan("stage1", { preview: true });
    expect(p.preview).toBe(true);
    const subnet = get(p, "gcp:compute/subnetwork:Subnetwork", "network-subnet-us-central1");
    expect(subnet.inputs.network).toBe("[unknown]");
    expect(
      ofType(p, "gcp:compute/firewall:Firewall")
        .map((f) => f.name)
        .sort(),
    ).toEqual(["health-checks", "iap-ssh", "relay", "video", "web", "xmpp"].map((r) => `network-fw-${r}`));
  });

  it("applies --set overrides: bare keys in the project namespace, dotted paths into objects", () => {
    const out = applySets({ "course-organizer:vm": JSON.stringify({ machineType: "a" }) }, [
      "vm.dataDiskGb=60",
      "stage=2",
      "gcp:region=europe-west4",
      'secondaryRegions=["x"]',
    ]);
    expect(JSON.parse(out["course-organizer:vm"]!)).toEqual({ machineType: "a", dataDiskGb: 60 });
    expect(out["course-organizer:stage"]).toBe("2");
    expect(out["gcp:region"]).toBe("europe-west4");
    expect(out["course-organizer:secondaryRegions"]).toBe('["x"]');
    expect(() => applySets({}, ["vm.dataDiskGb"])).toThrow(
      `--set: "vm.dataDiskGb" is not a key=value pair; allowed: key=value, e.g. vm.machineType=n2-standard-8`,
    );
  });

  it("prints a tree with a count per type and a total, secrets hidden", async () => {
    const p = await plan("stage1");
    const text = formatTree(p, { inputs: true });
    expect(text).toContain(" +       course-organizer:network:Network");
    expect(text).toMatch(/\s+6 {2}gcp:compute\/firewall:Firewall/);
    expect(text).toContain(`${String(p.resources.length + 1).padStart(4)}  to create in total`);
    for (const r of p.resources) {
      for (const v of JSON.stringify(r.inputs).matchAll(/"\[secret\]":"([^"]+)"/g)) expect(text).not.toContain(v[1]);
    }
  });
});

describe("--from: what changes when a deployment moves to another config", () => {
  it("reports a changed input as an update and a new region as creates", async () => {
    const from = await plan("stage1");
    const to = await plan("stage1", { sets: ['secondaryRegions=["europe-west1"]'] });
    const d = diffPlans(from, to, "stage1");
    expect(d.updates.map((u) => [u.name, u.paths])).toContainEqual(["network-vpc", ["routingMode"]]);
    expect(d.creates.map((c) => c.name)).toEqual(
      expect.arrayContaining(["network-subnet-europe-west1", "network-router-europe-west1", "network-nat-europe-west1"]),
    );
    expect(d.deletes).toEqual([]);
    expect(d.replaces).toEqual([]);
  });

  it("reports a removed resource as a delete, and a retained one as retained", async () => {
    const d = diffPlans(await plan("stage3"), await plan("stage1", { configStack: "stage1" }), "stage3");
    // Plans of different stacks have different URNs: compare under one stack name.
    expect(d.deletes.length).toBeGreaterThan(0);
    const same = diffPlans(await plan("stage3", { configStack: "stage3" }), await plan("stage3", { configStack: "stage1" }), "stage3");
    const psa = same.deletes.find((x) => x.name === "network-psa-range");
    expect(psa).toEqual({
      urn: expect.stringContaining("network-psa-range"),
      type: "gcp:compute/globalAddress:GlobalAddress",
      name: "network-psa-range",
      retained: true,
      protect: true,
    });
    expect(same.deletes.find((x) => x.name === "network-psa")?.retained).toBe(false);
  });

  it("knows which changes force replacement from Google's resource definitions", () => {
    expect(replacingPaths("gcp:sql/databaseInstance:DatabaseInstance", ["region", "settings.tier"])).toEqual(["region"]);
    expect(replacingPaths("gcp:storage/bucket:Bucket", ["location", "labels.stage"])).toEqual(["location"]);
    expect(replacingPaths("gcp:compute/globalAddress:GlobalAddress", ["labels.stage", "addressType"])).toEqual(["addressType"]);
    const disk = (size: number) => ({ inputs: { size } }) as never;
    expect(replacingPaths("gcp:compute/disk:Disk", ["size"], disk(50), disk(100))).toEqual([]);
    expect(replacingPaths("gcp:compute/disk:Disk", ["size"], disk(100), disk(50))).toEqual(["size"]);
    expect(replacingPaths("gcp:compute/disk:Disk", ["type"], disk(50), disk(50))).toEqual(["type"]);
  });
});

describe("npm run plan", () => {
  it("prints the JSON record of a stack", async () => {
    const { stdout } = await run(tsx, ["src/cli/plan.ts", "--stack", "stage1", "--json"], { cwd: projectDir });
    const j = JSON.parse(stdout) as {
      stack: string;
      stage: number;
      resources: { urn: string; type: string; inputs: unknown; dependencies: string[]; protect: boolean; retainOnDelete: boolean }[];
      outputs: Record<string, unknown>;
    };
    expect(j.stack).toBe("stage1");
    expect(j.stage).toBe(1);
    expect(j.resources.find((r) => r.urn === network)?.type).toBe("course-organizer:network:Network");
    expect(j.resources.every((r) => "inputs" in r && "dependencies" in r && "protect" in r && "retainOnDelete" in r)).toBe(true);
    expect(j.outputs.stage).toBe(1);
  });

  it("writes a large JSON record whole through a pipe (stage 4 in preview: hundreds of kB)", async () => {
    const { stdout } = await run(tsx, ["src/cli/plan.ts", "--stack", "stage4", "--preview", "--json"], { cwd: projectDir, maxBuffer: 64 * 1024 * 1024 });
    expect(stdout.length).toBeGreaterThan(256 * 1024);
    const j = JSON.parse(stdout) as { stage: number; preview: boolean; resources: unknown[]; outputs: Record<string, unknown> };
    expect(j.stage).toBe(4);
    expect(j.preview).toBe(true);
    expect(j.resources.length).toBeGreaterThan(300);
    // Per key, as `pulumi preview` shows them: known outputs stay known beside the unknown ones.
    expect(j.outputs.emailTopic).toBe("email-queue");
    expect(j.outputs.databasePrivateIp).toBe("[unknown]");
  });

  it("exits 2 on a bad config with one line per problem and no stack trace", async () => {
    const err = await run(tsx, ["src/cli/plan.ts", "--stack", "stage1", "--set", "stage=9"], { cwd: projectDir }).then(
      () => undefined,
      (e: { code: number; stderr: string; stdout: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stdout).toBe("");
    expect(err?.stderr).toContain("course-organizer:stage: 9 is not allowed; allowed: 1, 2, 3, 4");
    expect(err?.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("the recording engine refuses what the real engine refuses", () => {
  it("a second resource with the same URN", async () => {
    const { planStack } = await import("../src/plan/engine");
    const gcp = await import("@pulumi/gcp");
    const main = async () => {
      new gcp.compute.Network("same", { autoCreateSubnetworks: false });
      new gcp.compute.Network("same", { autoCreateSubnetworks: false });
      return {};
    };
    await expect(planStack({ stack: "stage1", projectDir, program: { project: "course-organizer", main } })).rejects.toThrow(
      "Duplicate resource URN 'urn:pulumi:stage1::course-organizer::gcp:compute/network:Network::same'",
    );
  });
});
