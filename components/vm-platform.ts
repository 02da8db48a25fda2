import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { statefulOptions } from "../src/options";
import { fileRecorder, type RenderedFile } from "../src/render/registry";
import type { ComposeEnv, ComposeImages } from "../src/files/compose";
import { DATA_DEVICE_NAME, vmFiles, vmUserData, type VmBundleOptions } from "../src/files/vm-bundle";
import { tags } from "./network";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext, RegionalPlacement } from "./context";

/**
 * Project roles of the VM's service account: write logs and metrics (the Ops Agent / docker's journald logs).
 * Everything else is granted on the one resource it concerns: artifactregistry.reader on the image repository
 * (components/artifact-registry.ts readers), secretAccessor per secret (components/secret.ts accessors),
 * storage.objectAdmin on the media bucket (here, when given).
 */
export const VM_PROJECT_ROLES = ["roles/logging.logWriter", "roles/monitoring.metricWriter"];

/**
 * Ubuntu 24.04 LTS, not Debian: GCE's Debian images do not run cloud-init user-data (they only run Google's
 * startup-script agent), Ubuntu's GCE images do, and they ship gcloud (used at boot to read Secret Manager).
 * The image family moves to the latest 24.04 build only at creation: the boot disk is immutable afterwards.
 */
export const VM_IMAGE = "ubuntu-os-cloud/ubuntu-2404-lts-amd64";

export interface VmSecret {
  /** Variable in the VM's env file (src/files/compose.ts COMPOSE_ENV). */
  env: ComposeEnv;
  /** Secret Manager id (components/secret.ts `secretId`). */
  secretId: pulumi.Input<string>;
}

