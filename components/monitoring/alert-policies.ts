/**
 * Alert policies: one warning and one critical per metric of the seed's table, with the descriptors of the
 * host-written metrics they read.
 */
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import {
  HOST_METRIC_DESCRIPTORS,
  conditionsAt,
  kebab,
  metricSpecs,
  namesMetric,
  nginxMetricNames,
  thresholdOf,
  usesMetric,
  type ConditionSpec,
} from "./metrics";
import type { Channels } from "./channels";
import type { MonitoringArgs } from "../monitoring";

export function alertPolicies(
  parent: pulumi.Resource,
  name: string,
  args: MonitoringArgs,
  channels: Channels,
  logMetrics: gcp.logging.Metric[],
): { policies: Record<string, gcp.monitoring.AlertPolicy>; descriptors: gcp.monitoring.MetricDescriptor[] } {
  // The logs-based metrics' names, in nginxLogMetrics' order (latency, requests).
  const names = nginxMetricNames(args.prefix);
  const logMetricNames = logMetrics.length > 0 ? [names.latency, names.requests] : [];
  const policies: Record<string, gcp.monitoring.AlertPolicy> = {};
  const specs = metricSpecs(args);
  const labels = args.labels;
  const duration = `${args.durationSeconds}s`;

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
        { parent, retainOnDelete: true },
      ),
    );
  }
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
      policies[key] = new gcp.monitoring.AlertPolicy(
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
                  conditionPrometheusQueryLanguage: {
                    query: afterDescriptors(c, c.promql),
                    duration,
                    evaluationInterval: "60s",
                    disableMetricValidation: true,
                  },
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
          notificationChannels: channels.forSeverity(severity),
          alertStrategy: { autoClose: "1800s" },
          userLabels: { ...labels, severity: severity.toLowerCase(), metric: kebab(spec.key) },
        },
        // A filter names its logs-based metric as a string, which Pulumi cannot see: GCP refuses an alert on a
        // user metric that does not exist yet, so the policies that use one wait for it (and only those).
        { parent, dependsOn: logMetrics.filter((_, i) => conds.some((c) => usesMetric(c, logMetricNames[i]!))) },
      );
    }
  }
  return { policies, descriptors: [...descriptorByType.values()] };
}
