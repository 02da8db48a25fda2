/**
 * Cloud Monitoring per stage (seed "Monitoring & Alerts"): for each of the four stages, every policy's metric
 * filters, thresholds, comparison, duration, severity and channels; the channels' stability across stages;
 * webhook and PagerDuty on critical policies only; uptime checks; the dashboard; the Ops Agent policy; the budget
 * only with a billing account; enum values against Google's definitions.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { get, ofType, plan, projectDir } from "./helpers/plan";

/** The monitoring component's own resources: the audit-logging component (CIS 2.x) adds alerts and log metrics of its own. */
const ofMonitoring = (p: Parameters<typeof ofType>[0], type: string) => ofType(p, type).filter((r) => r.name.startsWith("monitoring-"));
import { diffPlans, gcpFacts, normPath } from "../src/plan/diff";
import {
  EVENTUALLY_CONSISTENT_METRIC,
  GKE_WEBSOCKET_METRIC,
  metricSpecs,
  promqlName,
  monitoringArgProblems,
  WEBSOCKET_METRIC,
  type MonitoringArgs,
} from "../components/monitoring";
import { WS_CONNECTIONS_METRIC } from "../src/files/app-instance";
import { METRICS } from "../src/files/k8s-manifests";
import { websocketMetricScript } from "../src/files/prometheus";
import { opsAgentConfig, opsAgentPolicyScript } from "../src/files/ops-agent";

const ALERT = "gcp:monitoring/alertPolicy:AlertPolicy";
const CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel";
const UPTIME = "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig";
const DASHBOARD = "gcp:monitoring/dashboard:Dashboard";
const OSPOLICY = "gcp:osconfig/osPolicyAssignment:OsPolicyAssignment";
const LOGMETRIC = "gcp:logging/metric:Metric";
const BUDGET = "gcp:billing/budget:Budget";
const DESCRIPTOR = "gcp:monitoring/metricDescriptor:MetricDescriptor";

// Filters, as the stage's policies must watch them.
const GCE = 'resource.type = "gce_instance" AND metadata.user_labels.app = "course-organizer"';
const SQL = 'resource.type = "cloudsql_database" AND resource.label.database_id = starts_with("course-organizer-demo:co-")';
const GKE =
  'resource.type = "k8s_container" AND resource.label.cluster_name = starts_with("co-") AND NOT resource.label.namespace_name = one_of("kube-system", "kube-public", "kube-node-lease", "gke-managed-system", "gmp-system", "gmp-public", "gke-gmp-system")';
const F = {
  gceCpu: `metric.type = "compute.googleapis.com/instance/cpu/utilization" AND ${GCE}`,
  gceMem: `metric.type = "agent.googleapis.com/memory/percent_used" AND metric.label.state = "used" AND ${GCE}`,
  gceDisk: `metric.type = "agent.googleapis.com/disk/percent_used" AND metric.label.state = "used" AND metric.label.device = monitoring.regex.full_match("(/dev/)?(sd|nvme)[a-z0-9]+") AND ${GCE}`,
  sqlCpu: `metric.type = "cloudsql.googleapis.com/database/cpu/utilization" AND ${SQL}`,
  sqlMem: `metric.type = "cloudsql.googleapis.com/database/memory/utilization" AND ${SQL}`,
  sqlDisk: `metric.type = "cloudsql.googleapis.com/database/disk/utilization" AND ${SQL}`,
  sqlBackends: `metric.type = "cloudsql.googleapis.com/database/postgresql/num_backends" AND ${SQL}`,
  gkeCpu: `metric.type = "kubernetes.io/container/cpu/limit_utilization" AND ${GKE}`,
  gkeMem: `metric.type = "kubernetes.io/container/memory/limit_utilization" AND ${GKE}`,
  vmPg: `metric.type = "workload.googleapis.com/postgresql.backends" AND resource.type = "gce_instance" AND metadata.user_labels.app = "course-organizer"`,
  ws: 'metric.type = "custom.googleapis.com/course_organizer/websocket_connections"',
  gkeWs: 'metric.type = "prometheus.googleapis.com/websocket_connections/gauge" AND resource.type = "prometheus_target"',
  nginxLatency: 'metric.type = "logging.googleapis.com/user/co-nginx-api-latency" AND resource.type = "gce_instance"',
  nginxRequests: 'metric.type = "logging.googleapis.com/user/co-nginx-requests" AND resource.type = "gce_instance"',
  lbLatency:
    'metric.type = "loadbalancing.googleapis.com/https/total_latencies" AND resource.type = "https_lb_rule" AND NOT metric.label.response_code_class = 100 AND metric.label.cache_result = "DISABLED"',
  lbRequests: 'metric.type = "loadbalancing.googleapis.com/https/request_count" AND resource.type = "https_lb_rule"',
};

const mean = [{ alignmentPeriod: "60s", perSeriesAligner: "ALIGN_MEAN" }];
const sumBy = (field?: string) => [
  { alignmentPeriod: "60s", perSeriesAligner: "ALIGN_MEAN", crossSeriesReducer: "REDUCE_SUM", groupByFields: field ? [field] : [] },
];
const p95 = [{ alignmentPeriod: "60s", perSeriesAligner: "ALIGN_DELTA", crossSeriesReducer: "REDUCE_PERCENTILE_95", groupByFields: [] }];
const rate = [{ alignmentPeriod: "60s", perSeriesAligner: "ALIGN_RATE", crossSeriesReducer: "REDUCE_SUM", groupByFields: [] }];

/** One expected condition: filter, [warning, critical] value, aggregation, optional denominator. */
type Cond = { filter: string; values: [number, number]; agg: unknown[]; denominator?: string };
type Table = Record<string, Cond[]>;

