import * as pulumi from "@pulumi/pulumi";
import type * as gcp from "@pulumi/gcp";
import { fileRecorder, type RenderedFile } from "../src/render/registry";
import { argRefuser } from "../src/config/refusal";
import type { AlertThresholds } from "../src/thresholds";
import { notificationChannels } from "./monitoring/channels";
import { nginxLogMetrics } from "./monitoring/log-metrics";
import { alertPolicies } from "./monitoring/alert-policies";
import { uptimeChecks } from "./monitoring/uptime-checks";
import { dashboard } from "./monitoring/dashboard";
import { opsAgentPolicies } from "./monitoring/ops-agent";
import { billingBudget } from "./monitoring/budget";
import type { ComponentContext } from "./context";

export * from "./monitoring/metrics";
export { dashboardJsonOf } from "./monitoring/dashboard";
export { OPS_AGENT_CONFIG_PATH, OPS_AGENT_OS } from "./monitoring/ops-agent";

export interface MonitoringArgs extends ComponentContext {
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
  thresholds: AlertThresholds;
  /** How long a condition must hold before a policy fires (seconds). */
  durationSeconds: number;
  /** Uptime check regions (at least 3, Cloud Monitoring's minimum). */
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
    /** max_connections of the VM's PostgreSQL. */
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
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`).
 */
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

  /** The files its machines receive, by role and path (`npm run render` writes them). */
  public readonly files: RenderedFile[] = [];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:monitoring:Monitoring", name, {}, opts);
    const renderFile = fileRecorder(this.files);
    validateMonitoringArgs(args, this);
    // Each concern in its own module; every child's parent is this component, so the URNs stay those of one
    // component (components/monitoring/*.ts).
    const channels = notificationChannels(this, name, args);
    this.emailChannels = channels.email;
    this.webhookChannel = channels.webhook;
    this.pagerdutyChannel = channels.pagerduty;
    this.logMetrics = nginxLogMetrics(this, name, args);
    const alerts = alertPolicies(this, name, args, channels, this.logMetrics);
    this.metricDescriptors = alerts.descriptors;
    const uptime = uptimeChecks(this, name, args, channels);
    this.uptimeChecks = uptime.checks;
    this.policies = { ...alerts.policies, "uptime-critical": uptime.policy };
    this.dashboard = dashboard(this, name, args, renderFile);
    const agent = opsAgentPolicies(this, name, args, renderFile);
    this.osConfigMetadata = agent.osConfigMetadata;
    this.opsAgentPolicies = agent.policies;
    const emails = this.emailChannels.map((c) => c.name);
    this.budget = billingBudget(this, name, args, emails);
    this.sentryDsn = args.sentryDsn;
    this.registerOutputs({
      emailChannels: emails,
      policies: Object.fromEntries(Object.entries(this.policies).map(([k, p]) => [k, p.name])),
      uptimeChecks: this.uptimeChecks.map((u) => u.uptimeCheckId),
      dashboard: this.dashboard.id,
    });
  }
}

/** Refusals (src/config/refusal.ts format) for args Cloud Monitoring would refuse, one per problem. */
export function monitoringArgProblems(a: MonitoringArgs): string[] {
  const refuse = argRefuser("Monitoring");
  const out: string[] = [];
  if (a.alertEmails.length === 0) out.push(refuse("alertEmails", a.alertEmails, "names no address", "at least one e-mail address"));
  if (a.uptimeRegions.length < 3) {
    out.push(
      refuse(
        "uptimeRegions",
        a.uptimeRegions,
        "has fewer than 3 regions",
        "at least 3 of USA, EUROPE, SOUTH_AMERICA, ASIA_PACIFIC (Cloud Monitoring's minimum)",
      ),
    );
  }
  for (const [k, t] of Object.entries(a.thresholds)) {
    if (t.warning >= t.critical) out.push(refuse(`thresholds.${k}.warning`, t.warning, `is not below critical ${t.critical}`, `less than ${t.critical}`));
  }
  if (a.websocketCapacity < 0) out.push(refuse("websocketCapacity", a.websocketCapacity, "is negative", "0 or more"));
  return out;
}

function validateMonitoringArgs(a: MonitoringArgs, r: pulumi.Resource): void {
  const p = monitoringArgProblems(a);
  if (p.length) throw new pulumi.ResourceError(p.join("\n"), r);
}
