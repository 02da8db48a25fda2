import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { renderFile } from "../src/render/registry";
import { opsAgentConfig, opsAgentPolicyScript } from "../src/files/ops-agent";
import { WS_CONNECTIONS_METRIC } from "../src/files/app-instance";
import { zonesOf as catalogZonesOf } from "../src/config/catalog";

/** Warning and critical level of one metric (seed "Monitoring & Alerts", Key Metrics to Track). */
export interface ThresholdPair {
  warning: number;
  critical: number;
}

/** The seed's metrics table, in the seed's units (percent, milliseconds). */
export interface MonitoringThresholds {
  /** @default { warning: 70, critical: 85 } */
  cpuPercent: ThresholdPair;
  /** @default { warning: 75, critical: 90 } */
  memoryPercent: ThresholdPair;
  /** p95 of API responses. @default { warning: 200, critical: 500 } */
  apiLatencyMs: ThresholdPair;
  /** Share of max_connections in use. @default { warning: 70, critical: 90 } */
  dbConnectionsPercent: ThresholdPair;
  /** Share of the configured WebSocket capacity in use. @default { warning: 75, critical: 90 } */
  websocketConnectionsPercent: ThresholdPair;
  /** @default { warning: 70, critical: 85 } */
  diskPercent: ThresholdPair;
  /** Share of responses that are 5xx. @default { warning: 1, critical: 5 } */
  errorRatePercent: ThresholdPair;
}

export type MetricKey = keyof MonitoringThresholds;
export type Severity = "WARNING" | "CRITICAL";

export interface MonitoringArgs {
  prefix: string;
  project: string;
  labels: Record<string, string>;
  /** The site's host name: uptime checks request https://<domain><path>. */
  domain: string;
  /** One e-mail channel per address; every policy notifies them. */
  alertEmails: string[];
  /** A webhook (token-auth) channel notified by critical policies. */
  webhookUrl?: string;
  /**
   * Secret Manager secret (id in this project) holding a PagerDuty service key: a PagerDuty channel notified by
   * critical policies only. The key is read at deploy time (latest version) and kept a Pulumi secret.
   */
  pagerdutyServiceKeySecret?: string;
  thresholds: MonitoringThresholds;
  /** How long a condition must hold before a policy fires (seconds). @default 300 */
  durationSeconds: number;
  /** Uptime check regions (at least 3, Cloud Monitoring's minimum). @default ["USA", "EUROPE", "ASIA_PACIFIC"] */
  uptimeRegions: string[];
  /** Paths the uptime checks request. @default ["/", "/api/health"] */
  uptimePaths?: string[];
  /**
   * Value of the `app` label every Compute Engine instance of the platform carries (src/naming.ts labels):
   * selects the instances of CPU, memory and disk conditions and of the Ops Agent policy.
   * @default "course-organizer"
   */
  appLabel?: string;
  /**
   * The single VM while it serves (stages 1-2): nginx's access log gives API latency and error rate when no load
   * balancer fronts it; its PostgreSQL (Ops Agent postgresql receiver) the database connections.
   */
  vm?: {
    /** max_connections of the VM's PostgreSQL. @default 100 (PostgreSQL's default; compose does not change it) */
    postgresMaxConnections: number;
  };
  /** Compute Engine instances other than the VM serve (stage 3 instance groups, Jitsi pools): CPU/memory/disk. @default false */
  instancePools?: boolean;
  /**
   * A WebSocket instance group runs Daphne (stage 3): its instances publish WEBSOCKET_METRIC, as the VM does.
   * @default false
   */
  websocketPool?: boolean;
  /** Google's external HTTPS load balancer fronts the app (stage 2 on): latency and error rate come from it. @default false */
  loadBalancer?: boolean;
  /** Cloud SQL for PostgreSQL (stage 3 on): instances whose name starts with `<prefix>-`. */
  cloudSql?: { maxConnections: number };
  /** GKE (stage 4): containers of clusters whose name starts with `<prefix>-`. */
  gke?: boolean;
  /** WebSocket connections the platform is sized for (src/config/capacity.ts); 0 = no WebSocket policies. */
  websocketCapacity: number;
  /** Zones whose instances get the Ops Agent through an OS Config policy (VM zone; pool zones). @default [] */
  opsAgentZones?: string[];
  /** A Cloud Billing budget on this project with 50/90/100 % alerts. */
  budget?: { billingAccount: string; monthlyUsd: number };
  /** Sentry DSN passed through to the app's settings (seed "APM: Sentry"). */
  sentryDsn?: string;
}

/** Custom metric every Daphne host publishes (stage-3 pool instances; the VM's websocket-metric script). */
export const WEBSOCKET_METRIC = WS_CONNECTIONS_METRIC;
/** The same in Cloud Monitoring's PromQL (domain dots -> _, first / -> :, other / -> _). */
export const WEBSOCKET_METRIC_PROMQL = "custom_googleapis_com:course_organizer_websocket_connections";
/** GKE ws pods' gauge as Managed Service for Prometheus stores it. */
export const GKE_WEBSOCKET_METRIC = "prometheus.googleapis.com/websocket_connections/gauge";
export const GKE_WEBSOCKET_METRIC_PROMQL = "websocket_connections";

/** Ops Agent postgresql receiver's backends gauge (one series per database, on the VM's gce_instance). */
export const VM_POSTGRES_BACKENDS_METRIC = "workload.googleapis.com/postgresql.backends";

/**
 * Metric types the platform's own hosts write (the WebSocket count script, the Ops Agent's postgresql receiver).
 * Cloud Monitoring creates such a descriptor only on the first write, and refuses an alert policy whose filter
 * names a type it does not know (404 "Cannot find metric(s) that match type"): on a fresh project the policies
 * are created minutes before the VM boots and writes. Declaring the descriptors lets the policies be created at
 * once; the agent's own descriptor create later updates the same type (metricDescriptors.create updates an
 * existing descriptor and never removes labels). Kinds, value types and labels are what the writers send.
 */
export const HOST_METRIC_DESCRIPTORS: Record<string, { logicalName: string; displayName: string; description: string; labels: { key: string; valueType: string; description: string }[] }> = {
  [WS_CONNECTIONS_METRIC]: {
    logicalName: "websocket-connections",
    displayName: "Course Organizer WebSocket connections",
    description: "Established WebSocket connections to Daphne on one host (written every minute by the host)",
    labels: [],
  },
  [VM_POSTGRES_BACKENDS_METRIC]: {
    logicalName: "postgresql-backends",
    displayName: "PostgreSQL backends",
    description: "Number of backends of the VM's PostgreSQL, per database (Ops Agent postgresql receiver)",
    labels: [{ key: "database", valueType: "STRING", description: "The name of the database." }],
  },
};

