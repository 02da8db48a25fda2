/**
 * Jitsi from stage 3 on: the signaling VM (web, Prosody, Jicofo) and a Videobridge pool per region (seed "Dedicated
 * Jitsi Infrastructure", "Jitsi Scaling"): exact inputs, no load balancer in front of the bridges, the files through
 * cloud-init, docker-compose and shellcheck, the drain script against a stub bridge and the graceful-shutdown watch
 * against a stub metadata server on loopback (18213-18215).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { file, get, ofType, plan } from "./helpers/plan";
import { SECRET_MARK } from "../src/plan/engine";
import { drainScript, shutdownWatchScript } from "../src/files/jitsi";

const T = {
  instance: "gcp:compute/instance:Instance",
  address: "gcp:compute/address:Address",
  firewall: "gcp:compute/firewall:Firewall",
  template: "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
  group: "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager",
  autoscaler: "gcp:compute/regionAutoscaler:RegionAutoscaler",
  health: "gcp:compute/healthCheck:HealthCheck",
  secretIam: "gcp:secretmanager/secretIamMember:SecretIamMember",
  backend: "gcp:compute/backendService:BackendService",
  bridges: "course-organizer:video:VideoBridgePool",
  signaling: "course-organizer:video:JitsiSignaling",
};
const P = "course-organizer-demo";
const NET = `projects/${P}/global/networks/co-vpc`;
const subnet = (r: string) => `projects/${P}/regions/${r}/subnetworks/co-subnet-${r}`;
const labels = (component: string, stage = 3) => ({ app: "course-organizer", component, stage: String(stage), "managed-by": "pulumi" });
const PORTS = { bridge: 18213, absent: 18214, metadata: 18215 };

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "video-"));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string) {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, cwd, timeout: 60_000 });
  if (r.error) throw r.error; // a missing tool is a failure, never a skip
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("stage 3: the signaling VM", () => {
  it("one Shielded VM with its own account, a protected static IP for the meet domain and a reserved internal IP", async () => {
    const p = await plan("stage3");
    const vm = get(p, T.instance, "jitsi-signaling-vm");
    const { metadata, networkInterfaces, ...rest } = vm.inputs as Record<string, any>;
    expect(rest).toEqual({
      name: "co-jitsi-signaling",
      zone: "us-central1-b",
      machineType: "e2-standard-4",
      description: "Course Organizer Jitsi signaling: web, Prosody, Jicofo (docker compose)",
      bootDisk: { autoDelete: true, initializeParams: { image: "ubuntu-os-cloud/ubuntu-2404-lts-amd64", size: 30, type: "pd-balanced" } },
      serviceAccount: { email: `co-jitsi-signaling@${P}.iam.gserviceaccount.com`, scopes: ["cloud-platform"] },
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      tags: ["co-signaling"],
      labels: labels("jitsi-signaling"),
      scheduling: { automaticRestart: true, onHostMaintenance: "MIGRATE", preemptible: false },
      allowStoppingForUpdate: true,
    });
    expect(Object.keys(metadata).sort()).toEqual(["block-project-ssh-keys", "enable-oslogin", "user-data"]);
    expect(networkInterfaces).toEqual([
      {
        network: NET,
        subnetwork: subnet("us-central1"),
        networkIp: p.outputs.jitsiSignalingInternalIp,
        accessConfigs: [{ natIp: p.outputs.meetIp, networkTier: "PREMIUM" }],
      },
    ]);
    for (const [name, type] of [
      ["jitsi-signaling-ip", "EXTERNAL"],
      ["jitsi-signaling-internal-ip", "INTERNAL"],
    ] as const) {
      const a = get(p, T.address, name);
      expect([a.inputs.addressType, a.protect, a.retainOnDelete]).toEqual([type, true, true]);
    }
    expect(get(p, T.firewall, "jitsi-signaling-fw-https").inputs).toEqual({
      name: "co-allow-meet-https",
      network: NET,
      direction: "INGRESS",
      description: "Jitsi front end: HTTPS (and HTTP for Let's Encrypt and the redirect) from the internet",
      allows: [{ protocol: "tcp", ports: ["80", "443"] }],
      sourceRanges: ["0.0.0.0/0"],
      targetTags: ["co-signaling"],
    });
    const member = `serviceAccount:co-jitsi-signaling@${P}.iam.gserviceaccount.com`;
    expect(
      ofType(p, T.secretIam)
        .filter((r) => r.inputs.member === member)
        .map((r) => r.inputs.secretId),
    ).toEqual(["co-jitsi-jicofo-password", "co-jitsi-jvb-password", "co-jitsi-jwt-secret"]);
  });
});

describe("stage 3: the Videobridge pool", () => {
  it("template: n2-highcpu-8, an ephemeral external IP each, the video tag, drain on shutdown", async () => {
    const p = await plan("stage3", { withFiles: true });
    const t = get(p, T.template, "video-bridges-us-central1-pool-template");
    const { metadata, ...rest } = t.inputs as Record<string, any>;
    expect(rest).toEqual({
      namePrefix: "co-jvb-us-central1-",
      region: "us-central1",
      description: "Jitsi Videobridges (us-central1)",
      machineType: "n2-highcpu-8",
      disks: [{ boot: true, autoDelete: true, sourceImage: "ubuntu-os-cloud/ubuntu-2404-lts-amd64", diskSizeGb: 30, diskType: "pd-balanced" }],
      // An empty access config: one ephemeral external IP per bridge, advertised to clients.
      networkInterfaces: [{ network: NET, subnetwork: subnet("us-central1"), accessConfigs: [{ networkTier: "PREMIUM" }] }],
      serviceAccount: { email: `co-jvb-us-central1-pool@${P}.iam.gserviceaccount.com`, scopes: ["cloud-platform"] },
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      tags: ["co-video"],
      labels: labels("video-bridges"),
      // GCE waits up to the drain window (1800 s) plus a minute for the shutdown script.
      scheduling: {
        automaticRestart: true,
        onHostMaintenance: "MIGRATE",
        preemptible: false,
        gracefulShutdown: { enabled: true, maxDuration: { seconds: 1860 } },
      },
    });
    expect(Object.keys(metadata).sort()).toEqual(["block-project-ssh-keys", "enable-oslogin", "shutdown-script", "user-data"]);
    expect(metadata["shutdown-script"]).toBe(file(p, "video-bridges-us-central1", "shutdown-script.sh"));
    expect(metadata["shutdown-script"]).toContain("DRAIN_SECONDS=1800\n");
    expect(metadata["user-data"]).toBe(file(p, "video-bridges-us-central1", "cloud-init/user-data.yaml"));
  });

  it("group: three zones, EVEN, auto-healing on /about/health; autoscaler 3-6 bridges on CPU 70 %, one removed per drain window", async () => {
    const p = await plan("stage3");
    const m = get(p, T.group, "video-bridges-us-central1-pool-group");
    expect(m.inputs).toMatchObject({
      name: "co-jvb-us-central1-group",
      distributionPolicyZones: ["us-central1-a", "us-central1-b", "us-central1-c"],
      distributionPolicyTargetShape: "EVEN",
      namedPorts: [],
      autoHealingPolicies: { healthCheck: `projects/${P}/global/healthChecks/co-jvb-us-central1-health`, initialDelaySec: 600 },
      updatePolicy: { type: "PROACTIVE", replacementMethod: "SUBSTITUTE", maxSurgeFixed: 3, maxUnavailableFixed: 0 },
    });
    // Deleting the group waits for every bridge's 1860 s graceful shutdown: 31 min + the provider's 15 min default.
    expect(m.customTimeouts).toEqual({ create: undefined, update: undefined, delete: "46m" });
    expect(get(p, T.health, "video-bridges-us-central1-pool-health").inputs.httpHealthCheck).toEqual({
      port: 8080,
      requestPath: "/about/health",
      portSpecification: "USE_FIXED_PORT",
    });
    expect(get(p, T.firewall, "video-bridges-us-central1-fw-health").inputs).toMatchObject({
      allows: [{ protocol: "tcp", ports: ["8080"] }],
      sourceRanges: ["130.211.0.0/22", "35.191.0.0/16"],
      targetTags: ["co-video"],
    });
    expect(get(p, T.autoscaler, "video-bridges-us-central1-pool-autoscaler").inputs.autoscalingPolicy).toEqual({
      mode: "ON",
      minReplicas: 3,
      maxReplicas: 6,
      cooldownPeriod: 600, // a bridge boots in about 10 minutes (src/config/boot-times.ts)
      cpuUtilization: { target: 0.7 },
      metrics: [],
      scaleInControl: { maxScaledInReplicas: { fixed: 1 }, timeWindowSec: 1800 },
    });
  });

  it("no load balancer in front of the bridges: no backend service names a bridge group", async () => {
    const p = await plan("stage3");
    expect(ofType(p, T.backend).length).toBeGreaterThan(0);
    for (const b of ofType(p, T.backend)) expect(JSON.stringify(b.inputs)).not.toContain("jvb");
  });

  it("bridges join the brewery at the signaling VM's internal IP and advertise their own public IP", async () => {
    const p = await plan("stage3", { withFiles: true });
    const jvb = parse(file(p, "video-bridges-us-central1", "docker-compose.yml")).services.jvb;
    // A drained bridge exits 0 and stays down; host network for the media port.
    expect([jvb.restart, jvb.network_mode]).toEqual(["on-failure", "host"]);
    const env = jvb.environment;
    expect(env).toMatchObject({
      XMPP_SERVER: p.outputs.jitsiSignalingInternalIp,
      XMPP_PORT: "5222",
      JVB_BREWERY_MUC: "jvbbrewery",
      JVB_PORT: "10000",
      JVB_ADVERTISE_IPS: expect.stringMatching(/^\$\{VM_PUBLIC_IP:\?/),
      JVB_WS_SERVER_ID: expect.stringMatching(/^\$\{VM_INTERNAL_IP:\?/),
      JVB_WS_DOMAIN: "meet.courses.example.org",
      JVB_OCTO_REGION: "us-central1",
      SHUTDOWN_REST_ENABLED: "true",
    });
    expect(env.ENABLE_OCTO).toBeUndefined();
    const sig = parse(file(p, "jitsi-signaling", "docker-compose.yml")).services;
    expect(sig.prosody.ports).toEqual([expect.stringMatching(/^\$\{VM_INTERNAL_IP:\?.*\}:5222:5222$/)]);
    expect(sig.jicofo.environment).toMatchObject({ JVB_BREWERY_MUC: "jvbbrewery", MAX_BRIDGE_PARTICIPANTS: "500" });
    expect(sig.web.environment).toMatchObject({ LETSENCRYPT_DOMAIN: "meet.courses.example.org", ENABLE_LETSENCRYPT: "1" });
    expect(file(p, "video-bridges-us-central1", "bin/fetch-secrets.sh")).toContain("fetch 'JVB_AUTH_PASSWORD' 'co-jitsi-jvb-password'");
  });

  it("plans in preview mode (the signaling IP unknown)", async () => {
    const p = await plan("stage3", { preview: true });
    expect(ofType(p, T.bridges).map((r) => r.name)).toEqual(["video-bridges-us-central1"]);
    expect(ofType(p, T.signaling).map((r) => r.name)).toEqual(["jitsi-signaling"]);
    expect(get(p, T.template, "video-bridges-us-central1-pool-template").inputs.machineType).toBe("n2-highcpu-8");
  });

  it.each(["stage1", "stage2"])("%s runs Jitsi on the VM: no signaling VM, no bridge pool", async (stack) => {
    const p = await plan(stack);
    expect(ofType(p, T.bridges)).toEqual([]);
    expect(ofType(p, T.signaling)).toEqual([]);
  });
});

describe("stage 4: a cascaded pool per region", () => {
  it("one pool per region with the same component name as at stage 3, relay on, region-based selection", async () => {
    const [p3, p4] = [await plan("stage3"), await plan("stage4", { withFiles: true })];
    expect(ofType(p4, T.bridges).map((r) => r.name)).toEqual(["video-bridges-us-central1", "video-bridges-europe-west1"]);
    expect(get(p4, T.bridges, "video-bridges-us-central1").urn).toBe(get(p3, T.bridges, "video-bridges-us-central1").urn.replace("stage3", "stage4"));
    const eu = get(p4, T.group, "video-bridges-europe-west1-pool-group");
    expect(eu.inputs.distributionPolicyZones).toEqual(["europe-west1-b", "europe-west1-c", "europe-west1-d"]);
    expect(get(p4, T.template, "video-bridges-europe-west1-pool-template").inputs.networkInterfaces).toEqual([
      { network: NET, subnetwork: subnet("europe-west1"), accessConfigs: [{ networkTier: "PREMIUM" }] },
    ]);
    expect((get(p4, T.autoscaler, "video-bridges-europe-west1-pool-autoscaler").inputs.autoscalingPolicy as Record<string, unknown>).maxReplicas).toBe(8);
    for (const region of ["us-central1", "europe-west1"]) {
      const env = parse(file(p4, `video-bridges-${region}`, "docker-compose.yml")).services.jvb.environment;
      expect(env).toMatchObject({ ENABLE_OCTO: "1", JVB_OCTO_REGION: region, XMPP_SERVER: p4.outputs.jitsiSignalingInternalIp });
    }
    expect(parse(file(p4, "jitsi-signaling", "docker-compose.yml")).services.jicofo.environment).toMatchObject({
      ENABLE_OCTO: "1",
      OCTO_BRIDGE_SELECTION_STRATEGY: "RegionBasedBridgeSelectionStrategy",
    });
  });
});

describe("a third region by config alone", () => {
  it("secondaryRegions with asia-east1 adds its own bridge pool over that region's zones and subnet", async () => {
    // The third region's pods need more database connections than the preset's 500 allow (test/gke.test.ts THREE).
    const p = await plan("stage4", { sets: ['secondaryRegions=["europe-west1","asia-east1"]', "database.maxConnections=600"] });
    expect(ofType(p, T.bridges).map((r) => r.name)).toEqual(["video-bridges-us-central1", "video-bridges-europe-west1", "video-bridges-asia-east1"]);
    expect(get(p, T.group, "video-bridges-asia-east1-pool-group").inputs).toMatchObject({
      name: "co-jvb-asia-east1-group",
      region: "asia-east1",
      distributionPolicyZones: ["asia-east1-a", "asia-east1-b", "asia-east1-c"],
    });
    expect(get(p, T.template, "video-bridges-asia-east1-pool-template").inputs).toMatchObject({
      namePrefix: "co-jvb-asia-east1-",
      networkInterfaces: [{ network: NET, subnetwork: subnet("asia-east1"), accessConfigs: [{ networkTier: "PREMIUM" }] }],
    });
  });
});

describe.each([
  ["stage3", ["jitsi-signaling", "video-bridges-us-central1"]],
  ["stage4", ["jitsi-signaling", "video-bridges-us-central1", "video-bridges-europe-west1"]],
] as const)("%s Jitsi files pass their real tools", (stack, roles) => {
  it.each(roles)("%s: cloud-init schema, docker-compose config, shellcheck, systemd-analyze verify; no secret value", async (role) => {
    const p = await plan(stack, { withFiles: true });
    const root = join(dir, stack, role);
    const files = (p.files ?? []).filter((f) => f.role === role);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      mkdirSync(dirname(join(root, f.path)), { recursive: true });
      writeFileSync(join(root, f.path), f.content);
    }
    const ci = run("cloud-init", ["schema", "--config-file", join(root, "cloud-init/user-data.yaml")]);
    expect(ci.out).toContain("Valid cloud-config");
    const envs = { VM_PUBLIC_IP: "203.0.113.7", VM_INTERNAL_IP: "10.10.0.5", JICOFO_AUTH_PASSWORD: "a", JVB_AUTH_PASSWORD: "b", JITSI_JWT_APP_SECRET: "c" };
    const dc = run("docker-compose", ["-f", join(root, "docker-compose.yml"), "config", "-q"], envs, root);
    expect(dc.out).toBe("");
    expect(dc.status).toBe(0);
    expect(run("docker-compose", ["-f", join(root, "docker-compose.yml"), "config", "-q"], {}, root).status).not.toBe(0);
    const scripts = files.filter((f) => f.path.endsWith(".sh"));
    expect(scripts.length).toBeGreaterThanOrEqual(role === "jitsi-signaling" ? 1 : 4);
    for (const s of scripts) {
      const r = run("shellcheck", ["-S", "style", join(root, s.path)]);
      expect(r.out, s.path).toBe("");
    }
    const values = ofType(p, "gcp:secretmanager/secretVersion:SecretVersion").map((v) => (v.inputs.secretData as Record<string, string>)[SECRET_MARK]!);
    expect(values.length).toBeGreaterThan(5);
    for (const f of files) for (const v of values) expect(f.content.includes(v), `${role}/${f.path}`).toBe(false);
    // systemd-analyze verify, the machine's paths mapped into the temp dir (a stub docker).
    const unitDir = join(root, "verify-units");
    mkdirSync(unitDir, { recursive: true });
    const docker = join(root, "docker-stub");
    writeFileSync(docker, "#!/bin/sh\n");
    chmodSync(docker, 0o755);
    for (const f of scripts) chmodSync(join(root, f.path), 0o755);
    const units = files.filter((f) => f.path.startsWith("systemd/"));
    // Bridges also watch for GCE's graceful shutdown: the shutdown-script and ExecStop only run after its window.
    expect(units.map((u) => u.path).sort()).toEqual(
      role === "jitsi-signaling"
        ? ["systemd/co-jitsi.service", "systemd/co-secrets.service"]
        : ["systemd/co-drain-watch.service", "systemd/co-jitsi.service", "systemd/co-secrets.service"],
    );
    if (role !== "jitsi-signaling") {
      const userData = parse(file(p, role, "cloud-init/user-data.yaml"));
      expect(userData.runcmd.slice(-2)).toEqual([
        ["systemctl", "enable", "co-secrets.service", "co-jitsi.service", "co-drain-watch.service"],
        ["systemctl", "start", "co-jitsi.service", "co-drain-watch.service"],
      ]);
      expect(file(p, role, "systemd/co-drain-watch.service")).toContain("ExecStart=/opt/jitsi/bin/watch-shutdown.sh\n");
    }
    for (const u of units)
      writeFileSync(join(unitDir, u.path.slice(8)), u.content.replaceAll("/opt/jitsi/bin", join(root, "bin")).replaceAll("/usr/bin/docker", docker));
    writeFileSync(join(unitDir, "docker.service"), `[Unit]\nDescription=stub\n[Service]\nExecStart=${docker}\n`);
    const v = run("systemd-analyze", ["verify", "--man=no", ...units.map((u) => u.path.slice(8))], { SYSTEMD_UNIT_PATH: `${unitDir}:` });
    expect(v.out).toBe("");
    expect(v.status).toBe(0);
  });
});

describe("the graceful-shutdown watch against a stub metadata server", () => {
  let server: Server | undefined;
  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it("waits through 404 and UNSPECIFIED, then runs the drain as soon as the instance is PENDING_STOP", async () => {
    const states = [404, "UNSPECIFIED", "UNSPECIFIED", "PENDING_STOP"];
    const seen: string[] = [];
    server = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers["metadata-flavor"]}`);
      const s = states.length > 1 ? states.shift()! : states[0]!;
      if (s === 404) return void res.writeHead(404).end("not found");
      res.writeHead(200, { "content-type": "application/text" }).end(s);
    });
    await new Promise<void>((r) => server!.listen(PORTS.metadata, "127.0.0.1", r));
    const drain = join(dir, "drain-stub.sh");
    writeFileSync(drain, "#!/bin/sh\necho drain-ran\n");
    chmodSync(drain, 0o755);
    const watch = join(dir, "watch-shutdown.sh");
    writeFileSync(
      watch,
      shutdownWatchScript({
        stateUrl: `http://127.0.0.1:${PORTS.metadata}/computeMetadata/v1/instance/shutdown-details/stop-state`,
        drainPath: drain,
        pollSeconds: 0.1,
      }),
    );
    // Asynchronously: the stub server answers from this process's event loop.
    const r = await new Promise<{ status: number | null; out: string }>((resolve, reject) => {
      const c = spawn("bash", [watch], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
      let out = "";
      c.stdout.on("data", (d) => (out += d));
      c.on("error", reject);
      c.on("close", (status) => resolve({ status, out }));
    });
    expect(r.status).toBe(0);
    expect(r.out).toBe("graceful shutdown started: draining\ndrain-ran\n");
    expect(seen).toEqual(Array(4).fill("/computeMetadata/v1/instance/shutdown-details/stop-state Google"));
    // The real key on the metadata server.
    expect(shutdownWatchScript()).toContain("STATE_URL='http://metadata.google.internal/computeMetadata/v1/instance/shutdown-details/stop-state'\n");
    expect(shutdownWatchScript()).toContain("DRAIN='/opt/jitsi/bin/drain.sh'\n");
  });
});

describe("the drain script against a stub bridge", () => {
  let server: Server | undefined;
  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  function runDrain(script: string): Promise<{ status: number | null; out: string }> {
    return new Promise((resolve, reject) => {
      const c = spawn("bash", [script], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
      let out = "";
      c.stdout.on("data", (d) => (out += d));
      c.stderr.on("data", (d) => (out += d));
      c.on("error", reject);
      c.on("close", (status) => resolve({ status, out }));
    });
  }

  it("asks for a graceful shutdown, waits for the last conference, gives up after the window, and skips a stopped bridge", async () => {
    let conferences: number[] = [];
    const shutdowns: string[] = [];
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        if (req.url === "/about/health") return void res.writeHead(200).end("{}");
        if (req.url === "/colibri/shutdown" && req.method === "POST") {
          shutdowns.push(body);
          return void res.writeHead(200).end();
        }
        if (req.url === "/colibri/stats") {
          const n = conferences.length > 1 ? conferences.shift()! : conferences[0]!;
          return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ conferences: n, participants: n * 10 }));
        }
        res.writeHead(404).end();
      });
    });
    await new Promise<void>((r) => server!.listen(PORTS.bridge, "127.0.0.1", r));

    const drains = join(dir, "drain.sh");
    writeFileSync(drains, drainScript({ drainSeconds: 30, restUrl: `http://127.0.0.1:${PORTS.bridge}`, pollSeconds: 0.2 }));
    conferences = [2, 1, 0];
    const a = await runDrain(drains);
    expect(a.status).toBe(0);
    expect(a.out).toContain("draining: 2 conference(s), 20 participant(s) left");
    expect(a.out).toContain("bridge drained");
    expect(shutdowns).toEqual(['{"graceful-shutdown": "true"}']);

    writeFileSync(drains, drainScript({ drainSeconds: 1, restUrl: `http://127.0.0.1:${PORTS.bridge}`, pollSeconds: 0.2 }));
    conferences = [1];
    const b = await runDrain(drains);
    expect(b.status).toBe(0);
    expect(b.out).toContain("drain window of 1 s over; stopping with conferences left");

    writeFileSync(drains, drainScript({ drainSeconds: 30, restUrl: `http://127.0.0.1:${PORTS.absent}` }));
    const c = await runDrain(drains);
    expect(c.status).toBe(0);
    expect(c.out).toContain("bridge not running; nothing to drain");
    expect(shutdowns).toHaveLength(2);
  });
});
