import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import { physicalName } from "../src/naming";
import { statefulOptions } from "../src/options";
import { GOOGLE_LB_RANGES } from "./network";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext, RegionalPlacement } from "./context";

/** The i-th /28 after `base` (a 172.16.x.0/28): each region's control plane gets its own range. */
export function masterCidr(base: string, index: number): string {
  const [a, b, c, d] = base.split("/")[0]!.split(".").map(Number) as [number, number, number, number];
  const n = ((a * 256 + b) * 256 + c) * 256 + d + 16 * index;
  return `${[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".")}/28`;
}

/** Project roles of the node service account: GKE's least-privilege node role set (docs "Harden your cluster"). */
export const NODE_ROLES = [
  "roles/logging.logWriter",
  "roles/monitoring.metricWriter",
  "roles/monitoring.viewer",
  "roles/stackdriver.resourceMetadata.writer",
  "roles/autoscaling.metricsWriter",
  "roles/artifactregistry.reader",
];

export interface GkeClusterArgs extends ComponentContext, RegionalPlacement {
  /**
   * Zones of the node pool, pinned (not GKE's choice): the NEG controller creates the standalone NEGs in exactly
   * these zones, and the load balancer refers to them by zone.
   */
  nodeZones: string[];
  /** Control-plane /28 for the private cluster (masterCidr(kubernetes.masterCidrBase, regionIndex)). */
  masterCidr: string;
  /** CIDRs allowed to reach the control plane's public endpoint (CI, operators; the VPC subnet). */
  masterAuthorizedNetworks: { cidrBlock: string; displayName: string }[];
  releaseChannel: "RAPID" | "REGULAR" | "STABLE" | "EXTENDED";
  nodeMachineType: string;
  /** Node pool autoscaling per zone. */
  nodesPerZoneMin: number;
  nodesPerZoneMax: number;
  /**
   * A second pool of Spot nodes for the email workers (total node counts over the zones), tainted
   * `cloud.google.com/gke-spot=true:NoSchedule` so only the workers, which tolerate preemption, land there.
   * Absent: no Spot pool.
   */
  spotPool?: { totalMinNodes: number; totalMaxNodes: number };
  /** Port the load balancer reaches pods on through the NEGs (firewall rule from Google's ranges). */
  podPort: number;
  /** Daily maintenance window start, UTC "HH:MM" (4 hours, weekends and nights by RRULE). */
  maintenanceStartTime: string;
}

/**
 * Argument checks, one refusal line each. The config refuses what it could produce these from first
 * (rules/pairs.ts kubernetes.nodesPerZoneMin, the schema's kubernetes.maintenanceStartTime).
 */
export function gkeClusterProblems(args: Pick<GkeClusterArgs, "nodesPerZoneMin" | "nodesPerZoneMax" | "maintenanceStartTime">): string[] {
  const refuse = argRefuser("GkeCluster");
  const p: string[] = [];
  if (args.nodesPerZoneMin > args.nodesPerZoneMax)
    p.push(
      refuse(
        "nodesPerZoneMin",
        args.nodesPerZoneMin,
        `is above args.nodesPerZoneMax ${args.nodesPerZoneMax}`,
        `at most ${args.nodesPerZoneMax}`,
        args.nodesPerZoneMax,
      ),
    );
  if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(args.maintenanceStartTime))
    p.push(refuse("maintenanceStartTime", args.maintenanceStartTime, "is not a time of day", "HH:MM (UTC)"));
  return p;
}

/**
 * A regional GKE Standard cluster: private nodes in the region's subnet (VPC-native, secondary ranges `pods` and
 * `services`), Workload Identity, a release channel, Managed Prometheus, shielded nodes, Dataplane V2, no legacy
 * ABAC and no client certificate, a recurring maintenance window, and one autoscaled node pool with its own
 * least-privilege service account. Exposes a kubeconfig (exec auth through gke-gcloud-auth-plugin) and a
 * Kubernetes provider built from it.
 *
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`).
 */
