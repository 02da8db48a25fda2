/**
 * The stage-4 Kubernetes manifests (src/files/k8s-manifests.ts) as pure objects: every object validated by
 * kubernetes-models and a strict unknown-field walk over client-node's model maps, the seed's Deployment and HPA
 * numbers exactly, the NEG annotation, Workload Identity annotations, and no secret value anywhere.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  ADAPTER_IMAGE,
  clusterManifests,
  deploymentManifest,
  fetchSecretsScript,
  hpaManifest,
  manifestFileName,
  metricsAdapterManifests,
  serviceManifest,
  type Manifest,
  type WorkloadManifestArgs,
} from "../src/files/k8s-manifests";
import { modelName, unknownFields, validateWithModels } from "./helpers/k8s";
import { presetFor } from "../src/config/presets";

const preset = presetFor(4, { project: "course-organizer-demo", region: "us-central1", prefix: "co", domain: "courses.example.org" });
const k = preset.kubernetes;
const args = (region: string, replicas = k.primary): WorkloadManifestArgs => ({
  prefix: "co",
  project: "course-organizer-demo",
  region,
  image: preset.images.backend,
  secretFiles: [
    { file: "settings.json", secretId: "co-app-settings" },
    { file: "django-secret-key", secretId: "co-django-secret-key" },
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
  subscription: "email-worker",
  labels: { app: "course-organizer", component: "workloads", stage: "4", "managed-by": "pulumi" },
});
const primary = clusterManifests(args("us-central1"));
const secondary = clusterManifests(args("europe-west1", k.secondary));
const spec = (m: Manifest) => m.spec as any;

describe("every manifest", () => {
  it("passes kubernetes-models' schema validation", async () => {
    let validated = 0;
    for (const m of [...primary, ...secondary]) if (await validateWithModels(m)) validated++;
    // Per cluster: namespace, 3 service accounts, 13 adapter objects, 3 Deployments, 2 Services, 3 budgets,
    // 3 PodMonitoring (a CRD kubernetes-models does not ship; the strict walk below covers it) and 3 HPAs.
    expect(primary).toHaveLength(31);
    expect(validated).toBe(2 * (31 - 3));
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
    const text = JSON.stringify(primary);
    expect(text).not.toMatch(/password|mock[0-9a-f]{8}|BEGIN CERTIFICATE/i);
    for (const m of primary.filter((x) => x.kind === "Deployment" && x.metadata.namespace === "course-organizer")) {
      const env = spec(m).template.spec.containers[0].env.map((e: { name: string }) => e.name);
      expect(env.every((n: string) => ["WORKER_TYPE", "SETTINGS_FILE", "REGION", "PUBSUB_SUBSCRIPTION"].includes(n))).toBe(true);
      expect(spec(m).template.spec.containers[0].envFrom).toBeUndefined();
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
    expect(spec(ws).template.spec.containers[0].env[0]).toEqual({ name: "WORKER_TYPE", value: "daphne" });
    expect(spec(worker).template.spec.containers[0].env).toContainEqual({ name: "WORKER_TYPE", value: "email-worker" });
    expect(spec(worker).template.spec.containers[0].env).toContainEqual({ name: "PUBSUB_SUBSCRIPTION", value: "email-worker" });
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
    ]);
    expect(init.command).toEqual(["sh", "-ec", fetchSecretsScript(["settings.json", "django-secret-key"])]);
    expect(fetchSecretsScript(["settings.json"])).toBe(
      'gcloud secrets versions access latest --secret="$SECRET_0" --project="$PROJECT" > /var/run/settings/settings.json',
    );
    expect(spec(d).template.spec.volumes).toEqual([{ name: "settings", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } }]);
  });
});

describe("Services, budgets, HPAs and the metrics pipeline", () => {
  it("Services are ClusterIP with the standalone NEG annotation named <prefix>-<w>-<region>", () => {
    const s = serviceManifest(args("europe-west1"), "api");
    expect(s.metadata.annotations).toEqual({ "cloud.google.com/neg": '{"exposed_ports":{"8080":{"name":"co-api-europe-west1"}}}' });
    expect(JSON.parse(s.metadata.annotations!["cloud.google.com/neg"] as string)).toEqual({ exposed_ports: { "8080": { name: "co-api-europe-west1" } } });
    expect(spec(s)).toEqual({ type: "ClusterIP", selector: { app: "course-organizer-api" }, ports: [{ name: "http", port: 8080, targetPort: 8080, protocol: "TCP" }] });
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
            metric: { name: "pubsub.googleapis.com|subscription|num_undelivered_messages", selector: { matchLabels: { "resource.labels.subscription_id": "email-worker" } } },
            target: { type: "AverageValue", averageValue: "100" },
          },
        },
      ],
    });
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
    expect(spec(pms[0]!)).toEqual({ selector: { matchLabels: { app: "course-organizer-api" } }, endpoints: [{ port: "metrics", path: "/metrics", interval: "15s" }] });
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
    expect(spec(dep).template.spec.containers[0].image).toBe(ADAPTER_IMAGE);
    expect(spec(dep).template.spec.containers[0].command).toEqual(["/adapter", "--use-new-resource-model=true", "--fallback-for-container-metrics=true"]);
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
