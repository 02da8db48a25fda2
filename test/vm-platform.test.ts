/**
 * The single-VM platform (stages 1-2, retired at 3) as the engine sees it: exact resources, inputs and options per
 * stage, the stage 1 -> 2 -> 3 moves as updates of the same VM, disk and IP, and no secret value anywhere the VM
 * can read it without its service account (metadata, rendered files).
 */
import { describe, expect, it } from "vitest";
import { get, ofType, plan } from "./helpers/plan";
import { diffPlans, gcpFacts, normPath } from "../src/plan/diff";
import { SECRET_MARK, type Plan, type PlannedResource } from "../src/plan/engine";
import { ConfigError, parseConfig } from "../src/config/load";

const T = {
  instance: "gcp:compute/instance:Instance",
  disk: "gcp:compute/disk:Disk",
  address: "gcp:compute/address:Address",
  policy: "gcp:compute/resourcePolicy:ResourcePolicy",
  attachment: "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment",
  group: "gcp:compute/instanceGroup:InstanceGroup",
  snapshot: "gcp:compute/snapshot:Snapshot",
  secret: "gcp:secretmanager/secret:Secret",
  secretVersion: "gcp:secretmanager/secretVersion:SecretVersion",
  secretIam: "gcp:secretmanager/secretIamMember:SecretIamMember",
  password: "random:index/randomPassword:RandomPassword",
  account: "gcp:serviceaccount/account:Account",
  projectIam: "gcp:projects/iAMMember:IAMMember",
  repo: "gcp:artifactregistry/repository:Repository",
  repoIam: "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
};
const VM_EMAIL = "co-vm-sa@course-organizer-demo.iam.gserviceaccount.com";
const SECRET_NAMES = [
  "vm-db-password",
  "django-secret-key",
  "jitsi-jicofo-password",
  "jitsi-jvb-password",
  "grafana-admin-password",
  "vm-redis-password",
  "vm-backup-cipher-pass",
];
const labels = (stage: number) => ({ app: "course-organizer", component: "vm", stage: String(stage), "managed-by": "pulumi" });
/** Resources of this part of the platform (the VM, its identity, its secrets, the registry). */
const mine = (name: string) => name.startsWith("vm-") || name.startsWith("artifact-registry") || SECRET_NAMES.some((n) => name.startsWith(n));
const vmUrn = (stack: string) => `urn:pulumi:${stack}::course-organizer::course-organizer:vm:VmPlatform::vm`;

function stateful(r: PlannedResource): void {
  expect({ name: r.name, protect: r.protect, retainOnDelete: r.retainOnDelete }).toEqual({ name: r.name, protect: true, retainOnDelete: true });
}

/** The mock values of every generated secret (what SecretVersion stores), read from the plan. */
function secretValues(p: Plan): string[] {
  return ofType(p, T.secretVersion).map((v) => {
    const data = v.inputs.secretData as Record<string, string>;
    expect(Object.keys(data)).toEqual([SECRET_MARK]);
    return data[SECRET_MARK]!;
  });
}