/** What each stage's policies must watch (seed thresholds; capacities and max_connections of the stage). */
const expected: Record<1 | 2 | 3 | 4, Table> = {
  1: {
    "cpu-percent": [{ filter: F.gceCpu, values: [0.7, 0.85], agg: mean }],
    "memory-percent": [{ filter: F.gceMem, values: [75, 90], agg: mean }],
    // nginx's $request_time is in seconds.
    "api-latency-ms": [{ filter: F.nginxLatency, values: [0.2, 0.5], agg: p95 }],
    // 70 / 90 % of PostgreSQL's default max_connections (100).
    "db-connections-percent": [{ filter: F.vmPg, values: [70, 90], agg: sumBy("resource.label.instance_id") }],
    // 75 / 90 % of one Daphne process's ~10,000 (src/config/capacity.ts).
    "websocket-connections-percent": [{ filter: F.ws, values: [7500, 9000], agg: sumBy() }],
    "disk-percent": [{ filter: F.gceDisk, values: [70, 85], agg: mean }],
    "error-rate-percent": [{ filter: `${F.nginxRequests} AND metric.label.status_class = "5"`, denominator: F.nginxRequests, values: [0.01, 0.05], agg: rate }],
  },
  2: {
    "cpu-percent": [{ filter: F.gceCpu, values: [0.7, 0.85], agg: mean }],
    "memory-percent": [{ filter: F.gceMem, values: [75, 90], agg: mean }],
    // total_latencies is in milliseconds.
    "api-latency-ms": [{ filter: F.lbLatency, values: [200, 500], agg: p95 }],
    "db-connections-percent": [{ filter: F.vmPg, values: [70, 90], agg: sumBy("resource.label.instance_id") }],
    "websocket-connections-percent": [{ filter: F.ws, values: [7500, 9000], agg: sumBy() }],
    "disk-percent": [{ filter: F.gceDisk, values: [70, 85], agg: mean }],
    "error-rate-percent": [
      { filter: `${F.lbRequests} AND metric.label.response_code_class = 500`, denominator: F.lbRequests, values: [0.01, 0.05], agg: rate },
    ],
  },
  3: {
    "cpu-percent": [
      { filter: F.gceCpu, values: [0.7, 0.85], agg: mean },
      { filter: F.sqlCpu, values: [0.7, 0.85], agg: mean },
    ],
    "memory-percent": [
      { filter: F.gceMem, values: [75, 90], agg: mean },
      { filter: F.sqlMem, values: [0.75, 0.9], agg: mean },
    ],
    "api-latency-ms": [{ filter: F.lbLatency, values: [200, 500], agg: p95 }],
    // 70 / 90 % of database.maxConnections (500).
    "db-connections-percent": [{ filter: F.sqlBackends, values: [350, 450], agg: sumBy("resource.label.database_id") }],
    // wsPool: 10 instances x 500 connections = 5,000.
    "websocket-connections-percent": [{ filter: F.ws, values: [3750, 4500], agg: sumBy() }],
    "disk-percent": [
      { filter: F.gceDisk, values: [70, 85], agg: mean },
      { filter: F.sqlDisk, values: [0.7, 0.85], agg: mean },
    ],
    "error-rate-percent": [
      { filter: `${F.lbRequests} AND metric.label.response_code_class = 500`, denominator: F.lbRequests, values: [0.01, 0.05], agg: rate },
    ],
  },
  4: {
    "cpu-percent": [
      { filter: F.gceCpu, values: [0.7, 0.85], agg: mean },
      { filter: F.sqlCpu, values: [0.7, 0.85], agg: mean },
      { filter: F.gkeCpu, values: [0.7, 0.85], agg: mean },
    ],
    "memory-percent": [
      { filter: F.gceMem, values: [75, 90], agg: mean },
      { filter: F.sqlMem, values: [0.75, 0.9], agg: mean },
      { filter: F.gkeMem, values: [0.75, 0.9], agg: mean },
    ],
    "api-latency-ms": [{ filter: F.lbLatency, values: [200, 500], agg: p95 }],
    "db-connections-percent": [{ filter: F.sqlBackends, values: [350, 450], agg: sumBy("resource.label.database_id") }],
    // GKE ws pods: (primary max + secondary max) x connectionsPerPod = 30,000; their gauge through Managed Prometheus.
    "websocket-connections-percent": [{ filter: F.gkeWs, values: [22500, 27000], agg: sumBy() }],
    "disk-percent": [
      { filter: F.gceDisk, values: [70, 85], agg: mean },
      { filter: F.sqlDisk, values: [0.7, 0.85], agg: mean },
    ],
    "error-rate-percent": [
      { filter: `${F.lbRequests} AND metric.label.response_code_class = 500`, denominator: F.lbRequests, values: [0.01, 0.05], agg: rate },
    ],
  },
};

const ACTIONS: Record<string, string> = {
  "cpu-percent": "Scale up",
  "memory-percent": "Scale up",
  "api-latency-ms": "Investigate",
  "db-connections-percent": "Add a read replica",
  "websocket-connections-percent": "Scale WebSocket capacity",
  "disk-percent": "Expand storage",
  "error-rate-percent": "Alert on-call",
};

const EMAIL = "projects/course-organizer-demo/notificationChannels/";

