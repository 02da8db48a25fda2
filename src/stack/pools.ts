/**
 * HTTP and WebSocket instance groups (stage 3): the backend image with PgBouncer in front of Cloud SQL, reading the
 * app-settings secret at boot; each pool has its own service account, granted exactly the secrets, repository and
 * buckets it uses.
 */
import * as pulumi from "@pulumi/pulumi";
import { InstancePool, type PoolAutoscaling } from "../../components/instance-pool";
import { tags as networkTags } from "../../components/network";
import { APP_INSTANCE_BOOT_SECONDS } from "../config/boot-times";
import { appInstanceFiles, appInstanceUserData, appPort, WS_CONNECTIONS_METRIC, type AppInstanceOptions, type AppKind } from "../files/app-instance";
import type { AppSettings } from "../../components/app-settings";
import type { Database } from "../../components/database";
import type { Media } from "../../components/media";
import { mirrorRepository, type Identity } from "./identity";
import { APP_DATABASE } from "./data";
import type { LbInstanceGroup } from "./routes";
import type { NetworkedContext, Outputs } from "./context";

export interface Pools {
  httpPool?: InstancePool;
  wsPool?: InstancePool;
  /**
   * The load balancer's /api/*, default and /ws/* backends (routes.ts): RATE 100 req/s per instance on the HTTP pool,
   * UTILIZATION on the WebSocket pool. Its own health checks probe the same paths; the groups' auto-healing checks
   * are separate, as GCP recommends (auto-healing should be less eager than load balancing).
   */
  lbBackends: { httpPool?: LbInstanceGroup; wsPool?: LbInstanceGroup };
  outputs: Outputs;
}

export interface PoolInputs {
  id: Identity;
  media?: Media;
  database?: Database;
  appSettings?: AppSettings;
}

export function buildPools(ctx: NetworkedContext, inputs: PoolInputs): Pools {
  const c = ctx.config;
  const httpPool = c.httpPool.enabled ? appPool(ctx, "http", inputs) : undefined;
  const wsPool = c.wsPool.enabled ? appPool(ctx, "ws", inputs) : undefined;
  const backend = (kind: AppKind, pool: InstancePool | undefined): LbInstanceGroup | undefined =>
    pool && { group: pool.instanceGroup, portName: kind, healthCheck: { path: c[`${kind}Pool`].healthPath, port: appPort(kind) } };
  const outputs: Outputs = {};
  if (httpPool) outputs.httpInstanceGroup = httpPool.instanceGroup;
  if (wsPool) outputs.wsInstanceGroup = wsPool.instanceGroup;
  return { httpPool, wsPool, lbBackends: { httpPool: backend("http", httpPool), wsPool: backend("ws", wsPool) }, outputs };
}

/** The autoscaling policy of a pool, from the config. */
function autoscalingOf(ctx: NetworkedContext, kind: AppKind): PoolAutoscaling {
  const { httpPool: h, wsPool: w } = ctx.config;
  if (kind === "http") {
    return {
      minReplicas: h.minReplicas,
      maxReplicas: h.maxReplicas,
      cooldownSeconds: h.cooldownSeconds,
      cpuTarget: h.cpuTargetPercent / 100,
      // Seed "Request count: 100 req/s per instance": the /api backend balances in RATE mode with
      // maxRatePerInstance = requestsPerSecondPerInstance (routes.ts), and the autoscaler keeps 100 %
      // of that capacity, i.e. it adds instances once the mean passes 100 req/s (10 x 100 = the stage's peak).
      loadBalancingUtilization: 1,
      scaleIn: { maxReplicas: h.scaleInMaxReplicas, windowSeconds: h.scaleInWindowSeconds },
    };
  }
  return {
    minReplicas: w.minReplicas,
    maxReplicas: w.maxReplicas,
    cooldownSeconds: w.cooldownSeconds,
    metrics: [
      // Seed "Memory 75 %": the Ops Agent's per-instance memory use (the hypervisor cannot see it).
      { name: "agent.googleapis.com/memory/percent_used", target: w.memoryTargetPercent, type: "GAUGE", filter: 'metric.labels.state = "used"' },
      // Seed "1000 connections/instance": the count each instance publishes (src/files/app-instance.ts).
      { name: WS_CONNECTIONS_METRIC, target: w.connectionsPerInstance, type: "GAUGE" },
    ],
    scaleIn: { maxReplicas: w.scaleInMaxReplicas, windowSeconds: w.scaleInWindowSeconds },
  };
}

