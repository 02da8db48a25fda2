/**
 * The Kubernetes manifests every stage-4 cluster receives, as plain objects (pure functions, no Pulumi resources):
 * the app's namespace, service accounts, the seed's Deployments ("Kubernetes Deployment", kubernetes/api-deployment.yaml),
 * Services with standalone NEGs, PodDisruptionBudgets, HPAs (autoscaling/v2), Managed Prometheus PodMonitoring and
 * the Custom Metrics Stackdriver Adapter the HPAs' Pods and External metrics need, and the pgbouncer.ini ConfigMap of
 * the PgBouncer sidecar every app pod runs in front of Cloud SQL.
 *
 * Values that are Pulumi outputs (Google service-account e-mails, the settings secret id) are passed in as
 * `pulumi.Input<string>` and placed as they are; `components/workloads.ts` creates the resources from the very same
 * objects and renders them as YAML (`renderFile("gke-<region>", "<kind>-<name>.yaml", ...)`), and the tests validate
 * them with kubernetes-models plus a strict unknown-field walk.
 */
import type * as pulumi from "@pulumi/pulumi";
import { pgbouncerIni } from "./pgbouncer";
import { PGBOUNCER_LISTEN_PORT, PGBOUNCER_UID } from "./app-instance";
import { DATABASE_CA_FILE, HEALTH_PATHS, PORTS, fileSetting, type SettingName, type WorkerType } from "../contract";
// By digest on the real path: the deploy job resolves the tags (src/config/image-pins.ts).
import { pinnedImage } from "../config/image-pins";

/** The app's namespace in every cluster (the Workload Identity member names it: `<project>.svc.id.goog[course-organizer/api]`). */
export const APP_NAMESPACE = "course-organizer";
/** The adapter's namespace, as in Google's deploy/production/adapter_new_resource_model.yaml. */
export const ADAPTER_NAMESPACE = "custom-metrics";
export const ADAPTER_NAME = "custom-metrics-stackdriver-adapter";
/** Google's release of the adapter (k8s-stackdriver, deploy/production/adapter_new_resource_model.yaml), pinned. */
export const ADAPTER_IMAGE = pinnedImage("gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.15.1-gke.0");
/**
 * gcloud for the init container that fetches the settings secret. Google's `:stable` image (its default since
 * July 2024, replacing `:slim`), by its floating tag on purpose: the google-cloud-cli repository deletes every
 * version older than one year, so a pinned `<version>-stable` would stop pulling a year after it was written and
 * every new pod would hang in Init:ImagePullBackOff. The init container runs one `gcloud secrets versions access`.
 */
export const CLOUD_SDK_IMAGE = pinnedImage("gcr.io/google.com/cloudsdktool/google-cloud-cli:stable");
/** The seed's probe and serving port (livenessProbe/readinessProbe httpGet port 8080). */
export const APP_PORT = PORTS.pod;
/** Prometheus metrics of the app (django-prometheus), kept off the serving port so the load balancer never exposes it. */
export const METRICS_PORT = PORTS.metrics;
/** Where the init container writes the settings JSON (a memory-backed emptyDir: never on the node's disk). */
export const SETTINGS_DIR = "/var/run/settings";

/**
 * PgBouncer in every app pod, as on every stage-3 instance: the settings' DATABASE_URL is 127.0.0.1:6432
 * (components/app-settings.ts), which only a process in the pod's own network namespace can serve.
 */
export const PGBOUNCER = {
  port: PGBOUNCER_LISTEN_PORT,
  /** The image's postgres user (Alpine's uid and gid 70), which must alone read the auth file. */
  uid: Number(PGBOUNCER_UID.split(":")[0]),
  gid: Number(PGBOUNCER_UID.split(":")[1]),
  /** The ConfigMap with pgbouncer.ini, mounted read-only. */
  configMap: "pgbouncer",
  configDir: "/etc/pgbouncer",
  /** The settings volume's `pgbouncer` subdirectory (the auth file only), mounted read-only in the sidecar. */
  authDir: "/etc/pgbouncer-auth",
  settingsSubdir: "pgbouncer",
  /** Client connections per pod: Gunicorn threads or Daphne's async handlers, with headroom. */
  maxClientConn: 200,
} as const;

export type Workload = "api" | "ws" | "worker";
export const WORKLOADS: Workload[] = ["api", "ws", "worker"];

/** A Kubernetes object as plain data. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, pulumi.Input<string>> };
  [field: string]: unknown;
}

export interface ReplicaRange {
  /** Deployment replicas at creation (the HPA takes over afterwards). */
  initial: number;
  min: number;
  max: number;
}