describe.each([1, 2, 3, 4] as const)("stage %i alert policies", (stage) => {
  const stack = `stage${stage}`;

  it("are one warning and one critical policy per seed metric, plus the uptime policy", async () => {
    const p = await plan(stack);
    const names = ofMonitoring(p, ALERT)
      .map((r) => r.name)
      .sort();
    const keys = Object.keys(expected[stage]);
    expect(names).toEqual([...keys.flatMap((k) => [`monitoring-${k}-warning`, `monitoring-${k}-critical`]), "monitoring-uptime-critical"].sort());
    for (const r of ofMonitoring(p, ALERT)) expect(r.parent).toBe(`urn:pulumi:${stack}::course-organizer::course-organizer:monitoring:Monitoring::monitoring`);
  });

  it.each(Object.keys(expected[stage]))("%s: metric filters, thresholds, GT comparison, 300 s, severity, action and channels", async (key) => {
    const p = await plan(stack);
    const email = get(p, CHANNEL, "monitoring-email-ops-example-org");
    for (const [i, severity] of (["WARNING", "CRITICAL"] as const).entries()) {
      const r = get(p, ALERT, `monitoring-${key}-${severity.toLowerCase()}`);
      const inputs = r.inputs as Record<string, any>;
      expect(inputs.severity).toBe(severity);
      expect(inputs.combiner).toBe("OR");
      // Metrics that may not exist yet at create are PromQL without metric validation (components/monitoring.ts).
      const eventual = (filter: string) => EVENTUALLY_CONSISTENT_METRIC.test(filter.match(/metric\.type = "([^"]+)"/)![1]!);
      expect(
        inputs.conditions.map(
          (c: any) =>
            c.conditionPrometheusQueryLanguage && {
              ...c.conditionPrometheusQueryLanguage,
              query: c.conditionPrometheusQueryLanguage.query.replace(/^.* > /, "> "),
            },
        ),
      ).toEqual(
        expected[stage][key]!.map((c) =>
          eventual(c.filter) ? { query: `> ${c.values[i]}`, duration: "300s", evaluationInterval: "60s", disableMetricValidation: true } : undefined,
        ),
      );
      expect(inputs.conditions.map((c: any) => c.conditionThreshold)).toEqual(
        expected[stage][key]!.map((c) =>
          eventual(c.filter)
            ? undefined
            : {
                filter: c.filter,
                ...(c.denominator ? { denominatorFilter: c.denominator, denominatorAggregations: c.agg } : {}),
                comparison: "COMPARISON_GT",
                thresholdValue: c.values[i],
                duration: "300s",
                aggregations: c.agg,
                trigger: { count: 1 },
              },
        ),
      );
      expect(inputs.documentation.subject).toContain(`: ${ACTIONS[key]}`);
      expect(inputs.documentation.content).toContain(`**Action (seed "Monitoring & Alerts"): ${ACTIONS[key]}.**`);
      expect(inputs.documentation.content).toContain("Runbook:\n- ");
      expect(inputs.documentation.mimeType).toBe("text/markdown");
      // No webhook or PagerDuty configured in the stack files: e-mail only.
      expect(inputs.notificationChannels).toEqual([expect.stringMatching(new RegExp(`^${EMAIL}[0-9a-f]{16}$`))]);
      expect(r.propertyDependencies.notificationChannels).toEqual([email.urn]);
      expect(inputs.userLabels).toEqual({
        app: "course-organizer",
        component: "monitoring",
        "managed-by": "pulumi",
        stage: String(stage),
        severity: severity.toLowerCase(),
        metric: key,
      });
    }
  });

  it("checks / and /api/health over HTTPS from three regions and pages when more than one region fails", async () => {
    const p = await plan(stack);
    for (const [name, path] of [
      ["monitoring-uptime-root", "/"],
      ["monitoring-uptime-api-health", "/api/health"],
    ] as const) {
      expect(get(p, UPTIME, name).inputs).toEqual({
        displayName: `Course Organizer https://courses.example.org${path}`,
        monitoredResource: { type: "uptime_url", labels: { project_id: "course-organizer-demo", host: "courses.example.org" } },
        httpCheck: {
          path,
          port: 443,
          useSsl: true,
          validateSsl: true,
          requestMethod: "GET",
          acceptedResponseStatusCodes: [{ statusClass: "STATUS_CLASS_2XX" }],
        },
        checkerType: "STATIC_IP_CHECKERS",
        selectedRegions: ["USA", "EUROPE", "ASIA_PACIFIC"],
        period: "60s",
        timeout: "10s",
        userLabels: { app: "course-organizer", component: "monitoring", "managed-by": "pulumi", stage: String(stage) },
      });
    }
    const up = get(p, ALERT, "monitoring-uptime-critical").inputs as Record<string, any>;
    expect(up.severity).toBe("CRITICAL");
    expect(up.conditions.map((c: any) => c.conditionThreshold.filter)).toEqual(
      ["monitoring-uptime-root", "monitoring-uptime-api-health"].map(
        (n) =>
          `metric.type = "monitoring.googleapis.com/uptime_check/check_passed" AND resource.type = "uptime_url" AND metric.label.check_id = "${mockCheckId(n)}"`,
      ),
    );
    for (const c of up.conditions) {
      expect(c.conditionThreshold).toMatchObject({
        comparison: "COMPARISON_GT",
        thresholdValue: 1,
        aggregations: [
          { alignmentPeriod: "1200s", perSeriesAligner: "ALIGN_NEXT_OLDER", crossSeriesReducer: "REDUCE_COUNT_FALSE", groupByFields: ["resource.label.host"] },
        ],
      });
    }
    expect(up.documentation.subject).toContain("Alert on-call");
  });

  it("has a dashboard charting the same metrics as the policies, with both thresholds", async () => {
    const p = await plan(stack);
    const dash = JSON.parse(get(p, DASHBOARD, "monitoring-dashboard").inputs.dashboardJson as string);
    const charts = dash.mosaicLayout.tiles.map((t: any) => t.widget.xyChart);
    const all = Object.values(expected[stage]).flat();
    expect(charts).toHaveLength(all.length);
    // A chart per condition: its filter, or the PromQL of a condition on a metric that may not exist yet.
    const typeOf = (filter: string) => filter.match(/metric\.type = "([^"]+)"/)![1]!;
    const promName = (t: string) => (t.startsWith("prometheus.googleapis.com/") ? t.split("/")[1]! : promqlName(t));
    expect(
      charts.map(
        (c: any) =>
          c.dataSets[0].timeSeriesQuery.prometheusQuery ??
          c.dataSets[0].timeSeriesQuery.timeSeriesFilter?.filter ??
          c.dataSets[0].timeSeriesQuery.timeSeriesFilterRatio.numerator.filter,
      ),
    ).toEqual(all.map((c) => (EVENTUALLY_CONSISTENT_METRIC.test(typeOf(c.filter)) ? expect.stringContaining(promName(typeOf(c.filter))) : c.filter)));
    expect(charts.map((c: any) => c.thresholds.map((t: any) => t.value))).toEqual(all.map((c) => c.values));
  });

  it("keeps every policy and channel name free of the stage", async () => {
    const p = await plan(stack);
    for (const r of [...ofMonitoring(p, ALERT), ...ofType(p, CHANNEL), ...ofType(p, UPTIME), ...ofType(p, OSPOLICY)])
      expect(r.name).not.toMatch(/stage|[^a-z]s?[1-4]$/);
  });
});

/** The uptime check id the mock engine computes for a check (src/plan/mocks.ts: a hash of the logical name). */
function mockCheckId(name: string): string {
  return createHash("sha256").update(name).digest("hex").slice(0, 16);
}