export class GkeCluster extends pulumi.ComponentResource {
  public readonly cluster: gcp.container.Cluster;
  public readonly nodePool: gcp.container.NodePool;
  public readonly spotPool?: gcp.container.NodePool;
  public readonly nodeServiceAccount: gcp.serviceaccount.Account;
  /** Google's load-balancer and health-check ranges to the pods' serving port (standalone NEGs need it by hand). */
  public readonly negFirewall: gcp.compute.Firewall;
  /** Network tag on this cluster's nodes. */
  public readonly nodeTag: string;
  public readonly name: pulumi.Output<string>;
  /** The control plane's IP endpoint (closed to the internet but for masterAuthorizedNetworks). */
  public readonly endpoint: pulumi.Output<string>;
  /** The control plane's DNS-based endpoint (IAM-authorized from anywhere): what the kubeconfig points at. */
  public readonly dnsEndpoint: pulumi.Output<string>;
  /** Cluster CA (base64, as kubeconfig's certificate-authority-data). */
  public readonly caCert: pulumi.Output<string>;
  /** Kubeconfig with exec auth (gke-gcloud-auth-plugin), a Pulumi secret. */
  public readonly kubeconfig: pulumi.Output<string>;
  /** The Kubernetes provider for this cluster's workloads. */
  public readonly provider: k8s.Provider;
  public readonly region: string;
  public readonly nodeZones: string[];

  constructor(name: string, args: GkeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:kubernetes:GkeCluster", name, {}, opts);
    const problems = gkeClusterProblems(args);
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);
    this.region = args.region;
    this.nodeZones = args.nodeZones;
    const clusterName = physicalName(args.prefix, `gke-${args.region}`, "gkeCluster");
    this.nodeTag = `${clusterName}-node`.slice(0, 63);

    this.nodeServiceAccount = new gcp.serviceaccount.Account(
      `${name}-nodes-sa`,
      {
        accountId: physicalName(args.prefix, `gke-nodes-${args.region}`, "serviceAccount"),
        displayName: `${args.prefix} GKE nodes ${args.region}`,
        description: "GKE nodes: write logs and metrics, pull images; workloads use their own identities",
        // Created first by bootstrap/, which grants the deployer actAs on it: adopt it (bootstrap/trust.ts).
        createIgnoreAlreadyExists: true,
      },
      { parent: this },
    );
    const nodeRoles = NODE_ROLES.map(
      (role) =>
        new gcp.projects.IAMMember(
          `${name}-nodes-${role
            .replace(/^roles\//, "")
            .replace(/[^a-zA-Z0-9]+/g, "-")
            .toLowerCase()}`,
          { project: args.project, role, member: pulumi.interpolate`serviceAccount:${this.nodeServiceAccount.email}` },
          { parent: this },
        ),
    );