/** Google's system namespaces on GKE: their containers are not the app's. */
const GKE_SYSTEM_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease", "gke-managed-system", "gmp-system", "gmp-public", "gke-gmp-system"];

/** One condition of a policy: a Cloud Monitoring threshold condition (filters, aggregation, threshold). */
export interface ConditionSpec {
  /** What the condition watches (becomes the condition's display name). */
  source: string;
  filter: string;
  /** Ratio conditions: the denominator series (numerator / denominator compared to the threshold). */
  denominatorFilter?: string;
  perSeriesAligner: string;
  crossSeriesReducer?: string;
  groupByFields?: string[];
  /** Threshold in the metric's unit (a fraction for utilization metrics, seconds for latencies). */
  value: number;
  /**
   * A PromQL condition instead (the comparison is in the query), created with disableMetricValidation: where a
   * threshold condition cannot say it (a sum over two metric types during the stage 3 -> 4 cut-over), and on
   * every metric that may not exist yet when the policy is created (eventuallyConsistent below).
   */
  promql?: string;
}

/** A metric of the seed's table with the conditions that watch it at this stage. */
export interface MetricSpec {
  key: MetricKey;
  /** Seed's row name. */
  title: string;
  /** Seed's "Action" column. */
  action: string;
  /** What to do, in this project's terms (config keys, commands). */
  runbook: string;
  /** Human threshold: "70 %", "200 ms". */
  unit: "%" | "ms";
  /** The conditions at a level (the warning or the critical value, in the seed's unit). */
  conditions: (level: number) => ConditionSpec[];
}

const q = (s: string) => JSON.stringify(s);

/**
 * Metric types Cloud Monitoring knows only after their first write or minutes after their descriptor is created:
 * logs-based metrics, host-written custom/workload metrics, Managed Prometheus metrics. A threshold condition on
 * one is refused at create with 404 "Cannot find metric(s) ... it could take up to 10 minutes to become available"
 * (hashicorp/terraform-provider-google#11102; the provider retries only 409), so a first `up` would fail. Their
 * conditions are PromQL with disableMetricValidation, which the API documents for exactly this: "alerting policies
 * defined on metrics that do not yet exist" (provider doc of conditionPrometheusQueryLanguage.disableMetricValidation).
 */
export const EVENTUALLY_CONSISTENT_METRIC = /^(logging\.googleapis\.com\/user|custom\.googleapis\.com|workload\.googleapis\.com|prometheus\.googleapis\.com)\//;

