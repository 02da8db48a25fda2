/**
 * The workloads on each GKE cluster in the stage-4 plan: Workload Identity (Google service accounts, one binding
 * per Kubernetes service account), the Deployments, HPAs and metrics pipeline as Kubernetes resources through the
 * cluster's provider, pod start order (settings secret, grants, bindings), rendered YAML equal to the resources,
 * no secret value in any manifest, and the global entry: /api and /ws backend services on the NEGs of both regions.
 */
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { parse } from "yaml";
import { file, get, ofType, plan } from "./helpers/plan";
import { podPgbouncerIni } from "../src/files/k8s-manifests";

const DEP = "kubernetes:apps/v1:Deployment";
const HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";
const SA = "co-gke-%s@course-organizer-demo.iam.gserviceaccount.com";
const email = (w: string) => SA.replace("%s", w);
const byTypeOf = (objs: { type: string }[], t: string) => objs.filter((o) => o.type === t).length;

describe.each([false, true])("workloads on the stage-4 plan (preview %s)", (preview) => {
  it("creates 38 objects per cluster through its provider, 76 in all", async () => {
    const p = await plan("stage4", { preview });
    const objs = p.resources.filter((r) => r.type.startsWith("kubernetes:"));
    expect(objs).toHaveLength(76);
    expect(byTypeOf(objs, "kubernetes:core/v1:ConfigMap")).toBe(2);
    const byType = (t: string) => objs.filter((o) => o.type === t).length;
    expect(byType(DEP)).toBe(2 * 4);
    expect(byType(HPA)).toBe(2 * 3);
    expect(byType("kubernetes:policy/v1:PodDisruptionBudget")).toBe(2 * 3);
    expect(byType("kubernetes:monitoring.googleapis.com/v1:PodMonitoring")).toBe(2 * 3);
    expect(byType("kubernetes:apiregistration.k8s.io/v1:APIService")).toBe(2 * 3);
    // Default deny in both namespaces plus the app's and the adapter's allow lists (src/files/k8s-manifests.ts).
    expect(byType("kubernetes:networking.k8s.io/v1:NetworkPolicy")).toBe(2 * 6);
    for (const o of objs) {
      const region = o.name.startsWith("workloads-us-central1-") ? "us-central1" : "europe-west1";
      expect(o.provider).toMatch(new RegExp(`pulumi:providers:kubernetes::gke-${region}-k8s::`));
      expect(o.parent).toBe(`urn:pulumi:stage4::course-organizer::course-organizer:kubernetes:Workloads::workloads-${region}`);
    }
  });

  it("api starts at 20 pods in the primary region and 10 in the second; the HPA owns the count afterwards", async () => {
    const p = await plan("stage4", { preview });
    const replicas = (region: string, w: string) =>
      (get(p, DEP, `workloads-${region}-deployment-course-organizer-course-organizer-${w}`).inputs.spec as { replicas: number }).replicas;
    expect(["api", "ws", "worker"].map((w) => replicas("us-central1", w))).toEqual([20, 10, 5]);
    expect(["api", "ws", "worker"].map((w) => replicas("europe-west1", w))).toEqual([10, 5, 2]);
    expect(get(p, DEP, "workloads-us-central1-deployment-course-organizer-course-organizer-api").ignoreChanges).toEqual(["spec.replicas"]);
    const range = (region: string, w: string) => {
      const s = get(p, HPA, `workloads-${region}-horizontalpodautoscaler-course-organizer-${w}-hpa`).inputs.spec as {
        minReplicas: number;
        maxReplicas: number;
      };
      return [s.minReplicas, s.maxReplicas];
    };
    expect(["api", "ws", "worker"].map((w) => range("us-central1", w))).toEqual([
      [10, 50],
      [10, 20],
      [5, 10],
    ]);
    expect(["api", "ws", "worker"].map((w) => range("europe-west1", w))).toEqual([
      [10, 20],
      [5, 10],
      [2, 5],
    ]);
  });

  it("pods start after the settings secret, its grants and the Workload Identity bindings; HPAs after the adapter's APIs", async () => {
    const p = await plan("stage4", { preview });
    const d = get(p, DEP, "workloads-europe-west1-deployment-course-organizer-course-organizer-worker");
    for (const w of ["api", "ws", "worker", "metrics-adapter"]) {
      expect(d.dependencies).toContain(get(p, "gcp:serviceaccount/iAMMember:IAMMember", `gke-identities-${w}-wi`).urn);
    }
    for (const w of ["api", "ws", "worker"]) {
      for (const s of ["settings", "django", "db-password"]) {
        expect(d.dependencies).toContain(get(p, "gcp:secretmanager/secretIamMember:SecretIamMember", `gke-identities-${w}-${s}-accessor`).urn);
      }
    }
    expect(d.dependencies).toContain(get(p, "gcp:secretmanager/secretVersion:SecretVersion", "app-settings-json-version").urn);
    const h = get(p, HPA, "workloads-europe-west1-horizontalpodautoscaler-course-organizer-worker-hpa");
    expect(h.dependencies).toContain(
      get(p, "kubernetes:apiregistration.k8s.io/v1:APIService", "workloads-europe-west1-apiservice-v1beta1.external.metrics.k8s.io").urn,
    );
    expect(h.dependencies).toContain(d.urn);
  });

  it("every app pod runs PgBouncer for the settings' 127.0.0.1:6432, its ini (no password) from the cluster's ConfigMap", async () => {
    const p = await plan("stage4", { preview });
    for (const region of ["us-central1", "europe-west1"]) {
      const cm = get(p, "kubernetes:core/v1:ConfigMap", `workloads-${region}-configmap-course-organizer-pgbouncer`);
      expect((cm.inputs.metadata as { name: string; namespace: string }).name).toBe("pgbouncer");
      expect((cm.inputs.metadata as { name: string; namespace: string }).namespace).toBe("course-organizer");
      for (const w of ["api", "ws", "worker"]) {
        const d = get(p, DEP, `workloads-${region}-deployment-course-organizer-course-organizer-${w}`);
        // Pods mount the ConfigMap: it is applied before them.
        expect(d.dependencies).toContain(cm.urn);
        const tpl = (d.inputs.spec as any).template;
        expect(tpl.spec.initContainers.map((c: { name: string; image: string; restartPolicy?: string }) => [c.name, c.image, c.restartPolicy])).toEqual([
          ["fetch-settings", "gcr.io/google.com/cloudsdktool/google-cloud-cli:stable", undefined],
          ["pgbouncer", "us-central1-docker.pkg.dev/course-organizer-demo/co-dockerhub/edoburu/pgbouncer:v1.24.1-p1", "Always"],
        ]);
        // The app container reads the same bundle at the contract's path (the DATABASES map's sslrootcert).
        expect(tpl.spec.containers[0].volumeMounts).toContainEqual({
          name: "pgbouncer-config",
          mountPath: "/run/course-organizer/database-ca.pem",
          subPath: "server-ca.pem",
          readOnly: true,
        });
        if (!preview) {
          // The primary's private IP, the stage-3 instances' database, pool 2 per pod (kubernetes.pgbouncerPoolSizePerPod).
          const ini = podPgbouncerIni({ dbHost: p.outputs.databasePrivateIp as string, databases: ["course_organizer"], poolSize: 2 });
          expect((cm.inputs.data as Record<string, string>)["pgbouncer.ini"]).toBe(ini);
          // Beside it the CAs of every instance the pods reach (primary, replicas, shards and theirs), which PgBouncer
          // and the map's direct entries verify Cloud SQL's certificates against (verify-ca).
          const ca = [
            "co-db",
            "co-db-replica-0",
            "co-db-replica-1",
            "co-db-replica-europe-west1",
            "co-db-replica-analytics",
            ...[0, 1, 2, 3].flatMap((i) => [`co-db-shard-${i}`, `co-db-shard-${i}-replica-europe-west1`]),
          ]
            .map((n) => `-----BEGIN CERTIFICATE-----\nMOCK ${n}\n-----END CERTIFICATE-----`)
            .join("\n");
          expect((cm.inputs.data as Record<string, string>)["server-ca.pem"]).toBe(ca);
          expect(ini).toContain(`course_organizer = host=${p.outputs.databasePrivateIp} port=5432 dbname=course_organizer\n`);
          // A new ini (IP, pool size) is a new pod template: the Deployment rolls instead of keeping the old PgBouncer.
          expect(tpl.metadata.annotations).toEqual({ "course-organizer/pgbouncer-ini-sha256": createHash("sha256").update(ini).update(ca).digest("hex") });
        }
      }
    }
  });
});

