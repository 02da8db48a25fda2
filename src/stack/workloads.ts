/**
 * The app on every GKE cluster (stage 4), once the settings it reads exist: secret and bucket grants for the
 * workloads' identities, the workloads through each cluster's provider, and the NEGs the load balancer uses.
 */
import * as pulumi from "@pulumi/pulumi";
import { Workloads, negSelfLink } from "../../components/workloads";
import { caBundleOf } from "../../components/database";
import { APP_PORT } from "../files/k8s-manifests";
import { HEALTH_PATHS } from "../contract";
import type { AppSettings } from "../../components/app-settings";
import type { Media } from "../../components/media";
import type { Identity } from "./identity";
import type { Gke } from "./gke";
import type { Caches } from "./caches";
import { APP_DATABASE, type Data } from "./data";
import { EMAIL_SUBSCRIPTION } from "./queue";
import type { LbBackends } from "./routes";
import type { NetworkedContext, Outputs } from "./context";

export interface WorkloadInputs {
  id: Identity;
  gke: Gke;
  data: Data;
  media?: Media;
  appSettings?: AppSettings;
  caches: Caches;
}

/**
 * Pod grants: the settings JSON, Django's key and the primary's password (referenced from the DATABASES map); the
 * api's media bucket, CDN key and Jitsi JWT secret.
 */
function grants({ id, gke, data, media, appSettings }: WorkloadInputs): pulumi.Resource[] {
  const identities = gke.identities!;
  const podSecrets =
    appSettings && data.database ? { settings: appSettings.secret, django: id.secret("DJANGO_SECRET_KEY"), "db-password": data.database.password } : {};
  const secretGrants = Object.entries(podSecrets).flatMap(([key, secret]) => identities.grantSecretAccess(key, secret.secret.id));
  // The api stores uploads in the media bucket and signs media URLs (as the stage-3 HTTP pool); the static bucket
  // is the release identity's alone (components/media.ts staticPublisher).
  const mediaGrants = media
    ? [
        identities.grantBucketWrite("api", "media", media.mediaBucket.name),
        ...(media.signingKey ? identities.grantSecretAccess("cdn-signing-key", media.signingKey.secret.id, ["api"]) : []),
      ]
    : [];
  // The api signs Jitsi room tokens (src/files/jitsi-auth.ts): it alone reads the JWT secret.
  const jitsiGrant = identities.grantSecretAccess("jitsi-jwt", id.secret("JITSI_JWT_APP_SECRET").secret.id, ["api"]);
  return [...secretGrants, ...mediaGrants, ...jitsiGrant];
}