    const [h, m] = args.maintenanceStartTime.split(":");
    const endHour = String((Number(h) + 4) % 24).padStart(2, "0");
    this.cluster = new gcp.container.Cluster(
      `${name}-cluster`,
      {
        name: clusterName,
        // A region as location: a regional cluster, control plane in three zones (no zonal SPOF; SLA 99.95 %).
        location: args.region,
        nodeLocations: args.nodeZones,
        network: args.network,
        subnetwork: args.subnetwork,
        networkingMode: "VPC_NATIVE",
        ipAllocationPolicy: { clusterSecondaryRangeName: "pods", servicesSecondaryRangeName: "services" },
        // The default pool is removed at once; the managed pool below replaces it (GKE needs 1 node to create).
        removeDefaultNodePool: true,
        initialNodeCount: 1,
        privateClusterConfig: {
          enablePrivateNodes: true,
          // Public endpoint restricted by master authorized networks: Pulumi and CI reach it from outside the VPC.
          enablePrivateEndpoint: false,
          masterIpv4CidrBlock: args.masterCidr,
          masterGlobalAccessConfig: { enabled: true },
        },
        masterAuthorizedNetworksConfig: { cidrBlocks: args.masterAuthorizedNetworks, gcpPublicCidrsAccessEnabled: false },
        // How `pulumi up` (CI runners without fixed addresses, people at home) reaches the control plane: the
        // DNS-based endpoint (gke-<hash>.<region>.gke.goog), which authorizes every request by IAM
        // (container.clusters.connect, in roles/container.developer and .admin) instead of by source address, so
        // the IP endpoint can stay closed (masterAuthorizedNetworks) and nobody's address needs listing.
        controlPlaneEndpointsConfig: { dnsEndpointConfig: { allowExternalTraffic: true } },
        workloadIdentityConfig: { workloadPool: `${args.project}.svc.id.goog` },
        releaseChannel: { channel: args.releaseChannel },
        monitoringConfig: {
          enableComponents: ["SYSTEM_COMPONENTS"],
          // Managed Prometheus: the PodMonitoring objects' metrics reach Cloud Monitoring, where the HPA adapter reads them.
          managedPrometheus: { enabled: true },
        },
        loggingConfig: { enableComponents: ["SYSTEM_COMPONENTS", "WORKLOADS"] },
        enableShieldedNodes: true,
        enableLegacyAbac: false,
        // No client certificate (basic auth no longer exists in the API): IAM through gke-gcloud-auth-plugin only.
        masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
        // Dataplane V2 (eBPF): network policy enforcement and policy logging without Calico.
        datapathProvider: "ADVANCED_DATAPATH",
        addonsConfig: {
          // The NEG controller that creates the standalone NEGs runs with the HTTP load balancing add-on.
          httpLoadBalancing: { disabled: false },
          horizontalPodAutoscaling: { disabled: false },
        },
        maintenancePolicy: {
          recurringWindow: {
            // A 4-hour window every night; the dates only anchor the recurrence.
            startTime: `2025-01-01T${h}:${m}:00Z`,
            endTime: `2025-01-${Number(h) + 4 >= 24 ? "02" : "01"}T${endHour}:${m}:00Z`,
            recurrence: "FREQ=DAILY",
          },
        },
        resourceLabels: args.labels,
        deletionProtection: true,
      },
      statefulOptions(this, { ignoreChanges: ["initialNodeCount"] }),
    );

    const nodeConfig = {
      machineType: args.nodeMachineType,
      diskType: "pd-balanced",
      diskSizeGb: 100,
      imageType: "COS_CONTAINERD",
      serviceAccount: this.nodeServiceAccount.email,
      oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
      shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
      // Pods see the GKE metadata server (Workload Identity), never the node's own credentials.
      workloadMetadataConfig: { mode: "GKE_METADATA" },
      metadata: { "disable-legacy-endpoints": "true" },
      resourceLabels: args.labels,
      labels: { pool: "app" },
      tags: [this.nodeTag],
    };
    this.nodePool = new gcp.container.NodePool(
      `${name}-pool`,
      {
        name: "app",
        cluster: this.cluster.id,
        location: args.region,
        nodeLocations: args.nodeZones,
        initialNodeCount: args.nodesPerZoneMin,
        autoscaling: { minNodeCount: args.nodesPerZoneMin, maxNodeCount: args.nodesPerZoneMax, locationPolicy: "BALANCED" },
        management: { autoRepair: true, autoUpgrade: true },
        upgradeSettings: { maxSurge: 1, maxUnavailable: 0, strategy: "SURGE" },
        nodeConfig,
      },
      // Nodes come up after their account can write logs and pull images.
      { parent: this, dependsOn: nodeRoles, ignoreChanges: ["initialNodeCount"] },
    );

    // Spot nodes for the email workers: GKE labels Spot nodes cloud.google.com/gke-spot=true; the taint keeps every
    // pod but the workers (which tolerate it, src/files/k8s-manifests.ts) off them.
    if (args.spotPool) this.spotPool = this.spotNodePool(name, args, args.spotPool, nodeConfig, nodeRoles);

