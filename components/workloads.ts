import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { ServiceAccount } from "./service-account";
import { fileRecorder, type RenderedFile } from "../src/render/registry";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext } from "./context";
import {
  ADAPTER_NAME,
  ADAPTER_NAMESPACE,
  APP_NAMESPACE,
  WORKLOADS,
  clusterManifests,
  manifestFileName,
  negName,
  podPgbouncerIni,
  type Manifest,
  type Workload,
  type WorkloadManifestArgs,
} from "../src/files/k8s-manifests";

export interface WorkloadIdentitiesArgs extends Pick<ComponentContext, "prefix" | "project"> {
  /**
   * Resources after which the project's workload pool `<project>.svc.id.goog` exists: the GKE clusters with
   * Workload Identity. IAM refuses a binding that names the pool before ("Identity Pool does not exist").
   */
  workloadPoolReady: pulumi.Input<pulumi.Resource>[];
}

/**
 * The Google service accounts the GKE workloads act as (Workload Identity), one per workload so that publish
 * (api) and subscribe (worker) rights stay apart, plus the metrics adapter's (monitoring.viewer). The
 * `roles/iam.workloadIdentityUser` bindings name the Kubernetes service account in the project's workload pool
 * (`<project>.svc.id.goog[course-organizer/api]`), which is the same in every cluster of the project: one binding
 * serves all regions.
 */
export class WorkloadIdentities extends pulumi.ComponentResource {
  public readonly accounts: Record<Workload, ServiceAccount>;
  public readonly adapter: ServiceAccount;
  /** The workloadIdentityUser bindings; pods must not start before them (their token exchange would fail). */
  public readonly bindings: gcp.serviceaccount.IAMMember[];

  private readonly name: string;

