/**
 * Monthly cost of what a plan creates, from the versioned price table data/prices.json (every price keeps its
 * source and date). Instance groups and node pools are counted at their minimum size and, for `atMax`, at their
 * maximum; usage-priced items (storage, egress, CDN, Pub/Sub) use the stage's load assumptions (config `load`),
 * which the output states. N2 machines running the whole month get Google's automatic sustained-use discount;
 * E2 machines have none.
 *
 * Options (`CostOptions`): a committed-use discount of 1 or 3 years on Compute Engine (VMs, instance groups, GKE
 * nodes), Cloud SQL and Memorystore, sized to the plan's maxima (a commitment bills every month whether used or
 * not, so committed lines cost the same at minimum and maximum size); node pools the plan marks Spot
 * (`nodeConfig.spot`) are priced at the Spot rate. Every rate is in data/prices.json with its source.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema";
import type { Plan, PlannedResource } from "./engine";
import { refusal } from "../config/refusal";

export interface CostLine {
  component: string;
  /** The resource type the line prices (usage lines: the type whose use they price). */
  type: string;
  item: string;
  monthlyUsd: number;
  atMaxMonthlyUsd: number;
  basis: string;
}

/** Commitment term of a committed-use discount, or none (on-demand, with sustained-use discounts). */
export type Commitment = "none" | "1y" | "3y";
export const COMMITMENTS: Commitment[] = ["none", "1y", "3y"];

export interface CostOptions {
  /** Committed-use discount on Compute Engine, Cloud SQL and Memorystore, sized to the maxima. @default "none" */
  commitment?: Commitment;
}

export interface CostEstimate {
  /** The discount options the estimate applied, in words (empty: on-demand list prices). */
  options: string[];
  totalMonthlyUsd: number;
  atMaxMonthlyUsd: number;
  lines: CostLine[];
  assumptions: string[];
  priceTableVersion: string;
  /** The seed's own estimate for the stage ("Cost Analysis"). */
  seedEstimate: { stage: number; range: string; lowUsd: number; highUsd: number };
}

/** Seed "Cost Analysis" / "Scaling Summary", per stage. */
export const seedEstimates: Record<number, { range: string; lowUsd: number; highUsd: number }> = {
  1: { range: "$50-100", lowUsd: 50, highUsd: 100 },
  2: { range: "$200-300", lowUsd: 200, highUsd: 300 },
  3: { range: "$1,500-2,000", lowUsd: 1500, highUsd: 2000 },
  4: { range: "$5,000-8,000", lowUsd: 5000, highUsd: 8000 },
};

type Prices = {
  version: string;
  hoursPerMonth: number;
  machineMonthly: Record<string, { usd: number; sud?: number }>;
  familyHourly: Record<string, { vcpu: number; gbRam: number; sudFactor: number }>;
  diskGbMonth: Record<string, { usd: number }>;
  snapshotGbMonth: { usd: number };
  cloudSql: { vcpuHour: { usd: number }; gbRamHour: { usd: number }; ssdGbMonth: { usd: number }; backupGbMonth: { usd: number }; haFactor: { usd: number } };
  redisGbHour: Record<string, Record<string, number | string>>;
  redisClusterNodeMonth: Record<string, { usd: number }>;
  memcached: { vcpuHour: number; gbRamHour: number; source: string };
  commitments: Record<"compute" | "cloudSql" | "memorystore", { "1y": number; "3y": number; source: string }>;
  spot: Record<string, number | string>;
  gcsStandardGbMonth: { usd: number; multiRegion: number };
  cdnEgressGb: { usd: number };
  lbForwardingRuleMonth: { firstFive: number; extra: number };
  lbDataProcessedGb: { usd: number };
  gkeClusterMonth: { usd: number };
  natVmHour: { usd: number; capVms: number };
  pubsubTib: { usd: number; freeGib: number };
  dnsZoneMonth: { usd: number };
  secretVersionMonth: { usd: number };
  cloudArmor: { policyMonth: number; ruleMonth: number };
  staticIpMonth: { inUse: number };
  internetEgressGb: { usd: number };
};

let pricesCache: Prices | undefined;
export function prices(): Prices {
  pricesCache ??= JSON.parse(readFileSync(join(__dirname, "../../data/prices.json"), "utf8")) as Prices;
  return pricesCache;
}

/** Share of egress the CDN serves once media and static are in Cloud Storage (seed: static -80 % on origin). */
export const CDN_EGRESS_SHARE = 0.8;

const round = (n: number) => Math.round(n * 100) / 100;
/** A rate as a whole percentage (0.55 -> 55). */
const pct = (rate: number) => Math.round(rate * 100);

/** Shared-core E2 types: no committed-use discount applies to them (Compute Engine CUD terms). */
const SHARED_CORE = /^e2-(micro|small|medium)$/;