export interface VmPlatformArgs extends ComponentContext, RegionalPlacement {
  /** Error reporting DSN passed to the app (config monitoring.sentryDsn). */
  sentryDsn?: string;
  /** Zone of the VM and its data disk. */
  zone: string;
  /** The VM's dedicated service account (components/service-account.ts, roles VM_PROJECT_ROLES). */
  serviceAccountEmail: pulumi.Input<string>;
  /**
   * Machine type. Stage 1: e2-standard-2 (2 vCPU, 8 GB: the seed's "e2-medium/e2-standard-2 ... 8-16GB RAM";
   * e2-medium has only 4 GB). Stage 2: n2-standard-4 (seed "Upgrade VM Tier"). A change is an in-place update
   * (allowStoppingForUpdate: the VM stops, is resized and starts again, keeping its disks and IP).
   */
  machineType: string;
  /** Boot disk size (GB); the boot disk holds only the OS and images. */
  bootDiskGb: number;
  /** Data disk size (GB; it can grow in place, never shrink). Seed: 50 GB SSD. */
  dataDiskGb: number;
  /** Data disk type. */
  dataDiskType: string;
  /** Daily snapshots of the data disk kept this many days (at least 7). */
  snapshotRetentionDays: number;
  /** Daily snapshot start, UTC "HH:00" (GCP accepts whole hours only). */
  snapshotStartTime: string;
  /** Secrets the VM reads at boot (its service account must be an accessor of each). */
  secrets: VmSecret[];
  /** Resources the first boot needs in place (the secrets with their grants, the registry grant). */
  bootDependencies?: pulumi.Input<pulumi.Resource>[];
  /** Artifact Registry hosts docker logs in to. */
  registryHosts: string[];
  images: ComposeImages;
  domain: string;
  meetDomain: string;
  /** Let's Encrypt account e-mail (stage 1, nginx terminates TLS). */
  acmeEmail: string;
  backendReplicas: number;
  gunicornWorkers: number;
  gunicornThreads: number;
  redis: { maxmemory: string; maxmemoryPolicy: string; save: [number, number][] };
  /** Apply the seed's stage-2 indexes after the migrations. */
  databaseIndexes: boolean;
  /** Media bucket (stage 2): the VM's account gets objectAdmin on it and the app stores media there. */
  mediaBucket?: pulumi.Input<string>;
  /**
   * Cloud CDN signed-URL key for private media (components/media.ts): the key's name and its Secret Manager id.
   * The VM reads the value at boot like its other secrets (the media component grants its account access).
   */
  cdnSigningKey?: { keyName: string; secretId: pulumi.Input<string> };
  /**
   * Static-files bucket (stage 2): the app's STATIC_URL points there. Read-only for the VM: the release identity
   * publishes collectstatic's output (scripts/publish-static.sh), and the VM runs no collectstatic then.
   */
  staticBucket?: pulumi.Input<string>;
  /** Media objects public-read instead of signed URLs. @default false */
  publicMedia?: boolean;
  /** Copy the disk's media into the bucket once (stage 1 -> 2). @default true */
  copyMediaToBucket?: boolean;
  staticCacheDays?: number;
  mediaCacheDays?: number;
  /**
   * A global load balancer fronts the VM (stage 2): nginx serves plain HTTP on 80 (the LB terminates TLS), and an
   * unmanaged instance group with the named port http:80 is created for the LB's backend service.
   * @default false
   */
  behindLoadBalancer?: boolean;
  /** Ranges whose X-Forwarded-For nginx believes behind the load balancer. @default [] */
  loadBalancerRanges?: string[];
  /**
   * Serve PostgreSQL on the VM's internal address with logical decoding, as the source of a Database Migration
   * Service job (stage 2 -> 3). `images.postgres` must then include pglogical (src/files/compose.ts).
   * @default false
   */
  postgresMigrationSource?: boolean;
  /**
   * The VM's self-hosted monitoring files (src/files/prometheus.ts vmMonitoringFiles: Prometheus config and alert
   * rules, Grafana provisioning, the WebSocket gauge script, which a one-minute timer runs).
   * @default a minimal Prometheus config and Grafana data source
   */
  monitoringFiles?: { path: string; content: string; permissions?: string }[];
  /**
   * Point-in-time recovery of PostgreSQL (src/files/pgbackrest.ts) to the backup bucket (components/backup-bucket.ts,
   * which grants this VM's account objectAdmin on it): WAL archiving with `archiveTimeoutSeconds`, a daily base
   * backup at `backupStartTime` (UTC), full on `fullBackupDay` (1 = Monday .. 7 = Sunday), `fullBackupsKept` kept.
   * The repository cipher pass is one of `secrets` (env PGBACKREST_CIPHER_PASS).
   * Absent: no archiving.
   */
  backup?: { bucket: string; archiveTimeoutSeconds: number; fullBackupsKept: number; fullBackupDay: number; backupStartTime: string };
  /**
   * The VM no longer serves (stage 3, config vm.retained): it is stopped (desiredStatus TERMINATED), leaves the
   * load balancer (no instance group) and a final snapshot of its data disk is taken. Disk, IP and VM stay until
   * the data is migrated; once the component leaves the program they stay in GCP (retainOnDelete).
   * @default false
   */
  retired?: boolean;
}

/**
 * Argument checks, one refusal line each. The config refuses vm.snapshotRetentionDays (7-365) and
 * vm.snapshotStartTime (HH:00) first (schema); these guard other callers.
 */
export function vmPlatformProblems(args: Pick<VmPlatformArgs, "snapshotRetentionDays" | "snapshotStartTime">): string[] {
  const refuse = argRefuser("VmPlatform");
  const p: string[] = [];
  if (!(args.snapshotRetentionDays >= 7))
    p.push(refuse("snapshotRetentionDays", args.snapshotRetentionDays, "keeps less than a week of snapshots", "at least 7 days", 7));
  if (!/^([01][0-9]|2[0-3]):00$/.test(args.snapshotStartTime))
    p.push(refuse("snapshotStartTime", args.snapshotStartTime, "is not a whole hour (GCP snapshot schedules start on the hour)", "HH:00 (UTC)"));
  return p;
}