export interface WorkloadManifestArgs {
  /** Physical-name prefix (NEG names: `<prefix>-api-<region>`). */
  prefix: string;
  project: string;
  /** The site's host (Django ALLOWED_HOSTS and the CSRF origin, as on the stage-3 instances). */
  domain: string;
  region: string;
  /** The backend image (Gunicorn, Daphne and the workers from one image; WORKER_TYPE picks the process). */
  image: string;
  /**
   * Secrets the pods read at start, each into a file under SETTINGS_DIR: the app settings JSON (AppSettings.secretId)
   * as `settings.json`, Django's SECRET_KEY as `django-secret-key`. Only the ids reach the manifest.
   */
  secretFiles: {
    file: string;
    secretId: pulumi.Input<string>;
    /** The contract's setting the file holds: the container gets `<setting>_FILE` with its path. @default undefined (settings.json: SETTINGS_FILE) */
    setting?: SettingName;
    /** Only these workloads read it. @default all */
    workloads?: Workload[];
  }[];
  /** Cloud CDN key name that signs private media URLs (CDN_SIGNING_KEY_NAME of the api). @default undefined (public media) */
  cdnSigningKeyName?: pulumi.Input<string>;
  /** Google service accounts the Kubernetes service accounts act as (Workload Identity). */
  googleServiceAccounts: Record<Workload, pulumi.Input<string>>;
  /** Google service account of the metrics adapter (needs roles/monitoring.viewer). */
  adapterServiceAccount: pulumi.Input<string>;
  replicas: Record<Workload, ReplicaRange>;
  cpuTargetPercent: number;
  memoryTargetPercent: number;
  /** api HPA: the seed's Pods metric http_requests_per_second, averageValue "100". */
  requestsPerSecondPerPod: number;
  /** ws HPA: open WebSocket connections per Daphne pod. */
  connectionsPerPod: number;
  /** worker HPA: undelivered messages of the subscription per worker pod. */
  backlogPerWorker: number;
  /**
   * How many clusters run workers on the one subscription. Every region's HPA reads the same project-wide backlog
   * (an External metric has no region), so each sizes its own share: the target per pod is multiplied by this count.
   */
  workerRegions: number;
  /**
   * Settings that differ per region, given to the app containers as environment variables beside the shared settings
   * file: endpoints only reachable from the pod's own region (Memorystore for Memcached's nodes).
   */
  regionSettings?: Record<string, pulumi.Input<string>>;
  /** Pub/Sub subscription the workers consume (`email-worker`). */
  subscription: string;
  /** Labels on every object (the stack's labels: app, component, stage, managed-by). */
  labels: Record<string, string>;
  /** The PgBouncer sidecar of every app pod. */
  pgbouncer: PodPgbouncer;
  /** The workers run on the cluster's Spot pool (components/gke-cluster.ts `spotPool`). @default false */
  workerSpot?: boolean;
  /** What the app pods may reach outside the cluster (their egress NetworkPolicy). */
  egress: PodEgress;
}

/** GKE's label and the pool's taint on Spot nodes (components/gke-cluster.ts). */
export const SPOT_NODE_LABEL = "cloud.google.com/gke-spot";

/**
 * Addresses outside the cluster the app pods reach; the egress NetworkPolicy allows exactly these. Memorystore
 * (Redis, Memcached) and Cloud SQL sit outside the cluster in the Private Service Access range, so a pod
 * selector cannot name them: the policy allows their ports to that range for the app pods only. Memcached has
 * no authentication; nothing else in the app's or the adapter's namespace may reach it.
 */
export interface PodEgress {
  /** The Private Service Access range (Cloud SQL, Memorystore for Redis and Memcached), CIDR. */
  privateServicesRange: pulumi.Input<string>;
  /** The region's subnet (Memorystore for Redis Cluster's Private Service Connect endpoints), CIDR. */
  regionSubnet: pulumi.Input<string>;
}

/**
 * The uid and gid every process of an app pod runs as (the init container, PgBouncer and the app): one identity,
 * so the secret files the init container writes 0600 are readable by the sidecar and the app and nobody else.
 */
export const POD_UID = 10001;

/** Ports of the managed services outside the cluster the app reaches (PodEgress). */
export const EGRESS_PORTS = {
  /** Cloud SQL (PgBouncer's server side). */
  postgres: 5432,
  /** Memorystore for Redis with in-transit encryption (6378), without (6379). */
  redisTls: 6378,
  redis: 6379,
  memcached: 11211,
  /** Memorystore for Redis Cluster: discovery 6379, node endpoints 11000-13047 (Google's documented range). */
  redisClusterNodes: { from: 11000, to: 13047 },
} as const;

export interface PodPgbouncer {
  /** edoburu/pgbouncer (config images.pgbouncer), the image the stage-3 instances run. */
  image: string;
  /** pgbouncer.ini from podPgbouncerIni (an output: Cloud SQL's private IP is known once the instance exists). */
  ini: pulumi.Input<string>;
  /**
   * sha256 of `ini`, as a pod-template annotation: PgBouncer reads its ini only at start and a changed ConfigMap
   * restarts no pod, so a new IP or pool size must change the template for the Deployment to roll.
   */
  iniSha256: pulumi.Input<string>;
  /** Cloud SQL's server CA (PEM), in the ConfigMap beside the ini: PgBouncer verifies the server with it. */
  serverCa: pulumi.Input<string>;
}