describe("stage-specific metric sources", () => {
  it("stage 1 defines the nginx logs-based metrics (latency distribution of /api/, requests by status class); later stages do not", async () => {
    const p = await plan("stage1");
    const latency = get(p, LOGMETRIC, "monitoring-nginx-api-latency").inputs as Record<string, any>;
    expect(latency.name).toBe("co-nginx-api-latency");
    expect(latency.filter).toBe(
      'logName = "projects/course-organizer-demo/logs/journald" AND resource.type = "gce_instance" AND jsonPayload.CONTAINER_NAME =~ "nginx" AND jsonPayload.MESSAGE =~ "\\"[A-Z]+ /api/[^\\"]*\\" [0-9]{3} " AND NOT jsonPayload.MESSAGE =~ "\\" 101 "',
    );
    expect(latency.valueExtractor).toBe('REGEXP_EXTRACT(jsonPayload.MESSAGE, "rt=([0-9.]+)")');
    expect(latency.metricDescriptor).toEqual({ metricKind: "DELTA", valueType: "DISTRIBUTION", unit: "s", displayName: "nginx API latency" });
    expect(latency.bucketOptions).toEqual({ exponentialBuckets: { numFiniteBuckets: 40, growthFactor: 1.33, scale: 0.001 } });
    const requests = get(p, LOGMETRIC, "monitoring-nginx-requests").inputs as Record<string, any>;
    expect(requests.name).toBe("co-nginx-requests");
    expect(requests.metricDescriptor.labels).toEqual([{ key: "status_class", valueType: "STRING", description: "First digit of the HTTP status" }]);
    // The policies that read them are created after them (a policy on an unknown metric type is refused).
    expect(get(p, ALERT, "monitoring-api-latency-ms-warning").dependencies).toContain(get(p, LOGMETRIC, "monitoring-nginx-api-latency").urn);
    for (const s of ["stage2", "stage3", "stage4"]) expect(ofMonitoring(await plan(s), LOGMETRIC)).toEqual([]);
  });

  it("the regexes of the logs-based metrics match nginx's log_format main lines (src/files/nginx.ts)", () => {
    const line = (req: string, status: number) => `10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "${req}" ${status} 12 "-" "curl/8" rt=0.231 urt=0.230`;
    const api = /"[A-Z]+ \/api\/[^"]*" [0-9]{3} /;
    const ws = /" 101 /;
    expect(api.test(line("GET /api/courses HTTP/1.1", 200))).toBe(true);
    expect(api.test(line("GET /static/app.js HTTP/1.1", 200))).toBe(false);
    expect(ws.test(line("GET /ws/chat/ HTTP/1.1", 101))).toBe(true);
    expect(ws.test(line("GET /api/x HTTP/1.1", 200))).toBe(false);
    expect(line("GET /api/x HTTP/1.1", 200).match(/rt=([0-9.]+)/)![1]).toBe("0.231");
    expect(line("POST /api/x HTTP/1.1", 503).match(/"[A-Z]+ [^"]*" ([1-5])[0-9]{2} /)![1]).toBe("5");
  });

  it("a retained, stopped VM (stage 3) brings no VM conditions; stage 4 adds GKE and keeps Cloud SQL", async () => {
    const s3 = JSON.stringify(ofMonitoring(await plan("stage3"), ALERT).map((r) => r.inputs));
    expect(s3).not.toContain("postgresql.backends");
    expect(s3).not.toContain("logging.googleapis.com/user");
    const s4 = JSON.stringify(ofMonitoring(await plan("stage4"), ALERT).map((r) => r.inputs));
    expect(s4).toContain("kubernetes.io/container/cpu/limit_utilization");
    expect(s4).toContain("cloudsql.googleapis.com/database/postgresql/num_backends");
  });
});

describe("descriptors of host-written metrics", () => {
  // GCP refuses a policy whose filter names a metric type it does not know yet (404 "Cannot find metric(s) that
  // match type"); the VM's script and the Ops Agent write theirs only minutes after the VM boots.
  const WS_DESCRIPTOR = {
    type: "custom.googleapis.com/course_organizer/websocket_connections",
    metricKind: "GAUGE",
    valueType: "INT64",
    unit: "1",
    displayName: "Course Organizer WebSocket connections",
    description: "Established WebSocket connections to Daphne on one host (written every minute by the host)",
    labels: [],
  };
  const PG_DESCRIPTOR = {
    type: "workload.googleapis.com/postgresql.backends",
    metricKind: "GAUGE",
    valueType: "INT64",
    unit: "1",
    displayName: "PostgreSQL backends",
    description: "Number of backends of the VM's PostgreSQL, per database (Ops Agent postgresql receiver)",
    labels: [{ key: "database", valueType: "STRING", description: "The name of the database." }],
  };

  it.each([
    [1, { "monitoring-metric-websocket-connections": WS_DESCRIPTOR, "monitoring-metric-postgresql-backends": PG_DESCRIPTOR }],
    [2, { "monitoring-metric-websocket-connections": WS_DESCRIPTOR, "monitoring-metric-postgresql-backends": PG_DESCRIPTOR }],
    [3, { "monitoring-metric-websocket-connections": WS_DESCRIPTOR }],
    [4, {}],
  ] as const)(
    "stage %i declares the descriptors its policies read, kept in GCP when a later stage drops one, and the policies wait for them",
    async (stage, want) => {
      const p = await plan(`stage${stage}`);
      const ds = ofType(p, DESCRIPTOR);
      expect(Object.fromEntries(ds.map((d) => [d.name, d.inputs]))).toEqual(want);
      for (const d of ds) expect(d.retainOnDelete).toBe(true);
      const waits = (policy: string) =>
        get(p, ALERT, policy)
          .dependencies.filter((u) => ds.some((d) => d.urn === u))
          .map((u) => ds.find((d) => d.urn === u)!.name);
      for (const sev of ["warning", "critical"]) {
        expect(waits(`monitoring-websocket-connections-percent-${sev}`)).toEqual(stage < 4 ? ["monitoring-metric-websocket-connections"] : []);
        expect(waits(`monitoring-db-connections-percent-${sev}`)).toEqual(stage < 3 ? ["monitoring-metric-postgresql-backends"] : []);
        expect(waits(`monitoring-cpu-percent-${sev}`)).toEqual([]);
      }
    },
  );
});

describe("stage 3 -> 4 cut-over (runbook phase A: instance groups and GKE together)", () => {
  it("the WebSocket policies are one PromQL sum over both kinds of hosts, created before GKE's gauge exists", async () => {
    const p = await plan("stage4", { sets: ["httpPool.enabled=true", "wsPool.enabled=true", "loadBalancer.gkeTrafficPercent=0"] });
    for (const [sev, value] of [
      ["warning", 22500 + 3750],
      ["critical", 27000 + 4500],
    ] as const) {
      const r = get(p, ALERT, `monitoring-websocket-connections-percent-${sev}`);
      const [c] = (r.inputs as any).conditions;
      expect(c.conditionPrometheusQueryLanguage).toEqual({
        query: `(sum(custom_googleapis_com:course_organizer_websocket_connections) or vector(0)) + (sum(websocket_connections) or vector(0)) > ${value}`,
        duration: "300s",
        evaluationInterval: "60s",
        // Without it GCP refuses the policy: websocket_connections has no data until the new pods are scraped.
        disableMetricValidation: true,
      });
      expect(r.dependencies).toContain(get(p, DESCRIPTOR, "monitoring-metric-websocket-connections").urn);
    }
  });
});

