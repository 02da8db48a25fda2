/**
 * The seed's self-hosted monitoring on the single VM (stages 1-2, "Monitoring Stack": Prometheus, node-exporter,
 * Grafana): prometheus.yml, alert rules equivalent to the seed's metrics table (the same thresholds as the Cloud
 * Monitoring policies of components/monitoring.ts, from config `monitoring.*`), and Grafana's provisioning
 * (data source, dashboard provider, dashboard).
 *
 * Targets are compose services on the VM's compose network (src/files/compose.ts): node-exporter:9100,
 * postgres-exporter:9187 (prometheuscommunity/postgres-exporter), redis-exporter:9121 (oliver006/redis_exporter),
 * the Django backend's django-prometheus endpoint on every `backend` replica (port 8000, /metrics; Docker's DNS
 * answers `backend` with each replica's address, hence a DNS service discovery) and Prometheus itself.
 *
 * The WebSocket gauge `course_organizer_websocket_connections` is written by the VM's websocket-metric script
 * into node-exporter's textfile directory (and sent to Cloud Monitoring as the custom metric the policies read).
 *
 * Checked in the tests with `promtool check config`, `promtool check rules` and `promtool test rules` (each alert
 * fires above its threshold after `for`, and not below it).
 */
import { stringify } from "yaml";
import { TEXTFILE_DIR } from "./compose";
import { WS_CONNECTIONS_METRIC } from "./app-instance";
import type { AlertThresholds } from "../thresholds";

export type { AlertThresholds, ThresholdPair } from "../thresholds";

export interface PrometheusOptions {
  thresholds: AlertThresholds;
  /** How long a condition holds before the alert fires (config monitoring.durationSeconds). */
  durationSeconds: number;
  /** WebSocket connections the VM is sized for (src/config/capacity.ts). */
  websocketCapacity: number;
  /** @default 30 */
  scrapeIntervalSeconds?: number;
  /** Rule file name next to prometheus.yml. @default "alerts.yml" */
  rulesFile?: string;
}

/** Compose service:port of each scrape target. */
export const PROMETHEUS_TARGETS = {
  node: "node-exporter:9100",
  postgres: "postgres-exporter:9187",
  redis: "redis-exporter:9121",
  /** DNS name resolving to every backend replica, and the port of Gunicorn (django-prometheus at /metrics). */
  django: { name: "backend", port: 8000 },
  prometheus: "localhost:9090",
} as const;

export function prometheusConfig(o: PrometheusOptions): string {
  const interval = `${o.scrapeIntervalSeconds ?? 30}s`;
  const doc = {
    global: { scrape_interval: interval, evaluation_interval: interval, external_labels: { platform: "course-organizer-vm" } },
    rule_files: [o.rulesFile ?? "alerts.yml"],
    scrape_configs: [
      { job_name: "prometheus", static_configs: [{ targets: [PROMETHEUS_TARGETS.prometheus] }] },
      { job_name: "node", static_configs: [{ targets: [PROMETHEUS_TARGETS.node] }] },
      { job_name: "postgres", static_configs: [{ targets: [PROMETHEUS_TARGETS.postgres] }] },
      { job_name: "redis", static_configs: [{ targets: [PROMETHEUS_TARGETS.redis] }] },
      {
        job_name: "django",
        metrics_path: "/metrics",
        dns_sd_configs: [{ names: [PROMETHEUS_TARGETS.django.name], type: "A", port: PROMETHEUS_TARGETS.django.port, refresh_interval: "30s" }],
      },
    ],
  };
  return `# Rendered by src/files/prometheus.ts\n${stringify(doc, { lineWidth: 0 })}`;
}

/** One row of the seed's table as a Prometheus recording rule and its alert names. */
export interface PromMetric {
  key: keyof AlertThresholds;
  /** Recording rule name, in the seed's unit (percent or milliseconds). */
  record: string;
  expr: string;
  alert: string;
  title: string;
  unit: "%" | "ms";
  action: string;
  runbook: string;
}