/**
 * pgbouncer.ini of the sidecar (src/files/pgbouncer.ts, as the stage-3 instances): 127.0.0.1:6432, transaction
 * pooling, server TLS "verify-ca" (the instance's server CA) to the Cloud SQL primary's private IP, `poolSize` server connections per pod
 * (config kubernetes.pgbouncerPoolSizePerPod). No password: the auth file is written at pod start.
 */
export function podPgbouncerIni(o: { dbHost: string; databases: string[]; poolSize: number }): string {
  return pgbouncerIni({
    listenAddr: "127.0.0.1",
    listenPort: PGBOUNCER.port,
    dbHost: o.dbHost,
    dbPort: 5432,
    databases: o.databases,
    poolSize: o.poolSize,
    maxClientConn: Math.max(o.poolSize, PGBOUNCER.maxClientConn),
    authFile: `${PGBOUNCER.authDir}/userlist.txt`,
    // In the foreground with a read-only root filesystem: no pid file, logs to stderr (Cloud Logging).
    pidFile: "",
    // Cloud SQL's server certificate checked against the instance's CA (the ConfigMap's server-ca.pem).
    serverTlsSslmode: "verify-ca",
    serverTlsCaFile: `${PGBOUNCER.configDir}/server-ca.pem`,
  });
}

/** Process each Deployment runs (the image's entrypoint reads WORKER_TYPE; the same values as stages 1-3, src/contract.ts). */
export const WORKER_TYPE: Record<Workload, WorkerType> = { api: "http", ws: "ws", worker: "worker" };
/** Kubernetes Deployment names, as the seed's YAML (`course-organizer-api`). */
export const deploymentName = (w: Workload) => `course-organizer-${w}`;
/** The standalone NEG the NEG controller creates per zone for a workload's Service (`<prefix>-<w>-<region>`). */
export const negName = (prefix: string, w: "api" | "ws", region: string) => `${prefix}-${w}-${region}`;

/**
 * Custom-metric names as the Custom Metrics Stackdriver Adapter serves them. Managed Prometheus stores a scraped
 * gauge `x` as `prometheus.googleapis.com/x/gauge`, and the adapter reads it as `prometheus.googleapis.com|x|gauge`
 * (GKE docs "Autoscale on Prometheus metrics"). The seed's bare `http_requests_per_second` only exists with a
 * Prometheus adapter, which GKE does not run; the app exports it as a gauge (requests in the last second).
 */
export const METRICS = {
  apiRequests: "prometheus.googleapis.com|http_requests_per_second|gauge",
  wsConnections: "prometheus.googleapis.com|websocket_connections|gauge",
  pubsubBacklog: "pubsub.googleapis.com|subscription|num_undelivered_messages",
} as const;

/**
 * The init container's script: each secret's latest version into its file in the pod's memory-backed volume,
 * 0600 from its creation (umask 077 before the first write: no moment where another user could read it).
 */
export function fetchSecretsScript(files: string[]): string {
  return [
    "umask 077",
    ...files.map((f, i) => `gcloud secrets versions access latest --secret="$SECRET_${i}" --project="$PROJECT" > ${SETTINGS_DIR}/${f}`),
  ].join("\n");
}

/**
 * The init container's second step: PgBouncer's auth file from settings.json (DATABASE_USER, DATABASE_PASSWORD),
 * `"user" "password"` with double quotes doubled (src/files/pgbouncer.ts userlistLine), mode 0600 for the
 * image's postgres user only, in the memory-backed volume. Python parses the JSON: google-cloud-cli:stable has no
 * jq; gcloud bundles its own Python 3 on x86_64 (platform/bundledpythonunix, not on PATH), and the arm64 image
 * installs python3, so the script picks the bundled one when present, as gcloud's own wrapper does.
 */
export function writeUserlistScript(): string {
  const dir = `${SETTINGS_DIR}/${PGBOUNCER.settingsSubdir}`;
  const py = [
    "import json, sys",
    "s = json.load(open(sys.argv[1]))",
    "q = lambda v: chr(34) + v.replace(chr(34), chr(34) * 2) + chr(34)",
    'print(q(s["DATABASE_USER"]), q(s["DATABASE_PASSWORD"]))',
  ].join("; ");
  // As POD_UID (no root, no chown): the umask makes the file 0600 from its creation, owned by the pod's identity.
  return [
    "PY=/usr/lib/google-cloud-sdk/platform/bundledpythonunix/bin/python3",
    '[ -x "$PY" ] || PY=python3',
    "umask 077",
    `mkdir -p ${dir}`,
    `"$PY" -c '${py}' ${SETTINGS_DIR}/settings.json > ${dir}/userlist.txt.tmp`,
    `mv ${dir}/userlist.txt.tmp ${dir}/userlist.txt`,
  ].join("\n");
}