/**
 * The single-VM platform of stages 1 and 2: one Shielded VM with OS Login, a static external IP, a separate data
 * disk with daily snapshots, and the whole app in docker compose (src/files/vm-bundle.ts) started by cloud-init
 * and systemd. The VM, its data disk and its IP keep their URNs from stage 1 to 3: a stage move resizes the VM
 * and changes its metadata in place.
 *
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`).
 */
export class VmPlatform extends pulumi.ComponentResource {
  public readonly instance: gcp.compute.Instance;
  /** The static external IP (the DNS A record of the domain at stage 1, and of the Jitsi host). */
  public readonly address: pulumi.Output<string>;
  public readonly staticIp: gcp.compute.Address;
  public readonly dataDisk: gcp.compute.Disk;
  public readonly snapshotSchedule: gcp.compute.ResourcePolicy;
  public readonly serviceAccountEmail: pulumi.Output<string>;
  /** Unmanaged instance group (named port http:80) for the load balancer's backend service; stage 2 only. */
  public readonly instanceGroup?: gcp.compute.InstanceGroup;
  /** Final snapshot of the data disk once retired. */
  public readonly finalSnapshot?: gcp.compute.Snapshot;
  /** The cloud-init user-data in the instance's metadata. */
  public readonly userData: pulumi.Output<string>;

  /** The files its machines receive, by role and path (`npm run render` writes them). */
  public readonly files: RenderedFile[] = [];

  constructor(name: string, args: VmPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:vm:VmPlatform", name, {}, opts);
    const renderFile = fileRecorder(this.files);
    const problems = vmPlatformProblems(args);
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);
    const retired = args.retired ?? false;
    this.serviceAccountEmail = pulumi.output(args.serviceAccountEmail);

    this.staticIp = new gcp.compute.Address(
      `${name}-ip`,
      {
        name: physicalName(args.prefix, "vm-ip"),
        region: args.region,
        addressType: "EXTERNAL",
        networkTier: "PREMIUM",
        description: "Static external IP of the Course Organizer VM (DNS points here; Jitsi media goes here)",
        labels: args.labels,
      },
      statefulOptions(this),
    );
    this.address = this.staticIp.address;

    // PostgreSQL, Redis, media, Prometheus and Grafana data: a disk of its own, so the VM (and its boot disk) can be
    // resized or recreated without touching the data. Compute Engine disks have no deletion-protection flag: the
    // instance's deletionProtection (while attached), protect and retainOnDelete cover it.
    this.dataDisk = new gcp.compute.Disk(
      `${name}-data`,
      {
        name: physicalName(args.prefix, "data"),
        zone: args.zone,
        type: args.dataDiskType,
        size: args.dataDiskGb,
        physicalBlockSizeBytes: 4096,
        description: "Course Organizer data: PostgreSQL, Redis, media, monitoring",
        labels: args.labels,
      },
      statefulOptions(this),
    );

    this.snapshotSchedule = this.dailySnapshots(name, args, this.dataDisk);

    // objectAdmin on the media bucket only (never a project-wide storage role): django-storages writes, reads,
    // deletes and overwrites uploads there through the metadata server's credentials. Never on the static bucket:
    // every browser loads JavaScript from it, so only the release identity writes it (components/media.ts).
    const bucketGrants: pulumi.Resource[] = [];
    for (const [role, bucket] of [["media", args.mediaBucket]] as const) {
      if (bucket === undefined) continue;
      bucketGrants.push(
        new gcp.storage.BucketIAMMember(
          `${name}-${role}-writer`,
          { bucket, role: "roles/storage.objectAdmin", member: pulumi.interpolate`serviceAccount:${args.serviceAccountEmail}` },
          { parent: this },
        ),
      );
    }

