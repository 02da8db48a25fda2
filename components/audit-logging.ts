import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { promqlName } from "./monitoring";
import type { ComponentContext } from "./context";

export interface AuditLoggingArgs extends ComponentContext {
  /** Notification channel ids the configuration-change alerts go to. */
  notificationChannels: pulumi.Input<string>[];
}

/**
 * Services whose Data Access audit logs are on (CIS GCP Foundations 2.1: "Cloud Audit Logging is configured
 * properly"): every read of a secret (Secret Manager), every use of a key (Cloud KMS: the stack's secrets
 * provider), and reads and writes of objects (Cloud Storage: the Pulumi state bucket and the media bucket).
 * Data Access logging is per service and project; Cloud Storage writes no Data Access entries for requests by
 * allUsers (the public static bucket behind Cloud CDN), so these logs stay proportional to what identities do.
 */
export const DATA_ACCESS_SERVICES = ["secretmanager.googleapis.com", "cloudkms.googleapis.com", "storage.googleapis.com"] as const;
const LOG_TYPES = ["ADMIN_READ", "DATA_READ", "DATA_WRITE"] as const;

/**
 * Configuration changes that page (CIS GCP Foundations 2.4-2.11: a log metric filter and an alert for each).
 * Filters are the benchmark's own, Admin Activity audit logs (always on, free).
 */
export const CONFIG_CHANGE_ALERTS = [
  {
    key: "iam-policy",
    title: "Project IAM policy changed",
    cis: "2.4",
    filter: 'protoPayload.serviceName="cloudresourcemanager.googleapis.com" AND protoPayload.methodName="SetIamPolicy"',
  },
  {
    key: "audit-config",
    title: "Audit configuration changed",
    cis: "2.5",
    filter: 'protoPayload.methodName="SetIamPolicy" AND protoPayload.serviceData.policyDelta.auditConfigDeltas:*',
  },
  {
    key: "custom-role",
    title: "Custom IAM role changed",
    cis: "2.6",
    filter:
      'resource.type="iam_role" AND (protoPayload.methodName="google.iam.admin.v1.CreateRole" OR protoPayload.methodName="google.iam.admin.v1.DeleteRole" OR protoPayload.methodName="google.iam.admin.v1.UpdateRole")',
  },
  {
    key: "firewall",
    title: "VPC firewall rule changed",
    cis: "2.7",
    filter:
      'resource.type="gce_firewall_rule" AND (protoPayload.methodName:"compute.firewalls.patch" OR protoPayload.methodName:"compute.firewalls.insert" OR protoPayload.methodName:"compute.firewalls.delete")',
  },
  {
    key: "route",
    title: "VPC route changed",
    cis: "2.8",
    filter: 'resource.type="gce_route" AND (protoPayload.methodName:"compute.routes.delete" OR protoPayload.methodName:"compute.routes.insert")',
  },
  {
    key: "network",
    title: "VPC network changed",
    cis: "2.9",
    filter:
      'resource.type="gce_network" AND (protoPayload.methodName:"compute.networks.insert" OR protoPayload.methodName:"compute.networks.patch" OR protoPayload.methodName:"compute.networks.delete" OR protoPayload.methodName:"compute.networks.removePeering" OR protoPayload.methodName:"compute.networks.addPeering")',
  },
  {
    key: "bucket-iam",
    title: "Cloud Storage IAM permissions changed",
    cis: "2.10",
    filter: 'resource.type="gcs_bucket" AND protoPayload.methodName="storage.setIamPermissions"',
  },
  {
    key: "cloud-sql",
    title: "Cloud SQL instance configuration changed",
    cis: "2.11",
    filter: 'protoPayload.methodName="cloudsql.instances.update"',
  },
] as const;

/**
 * Audit logging of the project: Data Access audit logs on the services that hold secrets, keys and the state and
 * media buckets, and a log-based metric with an alert policy per configuration change the CIS benchmark watches
 * (IAM, audit config, custom roles, firewall, routes, networks, bucket IAM, Cloud SQL). Every stage: the project
 * and its IAM exist from the first `up`. A change made by `pulumi up` itself alerts too, which is intended: the
 * alert names the principal (protoPayload.authenticationInfo.principalEmail) and a deploy can be matched to it.
 *
 * Cost: Data Access logs are billed as ingested log volume beyond Cloud Logging's free allotment (not estimated:
 * the config states no volume); log-based metrics and these alert policies
 * are free within Cloud Monitoring's allotment.
 */
export class AuditLogging extends pulumi.ComponentResource {
  public readonly auditConfigs: gcp.projects.IAMAuditConfig[];
  public readonly metrics: Record<string, gcp.logging.Metric>;
  public readonly policies: Record<string, gcp.monitoring.AlertPolicy>;

  constructor(name: string, args: AuditLoggingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:audit:AuditLogging", name, {}, opts);
    this.auditConfigs = DATA_ACCESS_SERVICES.map(
      (service) =>
        new gcp.projects.IAMAuditConfig(
          `${name}-data-access-${service.split(".")[0]}`,
          { project: args.project, service, auditLogConfigs: LOG_TYPES.map((logType) => ({ logType })) },
          { parent: this },
        ),
    );
    this.metrics = {};
    this.policies = {};
    for (const a of CONFIG_CHANGE_ALERTS) {
      const metricName = physicalName(args.prefix, `audit-${a.key}`);
      const metric = new gcp.logging.Metric(
        `${name}-${a.key}`,
        {
          name: metricName,
          description: `${a.title} (CIS GCP ${a.cis})`,
          filter: a.filter,
          metricDescriptor: { metricKind: "DELTA", valueType: "INT64", unit: "1", displayName: a.title },
        },
        { parent: this },
      );
      this.metrics[a.key] = metric;
      this.policies[a.key] = new gcp.monitoring.AlertPolicy(
        `${name}-${a.key}-alert`,
        {
          displayName: `Course Organizer: ${a.title}`,
          combiner: "OR",
          severity: "WARNING",
          conditions: [
            {
              displayName: `${a.title}: any in two minutes`,
              // PromQL without metric validation, not a threshold on the metric type: a logs-based metric is
              // unknown to Cloud Monitoring for up to 10 minutes after it is created, and a threshold condition on
              // it is refused with 404 (hashicorp/terraform-provider-google#11102), so a first `up` would fail.
              // The query takes the metric's name from its output: the policy waits for the metric.
              conditionPrometheusQueryLanguage: {
                query: metric.name.apply((n) => `sum(increase(${promqlName(`logging.googleapis.com/user/${n}`)}[2m])) > 0`),
                duration: "0s",
                evaluationInterval: "60s",
                disableMetricValidation: true,
              },
            },
          ],
          documentation: {
            mimeType: "text/markdown",
            subject: `[WARNING] Course Organizer: ${a.title}`,
            content: [
              `**${a.title}** (CIS GCP Foundations ${a.cis}).`,
              "",
              "Check who made it and whether a deploy explains it: Logs Explorer with the filter below; the entry's",
              "protoPayload.authenticationInfo.principalEmail is the actor. A change outside `pulumi up` is drift or an intrusion.",
              "",
              "```",
              a.filter,
              "```",
            ].join("\n"),
          },
          notificationChannels: args.notificationChannels,
          alertStrategy: { autoClose: "1800s" },
          userLabels: { ...args.labels, severity: "warning", metric: `audit-${a.key}` },
        },
        { parent: this },
      );
    }
    this.registerOutputs({ metrics: Object.values(this.metrics).map((m) => m.name) });
  }
}