/** A Cloud Monitoring metric type's PromQL name: the first `/` becomes `:`, every other `.`, `/` or `-` an `_`. */
export function promqlName(metricType: string): string {
  const i = metricType.indexOf("/");
  return `${metricType.slice(0, i).replace(/[^A-Za-z0-9_]/g, "_")}:${metricType.slice(i + 1).replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/**
 * The seed's metrics table as Cloud Monitoring conditions for what exists. Pure: the stack's args decide which
 * services are watched; the test and the dashboard use the same specs.
 *
 * Choices (why these metrics):
 * - Compute Engine CPU is `instance/cpu/utilization` (0-1); memory and disk come only from inside the guest,
 *   so from the Ops Agent (`agent.googleapis.com/memory|disk/percent_used`, 0-100).
 * - Latency and error rate are measured where requests enter: Google's load balancer when it exists
 *   (`https/total_latencies`, `https/request_count`), else nginx on the VM through logs-based metrics on its
 *   access log (the Ops Agent's journald receiver collects the container's log; nginx logs `rt=$request_time`).
 *   Logs-based metrics need nothing running on the VM beyond the agent, where a Prometheus route would need
 *   Managed Service for Prometheus collectors and an exporter that nginx's stub_status cannot feed (it has no
 *   latencies). WebSocket upgrades (status 101, hours long) are left out of the latency: they are not API calls.
 * - p95 over all traffic: per-series ALIGN_DELTA keeps the latency distributions, REDUCE_PERCENTILE_95 merges
 *   them across series; ALIGN_PERCENTILE_95 per series would instead alert on any one small series (one
 *   response code, one client country) whose own p95 is high.
 * - Ratios (5xx share) are threshold conditions with a denominator filter: no MQL/PromQL is needed.
 */
export function metricSpecs(a: MonitoringArgs): MetricSpec[] {
  const app = a.appLabel ?? "course-organizer";
  const instances = a.vm !== undefined || (a.instancePools ?? false);
  const gceLabel = `resource.type = "gce_instance" AND metadata.user_labels.app = ${q(app)}`;
  const sqlPrefix = `${a.project}:${a.prefix}-`;
  const sql = `resource.type = "cloudsql_database" AND resource.label.database_id = starts_with(${q(sqlPrefix)})`;
  const gke = `resource.type = "k8s_container" AND resource.label.cluster_name = starts_with(${q(`${a.prefix}-`)}) AND NOT resource.label.namespace_name = one_of(${GKE_SYSTEM_NAMESPACES.map(q).join(", ")})`;
  const pct = (v: number) => v / 100;
  const mean = { perSeriesAligner: "ALIGN_MEAN" } as const;

  const scaleUp = [
    ...(a.vm ? ["VM: raise `vm.machineType` (e.g. n2-standard-4 -> n2-standard-8); `up` stops, resizes and starts the VM in place."] : []),
    ...(a.instancePools ? ["Instance groups: raise `httpPool.maxReplicas` / `wsPool.maxReplicas` (or lower the autoscaler targets)."] : []),
    ...(a.cloudSql ? ["Cloud SQL: raise `database.tier` (a restart of a few minutes; HA fails over)."] : []),
    ...(a.gke ? ["GKE: raise `kubernetes.*.api.max` / `kubernetes.nodesPerZoneMax`; check the HPAs are not pinned at max."] : []),
  ];
  const bullet = (xs: string[]) => xs.map((x) => `- ${x}`).join("\n");

  const specs: MetricSpec[] = [];
  specs.push({
    key: "cpuPercent",
    title: "CPU usage",
    action: "Scale up",
    unit: "%",
    runbook: bullet(scaleUp),
    conditions: (level) => [
      ...(instances ? [{ source: "Compute Engine instances", filter: `metric.type = "compute.googleapis.com/instance/cpu/utilization" AND ${gceLabel}`, ...mean, value: pct(level) }] : []),
      ...(a.cloudSql ? [{ source: "Cloud SQL", filter: `metric.type = "cloudsql.googleapis.com/database/cpu/utilization" AND ${sql}`, ...mean, value: pct(level) }] : []),
      ...(a.gke ? [{ source: "GKE containers (of their CPU limit)", filter: `metric.type = "kubernetes.io/container/cpu/limit_utilization" AND ${gke}`, ...mean, value: pct(level) }] : []),
    ],
  });
  specs.push({
    key: "memoryPercent",
    title: "Memory usage",
    action: "Scale up",
    unit: "%",
    runbook: bullet([...scaleUp, ...(a.vm ? ["VM: check `docker stats` for a leaking container before resizing."] : [])]),
    conditions: (level) => [
      ...(instances
        ? [{ source: "Compute Engine instances (Ops Agent)", filter: `metric.type = "agent.googleapis.com/memory/percent_used" AND metric.label.state = "used" AND ${gceLabel}`, ...mean, value: level }]
        : []),
      ...(a.cloudSql ? [{ source: "Cloud SQL", filter: `metric.type = "cloudsql.googleapis.com/database/memory/utilization" AND ${sql}`, ...mean, value: pct(level) }] : []),
      ...(a.gke ? [{ source: "GKE containers (of their memory limit)", filter: `metric.type = "kubernetes.io/container/memory/limit_utilization" AND ${gke}`, ...mean, value: pct(level) }] : []),
    ],
  });
  specs.push({
    key: "apiLatencyMs",
    title: "API response time (p95)",
    action: "Investigate",
    unit: "ms",
    runbook: bullet([
      "Open the dashboard: is it one backend, the database (connections, CPU) or Redis?",
      a.vm && !a.loadBalancer ? "VM: `docker compose logs nginx | grep rt=` shows slow URLs; `pg_stat_statements` the slow queries." : "Logs Explorer: the load balancer's request logs (httpRequest.latency) show slow URLs; Cloud SQL Query Insights the slow queries.",
      "Seed stage 2: check the database indexes (`vm.databaseIndexes`) and Redis caching before scaling.",
    ]),
    conditions: (level) => {
      const seconds = (ms: number) => ms / 1000;
      if (a.loadBalancer) {
        return [
          {
            source: "External HTTPS load balancer",
            // No WebSocket handshakes (class 100: their latency is the session length) and no CDN hits (static/media).
            filter: `metric.type = "loadbalancing.googleapis.com/https/total_latencies" AND resource.type = "https_lb_rule" AND NOT metric.label.response_code_class = 100 AND metric.label.cache_result = "DISABLED"`,
            perSeriesAligner: "ALIGN_DELTA",
            crossSeriesReducer: "REDUCE_PERCENTILE_95",
            groupByFields: [],
            // total_latencies is in milliseconds.
            value: level,
          },
        ];
      }
      if (a.vm) {
        return [
          {
            source: "nginx on the VM (access log)",
            filter: `metric.type = "logging.googleapis.com/user/${nginxMetricNames(a.prefix).latency}" AND resource.type = "gce_instance"`,
            perSeriesAligner: "ALIGN_DELTA",
            crossSeriesReducer: "REDUCE_PERCENTILE_95",
            groupByFields: [],
            // nginx's $request_time is in seconds.
            value: seconds(level),
            // Distribution metrics read in PromQL as histograms (_bucket with `le`).
            promql: `histogram_quantile(0.95, sum by (le) (rate(${promqlName(`logging.googleapis.com/user/${nginxMetricNames(a.prefix).latency}`)}_bucket{monitored_resource="gce_instance"}[5m]))) > ${seconds(level)}`,
          },
        ];
      }
      return [];
    },
  });
  specs.push({
    key: "dbConnectionsPercent",
    title: "Database connections",
    action: "Add a read replica",
    unit: "%",
    runbook: bullet([
      ...(a.vm ? ["VM: `docker compose exec postgres psql -c 'select state, count(*) from pg_stat_activity group by 1'`; idle connections point at Gunicorn workers x threads above max_connections."] : []),
      ...(a.cloudSql ? ["Cloud SQL: raise `database.readReplicas` (reads go to the replica through DATABASE_REPLICA_HOST) or `database.maxConnections`; check PgBouncer's pool size (`database.pgbouncerPoolSize`)."] : []),
      ...(a.vm && !a.cloudSql ? ["The seed's next step is Cloud SQL with read replicas (docs/runbooks/2-to-3.md)."] : []),
    ]),
    conditions: (level) => [
      ...(a.vm
        ? [
            {
              source: "PostgreSQL on the VM (Ops Agent postgresql receiver)",
              filter: `metric.type = ${q(VM_POSTGRES_BACKENDS_METRIC)} AND resource.type = "gce_instance" AND metadata.user_labels.app = ${q(app)}`,
              perSeriesAligner: "ALIGN_MEAN",
              crossSeriesReducer: "REDUCE_SUM",
              groupByFields: ["resource.label.instance_id"],
              value: Math.round((level / 100) * a.vm.postgresMaxConnections),
              // Only the VM's Ops Agent writes this type in the project: no app-label filter needed in PromQL.
              promql: `sum by (instance_id) (${promqlName(VM_POSTGRES_BACKENDS_METRIC)}{monitored_resource="gce_instance"}) > ${Math.round((level / 100) * a.vm.postgresMaxConnections)}`,
            },
          ]
        : []),
      ...(a.cloudSql
        ? [
            {
              source: "Cloud SQL (backends per instance)",
              filter: `metric.type = "cloudsql.googleapis.com/database/postgresql/num_backends" AND ${sql}`,
              perSeriesAligner: "ALIGN_MEAN",
              crossSeriesReducer: "REDUCE_SUM",
              groupByFields: ["resource.label.database_id"],
              value: Math.round((level / 100) * a.cloudSql.maxConnections),
            },
          ]
        : []),
    ],
  });
  // Daphne hosts on Compute Engine publish the custom metric (VM script, stage-3 pool's agent); GKE's ws pods
  // export a `websocket_connections` gauge that Managed Service for Prometheus stores as
  // prometheus.googleapis.com/websocket_connections/gauge (src/files/k8s-manifests.ts METRICS).
  const wsGce = a.vm !== undefined || (a.websocketPool ?? false);
  const wsGke = a.gke ?? false;
  specs.push({
    key: "websocketConnectionsPercent",
    title: "WebSocket connections",
    action: "Scale WebSocket capacity",
    unit: "%",
    runbook: bullet([
      `Capacity is ${a.websocketCapacity} connections (src/config/capacity.ts).`,
      ...(a.vm && !a.websocketPool && !a.gke ? ["VM: one Daphne process holds ~10,000 connections (seed); the next step is the WebSocket instance group (docs/runbooks/2-to-3.md)."] : []),
      ...(a.websocketPool ? ["Instance groups: raise `wsPool.maxReplicas` or `wsPool.connectionsPerInstance` after a load test."] : []),
      ...(a.gke ? ["GKE: raise `kubernetes.*.ws.max` (seed \"Scale WS pods\")."] : []),
    ]),
    conditions: (level) => {
      if (a.websocketCapacity <= 0) return [];
      const value = Math.round((level / 100) * a.websocketCapacity);
      const sum = { perSeriesAligner: "ALIGN_MEAN", crossSeriesReducer: "REDUCE_SUM", groupByFields: [] as string[] };
      if (wsGce && wsGke) {
        // Both kinds of hosts serve (cut-over): one sum over both metric types. Cloud Monitoring's PromQL names
        // the custom metric custom_googleapis_com:<path with _>; `or vector(0)` keeps the sum when one side is empty.
        return [
          {
            source: "Daphne on Compute Engine and GKE (PromQL, all hosts summed)",
            filter: `metric.type = ${q(WEBSOCKET_METRIC)}`,
            ...sum,
            value,
            promql: `(sum(${WEBSOCKET_METRIC_PROMQL}) or vector(0)) + (sum(${GKE_WEBSOCKET_METRIC_PROMQL}) or vector(0)) > ${value}`,
          },
        ];
      }
      if (wsGke) return [{ source: "GKE ws pods (Managed Prometheus, all pods summed)", filter: `metric.type = ${q(GKE_WEBSOCKET_METRIC)} AND resource.type = "prometheus_target"`, ...sum, value, promql: `sum(${GKE_WEBSOCKET_METRIC_PROMQL}) > ${value}` }];
      if (wsGce) return [{ source: "Daphne hosts (custom metric, all hosts summed)", filter: `metric.type = ${q(WEBSOCKET_METRIC)}`, ...sum, value, promql: `sum(${WEBSOCKET_METRIC_PROMQL}) > ${value}` }];
      return [];
    },
  });
  specs.push({
    key: "diskPercent",
    title: "Disk usage",
    action: "Expand storage",
    unit: "%",
    runbook: bullet([
      ...(a.vm ? ["VM: raise `vm.dataDiskGb` (grows in place), then `sudo resize2fs /dev/disk/by-id/google-data` on the VM; old Prometheus data can go first."] : []),
      ...(a.instancePools ? ["Instance groups: boot disks hold only logs and images: `docker system prune`; raise the template's disk size."] : []),
      ...(a.cloudSql ? ["Cloud SQL: storage auto-increase grows the disk up to `database.diskAutoresizeLimitGb`; raise that limit."] : []),
    ]),
    conditions: (level) => [
      ...(instances
        ? [
            {
              source: "Compute Engine disks (Ops Agent)",
              // Real block devices only: snap's squashfs loop devices are always 100 % full.
              filter: `metric.type = "agent.googleapis.com/disk/percent_used" AND metric.label.state = "used" AND metric.label.device = monitoring.regex.full_match("(/dev/)?(sd|nvme)[a-z0-9]+") AND ${gceLabel}`,
              ...mean,
              value: level,
            },
          ]
        : []),
      ...(a.cloudSql ? [{ source: "Cloud SQL", filter: `metric.type = "cloudsql.googleapis.com/database/disk/utilization" AND ${sql}`, ...mean, value: pct(level) }] : []),
    ],
  });
  specs.push({
    key: "errorRatePercent",
    title: "Error rate (5xx share)",
    action: "Alert on-call",
    unit: "%",
    runbook: bullet([
      "Page the on-call engineer; check the last deploy (roll back the backend image) and the uptime checks.",
      a.loadBalancer ? "Logs Explorer: `resource.type=\"http_load_balancer\" httpRequest.status>=500` shows which backend answers 5xx (statusDetails)." : "VM: `docker compose logs backend daphne` and `docker compose ps` for restarting containers.",
    ]),
    conditions: (level) => {
      if (a.loadBalancer) {
        const base = `metric.type = "loadbalancing.googleapis.com/https/request_count" AND resource.type = "https_lb_rule"`;
        return [
          {
            source: "External HTTPS load balancer (5xx / all requests)",
            filter: `${base} AND metric.label.response_code_class = 500`,
            denominatorFilter: base,
            perSeriesAligner: "ALIGN_RATE",
            crossSeriesReducer: "REDUCE_SUM",
            groupByFields: [],
            value: pct(level),
          },
        ];
      }
      if (a.vm) {
        const base = `metric.type = "logging.googleapis.com/user/${nginxMetricNames(a.prefix).requests}" AND resource.type = "gce_instance"`;
        return [
          {
            source: "nginx on the VM (5xx / all requests, access log)",
            filter: `${base} AND metric.label.status_class = "5"`,
            denominatorFilter: base,
            perSeriesAligner: "ALIGN_RATE",
            crossSeriesReducer: "REDUCE_SUM",
            groupByFields: [],
            value: pct(level),
            promql: ((m) => `sum(rate(${m}{monitored_resource="gce_instance",status_class="5"}[5m])) / sum(rate(${m}{monitored_resource="gce_instance"}[5m])) > ${pct(level)}`)(
              promqlName(`logging.googleapis.com/user/${nginxMetricNames(a.prefix).requests}`),
            ),
          },
        ];
      }
      return [];
    },
  });
  return specs;
}

