import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { fileRecorder, type RenderedFile } from "../src/render/registry";
import { ServiceAccount } from "./service-account";
import { VM_IMAGE } from "./vm-platform";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext, RegionalPlacement } from "./context";

/** One per-instance Cloud Monitoring metric the autoscaler keeps at `target` (resource gce_instance). */
export interface AutoscalerMetric {
  name: string;
  target: number;
  /** @default "GAUGE" */
  type?: "GAUGE" | "DELTA_PER_SECOND" | "DELTA_PER_MINUTE";
  /** Monitoring filter selecting one time series per instance (only `=` and AND). @default undefined */
  filter?: string;
}

export interface PoolAutoscaling {
  minReplicas: number;
  maxReplicas: number;
  /** Seconds a new instance is left alone before its metrics count (GCP calls it the initialization period). */
  cooldownSeconds: number;
  /** Mean CPU the autoscaler keeps, as a fraction (0.7 = 70 %). @default undefined (no CPU signal) */
  cpuTarget?: number;
  /**
   * Fraction of the load balancer's serving capacity (the backend's maxRatePerInstance or maxUtilization) the
   * autoscaler keeps. @default undefined (no load-balancer signal)
   */
  loadBalancingUtilization?: number;
  /** Per-instance custom or agent metrics. @default [] */
  metrics?: AutoscalerMetric[];
  /** Scale-in control: at most `maxReplicas` instances removed within `windowSeconds`. */
  scaleIn: { maxReplicas: number; windowSeconds: number };
}

export interface PoolHealthCheck {
  port: number;
  path: string;
  /** Host header of the probe (Django refuses hosts outside ALLOWED_HOSTS). @default undefined (the instance IP) */
  host?: string;
  /** Seconds after an instance starts before auto-healing may recreate it (first boot pulls images). */
  initialDelaySec: number;
  /** @default 10 */
  checkIntervalSec?: number;
  /** @default 5 */
  timeoutSec?: number;
  /** @default 2 */
  healthyThreshold?: number;
  /** @default 3 */
  unhealthyThreshold?: number;
}

export interface InstancePoolArgs extends ComponentContext, RegionalPlacement {
  /** Role in physical names (`<prefix>-<role>-...`), e.g. "http", "ws", "jvb-us-central1". */
  role: string;
  /** Zones of the region the group spreads over (three, as GCP's regional default). */
  zones: string[];
  machineType: string;
  /** Boot image. @default "ubuntu-os-cloud/ubuntu-2404-lts-amd64" (cloud-init user-data, gcloud, Ops Agent) */
  image?: string;
  /** Boot disk (GB). @default 30 */
  bootDiskGb?: number;
  /** Network tags the firewall rules target (components/network.ts `tags`). */
  tags: string[];
  /**
   * An ephemeral external IP per instance (an access config in the template): Videobridges, which clients reach
   * directly on UDP 10000. Everything else reaches the internet through Cloud NAT. @default false
   */
  externalIp?: boolean;
  /** The cloud-init user-data (names only; no secret value). */
  userData: pulumi.Input<string>;
  /** Further metadata values (e.g. `shutdown-script`): scripts and names only. @default {} */
  metadata?: Record<string, pulumi.Input<string>>;
  /** Folder of `npm run render` for this pool's files. */
  renderRole: string;
  /** The files inside the user-data, registered for `npm run render` (so shellcheck and friends see them). @default [] */
  renderFiles?: { path: string; content: pulumi.Input<string> }[];
  /** Project roles of the pool's own service account. */
  projectRoles: string[];
  /** Secret Manager ids the instances read at boot: the pool's account is granted secretAccessor on each. @default [] */
  secretIds?: pulumi.Input<string>[];
  /** The Artifact Registry repository the instances pull from (reader grant on it only). @default undefined */
  registry?: { location: string; repository: pulumi.Input<string> };
  /** The Docker Hub mirror the instances pull third-party images from: reader on that repository only. @default undefined */
  imageMirror?: { location: string; repository: pulumi.Input<string> };
  /** Cloud Storage buckets the instances write (media, static): objectAdmin on each bucket only. @default [] */
  writableBuckets?: pulumi.Input<string>[];
  /** Resources the first boot needs (secret versions and grants made elsewhere). @default [] */
  bootDependencies?: pulumi.Input<pulumi.Resource>[];
  /** Named ports the load balancer's backend services address. @default [] */
  namedPorts?: { name: string; port: number }[];
  healthCheck: PoolHealthCheck;
  autoscaling: PoolAutoscaling;
  /**
   * Guest shutdown window (seconds, 1-3600): when the group deletes an instance (scale-in, update, repair) GCE
   * runs its shutdown hooks for up to this long before stopping it. @default undefined (GCE's best-effort ~90 s)
   */
  gracefulShutdownSeconds?: number;
  /** Description of the template and group. */
  description: string;
}

