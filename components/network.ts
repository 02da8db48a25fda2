import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { statefulOptions } from "../src/options";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext } from "./context";

/** Google's front-end and health-check ranges for external Application Load Balancers. */
export const GOOGLE_LB_RANGES = ["130.211.0.0/22", "35.191.0.0/16"];
/** Identity-Aware Proxy's TCP forwarding range: the only source allowed to reach SSH. */
export const IAP_RANGE = "35.235.240.0/20";

/** Network tags that firewall rules target; machines opt in by carrying them. */
export const tags = {
  web: "co-web",
  api: "co-api",
  ws: "co-ws",
  video: "co-video",
  signaling: "co-signaling",
} as const;

export interface RegionRanges {
  region: string;
  subnetCidr: string;
  podsCidr: string;
  servicesCidr: string;
}

export interface NetworkArgs extends Pick<ComponentContext, "prefix" | "labels"> {
  /** Regions with their ranges; the first is the primary region. */
  regions: RegionRanges[];
  /**
   * Sources allowed to reach 80/443 on web machines: the internet while the VM serves directly (stage 1),
   * Google's load-balancer ranges once a load balancer fronts it.
   */
  webSourceRanges: string[];
  /** Reserve a range and peer it with Google's service producer network (Cloud SQL, Memorystore private IP). */
  privateServiceAccess: boolean;
  /** Prefix length of the Private Service Access range. */
  privateServicesPrefixLength: number;
  /** First address of the Private Service Access range (config network.privateServicesAddress). */
  privateServicesAddress: string;
}

/** The IPv4 /20, /14 and /20 ranges of the i-th region, counted from the primary region's ranges. */
export function regionRanges(regions: string[], base: { subnetCidr: string; podsCidr: string; servicesCidr: string }): RegionRanges[] {
  const octets = (cidr: string) => cidr.split("/")[0]!.split(".").map(Number);
  const [s0, s1, s2] = octets(base.subnetCidr);
  const [p0, p1] = octets(base.podsCidr);
  const [v0, v1, v2] = octets(base.servicesCidr);
  return regions.map((region, i) => {
    const subnetThird = s2! + 16 * i;
    const servicesThird = v2! + 16 * i;
    const podsSecond = p1! + 4 * i;
    // The config refuses bases without room for its regions first (rules/network.ts).
    if (subnetThird > 255 || servicesThird > 255 || podsSecond > 255) {
      throw new Error(
        argRefuser("regionRanges", "")(
          `regions[${i}]`,
          region,
          "leaves no room in the base ranges (subnet and services third octet + 16, pods second octet + 4 per region)",
          `at most ${Math.min(Math.floor((255 - s2!) / 16), Math.floor((255 - v2!) / 16), Math.floor((255 - p1!) / 4)) + 1} regions from these bases, or lower bases`,
        ),
      );
    }
    return {
      region,
      subnetCidr: `${s0}.${s1}.${subnetThird}.0/20`,
      podsCidr: `${p0}.${podsSecond}.0.0/14`,
      servicesCidr: `${v0}.${v1}.${servicesThird}.0/20`,
    };
  });
}

/**
 * The VPC every stage runs in: one custom-mode network, a subnet per region (with secondary ranges for GKE
 * reserved from the start, so stage 4 changes no subnet), Cloud Router and NAT per region (machines have no
 * need for external IPs to reach the internet), least-open firewall rules, and Private Service Access.
 */
