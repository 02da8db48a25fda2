/**
 * The VM's self-hosted monitoring (seed "Monitoring Stack": Prometheus, node-exporter, Grafana) checked by the
 * real tools: `promtool check config` on prometheus.yml with its rule file alongside, `promtool check rules`, and
 * `promtool test rules` unit tests generated from the seed's thresholds proving that each alert fires just above
 * its threshold once `for` has passed, not before `for`, and not just below the threshold. The OS Config
 * policy's scripts and the WebSocket metric script go through shellcheck.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import {
  alertRules,
  grafanaProvisioning,
  prometheusConfig,
  promMetrics,
  vmMonitoringFiles,
  vmPrometheusFiles,
  websocketMetricScript,
  type AlertThresholds,
  type PrometheusOptions,
} from "../src/files/prometheus";
import { opsAgentConfig, opsAgentPolicyScript } from "../src/files/ops-agent";
import { presetFor } from "../src/config/presets";
import { VM_WS_PER_DAPHNE } from "../src/config/capacity";

const dir = mkdtempSync(join(tmpdir(), "co-prometheus-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The seed's table, from the stage-1 preset (config monitoring.*). */
const preset = presetFor(1, { project: "course-organizer-demo", region: "us-central1", prefix: "co", domain: "courses.example.org" }).monitoring;
const thresholds: AlertThresholds = {
  cpuPercent: preset.cpuPercent,
  memoryPercent: preset.memoryPercent,
  apiLatencyMs: preset.apiLatencyMs,
  dbConnectionsPercent: preset.dbConnectionsPercent,
  websocketConnectionsPercent: preset.websocketConnectionsPercent,
  diskPercent: preset.diskPercent,
  errorRatePercent: preset.errorRatePercent,
};
const opts: PrometheusOptions = { thresholds, durationSeconds: preset.durationSeconds, websocketCapacity: VM_WS_PER_DAPHNE };