/** The MIG update policy's fixed surge and unavailability for a regional group over `zones` zones. */
export function rollingUpdateNumbers(zones: number): { maxSurgeFixed: number; maxUnavailableFixed: number } {
  // A regional MIG refuses fixed values between 1 and the number of zones (each zone needs its own unit): the
  // surge is one instance per zone, so a rollout creates the replacements before it deletes anything.
  return { maxSurgeFixed: zones, maxUnavailableFixed: 0 };
}

/**
 * The group's delete timeout. Deleting a group deletes its instances and GCE honours their graceful shutdown
 * (regionInstanceGroupManagers.delete has `noGracefulShutdown` to skip it), so the delete operation lasts the whole
 * shutdown window; the provider's default delete timeout of 15 minutes would fail a `pulumi destroy` (or the
 * removal of a bridge region) of a 31-minute drain. The window plus those 15 minutes; undefined without a window.
 */
export function groupDeleteTimeout(gracefulShutdownSeconds?: number): string | undefined {
  return gracefulShutdownSeconds ? `${Math.ceil(gracefulShutdownSeconds / 60) + 15}m` : undefined;
}

/**
 * Validate the args, one refusal line each (src/config/refusal.ts). The composition passes zones of the catalog,
 * replica bounds the config has paired (rules/pairs.ts), targets of 1-100 % and constant delays; these guard other
 * callers.
 */
export function instancePoolProblems(a: Pick<InstancePoolArgs, "zones" | "region" | "autoscaling" | "gracefulShutdownSeconds" | "healthCheck">): string[] {
  const refuse = argRefuser("InstancePool");
  const p: string[] = [];
  if (a.zones.length === 0) p.push(refuse("zones", a.zones, "is empty", `zones of ${a.region} to spread over (three, as GCP's regional default)`));
  a.zones.forEach((z, i) => {
    if (!z.startsWith(`${a.region}-`)) p.push(refuse(`zones[${i}]`, z, `is not in args.region ${a.region}`, `a zone ${a.region}-<letter>`));
    else if (a.zones.indexOf(z) < i) p.push(refuse(`zones[${i}]`, z, `is listed twice (also zones[${a.zones.indexOf(z)}])`, "each zone once"));
  });
  const s = a.autoscaling;
  if (s.minReplicas > s.maxReplicas)
    p.push(
      refuse("autoscaling.minReplicas", s.minReplicas, `is above args.autoscaling.maxReplicas ${s.maxReplicas}`, `at most ${s.maxReplicas}`, s.maxReplicas),
    );
  for (const [k, v] of [
    ["cpuTarget", s.cpuTarget],
    ["loadBalancingUtilization", s.loadBalancingUtilization],
  ] as const) {
    if (v !== undefined && !(v > 0 && v <= 1)) p.push(refuse(`autoscaling.${k}`, v, "is not a fraction", "a fraction in (0, 1], e.g. 0.7 for 70 %"));
  }
  if (s.cpuTarget === undefined && s.loadBalancingUtilization === undefined && (s.metrics ?? []).length === 0) {
    p.push(
      refuse(
        "autoscaling.metrics",
        s.metrics ?? [],
        "is empty and neither cpuTarget nor loadBalancingUtilization is set (GCP would silently scale on CPU 60 %)",
        "a cpuTarget, a loadBalancingUtilization or at least one metric",
      ),
    );
  }
  const g = a.gracefulShutdownSeconds;
  if (g !== undefined && !(Number.isInteger(g) && g >= 1 && g <= 3600))
    p.push(refuse("gracefulShutdownSeconds", g, "is outside GCE's graceful shutdown", "a whole number of seconds, 1-3600"));
  const d = a.healthCheck.initialDelaySec;
  if (!(d >= 0 && d <= 3600)) p.push(refuse("healthCheck.initialDelaySec", d, "is outside the auto-healing initial delay GCE takes", "0-3600 seconds"));
  return p;
}

/**
 * An autoscaled regional managed instance group: its own service account, a regional instance template (Shielded
 * VM, OS Login, no external IP unless asked, cloud-init user-data), the group spread evenly over three zones with
 * auto-healing and proactive rolling updates, a global health check (shared with the load balancer's backend
 * service) and a regional autoscaler.
 *
 * Template replacement: instance templates are immutable, so every change makes a new one. The template takes a
 * `namePrefix` (GCP appends a unique suffix) and keeps Pulumi's default create-before-delete
 * (`deleteBeforeReplace: false`): the new template is created, the group is updated to it (a rolling update),
 * and only then is the old one deleted. A fixed name would need delete-first, which GCP refuses while the group
 * still uses the template ("resource in use").
 *
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`).
 */