    // With standalone NEGs the load balancer reaches pod IPs directly: GKE creates this rule only for Ingress and
    // Gateway, so it is ours. 8080 is the pods' serving port (src/files/k8s-manifests.ts APP_PORT).
    this.negFirewall = new gcp.compute.Firewall(
      `${name}-neg-fw`,
      {
        name: physicalName(args.prefix, `allow-lb-gke-${args.region}`),
        network: args.network,
        direction: "INGRESS",
        description: `Google load balancer and health checks to GKE pods in ${args.region} (standalone NEGs)`,
        allows: [{ protocol: "tcp", ports: [String(args.podPort)] }],
        sourceRanges: GOOGLE_LB_RANGES,
        targetTags: [this.nodeTag],
      },
      { parent: this },
    );

    this.name = this.cluster.name;
    this.endpoint = this.cluster.endpoint;
    this.dnsEndpoint = this.cluster.controlPlaneEndpointsConfig.apply((c) => c?.dnsEndpointConfig?.endpoint ?? "");
    this.caCert = this.cluster.masterAuth.clusterCaCertificate.apply((c) => c ?? "");
    this.kubeconfig = execKubeconfig(`gke_${args.project}_${args.region}_${clusterName}`, this.dnsEndpoint);
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      {
        kubeconfig: this.kubeconfig,
        enableServerSideApply: true,
        // Workloads are applied once the nodes exist (the pool's pods need somewhere to run for readiness).
      },
      { parent: this, dependsOn: [this.nodePool] },
    );
    this.registerOutputs({ name: this.name, endpoint: this.endpoint, dnsEndpoint: this.dnsEndpoint });
  }

  /** The Spot pool: the app pool's node config, Spot, labelled pool=spot and tainted for the workers only. */
  private spotNodePool(
    name: string,
    args: GkeClusterArgs,
    spot: NonNullable<GkeClusterArgs["spotPool"]>,
    nodeConfig: gcp.types.input.container.NodePoolNodeConfig,
    nodeRoles: pulumi.Resource[],
  ): gcp.container.NodePool {
    return new gcp.container.NodePool(
      `${name}-spot-pool`,
      {
        name: "spot",
        cluster: this.cluster.id,
        location: args.region,
        nodeLocations: args.nodeZones,
        autoscaling: { totalMinNodeCount: spot.totalMinNodes, totalMaxNodeCount: spot.totalMaxNodes, locationPolicy: "ANY" },
        management: { autoRepair: true, autoUpgrade: true },
        upgradeSettings: { maxSurge: 1, maxUnavailable: 0, strategy: "SURGE" },
        nodeConfig: {
          ...nodeConfig,
          spot: true,
          labels: { pool: "spot" },
          taints: [{ key: "cloud.google.com/gke-spot", value: "true", effect: "NO_SCHEDULE" }],
        },
      },
      { parent: this, dependsOn: nodeRoles },
    );
  }
}

/**
 * A kubeconfig with exec auth: the plugin gets a short-lived token from the caller's gcloud credentials; nothing
 * static is stored. The DNS endpoint serves a publicly trusted certificate, so no cluster CA in the file (as
 * `gcloud container clusters get-credentials --dns-endpoint` writes it).
 */
function execKubeconfig(context: string, dnsEndpoint: pulumi.Output<string>): pulumi.Output<string> {
  return pulumi.secret(pulumi.interpolate`apiVersion: v1
kind: Config
clusters:
- name: ${context}
  cluster:
    server: https://${dnsEndpoint}
contexts:
- name: ${context}
  context:
    cluster: ${context}
    user: ${context}
current-context: ${context}
users:
- name: ${context}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      installHint: Install gke-gcloud-auth-plugin with "gcloud components install gke-gcloud-auth-plugin"
      provideClusterInfo: true
      interactiveMode: Never
`);
}
