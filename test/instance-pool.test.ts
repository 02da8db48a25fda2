/**
 * The stage-3 HTTP and WebSocket pools as the engine sees them: exact template, group, health check and autoscaler
 * inputs (seed "Separate HTTP and WebSocket Workloads" and "Auto-scaling Configuration"), the grants of each pool's
 * own account, template replacement without "resource in use" failures, previews, and the stages without pools.
 */
import { describe, expect, it } from "vitest";
import { get, ofType, plan } from "./helpers/plan";
import { gcpFacts, normPath } from "../src/plan/diff";
import { SECRET_MARK, type Plan } from "../src/plan/engine";
import { groupDeleteTimeout, instancePoolProblems, rollingUpdateNumbers } from "../components/instance-pool";
import { WEBSOCKET_METRIC } from "../components/monitoring";
import { WS_CONNECTIONS_METRIC } from "../src/files/app-instance";

const T = {
  template: "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
  group: "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager",
  autoscaler: "gcp:compute/regionAutoscaler:RegionAutoscaler",
  health: "gcp:compute/healthCheck:HealthCheck",
  account: "gcp:serviceaccount/account:Account",
  projectIam: "gcp:projects/iAMMember:IAMMember",
  secretIam: "gcp:secretmanager/secretIamMember:SecretIamMember",
  repoIam: "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
  bucketIam: "gcp:storage/bucketIAMMember:BucketIAMMember",
  secretVersion: "gcp:secretmanager/secretVersion:SecretVersion",
  pool: "course-organizer:compute:InstancePool",
};
const P = "course-organizer-demo";
const NET = `projects/${P}/global/networks/co-vpc`;
const SUBNET = `projects/${P}/regions/us-central1/subnetworks/co-subnet-us-central1`;
const ZONES = ["us-central1-a", "us-central1-b", "us-central1-c"];
const email = (id: string) => `${id}@${P}.iam.gserviceaccount.com`;
const labels = (component: string) => ({ app: "course-organizer", component, stage: "3", "managed-by": "pulumi" });
const poolUrn = (name: string) => `urn:pulumi:stage3::course-organizer::course-organizer:compute:InstancePool::${name}`;

function template(kind: "http" | "ws", machineType: string, tag: string) {
  return {
    namePrefix: `co-${kind}-`,
    region: "us-central1",
    description: kind === "http" ? "HTTP pool (Gunicorn)" : "WebSocket pool (Daphne)",
    machineType,
    disks: [{ boot: true, autoDelete: true, sourceImage: "ubuntu-os-cloud/ubuntu-2404-lts-amd64", diskSizeGb: 30, diskType: "pd-balanced" }],
    // No access config: no external IP, the internet through Cloud NAT.
    networkInterfaces: [{ network: NET, subnetwork: SUBNET }],
    serviceAccount: { email: email(`co-${kind}-pool`), scopes: ["cloud-platform"] },
    shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
    tags: [tag],
    labels: labels(`${kind}-pool`),
    scheduling: { automaticRestart: true, onHostMaintenance: "MIGRATE", preemptible: false },
  };
}

function group(kind: "http" | "ws", port: number, templateUrl: unknown) {
  return {
    name: `co-${kind}-group`,
    region: "us-central1",
    description: kind === "http" ? "HTTP pool (Gunicorn)" : "WebSocket pool (Daphne)",
    baseInstanceName: `co-${kind}`,
    versions: [{ name: "primary", instanceTemplate: templateUrl }],
    distributionPolicyZones: ZONES,
    distributionPolicyTargetShape: "EVEN",
    namedPorts: [{ name: kind, port }],
    autoHealingPolicies: { healthCheck: `projects/${P}/global/healthChecks/co-${kind}-health`, initialDelaySec: 300 },
    updatePolicy: {
      type: "PROACTIVE",
      instanceRedistributionType: "PROACTIVE",
      minimalAction: "REPLACE",
      mostDisruptiveAllowedAction: "REPLACE",
      replacementMethod: "SUBSTITUTE",
      // Regional MIG: fixed surge 0 or >= the zone count (3); nothing unavailable during a rollout.
      maxSurgeFixed: 3,
      maxUnavailableFixed: 0,
    },
    waitForInstances: false,
  };
}