describe("stage moves", () => {
  it.each([
    [1, 2],
    [2, 3],
    [3, 4],
  ])("stage %i -> %i updates monitoring in place: no replacement, channels, uptime checks and policies keep their URNs", async (a, b) => {
    const from = await plan(`stage${b}`, { configStack: `stage${a}` });
    const to = await plan(`stage${b}`);
    const d = diffPlans(from, to, `stage${a}`);
    const ours = (t: string) =>
      t.startsWith("gcp:monitoring/") || t.startsWith("gcp:osconfig/") || t.startsWith("gcp:logging/") || t.startsWith("gcp:billing/");
    expect(d.replaces.filter((r) => ours(r.type))).toEqual([]);
    // The e-mail channel changes only its stage label.
    expect(d.updates.find((u) => u.name === "monitoring-email-ops-example-org")?.paths).toEqual(["userLabels.stage"]);
    const deleted = d.deletes.filter((r) => ours(r.type) && !r.retained).map((r) => r.name);
    // Only the nginx logs-based metrics go, when the load balancer takes over latency and errors (stage 2).
    expect(deleted.sort()).toEqual(a === 1 ? ["monitoring-nginx-api-latency", "monitoring-nginx-requests"] : []);
    // Descriptors a stage no longer reads leave the stack but stay in GCP (deleting one deletes the metric's data).
    const retained = d.deletes.filter((r) => ours(r.type) && r.retained).map((r) => r.name);
    expect(retained).toEqual(a === 2 ? ["monitoring-metric-postgresql-backends"] : a === 3 ? ["monitoring-metric-websocket-connections"] : []);
    for (const n of ["monitoring-uptime-root", "monitoring-uptime-api-health", "monitoring-uptime-critical", "monitoring-cpu-percent-critical"]) {
      expect(d.creates.map((r) => r.name)).not.toContain(n);
    }
  });
});

/** Everything optional set at once (one plan per stage serves the channel and the budget tests). */
const WEBHOOK = "https://hooks.example.org/course-organizer";
const ALL_SET = [
  "monitoring.webhookUrl=" + WEBHOOK,
  "monitoring.pagerdutyServiceKeySecret=pagerduty-service-key",
  'alertEmails=["ops@example.org","oncall@example.org"]',
  "monitoring.billingAccount=01A2B3-C4D5E6-F7A8B9",
];

describe("notification channels", () => {
  const sets = ALL_SET;

  it("are one protected e-mail channel per address, with URNs that survive stage moves", async () => {
    const urns = await Promise.all([1, 2, 3, 4].map(async (s) => get(await plan(`stage${s}`), CHANNEL, "monitoring-email-ops-example-org")));
    for (const c of urns) {
      expect(c.inputs).toMatchObject({ type: "email", labels: { email_address: "ops@example.org" }, displayName: "Course Organizer on-call ops@example.org" });
      expect(c.protect).toBe(true);
    }
    expect(new Set(urns.map((c) => c.urn.replace(/^urn:pulumi:stage\d::/, "")))).toEqual(
      new Set([
        "course-organizer::course-organizer:monitoring:Monitoring$gcp:monitoring/notificationChannel:NotificationChannel::monitoring-email-ops-example-org",
      ]),
    );
  });

  it.each([1, 2, 3, 4])("stage %i: webhook and PagerDuty (--set) notify critical policies only; e-mails notify all", async (stage) => {
    const p = await plan(`stage${stage}`, { sets });
    const webhook = get(p, CHANNEL, "monitoring-webhook");
    expect(webhook.inputs).toMatchObject({ type: "webhook_tokenauth", labels: { url: WEBHOOK } });
    expect(webhook.protect).toBe(true);
    const pd = get(p, CHANNEL, "monitoring-pagerduty");
    // The service key comes from Secret Manager and stays a secret.
    expect(pd.inputs).toMatchObject({ type: "pagerduty", sensitiveLabels: { "[secret]": { serviceKey: expect.stringMatching(/^mock[0-9a-f]{28}$/) } } });
    expect(pd.protect).toBe(true);
    const emails = [get(p, CHANNEL, "monitoring-email-ops-example-org").urn, get(p, CHANNEL, "monitoring-email-oncall-example-org").urn];
    const policies = ofMonitoring(p, ALERT);
    expect(policies.length).toBe(15);
    for (const r of policies) {
      const critical = (r.inputs as any).severity === "CRITICAL";
      expect(r.propertyDependencies.notificationChannels).toEqual(critical ? [...emails, webhook.urn, pd.urn] : emails);
      expect((r.inputs as any).notificationChannels).toHaveLength(critical ? 4 : 2);
    }
  });

  it("without them there is no webhook or PagerDuty channel", async () => {
    const p = await plan("stage2");
    expect(ofType(p, CHANNEL).map((c) => c.name)).toEqual(["monitoring-email-ops-example-org"]);
  });
});

