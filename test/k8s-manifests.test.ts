/**
 * The stage-4 Kubernetes manifests (src/files/k8s-manifests.ts) as pure objects: every object validated by
 * kubernetes-models and a strict unknown-field walk over client-node's model maps, the seed's Deployment and HPA
 * numbers exactly, the NEG annotation, Workload Identity annotations, and no secret value anywhere.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import {
  clusterManifests,
  deploymentManifest,
  fetchSecretsScript,
  hpaManifest,
  manifestFileName,
  metricsAdapterManifests,
  pgbouncerConfigMapManifest,
  podPgbouncerIni,
  serviceManifest,
  writeUserlistScript,
  type Manifest,
  type WorkloadManifestArgs,
} from "../src/files/k8s-manifests";
import { modelName, unknownFields, validateWithModels } from "./helpers/k8s";
import { presetFor } from "../src/config/presets";
import { pgbouncerIni } from "../src/files/pgbouncer";

const preset = presetFor(4, { project: "course-organizer-demo", region: "us-central1", prefix: "co", domain: "courses.example.org" });
const k = preset.kubernetes;
const podIni = podPgbouncerIni({ dbHost: "10.100.0.5", databases: ["course_organizer"], poolSize: 2 });
const args = (region: string, replicas = k.primary): WorkloadManifestArgs => ({
  prefix: "co",
  project: "course-organizer-demo",
  region,
  image: preset.images.backend,
  secretFiles: [
    { file: "settings.json", secretId: "co-app-settings" },
    { file: "django-secret-key", secretId: "co-django-secret-key", setting: "DJANGO_SECRET_KEY" },
  ],
  googleServiceAccounts: {
    api: "co-gke-api@course-organizer-demo.iam.gserviceaccount.com",
    ws: "co-gke-ws@course-organizer-demo.iam.gserviceaccount.com",
    worker: "co-gke-worker@course-organizer-demo.iam.gserviceaccount.com",
  },
  adapterServiceAccount: "co-gke-metrics-adapter@course-organizer-demo.iam.gserviceaccount.com",
  replicas,
  cpuTargetPercent: k.cpuTargetPercent,
  memoryTargetPercent: k.memoryTargetPercent,
  requestsPerSecondPerPod: k.requestsPerSecondPerPod,
  connectionsPerPod: k.connectionsPerPod,
  backlogPerWorker: k.backlogPerWorker,
  workerRegions: 2,
  regionSettings: { MEMCACHED_NODES: region === "us-central1" ? "10.100.1.2:11211,10.100.1.3:11211" : "10.100.2.2:11211" },
  subscription: "email-worker",
  domain: "courses.example.org",
  labels: { app: "course-organizer", component: "workloads", stage: "4", "managed-by": "pulumi" },
  pgbouncer: { image: preset.images.pgbouncer, ini: podIni, iniSha256: "5e3a", serverCa: "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n" },
  egress: { privateServicesRange: "10.100.0.0/16", regionSubnet: "10.10.0.0/20" },
});
const primary = clusterManifests(args("us-central1"));
const secondary = clusterManifests(args("europe-west1", k.secondary));
const spec = (m: Manifest) => m.spec as any;

describe("every manifest", () => {
  it("passes kubernetes-models' schema validation", async () => {
    let validated = 0;
    for (const m of [...primary, ...secondary]) if (await validateWithModels(m)) validated++;
    // Per cluster: namespace, 3 service accounts, 13 adapter objects, the pgbouncer ConfigMap, 3 Deployments,
    // 2 Services, 3 budgets, 3 PodMonitoring (a CRD kubernetes-models does not ship; the strict walk below covers
    // it), 3 HPAs and 6 NetworkPolicies.
    expect(primary).toHaveLength(38);
    expect(validated).toBe(2 * (38 - 3));
  });

  it("has no field the Kubernetes API does not define (strict walk over client-node's type maps)", () => {
    for (const m of [...primary, ...secondary]) expect(unknownFields(m, modelName(m.apiVersion, m.kind)), `${m.kind} ${m.metadata.name}`).toEqual([]);
  });

  it("the strict walk catches a typo that schema validation lets through", async () => {
    const typo = structuredClone(deploymentManifest(args("us-central1"), "api"));
    (typo.spec as any).template.spec.containers[0].livenesProbe = (typo.spec as any).template.spec.containers[0].livenessProbe;
    await expect(validateWithModels(typo)).resolves.toBe(true);
    expect(unknownFields(typo, "V1Deployment")).toEqual(["$.spec.template.spec.containers[0].livenesProbe: unknown field of V1Container"]);
    const pm = structuredClone(primary.find((m) => m.kind === "PodMonitoring")!);
    (pm.spec as any).endpoints[0].intervall = "15s";
    expect(unknownFields(pm, "GmpPodMonitoring")).toEqual(["$.spec.endpoints[0].intervall: unknown field of GmpScrapeEndpoint"]);
  });

  it("has unique file names and survives a YAML round trip", () => {
    const names = primary.map(manifestFileName);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain("deployment-course-organizer-course-organizer-api.yaml");
    expect(names).toContain("horizontalpodautoscaler-course-organizer-api-hpa.yaml");
  });

  it("carries no secret value: only secret ids and e-mails", () => {
    // The init script names the settings key it reads (DATABASE_PASSWORD), never a value; the ConfigMap's ini
    // (whose comments say the password is not there) is checked for `password =` below.
    const text = JSON.stringify(primary.filter((m) => m.kind !== "ConfigMap")).replaceAll('s[\\"DATABASE_PASSWORD\\"]', "");
    expect(JSON.stringify(primary.filter((m) => m.kind === "ConfigMap"))).not.toMatch(/password\s*=|mock[0-9a-f]{8}/i);
    expect(text).not.toMatch(/password|mock[0-9a-f]{8}|BEGIN CERTIFICATE/i);
    const apps = primary.filter((x) => x.kind === "Deployment" && x.metadata.namespace === "course-organizer");
    expect(apps.map((m) => m.metadata.name)).toEqual(["course-organizer-api", "course-organizer-ws", "course-organizer-worker"]);
    for (const m of apps) {
      const env = spec(m).template.spec.containers[0].env.map((e: { name: string }) => e.name);
      expect(
        env.every((n: string) =>
          [
            "WORKER_TYPE",
            "PORT",
            "METRICS_PORT",
            "SETTINGS_FILE",
            "DJANGO_SECRET_KEY_FILE",
            "CDN_SIGNING_KEY_NAME",
            "CDN_SIGNING_KEY_FILE",
            "POD_IP",
            "DJANGO_ALLOWED_HOSTS",
            "CSRF_TRUSTED_ORIGINS",
            "REGION",
            "MEMCACHED_NODES",
          ].includes(n),
        ),
      ).toBe(true);
      expect(spec(m).template.spec.containers[0].envFrom).toBeUndefined();
    }
  });
});

describe("what each pod is told", () => {
  const env = (region: string, w: "api" | "ws" | "worker") =>
    spec(deploymentManifest(args(region), w)).template.spec.containers[0].env as { name: string; value?: string }[];
  const value = (e: { name: string; value?: string }[], name: string) => e.find((x) => x.name === name)?.value;

  it("listens on the port its Deployment, probes, Service and NEG use (8080), as PORT, the name stages 1-3 use", () => {
    for (const w of ["api", "ws", "worker"] as const) expect(value(env("us-central1", w), "PORT")).toBe("8080");
    const svc = serviceManifest(args("us-central1"), "api");
    expect(spec(svc).ports[0].targetPort).toBe(8080);
    expect(JSON.parse(svc.metadata.annotations!["cloud.google.com/neg"] as string).exposed_ports).toEqual({ "8080": { name: "co-api-us-central1" } });
  });

  it("gets its own region's Memcached nodes, never another region's", () => {
    for (const w of ["api", "ws", "worker"] as const) {
      expect(value(env("us-central1", w), "MEMCACHED_NODES")).toBe("10.100.1.2:11211,10.100.1.3:11211");
      expect(value(env("europe-west1", w), "MEMCACHED_NODES")).toBe("10.100.2.2:11211");
    }
  });
});

describe("the seed's Deployment (kubernetes/api-deployment.yaml)", () => {
  it("api: 20 replicas, RollingUpdate 5/2, 500m/1Gi to 2000m/4Gi, probes, anti-affinity, WORKER_TYPE=http", () => {
    const d = deploymentManifest(args("us-central1"), "api");
    expect(d.metadata.name).toBe("course-organizer-api");
    expect(spec(d).replicas).toBe(20);
    expect(spec(d).strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 5, maxUnavailable: 2 } });
    const c = spec(d).template.spec.containers[0];
    expect(c.image).toBe("us-central1-docker.pkg.dev/course-organizer-demo/co-images/backend:1.0.0");
    expect(c.resources).toEqual({ requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2000m", memory: "4Gi" } });
    expect(c.env[0]).toEqual({ name: "WORKER_TYPE", value: "http" });
    // Django's hosts: the site, and the pod IP that the kubelet's probes and the NEG health checks send as Host.
    expect(c.env.slice(1, 4)).toEqual([
      { name: "PORT", value: "8080" },
      { name: "METRICS_PORT", value: "9091" },
      { name: "SETTINGS_FILE", value: "/var/run/settings/settings.json" },
    ]);
    // A secret mounted as a file reaches the app as the contract's name with _FILE.
    expect(c.env[4]).toEqual({ name: "DJANGO_SECRET_KEY_FILE", value: "/var/run/settings/django-secret-key" });
    expect(c.env.slice(5, 8)).toEqual([
      { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      { name: "DJANGO_ALLOWED_HOSTS", value: "courses.example.org,$(POD_IP)" },
      { name: "CSRF_TRUSTED_ORIGINS", value: "https://courses.example.org" },
    ]);
    expect(c.livenessProbe).toEqual({ httpGet: { path: "/health", port: 8080 }, initialDelaySeconds: 30, periodSeconds: 10 });
    expect(c.readinessProbe).toEqual({ httpGet: { path: "/ready", port: 8080 }, initialDelaySeconds: 5, periodSeconds: 5 });
    expect(spec(d).template.spec.affinity).toEqual({
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            podAffinityTerm: {
              labelSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["course-organizer-api"] }] },
              topologyKey: "kubernetes.io/hostname",
            },
          },
        ],
      },
    });
    expect(spec(d).selector).toEqual({ matchLabels: { app: "course-organizer-api" } });
    expect(spec(d).template.metadata.labels.app).toBe("course-organizer-api");
    expect(spec(d).template.spec.serviceAccountName).toBe("api");
  });

  it("ws runs Daphne and worker the e-mail consumer, with the same probes and resources", () => {
    const ws = deploymentManifest(args("us-central1"), "ws");
    const worker = deploymentManifest(args("us-central1"), "worker");
    expect(spec(ws).replicas).toBe(10);
    expect(spec(worker).replicas).toBe(5);
    expect(spec(ws).template.spec.containers[0].env[0]).toEqual({ name: "WORKER_TYPE", value: "ws" });
    expect(spec(worker).template.spec.containers[0].env).toContainEqual({ name: "WORKER_TYPE", value: "worker" });
    // The worker's subscription is the settings' PUBSUB_EMAIL_SUBSCRIPTION, under the contract's one name only.
    expect(spec(worker).template.spec.containers[0].env.map((e: { name: string }) => e.name)).not.toContain("PUBSUB_SUBSCRIPTION");
    for (const d of [ws, worker]) {
      expect(spec(d).strategy.rollingUpdate).toEqual({ maxSurge: 5, maxUnavailable: 2 });
      expect(spec(d).template.spec.containers[0].resources.limits).toEqual({ cpu: "2000m", memory: "4Gi" });
      expect(spec(d).template.spec.containers[0].livenessProbe.httpGet).toEqual({ path: "/health", port: 8080 });
    }
    const sec = clusterManifests(args("europe-west1", k.secondary)).filter((m) => m.kind === "Deployment" && m.metadata.namespace === "course-organizer");
    expect(sec.map((d) => spec(d).replicas)).toEqual([10, 5, 2]);
  });

  it("reads its settings from Secret Manager in an init container, into memory", () => {
    const d = deploymentManifest(args("us-central1"), "api");
    const init = spec(d).template.spec.initContainers[0];
    // Google deletes google-cloud-cli versions older than a year: a pinned tag (502.0.0-slim) no longer pulls.
    expect(init.image).toBe("gcr.io/google.com/cloudsdktool/google-cloud-cli:stable");
    expect(init.env).toEqual([
      { name: "SECRET_0", value: "co-app-settings" },
      { name: "SECRET_1", value: "co-django-secret-key" },
      { name: "PROJECT", value: "course-organizer-demo" },
      { name: "CLOUDSDK_CONFIG", value: "/tmp/gcloud" },
      { name: "HOME", value: "/tmp" },
    ]);
    expect(init.command).toEqual(["sh", "-ec", `${fetchSecretsScript(["settings.json", "django-secret-key"])}\n${writeUserlistScript()}`]);
    // umask 077 first: every secret file is 0600 from its creation.
    expect(fetchSecretsScript(["settings.json"])).toBe(
      'umask 077\ngcloud secrets versions access latest --secret="$SECRET_0" --project="$PROJECT" > /var/run/settings/settings.json',
    );
    expect(spec(d).template.spec.volumes).toEqual([
      { name: "settings", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
      { name: "pgbouncer-config", configMap: { name: "pgbouncer" } },
      { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
    ]);
  });
});

describe("PgBouncer beside the app in every pod (the settings' DATABASE_URL is 127.0.0.1:6432)", () => {
  const initScript = (w: "api" | "ws" | "worker") => spec(deploymentManifest(args("us-central1"), w)).template.spec.initContainers[0].command[2] as string;

  it("runs as a native sidecar after fetch-settings, on the config's image, as the pod's uid with nothing writable", () => {
    for (const w of ["api", "ws", "worker"] as const) {
      const pod = spec(deploymentManifest(args("us-central1"), w)).template.spec;
      expect(pod.initContainers.map((c: { name: string }) => c.name)).toEqual(["fetch-settings", "pgbouncer"]);
      const probe = { exec: { command: ["nc", "-z", "-w", "1", "127.0.0.1", "6432"] } };
      expect(pod.initContainers[1]).toEqual({
        name: "pgbouncer",
        image: "edoburu/pgbouncer:v1.24.1-p1",
        restartPolicy: "Always",
        command: ["/usr/bin/pgbouncer", "/etc/pgbouncer/pgbouncer.ini"],
        ports: [{ name: "pgbouncer", containerPort: 6432, protocol: "TCP" }],
        startupProbe: { ...probe, periodSeconds: 1, failureThreshold: 30 },
        readinessProbe: { ...probe, periodSeconds: 10 },
        livenessProbe: { ...probe, periodSeconds: 10, failureThreshold: 3 },
        resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
        securityContext: {
          runAsUser: 10001,
          runAsGroup: 10001,
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        },
        volumeMounts: [
          { name: "pgbouncer-config", mountPath: "/etc/pgbouncer", readOnly: true },
          { name: "settings", mountPath: "/etc/pgbouncer-auth", subPath: "pgbouncer", readOnly: true },
        ],
      });
      // The app container itself is unchanged: one container, the settings read-only.
      expect(pod.containers.map((c: { name: string }) => c.name)).toEqual([w]);
    }
    // A changed ini (new IP, pool size) changes the pod template, so the Deployment rolls.
    expect(spec(deploymentManifest(args("us-central1"), "api")).template.metadata.annotations).toEqual({ "course-organizer/pgbouncer-ini-sha256": "5e3a" });
  });

  it("the ConfigMap holds the ini from pgbouncerIni and the server CA: 127.0.0.1:6432, transaction pooling, verified TLS to the primary, no password", () => {
    const cm = pgbouncerConfigMapManifest(args("us-central1"));
    expect(cm.metadata).toEqual({ name: "pgbouncer", namespace: "course-organizer", labels: args("us-central1").labels });
    expect(cm.data).toEqual({ "pgbouncer.ini": podIni, "server-ca.pem": "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n" });
    expect(podIni).toBe(
      pgbouncerIni({
        listenAddr: "127.0.0.1",
        listenPort: 6432,
        dbHost: "10.100.0.5",
        dbPort: 5432,
        databases: ["course_organizer"],
        poolSize: 2,
        maxClientConn: 200,
        authFile: "/etc/pgbouncer-auth/userlist.txt",
        pidFile: "",
        serverTlsSslmode: "verify-ca",
        serverTlsCaFile: "/etc/pgbouncer/server-ca.pem",
      }),
    );
    for (const line of [
      "course_organizer = host=10.100.0.5 port=5432 dbname=course_organizer",
      "listen_addr = 127.0.0.1",
      "listen_port = 6432",
      "pidfile = ",
      "pool_mode = transaction",
      "default_pool_size = 2",
      "reserve_pool_size = 1",
      "max_db_connections = 3",
      "max_client_conn = 200",
      "auth_file = /etc/pgbouncer-auth/userlist.txt",
      "server_tls_sslmode = verify-ca",
      "server_tls_ca_file = /etc/pgbouncer/server-ca.pem",
    ]) {
      expect(podIni.split("\n")).toContain(line);
    }
    expect(podIni).not.toMatch(/password\s*=/i);
    expect(primary.filter((m) => m.kind === "ConfigMap").map(manifestFileName)).toEqual(["configmap-course-organizer-pgbouncer.yaml"]);
  });

  it("fetch-settings writes the auth file from settings.json, 0600 from its creation, with the bundled Python of gcloud", () => {
    expect(writeUserlistScript()).toBe(
      [
        "PY=/usr/lib/google-cloud-sdk/platform/bundledpythonunix/bin/python3",
        '[ -x "$PY" ] || PY=python3',
        "umask 077",
        "mkdir -p /var/run/settings/pgbouncer",
        `"$PY" -c 'import json, sys; s = json.load(open(sys.argv[1])); q = lambda v: chr(34) + v.replace(chr(34), chr(34) * 2) + chr(34); print(q(s["DATABASE_USER"]), q(s["DATABASE_PASSWORD"]))' /var/run/settings/settings.json > /var/run/settings/pgbouncer/userlist.txt.tmp`,
        "mv /var/run/settings/pgbouncer/userlist.txt.tmp /var/run/settings/pgbouncer/userlist.txt",
      ].join("\n"),
    );
    for (const w of ["api", "ws", "worker"] as const) expect(initScript(w).endsWith(writeUserlistScript())).toBe(true);
  });

  it("the whole init script passes shellcheck -S style as POSIX sh", () => {
    const r = spawnSync("shellcheck", ["-S", "style", "-s", "sh", "-"], { input: `#!/bin/sh\nset -e\n${initScript("api")}\n`, encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("run for real: userlist.txt has the quoted user and password, mode 0600 (directory 0700), owned by the user that ran it", () => {
    const dir = mkdtempSync(join(tmpdir(), "pod-userlist-"));
    try {
      const settingsDir = join(dir, "settings");
      mkdirSync(settingsDir);
      chmodSync(settingsDir, 0o755);
      writeFileSync(
        join(settingsDir, "settings.json"),
        JSON.stringify({ DATABASE_USER: "course_organizer", DATABASE_PASSWORD: 'p"w d$x', REDIS_URL: "rediss://x" }),
      );
      const script = writeUserlistScript().replaceAll("/var/run/settings", settingsDir);
      const r = spawnSync("sh", ["-ec", script], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const file = join(settingsDir, "pgbouncer", "userlist.txt");
      expect(readFileSync(file, "utf8")).toBe('"course_organizer" "p""w d$x"\n');
      const st = statSync(file);
      expect([st.mode & 0o777, st.uid]).toEqual([0o600, process.getuid!()]);
      const d = statSync(join(settingsDir, "pgbouncer"));
      expect([d.mode & 0o777, d.uid]).toEqual([0o700, process.getuid!()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("Services, budgets, HPAs and the metrics pipeline", () => {
  it("Services are ClusterIP with the standalone NEG annotation named <prefix>-<w>-<region>", () => {
    const s = serviceManifest(args("europe-west1"), "api");
    expect(s.metadata.annotations).toEqual({ "cloud.google.com/neg": '{"exposed_ports":{"8080":{"name":"co-api-europe-west1"}}}' });
    expect(JSON.parse(s.metadata.annotations!["cloud.google.com/neg"] as string)).toEqual({ exposed_ports: { "8080": { name: "co-api-europe-west1" } } });
    expect(spec(s)).toEqual({
      type: "ClusterIP",
      selector: { app: "course-organizer-api" },
      ports: [{ name: "http", port: 8080, targetPort: 8080, protocol: "TCP" }],
    });
    expect(spec(serviceManifest(args("us-central1"), "ws")).selector).toEqual({ app: "course-organizer-ws" });
  });

  it("PodDisruptionBudgets allow 2 pods out at once, per workload", () => {
    const pdbs = primary.filter((m) => m.kind === "PodDisruptionBudget");
    expect(pdbs.map((p) => [p.metadata.name, spec(p)])).toEqual([
      ["api", { maxUnavailable: 2, selector: { matchLabels: { app: "course-organizer-api" } } }],
      ["ws", { maxUnavailable: 2, selector: { matchLabels: { app: "course-organizer-ws" } } }],
      ["worker", { maxUnavailable: 2, selector: { matchLabels: { app: "course-organizer-worker" } } }],
    ]);
  });

  it("api HPA: 10-50 on CPU 70 %, memory 75 % and http_requests_per_second averaging 100 (seed api-hpa)", () => {
    const h = hpaManifest(args("us-central1"), "api");
    expect(h.apiVersion).toBe("autoscaling/v2");
    expect(spec(h)).toEqual({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "course-organizer-api" },
      minReplicas: 10,
      maxReplicas: 50,
      metrics: [
        { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } },
        { type: "Resource", resource: { name: "memory", target: { type: "Utilization", averageUtilization: 75 } } },
        {
          type: "Pods",
          pods: { metric: { name: "prometheus.googleapis.com|http_requests_per_second|gauge" }, target: { type: "AverageValue", averageValue: "100" } },
        },
      ],
    });
    expect(spec(hpaManifest(args("europe-west1", k.secondary), "api"))).toMatchObject({ minReplicas: 10, maxReplicas: 20 });
  });

  it("ws HPA on connections per pod, worker HPA on the email-worker backlog", () => {
    const ws = hpaManifest(args("us-central1"), "ws");
    expect(spec(ws).minReplicas).toBe(10);
    expect(spec(ws).maxReplicas).toBe(20);
    expect(spec(ws).metrics[1]).toEqual({
      type: "Pods",
      pods: { metric: { name: "prometheus.googleapis.com|websocket_connections|gauge" }, target: { type: "AverageValue", averageValue: "1000" } },
    });
    const worker = hpaManifest(args("us-central1"), "worker");
    expect(spec(worker)).toEqual({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "course-organizer-worker" },
      minReplicas: 5,
      maxReplicas: 10,
      metrics: [
        {
          type: "External",
          external: {
            metric: {
              name: "pubsub.googleapis.com|subscription|num_undelivered_messages",
              selector: { matchLabels: { "resource.labels.subscription_id": "email-worker" } },
            },
            // 100 per pod x 2 regions: both regions' HPAs read the same backlog, each sizes half the fleet.
            target: { type: "AverageValue", averageValue: "200" },
          },
        },
      ],
    });
    const oneRegion = hpaManifest({ ...args("us-central1"), workerRegions: 1 }, "worker");
    expect(spec(oneRegion).metrics[0].external.target).toEqual({ type: "AverageValue", averageValue: "100" });
    const sec = clusterManifests(args("europe-west1", k.secondary)).filter((m) => m.kind === "HorizontalPodAutoscaler");
    expect(sec.map((h) => [spec(h).minReplicas, spec(h).maxReplicas])).toEqual([
      [10, 20],
      [5, 10],
      [2, 5],
    ]);
  });

  it("PodMonitoring scrapes each workload's metrics port every 15 s", () => {
    const pms = primary.filter((m) => m.kind === "PodMonitoring");
    expect(pms.map((p) => p.apiVersion)).toEqual(["monitoring.googleapis.com/v1", "monitoring.googleapis.com/v1", "monitoring.googleapis.com/v1"]);
    expect(spec(pms[0]!)).toEqual({
      selector: { matchLabels: { app: "course-organizer-api" } },
      endpoints: [{ port: "metrics", path: "/metrics", interval: "15s" }],
    });
    const d = deploymentManifest(args("us-central1"), "worker");
    expect(spec(d).template.spec.containers[0].ports).toContainEqual({ name: "metrics", containerPort: 9091, protocol: "TCP" });
  });

  it("installs the Custom Metrics Stackdriver Adapter with its RBAC and APIService registrations", () => {
    const a = metricsAdapterManifests({ adapterServiceAccount: "x@p.iam.gserviceaccount.com", labels: {} });
    expect(a.map((m) => `${m.kind}/${m.metadata.namespace ?? ""}/${m.metadata.name}`)).toEqual([
      "Namespace//custom-metrics",
      "ServiceAccount/custom-metrics/custom-metrics-stackdriver-adapter",
      "ClusterRoleBinding//custom-metrics:system:auth-delegator",
      "RoleBinding/kube-system/custom-metrics-auth-reader",
      "ClusterRole//custom-metrics-resource-reader",
      "ClusterRoleBinding//custom-metrics-resource-reader",
      "Deployment/custom-metrics/custom-metrics-stackdriver-adapter",
      "Service/custom-metrics/custom-metrics-stackdriver-adapter",
      "APIService//v1beta1.custom.metrics.k8s.io",
      "APIService//v1beta2.custom.metrics.k8s.io",
      "APIService//v1beta1.external.metrics.k8s.io",
      "ClusterRole//external-metrics-reader",
      "ClusterRoleBinding//external-metrics-reader",
    ]);
    expect(a[1]!.metadata.annotations).toEqual({ "iam.gke.io/gcp-service-account": "x@p.iam.gserviceaccount.com" });
    const dep = a.find((m) => m.kind === "Deployment")!;
    // Google's adapter release (no digest file in the tests, so the tag alone).
    expect(spec(dep).template.spec.containers[0].image).toBe("gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.15.1-gke.0");
    expect(spec(dep).template.spec.containers[0].command).toEqual([
      "/adapter",
      "--use-new-resource-model=true",
      "--fallback-for-container-metrics=true",
      "--cert-dir=/var/run/serving-cert",
    ]);
    expect(spec(a.find((m) => m.metadata.name === "v1beta1.external.metrics.k8s.io")!)).toEqual({
      insecureSkipTLSVerify: true,
      group: "external.metrics.k8s.io",
      groupPriorityMinimum: 100,
      versionPriority: 100,
      service: { name: "custom-metrics-stackdriver-adapter", namespace: "custom-metrics" },
      version: "v1beta1",
    });
    // The HPA controller reads external metrics.
    expect((a.at(-1) as any).subjects).toEqual([{ kind: "ServiceAccount", name: "horizontal-pod-autoscaler", namespace: "kube-system" }]);
  });

  it("binds each Kubernetes service account to its Google service account", () => {
    const sas = primary.filter((m) => m.kind === "ServiceAccount" && m.metadata.namespace === "course-organizer");
    expect(sas.map((s) => [s.metadata.name, s.metadata.annotations])).toEqual([
      ["api", { "iam.gke.io/gcp-service-account": "co-gke-api@course-organizer-demo.iam.gserviceaccount.com" }],
      ["ws", { "iam.gke.io/gcp-service-account": "co-gke-ws@course-organizer-demo.iam.gserviceaccount.com" }],
      ["worker", { "iam.gke.io/gcp-service-account": "co-gke-worker@course-organizer-demo.iam.gserviceaccount.com" }],
    ]);
  });

  it("renders as YAML that parses back to the same object", async () => {
    const { stringify } = await import("yaml");
    for (const m of primary) expect(parse(stringify(m))).toEqual(m);
  });
});