/** The ConfigMap with the sidecar's pgbouncer.ini (no secret: the password is only in the auth file). */
export function pgbouncerConfigMapManifest(a: WorkloadManifestArgs): Manifest {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: PGBOUNCER.configMap, namespace: APP_NAMESPACE, labels: a.labels },
    data: { "pgbouncer.ini": a.pgbouncer.ini, "server-ca.pem": a.pgbouncer.serverCa },
  };
}

/**
 * PgBouncer as a native sidecar (an init container with restartPolicy Always, Kubernetes 1.29+): it starts after
 * fetch-settings has written the auth file and before the app container, which the kubelet starts only once the
 * startup probe passes, and it stops after the app container (Daphne's 120 s drain keeps its database).
 */
function pgbouncerSidecar(a: WorkloadManifestArgs): Record<string, unknown> {
  // PgBouncer listens on 127.0.0.1 only, which the kubelet's tcpSocket probe (to the pod IP) cannot reach:
  // BusyBox nc (Alpine) connects from inside the pod's network namespace.
  const listening = { exec: { command: ["nc", "-z", "-w", "1", "127.0.0.1", String(PGBOUNCER.port)] } };
  return {
    name: "pgbouncer",
    image: a.pgbouncer.image,
    restartPolicy: "Always",
    // PgBouncer itself, not the image's entrypoint, which writes /etc/pgbouncer (read-only here) from env variables.
    command: ["/usr/bin/pgbouncer", `${PGBOUNCER.configDir}/pgbouncer.ini`],
    ports: [{ name: "pgbouncer", containerPort: PGBOUNCER.port, protocol: "TCP" }],
    startupProbe: { ...listening, periodSeconds: 1, failureThreshold: 30 },
    readinessProbe: { ...listening, periodSeconds: 10 },
    livenessProbe: { ...listening, periodSeconds: 10, failureThreshold: 3 },
    resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
    // The pod's one identity (POD_UID): it owns the 0600 auth file the init container wrote.
    securityContext: restrictedContainer(POD_UID),
    volumeMounts: [
      { name: "pgbouncer-config", mountPath: PGBOUNCER.configDir, readOnly: true },
      { name: "settings", mountPath: PGBOUNCER.authDir, subPath: PGBOUNCER.settingsSubdir, readOnly: true },
    ],
  };
}

/**
 * The restricted Pod Security Standard's container fields (kubernetes.io/docs/concepts/security/pod-security-standards):
 * no privilege escalation, every capability dropped, the RuntimeDefault seccomp profile, a non-root user; the
 * root filesystem read-only (what needs writing gets a memory-backed emptyDir).
 */
export function restrictedContainer(uid: number, gid = uid): Record<string, unknown> {
  return {
    runAsUser: uid,
    runAsGroup: gid,
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** The namespace labels that make the API server enforce (and warn and audit) the restricted standard. */
export const RESTRICTED_POD_SECURITY = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
  "pod-security.kubernetes.io/warn": "restricted",
  "pod-security.kubernetes.io/audit": "restricted",
} as const;

function appLabels(w: Workload): Record<string, string> {
  // The seed's anti-affinity matches `app: course-organizer-<w>`.
  return { app: deploymentName(w) };
}

export function namespaceManifest(labels: Record<string, string>): Manifest {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: APP_NAMESPACE, labels: { ...labels, ...RESTRICTED_POD_SECURITY } } };
}

/** Kubernetes service accounts, each acting as its Google service account (Workload Identity). */
export function serviceAccountManifests(a: WorkloadManifestArgs): Manifest[] {
  return WORKLOADS.map((w) => ({
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: {
      name: w,
      namespace: APP_NAMESPACE,
      labels: a.labels,
      annotations: { "iam.gke.io/gcp-service-account": a.googleServiceAccounts[w] },
    },
  }));
}

/**
 * The seed's Deployment for one workload (api-deployment.yaml), with the settings fetched from Secret Manager at
 * start and PgBouncer on 127.0.0.1:6432 beside the app (the settings' DATABASE_URL), as on the stage-3 instances.
 */