function appPool(ctx: NetworkedContext, kind: AppKind, { id, media, database, appSettings }: PoolInputs): InstancePool | undefined {
  const c = ctx.config;
  const p = kind === "http" ? c.httpPool : c.wsPool;
  if (!database || !appSettings) return undefined;
  const djangoSecret = id.secret("DJANGO_SECRET_KEY");
  const jitsiJwtSecret = id.secret("JITSI_JWT_APP_SECRET");
  // Private media: Gunicorn signs the CDN URLs with the media step's key (its secret, granted below).
  const signing =
    kind === "http" && media?.signingKey && media.keyName
      ? { secretId: media.signingKey.secretId, keyName: media.keyName, version: media.signingKey.version }
      : undefined;
  const extraSecrets = [
    { env: "DJANGO_SECRET_KEY", secretId: djangoSecret.secretId },
    // Gunicorn signs Jitsi room tokens (src/files/jitsi-auth.ts); Daphne has no use for the secret.
    ...(kind === "http" ? [{ env: "JITSI_JWT_APP_SECRET", secretId: jitsiJwtSecret.secretId }] : []),
    ...(signing ? [{ env: "CDN_SIGNING_KEY", secretId: signing.secretId }] : []),
  ];
  const boot = appInstanceInputs({
    kind,
    project: ctx.project,
    backendImage: id.images.backend,
    pgbouncerImage: id.images.pgbouncer,
    registryHosts: id.registryHosts,
    settingsSecretId: appSettings.secretId,
    secrets: extraSecrets,
    cdnSigningKeyName: signing?.keyName,
    dbHost: database.privateIp,
    // The CAs of the primary and its replicas: PgBouncer's and the direct connections' (DATABASE_REPLICA_URL).
    dbCaCert: database.caBundle,
    dbName: APP_DATABASE,
    poolSize: c.database.pgbouncerPoolSize,
    domain: c.domain,
    gunicornWorkers: c.httpPool.gunicornWorkers,
    gunicornThreads: c.httpPool.gunicornThreads,
  });
  const port = appPort(kind);
  return new InstancePool(`${kind}-pool`, {
    ...ctx.scope(`${kind}-pool`),
    ...ctx.placement(ctx.region),
    role: kind,
    zones: ctx.zones(ctx.region),
    machineType: p.machineType,
    tags: [kind === "http" ? networkTags.api : networkTags.ws],
    userData: boot.userData,
    // The settings are read at boot: naming their version here makes a new version a new template, which the
    // group rolls out (a name, never the value).
    metadata: { "settings-version": appSettings.secret.version.name },
    renderRole: `${kind}-pool`,
    renderFiles: boot.files,
    projectRoles: ["roles/logging.logWriter", "roles/monitoring.metricWriter"],
    secretIds: [appSettings.secretId, ...extraSecrets.map((x) => x.secretId)],
    registry: { location: ctx.region, repository: id.registry.repository.name },
    imageMirror: mirrorRepository(ctx, id),
    // Gunicorn stores uploads in the media bucket; Daphne only reads settings. Nobody at runtime writes the
    // static bucket: the release identity publishes it (components/media.ts staticPublisher).
    writableBuckets: kind === "http" && media ? [media.mediaBucketName] : [],
    bootDependencies: [
      ...appSettings.bootDependencies,
      djangoSecret.version,
      ...(kind === "http" ? [jitsiJwtSecret.version] : []),
      ...(signing ? [signing.version] : []),
    ],
    namedPorts: [{ name: kind, port }],
    healthCheck: {
      port,
      path: p.healthPath,
      // Django answers only for ALLOWED_HOSTS: the probe sends the site's host.
      host: c.domain,
      // First boot: packages, image pulls and settings take a few minutes before the app answers.
      initialDelaySec: APP_INSTANCE_BOOT_SECONDS,
    },
    autoscaling: autoscalingOf(ctx, kind),
    description: kind === "http" ? "HTTP pool (Gunicorn)" : "WebSocket pool (Daphne)",
  });
}

/**
 * The user-data and files of an app instance from its (partly unknown) inputs: names and addresses are resolved,
 * never secret values. The file list depends only on plain options, so previews register every path too.
 */
function appInstanceInputs(
  o: Omit<AppInstanceOptions, "settingsSecretId" | "secrets" | "dbHost" | "dbCaCert"> & {
    dbCaCert: pulumi.Input<string>;
    settingsSecretId: pulumi.Input<string>;
    secrets: { env: string; secretId: pulumi.Input<string> }[];
    dbHost: pulumi.Input<string>;
  },
): { userData: pulumi.Output<string>; files: { path: string; content: pulumi.Output<string> }[] } {
  const resolved = pulumi
    .all([o.settingsSecretId, pulumi.all(o.secrets.map((s) => s.secretId)), o.dbHost, o.dbCaCert])
    .apply(([settingsSecretId, ids, dbHost, dbCaCert]) => {
      const opts: AppInstanceOptions = { ...o, settingsSecretId, dbHost, dbCaCert, secrets: o.secrets.map((s, i) => ({ env: s.env, secretId: ids[i]! })) };
      const files = appInstanceFiles(opts);
      return { files, userData: appInstanceUserData(opts, files) };
    });
  const paths = appInstanceFiles({
    ...o,
    settingsSecretId: "x",
    dbHost: "10.0.0.1",
    dbCaCert: "x",
    secrets: o.secrets.map((s) => ({ env: s.env, secretId: "x" })),
  }).map((f) => f.renderPath);
  return {
    userData: resolved.apply((r) => r.userData),
    files: paths.map((p) => ({ path: p, content: resolved.apply((r) => r.files.find((f) => f.renderPath === p)!.content) })),
  };
}