  constructor(name: string, args: WorkloadIdentitiesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:kubernetes:WorkloadIdentities", name, {}, opts);
    this.name = name;
    const pool = `${args.project}.svc.id.goog`;
    const describe: Record<Workload, string> = {
      api: "GKE api pods (Gunicorn): read settings, publish to email-queue",
      ws: "GKE ws pods (Daphne): read settings",
      worker: "GKE e-mail workers: read settings, consume email-worker",
    };
    const mk = (key: string, description: string, roles: string[]) =>
      new ServiceAccount(`${name}-${key}`, { prefix: args.prefix, project: args.project, role: `gke-${key}`, description, roles }, { parent: this });
    this.accounts = {
      api: mk("api", describe.api, ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/cloudtrace.agent"]),
      ws: mk("ws", describe.ws, ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/cloudtrace.agent"]),
      worker: mk("worker", describe.worker, ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/cloudtrace.agent"]),
    };
    // The adapter reads Cloud Monitoring time series (Managed Prometheus and Pub/Sub metrics) for the HPAs.
    this.adapter = mk("metrics-adapter", "Custom Metrics Stackdriver Adapter: reads metrics for the HPAs", ["roles/monitoring.viewer"]);
    const bind = (key: string, sa: ServiceAccount, ksa: string) =>
      new gcp.serviceaccount.IAMMember(
        `${name}-${key}-wi`,
        { serviceAccountId: sa.account.name, role: "roles/iam.workloadIdentityUser", member: `serviceAccount:${pool}[${ksa}]` },
        { parent: this, dependsOn: args.workloadPoolReady },
      );
    this.bindings = [
      ...WORKLOADS.map((w) => bind(w, this.accounts[w], `${APP_NAMESPACE}/${w}`)),
      bind("metrics-adapter", this.adapter, `${ADAPTER_NAMESPACE}/${ADAPTER_NAME}`),
    ];
    this.registerOutputs({});
  }

  /**
   * Let workloads read a secret (`<name>-<workload>-<key>-accessor`, one grant per workload): the secrets they read
   * (app settings, Django's key, passwords) are created after the identities, which the data step grants first.
   */
  grantSecretAccess(key: string, secretId: pulumi.Input<string>, workloads: readonly Workload[] = WORKLOADS): gcp.secretmanager.SecretIamMember[] {
    return workloads.map(
      (w) =>
        new gcp.secretmanager.SecretIamMember(
          `${this.name}-${w}-${key}-accessor`,
          { secretId, role: "roles/secretmanager.secretAccessor", member: this.accounts[w].member },
          { parent: this },
        ),
    );
  }

  /** Let a workload write a bucket's objects (`<name>-<workload>-bucket-<key>`). */
  grantBucketWrite(workload: Workload, key: string, bucket: pulumi.Input<string>): gcp.storage.BucketIAMMember {
    return new gcp.storage.BucketIAMMember(
      `${this.name}-${workload}-bucket-${key}`,
      { bucket, role: "roles/storage.objectAdmin", member: this.accounts[workload].member },
      { parent: this },
    );
  }
}

/** A zonal NEG's URL (the NEG controller creates it; the load balancer refers to it by project, zone and name). */
export function negSelfLink(project: string, zone: string, name: string): string {
  return `https://www.googleapis.com/compute/v1/projects/${project}/zones/${zone}/networkEndpointGroups/${name}`;
}

export interface WorkloadsArgs extends Omit<WorkloadManifestArgs, "pgbouncer"> {
  /**
   * The PgBouncer sidecar of every app pod: its image (config images.pgbouncer), the Cloud SQL primary's private IP,
   * the databases it forwards (the stage-3 instances' own) and the server pool per pod
   * (config kubernetes.pgbouncerPoolSizePerPod, budgeted against database.maxConnections in src/config/load.ts).
   */
  pgbouncer: { image: string; dbHost: pulumi.Input<string>; dbCaCert: pulumi.Input<string>; databases: string[]; poolSize: number };
  /** Resources pods need before they start: the settings secret's version and accessor grants, the WI bindings. */
  podDependencies: pulumi.Input<pulumi.Resource>[];
}

/** The Kubernetes resource class for a manifest's kind; CRDs (PodMonitoring) go through CustomResource. */
function create(name: string, m: Manifest, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
  const a = m as never;
  switch (m.kind) {
    case "Namespace":
      return new k8s.core.v1.Namespace(name, a, opts);
    case "ServiceAccount":
      return new k8s.core.v1.ServiceAccount(name, a, opts);
    case "ConfigMap":
      return new k8s.core.v1.ConfigMap(name, a, opts);
    case "Service":
      return new k8s.core.v1.Service(name, a, opts);
    case "Deployment":
      // The HPA owns the replica count after creation; an update must not reset it to the initial value.
      return new k8s.apps.v1.Deployment(name, a, { ...opts, ignoreChanges: ["spec.replicas"] });
    case "PodDisruptionBudget":
      return new k8s.policy.v1.PodDisruptionBudget(name, a, opts);
    case "HorizontalPodAutoscaler":
      return new k8s.autoscaling.v2.HorizontalPodAutoscaler(name, a, opts);
    case "ClusterRole":
      return new k8s.rbac.v1.ClusterRole(name, a, opts);
    case "ClusterRoleBinding":
      return new k8s.rbac.v1.ClusterRoleBinding(name, a, opts);
    case "RoleBinding":
      return new k8s.rbac.v1.RoleBinding(name, a, opts);
    case "APIService":
      return new k8s.apiregistration.v1.APIService(name, a, opts);
    default:
      return new k8s.apiextensions.CustomResource(name, a, opts);
  }
}

/**
 * Argument checks, one refusal line each: every replica range satisfies min <= initial <= max. The config refuses
 * kubernetes.primary/secondary ranges that do not first (rules/pairs.ts).
 */
export function workloadsProblems(args: Pick<WorkloadsArgs, "replicas">): string[] {
  const refuse = argRefuser("Workloads");
  const p: string[] = [];
  for (const w of WORKLOADS) {
    const r = args.replicas[w];
    if (r.min > r.max) p.push(refuse(`replicas.${w}.min`, r.min, `is above args.replicas.${w}.max ${r.max}`, `at most ${r.max}`, r.max));
    else if (r.initial < r.min || r.initial > r.max)
      p.push(
        refuse(
          `replicas.${w}.initial`,
          r.initial,
          `is outside args.replicas.${w}.min..max (${r.min}..${r.max})`,
          `${r.min}-${r.max}`,
          Math.min(r.max, Math.max(r.min, r.initial)),
        ),
      );
  }
  return p;
}

/**
 * The app on one GKE cluster, through the cluster's Kubernetes provider (pass it as
 * `{ providers: { kubernetes: cluster.provider } }`, GkeCluster.provider): namespace, Workload Identity service accounts,
 * the seed's api / ws / worker Deployments (each pod with a PgBouncer sidecar, its pgbouncer.ini in a ConfigMap),
 * Services with standalone NEGs, PodDisruptionBudgets, HPAs and the
 * metrics pipeline they read (Managed Prometheus PodMonitoring and the Custom Metrics Stackdriver Adapter).
 * Every object comes from `src/files/k8s-manifests.ts` and is rendered as `gke-<region>/<kind>-<name>.yaml`.
 *
 * The load balancer refers to the NEGs `<prefix>-api-<region>` and `<prefix>-ws-<region>` by URL in each node
 * zone; the NEG controller creates them when the Services are applied (`services` below: depend on them).
 */
export class Workloads extends pulumi.ComponentResource {
  /** Every Kubernetes object, by file name. */
  public readonly objects: Record<string, pulumi.CustomResource>;
  /** The Services that carry the NEG annotation: the load balancer's backend services come after them. */
  public readonly services: { api: k8s.core.v1.Service; ws: k8s.core.v1.Service };
  /** NEG names per served workload. */
  public readonly negNames: { api: string; ws: string };

  /** The files its machines receive, by role and path (`npm run render` writes them). */
  public readonly files: RenderedFile[] = [];

  constructor(name: string, args: WorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:kubernetes:Workloads", name, {}, opts);
    const renderFile = fileRecorder(this.files);
    const problems = workloadsProblems(args);
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);
    const { podDependencies, pgbouncer, ...manifestArgs } = args;
    const ini = pulumi.output(pgbouncer.dbHost).apply((dbHost) => podPgbouncerIni({ dbHost, databases: pgbouncer.databases, poolSize: pgbouncer.poolSize }));
    const ca = pulumi.output(pgbouncer.dbCaCert);
    const manifests = clusterManifests({
      ...manifestArgs,
      // The hash covers the CA too: a rotated server CA rolls the pods (PgBouncer reads it only at start).
      pgbouncer: {
        image: pgbouncer.image,
        ini,
        serverCa: ca,
        iniSha256: pulumi.all([ini, ca]).apply(([t, c]) => createHash("sha256").update(t).update(c).digest("hex")),
      },
    });
    const role = `gke-${args.region}`;
    this.objects = {};
    const namespaces: pulumi.CustomResource[] = [];
    const accounts: pulumi.CustomResource[] = [];
    const apiServices: pulumi.CustomResource[] = [];
    const configMaps: pulumi.CustomResource[] = [];
    const deployments: Record<string, pulumi.CustomResource> = {};
    const deploymentNamespaces: Record<string, string> = {};
    const services: Partial<Record<string, k8s.core.v1.Service>> = {};
    for (const m of manifests) {
      const file = manifestFileName(m);
      const childName = `${name}-${file.replace(/\.yaml$/, "")}`;
      // The rendered YAML is the same object the resource is created from (`npm run render` writes it).
      renderFile(
        role,
        file,
        pulumi.output(m as unknown as Record<string, pulumi.Input<unknown>>).apply((o) => stringify(o)),
      );
      let dependsOn: pulumi.Input<pulumi.Resource>[] = [...namespaces];
      // App pods mount the pgbouncer.ini ConfigMap: without it they would wait in ContainerCreating. Every pod,
      // the metrics adapter's included, waits for podDependencies: they carry the Workload Identity bindings, and a
      // pod started before its binding applies gets 403 from Google's APIs (IAM is eventually consistent).
      if (m.kind === "Deployment") dependsOn = [...namespaces, ...accounts, ...(m.metadata.namespace === APP_NAMESPACE ? configMaps : []), ...podDependencies];
      // An APIService whose backend does not answer makes API discovery fail for every client ("unable to retrieve
      // the complete list of server APIs: custom.metrics.k8s.io/v1beta1: the server is currently unable to handle
      // the request", kubernetes/kubernetes#72051): register it only once the adapter's Deployment is ready.
      if (m.kind === "APIService") {
        const backend = (m.spec as { service?: { namespace?: string } }).service?.namespace;
        dependsOn = [
          ...namespaces,
          ...Object.entries(deploymentNamespaces)
            .filter(([, ns]) => ns === backend)
            .map(([n]) => deployments[n]!),
        ];
      }
      if (m.kind === "HorizontalPodAutoscaler") {
        const target = (m.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name;
        dependsOn = [...namespaces, ...apiServices, deployments[target]!];
      }
      // The cluster's Kubernetes provider comes with the component's options (`providers: { kubernetes }`).
      const res = create(childName, m, { parent: this, dependsOn });
      this.objects[file] = res;
      if (m.kind === "Namespace") namespaces.push(res);
      if (m.kind === "ServiceAccount") accounts.push(res);
      if (m.kind === "APIService") apiServices.push(res);
      if (m.kind === "ConfigMap") configMaps.push(res);
      if (m.kind === "Deployment") {
        deployments[m.metadata.name] = res;
        deploymentNamespaces[m.metadata.name] = m.metadata.namespace ?? "";
      }
      if (m.kind === "Service" && m.metadata.namespace === APP_NAMESPACE) services[m.metadata.name] = res as k8s.core.v1.Service;
    }
    this.services = { api: services.api!, ws: services.ws! };
    this.negNames = { api: negName(args.prefix, "api", args.region), ws: negName(args.prefix, "ws", args.region) };
    this.registerOutputs({ negNames: this.negNames });
  }
}