export class Network extends pulumi.ComponentResource {
  public readonly network: gcp.compute.Network;
  /** Subnets by region. */
  public readonly subnets: Record<string, gcp.compute.Subnetwork>;
  public readonly primaryRegion: string;
  /** The Private Service Access peering; resources with private IPs depend on it. */
  public readonly privateServiceConnection?: gcp.servicenetworking.Connection;
  /** The Private Service Access range as a CIDR (Cloud SQL, Memorystore): GKE's egress NetworkPolicy names it. */
  public readonly privateServicesRange?: pulumi.Output<string>;
  public readonly firewalls: gcp.compute.Firewall[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:network:Network", name, {}, opts);
    if (args.regions.length === 0)
      throw new pulumi.ResourceError(argRefuser("Network")("regions", args.regions, "is empty", "at least one region (the primary first)"), this);
    this.primaryRegion = args.regions[0]!.region;

    this.network = new gcp.compute.Network(
      `${name}-vpc`,
      {
        name: physicalName(args.prefix, "vpc"),
        autoCreateSubnetworks: false,
        routingMode: args.regions.length > 1 ? "GLOBAL" : "REGIONAL",
        description: "Course Organizer VPC",
      },
      { parent: this },
    );

    this.subnets = {};
    for (const r of args.regions) {
      this.subnets[r.region] = new gcp.compute.Subnetwork(
        `${name}-subnet-${r.region}`,
        {
          name: physicalName(args.prefix, `subnet-${r.region}`),
          region: r.region,
          network: this.network.id,
          ipCidrRange: r.subnetCidr,
          privateIpGoogleAccess: true,
          secondaryIpRanges: [
            { rangeName: "pods", ipCidrRange: r.podsCidr },
            { rangeName: "services", ipCidrRange: r.servicesCidr },
          ],
          logConfig: { aggregationInterval: "INTERVAL_5_SEC", flowSampling: 0.5, metadata: "INCLUDE_ALL_METADATA" },
        },
        { parent: this },
      );
      const router = new gcp.compute.Router(
        `${name}-router-${r.region}`,
        { name: physicalName(args.prefix, `router-${r.region}`), region: r.region, network: this.network.id },
        { parent: this },
      );
      new gcp.compute.RouterNat(
        `${name}-nat-${r.region}`,
        {
          name: physicalName(args.prefix, `nat-${r.region}`),
          region: r.region,
          router: router.name,
          natIpAllocateOption: "AUTO_ONLY",
          sourceSubnetworkIpRangesToNat: "ALL_SUBNETWORKS_ALL_IP_RANGES",
          logConfig: { enable: true, filter: "ERRORS_ONLY" },
        },
        { parent: this },
      );
    }

    const allInternal = args.regions.flatMap((r) => [r.subnetCidr, r.podsCidr]);
    const rule = (role: string, a: Omit<gcp.compute.FirewallArgs, "network" | "name">) =>
      new gcp.compute.Firewall(
        `${name}-fw-${role}`,
        { name: physicalName(args.prefix, `allow-${role}`), network: this.network.id, direction: "INGRESS", ...a },
        { parent: this },
      );
    this.firewalls = [
      rule("web", {
        description: "HTTP and HTTPS to web machines",
        allows: [{ protocol: "tcp", ports: ["80", "443"] }],
        sourceRanges: args.webSourceRanges,
        targetTags: [tags.web],
      }),
      rule("video", {
        description: "Jitsi Videobridge media (UDP 10000) and its TCP 4443 fallback",
        allows: [
          { protocol: "udp", ports: ["10000"] },
          { protocol: "tcp", ports: ["4443"] },
        ],
        sourceRanges: ["0.0.0.0/0"],
        targetTags: [tags.video],
      }),
      rule("iap-ssh", {
        description: "SSH only through Identity-Aware Proxy TCP forwarding",
        allows: [{ protocol: "tcp", ports: ["22"] }],
        sourceRanges: [IAP_RANGE],
      }),
      rule("health-checks", {
        description: "Google load-balancer health checks and proxies to app ports",
        allows: [{ protocol: "tcp", ports: ["80", "443", "8000", "8001", "8080"] }],
        sourceRanges: GOOGLE_LB_RANGES,
        targetTags: [tags.web, tags.api, tags.ws],
      }),
      rule("xmpp", {
        description: "Videobridges to Prosody (XMPP client port) on the signaling machine",
        allows: [{ protocol: "tcp", ports: ["5222"] }],
        sourceRanges: allInternal,
        targetTags: [tags.signaling],
      }),
      rule("relay", {
        description: "Bridges' public HTTP server: colibri and relay websockets, proxied to it by jitsi-web",
        allows: [{ protocol: "tcp", ports: ["9090"] }],
        sourceRanges: allInternal,
        targetTags: [tags.video],
      }),
    ];

    if (args.privateServiceAccess) {
      const range = new gcp.compute.GlobalAddress(
        `${name}-psa-range`,
        {
          name: physicalName(args.prefix, "psa-range"),
          purpose: "VPC_PEERING",
          addressType: "INTERNAL",
          address: args.privateServicesAddress,
          prefixLength: args.privateServicesPrefixLength,
          network: this.network.id,
          labels: args.labels,
        },
        statefulOptions(this),
      );
      this.privateServicesRange = pulumi.interpolate`${range.address}/${range.prefixLength}`;
      this.privateServiceConnection = new gcp.servicenetworking.Connection(
        `${name}-psa`,
        {
          network: this.network.id,
          service: "servicenetworking.googleapis.com",
          reservedPeeringRanges: [range.name],
          // Removing the peering while Cloud SQL uses it fails at GCP; abandon instead of deleting.
          deletionPolicy: "ABANDON",
        },
        { parent: this },
      );
    }

    this.registerOutputs({ network: this.network.id });
  }
}