export function promMetrics(o: Pick<PrometheusOptions, "websocketCapacity">): PromMetric[] {
  const fs = 'fstype=~"ext4|xfs"';
  return [
    {
      key: "cpuPercent",
      record: "course_organizer:cpu_usage:percent",
      expr: '100 * (1 - avg without (cpu, mode) (rate(node_cpu_seconds_total{mode="idle"}[5m])))',
      alert: "CpuUsage",
      title: "CPU usage",
      unit: "%",
      action: "Scale up",
      runbook: "Raise vm.machineType (stage 1 e2-standard-2 -> stage 2 n2-standard-4); `pulumi up` resizes the VM in place.",
    },
    {
      key: "memoryPercent",
      record: "course_organizer:memory_usage:percent",
      expr: "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
      alert: "MemoryUsage",
      title: "Memory usage",
      unit: "%",
      action: "Scale up",
      runbook: "Check `docker stats` for a leaking container, then raise vm.machineType.",
    },
    {
      key: "apiLatencyMs",
      record: "course_organizer:api_latency_p95:ms",
      expr: "1000 * histogram_quantile(0.95, sum by (le) (rate(django_http_requests_latency_seconds_by_view_method_bucket[5m])))",
      alert: "ApiResponseTime",
      title: "API response time (p95)",
      unit: "ms",
      action: "Investigate",
      runbook: "Grafana: which view is slow; pg_stat_statements for slow queries; the seed's stage-2 indexes (vm.databaseIndexes).",
    },
    {
      key: "dbConnectionsPercent",
      record: "course_organizer:db_connections:percent",
      expr: "100 * sum(pg_stat_activity_count) / max(pg_settings_max_connections)",
      alert: "DatabaseConnections",
      title: "Database connections",
      unit: "%",
      action: "Add a read replica",
      runbook: "Count idle connections in pg_stat_activity; the seed's next step is Cloud SQL with a read replica (docs/runbooks/2-to-3.md).",
    },
    {
      key: "websocketConnectionsPercent",
      record: "course_organizer:websocket_connections:percent",
      expr: `100 * sum(course_organizer_websocket_connections) / ${o.websocketCapacity}`,
      alert: "WebSocketConnections",
      title: "WebSocket connections",
      unit: "%",
      action: "Scale WebSocket capacity",
      runbook: `Capacity ${o.websocketCapacity} connections (one Daphne process); the next step is the WebSocket instance group (docs/runbooks/2-to-3.md).`,
    },
    {
      key: "diskPercent",
      record: "course_organizer:disk_usage:percent",
      expr: `100 * (1 - node_filesystem_avail_bytes{${fs}} / node_filesystem_size_bytes{${fs}})`,
      alert: "DiskUsage",
      title: "Disk usage",
      unit: "%",
      action: "Expand storage",
      runbook: "Raise vm.dataDiskGb (grows in place), then resize2fs /dev/disk/by-id/google-data on the VM.",
    },
    {
      key: "errorRatePercent",
      record: "course_organizer:error_rate:percent",
      expr: '100 * sum(rate(django_http_responses_total_by_status_total{status=~"5.."}[5m])) / sum(rate(django_http_responses_total_by_status_total[5m]))',
      alert: "ErrorRate",
      title: "Error rate (5xx share)",
      unit: "%",
      action: "Alert on-call",
      runbook: "Page the on-call engineer; `docker compose logs backend`; roll back the last image.",
    },
  ];
}

/** Recording rules (one per metric) and a warning and a critical alert per metric. */
export function alertRules(o: PrometheusOptions): string {
  const metrics = promMetrics(o);
  const forDuration = `${o.durationSeconds}s`;
  const alerts = metrics.flatMap((m) =>
    (["warning", "critical"] as const).map((severity) => {
      const level = o.thresholds[m.key][severity];
      return {
        alert: `${m.alert}${severity === "warning" ? "Warning" : "Critical"}`,
        expr: `${m.record} > ${level}`,
        for: forDuration,
        labels: { severity, metric: m.key },
        annotations: {
          // Plain text (no templates): the same words as the Cloud Monitoring policy's subject.
          summary: `${m.title} above ${level} ${m.unit} for ${o.durationSeconds} s`,
          action: m.action,
          runbook: m.runbook,
        },
      };
    }),
  );
  const doc = {
    groups: [
      { name: "course-organizer-recording", rules: metrics.map((m) => ({ record: m.record, expr: m.expr })) },
      { name: "course-organizer-alerts", rules: alerts },
    ],
  };
  return `# Rendered by src/files/prometheus.ts: the seed's "Monitoring & Alerts" table.\n${stringify(doc, { lineWidth: 0 })}`;
}