describe("stage 1: one e2-standard-2 VM with a separate data disk", () => {
  it("creates the instance with Shielded VM, OS Login, in-place resizes, the static IP and the narrow account", async () => {
    const p = await plan("stage1");
    const vm = get(p, T.instance, "vm-vm");
    const ip = get(p, T.address, "vm-ip");
    const disk = get(p, T.disk, "vm-data");
    expect(vm.parent).toBe(vmUrn("stage1"));
    stateful(vm);
    const { metadata, networkInterfaces, attachedDisks, ...rest } = vm.inputs as Record<string, any>;
    expect(rest).toEqual({
      name: "co-vm",
      zone: "us-central1-b",
      machineType: "e2-standard-2",
      description: "Course Organizer single-VM platform (docker compose)",
      bootDisk: { autoDelete: true, initializeParams: { image: "ubuntu-os-cloud/ubuntu-2404-lts-amd64", size: 30, type: "pd-balanced" } },
      serviceAccount: { email: VM_EMAIL, scopes: ["cloud-platform"] },
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      tags: ["co-web", "co-video"],
      labels: labels(1),
      scheduling: { automaticRestart: true, onHostMaintenance: "MIGRATE", preemptible: false },
      deletionProtection: true,
      allowStoppingForUpdate: true,
      desiredStatus: "RUNNING",
    });
    expect(Object.keys(metadata).sort()).toEqual(["block-project-ssh-keys", "enable-oslogin", "enable-osconfig", "user-data"].sort());
    expect(metadata["enable-osconfig"]).toBe("TRUE");
    expect(metadata["enable-oslogin"]).toBe("TRUE");
    expect(metadata["block-project-ssh-keys"]).toBe("TRUE");
    expect(metadata["user-data"]).toMatch(/^#cloud-config\n/);
    expect(attachedDisks).toEqual([{ source: "projects/course-organizer-demo/zones/us-central1-b/disks/co-data", deviceName: "data", mode: "READ_WRITE" }]);
    expect(networkInterfaces).toEqual([
      {
        network: "projects/course-organizer-demo/global/networks/co-vpc",
        subnetwork: "projects/course-organizer-demo/regions/us-central1/subnetworks/co-subnet-us-central1",
        accessConfigs: [{ natIp: p.outputs.vmIp, networkTier: "PREMIUM" }],
      },
    ]);
    expect(p.outputs.vmIp).toMatch(/^34\.120\.\d+\.\d+$/);
    expect(vm.dependencies).toEqual(expect.arrayContaining([ip.urn, disk.urn]));
  });

  it("makes the first boot wait for the secrets' grants and the registry grant", async () => {
    const p = await plan("stage1");
    const vm = get(p, T.instance, "vm-vm");
    for (const n of SECRET_NAMES) {
      expect(vm.dependencies).toContain(get(p, T.secretIam, `${n}-accessor-0`).urn);
      expect(vm.dependencies).toContain(get(p, T.secretVersion, `${n}-version`).urn);
    }
    expect(vm.dependencies).toContain(get(p, T.repoIam, "artifact-registry-reader-0").urn);
  });

  it("keeps data on a protected 50 GB pd-ssd with daily snapshots kept 7 days", async () => {
    const p = await plan("stage1");
    const disk = get(p, T.disk, "vm-data");
    stateful(disk);
    expect(disk.inputs).toEqual({
      name: "co-data",
      zone: "us-central1-b",
      type: "pd-ssd",
      size: 50,
      physicalBlockSizeBytes: 4096,
      description: "Course Organizer data: PostgreSQL, Redis, media, monitoring",
      labels: labels(1),
    });
    const policy = get(p, T.policy, "vm-snapshots");
    expect(policy.inputs).toEqual({
      name: "co-data-daily",
      region: "us-central1",
      description: "Daily snapshot of the data disk, kept 7 days",
      snapshotSchedulePolicy: {
        schedule: { dailySchedule: { daysInCycle: 1, startTime: "03:00" } },
        retentionPolicy: { maxRetentionDays: 7, onSourceDiskDelete: "KEEP_AUTO_SNAPSHOTS" },
        snapshotProperties: { labels: labels(1), storageLocations: "us-central1", guestFlush: false },
      },
    });
    const att = get(p, T.attachment, "vm-data-snapshots");
    expect(att.inputs).toEqual({ disk: "co-data", zone: "us-central1-b", name: "co-data-daily" });
    expect(att.dependencies).toEqual(expect.arrayContaining([disk.urn, policy.urn]));
  });

  it("reserves a protected regional static external IP", async () => {
    const p = await plan("stage1");
    const ip = get(p, T.address, "vm-ip");
    stateful(ip);
    expect(ip.inputs).toEqual({
      name: "co-vm-ip",
      region: "us-central1",
      addressType: "EXTERNAL",
      networkTier: "PREMIUM",
      description: "Static external IP of the Course Organizer VM (DNS points here; Jitsi media goes here)",
      labels: labels(1),
    });
  });

  it("has no instance group, no final snapshot and no media grant at stage 1", async () => {
    const p = await plan("stage1");
    expect(ofType(p, T.group)).toEqual([]);
    expect(ofType(p, T.snapshot)).toEqual([]);
    // The VM's only bucket grant at stage 1 is on its backup bucket (test/backup-bucket.test.ts).
    expect(
      ofType(p, "gcp:storage/bucketIAMMember:BucketIAMMember")
        .filter((r) => r.name.startsWith("vm-"))
        .map((r) => r.name),
    ).toEqual(["vm-backups-writer-0"]);
  });

  it("runs as a dedicated account with two project roles; everything else is granted per resource", async () => {
    const p = await plan("stage1");
    const sa = get(p, T.account, "vm-identity-sa");
    expect(sa.inputs.accountId).toBe("co-vm-sa");
    const roles = ofType(p, T.projectIam)
      .filter((r) => (r.inputs.member as string) === `serviceAccount:${VM_EMAIL}`)
      .map((r) => r.inputs.role)
      .sort();
    expect(roles).toEqual(["roles/logging.logWriter", "roles/monitoring.metricWriter"]);
    const reader = get(p, T.repoIam, "artifact-registry-reader-0");
    expect(reader.inputs).toEqual({
      project: "course-organizer-demo",
      location: "us-central1",
      repository: "co-images",
      role: "roles/artifactregistry.reader",
      member: `serviceAccount:${VM_EMAIL}`,
    });
  });

  it("generates six secrets in Secret Manager, each readable by the VM's account only", async () => {
    const p = await plan("stage1");
    for (const n of SECRET_NAMES) {
      const s = get(p, T.secret, `${n}-secret`);
      stateful(s);
      expect(s.inputs).toEqual({
        secretId: `co-${n}`,
        labels: { app: "course-organizer", component: "secrets", stage: "1", "managed-by": "pulumi" },
        replication: { auto: {} },
        deletionProtection: true,
      });
      stateful(get(p, T.password, `${n}-value`));
      stateful(get(p, T.secretVersion, `${n}-version`));
      const grants = ofType(p, T.secretIam).filter((g) => g.name.startsWith(`${n}-accessor-`));
      expect(grants.map((g) => g.inputs)).toEqual([
        { secretId: `projects/course-organizer-demo/secrets/co-${n}`, role: "roles/secretmanager.secretAccessor", member: `serviceAccount:${VM_EMAIL}` },
      ]);
    }
    expect(get(p, T.password, "django-secret-key-value").inputs).toMatchObject({ length: 50, special: false });
    expect(get(p, T.password, "vm-db-password-value").inputs).toMatchObject({ length: 32, special: false });
  });

  it("keeps images in a protected Docker repository with cleanup policies", async () => {
    const p = await plan("stage1");
    const repo = get(p, T.repo, "artifact-registry-repo");
    stateful(repo);
    expect(repo.inputs).toEqual({
      project: "course-organizer-demo",
      repositoryId: "co-images",
      location: "us-central1",
      format: "DOCKER",
      mode: "STANDARD_REPOSITORY",
      description: "Course Organizer container images",
      labels: { app: "course-organizer", component: "artifact-registry", stage: "1", "managed-by": "pulumi" },
      dockerConfig: { immutableTags: true },
      cleanupPolicyDryRun: false,
      cleanupPolicies: [
        { id: "keep-recent", action: "KEEP", mostRecentVersions: { keepCount: 10 } },
        { id: "delete-untagged", action: "DELETE", condition: { tagState: "UNTAGGED", olderThan: "2592000s" } },
      ],
    });
    expect(p.outputs.registryUrl).toBe("us-central1-docker.pkg.dev/course-organizer-demo/co-images");
  });

  it("puts no secret value in the instance metadata or in any rendered file", async () => {
    for (const stack of ["stage1", "stage2", "stage3"]) {
      const p = await plan(stack, { withFiles: true });
      const values = secretValues(p);
      // Every secret of the stack (the VM's six, and at stage 3 also the database's and the app's).
      expect(values.length).toBeGreaterThanOrEqual(6);
      for (const v of values) expect(v.length).toBeGreaterThanOrEqual(12);
      const metadata = JSON.stringify(get(p, T.instance, "vm-vm").inputs.metadata);
      const vmFiles = (p.files ?? []).filter((f) => f.role === "vm");
      expect(vmFiles.length).toBeGreaterThan(15);
      for (const v of values) {
        expect(metadata.includes(v), `${stack}: a secret value is in the metadata`).toBe(false);
        for (const f of vmFiles) expect(f.content.includes(v), `${stack}: a secret value is in ${f.path}`).toBe(false);
      }
      // The names the VM fetches are there instead.
      expect(metadata).toContain("gcloud secrets versions access latest");
      expect(metadata).toContain("co-django-secret-key");
    }
  });
});

describe("stage 2: the same VM resized, behind the load balancer", () => {
  it("runs n2-standard-4 and joins an unmanaged instance group with the named port http:80", async () => {
    const p = await plan("stage2");
    const vm = get(p, T.instance, "vm-vm");
    expect(vm.inputs.machineType).toBe("n2-standard-4");
    expect(vm.inputs.labels).toEqual(labels(2));
    expect(vm.inputs.allowStoppingForUpdate).toBe(true);
    expect(vm.inputs.desiredStatus).toBe("RUNNING");
    const group = get(p, T.group, "vm-group");
    expect(group.parent).toBe(vmUrn("stage2"));
    expect(group.inputs).toEqual({
      name: "co-vm-group",
      zone: "us-central1-b",
      network: "projects/course-organizer-demo/global/networks/co-vpc",
      description: "The Course Organizer VM as a load-balancer backend",
      instances: ["https://www.googleapis.com/compute/v1/projects/course-organizer-demo/zones/us-central1-b/instances/co-vm"],
      namedPorts: [{ name: "http", port: 80 }],
    });
    expect(get(p, T.disk, "vm-data").inputs).toMatchObject({ type: "pd-ssd", size: 50 });
  });

  it("lets the VM's account write the media bucket only (never the public static bucket), before the VM uses it", async () => {
    const p = await plan("stage2");
    const vm = get(p, T.instance, "vm-vm");
    expect(
      ofType(p, "gcp:storage/bucketIAMMember:BucketIAMMember")
        .filter((g) => g.inputs.member === `serviceAccount:${VM_EMAIL}`)
        .map((g) => g.name)
        .sort(),
    ).toEqual([
      // pgBackRest's repository (components/backup-bucket.ts), and the media bucket.
      "vm-backups-writer-0",
      "vm-media-writer",
    ]);
    for (const role of ["media"]) {
      const g = get(p, "gcp:storage/bucketIAMMember:BucketIAMMember", `vm-${role}-writer`);
      expect(g.parent).toBe(vmUrn("stage2"));
      expect(g.inputs).toEqual({ bucket: `course-organizer-demo-co-${role}`, role: "roles/storage.objectAdmin", member: `serviceAccount:${VM_EMAIL}` });
      expect(vm.dependencies).toContain(g.urn);
    }
    // The bucket names are the media section's buckets.
    expect(get(p, "gcp:storage/bucket:Bucket", "media-media").inputs.name).toBe("course-organizer-demo-co-media");
    expect(get(p, "gcp:storage/bucket:Bucket", "media-static").inputs.name).toBe("course-organizer-demo-co-static");
  });

  it("moves from stage 1 by updating the VM, disk and IP in place, never replacing them", async () => {
    const from = await plan("stage2", { configStack: "stage1" });
    const to = await plan("stage2");
    const d = diffPlans(from, to, "stage1");
    const names = ["vm-vm", "vm-data", "vm-ip"];
    expect(d.replaces.map((r) => r.name).filter(mine)).toEqual([]);
    expect(d.deletes.map((r) => r.name).filter(mine)).toEqual([]);
    // Stage 2 adds the instance group and the account's grant on the media bucket.
    expect(
      d.creates
        .map((r) => r.name)
        .filter((n) => n.startsWith("vm-"))
        .sort(),
    ).toEqual(["vm-group", "vm-media-writer"]);
    const byName = Object.fromEntries(d.updates.map((u) => [u.name, u]));
    expect(byName["vm-vm"]!.paths.sort()).toEqual(["labels.stage", "machineType", "metadata.user-data"]);
    expect(byName["vm-data"]!.paths).toEqual(["labels.stage"]);
    expect(byName["vm-ip"]!.paths).toEqual(["labels.stage"]);
    for (const n of names) expect(byName[n]!.replacePaths).toEqual([]);
    // Against Google's definitions directly: no changed path is one of the instance's or disk's immutable fields.
    for (const [n, type] of [
      ["vm-vm", T.instance],
      ["vm-data", T.disk],
    ] as const) {
      const immutable = gcpFacts()[type]!.immutable.map(normPath);
      for (const path of byName[n]!.paths) {
        expect(
          immutable.some((f) => normPath(path) === f || normPath(path).startsWith(`${f}.`)),
          `${n}.${path}`,
        ).toBe(false);
      }
    }
    // Same URNs: the VM, disk and IP are matched, not created.
    for (const n of names) expect(to.resources.find((r) => r.name === n)!.urn).toBe(from.resources.find((r) => r.name === n)!.urn);
  });
});

describe("stage 3: the VM retires (stopped, out of the load balancer, final snapshot)", () => {
  it("stops the instance, drops the instance group and snapshots the data disk once more", async () => {
    const p = await plan("stage3");
    const vm = get(p, T.instance, "vm-vm");
    expect(vm.inputs.desiredStatus).toBe("TERMINATED");
    stateful(vm);
    expect(ofType(p, T.group)).toEqual([]);
    const snap = get(p, T.snapshot, "vm-data-final");
    stateful(snap);
    expect(snap.inputs).toEqual({
      name: "co-data-final",
      sourceDisk: "projects/course-organizer-demo/zones/us-central1-b/disks/co-data",
      zone: "us-central1-b",
      storageLocations: ["us-central1"],
      description: "Final snapshot of the data disk after the VM stopped serving",
      labels: labels(3),
    });
    // After the VM has stopped: a consistent copy.
    expect(snap.dependencies).toContain(vm.urn);
  });

  it("moves from stage 2 as updates of the VM (desiredStatus), the disk and the IP", async () => {
    const from = await plan("stage3", { configStack: "stage2" });
    const to = await plan("stage3");
    const d = diffPlans(from, to, "stage2");
    expect(d.replaces.map((r) => r.name).filter(mine)).toEqual([]);
    expect(d.deletes.map((r) => r.name).filter(mine)).toEqual(["vm-group"]);
    const vm = d.updates.find((u) => u.name === "vm-vm")!;
    expect(vm.paths.sort()).toEqual(["desiredStatus", "labels.stage"]);
    expect(d.creates.map((r) => r.name)).toContain("vm-data-final");
  });

  it("stage 4 has no VM; the secrets stay, with no accessor", async () => {
    const p = await plan("stage4");
    expect(p.resources.filter((r) => r.name.startsWith("vm-") && !SECRET_NAMES.some((n) => r.name.startsWith(n))).map((r) => r.name)).toEqual([]);
    expect(p.resources.filter((r) => r.type === "course-organizer:vm:VmPlatform")).toEqual([]);
    for (const n of SECRET_NAMES) {
      get(p, T.secret, `${n}-secret`);
      expect(ofType(p, T.secretIam).filter((g) => g.name.startsWith(`${n}-accessor-`))).toEqual([]);
    }
    expect(ofType(p, T.repoIam).filter((r) => r.name.startsWith("artifact-registry-reader"))).toEqual([]);
  });
});

describe("argument checks", () => {
  it("refuses a snapshot start that is not a whole hour, naming the key (GCP schedules start on HH:00)", () => {
    const raw = {
      "gcp:project": "course-organizer-demo",
      "gcp:region": "us-central1",
      "course-organizer:domain": "courses.example.org",
      "course-organizer:stage": "1",
      "course-organizer:vm": JSON.stringify({ snapshotStartTime: "03:30" }),
    };
    let problems: string[] = [];
    try {
      parseConfig(raw);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems = e.problems;
    }
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("course-organizer:vm.snapshotStartTime");
    expect(problems[0]).toContain("a whole UTC hour HH:00");
  });

  it("keeps 14 days of snapshots when asked", async () => {
    const p = await plan("stage1", { sets: ["vm.snapshotRetentionDays=14", "vm.snapshotStartTime=22:00"] });
    expect((get(p, T.policy, "vm-snapshots").inputs.snapshotSchedulePolicy as any).retentionPolicy.maxRetentionDays).toBe(14);
    expect((get(p, T.policy, "vm-snapshots").inputs.snapshotSchedulePolicy as any).schedule.dailySchedule.startTime).toBe("22:00");
  });
});

describe("preview mode", () => {
  it("plans stages 1-3 with unknown computed outputs and the same VM resources", async () => {
    for (const stack of ["stage1", "stage2", "stage3"]) {
      const p = await plan(stack, { preview: true });
      const vm = get(p, T.instance, "vm-vm");
      // The static IP is unknown before it exists; the user-data is built from names only, so it is known.
      expect((vm.inputs.networkInterfaces as any)[0].accessConfigs[0].natIp).toBe("[unknown]");
      expect((vm.inputs.metadata as any)["user-data"]).toMatch(/^#cloud-config\n/);
      get(p, T.disk, "vm-data");
      get(p, T.address, "vm-ip");
    }
  });
});