export function deploymentManifest(a: WorkloadManifestArgs, w: Workload): Manifest {
  const labels = appLabels(w);
  const secretFiles = a.secretFiles.filter((f) => !f.workloads || f.workloads.includes(w));
  // The worker serves no traffic, but the same process answers /health and /ready on 8080 (seed's probes).
  const ports = [
    { name: "http", containerPort: APP_PORT, protocol: "TCP" },
    { name: "metrics", containerPort: METRICS_PORT, protocol: "TCP" },
  ];
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: deploymentName(w), namespace: APP_NAMESPACE, labels: { ...a.labels, ...labels } },
    spec: {
      // Seed: replicas 20 (api, primary region); the HPA owns the count afterwards (Pulumi ignores it, see Workloads).
      replicas: a.replicas[w].initial,
      selector: { matchLabels: labels },
      // Seed: RollingUpdate maxSurge 5, maxUnavailable 2.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 5, maxUnavailable: 2 } },
      template: {
        metadata: { labels: { ...a.labels, ...labels }, annotations: { "course-organizer/pgbouncer-ini-sha256": a.pgbouncer.iniSha256 } },
        spec: {
          serviceAccountName: w,
          // Restricted Pod Security: every process non-root as POD_UID, RuntimeDefault seccomp (the namespace enforces it).
          securityContext: { runAsNonRoot: true, runAsUser: POD_UID, runAsGroup: POD_UID, fsGroup: POD_UID, seccompProfile: { type: "RuntimeDefault" } },
          // Daphne holds WebSockets for up to an hour (the load balancer's 3600 s): give them time to drain. A Spot
          // node gets 30 s notice, of which GKE's graceful node shutdown gives ordinary pods 15 s.
          terminationGracePeriodSeconds: w === "ws" ? 120 : w === "worker" && a.workerSpot ? 15 : 30,
          ...(w === "worker" && a.workerSpot
            ? {
                nodeSelector: { [SPOT_NODE_LABEL]: "true" },
                tolerations: [{ key: SPOT_NODE_LABEL, operator: "Equal", value: "true", effect: "NoSchedule" }],
              }
            : {}),
          volumes: [
            { name: "settings", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
            { name: "pgbouncer-config", configMap: { name: PGBOUNCER.configMap } },
            // Scratch space with read-only root filesystems: gcloud's configuration, Gunicorn's worker heartbeats.
            { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
          ],
          initContainers: [
            {
              name: "fetch-settings",
              image: CLOUD_SDK_IMAGE,
              // The secret's id only; the value is read with the pod's Workload Identity and stays in memory.
              command: ["sh", "-ec", [fetchSecretsScript(secretFiles.map((f) => f.file)), writeUserlistScript()].join("\n")],
              env: [
                ...secretFiles.map((f, i) => ({ name: `SECRET_${i}`, value: f.secretId })),
                { name: "PROJECT", value: a.project },
                // gcloud writes its configuration and credentials cache under its config directory.
                { name: "CLOUDSDK_CONFIG", value: "/tmp/gcloud" },
                { name: "HOME", value: "/tmp" },
              ],
              securityContext: restrictedContainer(POD_UID),
              volumeMounts: [
                { name: "settings", mountPath: SETTINGS_DIR },
                { name: "tmp", mountPath: "/tmp" },
              ],
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
            },
            pgbouncerSidecar(a),
          ],
          containers: [
            {
              name: w,
              image: a.image,
              ports,
              // Seed: requests 500m / 1Gi, limits 2000m / 4Gi.
              resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2000m", memory: "4Gi" } },
              env: [
                { name: "WORKER_TYPE", value: WORKER_TYPE[w] },
                { name: "PORT", value: String(APP_PORT) },
                { name: "METRICS_PORT", value: String(METRICS_PORT) },
                { name: "SETTINGS_FILE", value: `${SETTINGS_DIR}/settings.json` },
                // Secrets mounted as files: the contract's name with _FILE (the settings module reads the file).
                ...secretFiles.filter((f) => f.setting).map((f) => ({ name: fileSetting(f.setting!), value: `${SETTINGS_DIR}/${f.file}` })),
                ...(w === "api" && a.cdnSigningKeyName ? [{ name: "CDN_SIGNING_KEY_NAME", value: a.cdnSigningKeyName }] : []),
                // Django answers only its ALLOWED_HOSTS: the site, and the pod's own IP, which the kubelet's probes
                // and the load balancer's NEG health checks send as Host (as the instances add theirs at stage 3).
                { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                { name: "DJANGO_ALLOWED_HOSTS", value: `${a.domain},$(POD_IP)` },
                { name: "CSRF_TRUSTED_ORIGINS", value: `https://${a.domain}` },
                { name: "REGION", value: a.region },
                // Settings only this region's pods can use (its own Memcached nodes).
                ...Object.entries(a.regionSettings ?? {}).map(([name, value]) => ({ name, value })),
              ],
              securityContext: restrictedContainer(POD_UID),
              volumeMounts: [
                { name: "settings", mountPath: SETTINGS_DIR, readOnly: true },
                { name: "tmp", mountPath: "/tmp" },
                // The Cloud SQL instances' CA bundle, which the DATABASES map's direct entries verify against.
                { name: "pgbouncer-config", mountPath: DATABASE_CA_FILE, subPath: "server-ca.pem", readOnly: true },
              ],
              // Seed: liveness /health on 8080 (30 s, 10 s), readiness /ready on 8080 (5 s, 5 s).
              livenessProbe: { httpGet: { path: HEALTH_PATHS.liveness, port: APP_PORT }, initialDelaySeconds: 30, periodSeconds: 10 },
              readinessProbe: { httpGet: { path: HEALTH_PATHS.readiness, port: APP_PORT }, initialDelaySeconds: 5, periodSeconds: 5 },
            },
          ],
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    labelSelector: { matchExpressions: [{ key: "app", operator: "In", values: [deploymentName(w)] }] },
                    topologyKey: "kubernetes.io/hostname",
                  },
                },
              ],
            },
          },
        },
      },
    },
  };
}