/** Names of the logs-based metrics on nginx's access log (stage 1-2). */
export function nginxMetricNames(prefix: string): { latency: string; requests: string } {
  return { latency: physicalName(prefix, "nginx-api-latency"), requests: physicalName(prefix, "nginx-requests") };
}

/** The conditions of a metric at a severity's level (converted to the metric's unit by the spec). */
function conditionsAt(spec: MetricSpec, t: ThresholdPair, severity: Severity): ConditionSpec[] {
  return spec.conditions(severity === "WARNING" ? t.warning : t.critical);
}

/**
 * Zones of a region that regional instance groups spread over (GCP picks up to three), from the catalog of Google's
 * published zone lists (data/gcp-catalog.json): not always a, b, c (us-central1 has f, europe-west1 b, c, d).
 */
export function zonesOf(region: string): string[] {
  return catalogZonesOf(region);
}

/** "cpuPercent" -> "cpu-percent" (logical and physical names). */
/** Whether a condition reads the logs-based metric `metric` (its filters name it as `logging.googleapis.com/user/<metric>`). */
const usesMetric = (c: ConditionSpec, metric: string) =>
  [c.filter, c.denominatorFilter ?? ""].some((f) => f.includes(`"logging.googleapis.com/user/${metric}"`));

/** Whether a condition reads metric type `type` (its filters name it as `metric.type = "<type>"`). */
const namesMetric = (c: ConditionSpec, type: string) => [c.filter, c.denominatorFilter ?? ""].some((f) => f.includes(`metric.type = ${q(type)}`));