    // Files: names (secret ids, bucket) are resolved, never values. Each file is registered for `npm run render`.
    const behindLb = (args.behindLoadBalancer ?? false) && !retired;
    const bundle = (secretIds: string[], bucket: string | undefined, staticBucket: string | undefined) =>
      bundleOptions(args, secrets, secretIds, bucket, staticBucket);
    const secrets: VmSecret[] = [...args.secrets, ...(args.cdnSigningKey ? [{ env: "CDN_SIGNING_KEY" as const, secretId: args.cdnSigningKey.secretId }] : [])];
    const resolved = pulumi.all([pulumi.all(secrets.map((s) => s.secretId)), args.mediaBucket, args.staticBucket]).apply(([ids, bucket, staticBucket]) => {
      const o = bundle(ids, bucket, staticBucket);
      const files = vmFiles(o);
      return { files, userData: vmUserData(o, files) };
    });
    // The file list depends only on plain args (the bucket's presence, TLS, flags), so it is known in preview too.
    const known = (b: pulumi.Input<string> | undefined) => (b === undefined ? undefined : "x");
    const paths = vmFiles(
      bundle(
        secrets.map(() => "x"),
        known(args.mediaBucket),
        known(args.staticBucket),
      ),
    ).map((f) => f.renderPath);
    for (const p of paths) {
      renderFile(
        "vm",
        p,
        resolved.apply((r) => r.files.find((f) => f.renderPath === p)!.content),
      );
    }
    this.userData = renderFile(
      "vm",
      "cloud-init/user-data.yaml",
      resolved.apply((r) => r.userData),
    );

    this.instance = new gcp.compute.Instance(
      `${name}-vm`,
      {
        name: physicalName(args.prefix, "vm"),
        zone: args.zone,
        machineType: args.machineType,
        description: "Course Organizer single-VM platform (docker compose)",
        bootDisk: {
          autoDelete: true,
          // No labels here: the boot disk's initializeParams are immutable, and the `stage` label changes with every
          // stage move (a replaced VM). The instance carries the labels.
          initializeParams: { image: VM_IMAGE, size: args.bootDiskGb, type: "pd-balanced" },
        },
        attachedDisks: [{ source: this.dataDisk.id, deviceName: DATA_DEVICE_NAME, mode: "READ_WRITE" }],
        networkInterfaces: [{ network: args.network, subnetwork: args.subnetwork, accessConfigs: [{ natIp: this.staticIp.address, networkTier: "PREMIUM" }] }],
        // The cloud-platform scope lets IAM alone decide (Google's recommendation for custom service accounts):
        // the account itself holds only the narrow roles listed in VM_PROJECT_ROLES and per-resource grants.
        serviceAccount: { email: args.serviceAccountEmail, scopes: ["cloud-platform"] },
        shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
        metadata: {
          // OS Login: SSH users and keys come from IAM (roles/compute.osLogin), never from metadata keys.
          "enable-oslogin": "TRUE",
          "block-project-ssh-keys": "TRUE",
          // The OS Config agent (in Ubuntu's GCE images) applies the Ops Agent policy of components/monitoring.ts.
          "enable-osconfig": "TRUE",
          "user-data": this.userData,
        },
        // Firewall targets: 80/443 (web) and Jitsi's UDP 10000 / TCP 4443 (video).
        tags: [tags.web, tags.video],
        labels: args.labels,
        scheduling: { automaticRestart: true, onHostMaintenance: "MIGRATE", preemptible: false },
        deletionProtection: true,
        // A machine-type (or service-account) change stops the VM, applies and starts it: an update, not a replacement.
        allowStoppingForUpdate: true,
        desiredStatus: retired ? "TERMINATED" : "RUNNING",
      },
      // The first boot reads secrets, pulls images and (stage 2) copies media: those grants come first.
      statefulOptions(this, { dependsOn: [...(args.bootDependencies ?? []), ...bucketGrants] }),
    );