export class InstancePool extends pulumi.ComponentResource {
  public readonly identity: ServiceAccount;
  public readonly serviceAccountEmail: pulumi.Output<string>;
  public readonly template: gcp.compute.RegionInstanceTemplate;
  public readonly manager: gcp.compute.RegionInstanceGroupManager;
  /** The group's instance group URL, for the load balancer's backend service. */
  public readonly instanceGroup: pulumi.Output<string>;
  public readonly healthCheck: gcp.compute.HealthCheck;
  public readonly autoscaler: gcp.compute.RegionAutoscaler;
  /** Secret accessor, registry reader and bucket grants of the pool's account. */
  public readonly grants: pulumi.Resource[];

  /** The files its machines receive, by role and path (`npm run render` writes them). */
  public readonly files: RenderedFile[] = [];

  constructor(name: string, args: InstancePoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:compute:InstancePool", name, {}, opts);
    const renderFile = fileRecorder(this.files);
    const problems = instancePoolProblems(args);
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);

    this.identity = new ServiceAccount(
      `${name}-identity`,
      {
        prefix: args.prefix,
        project: args.project,
        // `-pool`: service-account ids need 6 characters at least ("co-ws" alone has 5).
        role: `${args.role}-pool`,
        description: `Course Organizer ${args.description}: reads its secrets and images, writes logs and metrics`,
        roles: args.projectRoles,
      },
      { parent: this },
    );
    this.serviceAccountEmail = this.identity.email;
    const member = this.identity.member;

    this.grants = [
      ...(args.secretIds ?? []).map(
        (id, i) =>
          new gcp.secretmanager.SecretIamMember(
            `${name}-secret-${i}`,
            { project: args.project, secretId: id, role: "roles/secretmanager.secretAccessor", member },
            { parent: this },
          ),
      ),
      ...(args.registry
        ? [
            new gcp.artifactregistry.RepositoryIamMember(
              `${name}-registry-reader`,
              { project: args.project, location: args.registry.location, repository: args.registry.repository, role: "roles/artifactregistry.reader", member },
              { parent: this },
            ),
          ]
        : []),
      ...(args.imageMirror
        ? [
            new gcp.artifactregistry.RepositoryIamMember(
              `${name}-mirror-reader`,
              {
                project: args.project,
                location: args.imageMirror.location,
                repository: args.imageMirror.repository,
                role: "roles/artifactregistry.reader",
                member,
              },
              { parent: this },
            ),
          ]
        : []),
      ...(args.writableBuckets ?? []).map(
        (bucket, i) => new gcp.storage.BucketIAMMember(`${name}-bucket-writer-${i}`, { bucket, role: "roles/storage.objectAdmin", member }, { parent: this }),
      ),
    ];
    const hc = args.healthCheck;
    this.healthCheck = new gcp.compute.HealthCheck(
      `${name}-health`,
      {
        name: physicalName(args.prefix, `${args.role}-health`),
        description: `${args.description}: HTTP ${hc.path} on ${hc.port}`,
        checkIntervalSec: hc.checkIntervalSec ?? 10,
        timeoutSec: hc.timeoutSec ?? 5,
        healthyThreshold: hc.healthyThreshold ?? 2,
        unhealthyThreshold: hc.unhealthyThreshold ?? 3,
        httpHealthCheck: { port: hc.port, requestPath: hc.path, portSpecification: "USE_FIXED_PORT", ...(hc.host ? { host: hc.host } : {}) },
        logConfig: { enable: false },
      },
      { parent: this },
    );

    for (const f of args.renderFiles ?? []) this.files.push({ role: args.renderRole, path: f.path, content: f.content });
    const userData = renderFile(args.renderRole, "cloud-init/user-data.yaml", args.userData);