describe("Ops Agent on every VM", () => {
  it("stage 1: an OS policy in the VM's zone installs the agent on instances labelled app=course-organizer, with the VM's PostgreSQL receiver", async () => {
    const p = await plan("stage1", { withFiles: true });
    expect(ofType(p, OSPOLICY).map((r) => r.name)).toEqual(["monitoring-ops-agent-us-central1-b"]);
    const a = get(p, OSPOLICY, "monitoring-ops-agent-us-central1-b").inputs as Record<string, any>;
    expect(a.location).toBe("us-central1-b");
    expect(a.name).toBe("co-ops-agent");
    expect(a.instanceFilter).toEqual({
      inclusionLabels: [{ labels: { app: "course-organizer" } }],
      exclusionLabels: [{ labels: { component: "gke" } }],
      inventories: [{ osShortName: "ubuntu" }, { osShortName: "debian" }],
    });
    expect(a.rollout).toEqual({ disruptionBudget: { fixed: 1 }, minWaitDuration: "60s" });
    // `up` does not wait out a fleet-sized rollout (the provider's own wait fails after 20 minutes).
    expect(a.skipAwaitRollout).toBe(true);
    expect(get(p, OSPOLICY, "monitoring-ops-agent-us-central1-b").customTimeouts).toEqual({ create: "10m", update: "10m", delete: "10m" });
    const [policy] = a.osPolicies;
    expect(policy).toMatchObject({ id: "ops-agent", mode: "ENFORCEMENT", allowNoResourceGroupMatch: false });
    expect(policy.resourceGroups).toEqual([
      {
        inventoryFilters: [{ osShortName: "ubuntu" }, { osShortName: "debian" }],
        resources: [
          {
            id: "install",
            exec: {
              validate: { interpreter: "SHELL", script: opsAgentPolicyScript("install", "validate") },
              enforce: { interpreter: "SHELL", script: opsAgentPolicyScript("install", "enforce") },
            },
          },
          {
            id: "config",
            file: {
              path: "/etc/google-cloud-ops-agent/config.yaml",
              state: "CONTENTS_MATCH",
              content: opsAgentConfig({ postgres: true }),
              permissions: "0644",
            },
          },
          {
            id: "restart-on-change",
            exec: {
              validate: { interpreter: "SHELL", script: opsAgentPolicyScript("restart", "validate") },
              enforce: { interpreter: "SHELL", script: opsAgentPolicyScript("restart", "enforce") },
            },
          },
        ],
      },
    ]);
    // Google's installer, as the instance groups' boot script uses: one apt source for the agent's repository.
    expect(opsAgentPolicyScript("install", "enforce")).toContain("https://dl.google.com/cloudagents/add-google-cloud-ops-agent-repo.sh");
    expect(opsAgentPolicyScript("install", "enforce")).toContain("bash add-repo.sh --also-install");
    // VM Manager needs enable-osconfig=TRUE; the policy comes after it.
    const meta = get(p, "gcp:compute/projectMetadataItem:ProjectMetadataItem", "monitoring-enable-osconfig");
    expect(meta.inputs).toEqual({ project: "course-organizer-demo", key: "enable-osconfig", value: "TRUE" });
    expect(get(p, OSPOLICY, "monitoring-ops-agent-us-central1-b").dependencies).toContain(meta.urn);
    // The VM's PostgreSQL receiver (Ops Agent third-party integration), in the file the policy writes.
    const vmConf = p.files!.find((f) => f.role === "ops-agent" && f.path === "config.yaml")!.content;
    expect(vmConf).toContain(
      "    postgresql:\n      type: postgresql\n      collection_interval: 60s\n      endpoint: /var/run/postgresql/.s.PGSQL.5432\n      username: course_organizer\n",
    );
    expect(vmConf).toBe(opsAgentConfig({ postgres: true }));
  });

  it("stage 3: every zone of the instance groups, without the PostgreSQL receiver (no VM database); the VM's zone keeps its URN", async () => {
    const p = await plan("stage3");
    // us-central1's zones (data/gcp-catalog.json): a, b, c and f.
    expect(
      ofType(p, OSPOLICY)
        .map((r) => r.name)
        .sort(),
    ).toEqual([
      "monitoring-ops-agent-us-central1-a",
      "monitoring-ops-agent-us-central1-b",
      "monitoring-ops-agent-us-central1-c",
      "monitoring-ops-agent-us-central1-f",
    ]);
    const b = get(p, OSPOLICY, "monitoring-ops-agent-us-central1-b");
    expect(b.urn.replace("stage3", "stage1")).toBe(get(await plan("stage1"), OSPOLICY, "monitoring-ops-agent-us-central1-b").urn);
    const poolConf = (b.inputs as any).osPolicies[0].resourceGroups[0].resources[1].file.content as string;
    expect(poolConf).not.toContain("type: postgresql");
    expect(poolConf).toBe(opsAgentConfig({ postgres: false }));
  });

  it("stage 4: the Videobridge pools' zones in both regions, never the GKE nodes (same app label, Container-Optimized OS)", async () => {
    const p = await plan("stage4");
    expect(
      ofType(p, OSPOLICY)
        .map((r) => (r.inputs as any).location)
        .sort(),
    ).toEqual(["europe-west1-b", "europe-west1-c", "europe-west1-d", "us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"]);
    const filter = (ofType(p, OSPOLICY)[0]!.inputs as any).instanceFilter;
    const matches = (labels: Record<string, string>, sets: { labels: Record<string, string> }[]) =>
      sets.some((s) => Object.entries(s.labels).every(([k, v]) => labels[k] === v));
    const pools = ofType(p, "gcp:container/nodePool:NodePool");
    expect(pools.length).toBeGreaterThan(0);
    for (const pool of pools) {
      const labels = (pool.inputs as any).nodeConfig.resourceLabels as Record<string, string>;
      // Included by the app label alone, excluded by the component label: the exclusion is what keeps them out.
      expect(matches(labels, filter.inclusionLabels)).toBe(true);
      expect(matches(labels, filter.exclusionLabels)).toBe(true);
    }
    for (const t of ofType(p, "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate")) {
      expect(matches((t.inputs as any).labels, filter.exclusionLabels)).toBe(false);
    }
  });
});

describe("billing budget", () => {
  it("exists only when monitoring.billingAccount is set", async () => {
    for (const s of [1, 2, 3, 4]) expect(ofType(await plan(`stage${s}`), BUDGET)).toEqual([]);
  });

  it.each([
    [1, "100"],
    [2, "300"],
    [3, "2000"],
    [4, "8000"],
  ])("stage %i: a monthly budget of %s USD, alerts at 50, 90, 100 percent spent and 100 percent forecast, to the e-mail channels", async (stage, usd) => {
    const p = await plan(`stage${stage}`, { sets: ALL_SET });
    const b = get(p, BUDGET, "monitoring-budget");
    expect(b.inputs).toEqual({
      billingAccount: "01A2B3-C4D5E6-F7A8B9",
      displayName: "co-monthly-budget",
      budgetFilter: { projects: ["projects/123456789012"], calendarPeriod: "MONTH", creditTypesTreatment: "INCLUDE_ALL_CREDITS" },
      amount: { specifiedAmount: { currencyCode: "USD", units: usd } },
      thresholdRules: [
        { thresholdPercent: 0.5, spendBasis: "CURRENT_SPEND" },
        { thresholdPercent: 0.9, spendBasis: "CURRENT_SPEND" },
        { thresholdPercent: 1.0, spendBasis: "CURRENT_SPEND" },
        { thresholdPercent: 1.0, spendBasis: "FORECASTED_SPEND" },
      ],
      allUpdatesRule: {
        monitoringNotificationChannels: [expect.stringMatching(new RegExp(`^${EMAIL}`)), expect.stringMatching(new RegExp(`^${EMAIL}`))],
        disableDefaultIamRecipients: false,
      },
    });
    // E-mail channels only: the webhook and PagerDuty are for critical incidents, not spending.
    expect(b.propertyDependencies["allUpdatesRule"]).toEqual([
      get(p, CHANNEL, "monitoring-email-ops-example-org").urn,
      get(p, CHANNEL, "monitoring-email-oncall-example-org").urn,
    ]);
  });
});