const kebab = (s: string) => s.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
/** A logical-name-safe slug of an e-mail address. */
const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");

/**
 * Cloud Monitoring for every stage (seed "Monitoring & Alerts"): notification channels, one warning and one
 * critical alert policy per metric of the seed's table with the metrics of what exists at the stage, uptime checks
 * on `/` and `/api/health` from several regions, a dashboard of the same metrics, the Ops Agent on every VM
 * (OS Config policy), logs-based metrics on nginx's access log while the VM serves without a load balancer in
 * front, and a billing budget.
 *
 * Channels and policies are named by metric and severity, never by stage: a stage move updates the policies'
 * conditions in place and the channels keep their URNs (and their verification).
 *
 * Removing an address from `alertEmails` deletes its channel, which `protect` refuses: unprotect it first
 * (`pulumi state unprotect <urn>`), so a typo in the stack file cannot silently drop the on-call's channel.
 *
 * Cost: Google has announced per-condition charges for alerting (list price $1.50 per condition per month; a stage
 * has 15 policies with 16-22 conditions); uptime checks are free up to 1M executions per project per month
 * (2 checks x 3 regions x 1/min is ~260k); Ops Agent metrics beyond the free 150 MiB are ~$0.26/MiB; logs-based
 * metrics are free, the logs they read are billed by Cloud Logging ingestion ($0.50/GiB after 50 GiB).
 */
/** The OS the Ops Agent policy installs on: the VM and the instance groups run Ubuntu 24.04; Google's installer takes both. */
export const OPS_AGENT_OS = ["ubuntu", "debian"] as const;

export class Monitoring extends pulumi.ComponentResource {
  /** E-mail channels, one per address. */
  public readonly emailChannels: gcp.monitoring.NotificationChannel[];
  public readonly webhookChannel?: gcp.monitoring.NotificationChannel;
  public readonly pagerdutyChannel?: gcp.monitoring.NotificationChannel;
  /** Policies by `${metric}-${severity}` (e.g. "cpu-percent-warning"), plus "uptime-critical". */
  public readonly policies: Record<string, gcp.monitoring.AlertPolicy>;
  public readonly uptimeChecks: gcp.monitoring.UptimeCheckConfig[];
  public readonly dashboard: gcp.monitoring.Dashboard;
  /** Logs-based metrics on nginx's access log (VM without a load balancer). */
  public readonly logMetrics: gcp.logging.Metric[];
  /** Descriptors of the host-written metrics the policies read (HOST_METRIC_DESCRIPTORS). */
  public readonly metricDescriptors: gcp.monitoring.MetricDescriptor[];
  public readonly opsAgentPolicies: gcp.osconfig.OsPolicyAssignment[];
  /** Project metadata enable-osconfig=TRUE (VM Manager applies OS policies only where it is set). */
  public readonly osConfigMetadata?: gcp.compute.ProjectMetadataItem;
  public readonly budget?: gcp.billing.Budget;
  /** Passed through to the app's settings (SENTRY_DSN). */
  public readonly sentryDsn?: string;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:monitoring:Monitoring", name, {}, opts);
    validateMonitoringArgs(name, args, this);
    const labels = args.labels;
    const duration = `${args.durationSeconds}s`;

    // ── Notification channels: protected (a re-created channel needs its e-mail verified again).
    this.emailChannels = args.alertEmails.map(
      (email) =>
        new gcp.monitoring.NotificationChannel(
          `${name}-email-${slug(email)}`,
          { displayName: `Course Organizer on-call ${email}`, type: "email", labels: { email_address: email }, userLabels: labels },
          { parent: this, protect: true },
        ),
    );
    if (args.webhookUrl) {
      this.webhookChannel = new gcp.monitoring.NotificationChannel(
        `${name}-webhook`,
        { displayName: "Course Organizer webhook (critical)", type: "webhook_tokenauth", labels: { url: args.webhookUrl }, userLabels: labels },
        { parent: this, protect: true },
      );
    }
    if (args.pagerdutyServiceKeySecret) {
      const key = gcp.secretmanager.getSecretVersionAccessOutput({ project: args.project, secret: args.pagerdutyServiceKeySecret }, { parent: this });
      this.pagerdutyChannel = new gcp.monitoring.NotificationChannel(
        `${name}-pagerduty`,
        {
          displayName: "Course Organizer PagerDuty (critical)",
          type: "pagerduty",
          // sensitiveLabels: the key never shows in the channel's labels; Pulumi keeps it a secret in the state.
          sensitiveLabels: { serviceKey: pulumi.secret(key.secretData) },
          userLabels: labels,
        },
        { parent: this, protect: true },
      );
    }
    const emails = this.emailChannels.map((c) => c.name);
    const channelsFor = (severity: Severity): pulumi.Input<string>[] =>
      severity === "WARNING" ? emails : [...emails, ...(this.webhookChannel ? [this.webhookChannel.name] : []), ...(this.pagerdutyChannel ? [this.pagerdutyChannel.name] : [])];