    this.template = new gcp.compute.RegionInstanceTemplate(
      `${name}-template`,
      {
        // namePrefix, not name: each replacement gets a fresh name, so it can exist next to the old one. The
        // provider appends a full 26-character suffix only to prefixes of 37 characters at most.
        namePrefix: `${physicalName(args.prefix, args.role).slice(0, 36).replace(/-+$/, "")}-`,
        region: args.region,
        description: args.description,
        machineType: args.machineType,
        disks: [{ boot: true, autoDelete: true, sourceImage: args.image ?? VM_IMAGE, diskSizeGb: args.bootDiskGb ?? 30, diskType: "pd-balanced" }],
        networkInterfaces: [
          {
            network: args.network,
            subnetwork: args.subnetwork,
            // An empty access config is an ephemeral external IP per instance; without one, Cloud NAT.
            ...(args.externalIp ? { accessConfigs: [{ networkTier: "PREMIUM" }] } : {}),
          },
        ],
        serviceAccount: { email: this.identity.email, scopes: ["cloud-platform"] },
        shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
        metadata: {
          // OS Login: SSH users come from IAM (roles/compute.osLogin), never from metadata keys.
          "enable-oslogin": "TRUE",
          "block-project-ssh-keys": "TRUE",
          ...(args.metadata ?? {}),
          "user-data": userData,
        },
        tags: args.tags,
        labels: args.labels,
        scheduling: {
          automaticRestart: true,
          onHostMaintenance: "MIGRATE",
          preemptible: false,
          ...(args.gracefulShutdownSeconds ? { gracefulShutdown: { enabled: true, maxDuration: { seconds: args.gracefulShutdownSeconds } } } : {}),
        },
      },
      // The first boot reads secrets and pulls images: the grants come first. deleteBeforeReplace stays false.
      { parent: this, dependsOn: [...this.grants, ...((args.bootDependencies ?? []) as pulumi.Resource[])] },
    );

    const rolling = rollingUpdateNumbers(args.zones.length);
    this.manager = new gcp.compute.RegionInstanceGroupManager(
      `${name}-group`,
      {
        name: physicalName(args.prefix, `${args.role}-group`),
        region: args.region,
        description: args.description,
        baseInstanceName: physicalName(args.prefix, args.role, "instanceBaseName"),
        versions: [{ name: "primary", instanceTemplate: this.template.selfLink }],
        distributionPolicyZones: args.zones,
        // EVEN: the same number of instances in every zone (±1), so a zone outage takes at most a third.
        distributionPolicyTargetShape: "EVEN",
        namedPorts: args.namedPorts ?? [],
        autoHealingPolicies: { healthCheck: this.healthCheck.id, initialDelaySec: hc.initialDelaySec },
        updatePolicy: {
          type: "PROACTIVE",
          instanceRedistributionType: "PROACTIVE",
          minimalAction: "REPLACE",
          mostDisruptiveAllowedAction: "REPLACE",
          // SUBSTITUTE: new instances with new names are created before the old ones go (surge), which
          // RECREATE (same names) cannot do without unavailability.
          replacementMethod: "SUBSTITUTE",
          ...rolling,
        },
        // The autoscaler owns the size; Pulumi must not fight it.
        waitForInstances: false,
      },
      {
        parent: this,
        ignoreChanges: ["targetSize"],
        ...(groupDeleteTimeout(args.gracefulShutdownSeconds) ? { customTimeouts: { delete: groupDeleteTimeout(args.gracefulShutdownSeconds) } } : {}),
      },
    );
    this.instanceGroup = this.manager.instanceGroup;

    this.autoscaler = this.autoscalerOf(name, args);

    this.registerOutputs({
      instanceGroup: this.instanceGroup,
      manager: this.manager.id,
      autoscaler: this.autoscaler.id,
      serviceAccountEmail: this.serviceAccountEmail,
    });
  }

  /** The group's autoscaler: its signals, bounds, cooldown and the seed's slowed scale-in. */
  private autoscalerOf(name: string, args: InstancePoolArgs): gcp.compute.RegionAutoscaler {
    const s = args.autoscaling;
    return new gcp.compute.RegionAutoscaler(
      `${name}-autoscaler`,
      {
        name: physicalName(args.prefix, `${args.role}-autoscaler`),
        region: args.region,
        target: this.manager.id,
        autoscalingPolicy: {
          mode: "ON",
          minReplicas: s.minReplicas,
          maxReplicas: s.maxReplicas,
          cooldownPeriod: s.cooldownSeconds,
          ...(s.cpuTarget !== undefined ? { cpuUtilization: { target: s.cpuTarget } } : {}),
          ...(s.loadBalancingUtilization !== undefined ? { loadBalancingUtilization: { target: s.loadBalancingUtilization } } : {}),
          metrics: (s.metrics ?? []).map((m) => ({ name: m.name, target: m.target, type: m.type ?? "GAUGE", ...(m.filter ? { filter: m.filter } : {}) })),
          // GCP has no scale-out step: it adds what the signals ask for at once (the seed's "increment 2, fast"
          // is the autoscaler's normal behaviour). Scale-in is what the seed slows down.
          scaleInControl: { maxScaledInReplicas: { fixed: s.scaleIn.maxReplicas }, timeWindowSec: s.scaleIn.windowSeconds },
        },
      },
      { parent: this },
    );
  }
}
