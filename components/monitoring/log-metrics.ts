/** Logs-based metrics on nginx's access log (VM without a load balancer: stage 1). */
import type * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { nginxMetricNames } from "./metrics";
import type { MonitoringArgs } from "../monitoring";

/** The logs-based metrics the VM's latency and error-rate policies read (none behind a load balancer). */
export function nginxLogMetrics(parent: pulumi.Resource, name: string, args: MonitoringArgs): gcp.logging.Metric[] {
  if (!args.vm || args.loadBalancer) return [];
  const names = nginxMetricNames(args.prefix);
  // The Ops Agent's journald receiver (src/files/ops-agent.ts) ships docker's journald log driver's entries;
  // nginx's line is MESSAGE, the compose container name CONTAINER_NAME (".../nginx-1").
  const nginxLog = `logName = "projects/${args.project}/logs/journald" AND resource.type = "gce_instance" AND jsonPayload.CONTAINER_NAME =~ "nginx"`;
  return [
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
      { parent },
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
      { parent },
    ),
  ];
}