    // ── Logs-based metrics on nginx's access log (VM without a load balancer: stage 1).
    this.logMetrics = [];
    const logMetricNames: string[] = [];
    if (args.vm && !args.loadBalancer) {
      const names = nginxMetricNames(args.prefix);
      // The Ops Agent's journald receiver (src/files/ops-agent.ts) ships docker's journald log driver's entries;
      // nginx's line is MESSAGE, the compose container name CONTAINER_NAME (".../nginx-1").
      const nginxLog = `logName = "projects/${args.project}/logs/journald" AND resource.type = "gce_instance" AND jsonPayload.CONTAINER_NAME =~ "nginx"`;
      logMetricNames.push(names.latency, names.requests);
      this.logMetrics.push(
        new gcp.logging.Metric(
          `${name}-nginx-api-latency`,
          {
            name: names.latency,
            description: "nginx $request_time of /api/ requests on the VM (seconds), WebSocket upgrades excluded",
            // src/files/nginx.ts log_format main: `"GET /api/x HTTP/1.1" 200 ... rt=0.123 urt=...`
            filter: `${nginxLog} AND jsonPayload.MESSAGE =~ "\\"[A-Z]+ /api/[^\\"]*\\" [0-9]{3} " AND NOT jsonPayload.MESSAGE =~ "\\" 101 "`,
            valueExtractor: 'REGEXP_EXTRACT(jsonPayload.MESSAGE, "rt=([0-9.]+)")',
            metricDescriptor: { metricKind: "DELTA", valueType: "DISTRIBUTION", unit: "s", displayName: "nginx API latency" },
            // 1 ms .. ~ 76 s in 40 buckets growing by 1.33: 200 ms and 500 ms fall in buckets under 33 % wide.
            bucketOptions: { exponentialBuckets: { numFiniteBuckets: 40, growthFactor: 1.33, scale: 0.001 } },
          },
          { parent: this },
        ),
        new gcp.logging.Metric(
          `${name}-nginx-requests`,
          {
            name: names.requests,
            description: "Requests nginx answered on the VM, by status class (1..5)",
            filter: `${nginxLog} AND jsonPayload.MESSAGE =~ "\\"[A-Z]+ [^\\"]*\\" [1-5][0-9]{2} "`,
            labelExtractors: { status_class: 'REGEXP_EXTRACT(jsonPayload.MESSAGE, "\\"[A-Z]+ [^\\"]*\\" ([1-5])[0-9]{2} ")' },
            metricDescriptor: {
              metricKind: "DELTA",
              valueType: "INT64",
              unit: "1",
              displayName: "nginx requests",
              labels: [{ key: "status_class", valueType: "STRING", description: "First digit of the HTTP status" }],
            },
          },
          { parent: this },
        ),
      );
    }

    // ── Alert policies: one warning and one critical per metric of the seed's table.
    this.policies = {};
    const specs = metricSpecs(args);

    // Descriptors of the host-written metrics some condition reads. Kept in GCP when a stage no longer reads one
    // (deleting a descriptor deletes the metric's data; re-creating it later is an update).
    const allConditions = specs.flatMap((spec) => (["WARNING", "CRITICAL"] as const).flatMap((sev) => conditionsAt(spec, args.thresholds[spec.key], sev)));
    const descriptorByType = new Map<string, gcp.monitoring.MetricDescriptor>();
    for (const [type, d] of Object.entries(HOST_METRIC_DESCRIPTORS)) {
      if (!allConditions.some((c) => namesMetric(c, type))) continue;
      descriptorByType.set(
        type,
        new gcp.monitoring.MetricDescriptor(
          `${name}-metric-${d.logicalName}`,
          { type, metricKind: "GAUGE", valueType: "INT64", unit: "1", displayName: d.displayName, description: d.description, labels: d.labels },
          { parent: this, retainOnDelete: true },
        ),
      );
    }
    this.metricDescriptors = [...descriptorByType.values()];
    // A filter names its metric type as a string: taking the text through the descriptor's `type` output makes the
    // policy wait for the descriptor (a property dependency), without changing the text.
    const afterDescriptors = (c: ConditionSpec, text: string): pulumi.Input<string> => {
      const ds = [...descriptorByType.entries()].filter(([t]) => namesMetric(c, t)).map(([, d]) => d.type);
      return ds.length ? pulumi.all(ds).apply(() => text) : text;
    };
    for (const spec of specs) {
      const pair = args.thresholds[spec.key];
      for (const severity of ["WARNING", "CRITICAL"] as const) {
        const conds = conditionsAt(spec, pair, severity);
        if (conds.length === 0) continue;
        const level = severity === "WARNING" ? pair.warning : pair.critical;
        const key = `${kebab(spec.key)}-${severity.toLowerCase()}`;
        this.policies[key] = new gcp.monitoring.AlertPolicy(
          `${name}-${key}`,
          {
            displayName: `Course Organizer: ${spec.title} above ${level} ${spec.unit} (${severity.toLowerCase()})`,
            combiner: "OR",
            severity,
            conditions: conds.map((c) => ({
              displayName: `${spec.title} > ${level} ${spec.unit}: ${c.source}`,
              ...(c.promql
                ? {
                    // Without metric validation: the metric may not exist yet (EVENTUALLY_CONSISTENT_METRIC).
                    conditionPrometheusQueryLanguage: { query: afterDescriptors(c, c.promql), duration, evaluationInterval: "60s", disableMetricValidation: true },
                  }
                : { conditionThreshold: { ...thresholdOf(c, duration), filter: afterDescriptors(c, c.filter) } }),
            })),
            documentation: {
              mimeType: "text/markdown",
              subject: `[${severity}] Course Organizer ${spec.title} above ${level} ${spec.unit}: ${spec.action}`,
              content: [
                `**Action (seed "Monitoring & Alerts"): ${spec.action}.**`,
                "",
                `${spec.title} has been above ${level} ${spec.unit} for ${args.durationSeconds} s (warning ${pair.warning} ${spec.unit}, critical ${pair.critical} ${spec.unit}).`,
                "",
                "Runbook:",
                spec.runbook,
              ].join("\n"),
            },
            notificationChannels: channelsFor(severity),
            alertStrategy: { autoClose: "1800s" },
            userLabels: { ...labels, severity: severity.toLowerCase(), metric: kebab(spec.key) },
          },
          // A filter names its logs-based metric as a string, which Pulumi cannot see: GCP refuses an alert on a
          // user metric that does not exist yet, so the policies that use one wait for it (and only those).
          { parent: this, dependsOn: this.logMetrics.filter((_, i) => conds.some((c) => usesMetric(c, logMetricNames[i]))) },
        );
      }
    }