describe("Workload Identity", () => {
  it("one Google service account per workload and the adapter, bound once to its Kubernetes service account", async () => {
    const p = await plan("stage4");
    const accounts = ofType(p, "gcp:serviceaccount/account:Account").filter((a) => a.name.startsWith("gke-identities-"));
    expect(accounts.map((a) => a.inputs.accountId)).toEqual(["co-gke-api", "co-gke-ws", "co-gke-worker", "co-gke-metrics-adapter"]);
    const bindings = ofType(p, "gcp:serviceaccount/iAMMember:IAMMember");
    expect(bindings.map((b) => [b.name, b.inputs])).toEqual([
      ...["api", "ws", "worker"].map((w) => [
        `gke-identities-${w}-wi`,
        {
          member: `serviceAccount:course-organizer-demo.svc.id.goog[course-organizer/${w}]`,
          role: "roles/iam.workloadIdentityUser",
          serviceAccountId: `projects/course-organizer-demo/serviceAccounts/${email(w)}`,
        },
      ]),
      [
        "gke-identities-metrics-adapter-wi",
        {
          member: "serviceAccount:course-organizer-demo.svc.id.goog[custom-metrics/custom-metrics-stackdriver-adapter]",
          role: "roles/iam.workloadIdentityUser",
          serviceAccountId: `projects/course-organizer-demo/serviceAccounts/${email("metrics-adapter")}`,
        },
      ],
    ]);
    const roles = ofType(p, "gcp:projects/iAMMember:IAMMember").filter((m) => m.name.startsWith("gke-identities-"));
    expect(roles.filter((r) => r.inputs.member === `serviceAccount:${email("metrics-adapter")}`).map((r) => r.inputs.role)).toEqual([
      "roles/monitoring.viewer",
    ]);
    expect(roles.filter((r) => r.inputs.member === `serviceAccount:${email("api")}`).map((r) => r.inputs.role)).toEqual([
      "roles/logging.logWriter",
      "roles/monitoring.metricWriter",
      "roles/cloudtrace.agent",
    ]);
    const ksa = get(p, "kubernetes:core/v1:ServiceAccount", "workloads-us-central1-serviceaccount-course-organizer-api");
    expect((ksa.inputs.metadata as any).annotations).toEqual({ "iam.gke.io/gcp-service-account": email("api") });
  });

  it("the workloadIdentityUser bindings wait for the clusters: IAM refuses a member of the workload pool before one exists", async () => {
    for (const preview of [false, true]) {
      const p = await plan("stage4", { preview });
      const clusters = ["us-central1", "europe-west1"].map((r) => get(p, "gcp:container/cluster:Cluster", `gke-${r}-cluster`).urn);
      for (const w of ["api", "ws", "worker", "metrics-adapter"]) {
        const deps = get(p, "gcp:serviceaccount/iAMMember:IAMMember", `gke-identities-${w}-wi`).dependencies;
        expect(deps.filter((d) => d.includes("gcp:container/cluster:Cluster"))).toEqual(clusters);
      }
    }
  });

  it("each identity reads the settings, Django's key and the database password secrets, nothing broader", async () => {
    const p = await plan("stage4");
    const all = ofType(p, "gcp:secretmanager/secretIamMember:SecretIamMember").filter((g) => g.name.startsWith("gke-identities-"));
    // The api alone signs CDN media URLs and writes the buckets (as the stage-3 HTTP pool).
    // It alone signs Jitsi room tokens too.
    const signing = all.filter((g) => ["gke-identities-api-cdn-signing-key-accessor", "gke-identities-api-jitsi-jwt-accessor"].includes(g.name));
    expect(signing.map((g) => [g.inputs.secretId, g.inputs.member])).toEqual([
      ["projects/course-organizer-demo/secrets/co-cdn-signing-key", `serviceAccount:${email("api")}`],
      ["projects/course-organizer-demo/secrets/co-jitsi-jwt-secret", `serviceAccount:${email("api")}`],
    ]);
    const buckets = ofType(p, "gcp:storage/bucketIAMMember:BucketIAMMember").filter((g) => g.name.startsWith("gke-identities-"));
    expect(buckets.map((b) => [b.inputs.bucket, b.inputs.role, b.inputs.member]).sort()).toEqual([
      // Never the public static bucket: the release identity alone writes it.
      ["course-organizer-demo-co-media", "roles/storage.objectAdmin", `serviceAccount:${email("api")}`],
    ]);
    const api = get(p, DEP, "workloads-us-central1-deployment-course-organizer-course-organizer-api").inputs.spec as any;
    const ws = get(p, DEP, "workloads-us-central1-deployment-course-organizer-course-organizer-ws").inputs.spec as any;
    expect(api.template.spec.initContainers[0].env.map((e: { value: string }) => e.value)).toEqual([
      "co-app-settings",
      "co-django-secret-key",
      "co-jitsi-jwt-secret",
      "co-cdn-signing-key",
      "course-organizer-demo",
      "/tmp/gcloud",
      "/tmp",
    ]);
    expect(ws.template.spec.initContainers[0].env.map((e: { value: string }) => e.value)).toEqual([
      "co-app-settings",
      "co-django-secret-key",
      "course-organizer-demo",
      "/tmp/gcloud",
      "/tmp",
    ]);
    const grants = all.filter((g) => !signing.includes(g));
    const key = (x: unknown[]) => JSON.stringify(x);
    expect(grants.map((g) => [g.inputs.secretId, g.inputs.member, g.inputs.role]).sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
      ["co-app-settings", "co-db-course-organizer-password", "co-django-secret-key"].flatMap((s) =>
        ["api", "worker", "ws"].map((w) => [`projects/course-organizer-demo/secrets/${s}`, `serviceAccount:${email(w)}`, "roles/secretmanager.secretAccessor"]),
      ),
    );
  });
});