    if (behindLb) {
      this.instanceGroup = new gcp.compute.InstanceGroup(
        `${name}-group`,
        {
          name: physicalName(args.prefix, "vm-group"),
          zone: args.zone,
          network: args.network,
          description: "The Course Organizer VM as a load-balancer backend",
          instances: [this.instance.selfLink],
          namedPorts: [{ name: "http", port: 80 }],
        },
        { parent: this },
      );
    }

    if (retired) {
      // Taken after the VM has stopped (dependsOn the instance, whose update to TERMINATED comes first): a
      // consistent copy of PostgreSQL and media to migrate from or restore, kept after the disk is gone.
      this.finalSnapshot = new gcp.compute.Snapshot(
        `${name}-data-final`,
        {
          name: physicalName(args.prefix, "data-final"),
          sourceDisk: this.dataDisk.id,
          zone: args.zone,
          storageLocations: [args.region],
          description: "Final snapshot of the data disk after the VM stopped serving",
          labels: args.labels,
        },
        statefulOptions(this, { dependsOn: [this.instance] }),
      );
    }

    this.registerOutputs({
      address: this.address,
      instance: this.instance.selfLink,
      dataDisk: this.dataDisk.id,
      serviceAccountEmail: this.serviceAccountEmail,
    });
  }

  /** Daily snapshots of the data disk in its region, kept snapshotRetentionDays (and after the disk is gone). */
  private dailySnapshots(name: string, args: VmPlatformArgs, dataDisk: gcp.compute.Disk): gcp.compute.ResourcePolicy {
    const schedule = new gcp.compute.ResourcePolicy(
      `${name}-snapshots`,
      {
        name: physicalName(args.prefix, "data-daily"),
        region: args.region,
        description: `Daily snapshot of the data disk, kept ${args.snapshotRetentionDays} days`,
        snapshotSchedulePolicy: {
          schedule: { dailySchedule: { daysInCycle: 1, startTime: args.snapshotStartTime } },
          retentionPolicy: { maxRetentionDays: args.snapshotRetentionDays, onSourceDiskDelete: "KEEP_AUTO_SNAPSHOTS" },
          // Regional storage next to the disk: restores are fast and stay in the region.
          snapshotProperties: { labels: args.labels, storageLocations: args.region, guestFlush: false },
        },
      },
      { parent: this },
    );
    new gcp.compute.DiskResourcePolicyAttachment(`${name}-data-snapshots`, { disk: dataDisk.name, zone: args.zone, name: schedule.name }, { parent: this });
    return schedule;
  }
}

/** The VM bundle's options: names (secret ids, buckets) resolved, never values. */
function bundleOptions(
  args: VmPlatformArgs,
  secrets: VmSecret[],
  secretIds: string[],
  bucket: string | undefined,
  staticBucket: string | undefined,
): VmBundleOptions {
  return {
    project: args.project,
    domain: args.domain,
    meetDomain: args.meetDomain,
    acmeEmail: args.acmeEmail,
    // Behind the load balancer the LB terminates TLS; a retired VM keeps the config it last served with.
    tls: !(args.behindLoadBalancer ?? false),
    loadBalancerRanges: args.loadBalancerRanges,
    images: args.images,
    backendReplicas: args.backendReplicas,
    gunicornWorkers: args.gunicornWorkers,
    gunicornThreads: args.gunicornThreads,
    redis: args.redis,
    databaseIndexes: args.databaseIndexes,
    secrets: secrets.map((s, i) => ({ env: s.env, secretId: secretIds[i]! })),
    cdnSigningKeyName: args.cdnSigningKey?.keyName,
    registryHosts: args.registryHosts,
    mediaBucket: bucket,
    staticBucket,
    publicMedia: args.publicMedia,
    sentryDsn: args.sentryDsn,
    copyMedia: args.copyMediaToBucket ?? true,
    staticCacheDays: args.staticCacheDays,
    mediaCacheDays: args.mediaCacheDays,
    monitoringFiles: args.monitoringFiles,
    postgresMigrationSource: args.postgresMigrationSource,
    backup: args.backup,
  };
}