    // ── Uptime checks on the site's pages from several regions; a failure in more than one region pages.
    const paths = args.uptimePaths ?? ["/", "/api/health"];
    this.uptimeChecks = paths.map(
      (path) =>
        new gcp.monitoring.UptimeCheckConfig(
          `${name}-uptime-${path === "/" ? "root" : slug(path)}`,
          {
            displayName: `Course Organizer https://${args.domain}${path}`,
            monitoredResource: { type: "uptime_url", labels: { project_id: args.project, host: args.domain } },
            httpCheck: {
              path,
              port: 443,
              useSsl: true,
              validateSsl: true,
              requestMethod: "GET",
              acceptedResponseStatusCodes: [{ statusClass: "STATUS_CLASS_2XX" }],
            },
            checkerType: "STATIC_IP_CHECKERS",
            selectedRegions: args.uptimeRegions,
            period: "60s",
            timeout: "10s",
            userLabels: labels,
          },
          { parent: this },
        ),
    );
    this.policies["uptime-critical"] = new gcp.monitoring.AlertPolicy(
      `${name}-uptime-critical`,
      {
        displayName: `Course Organizer: https://${args.domain} unreachable (critical)`,
        combiner: "OR",
        severity: "CRITICAL",
        conditions: this.uptimeChecks.map((check, i) => ({
          displayName: `https://${args.domain}${paths[i]} fails from more than one region`,
          conditionThreshold: {
            filter: pulumi.interpolate`metric.type = "monitoring.googleapis.com/uptime_check/check_passed" AND resource.type = "uptime_url" AND metric.label.check_id = "${check.uptimeCheckId}"`,
            comparison: "COMPARISON_GT",
            // Google's recommended uptime condition: count the failing regions; one region alone can be its network.
            thresholdValue: 1,
            duration: "60s",
            aggregations: [{ alignmentPeriod: "1200s", perSeriesAligner: "ALIGN_NEXT_OLDER", crossSeriesReducer: "REDUCE_COUNT_FALSE", groupByFields: ["resource.label.host"] }],
            trigger: { count: 1 },
          },
        })),
        documentation: {
          mimeType: "text/markdown",
          subject: `[CRITICAL] Course Organizer https://${args.domain} unreachable: Alert on-call`,
          content: [
            `**Action: Alert on-call.** ${paths.map((p) => `https://${args.domain}${p}`).join(" or ")} failed from more than one region.`,
            "",
            "Runbook:",
            args.loadBalancer
              ? "- Load balancer: backend health (`gcloud compute backend-services get-health`), certificate status, Cloud Armor denials."
              : "- VM: `gcloud compute ssh` the VM; `systemctl status co-app`; `docker compose ps`; certificate expiry (`co-cert.timer`).",
            "- DNS: the domain still points at the entry IP.",
          ].join("\n"),
        },
        notificationChannels: channelsFor("CRITICAL"),
        alertStrategy: { autoClose: "1800s" },
        userLabels: { ...labels, severity: "critical", metric: "uptime" },
      },
      { parent: this },
    );

    // ── Dashboard: the same metrics as the policies, warning and critical drawn as thresholds.
    const dashboardJson = renderFile("monitoring", "dashboard.json", dashboardJsonOf(args, specs));
    this.dashboard = new gcp.monitoring.Dashboard(`${name}-dashboard`, { dashboardJson }, { parent: this });

    // ── Ops Agent on every VM of the platform, per zone (an OS Config policy assignment is zonal).
    // VM Manager acts only on instances with enable-osconfig=TRUE in their (or the project's) metadata; the OS
    // Config agent itself ships with Google's Ubuntu and Debian images.
    if ((args.opsAgentZones ?? []).length > 0) {
      this.osConfigMetadata = new gcp.compute.ProjectMetadataItem(`${name}-enable-osconfig`, { project: args.project, key: "enable-osconfig", value: "TRUE" }, { parent: this });
    }
    const agentConfig = renderFile("ops-agent", "config.yaml", opsAgentConfig({ postgres: args.vm !== undefined }));
    this.opsAgentPolicies = (args.opsAgentZones ?? []).map(
      (zone) =>
        new gcp.osconfig.OsPolicyAssignment(
          `${name}-ops-agent-${zone}`,
          {
            name: physicalName(args.prefix, "ops-agent"),
            location: zone,
            description: "Ops Agent (memory, disk, PostgreSQL metrics; journald logs) on every Course Organizer VM",
            // GKE nodes carry the same app label (the node pools' resource labels) but run Container-Optimized OS,
            // which no resource group matches; with allowNoResourceGroupMatch false each would report an error and
            // hold the rollout. They are left out twice: by their component label and by OS inventory.
            instanceFilter: {
              inclusionLabels: [{ labels: { app: args.appLabel ?? "course-organizer" } }],
              exclusionLabels: [{ labels: { component: "gke" } }],
              inventories: OPS_AGENT_OS.map((osShortName) => ({ osShortName })),
            },
            osPolicies: [
              {
                id: "ops-agent",
                mode: "ENFORCEMENT",
                allowNoResourceGroupMatch: false,
                resourceGroups: [
                  {
                    // Google's installer supports both; the VM and the instance groups run Ubuntu 24.04.
                    inventoryFilters: OPS_AGENT_OS.map((osShortName) => ({ osShortName })),
                    resources: [
                      {
                        id: "install",
                        exec: {
                          validate: { interpreter: "SHELL", script: opsAgentPolicyScript("install", "validate") },
                          enforce: { interpreter: "SHELL", script: opsAgentPolicyScript("install", "enforce") },
                        },
                      },
                      { id: "config", file: { path: OPS_AGENT_CONFIG_PATH, state: "CONTENTS_MATCH", content: agentConfig, permissions: "0644" } },
                      {
                        id: "restart-on-change",
                        exec: {
                          validate: { interpreter: "SHELL", script: opsAgentPolicyScript("restart", "validate") },
                          enforce: { interpreter: "SHELL", script: opsAgentPolicyScript("restart", "enforce") },
                        },
                      },
                    ],
                  },
                ],
              },
            ],
            // One VM at a time: the agent restarts, metrics pause for a few seconds.
            rollout: { disruptionBudget: { fixed: 1 }, minWaitDuration: "60s" },
            // The rollout visits one VM at a time with a 60 s wait: its length grows with the fleet, while the
            // provider waits for it and fails after its 20-minute default. `up` does not wait for it (compliance
            // shows in VM Manager, and the agent-fed alert policies tolerate a late first point); the timeouts
            // bound the API calls themselves.
            skipAwaitRollout: true,
          },
          {
            parent: this,
            dependsOn: this.osConfigMetadata ? [this.osConfigMetadata] : [],
            customTimeouts: { create: "10m", update: "10m", delete: "10m" },
          },
        ),
    );