describe("rendered manifests", () => {
  it("the YAML files are the very objects the resources are created from, with no secret value", async () => {
    const p = await plan("stage4", { withFiles: true });
    const files = (p.files ?? []).filter((f) => f.role.startsWith("gke-"));
    expect(files).toHaveLength(76);
    const d = parse(file(p, "gke-us-central1", "deployment-course-organizer-course-organizer-api.yaml"));
    expect(d).toEqual(get(p, DEP, "workloads-us-central1-deployment-course-organizer-course-organizer-api").inputs);
    const h = parse(file(p, "gke-europe-west1", "horizontalpodautoscaler-course-organizer-api-hpa.yaml"));
    expect(h.spec.minReplicas).toBe(10);
    expect(h.spec.maxReplicas).toBe(20);
    // Every generated secret value of the plan (passwords, AUTH strings, settings JSON) is absent from the manifests.
    const secrets = ofType(p, "gcp:secretmanager/secretVersion:SecretVersion").map((v) => (v.inputs.secretData as { "[secret]": string })["[secret]"]);
    expect(secrets.length).toBeGreaterThan(5);
    for (const f of files) for (const s of secrets) if (s) expect(f.content.includes(s), `${f.role}/${f.path}`).toBe(false);
    // The init script names the settings key it reads (s["DATABASE_PASSWORD"]), never a value.
    expect(files.map((f) => f.content.replaceAll('s["DATABASE_PASSWORD"]', "")).join("\n")).not.toMatch(/PASSWORD|rediss:\/\//);
    expect(parse(file(p, "gke-europe-west1", "configmap-course-organizer-pgbouncer.yaml")).data["pgbouncer.ini"]).toContain("pool_mode = transaction\n");
  });
});

describe("global entry on one anycast IP", () => {
  it("/api/* and /ws/* backend services hold the NEGs of every region and zone, after the Services", async () => {
    const p = await plan("stage4");
    const neg = (w: string, region: string, zones: string[]) =>
      zones.map((z) => `https://www.googleapis.com/compute/v1/projects/course-organizer-demo/zones/${region}-${z}/networkEndpointGroups/co-${w}-${region}`);
    for (const w of ["api", "ws"]) {
      const be = get(p, "gcp:compute/backendService:BackendService", `lb-be-${w}-gke`);
      const backends = be.inputs.backends as { group: string; balancingMode: string; maxRatePerEndpoint: number }[];
      expect(backends.map((b) => b.group)).toEqual([...neg(w, "us-central1", ["a", "b", "c"]), ...neg(w, "europe-west1", ["b", "c", "d"])]);
      expect(backends.every((b) => b.balancingMode === "RATE" && b.maxRatePerEndpoint === 100)).toBe(true);
      expect(be.dependencies).toContain(get(p, "kubernetes:core/v1:Service", `workloads-us-central1-service-course-organizer-${w}`).urn);
      expect(be.dependencies).toContain(get(p, "kubernetes:core/v1:Service", `workloads-europe-west1-service-course-organizer-${w}`).urn);
    }
    // Seed: /ws with client-IP affinity and 3600 s; /api without affinity.
    expect(get(p, "gcp:compute/backendService:BackendService", "lb-be-ws-gke").inputs).toMatchObject({
      sessionAffinity: "NONE",
      timeoutSec: 3600,
      loadBalancingScheme: "EXTERNAL_MANAGED",
    });
    expect(get(p, "gcp:compute/backendService:BackendService", "lb-be-api-gke").inputs).toMatchObject({ sessionAffinity: "NONE", timeoutSec: 30 });
  });

  it("stage 3 -> 4 cut-over: instance groups and GKE side by side, GKE taking loadBalancer.gkeTrafficPercent", async () => {
    const p = await plan("stage4", { sets: ["loadBalancer.gkeTrafficPercent=30", "httpPool.enabled=true", "wsPool.enabled=true"] });
    const m = get(p, "gcp:compute/uRLMap:URLMap", "lb-url-map").inputs as any;
    const rule = (path: string) => m.pathMatchers[0].pathRules.find((r: { paths: string[] }) => r.paths[0] === path).routeAction.weightedBackendServices;
    const be = (n: string) => `projects/course-organizer-demo/global/backendServices/co-be-${n}`;
    expect(rule("/api/*")).toEqual([
      { backendService: be("api-mig"), weight: 70 },
      { backendService: be("api-gke"), weight: 30 },
    ]);
    expect(rule("/ws/*")).toEqual([
      { backendService: be("ws-mig"), weight: 70 },
      { backendService: be("ws-gke"), weight: 30 },
    ]);
    // The global IP stays the same resource through the cut-over.
    expect(get(p, "gcp:compute/globalAddress:GlobalAddress", "lb-ip").urn).toBe(
      get(await plan("stage4"), "gcp:compute/globalAddress:GlobalAddress", "lb-ip").urn,
    );
  });

  it("with gkeTrafficPercent 0 (the first stage-4 up, while the NEG controller creates the NEGs) no backend names a NEG", async () => {
    const p = await plan("stage4", { sets: ["loadBalancer.gkeTrafficPercent=0", "httpPool.enabled=true", "wsPool.enabled=true"] });
    const groups = ofType(p, "gcp:compute/backendService:BackendService").flatMap((b) =>
      ((b.inputs.backends as { group: string }[] | undefined) ?? []).map((x) => x.group),
    );
    expect(groups.some((g) => g.includes("networkEndpointGroups"))).toBe(false);
    // The clusters and Services still exist (api, ws and the metrics adapter's per cluster): only the backends wait.
    expect(p.resources.filter((r) => r.type === "kubernetes:core/v1:Service")).toHaveLength(6);
  });
});