/**
 * ClusterIP Services with standalone NEGs. Choice: standalone zonal NEGs behind the existing global external
 * Application Load Balancer, not the multi-cluster Gateway. The global backend services already exist (stage 2-3,
 * with the instance groups), so GKE joins them as weighted backends for a gradual cut-over on the same anycast IP
 * and certificate; one backend service with the NEGs of every region sends each request to the nearest healthy
 * region. A multi-cluster Gateway would need a fleet, a config cluster and its own load balancer and IP.
 * The NEG controller creates one NEG per zone named by the annotation; the load balancer refers to them by URL.
 */
export function serviceManifest(a: WorkloadManifestArgs, w: "api" | "ws"): Manifest {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: w,
      namespace: APP_NAMESPACE,
      labels: a.labels,
      annotations: { "cloud.google.com/neg": JSON.stringify({ exposed_ports: { [String(APP_PORT)]: { name: negName(a.prefix, w, a.region) } } }) },
    },
    spec: {
      type: "ClusterIP",
      selector: appLabels(w),
      ports: [{ name: "http", port: APP_PORT, targetPort: APP_PORT, protocol: "TCP" }],
    },
  };
}

/** At most the rolling update's maxUnavailable (2) pods out at once for node drains and upgrades. */
export function podDisruptionBudgetManifest(a: WorkloadManifestArgs, w: Workload): Manifest {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: w, namespace: APP_NAMESPACE, labels: a.labels },
    spec: { maxUnavailable: 2, selector: { matchLabels: appLabels(w) } },
  };
}

const scaleTarget = (w: Workload) => ({ apiVersion: "apps/v1", kind: "Deployment", name: deploymentName(w) });
const utilization = (name: "cpu" | "memory", averageUtilization: number) => ({
  type: "Resource",
  resource: { name, target: { type: "Utilization", averageUtilization } },
});

/** HPAs (autoscaling/v2): the seed's api-hpa, ws on connections per pod, workers on the Pub/Sub backlog. */
export function hpaManifest(a: WorkloadManifestArgs, w: Workload): Manifest {
  const r = a.replicas[w];
  const metrics =
    w === "api"
      ? [
          utilization("cpu", a.cpuTargetPercent),
          utilization("memory", a.memoryTargetPercent),
          {
            type: "Pods",
            pods: { metric: { name: METRICS.apiRequests }, target: { type: "AverageValue", averageValue: String(a.requestsPerSecondPerPod) } },
          },
        ]
      : w === "ws"
        ? [
            // Seed "WebSocket Scaling": Daphne's limit is memory per connection, so memory scales it too.
            utilization("memory", a.memoryTargetPercent),
            {
              type: "Pods",
              pods: { metric: { name: METRICS.wsConnections }, target: { type: "AverageValue", averageValue: String(a.connectionsPerPod) } },
            },
          ]
        : [
            {
              type: "External",
              external: {
                metric: {
                  name: METRICS.pubsubBacklog,
                  selector: { matchLabels: { "resource.labels.subscription_id": a.subscription } },
                },
                // Each region's share of the one backlog: n HPAs each asking for backlog / (per-pod x n) pods add up
                // to backlog / per-pod, the fleet the backlog needs, instead of n times it.
                target: { type: "AverageValue", averageValue: String(a.backlogPerWorker * a.workerRegions) },
              },
            },
          ];
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: `${w}-hpa`, namespace: APP_NAMESPACE, labels: a.labels },
    spec: {
      scaleTargetRef: scaleTarget(w),
      minReplicas: r.min,
      maxReplicas: r.max,
      metrics,
      // WebSocket pods drop their connections when removed: scale them in slowly.
      ...(w === "ws" ? { behavior: { scaleDown: { stabilizationWindowSeconds: 600, policies: [{ type: "Pods", value: 1, periodSeconds: 120 }] } } } : {}),
    },
  };
}

/** Managed Prometheus scrapes each workload's metrics port (monitoring.googleapis.com/v1 PodMonitoring). */
export function podMonitoringManifest(a: WorkloadManifestArgs, w: Workload): Manifest {
  return {
    apiVersion: "monitoring.googleapis.com/v1",
    kind: "PodMonitoring",
    metadata: { name: w, namespace: APP_NAMESPACE, labels: a.labels },
    spec: {
      selector: { matchLabels: appLabels(w) },
      // 15 s: the HPA syncs every 15 s; a slower scrape would feed it stale values.
      endpoints: [{ port: "metrics", path: "/metrics", interval: "15s" }],
    },
  };
}