describe("enums and preview", () => {
  it.each([1, 2, 3, 4])("stage %i: alert policy and uptime enums are values Google accepts (data/gcp-api-facts.json)", async (stage) => {
    const p = await plan(`stage${stage}`);
    const facts = gcpFacts();
    const at = (type: string, path: string) => {
      const enums = facts[type]!.enums;
      return enums[Object.keys(enums).find((k) => normPath(k) === normPath(path))!]!;
    };
    let checked = 0;
    for (const r of ofMonitoring(p, ALERT)) {
      const i = r.inputs as Record<string, any>;
      expect(at(ALERT, "combiner")).toContain(i.combiner);
      expect(at(ALERT, "severity")).toContain(i.severity);
      for (const c of i.conditions) {
        const t = c.conditionThreshold;
        if (!t) continue; // PromQL conditions (the comparison is in the query)
        expect(at(ALERT, "conditions[].conditionThreshold.comparison")).toContain(t.comparison);
        for (const a of [...t.aggregations, ...(t.denominatorAggregations ?? [])]) {
          expect(at(ALERT, "conditions[].conditionThreshold.aggregations[].perSeriesAligner")).toContain(a.perSeriesAligner);
          if (a.crossSeriesReducer) expect(at(ALERT, "conditions[].conditionThreshold.aggregations[].crossSeriesReducer")).toContain(a.crossSeriesReducer);
          checked++;
        }
      }
    }
    expect(ofType(p, UPTIME).length).toBeGreaterThan(0);
    for (const r of ofType(p, UPTIME)) {
      const i = r.inputs as Record<string, any>;
      expect(at(UPTIME, "checkerType")).toContain(i.checkerType);
      expect(at(UPTIME, "httpCheck.requestMethod")).toContain(i.httpCheck.requestMethod);
      expect(at(UPTIME, "httpCheck.acceptedResponseStatusCodes[].statusClass")).toContain(i.httpCheck.acceptedResponseStatusCodes[0].statusClass);
    }
    expect(checked).toBeGreaterThan(5);
  });

  // (test/plan.test.ts previews every stack; these cover the optional resources, unknown ids included.)
  it.each([1, 4])("stage %i plans in preview mode with everything optional set (uptime check ids unknown)", async (stage) => {
    const p = await plan(`stage${stage}`, { preview: true, sets: ALL_SET });
    const up = get(p, ALERT, "monitoring-uptime-critical").inputs as Record<string, any>;
    expect(up.conditions).toHaveLength(2);
    const budget = get(p, BUDGET, "monitoring-budget").inputs as Record<string, any>;
    expect([budget.billingAccount, budget.amount]).toEqual([
      "01A2B3-C4D5E6-F7A8B9",
      { specifiedAmount: { currencyCode: "USD", units: stage === 1 ? "100" : "8000" } },
    ]);
    expect((get(p, ALERT, "monitoring-cpu-percent-critical").inputs as any).notificationChannels).toEqual(["[unknown]", "[unknown]", "[unknown]", "[unknown]"]);
  });
});

/**
 * Allowed values of an input field the facts file does not cover (billing, osconfig, logging), from the "Possible
 * values are: `A`, `B`." note of the provider's own type definition (node_modules/@pulumi/gcp/types/input.d.ts).
 */
function possibleValues(iface: string, field: string): string[] {
  const text = readFileSync(join(projectDir, "node_modules/@pulumi/gcp/types/input.d.ts"), "utf8");
  const start = text.indexOf(`interface ${iface} {`);
  if (start < 0) throw new Error(`no interface ${iface}`);
  const body = text.slice(start, text.indexOf("\n    }", start));
  const at = body.search(new RegExp(`\\n\\s+${field}\\??: `));
  if (at < 0) throw new Error(`no field ${field} in ${iface}`);
  const doc = body.slice(body.lastIndexOf("/**", at), at).replace(/\s*\*\s*/g, " ");
  const m = /Possible values are:?\s*([^.]*)\./.exec(doc);
  if (!m) throw new Error(`no possible values documented for ${iface}.${field}`);
  return [...m[1]!.matchAll(/`([A-Z0-9_]+)`/g)].map((x) => x[1]!);
}

describe("enums outside the facts file (provider docs)", () => {
  it("OS policy, budget and logs-based metric values are among the provider's documented values", async () => {
    const p1 = await plan("stage1");
    const a = get(p1, OSPOLICY, "monitoring-ops-agent-us-central1-b").inputs as Record<string, any>;
    const policy = a.osPolicies[0];
    expect(possibleValues("OsPolicyAssignmentOsPolicy", "mode")).toContain(policy.mode);
    const resources = policy.resourceGroups[0].resources;
    expect(possibleValues("OsPolicyAssignmentOsPolicyResourceGroupResourceFile", "state")).toContain(resources[1].file.state);
    for (const r of [resources[0], resources[2]]) {
      expect(possibleValues("OsPolicyAssignmentOsPolicyResourceGroupResourceExecValidate", "interpreter")).toContain(r.exec.validate.interpreter);
      expect(possibleValues("OsPolicyAssignmentOsPolicyResourceGroupResourceExecEnforce", "interpreter")).toContain(r.exec.enforce.interpreter);
    }
    for (const name of ["monitoring-nginx-api-latency", "monitoring-nginx-requests"]) {
      const d = (get(p1, LOGMETRIC, name).inputs as any).metricDescriptor;
      expect(possibleValues("MetricMetricDescriptor", "metricKind")).toContain(d.metricKind);
      expect(possibleValues("MetricMetricDescriptor", "valueType")).toContain(d.valueType);
      for (const l of d.labels ?? []) expect(possibleValues("MetricMetricDescriptorLabel", "valueType")).toContain(l.valueType);
    }
    const b = get(await plan("stage1", { sets: ALL_SET }), BUDGET, "monitoring-budget").inputs as Record<string, any>;
    expect(possibleValues("BudgetBudgetFilter", "calendarPeriod")).toContain(b.budgetFilter.calendarPeriod);
    expect(possibleValues("BudgetBudgetFilter", "creditTypesTreatment")).toContain(b.budgetFilter.creditTypesTreatment);
    for (const r of b.thresholdRules) expect(possibleValues("BudgetThresholdRule", "spendBasis")).toContain(r.spendBasis);
  });
});

