/**
 * GKE hardening of the stage-4 manifests: namespaces enforcing the restricted Pod Security Standard, every
 * container's security context, and default-deny NetworkPolicies with the app's allow list, validated with
 * kubernetes-models and the strict field walk (test/helpers/k8s.ts).
 */
import { describe, expect, it } from "vitest";
import { presetFor } from "../src/config/presets";
import { clusterManifests, networkPolicyManifests, podPgbouncerIni, type Manifest, type WorkloadManifestArgs } from "../src/files/k8s-manifests";
import { modelName, unknownFields, validateWithModels } from "./helpers/k8s";

const preset = presetFor(4, { project: "course-organizer-demo", region: "us-central1", prefix: "co", domain: "courses.example.org" });
const k = preset.kubernetes;
const labels = { app: "course-organizer", component: "workloads", stage: "4", "managed-by": "pulumi" };
const args: WorkloadManifestArgs = {
  prefix: "co",
  project: "course-organizer-demo",
  region: "us-central1",
  image: preset.images.backend,
  secretFiles: [{ file: "settings.json", secretId: "co-app-settings" }],
  googleServiceAccounts: { api: "a@x", ws: "w@x", worker: "k@x" },
  adapterServiceAccount: "m@x",
  replicas: k.primary,
  cpuTargetPercent: 70,
  memoryTargetPercent: 75,
  requestsPerSecondPerPod: 100,
  connectionsPerPod: 1000,
  backlogPerWorker: 50,
  workerRegions: 2,
  subscription: "email-worker",
  domain: "courses.example.org",
  labels,
  pgbouncer: {
    image: preset.images.pgbouncer,
    ini: podPgbouncerIni({ dbHost: "10.100.0.5", databases: ["course_organizer"], poolSize: 2 }),
    iniSha256: "x",
    serverCa: "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n",
  },
  egress: { privateServicesRange: "10.100.0.0/16", regionSubnet: "10.10.0.0/20" },
};
const all = clusterManifests(args);
type Pod = { securityContext?: Record<string, unknown>; initContainers?: Container[]; containers: Container[] };
type Container = { name: string; securityContext?: Record<string, unknown> };
const pods = all.filter((m) => m.kind === "Deployment").map((m) => ({ m, pod: (m.spec as { template: { spec: Pod } }).template.spec }));

describe("restricted Pod Security Standard", () => {
  it("both namespaces enforce, warn and audit it", () => {
    const namespaces = all.filter((m) => m.kind === "Namespace");
    expect(namespaces.map((ns) => ns.metadata.name)).toEqual(["course-organizer", "custom-metrics"]);
    for (const ns of namespaces) {
      expect(ns.metadata.labels).toEqual({
        ...labels,
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
      });
    }
    expect(all.filter((m) => m.kind === "Namespace").map((m) => m.metadata.name)).toEqual(["course-organizer", "custom-metrics"]);
  });

  it("every container: non-root, no privilege escalation, every capability dropped, RuntimeDefault seccomp, read-only root", () => {
    let containers = 0;
    for (const { m, pod } of pods) {
      expect(pod.securityContext?.runAsNonRoot, m.metadata.name).toBe(true);
      expect(pod.securityContext?.seccompProfile, m.metadata.name).toEqual({ type: "RuntimeDefault" });
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        containers++;
        const uid = m.metadata.name === "custom-metrics-stackdriver-adapter" ? 65534 : 10001;
        expect(c.securityContext, `${m.metadata.name}/${c.name}`).toEqual({
          runAsUser: uid,
          runAsGroup: uid,
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        });
      }
    }
    // 3 app Deployments x (fetch-settings, pgbouncer, app) + the adapter.
    expect(containers).toBe(10);
  });

  it("a container without the fields would be caught (the check can fail)", () => {
    const bad = { runAsNonRoot: true };
    expect(() =>
      expect(bad).toEqual({
        runAsUser: 10001,
        runAsGroup: 10001,
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      }),
    ).toThrow();
  });
});

describe("NetworkPolicies: default deny, then the app's allow list", () => {
  const nps = networkPolicyManifests(args);
  const byName = (ns: string, n: string) => nps.find((m) => m.metadata.namespace === ns && m.metadata.name === n)!.spec as Record<string, unknown>;

  it("pass kubernetes-models and the strict walk", async () => {
    // Default deny in both namespaces plus the app's and the adapter's allow lists.
    expect(nps).toHaveLength(6);
    for (const m of nps) {
      expect(await validateWithModels(m as Manifest)).toBe(true);
      expect(unknownFields(m, modelName(m.apiVersion, m.kind))).toEqual([]);
    }
    expect(nps.map((m) => `${m.metadata.namespace}/${m.metadata.name}`)).toEqual([
      "course-organizer/default-deny",
      "custom-metrics/default-deny",
      "course-organizer/app-ingress",
      "course-organizer/metrics-ingress",
      "course-organizer/app-egress",
      "custom-metrics/adapter",
    ]);
  });

  it("deny everything in and out by default in both namespaces", () => {
    for (const ns of ["course-organizer", "custom-metrics"])
      expect(byName(ns, "default-deny")).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  });

  it("admit the load balancer to api and ws on 8080, Managed Prometheus to the metrics port", () => {
    expect(byName("course-organizer", "app-ingress")).toEqual({
      podSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["course-organizer-api", "course-organizer-ws"] }] },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ ipBlock: { cidr: "130.211.0.0/22" } }, { ipBlock: { cidr: "35.191.0.0/16" } }], ports: [{ protocol: "TCP", port: 8080 }] }],
    });
    expect(byName("course-organizer", "metrics-ingress").ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "gmp-system" } } }], ports: [{ protocol: "TCP", port: 9091 }] },
    ]);
  });

  it("let only the app pods reach Cloud SQL, Memorystore and Memcached (outside the cluster: by IP range)", () => {
    const e = byName("course-organizer", "app-egress");
    expect(e.podSelector).toEqual({
      matchExpressions: [{ key: "app", operator: "In", values: ["course-organizer-api", "course-organizer-ws", "course-organizer-worker"] }],
    });
    expect(e.egress).toEqual([
      {
        ports: [
          { protocol: "UDP", port: 53 },
          { protocol: "TCP", port: 53 },
        ],
      },
      { to: [{ ipBlock: { cidr: "169.254.169.254/32" } }], ports: [{ protocol: "TCP", port: 80 }] },
      { to: [{ ipBlock: { cidr: "169.254.169.252/32" } }], ports: [{ protocol: "TCP", port: 988 }] },
      { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }] },
      {
        to: [{ ipBlock: { cidr: "10.100.0.0/16" } }],
        ports: [
          { protocol: "TCP", port: 5432 },
          { protocol: "TCP", port: 6378 },
          { protocol: "TCP", port: 6379 },
          { protocol: "TCP", port: 11211 },
        ],
      },
      {
        to: [{ ipBlock: { cidr: "10.10.0.0/20" } }],
        ports: [
          { protocol: "TCP", port: 6379 },
          { protocol: "TCP", port: 11000, endPort: 13047 },
        ],
      },
    ]);
    // The adapter's namespace never reaches the private services range (Memcached has no authentication).
    expect(JSON.stringify(byName("custom-metrics", "adapter"))).not.toContain("10.100.0.0/16");
    expect(JSON.stringify(byName("custom-metrics", "adapter"))).not.toContain("11211");
  });
});