/**
 * The Custom Metrics Stackdriver Adapter (Google's deploy/production/adapter_new_resource_model.yaml): it serves
 * custom.metrics.k8s.io (the Pods metrics from Managed Prometheus) and external.metrics.k8s.io (Pub/Sub backlog)
 * to the HPA controller. Its Kubernetes service account acts as a Google service account with monitoring.viewer.
 */
export function metricsAdapterManifests(a: Pick<WorkloadManifestArgs, "adapterServiceAccount" | "labels">): Manifest[] {
  const subject = [{ kind: "ServiceAccount", name: ADAPTER_NAME, namespace: ADAPTER_NAMESPACE }];
  const selector = { run: ADAPTER_NAME, "k8s-app": ADAPTER_NAME };
  const apiService = (group: string, version: string, versionPriority: number): Manifest => ({
    apiVersion: "apiregistration.k8s.io/v1",
    kind: "APIService",
    metadata: { name: `${version}.${group}`, labels: a.labels },
    spec: {
      // As Google's manifest: the aggregator does not verify the adapter's self-signed serving certificate.
      insecureSkipTLSVerify: true,
      group,
      groupPriorityMinimum: 100,
      versionPriority,
      service: { name: ADAPTER_NAME, namespace: ADAPTER_NAMESPACE },
      version,
    },
  });
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ADAPTER_NAMESPACE, labels: { ...a.labels, ...RESTRICTED_POD_SECURITY } } },
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: {
        name: ADAPTER_NAME,
        namespace: ADAPTER_NAMESPACE,
        labels: a.labels,
        annotations: { "iam.gke.io/gcp-service-account": a.adapterServiceAccount },
      },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "custom-metrics:system:auth-delegator", labels: a.labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
      subjects: subject,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "custom-metrics-auth-reader", namespace: "kube-system", labels: a.labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "extension-apiserver-authentication-reader" },
      subjects: subject,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "custom-metrics-resource-reader", labels: a.labels },
      rules: [{ apiGroups: [""], resources: ["pods", "nodes", "nodes/stats"], verbs: ["get", "list", "watch"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "custom-metrics-resource-reader", labels: a.labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "custom-metrics-resource-reader" },
      subjects: subject,
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: ADAPTER_NAME, namespace: ADAPTER_NAMESPACE, labels: { ...a.labels, ...selector } },
      spec: {
        // Two replicas: while the adapter is down every HPA on a Pods or External metric stops scaling.
        replicas: 2,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...selector, "kubernetes.io/cluster-service": "true" } },
          spec: {
            serviceAccountName: ADAPTER_NAME,
            securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
            volumes: [{ name: "serving-cert", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } }],
            containers: [
              {
                name: "pod-custom-metrics-stackdriver-adapter",
                image: ADAPTER_IMAGE,
                // --cert-dir (the API server library's flag): its self-signed serving certificate goes to a writable
                // emptyDir instead of the (read-only) working directory.
                command: ["/adapter", "--use-new-resource-model=true", "--fallback-for-container-metrics=true", "--cert-dir=/var/run/serving-cert"],
                resources: { requests: { cpu: "250m", memory: "400Mi" }, limits: { cpu: "250m", memory: "400Mi" } },
                securityContext: restrictedContainer(65534),
                volumeMounts: [{ name: "serving-cert", mountPath: "/var/run/serving-cert" }],
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: ADAPTER_NAME, namespace: ADAPTER_NAMESPACE, labels: { ...a.labels, ...selector } },
      spec: { type: "ClusterIP", selector, ports: [{ port: 443, targetPort: 443, protocol: "TCP" }] },
    },
    apiService("custom.metrics.k8s.io", "v1beta1", 100),
    apiService("custom.metrics.k8s.io", "v1beta2", 200),
    apiService("external.metrics.k8s.io", "v1beta1", 100),
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "external-metrics-reader", labels: a.labels },
      rules: [{ apiGroups: ["external.metrics.k8s.io"], resources: ["*"], verbs: ["list", "get", "watch"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "external-metrics-reader", labels: a.labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "external-metrics-reader" },
      subjects: [{ kind: "ServiceAccount", name: "horizontal-pod-autoscaler", namespace: "kube-system" }],
    },
  ];
}

/**
 * Every manifest of one cluster, in apply order: namespaces and service accounts first, the adapter and its API
 * registrations, the pods' pgbouncer.ini, then the app's Deployments, Services, budgets, monitoring and HPAs.
 */