describe("argument checks", () => {
  const base: MonitoringArgs = {
    prefix: "co",
    project: "p-123456",
    labels: {},
    domain: "x.example.org",
    alertEmails: ["a@example.org"],
    thresholds: {
      cpuPercent: { warning: 70, critical: 85 },
      memoryPercent: { warning: 75, critical: 90 },
      apiLatencyMs: { warning: 200, critical: 500 },
      dbConnectionsPercent: { warning: 70, critical: 90 },
      websocketConnectionsPercent: { warning: 75, critical: 90 },
      diskPercent: { warning: 70, critical: 85 },
      errorRatePercent: { warning: 1, critical: 5 },
    },
    durationSeconds: 300,
    uptimeRegions: ["USA", "EUROPE", "ASIA_PACIFIC"],
    websocketCapacity: 100,
  };

  it("refuse fewer than 3 uptime regions, no e-mail, warning >= critical", () => {
    expect(monitoringArgProblems(base)).toEqual([]);
    expect(
      monitoringArgProblems({
        ...base,
        uptimeRegions: ["USA", "EUROPE"],
        alertEmails: [],
        thresholds: { ...base.thresholds, cpuPercent: { warning: 90, critical: 85 } },
      }),
    ).toEqual([
      "Monitoring args.alertEmails: [] names no address; allowed: at least one e-mail address",
      'Monitoring args.uptimeRegions: ["USA","EUROPE"] has fewer than 3 regions; allowed: at least 3 of USA, EUROPE, SOUTH_AMERICA, ASIA_PACIFIC (Cloud Monitoring\'s minimum)',
      "Monitoring args.thresholds.cpuPercent.warning: 90 is not below critical 85; allowed: less than 85",
    ]);
  });

  it("during the stage 3 -> 4 cut-over (WebSocket pool and GKE), sum both kinds of hosts in one PromQL condition that promtool parses", () => {
    const ws = metricSpecs({ ...base, websocketPool: true, gke: true, websocketCapacity: 35000 }).find((s) => s.key === "websocketConnectionsPercent")!;
    const [warning] = ws.conditions(75);
    expect(warning!.promql).toBe(
      "(sum(custom_googleapis_com:course_organizer_websocket_connections) or vector(0)) + (sum(websocket_connections) or vector(0)) > 26250",
    );
    const dir = mkdtempSync(join(tmpdir(), "co-monitoring-"));
    try {
      writeFileSync(join(dir, "q.yml"), stringify({ groups: [{ name: "q", rules: [{ alert: "WebSocketConnectionsWarning", expr: warning!.promql }] }] }));
      const r = spawnSync("promtool", ["check", "rules", "q.yml"], { cwd: dir, encoding: "utf8" });
      expect(`${r.stdout}${r.stderr}`).toContain("SUCCESS: 1 rules found");
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Only one kind of host: still PromQL, the custom metric may not exist when the policy is created.
    expect(
      metricSpecs({ ...base, websocketPool: true })
        .find((s) => s.key === "websocketConnectionsPercent")!
        .conditions(75)[0]!.promql,
    ).toBe("sum(custom_googleapis_com:course_organizer_websocket_connections) > 75");
  });

  it("every condition on a metric that may not exist yet (logs-based, host-written, Managed Prometheus) is PromQL that promtool parses", () => {
    const vm = metricSpecs({ ...base, vm: { postgresMaxConnections: 100 } }).flatMap((s) => s.conditions(90));
    const gke = metricSpecs({ ...base, gke: true, cloudSql: { maxConnections: 400 }, loadBalancer: true }).flatMap((s) => s.conditions(90));
    const all = [...vm, ...gke];
    const eventual = all.filter((c) => EVENTUALLY_CONSISTENT_METRIC.test(c.filter.match(/metric\.type = "([^"]+)"/)![1]!));
    expect(eventual.map((c) => c.promql)).toEqual([
      'histogram_quantile(0.95, sum by (le) (rate(logging_googleapis_com:user_co_nginx_api_latency_bucket{monitored_resource="gce_instance"}[5m]))) > 0.09',
      'sum by (instance_id) (workload_googleapis_com:postgresql_backends{monitored_resource="gce_instance"}) > 90',
      "sum(custom_googleapis_com:course_organizer_websocket_connections) > 90",
      'sum(rate(logging_googleapis_com:user_co_nginx_requests{monitored_resource="gce_instance",status_class="5"}[5m])) / sum(rate(logging_googleapis_com:user_co_nginx_requests{monitored_resource="gce_instance"}[5m])) > 0.9',
      "sum(websocket_connections) > 90",
    ]);
    const dir = mkdtempSync(join(tmpdir(), "co-monitoring-"));
    try {
      writeFileSync(join(dir, "q.yml"), stringify({ groups: [{ name: "q", rules: eventual.map((c, i) => ({ alert: `A${i}`, expr: c.promql })) }] }));
      const r = spawnSync("promtool", ["check", "rules", "q.yml"], { cwd: dir, encoding: "utf8" });
      expect(`${r.stdout}${r.stderr}`).toContain(`SUCCESS: ${eventual.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(promqlName("logging.googleapis.com/user/co-nginx-api-latency")).toBe("logging_googleapis_com:user_co_nginx_api_latency");
  });

  it("read the WebSocket metrics the hosts publish: the instance groups' custom metric, GKE's Managed Prometheus gauge", () => {
    expect(WEBSOCKET_METRIC).toBe(WS_CONNECTIONS_METRIC);
    // The Custom Metrics adapter's name of the gauge: prometheus.googleapis.com|websocket_connections|gauge.
    expect(METRICS.wsConnections.split("|").join("/")).toBe(GKE_WEBSOCKET_METRIC);
    expect(websocketMetricScript({ project: "p-123456" })).toContain(`"metric":{"type":"${WS_CONNECTIONS_METRIC}"}`);
  });

  it("watch nothing that does not exist: no VM, pools, SQL or GKE means no conditions at all", () => {
    expect(metricSpecs(base).filter((s) => s.conditions(1).length > 0)).toEqual([]);
    expect(
      metricSpecs({ ...base, websocketPool: true })
        .filter((s) => s.conditions(1).length > 0)
        .map((s) => s.key),
    ).toEqual(["websocketConnectionsPercent"]);
    expect(metricSpecs({ ...base, websocketPool: true, websocketCapacity: 0 }).filter((s) => s.conditions(1).length > 0)).toEqual([]);
  });
});