describe("stage 3: the HTTP pool (Gunicorn)", () => {
  it("instance template: n2-standard-2, Shielded VM, OS Login, no external IP, its own account, api tag", async () => {
    const p = await plan("stage3");
    const t = get(p, T.template, "http-pool-template");
    expect(t.parent).toBe(poolUrn("http-pool"));
    const { metadata, ...rest } = t.inputs as Record<string, any>;
    expect(rest).toEqual(template("http", "n2-standard-2", "co-api"));
    expect(Object.keys(metadata).sort()).toEqual(["block-project-ssh-keys", "enable-oslogin", "settings-version", "user-data"]);
    // A new settings version is a new template, rolled out by the group.
    expect(metadata["settings-version"]).toBe("projects/course-organizer-demo/secrets/co-app-settings/versions/1");
    expect(metadata["enable-oslogin"]).toBe("TRUE");
    expect(metadata["block-project-ssh-keys"]).toBe("TRUE");
    expect(metadata["user-data"]).toMatch(/^#cloud-config\n/);
    // Create-before-delete with a fresh name each time: the group moves to the new template before the old goes.
    expect(t.deleteBeforeReplace).toBe(false);
    expect(t.inputs.name).toBeUndefined();
    // The first boot reads secrets and pulls images: the grants exist before the template.
    for (const g of ["http-pool-secret-0", "http-pool-secret-1", "http-pool-registry-reader"]) {
      expect(t.dependencies).toContain(ofType(p, g.includes("registry") ? T.repoIam : T.secretIam).find((r) => r.name === g)!.urn);
    }
  });

  it("regional group over three zones, EVEN shape, auto-healing on /api/health, rolling updates by surge", async () => {
    const p = await plan("stage3");
    const m = get(p, T.group, "http-pool-group");
    // The version names the template by URL: the mock's namePrefix + GCP's unique suffix.
    expect(m.inputs).toEqual(group("http", 8000, expect.stringMatching(/\/regions\/us-central1\/instanceTemplates\/co-http-[0-9a-f]{6}$/)));
    expect(m.dependencies).toContain(get(p, T.template, "http-pool-template").urn);
    expect(m.ignoreChanges).toEqual(["targetSize"]);
    // No graceful shutdown window: the provider's default timeouts.
    expect(m.customTimeouts).toBeUndefined();
    expect(get(p, T.health, "http-pool-health").inputs).toEqual({
      name: "co-http-health",
      description: "HTTP pool (Gunicorn): HTTP /api/health on 8000",
      checkIntervalSec: 10,
      timeoutSec: 5,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      httpHealthCheck: { port: 8000, requestPath: "/api/health", portSpecification: "USE_FIXED_PORT", host: "courses.example.org" },
      logConfig: { enable: false },
    });
  });

  it("autoscaler: 2-10, CPU 70 %, 100 req/s per instance through the load balancer, cooldown 60 s, scale-in 1 per 5 min", async () => {
    const p = await plan("stage3");
    expect(get(p, T.autoscaler, "http-pool-autoscaler").inputs).toEqual({
      name: "co-http-autoscaler",
      region: "us-central1",
      target: `projects/${P}/regions/us-central1/instanceGroupManagers/co-http-group`,
      autoscalingPolicy: {
        mode: "ON",
        minReplicas: 2,
        maxReplicas: 10,
        cooldownPeriod: 300, // an instance's boot time (src/config/boot-times.ts)
        cpuUtilization: { target: 0.7 },
        // 100 % of the backend's RATE capacity (maxRatePerInstance 100).
        loadBalancingUtilization: { target: 1 },
        metrics: [],
        scaleInControl: { maxScaledInReplicas: { fixed: 1 }, timeWindowSec: 300 },
      },
    });
  });

  it("its own account: logs and metrics only, plus exactly its secrets, the repository and the app's buckets", async () => {
    const p = await plan("stage3");
    expect(get(p, T.account, "http-pool-identity-sa").inputs.accountId).toBe("co-http-pool");
    const member = `serviceAccount:${email("co-http-pool")}`;
    expect(
      ofType(p, T.projectIam)
        .filter((r) => r.inputs.member === member)
        .map((r) => r.inputs.role)
        .sort(),
    ).toEqual(["roles/logging.logWriter", "roles/monitoring.metricWriter"]);
    expect(
      ofType(p, T.secretIam)
        .filter((r) => r.inputs.member === member)
        .map((r) => [r.inputs.secretId, r.inputs.role]),
    ).toEqual([
      ["co-app-settings", "roles/secretmanager.secretAccessor"],
      ["co-django-secret-key", "roles/secretmanager.secretAccessor"],
      // Gunicorn signs Jitsi room tokens.
      ["co-jitsi-jwt-secret", "roles/secretmanager.secretAccessor"],
      // Private media: Gunicorn signs the CDN URLs.
      ["co-cdn-signing-key", "roles/secretmanager.secretAccessor"],
    ]);
    expect(get(p, T.repoIam, "http-pool-registry-reader").inputs).toEqual({
      project: P,
      location: "us-central1",
      repository: "co-images",
      role: "roles/artifactregistry.reader",
      member,
    });
    expect(
      ofType(p, T.bucketIam)
        .filter((r) => r.inputs.member === member)
        .map((r) => [r.inputs.bucket, r.inputs.role]),
    ).toEqual([
      // Never the public static bucket: the release identity alone writes it.
      ["course-organizer-demo-co-media", "roles/storage.objectAdmin"],
    ]);
  });
});

describe("stage 3: the WebSocket pool (Daphne)", () => {
  it("instance template n2-standard-4 with the ws tag; group over three zones with auto-healing on /health", async () => {
    const p = await plan("stage3");
    const { metadata, ...rest } = get(p, T.template, "ws-pool-template").inputs as Record<string, any>;
    expect(rest).toEqual(template("ws", "n2-standard-4", "co-ws"));
    expect(Object.keys(metadata).sort()).toEqual(["block-project-ssh-keys", "enable-oslogin", "settings-version", "user-data"]);
    const m = get(p, T.group, "ws-pool-group");
    expect(m.inputs).toEqual(group("ws", 8001, expect.stringMatching(/\/regions\/us-central1\/instanceTemplates\/co-ws-[0-9a-f]{6}$/)));
    expect(get(p, T.health, "ws-pool-health").inputs.httpHealthCheck).toEqual({
      port: 8001,
      requestPath: "/health",
      portSpecification: "USE_FIXED_PORT",
      host: "courses.example.org",
    });
  });

  it("autoscaler: 2-5 on memory 75 % (Ops Agent) and 1,000 connections per instance, cooldown 120 s, scale-in 1 per 10 min", async () => {
    const p = await plan("stage3");
    expect(get(p, T.autoscaler, "ws-pool-autoscaler").inputs).toEqual({
      name: "co-ws-autoscaler",
      region: "us-central1",
      target: `projects/${P}/regions/us-central1/instanceGroupManagers/co-ws-group`,
      autoscalingPolicy: {
        mode: "ON",
        minReplicas: 2,
        maxReplicas: 5,
        cooldownPeriod: 300,
        metrics: [
          { name: "agent.googleapis.com/memory/percent_used", target: 75, type: "GAUGE", filter: 'metric.labels.state = "used"' },
          { name: "custom.googleapis.com/course_organizer/websocket_connections", target: 1000, type: "GAUGE" },
        ],
        scaleInControl: { maxScaledInReplicas: { fixed: 1 }, timeWindowSec: 600 },
      },
    });
    // The alert policies watch the very metric the instances publish and the autoscaler reads.
    expect(WS_CONNECTIONS_METRIC).toBe(WEBSOCKET_METRIC);
  });

  it("reads its settings but writes no bucket", async () => {
    const p = await plan("stage3");
    const member = `serviceAccount:${email("co-ws-pool")}`;
    expect(
      ofType(p, T.secretIam)
        .filter((r) => r.inputs.member === member)
        .map((r) => r.inputs.secretId),
    ).toEqual(["co-app-settings", "co-django-secret-key"]);
    expect(ofType(p, T.bucketIam).filter((r) => r.inputs.member === member)).toEqual([]);
  });
});

describe("across stages and modes", () => {
  it("plans in preview mode with the same pools (unknown addresses do not break the program)", async () => {
    const p = await plan("stage3", { preview: true });
    expect(
      ofType(p, T.pool)
        .map((r) => r.name)
        .sort(),
    ).toEqual(["http-pool", "video-bridges-us-central1-pool", "ws-pool"]);
    expect(get(p, T.template, "http-pool-template").inputs.machineType).toBe("n2-standard-2");
    expect(get(p, T.autoscaler, "ws-pool-autoscaler").inputs.autoscalingPolicy).toMatchObject({ minReplicas: 2, maxReplicas: 5 });
  });

  it.each(["stage1", "stage2", "stage4"])("%s has no HTTP or WebSocket pool", async (stack) => {
    const p = await plan(stack);
    expect(ofType(p, T.pool).filter((r) => r.name === "http-pool" || r.name === "ws-pool")).toEqual([]);
  });

  it("no generated secret value in any template's metadata", async () => {
    const p: Plan = await plan("stage3");
    const values = ofType(p, T.secretVersion)
      .map((v) => (v.inputs.secretData as Record<string, string>)[SECRET_MARK]!)
      .filter((v) => !v.includes("\n"));
    expect(values.length).toBeGreaterThan(5);
    for (const t of ofType(p, T.template)) {
      const text = JSON.stringify(t.inputs);
      for (const v of values) expect(text.includes(v), `${t.name} carries a secret value`).toBe(false);
    }
  });

  it("enum inputs of the pools are values Google accepts (data/gcp-api-facts.json) or the provider's documented ones", async () => {
    const p = await plan("stage3");
    const facts = gcpFacts();
    const metricTypes =
      facts[T.autoscaler]!.enums[Object.keys(facts[T.autoscaler]!.enums).find((k) => normPath(k) === normPath("autoscalingPolicy.metrics[].type"))!]!;
    // The WebSocket pool's two metrics (memory, connections); the HTTP pool and the bridges scale on CPU and load.
    const metrics = ofType(p, T.autoscaler).flatMap((a) => (a.inputs.autoscalingPolicy as { metrics?: { type: string }[] }).metrics ?? []);
    expect(metrics.map((m) => m.type)).toEqual(["GAUGE", "GAUGE"]);
    for (const m of metrics) expect(metricTypes).toContain(m.type);
    const portSpec = facts[T.health]!.enums["httpHealthCheck.portSpecification"]!;
    expect(ofType(p, T.health).length).toBeGreaterThan(0);
    for (const h of ofType(p, T.health)) expect(portSpec).toContain((h.inputs.httpHealthCheck as { portSpecification: string }).portSpecification);
    // Handwritten in the provider (no definition in the facts): the values its docs list.
    expect(ofType(p, T.group).length).toBeGreaterThan(0);
    for (const m of ofType(p, T.group)) {
      const u = m.inputs.updatePolicy as Record<string, string>;
      expect(["PROACTIVE", "OPPORTUNISTIC"]).toContain(u.type);
      expect(["PROACTIVE", "NONE"]).toContain(u.instanceRedistributionType);
      expect(["NONE", "REFRESH", "RESTART", "REPLACE"]).toContain(u.minimalAction);
      expect(["RECREATE", "SUBSTITUTE"]).toContain(u.replacementMethod);
      expect(["EVEN", "BALANCED", "ANY", "ANY_SINGLE_ZONE"]).toContain(m.inputs.distributionPolicyTargetShape);
    }
  });
});

describe("the pool's rules", () => {
  it("the group's delete outlasts its instances' graceful shutdown window", () => {
    expect(groupDeleteTimeout(1860)).toBe("46m");
    expect(groupDeleteTimeout(3600)).toBe("75m");
    expect(groupDeleteTimeout(61)).toBe("17m");
    expect(groupDeleteTimeout(undefined)).toBeUndefined();
  });

  it("regional rolling updates: surge one per zone, nothing unavailable", () => {
    expect(rollingUpdateNumbers(3)).toEqual({ maxSurgeFixed: 3, maxUnavailableFixed: 0 });
    expect(rollingUpdateNumbers(4)).toEqual({ maxSurgeFixed: 4, maxUnavailableFixed: 0 });
  });

  it("refuses zones outside the region, fractions above 1, no scaling signal and a drain beyond GCE's hour", () => {
    const ok = {
      zones: ZONES,
      region: "us-central1",
      autoscaling: { minReplicas: 2, maxReplicas: 10, cooldownSeconds: 60, cpuTarget: 0.7, scaleIn: { maxReplicas: 1, windowSeconds: 300 } },
      healthCheck: { port: 8000, path: "/api/health", initialDelaySec: 300 },
    };
    expect(instancePoolProblems(ok)).toEqual([]);
    expect(
      instancePoolProblems({
        ...ok,
        zones: ["europe-west1-b", "us-central1-a", "us-central1-a"],
        autoscaling: { ...ok.autoscaling, minReplicas: 12, cpuTarget: 70 },
        gracefulShutdownSeconds: 4000,
      }),
    ).toEqual([
      'InstancePool args.zones[0]: "europe-west1-b" is not in args.region us-central1; allowed: a zone us-central1-<letter>',
      'InstancePool args.zones[2]: "us-central1-a" is listed twice (also zones[1]); allowed: each zone once',
      "InstancePool args.autoscaling.minReplicas: 12 is above args.autoscaling.maxReplicas 10; allowed: at most 10; did you mean 10?",
      "InstancePool args.autoscaling.cpuTarget: 70 is not a fraction; allowed: a fraction in (0, 1], e.g. 0.7 for 70 %",
      "InstancePool args.gracefulShutdownSeconds: 4000 is outside GCE's graceful shutdown; allowed: a whole number of seconds, 1-3600",
    ]);
    expect(instancePoolProblems({ ...ok, autoscaling: { ...ok.autoscaling, cpuTarget: undefined } })).toEqual([
      "InstancePool args.autoscaling.metrics: [] is empty and neither cpuTarget nor loadBalancingUtilization is set (GCP would silently scale on CPU 60 %); allowed: a cpuTarget, a loadBalancingUtilization or at least one metric",
    ]);
    expect(instancePoolProblems({ ...ok, zones: [], healthCheck: { ...ok.healthCheck, initialDelaySec: 4000 } })).toEqual([
      "InstancePool args.zones: [] is empty; allowed: zones of us-central1 to spread over (three, as GCP's regional default)",
      "InstancePool args.healthCheck.initialDelaySec: 4000 is outside the auto-healing initial delay GCE takes; allowed: 0-3600 seconds",
    ]);
  });
});