export function buildWorkloads(ctx: NetworkedContext, inputs: WorkloadInputs): { workloads: Workloads[]; lbBackend?: LbBackends["gke"]; outputs: Outputs } {
  const c = ctx.config;
  const k = c.kubernetes;
  const { id, gke, data, media, appSettings, caches } = inputs;
  const identities = gke.identities;
  if (!identities || !appSettings || !data.database) return { workloads: [], outputs: {} };
  const database = data.database;
  const djangoKey = id.secret("DJANGO_SECRET_KEY");
  const jitsiJwtSecret = id.secret("JITSI_JWT_APP_SECRET");
  const podGrants = grants(inputs);
  // The pods verify every Cloud SQL instance they connect to (primary, replicas, shards) against one CA bundle.
  const caBundle = caBundleOf([database, ...data.shards].flatMap((d) => [d.instance, ...d.replicas.map((r) => r.instance)]));
  const workloads = gke.clusters.map(
    (cluster) =>
      new Workloads(
        `workloads-${cluster.region}`,
        {
          prefix: ctx.prefix,
          project: ctx.project,
          region: cluster.region,
          image: id.images.backend,
          secretFiles: [
            { file: "settings.json", secretId: appSettings.secretId },
            { file: "django-secret-key", secretId: djangoKey.secretId, setting: "DJANGO_SECRET_KEY" },
            // The app signs Jitsi room tokens with it (src/files/jitsi-auth.ts).
            { file: "jitsi-jwt-app-secret", secretId: jitsiJwtSecret.secretId, setting: "JITSI_JWT_APP_SECRET", workloads: ["api" as const] },
            // Private media: the api signs Cloud CDN URLs with the media step's key.
            ...(media?.signingKeySecretId
              ? [{ file: "cdn-signing-key", secretId: media.signingKeySecretId, setting: "CDN_SIGNING_KEY" as const, workloads: ["api" as const] }]
              : []),
          ],
          cdnSigningKeyName: media?.signingKeySecretId ? media.keyName : undefined,
          googleServiceAccounts: { api: identities.accounts.api.email, ws: identities.accounts.ws.email, worker: identities.accounts.worker.email },
          adapterServiceAccount: identities.adapter.email,
          // Seed Stage 4 drawing: the primary region runs the larger ranges, every further region the smaller.
          // The region serving as primary (after a region loss: failover.activeRegion) runs the larger ranges.
          replicas: cluster.region === ctx.failover.activeRegion ? k.primary : k.secondary,
          cpuTargetPercent: k.cpuTargetPercent,
          memoryTargetPercent: k.memoryTargetPercent,
          requestsPerSecondPerPod: k.requestsPerSecondPerPod,
          connectionsPerPod: k.connectionsPerPod,
          backlogPerWorker: k.backlogPerWorker,
          workerRegions: gke.clusters.length,
          // Endpoints reachable only from this region: its own Memcached nodes (pymemcache's HashClient list).
          regionSettings: Object.fromEntries(
            caches.memcached.filter((m) => m.region === cluster.region).map((m) => ["MEMCACHED_NODES", m.nodeAddresses] as const),
          ),
          workerSpot: k.workerSpot,
          subscription: EMAIL_SUBSCRIPTION,
          domain: c.domain,
          labels: ctx.labels("workloads"),
          // The settings' DATABASE_URL is 127.0.0.1:6432 in every pod too: a PgBouncer sidecar forwarding to the
          // primary's database, as on the stage-3 instances, within the pods' connection budget (config load.ts).
          pgbouncer: {
            image: id.images.pgbouncer,
            dbHost: database.privateIp,
            dbCaCert: caBundle,
            databases: [APP_DATABASE],
            poolSize: k.pgbouncerPoolSizePerPod,
          },
          // The egress NetworkPolicy's managed-service ranges (Memorystore and Cloud SQL sit outside the cluster).
          egress: { privateServicesRange: ctx.network.privateServicesRange ?? "", regionSubnet: ctx.network.subnets[cluster.region]!.ipCidrRange },
          podDependencies: [...appSettings.bootDependencies, djangoKey.version, jitsiJwtSecret.version, ...podGrants, ...identities.bindings],
        },
        { providers: { kubernetes: cluster.provider } },
      ),
  );
  // Standalone NEGs: the NEG controller creates `<prefix>-api-<region>` / `<prefix>-ws-<region>` in each node zone
  // once the Service exists; GCP gives them no Pulumi resource, so the backend services refer to them by URL
  // (project, zone, name) and wait for the Services (each URL is derived from its Service's output). On a first
  // `up` the controller may still be creating them when the backend service is updated: set
  // loadBalancer.gkeTrafficPercent to 0 for the first stage-4 `up` (no GKE backend yet), then raise it.
  const negUrls = (w: "api" | "ws") =>
    workloads.flatMap((wl, i) =>
      (c.loadBalancer.gkeTrafficPercent > 0 ? gke.clusters[i]!.nodeZones : []).map((zone) =>
        wl.services[w].metadata.apply(() => negSelfLink(ctx.project, zone, wl.negNames[w])),
      ),
    );
  return {
    workloads,
    lbBackend: { api: negUrls("api"), ws: negUrls("ws"), port: APP_PORT, apiHealthPath: HEALTH_PATHS.readiness, wsHealthPath: HEALTH_PATHS.readiness },
    outputs: { gkeClusters: pulumi.all(gke.clusters.map((cl) => cl.name)), gkeNegs: workloads.map((w) => w.negNames) },
  };
}
