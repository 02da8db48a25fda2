import { describe, expect, it } from "vitest";
import { get, ofType, plan } from "./helpers/plan";

describe("the offline plan records what the engine sees", () => {
  it("records parents, dependencies and inputs of the network", async () => {
    const p = await plan("stage1");
    const vpc = get(p, "gcp:compute/network:Network", "network-vpc");
    expect(vpc.urn).toBe("urn:pulumi:stage1::course-organizer::course-organizer:network:Network$gcp:compute/network:Network::network-vpc");
    expect(vpc.parent).toBe("urn:pulumi:stage1::course-organizer::course-organizer:network:Network::network");
    expect(vpc.inputs).toEqual({ name: "co-vpc", autoCreateSubnetworks: false, routingMode: "REGIONAL", description: "Course Organizer VPC" });
    const subnet = get(p, "gcp:compute/subnetwork:Subnetwork", "network-subnet-us-central1");
    expect(subnet.dependencies).toContain(vpc.urn);
    expect(subnet.propertyDependencies.network).toEqual([vpc.urn]);
    expect(subnet.inputs.network).toBe("projects/course-organizer-demo/global/networks/co-vpc");
  });

  it("leaves computed outputs unknown in preview mode", async () => {
    const p = await plan("stage1", { preview: true });
    const subnet = get(p, "gcp:compute/subnetwork:Subnetwork", "network-subnet-us-central1");
    expect(subnet.inputs.network).toBe("[unknown]");
    expect(ofType(p, "gcp:compute/firewall:Firewall").length).toBeGreaterThan(0);
  });
});
