/** The dashboard: the same metrics as the policies, warning and critical drawn as thresholds. */
import type * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { aggregation, conditionsAt, metricSpecs, type MetricSpec } from "./metrics";
import type { MonitoringArgs } from "../monitoring";

export function dashboard(
  parent: pulumi.Resource,
  name: string,
  args: MonitoringArgs,
  renderFile: <T extends pulumi.Input<string>>(role: string, path: string, content: T) => T,
): gcp.monitoring.Dashboard {
  const dashboardJson = renderFile("monitoring", "dashboard.json", dashboardJsonOf(args, metricSpecs(args)));
  return new gcp.monitoring.Dashboard(`${name}-dashboard`, { dashboardJson }, { parent });
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
          ? {
              timeSeriesFilterRatio: {
                numerator: { filter: c.filter, aggregation: aggregation(c) },
                denominator: { filter: c.denominatorFilter, aggregation: aggregation(c) },
              },
            }
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
