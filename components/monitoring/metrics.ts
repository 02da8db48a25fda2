/**
 * The seed's metrics table as Cloud Monitoring conditions (pure): which metric each policy, chart and threshold
 * reads for what exists at a stage. Used by the alert policies, the dashboard and the tests.
 */
import { physicalName } from "../../src/naming";
import { WS_CONNECTIONS_METRIC } from "../../src/files/app-instance";
import type { AlertMetric, ThresholdPair } from "../../src/thresholds";
import type { MonitoringArgs } from "../monitoring";

/** The metric of the seed's table a spec watches. */
export type MetricKey = AlertMetric;
export type Severity = "WARNING" | "CRITICAL";

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
export const HOST_METRIC_DESCRIPTORS: Record<
  string,
  { logicalName: string; displayName: string; description: string; labels: { key: string; valueType: string; description: string }[] }
> = {
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

export const q = (s: string) => JSON.stringify(s);

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
  const s = specScope(a);
  return [...loadSpecs(a, s), ...capacitySpecs(a, s)];
}

/** What the specs' filters and runbooks share. */
function specScope(a: MonitoringArgs) {
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

  return { app, instances, gceLabel, sql, gke, pct, mean, scaleUp, bullet };
}
type SpecScope = ReturnType<typeof specScope>;