/**
 * A value the estimate cannot price, in the refusal format. Not a config refusal: Google runs these (the catalog
 * and the config accept them) and the deployment is unaffected; data/prices.json, the one price source, has no
 * figure for them yet, and the estimate says so instead of guessing.
 */
function unpriced(what: string, value: unknown, allowed: string): string {
  return refusal({ key: `cost estimate ${what}`, value, problem: "has no price in data/prices.json", allowed });
}

/**
 * A predefined machine type not listed by name, priced from its family's hourly rates: vCPUs and memory from the
 * name (<family>-standard|highcpu|highmem-<vCPUs>: 4, 1 or 8 GB per vCPU).
 */
function familyShape(machineType: string) {
  const p = prices();
  const m = /^([a-z0-9]+)-(standard|highcpu|highmem)-(\d+)$/.exec(machineType);
  const family = m ? p.familyHourly[m[1]!] : undefined;
  if (!m || !family)
    throw new Error(
      unpriced(
        "machine type",
        machineType,
        `a type listed in machineMonthly, or <family>-standard|highcpu|highmem-<vCPUs> of a family in familyHourly (${Object.keys(p.familyHourly).join(", ")})`,
      ),
    );
  const vcpu = Number(m[3]);
  return { family, familyName: m[1]!, vcpu, gb: vcpu * { standard: 4, highcpu: 1, highmem: 8 }[m[2] as "standard"] };
}

/** On-demand list price of a machine type for a month, before any discount. */
export function listMonthly(machineType: string): number {
  const p = prices();
  const listed = p.machineMonthly[machineType];
  if (listed) return listed.usd;
  const { family, vcpu, gb } = familyShape(machineType);
  return (vcpu * family.vcpu + gb * family.gbRam) * p.hoursPerMonth;
}

/**
 * Monthly price of a machine type under a pricing model: on-demand (sustained use where it applies), committed for
 * 1 or 3 years (the list price less the commitment rate; sustained use does not stack), or Spot.
 */
export function machinePrice(machineType: string, model: Commitment | "spot"): { usd: number; basis: string } {
  if (model === "none") return machineMonthly(machineType);
  const list = listMonthly(machineType);
  if (model === "spot") {
    const rate = Number(prices().spot[machineType.split("-")[0]!]);
    if (!Number.isFinite(rate))
      throw new Error(
        unpriced(
          "Spot machine type",
          machineType,
          `a type of a family in spot (${Object.keys(prices().spot)
            .filter((f) => f !== "source")
            .join(", ")})`,
        ),
      );
    return { usd: list * (1 - rate), basis: `${machineType} Spot: list ${round(list)} less ${pct(rate)} %` };
  }
  if (SHARED_CORE.test(machineType)) return machineMonthly(machineType);
  const rate = prices().commitments.compute[model];
  return { usd: list * (1 - rate), basis: `${machineType} ${model} commitment: list ${round(list)} less ${pct(rate)} %` };
}

/** Monthly price of a Compute Engine machine type, running the whole month. */
export function machineMonthly(machineType: string): { usd: number; basis: string } {
  const p = prices();
  const listed = p.machineMonthly[machineType];
  if (listed)
    return { usd: listed.sud ?? listed.usd, basis: listed.sud ? `${machineType} ${listed.sud}/month (sustained use)` : `${machineType} ${listed.usd}/month` };
  const { family, familyName, vcpu, gb } = familyShape(machineType);
  const usd = (vcpu * family.vcpu + gb * family.gbRam) * p.hoursPerMonth * family.sudFactor;
  return { usd, basis: `${machineType}: ${vcpu} vCPU + ${gb} GB at ${familyName} rates${family.sudFactor < 1 ? " (sustained use)" : ""}` };
}