/** Grafana provisioning (paths relative to grafana/provisioning/): data source, dashboard provider, dashboard. */
export function grafanaProvisioning(o: PrometheusOptions): { path: string; content: string }[] {
  const datasource = stringify({
    apiVersion: 1,
    datasources: [
      { name: "Prometheus", uid: "prometheus", type: "prometheus", access: "proxy", url: "http://prometheus:9090", isDefault: true, editable: false },
    ],
  });
  const provider = stringify({
    apiVersion: 1,
    providers: [
      // The dashboards live next to this file (the provisioning folder is mounted read-only into Grafana).
      {
        name: "course-organizer",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: "/etc/grafana/provisioning/dashboards", foldersFromFilesStructure: false },
      },
    ],
  });
  const panels = promMetrics(o).map((m, i) => ({
    id: i + 1,
    type: "timeseries",
    title: `${m.title} (${m.action})`,
    gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
    datasource: { type: "prometheus", uid: "prometheus" },
    targets: [{ refId: "A", expr: m.record, datasource: { type: "prometheus", uid: "prometheus" } }],
    fieldConfig: {
      defaults: {
        unit: m.unit === "%" ? "percent" : "ms",
        thresholds: {
          mode: "absolute",
          steps: [
            { color: "green", value: null },
            { color: "yellow", value: o.thresholds[m.key].warning },
            { color: "red", value: o.thresholds[m.key].critical },
          ],
        },
        custom: { thresholdsStyle: { mode: "line" } },
      },
      overrides: [],
    },
  }));
  const dashboard = {
    uid: "course-organizer",
    title: "Course Organizer (VM)",
    tags: ["course-organizer"],
    timezone: "utc",
    schemaVersion: 39,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    panels,
  };
  return [
    { path: "datasources/prometheus.yml", content: `# Rendered by src/files/prometheus.ts\n${datasource}` },
    { path: "dashboards/provider.yml", content: `# Rendered by src/files/prometheus.ts\n${provider}` },
    { path: "dashboards/course-organizer.json", content: `${JSON.stringify(dashboard, null, 2)}\n` },
  ];
}

/** node-exporter's textfile directory on the VM (src/files/compose.ts mounts / under /host and points the collector there). */
export { TEXTFILE_DIR };

/** The files of the VM's `prometheus/` folder, in the shape of VmPlatformArgs.prometheusFiles (paths inside it). */
export function vmPrometheusFiles(o: PrometheusOptions): { path: string; content: string }[] {
  return [
    { path: "prometheus.yml", content: prometheusConfig(o) },
    { path: o.rulesFile ?? "alerts.yml", content: alertRules(o) },
  ];
}

/**
 * Every monitoring file the VM receives, paths relative to the app directory (/opt/course-organizer):
 * prometheus/prometheus.yml, prometheus/alerts.yml, grafana/provisioning/..., and the WebSocket gauge script.
 */
export function vmMonitoringFiles(o: PrometheusOptions & { project: string }): { path: string; content: string; permissions?: string }[] {
  return [
    ...vmPrometheusFiles(o).map((f) => ({ path: `prometheus/${f.path}`, content: f.content })),
    ...grafanaProvisioning(o).map((f) => ({ path: `grafana/provisioning/${f.path}`, content: f.content })),
    { path: "bin/websocket-metric.sh", content: websocketMetricScript({ project: o.project }), permissions: "0755" },
  ];
}

/**
 * Counts Daphne's established WebSocket connections (inside its container's network namespace: nginx reaches it
 * over the compose bridge, which the host's own `ss` does not see) and publishes the count twice: as
 * node-exporter textfile gauge for Prometheus and as the Cloud Monitoring custom metric the alert policies read
 * (custom.googleapis.com/course_organizer/websocket_connections, on the VM's gce_instance), with the VM's
 * service account token from the metadata server (roles/monitoring.metricWriter). Run every minute by a timer.
 */
export function websocketMetricScript(o: { project: string; daphnePort?: number; textfileDir?: string }): string {
  const port = o.daphnePort ?? 8001;
  const dir = o.textfileDir ?? TEXTFILE_DIR;
  return `#!/bin/bash
# Rendered by src/files/prometheus.ts: publish Daphne's WebSocket connection count.
set -euo pipefail
MD=http://metadata.google.internal/computeMetadata/v1
md() { curl -fsS -H 'Metadata-Flavor: Google' "$MD/$1"; }

pid=$(docker inspect -f '{{.State.Pid}}' "$(docker ps -q -f label=com.docker.compose.service=daphne | head -n 1)")
count=$(nsenter -t "$pid" -n ss -Htn state established "( sport = :${port} )" | wc -l)

mkdir -p ${dir}
printf '# HELP course_organizer_websocket_connections Established WebSocket connections to Daphne.\\n# TYPE course_organizer_websocket_connections gauge\\ncourse_organizer_websocket_connections %s\\n' "$count" > ${dir}/websocket.prom.tmp
mv ${dir}/websocket.prom.tmp ${dir}/websocket.prom

token=$(md instance/service-accounts/default/token | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')
instance_id=$(md instance/id)
zone=$(md instance/zone | sed 's#.*/##')
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
body=$(printf '{"timeSeries":[{"metric":{"type":"${WS_CONNECTIONS_METRIC}"},"resource":{"type":"gce_instance","labels":{"project_id":"%s","instance_id":"%s","zone":"%s"}},"points":[{"interval":{"endTime":"%s"},"value":{"int64Value":"%s"}}]}]}' \\
  "${o.project}" "$instance_id" "$zone" "$now" "$count")
curl -fsS -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \\
  --data "$body" "https://monitoring.googleapis.com/v3/projects/${o.project}/timeSeries" > /dev/null
`;
}