/** CPU, memory, API latency, database connections. */
function loadSpecs(a: MonitoringArgs, s: SpecScope): MetricSpec[] {
  const { instances, gceLabel, sql, gke, pct, mean, scaleUp, bullet } = s;
  const specs: MetricSpec[] = [];
  specs.push({
    key: "cpuPercent",
    title: "CPU usage",
    action: "Scale up",
    unit: "%",
    runbook: bullet(scaleUp),
    conditions: (level) => [
      ...(instances
        ? [
            {
              source: "Compute Engine instances",
              filter: `metric.type = "compute.googleapis.com/instance/cpu/utilization" AND ${gceLabel}`,
              ...mean,
              value: pct(level),
            },
          ]
        : []),
      ...(a.cloudSql
        ? [{ source: "Cloud SQL", filter: `metric.type = "cloudsql.googleapis.com/database/cpu/utilization" AND ${sql}`, ...mean, value: pct(level) }]
        : []),
      ...(a.gke
        ? [
            {
              source: "GKE containers (of their CPU limit)",
              filter: `metric.type = "kubernetes.io/container/cpu/limit_utilization" AND ${gke}`,
              ...mean,
              value: pct(level),
            },
          ]
        : []),
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
        ? [
            {
              source: "Compute Engine instances (Ops Agent)",
              filter: `metric.type = "agent.googleapis.com/memory/percent_used" AND metric.label.state = "used" AND ${gceLabel}`,
              ...mean,
              value: level,
            },
          ]
        : []),
      ...(a.cloudSql
        ? [{ source: "Cloud SQL", filter: `metric.type = "cloudsql.googleapis.com/database/memory/utilization" AND ${sql}`, ...mean, value: pct(level) }]
        : []),
      ...(a.gke
        ? [
            {
              source: "GKE containers (of their memory limit)",
              filter: `metric.type = "kubernetes.io/container/memory/limit_utilization" AND ${gke}`,
              ...mean,
              value: pct(level),
            },
          ]
        : []),
    ],
  });
  specs.push({
    key: "apiLatencyMs",
    title: "API response time (p95)",
    action: "Investigate",
    unit: "ms",
    runbook: bullet([
      "Open the dashboard: is it one backend, the database (connections, CPU) or Redis?",
      a.vm && !a.loadBalancer
        ? "VM: `docker compose logs nginx | grep rt=` shows slow URLs; `pg_stat_statements` the slow queries."
        : "Logs Explorer: the load balancer's request logs (httpRequest.latency) show slow URLs; Cloud SQL Query Insights the slow queries.",
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
  specs.push(dbConnectionsSpec(a, s));
  return specs;
}

/** Database connections: the VM's PostgreSQL backends, Cloud SQL's per instance. */
function dbConnectionsSpec(a: MonitoringArgs, { app, sql, bullet }: SpecScope): MetricSpec {
  return {
    key: "dbConnectionsPercent",
    title: "Database connections",
    action: "Add a read replica",
    unit: "%",
    runbook: bullet([
      ...(a.vm
        ? [
            "VM: `docker compose exec postgres psql -c 'select state, count(*) from pg_stat_activity group by 1'`; idle connections point at Gunicorn workers x threads above max_connections.",
          ]
        : []),
      ...(a.cloudSql
        ? [
            "Cloud SQL: raise `database.readReplicas` (reads go to the replica through DATABASE_REPLICA_HOST) or `database.maxConnections`; check PgBouncer's pool size (`database.pgbouncerPoolSize`).",
          ]
        : []),
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
  };
}

/** WebSocket connections, disk, error rate. */
function capacitySpecs(a: MonitoringArgs, { instances, gceLabel, sql, pct, mean, bullet }: SpecScope): MetricSpec[] {
  const specs: MetricSpec[] = [];
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
      ...(a.vm && !a.websocketPool && !a.gke
        ? ["VM: one Daphne process holds ~10,000 connections (seed); the next step is the WebSocket instance group (docs/runbooks/2-to-3.md)."]
        : []),
      ...(a.websocketPool ? ["Instance groups: raise `wsPool.maxReplicas` or `wsPool.connectionsPerInstance` after a load test."] : []),
      ...(a.gke ? ['GKE: raise `kubernetes.*.ws.max` (seed "Scale WS pods").'] : []),
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
      if (wsGke)
        return [
          {
            source: "GKE ws pods (Managed Prometheus, all pods summed)",
            filter: `metric.type = ${q(GKE_WEBSOCKET_METRIC)} AND resource.type = "prometheus_target"`,
            ...sum,
            value,
            promql: `sum(${GKE_WEBSOCKET_METRIC_PROMQL}) > ${value}`,
          },
        ];
      if (wsGce)
        return [
          {
            source: "Daphne hosts (custom metric, all hosts summed)",
            filter: `metric.type = ${q(WEBSOCKET_METRIC)}`,
            ...sum,
            value,
            promql: `sum(${WEBSOCKET_METRIC_PROMQL}) > ${value}`,
          },
        ];
      return [];
    },
  });
  specs.push({
    key: "diskPercent",
    title: "Disk usage",
    action: "Expand storage",
    unit: "%",
    runbook: bullet([
      ...(a.vm
        ? ["VM: raise `vm.dataDiskGb` (grows in place), then `sudo resize2fs /dev/disk/by-id/google-data` on the VM; old Prometheus data can go first."]
        : []),
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
      ...(a.cloudSql
        ? [{ source: "Cloud SQL", filter: `metric.type = "cloudsql.googleapis.com/database/disk/utilization" AND ${sql}`, ...mean, value: pct(level) }]
        : []),
    ],
  });
  specs.push({
    key: "errorRatePercent",
    title: "Error rate (5xx share)",
    action: "Alert on-call",
    unit: "%",
    runbook: bullet([
      "Page the on-call engineer; check the last deploy (roll back the backend image) and the uptime checks.",
      a.loadBalancer
        ? 'Logs Explorer: `resource.type="http_load_balancer" httpRequest.status>=500` shows which backend answers 5xx (statusDetails).'
        : "VM: `docker compose logs backend daphne` and `docker compose ps` for restarting containers.",
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
            promql: ((m) =>
              `sum(rate(${m}{monitored_resource="gce_instance",status_class="5"}[5m])) / sum(rate(${m}{monitored_resource="gce_instance"}[5m])) > ${pct(level)}`)(
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
export function conditionsAt(spec: MetricSpec, t: ThresholdPair, severity: Severity): ConditionSpec[] {
  return spec.conditions(severity === "WARNING" ? t.warning : t.critical);
}

/** "cpuPercent" -> "cpu-percent" (logical and physical names). */
/** Whether a condition reads the logs-based metric `metric` (its filters name it as `logging.googleapis.com/user/<metric>`). */
export const usesMetric = (c: ConditionSpec, metric: string) =>
  [c.filter, c.denominatorFilter ?? ""].some((f) => f.includes(`"logging.googleapis.com/user/${metric}"`));

/** Whether a condition reads metric type `type` (its filters name it as `metric.type = "<type>"`). */
export const namesMetric = (c: ConditionSpec, type: string) => [c.filter, c.denominatorFilter ?? ""].some((f) => f.includes(`metric.type = ${q(type)}`));

export const kebab = (s: string) => s.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
/** A logical-name-safe slug of an e-mail address. */
export const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");

/** A threshold condition: the series above the value for `duration`; ratios with their denominator. */
export function thresholdOf(c: ConditionSpec, duration: string) {
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

export function aggregation(c: ConditionSpec) {
  return {
    alignmentPeriod: "60s",
    perSeriesAligner: c.perSeriesAligner,
    ...(c.crossSeriesReducer ? { crossSeriesReducer: c.crossSeriesReducer, groupByFields: c.groupByFields ?? [] } : {}),
  };
}