function diskMonthly(type: string | undefined, gb: number): number {
  const t = (type ?? "pd-balanced").replace(/^.*\//, "");
  const price = prices().diskGbMonth[t] ?? prices().diskGbMonth["pd-balanced"]!;
  return gb * price.usd;
}

/** Cloud SQL tier `db-custom-<vcpu>-<mb>` per month, before the HA factor. */
export function sqlTierMonthly(tier: string): number {
  const m = /^db-custom-(\d+)-(\d+)$/.exec(tier);
  if (!m) throw new Error(unpriced("Cloud SQL tier", tier, "a custom tier db-custom-<vCPUs>-<MB> (priced per vCPU and GB)"));
  const p = prices();
  return (Number(m[1]) * p.cloudSql.vcpuHour.usd + (Number(m[2]) / 1024) * p.cloudSql.gbRamHour.usd) * p.hoursPerMonth;
}

function redisCapacityTier(gb: number): string {
  return gb <= 4 ? "M1" : gb <= 10 ? "M2" : gb <= 35 ? "M3" : gb <= 100 ? "M4" : "M5";
}

/**
 * Resource types the estimate gives no line of their own, each with the reason: free, billed inside another line,
 * or priced by usage no config value states. Every other type a plan creates must get a nonzero line
 * (test/cost-coverage.test.ts).
 */
export const ZERO_PRICED: Record<string, string> = {
  // Networking objects: VPCs, subnets, firewall rules, routers and peering carry no charge of their own.
  "gcp:compute/network:Network": "no charge",
  "gcp:compute/subnetwork:Subnetwork": "no charge",
  "gcp:compute/firewall:Firewall": "no charge",
  "gcp:compute/router:Router": "no charge (Cloud NAT is priced on its own line)",
  "gcp:servicenetworking/connection:Connection": "no charge (peering)",
  "gcp:networkconnectivity/serviceConnectionPolicy:ServiceConnectionPolicy": "no charge (Private Service Connect policy)",
  // The load balancer is billed per forwarding rule and per GB processed (lines "forwarding rules" and "load balancer data processed").
  "gcp:compute/backendService:BackendService": "inside the load balancer's forwarding-rule and data-processing lines",
  "gcp:compute/backendBucket:BackendBucket": "inside the CDN egress line",
  "gcp:compute/backendBucketSignedUrlKey:BackendBucketSignedUrlKey": "no charge",
  "gcp:compute/healthCheck:HealthCheck": "no charge",
  "gcp:compute/uRLMap:URLMap": "inside the forwarding-rule line",
  "gcp:compute/targetHttpProxy:TargetHttpProxy": "inside the forwarding-rule line",
  "gcp:compute/targetHttpsProxy:TargetHttpsProxy": "inside the forwarding-rule line",
  "gcp:compute/sSLPolicy:SSLPolicy": "no charge",
  "gcp:compute/instanceGroup:InstanceGroup": "no charge (its instances are priced)",
  "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate": "no charge (the group's instances are priced from it)",
  "gcp:compute/regionAutoscaler:RegionAutoscaler": "no charge (its bounds price the group)",
  "gcp:compute/resourcePolicy:ResourcePolicy": "no charge (the snapshots it takes are priced on the disk's line)",
  "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment": "no charge (see the disk's line)",
  "gcp:compute/projectMetadataItem:ProjectMetadataItem": "no charge",
  // Certificate Manager: Google-managed certificates are free up to 100 per project (the plan has at most a few).
  "gcp:certificatemanager/certificate:Certificate": "free within 100 managed certificates per project",
  "gcp:certificatemanager/certificateMap:CertificateMap": "no charge",
  "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry": "no charge",
  "gcp:certificatemanager/dnsAuthorization:DnsAuthorization": "no charge",
  "gcp:dns/recordSet:RecordSet": "inside the zone's line (queries below the first billion are a few dollars, not estimated)",
  // Identity and access: free.
  "gcp:projects/iAMMember:IAMMember": "no charge",
  "gcp:serviceaccount/account:Account": "no charge",
  "gcp:serviceaccount/iAMMember:IAMMember": "no charge",
  "gcp:secretmanager/secret:Secret": "no charge (its active versions are priced)",
  "gcp:secretmanager/secretIamMember:SecretIamMember": "no charge",
  "gcp:storage/bucketIAMMember:BucketIAMMember": "no charge",
  "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": "no charge",
  "gcp:pubsub/topicIAMMember:TopicIAMMember": "no charge",
  "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": "no charge",
  // Usage-billed with no volume in config load: a few images (0.5 GB free, then $0.10/GB-month), metrics within
  // Cloud Monitoring's free allotment for GCP metrics; custom and Prometheus samples are billed by volume, which
  // the config does not state. Said here rather than guessed.
  "gcp:artifactregistry/repository:Repository": "storage of a few images: cents, not estimated",
  "gcp:monitoring/alertPolicy:AlertPolicy": "no charge for policies (volume-billed metrics not estimated)",
  "gcp:monitoring/dashboard:Dashboard": "no charge",
  "gcp:monitoring/metricDescriptor:MetricDescriptor": "no charge for the descriptor (samples are volume-billed, not estimated)",
  "gcp:monitoring/notificationChannel:NotificationChannel": "no charge",
  "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": "within the free uptime-check executions",
  "gcp:logging/metric:Metric": "no charge for the metric (log volume not estimated)",
  "gcp:projects/iAMAuditConfig:IAMAuditConfig":
    "no charge for the setting; the Data Access logs it turns on are log volume beyond Cloud Logging's free allotment, not estimated",
  "gcp:osconfig/osPolicyAssignment:OsPolicyAssignment": "VM Manager is free up to 100 VMs per billing account (the plan has fewer)",
  // Objects inside other resources.
  "gcp:sql/database:Database": "inside its Cloud SQL instance",
  "gcp:sql/user:User": "inside its Cloud SQL instance",
  "gcp:pubsub/subscription:Subscription": "inside the Pub/Sub volume line",
  // Objects inside the GKE clusters: billed as the clusters' nodes.
  "kubernetes:apiregistration.k8s.io/v1:APIService": "runs on the priced nodes",
  "kubernetes:apps/v1:Deployment": "runs on the priced nodes",
  "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": "runs on the priced nodes",
  "kubernetes:core/v1:ConfigMap": "runs on the priced nodes",
  "kubernetes:core/v1:Namespace": "runs on the priced nodes",
  "kubernetes:core/v1:Service": "runs on the priced nodes (NEG-backed, no load balancer of its own)",
  "kubernetes:core/v1:ServiceAccount": "runs on the priced nodes",
  "kubernetes:networking.k8s.io/v1:NetworkPolicy": "enforced by GKE Dataplane V2 on the priced nodes",
  "kubernetes:monitoring.googleapis.com/v1:PodMonitoring": "runs on the priced nodes (samples volume-billed, not estimated)",
  "kubernetes:policy/v1:PodDisruptionBudget": "runs on the priced nodes",
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": "runs on the priced nodes",
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": "runs on the priced nodes",
  "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": "runs on the priced nodes",
  "pulumi:providers:kubernetes": "not a cloud resource",
  "random:index/randomBytes:RandomBytes": "not a cloud resource",
  "random:index/randomPassword:RandomPassword": "not a cloud resource",
};

/** What every pricing step shares: the price table, the commitment, the plan's resources and the lines so far. */
interface Pricer {
  p: Prices;
  commitment: Commitment;
  committed: boolean;
  /** The committed-use discount of a service family (0 without a commitment). */
  cud: (kind: "compute" | "cloudSql" | "memorystore") => number;
  byUrn: Map<string, PlannedResource>;
  lines: CostLine[];
  add: (r: PlannedResource | string, item: string, min: number, max: number, basis: string, type?: string) => void;
  /** Machines counted for Cloud NAT's per-VM charge, at the minimum and the maximum sizes. */
  vms: { min: number; max: number };
}

function pricer(plan: Plan, options: CostOptions): Pricer {
  const p = prices();
  const commitment = options.commitment ?? "none";
  const committed = commitment !== "none";
  const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
  const top = (r: PlannedResource): string => {
    let cur = r;
    while (cur.parent && byUrn.has(cur.parent)) cur = byUrn.get(cur.parent)!;
    return cur.name;
  };
  const lines: CostLine[] = [];
  return {
    p,
    commitment,
    committed,
    cud: (kind) => (committed ? p.commitments[kind][commitment as "1y"] : 0),
    byUrn,
    lines,
    add: (r, item, min, max, basis, type) =>
      lines.push({
        component: typeof r === "string" ? r : top(r),
        type: type ?? (typeof r === "string" ? "usage" : r.type),
        item,
        monthlyUsd: round(min),
        atMaxMonthlyUsd: round(max),
        basis,
      }),
    vms: { min: 0, max: 0 },
  };
}

const inputsOf = (r: PlannedResource) => r.inputs as Record<string, any>;

export function estimateCost(plan: Plan, config: Config, options: CostOptions = {}): CostEstimate {
  const x = pricer(plan, options);
  for (const r of plan.resources) {
    if (!r.custom) continue;
    if (!priceMachines(plan, r, x) && !priceDataServices(r, x)) priceOther(r, x);
  }
  priceSharedNetworking(plan, x);
  const assumptions = [`price table ${x.p.version} (data/prices.json), ${x.p.hoursPerMonth} h/month, us-central1 list prices`, ...priceUsage(plan, config, x)];
  assumptions.push("instance groups and node pools at their minimum size (total) and at their maximum (atMax)");
  const applied = discountsApplied(plan, x);
  assumptions.push(...applied);
  return {
    options: applied,
    totalMonthlyUsd: round(x.lines.reduce((s, l) => s + l.monthlyUsd, 0)),
    atMaxMonthlyUsd: round(x.lines.reduce((s, l) => s + l.atMaxMonthlyUsd, 0)),
    lines: x.lines,
    assumptions,
    priceTableVersion: x.p.version,
    seedEstimate: { stage: config.stage, ...seedEstimates[config.stage]! },
  };
}

/** Compute Engine and GKE machines, their disks, snapshots and addresses; true when `r` was one of them. */
function priceMachines(plan: Plan, r: PlannedResource, x: Pricer): boolean {
  const { p, add } = x;
  const i = inputsOf(r);
  const machine = (type: string) => machinePrice(type, x.commitment);
  switch (r.type) {
    case "gcp:compute/instance:Instance": {
      const boot = i.bootDisk?.initializeParams ?? {};
      const disk = diskMonthly(boot.type, Number(boot.size ?? 10));
      if (i.desiredStatus === "TERMINATED") {
        add(r, `${r.name} (stopped: disks only)`, disk, disk, `boot disk ${boot.size ?? 10} GB ${boot.type ?? "pd-balanced"}; no machine charge while stopped`);
        return true;
      }
      const m = machine(i.machineType);
      add(r, `${r.name} (${i.machineType})`, m.usd + disk, m.usd + disk, `${m.basis} + boot disk ${boot.size ?? 10} GB`);
      x.vms.min++;
      x.vms.max++;
      return true;
    }
    case "gcp:compute/disk:Disk": {
      const gb = Number(i.size ?? 10);
      const d = diskMonthly(i.type, gb);
      const scheduled =
        (i.resourcePolicies ?? []).length > 0 ||
        plan.resources.some((a) => a.type === "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment" && a.inputs.disk === i.name);
      const snap = scheduled ? gb * p.snapshotGbMonth.usd : 0;
      add(
        r,
        `${r.name} (${gb} GB ${i.type ?? "pd-balanced"}${scheduled ? " + daily snapshots" : ""})`,
        d + snap,
        d + snap,
        scheduled ? `disk + snapshots stored ~ one full copy (${gb} GB x ${p.snapshotGbMonth.usd})` : "disk",
      );
      return true;
    }
    case "gcp:compute/snapshot:Snapshot": {
      const disk = (r.propertyDependencies.sourceDisk ?? r.dependencies).map((u) => x.byUrn.get(u)).find((d) => d?.type === "gcp:compute/disk:Disk");
      const gb = Number(disk?.inputs.size ?? 0);
      add(r, `${r.name} (final snapshot)`, gb * p.snapshotGbMonth.usd, gb * p.snapshotGbMonth.usd, `${gb} GB x ${p.snapshotGbMonth.usd}`);
      return true;
    }
    case "gcp:compute/address:Address":
    case "gcp:compute/globalAddress:GlobalAddress":
      if (i.addressType === "INTERNAL" || i.purpose === "VPC_PEERING") return true;
      add(r, `${r.name} (static IP)`, p.staticIpMonth.inUse, p.staticIpMonth.inUse, "static IPv4 in use");
      return true;
    case "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager":
    case "gcp:compute/instanceGroupManager:InstanceGroupManager":
      priceInstanceGroup(plan, r, x);
      return true;
    case "gcp:container/nodePool:NodePool": {
      const zones = ((i.nodeLocations as string[] | undefined) ?? []).length || 3;
      const nc = (i.nodeConfig ?? {}) as Record<string, any>;
      const min =
        Number(i.autoscaling?.minNodeCount ?? i.autoscaling?.totalMinNodeCount ?? i.initialNodeCount ?? 1) * (i.autoscaling?.totalMinNodeCount ? 1 : zones);
      const max = Number(i.autoscaling?.maxNodeCount ?? i.autoscaling?.totalMaxNodeCount ?? min) * (i.autoscaling?.totalMaxNodeCount ? 1 : zones);
      // Spot nodes are never committed: a commitment cannot cover preemptible capacity.
      const spot = nc.spot === true;
      const mp = machinePrice(nc.machineType ?? "e2-medium", spot ? "spot" : x.commitment);
      const per = mp.usd + diskMonthly(nc.diskType, Number(nc.diskSizeGb ?? 100));
      add(
        r,
        `${r.name} (${min}-${max} x ${nc.machineType}${spot ? ", Spot" : ""})`,
        (x.committed && !spot ? max : min) * per,
        max * per,
        `${mp.basis} + boot disk, ${zones} zones`,
      );
      x.vms.min += min;
      x.vms.max += max;
      return true;
    }
  }
  return false;
}

/** A managed instance group at its autoscaler's minimum and maximum (its template's machine and boot disk). */
function priceInstanceGroup(plan: Plan, r: PlannedResource, x: Pricer): void {
  const i = inputsOf(r);
  const tplUrn = (r.propertyDependencies.versions ?? r.dependencies).find((u) => /InstanceTemplate/.test(x.byUrn.get(u)?.type ?? ""));
  const tpl = tplUrn ? x.byUrn.get(tplUrn) : undefined;
  const machineType = (tpl?.inputs.machineType as string | undefined) ?? "n2-standard-2";
  const bootGb = Number(((tpl?.inputs.disks as any[]) ?? [])[0]?.diskSizeGb ?? 10);
  const bootType = ((tpl?.inputs.disks as any[]) ?? [])[0]?.diskType;
  const autoscalers = plan.resources.filter((a) => a.type.endsWith("utoscaler:RegionAutoscaler") || a.type === "gcp:compute/autoscaler:Autoscaler");
  const as = autoscalers.find((a) => (a.propertyDependencies.target ?? a.dependencies).includes(r.urn));
  const pol = (as?.inputs.autoscalingPolicy ?? {}) as Record<string, number>;
  const min = Number(pol.minReplicas ?? i.targetSize ?? 1);
  const max = Number(pol.maxReplicas ?? i.targetSize ?? min);
  const mp = machinePrice(machineType, x.commitment);
  const per = mp.usd + diskMonthly(bootType, bootGb);
  // A commitment sized to the maximum bills it every month.
  x.add(
    r,
    `${r.name} (${min}-${max} x ${machineType})`,
    (x.committed ? max : min) * per,
    max * per,
    `${mp.basis} + ${bootGb} GB boot disk, x ${min} (min) / x ${max} (max)`,
  );
  x.vms.min += min;
  x.vms.max += max;
}

/** Cloud SQL, Memorystore for Redis, Redis Cluster and Memcached; true when `r` was one of them. */
function priceDataServices(r: PlannedResource, x: Pricer): boolean {
  const { p, add, cud, committed, commitment } = x;
  const i = inputsOf(r);
  const less = (kind: "cloudSql" | "memorystore") => (committed ? ` less ${pct(cud(kind))} % (${commitment} commitment)` : "");
  switch (r.type) {
    case "gcp:sql/databaseInstance:DatabaseInstance": {
      const s = (i.settings ?? {}) as Record<string, any>;
      const ha = s.availabilityType === "REGIONAL" ? p.cloudSql.haFactor.usd : 1;
      const gb = Number(s.diskSize ?? 10);
      const inst = sqlTierMonthly(s.tier) * ha * (1 - cud("cloudSql"));
      const disk = gb * p.cloudSql.ssdGbMonth.usd * ha;
      const backups = i.masterInstanceName ? 0 : gb * p.cloudSql.backupGbMonth.usd;
      add(
        r,
        `${i.name} (${s.tier}${ha > 1 ? ", HA" : ""}${i.masterInstanceName ? ", replica" : ""})`,
        inst + disk + backups,
        inst + disk + backups,
        `tier ${round(sqlTierMonthly(s.tier))}/month${ha > 1 ? " x 2 (HA)" : ""}${less("cloudSql")} + ${gb} GB SSD${backups ? " + backups ~ disk size" : ""}`,
      );
      return true;
    }
    case "gcp:redis/instance:Instance": {
      const gb = Number(i.memorySizeGb);
      const tier = String(i.tier ?? "BASIC");
      const ct = redisCapacityTier(gb);
      const rate = Number(p.redisGbHour[tier]?.[ct]);
      const usd = gb * rate * p.hoursPerMonth * (1 - cud("memorystore"));
      add(r, `${i.name} (Redis ${tier} ${gb} GB)`, usd, usd, `${gb} GB x ${rate}/GB-hour (${ct})${less("memorystore")}`);
      return true;
    }
    case "gcp:redis/cluster:Cluster": {
      const nodes = Number(i.shardCount) * (1 + Number(i.replicaCount ?? 0));
      const listed = p.redisClusterNodeMonth[String(i.nodeType)];
      if (!listed)
        throw new Error(
          unpriced("Redis Cluster node type", i.nodeType, `a node type of redisClusterNodeMonth (${Object.keys(p.redisClusterNodeMonth).join(", ")})`),
        );
      const per = listed.usd * (1 - cud("memorystore"));
      add(
        r,
        `${i.name} (Redis Cluster ${nodes} nodes ${i.nodeType})`,
        nodes * per,
        nodes * per,
        `${i.shardCount} shards x (1 + ${i.replicaCount ?? 0} replicas) x ${listed.usd}${less("memorystore")}`,
      );
      return true;
    }
    case "gcp:memcache/instance:Instance": {
      const nodes = Number(i.nodeCount);
      const cpu = Number(i.nodeConfig?.cpuCount);
      const gb = Number(i.nodeConfig?.memorySizeMb) / 1024;
      const perNode = (cpu * p.memcached.vcpuHour + gb * p.memcached.gbRamHour) * p.hoursPerMonth * (1 - cud("memorystore"));
      add(
        r,
        `${i.name} (Memcached ${nodes} nodes)`,
        nodes * perNode,
        nodes * perNode,
        `${nodes} nodes x (${cpu} vCPU x ${p.memcached.vcpuHour} + ${gb} GB x ${p.memcached.gbRamHour}) per hour${less("memorystore")}`,
      );
      return true;
    }
  }
  return false;
}

/** Flat monthly fees: GKE clusters, Cloud Armor, secret versions, DNS zones. */
function priceOther(r: PlannedResource, x: Pricer): boolean {
  const { p, add } = x;
  const i = inputsOf(r);
  switch (r.type) {
    case "gcp:container/cluster:Cluster":
      add(r, `${i.name} (GKE cluster fee)`, p.gkeClusterMonth.usd, p.gkeClusterMonth.usd, "regional cluster management fee");
      return true;
    case "gcp:compute/securityPolicy:SecurityPolicy": {
      const rules = ((i.rules as unknown[]) ?? []).length;
      const c = p.cloudArmor.policyMonth + rules * p.cloudArmor.ruleMonth;
      add(r, `${r.name} (Cloud Armor, ${rules} rules)`, c, c, `${p.cloudArmor.policyMonth}/policy + ${p.cloudArmor.ruleMonth}/rule`);
      return true;
    }
    case "gcp:secretmanager/secretVersion:SecretVersion":
      add(r, "secret versions", p.secretVersionMonth.usd, p.secretVersionMonth.usd, `${p.secretVersionMonth.usd}/active version`);
      return true;
    case "gcp:dns/managedZone:ManagedZone":
      add(r, `${i.name} (DNS zone)`, p.dnsZoneMonth.usd, p.dnsZoneMonth.usd, "per zone");
      return true;
  }
  // Cloud NAT charges per VM using the gateway: priced once every machine is counted (priceSharedNetworking).
  return false;
}

const forwardingRulesOf = (plan: Plan) =>
  plan.resources.filter((r) => r.type === "gcp:compute/globalForwardingRule:GlobalForwardingRule" || r.type === "gcp:compute/forwardingRule:ForwardingRule");

/** Cloud NAT (per VM using a gateway, capped) and the load balancer's forwarding rules. */
function priceSharedNetworking(plan: Plan, x: Pricer): void {
  const { p, add } = x;
  const nats = plan.resources.filter((r) => r.type === "gcp:compute/routerNat:RouterNat");
  if (nats.length > 0) {
    const perGw = (vms: number) => Math.min(Math.ceil(vms / nats.length), p.natVmHour.capVms) * p.natVmHour.usd * p.hoursPerMonth;
    for (const n of nats)
      add(
        n,
        `${n.name} (Cloud NAT)`,
        perGw(x.vms.min),
        perGw(x.vms.max),
        `${p.natVmHour.usd}/VM-hour, VMs split across ${nats.length} gateway(s), cap ${p.natVmHour.capVms}`,
      );
  }
  const forwardingRules = forwardingRulesOf(plan);
  if (forwardingRules.length > 0) {
    const n = forwardingRules.length;
    const c = p.lbForwardingRuleMonth.firstFive + Math.max(0, n - 5) * p.lbForwardingRuleMonth.extra;
    add(
      forwardingRules[0]!,
      `${n} forwarding rules`,
      c,
      c,
      `first five ${p.lbForwardingRuleMonth.firstFive} together, ${p.lbForwardingRuleMonth.extra} each after`,
    );
  }
}

/** Usage-priced items from the stage's load assumptions (config `load`); returns the assumptions it made. */
function priceUsage(plan: Plan, config: Config, x: Pricer): string[] {
  const { p, add } = x;
  const l = config.load;
  const assumptions: string[] = [];
  // The media buckets (components/media.ts) hold load.mediaStorageGb; the VM's backup bucket is not media.
  const hasBuckets = plan.resources.some((r) => r.type === "gcp:storage/bucket:Bucket" && (r.parent ?? "").includes("::course-organizer:media:Media::"));
  const hasLb = forwardingRulesOf(plan).length > 0;
  if (hasBuckets) {
    add(
      "usage",
      `Cloud Storage ${l.mediaStorageGb} GB media`,
      l.mediaStorageGb * p.gcsStandardGbMonth.usd,
      l.mediaStorageGb * p.gcsStandardGbMonth.usd,
      `${l.mediaStorageGb} GB x ${p.gcsStandardGbMonth.usd}`,
      "gcp:storage/bucket:Bucket",
    );
    assumptions.push(`media stored: ${l.mediaStorageGb} GB (config load.mediaStorageGb)`);
  } else {
    assumptions.push(`media on the VM's data disk (${l.mediaStorageGb} GB fits the disk)`);
  }
  // The VM's backup bucket (components/backup-bucket.ts, multi-region): at most the kept full backups of a database
  // that fits the data disk (beside the media while they are on it); differentials and WAL add little to that bound.
  const backupBucket = plan.resources.find(
    (r) => r.type === "gcp:storage/bucket:Bucket" && (r.parent ?? "").includes("::course-organizer:backup:BackupBucket::"),
  );
  if (backupBucket) {
    const mediaOnDisk = hasBuckets ? 0 : l.mediaStorageGb;
    const gb = Math.max(0, config.vm.dataDiskGb - mediaOnDisk) * config.vm.backup.fullBackupsKept;
    const usd = gb * p.gcsStandardGbMonth.multiRegion;
    add(
      backupBucket,
      `${backupBucket.inputs.name} (database backups, at most ${gb} GB)`,
      usd,
      usd,
      `${config.vm.backup.fullBackupsKept} full backups x (data disk ${config.vm.dataDiskGb} GB - media on it ${mediaOnDisk} GB) x ${p.gcsStandardGbMonth.multiRegion} (multi-region)`,
    );
  }
  const cdnGb = hasBuckets && hasLb ? l.egressGbPerMonth * CDN_EGRESS_SHARE : 0;
  const originGb = l.egressGbPerMonth - cdnGb;
  if (cdnGb > 0)
    add(
      "usage",
      `Cloud CDN egress ${Math.round(cdnGb)} GB`,
      cdnGb * p.cdnEgressGb.usd,
      cdnGb * p.cdnEgressGb.usd,
      `${CDN_EGRESS_SHARE * 100} % of ${l.egressGbPerMonth} GB served from cache x ${p.cdnEgressGb.usd}`,
    );
  add(
    "usage",
    `internet egress ${Math.round(originGb)} GB`,
    originGb * p.internetEgressGb.usd,
    originGb * p.internetEgressGb.usd,
    `${Math.round(originGb)} GB x ${p.internetEgressGb.usd} (premium tier)`,
  );
  if (hasLb)
    add(
      "usage",
      `load balancer data processed ${Math.round(originGb)} GB`,
      originGb * p.lbDataProcessedGb.usd,
      originGb * p.lbDataProcessedGb.usd,
      `${p.lbDataProcessedGb.usd}/GB`,
    );
  assumptions.push(
    `egress: ${l.egressGbPerMonth} GB/month (config load.egressGbPerMonth)${cdnGb > 0 ? `, ${CDN_EGRESS_SHARE * 100} % of it from the CDN` : ""}`,
  );
  if (plan.resources.some((r) => r.type === "gcp:pubsub/topic:Topic")) {
    const billable = Math.max(0, l.pubsubGbPerMonth - p.pubsubTib.freeGib);
    add(
      "usage",
      `Pub/Sub ${l.pubsubGbPerMonth} GB`,
      (billable / 1024) * p.pubsubTib.usd,
      (billable / 1024) * p.pubsubTib.usd,
      `${p.pubsubTib.usd}/TiB after ${p.pubsubTib.freeGib} GiB free`,
      "gcp:pubsub/topic:Topic",
    );
    assumptions.push(`Pub/Sub: ${l.pubsubGbPerMonth} GB/month (config load.pubsubGbPerMonth)`);
  }
  return assumptions;
}

/** The pricing options applied: committed-use discounts, Spot node pools. */
function discountsApplied(plan: Plan, x: Pricer): string[] {
  const applied: string[] = [];
  if (x.committed) {
    const c = x.p.commitments;
    const k = x.commitment as "1y";
    applied.push(
      `${x.commitment === "1y" ? "1-year" : "3-year"} committed-use discounts sized to the maxima: Compute Engine ${pct(c.compute[k])} %, Cloud SQL ${pct(c.cloudSql[k])} %, Memorystore ${pct(c.memorystore[k])} % (billed every month, used or not)`,
    );
  }
  if (plan.resources.some((r) => r.type === "gcp:container/nodePool:NodePool" && (r.inputs.nodeConfig as Record<string, unknown> | undefined)?.spot === true)) {
    applied.push(`Spot node pools at ${pct(Number(x.p.spot.n2))} % off list`);
  }
  return applied;
}

/** Where the minimum-size total falls against the seed's range, in words (the lines above say why). */
export function seedComparison(c: Pick<CostEstimate, "totalMonthlyUsd" | "seedEstimate">): string {
  const { lowUsd, highUsd } = c.seedEstimate;
  const t = c.totalMonthlyUsd;
  if (t > highUsd) return `this estimate is ${Math.round(((t - highUsd) / highUsd) * 100)} % above its upper bound`;
  if (t < lowUsd) return `this estimate is ${Math.round(((lowUsd - t) / lowUsd) * 100)} % below its lower bound`;
  return "this estimate is within it";
}

export function formatCost(c: CostEstimate): string {
  const out: string[] = ["", `Estimated monthly cost (USD), price table ${c.priceTableVersion}:`];
  const byComponent = new Map<string, CostLine[]>();
  for (const l of c.lines) byComponent.set(l.component, [...(byComponent.get(l.component) ?? []), l]);
  for (const [comp, ls] of byComponent) {
    const sum = round(ls.reduce((s, x) => s + x.monthlyUsd, 0));
    const sumMax = round(ls.reduce((s, x) => s + x.atMaxMonthlyUsd, 0));
    out.push(`  ${comp.padEnd(28)} ${sum.toFixed(2).padStart(10)}${sumMax !== sum ? `   (at max ${sumMax.toFixed(2)})` : ""}`);
    for (const l of ls) out.push(`      ${l.item.padEnd(52)} ${l.monthlyUsd.toFixed(2).padStart(10)}   ${l.basis}`);
  }
  out.push(`  ${"TOTAL (minimum sizes)".padEnd(28)} ${c.totalMonthlyUsd.toFixed(2).padStart(10)}`);
  out.push(`  ${"TOTAL (maximum sizes)".padEnd(28)} ${c.atMaxMonthlyUsd.toFixed(2).padStart(10)}`);
  out.push(`  seed's estimate for stage ${c.seedEstimate.stage}: ${c.seedEstimate.range} per month (${seedComparison(c)})`);
  out.push("  assumptions:");
  for (const a of c.assumptions) out.push(`    - ${a}`);
  return out.join("\n");
}