function run(cmd: string, args: string[], cwd = dir): { code: number; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe("seed thresholds", () => {
  it("are the seed's table (config defaults)", () => {
    expect(thresholds).toEqual({
      cpuPercent: { warning: 70, critical: 85 },
      memoryPercent: { warning: 75, critical: 90 },
      apiLatencyMs: { warning: 200, critical: 500 },
      dbConnectionsPercent: { warning: 70, critical: 90 },
      websocketConnectionsPercent: { warning: 75, critical: 90 },
      diskPercent: { warning: 70, critical: 85 },
      errorRatePercent: { warning: 1, critical: 5 },
    });
    expect(opts.durationSeconds).toBe(300);
  });
});

describe("prometheus.yml", () => {
  it("scrapes node-exporter, postgres-exporter, redis-exporter, every Django backend replica and itself, with the rule file", () => {
    const doc = parse(prometheusConfig(opts));
    expect(doc.rule_files).toEqual(["alerts.yml"]);
    expect(doc.global).toEqual({ scrape_interval: "30s", evaluation_interval: "30s", external_labels: { platform: "course-organizer-vm" } });
    const jobs = Object.fromEntries((doc.scrape_configs as { job_name: string }[]).map((j) => [j.job_name, j]));
    expect(Object.keys(jobs)).toEqual(["prometheus", "node", "postgres", "redis", "django"]);
    expect(jobs.node).toEqual({ job_name: "node", static_configs: [{ targets: ["node-exporter:9100"] }] });
    expect(jobs.postgres).toEqual({ job_name: "postgres", static_configs: [{ targets: ["postgres-exporter:9187"] }] });
    expect(jobs.redis).toEqual({ job_name: "redis", static_configs: [{ targets: ["redis-exporter:9121"] }] });
    expect(jobs.django).toEqual({
      job_name: "django",
      metrics_path: "/metrics",
      dns_sd_configs: [{ names: ["backend"], type: "A", port: 8000, refresh_interval: "30s" }],
    });
  });

  it("passes promtool check config with its rules alongside", () => {
    writeFileSync(join(dir, "prometheus.yml"), prometheusConfig(opts));
    writeFileSync(join(dir, "alerts.yml"), alertRules(opts));
    const r = run("promtool", ["check", "config", "prometheus.yml"]);
    expect(r.out).toContain("SUCCESS");
    expect(r.code).toBe(0);
  });

  it("promtool check config fails on a broken rule file (the check can fail)", () => {
    const bad = join(dir, "bad");
    execFileSync("mkdir", ["-p", bad]);
    writeFileSync(join(bad, "prometheus.yml"), prometheusConfig(opts));
    writeFileSync(join(bad, "alerts.yml"), alertRules(opts).replace("> 70", "> > 70"));
    expect(run("promtool", ["check", "config", "prometheus.yml"], bad).code).not.toBe(0);
  });
});

describe("alert rules", () => {
  const doc = parse(alertRules(opts)) as { groups: { name: string; rules: Record<string, any>[] }[] };
  const alerts = doc.groups.find((g) => g.name === "course-organizer-alerts")!.rules;

  it("pass promtool check rules", () => {
    writeFileSync(join(dir, "alerts.yml"), alertRules(opts));
    const r = run("promtool", ["check", "rules", "alerts.yml"]);
    expect(r.out).toContain("SUCCESS: 21 rules found");
    expect(r.code).toBe(0);
  });

  it("have a warning and a critical alert per seed metric, with the seed's thresholds, for = durationSeconds, severity and action", () => {
    const expected: [string, string, number, string][] = [
      ["CpuUsage", "course_organizer:cpu_usage:percent", 70, "Scale up"],
      ["CpuUsage", "course_organizer:cpu_usage:percent", 85, "Scale up"],
      ["MemoryUsage", "course_organizer:memory_usage:percent", 75, "Scale up"],
      ["MemoryUsage", "course_organizer:memory_usage:percent", 90, "Scale up"],
      ["ApiResponseTime", "course_organizer:api_latency_p95:ms", 200, "Investigate"],
      ["ApiResponseTime", "course_organizer:api_latency_p95:ms", 500, "Investigate"],
      ["DatabaseConnections", "course_organizer:db_connections:percent", 70, "Add a read replica"],
      ["DatabaseConnections", "course_organizer:db_connections:percent", 90, "Add a read replica"],
      ["WebSocketConnections", "course_organizer:websocket_connections:percent", 75, "Scale WebSocket capacity"],
      ["WebSocketConnections", "course_organizer:websocket_connections:percent", 90, "Scale WebSocket capacity"],
      ["DiskUsage", "course_organizer:disk_usage:percent", 70, "Expand storage"],
      ["DiskUsage", "course_organizer:disk_usage:percent", 85, "Expand storage"],
      ["ErrorRate", "course_organizer:error_rate:percent", 1, "Alert on-call"],
      ["ErrorRate", "course_organizer:error_rate:percent", 5, "Alert on-call"],
    ];
    expect(
      alerts.map((a) => [a.alert.replace(/Warning$|Critical$/, ""), a.expr.split(" > ")[0], Number(a.expr.split(" > ")[1]), a.annotations.action]),
    ).toEqual(expected);
    expect(alerts.map((a) => a.labels.severity)).toEqual(expected.map((_, i) => (i % 2 === 0 ? "warning" : "critical")));
    expect(alerts.map((a) => a.alert.endsWith(a.labels.severity === "warning" ? "Warning" : "Critical"))).toEqual(expected.map(() => true));
    for (const a of alerts) expect(a.for).toBe("300s");
  });

  it("take thresholds, duration and WebSocket capacity from the options", () => {
    const custom = parse(
      alertRules({ ...opts, durationSeconds: 120, websocketCapacity: 2500, thresholds: { ...thresholds, cpuPercent: { warning: 60, critical: 80 } } }),
    );
    const rules = custom.groups[1].rules as Record<string, any>[];
    expect(rules.find((r) => r.alert === "CpuUsageWarning")).toMatchObject({ expr: "course_organizer:cpu_usage:percent > 60", for: "120s" });
    expect(rules.find((r) => r.alert === "CpuUsageCritical")).toMatchObject({ expr: "course_organizer:cpu_usage:percent > 80", for: "120s" });
    expect(custom.groups[0].rules.find((r: any) => r.record === "course_organizer:websocket_connections:percent").expr).toBe(
      "100 * sum(course_organizer_websocket_connections) / 2500",
    );
  });
});

/**
 * Input series that make a metric's recording rule equal `v` (in the seed's unit), one sample per minute for 30
 * minutes, and the labels the alert then carries.
 */
function seriesAt(key: keyof AlertThresholds, v: number): { series: { series: string; values: string }[]; labels: Record<string, string> } {
  const steady = (x: number) => `${x}x30`;
  const counter = (perMinute: number) => `0+${perMinute}x30`;
  switch (key) {
    case "cpuPercent":
      // One CPU: idle seconds grow by 60 x (1 - v/100) per minute.
      return {
        series: [{ series: 'node_cpu_seconds_total{cpu="0",mode="idle",instance="node-exporter:9100",job="node"}', values: counter(60 * (1 - v / 100)) }],
        labels: { instance: "node-exporter:9100", job: "node" },
      };
    case "memoryPercent":
      return {
        series: [
          { series: 'node_memory_MemTotal_bytes{instance="node-exporter:9100",job="node"}', values: steady(8e9) },
          { series: 'node_memory_MemAvailable_bytes{instance="node-exporter:9100",job="node"}', values: steady(8e9 * (1 - v / 100)) },
        ],
        labels: { instance: "node-exporter:9100", job: "node" },
      };
    case "diskPercent": {
      const l = 'device="/dev/sdb",fstype="ext4",mountpoint="/mnt/data",instance="node-exporter:9100",job="node"';
      return {
        series: [
          { series: `node_filesystem_size_bytes{${l}}`, values: steady(1e11) },
          { series: `node_filesystem_avail_bytes{${l}}`, values: steady(1e11 * (1 - v / 100)) },
        ],
        labels: { device: "/dev/sdb", fstype: "ext4", mountpoint: "/mnt/data", instance: "node-exporter:9100", job: "node" },
      };
    }
    case "apiLatencyMs": {
      // All requests in the first bucket (0, le]: histogram_quantile interpolates p95 = 0.95 x le.
      const le = v / 1000 / 0.95;
      const b = (bound: string) =>
        `django_http_requests_latency_seconds_by_view_method_bucket{le="${bound}",method="GET",view="api",instance="backend:8000",job="django"}`;
      return {
        series: [
          { series: b(String(le)), values: counter(600) },
          { series: b("+Inf"), values: counter(600) },
        ],
        labels: {},
      };
    }
    case "dbConnectionsPercent":
      return {
        series: [
          {
            series: 'pg_stat_activity_count{datname="course_organizer",state="active",instance="postgres-exporter:9187",job="postgres"}',
            values: steady((v / 100) * 1000),
          },
          { series: 'pg_settings_max_connections{instance="postgres-exporter:9187",job="postgres"}', values: steady(1000) },
        ],
        labels: {},
      };
    case "websocketConnectionsPercent":
      return {
        series: [{ series: 'course_organizer_websocket_connections{instance="node-exporter:9100",job="node"}', values: steady((v / 100) * VM_WS_PER_DAPHNE) }],
        labels: {},
      };
    case "errorRatePercent":
      // 1,000 requests a minute, v % of them 500s.
      return {
        series: [
          { series: 'django_http_responses_total_by_status_total{status="500",instance="backend:8000",job="django"}', values: counter(10 * v) },
          { series: 'django_http_responses_total_by_status_total{status="200",instance="backend:8000",job="django"}', values: counter(1000 - 10 * v) },
        ],
        labels: {},
      };
  }
}

describe("promtool test rules: each alert fires above its threshold after `for`, not below it", () => {
  const metrics = promMetrics(opts);
  const rules = parse(alertRules(opts)).groups[1].rules as Record<string, any>[];
  const expectedAlert = (alertname: string, labels: Record<string, string>) => {
    const r = rules.find((x) => x.alert === alertname)!;
    return { exp_labels: { ...labels, severity: r.labels.severity, metric: r.labels.metric }, exp_annotations: r.annotations };
  };
  /** A step just past the threshold: 71 vs 69 %, 201 vs 199 ms, 1.1 vs 0.9 %. */
  const delta = (level: number) => Math.min(1, level / 10);

  const cases: { name: string; key: keyof AlertThresholds; value: number; evalTime: string; firing: ("Warning" | "Critical")[] }[] = [];
  for (const m of metrics) {
    const t = thresholds[m.key];
    cases.push({ name: `${m.alert} just above warning`, key: m.key, value: t.warning + delta(t.warning), evalTime: "15m", firing: ["Warning"] });
    cases.push({ name: `${m.alert} just below warning`, key: m.key, value: t.warning - delta(t.warning), evalTime: "15m", firing: [] });
    cases.push({ name: `${m.alert} just above critical`, key: m.key, value: t.critical + delta(t.critical), evalTime: "15m", firing: ["Warning", "Critical"] });
    cases.push({ name: `${m.alert} just below critical`, key: m.key, value: t.critical - delta(t.critical), evalTime: "15m", firing: ["Warning"] });
    // Above critical from the start, but `for` (300 s) has not passed 3 minutes in: pending, nothing fires.
    cases.push({ name: `${m.alert} before for has passed`, key: m.key, value: t.critical + delta(t.critical), evalTime: "3m", firing: [] });
  }

  const testDoc = {
    rule_files: ["alerts.yml"],
    evaluation_interval: "1m",
    tests: cases.map((c) => {
      const m = metrics.find((x) => x.key === c.key)!;
      const s = seriesAt(c.key, c.value);
      return {
        name: c.name,
        interval: "1m",
        input_series: s.series,
        alert_rule_test: (["Warning", "Critical"] as const).map((sev) => ({
          eval_time: c.evalTime,
          alertname: `${m.alert}${sev}`,
          exp_alerts: c.firing.includes(sev) ? [expectedAlert(`${m.alert}${sev}`, s.labels)] : [],
        })),
      };
    }),
  };

  it("covers every seed metric at both levels, above and below", () => {
    expect(cases).toHaveLength(7 * 5);
    expect(new Set(cases.map((c) => c.key)).size).toBe(7);
  });

  it("pass (promtool test rules)", () => {
    writeFileSync(join(dir, "alerts.yml"), alertRules(opts));
    writeFileSync(join(dir, "alerts.test.yml"), stringify(testDoc, { lineWidth: 0 }));
    const r = run("promtool", ["test", "rules", "alerts.test.yml"]);
    expect(r.out).toContain("SUCCESS");
    expect(r.code).toBe(0);
  });

  it("fail when a threshold is off (the unit tests can fail)", () => {
    // Rules rendered with a CPU warning of 72 %: the "just above warning" (71 %) case must fail.
    const off = join(dir, "off");
    execFileSync("mkdir", ["-p", off]);
    writeFileSync(join(off, "alerts.yml"), alertRules({ ...opts, thresholds: { ...thresholds, cpuPercent: { warning: 72, critical: 85 } } }));
    const only = { ...testDoc, tests: testDoc.tests.filter((t) => t.name === "CpuUsage just above warning") };
    writeFileSync(join(off, "alerts.test.yml"), stringify(only, { lineWidth: 0 }));
    const r = run("promtool", ["test", "rules", "alerts.test.yml"], off);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("CpuUsageWarning");
  });
});

describe("Grafana provisioning", () => {
  const files = grafanaProvisioning(opts);
  it("provisions the Prometheus data source, a file dashboard provider and a dashboard of the seed's metrics with both thresholds", () => {
    expect(files.map((f) => f.path)).toEqual(["datasources/prometheus.yml", "dashboards/provider.yml", "dashboards/course-organizer.json"]);
    expect(parse(files[0]!.content).datasources[0]).toMatchObject({ name: "Prometheus", uid: "prometheus", type: "prometheus", url: "http://prometheus:9090" });
    expect(parse(files[1]!.content).providers[0]).toMatchObject({ type: "file", options: { path: "/etc/grafana/provisioning/dashboards" } });
    const dash = JSON.parse(files[2]!.content);
    // One panel per metric of the seed's table, plotting its recording rule.
    expect(dash.panels.map((p: any) => p.targets[0].expr)).toEqual([
      "course_organizer:cpu_usage:percent",
      "course_organizer:memory_usage:percent",
      "course_organizer:api_latency_p95:ms",
      "course_organizer:db_connections:percent",
      "course_organizer:websocket_connections:percent",
      "course_organizer:disk_usage:percent",
      "course_organizer:error_rate:percent",
    ]);
    const cpu = dash.panels[0];
    expect(cpu.fieldConfig.defaults.thresholds.steps.map((s: any) => s.value)).toEqual([null, 70, 85]);
    expect(dash.panels[2].fieldConfig.defaults.unit).toBe("ms");
  });
});

describe("VM monitoring files and scripts", () => {
  it("gives the VM's prometheus/ folder its config and rules (VmPlatformArgs.prometheusFiles)", () => {
    expect(vmPrometheusFiles(opts)).toEqual([
      { path: "prometheus.yml", content: prometheusConfig(opts) },
      { path: "alerts.yml", content: alertRules(opts) },
    ]);
  });

  it("lists every file the VM needs under the app directory", () => {
    expect(vmMonitoringFiles({ ...opts, project: "course-organizer-demo" }).map((f) => f.path)).toEqual([
      "prometheus/prometheus.yml",
      "prometheus/alerts.yml",
      "grafana/provisioning/datasources/prometheus.yml",
      "grafana/provisioning/dashboards/provider.yml",
      "grafana/provisioning/dashboards/course-organizer.json",
      "bin/websocket-metric.sh",
    ]);
  });

  it.each([
    ["websocket-metric.sh", websocketMetricScript({ project: "course-organizer-demo" })],
    ["ops-agent-install-validate.sh", opsAgentPolicyScript("install", "validate")],
    ["ops-agent-install-enforce.sh", opsAgentPolicyScript("install", "enforce")],
    ["ops-agent-restart-validate.sh", opsAgentPolicyScript("restart", "validate")],
    ["ops-agent-restart-enforce.sh", opsAgentPolicyScript("restart", "enforce")],
  ])("%s passes shellcheck", (name, content) => {
    writeFileSync(join(dir, name), content);
    const r = run("shellcheck", ["-S", "style", name]);
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
  });

  it("keeps the OS policy's inline scripts within OS Config's 1024 characters", () => {
    for (const step of ["install", "restart"] as const) {
      for (const kind of ["validate", "enforce"] as const) expect(opsAgentPolicyScript(step, kind).length).toBeLessThanOrEqual(1024);
    }
  });

  it("configures the Ops Agent: journald logs always, PostgreSQL over the socket only on the VM, no password", () => {
    expect(parse(opsAgentConfig({}))).toEqual({
      logging: { receivers: { journald: { type: "systemd_journald" } }, service: { pipelines: { journald: { receivers: ["journald"] } } } },
    });
    const vm = parse(opsAgentConfig({ postgres: true }));
    expect(vm.metrics).toEqual({
      receivers: {
        postgresql: { type: "postgresql", collection_interval: "60s", endpoint: "/var/run/postgresql/.s.PGSQL.5432", username: "course_organizer" },
      },
      service: { pipelines: { postgresql: { receivers: ["postgresql"] } } },
    });
    expect(opsAgentConfig({ postgres: true })).not.toMatch(/password/i);
  });
});
