/** Uptime checks on the site's pages from several regions; a failure in more than one region pages. */
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { slug } from "./metrics";
import type { Channels } from "./channels";
import type { MonitoringArgs } from "../monitoring";

export function uptimeChecks(
  parent: pulumi.Resource,
  name: string,
  args: MonitoringArgs,
  channels: Channels,
): { checks: gcp.monitoring.UptimeCheckConfig[]; policy: gcp.monitoring.AlertPolicy } {
  const labels = args.labels;
  const paths = args.uptimePaths ?? ["/", "/api/health"];
  const checks = paths.map(
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
        { parent },
      ),
  );
  const policy = new gcp.monitoring.AlertPolicy(
    `${name}-uptime-critical`,
    {
      displayName: `Course Organizer: https://${args.domain} unreachable (critical)`,
      combiner: "OR",
      severity: "CRITICAL",
      conditions: checks.map((check, i) => ({
        displayName: `https://${args.domain}${paths[i]} fails from more than one region`,
        conditionThreshold: {
          filter: pulumi.interpolate`metric.type = "monitoring.googleapis.com/uptime_check/check_passed" AND resource.type = "uptime_url" AND metric.label.check_id = "${check.uptimeCheckId}"`,
          comparison: "COMPARISON_GT",
          // Google's recommended uptime condition: count the failing regions; one region alone can be its network.
          thresholdValue: 1,
          duration: "60s",
          aggregations: [
            {
              alignmentPeriod: "1200s",
              perSeriesAligner: "ALIGN_NEXT_OLDER",
              crossSeriesReducer: "REDUCE_COUNT_FALSE",
              groupByFields: ["resource.label.host"],
            },
          ],
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
      notificationChannels: channels.forSeverity("CRITICAL"),
      alertStrategy: { autoClose: "1800s" },
      userLabels: { ...labels, severity: "critical", metric: "uptime" },
    },
    { parent },
  );
  return { checks, policy };
}