export function clusterManifests(a: WorkloadManifestArgs): Manifest[] {
  return [
    namespaceManifest(a.labels),
    ...serviceAccountManifests(a),
    ...metricsAdapterManifests(a),
    pgbouncerConfigMapManifest(a),
    ...WORKLOADS.map((w) => deploymentManifest(a, w)),
    serviceManifest(a, "api"),
    serviceManifest(a, "ws"),
    ...WORKLOADS.map((w) => podDisruptionBudgetManifest(a, w)),
    ...WORKLOADS.map((w) => podMonitoringManifest(a, w)),
    ...WORKLOADS.map((w) => hpaManifest(a, w)),
    ...networkPolicyManifests(a),
  ];
}

/** Google's front ends and health checkers (the load balancer's NEG traffic and probes come from these). */
export const GOOGLE_FRONT_END_RANGES = ["130.211.0.0/22", "35.191.0.0/16"] as const;
/** GKE's metadata server (Workload Identity) as GKE documents it for network policies: 169.254.169.254:80 and 169.254.169.252:988. */
const METADATA = [
  { cidr: "169.254.169.254/32", port: 80 },
  { cidr: "169.254.169.252/32", port: 988 },
];

/**
 * Default-deny NetworkPolicies for the app's and the adapter's namespaces, and the allow list the app needs:
 * - ingress: api and ws on APP_PORT from Google's front ends (the load balancer's NEG traffic and health checks);
 *   the metrics port of every app pod from Managed Prometheus (namespace gmp-system); kubelet probes come from
 *   the node itself, which GKE's network policy always admits;
 * - egress of app pods: DNS (53), the metadata server (Workload Identity), HTTPS (443: Google APIs, the
 *   cluster's private control plane, Sentry), and to the Private Service Access range the ports of Cloud SQL,
 *   Memorystore for Redis and Memcached, and to the region's subnet Redis Cluster's PSC endpoints;
 * - the metrics adapter: ingress 443 (the API server's aggregation layer), egress DNS, metadata, HTTPS.
 * Nothing else in either namespace reaches Memcached, which has no authentication.
 */
export function networkPolicyManifests(a: Pick<WorkloadManifestArgs, "labels" | "egress">): Manifest[] {
  const np = (name: string, namespace: string, spec: Record<string, unknown>): Manifest => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace, labels: a.labels },
    spec,
  });
  const tcp = (port: number, endPort?: number) => ({ protocol: "TCP", port, ...(endPort ? { endPort } : {}) });
  const dns = { ports: [{ protocol: "UDP", port: 53 }, tcp(53)] };
  const metadata = METADATA.map((m) => ({ to: [{ ipBlock: { cidr: m.cidr } }], ports: [tcp(m.port)] }));
  const https = { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [tcp(443)] };
  const p = EGRESS_PORTS;
  const appPods = { matchExpressions: [{ key: "app", operator: "In", values: WORKLOADS.map(deploymentName) }] };
  const out: Manifest[] = [];
  for (const ns of [APP_NAMESPACE, ADAPTER_NAMESPACE]) {
    out.push(np("default-deny", ns, { podSelector: {}, policyTypes: ["Ingress", "Egress"] }));
  }
  out.push(
    np("app-ingress", APP_NAMESPACE, {
      podSelector: { matchExpressions: [{ key: "app", operator: "In", values: [deploymentName("api"), deploymentName("ws")] }] },
      policyTypes: ["Ingress"],
      ingress: [{ from: GOOGLE_FRONT_END_RANGES.map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(APP_PORT)] }],
    }),
    np("metrics-ingress", APP_NAMESPACE, {
      podSelector: appPods,
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "gmp-system" } } }], ports: [tcp(METRICS_PORT)] }],
    }),
    np("app-egress", APP_NAMESPACE, {
      podSelector: appPods,
      policyTypes: ["Egress"],
      egress: [
        dns,
        ...metadata,
        https,
        { to: [{ ipBlock: { cidr: a.egress.privateServicesRange } }], ports: [tcp(p.postgres), tcp(p.redisTls), tcp(p.redis), tcp(p.memcached)] },
        { to: [{ ipBlock: { cidr: a.egress.regionSubnet } }], ports: [tcp(p.redis), tcp(p.redisClusterNodes.from, p.redisClusterNodes.to)] },
      ],
    }),
    np("adapter", ADAPTER_NAMESPACE, {
      podSelector: { matchLabels: { "k8s-app": ADAPTER_NAME } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ ports: [tcp(443)] }],
      egress: [dns, ...metadata, https],
    }),
  );
  return out;
}

/** File name a manifest is rendered as: `<kind>-<namespace>-<name>.yaml` lowercased (names are unique per kind and namespace). */
export function manifestFileName(m: Manifest): string {
  const ns = m.metadata.namespace ? `${m.metadata.namespace}-` : "";
  return `${m.kind.toLowerCase()}-${ns}${m.metadata.name.replace(/[^a-zA-Z0-9.-]+/g, "-")}.yaml`.toLowerCase();
}