    // ── Billing budget with 50/90/100 % alerts (and a forecast alert at 100 %).
    if (args.budget) {
      const project = gcp.organizations.getProjectOutput({ projectId: args.project }, { parent: this });
      // The Billing Budget API refuses user credentials without a quota project ("billingbudgets.googleapis.com
      // requires a quota project"): this provider sends the project as X-Goog-User-Project (provider docs,
      // userProjectOverride + billingProject). The caller also needs billing.budgets.create on the billing
      // account: roles/billing.costsManager there (bootstrap/program.ts grants it to the deployer).
      const billingProvider = new gcp.Provider(`${name}-billing-provider`, { project: args.project, userProjectOverride: true, billingProject: args.project }, { parent: this });
      this.budget = new gcp.billing.Budget(
        `${name}-budget`,
        {
          billingAccount: args.budget.billingAccount,
          displayName: physicalName(args.prefix, "monthly-budget"),
          budgetFilter: { projects: [pulumi.interpolate`projects/${project.number}`], calendarPeriod: "MONTH", creditTypesTreatment: "INCLUDE_ALL_CREDITS" },
          // The billing account's currency must be USD (the amount's currency has to match the account's).
          amount: { specifiedAmount: { currencyCode: "USD", units: String(Math.round(args.budget.monthlyUsd)) } },
          thresholdRules: [
            { thresholdPercent: 0.5, spendBasis: "CURRENT_SPEND" },
            { thresholdPercent: 0.9, spendBasis: "CURRENT_SPEND" },
            { thresholdPercent: 1.0, spendBasis: "CURRENT_SPEND" },
            { thresholdPercent: 1.0, spendBasis: "FORECASTED_SPEND" },
          ],
          // Budgets notify at most 5 Monitoring channels; billing admins get the e-mails too.
          allUpdatesRule: { monitoringNotificationChannels: emails.slice(0, 5), disableDefaultIamRecipients: false },
        },
        { parent: this, provider: billingProvider },
      );
    }

    this.sentryDsn = args.sentryDsn;
    this.registerOutputs({
      emailChannels: emails,
      policies: Object.fromEntries(Object.entries(this.policies).map(([k, p]) => [k, p.name])),
      uptimeChecks: this.uptimeChecks.map((u) => u.uptimeCheckId),
      dashboard: this.dashboard.id,
    });
  }
}

/** The Ops Agent's configuration file (merged by the agent with its built-in defaults). */
export const OPS_AGENT_CONFIG_PATH = "/etc/google-cloud-ops-agent/config.yaml";

/** A threshold condition: the series above the value for `duration`; ratios with their denominator. */
function thresholdOf(c: ConditionSpec, duration: string) {
  return {
    filter: c.filter,
    ...(c.denominatorFilter ? { denominatorFilter: c.denominatorFilter } : {}),
    comparison: "COMPARISON_GT",
    thresholdValue: c.value,
    duration,
    aggregations: [aggregation(c)],
    ...(c.denominatorFilter ? { denominatorAggregations: [aggregation(c)] } : {}),
    trigger: { count: 1 },
  };
}

function aggregation(c: ConditionSpec) {
  return {
    alignmentPeriod: "60s",
    perSeriesAligner: c.perSeriesAligner,
    ...(c.crossSeriesReducer ? { crossSeriesReducer: c.crossSeriesReducer, groupByFields: c.groupByFields ?? [] } : {}),
  };
}

/** Errors for args Cloud Monitoring would refuse, naming the field. */
export function monitoringArgProblems(a: MonitoringArgs): string[] {
  const out: string[] = [];
  if (a.alertEmails.length === 0) out.push("alertEmails: at least one address is needed");
  if (a.uptimeRegions.length < 3) out.push(`uptimeRegions: Cloud Monitoring needs at least 3 regions, got ${a.uptimeRegions.length}`);
  for (const [k, t] of Object.entries(a.thresholds)) {
    if (t.warning >= t.critical) out.push(`thresholds.${k}: warning ${t.warning} must be below critical ${t.critical}`);
  }
  if (a.websocketCapacity < 0) out.push(`websocketCapacity: ${a.websocketCapacity} is negative`);
  return out;
}

function validateMonitoringArgs(name: string, a: MonitoringArgs, r: pulumi.Resource): void {
  const p = monitoringArgProblems(a);
  if (p.length) throw new pulumi.ResourceError(`Monitoring ${name}: ${p.join("; ")}`, r);
}

/** The dashboard (mosaic layout): one chart per metric with its conditions' series and both thresholds. */
export function dashboardJsonOf(a: MonitoringArgs, specs: MetricSpec[] = metricSpecs(a)): string {
  const tiles: Record<string, unknown>[] = [];
  let i = 0;
  for (const spec of specs) {
    const t = a.thresholds[spec.key];
    const warn = conditionsAt(spec, t, "WARNING");
    const crit = conditionsAt(spec, t, "CRITICAL");
    for (const [j, c] of warn.entries()) {
      const query = c.promql
        ? { prometheusQuery: c.promql.replace(/ > [0-9.]+$/, "") }
        : c.denominatorFilter
        ? { timeSeriesFilterRatio: { numerator: { filter: c.filter, aggregation: aggregation(c) }, denominator: { filter: c.denominatorFilter, aggregation: aggregation(c) } } }
        : { timeSeriesFilter: { filter: c.filter, aggregation: aggregation(c) } };
      tiles.push({
        xPos: (i % 2) * 24,
        yPos: Math.floor(i / 2) * 16,
        width: 24,
        height: 16,
        widget: {
          title: `${spec.title}: ${c.source}`,
          xyChart: {
            dataSets: [{ timeSeriesQuery: query, plotType: "LINE" }],
            thresholds: [
              { label: `warning ${t.warning} ${spec.unit}`, value: c.value, color: "YELLOW", direction: "ABOVE" },
              { label: `critical ${t.critical} ${spec.unit}`, value: crit[j]!.value, color: "RED", direction: "ABOVE" },
            ],
          },
        },
      });
      i++;
    }
  }
  return JSON.stringify({ displayName: "Course Organizer", mosaicLayout: { columns: 48, tiles } }, null, 2);
}
