/**
 * Monitoring and alerting (every stage). What exists decides which metrics each policy watches
 * (components/monitoring.ts metricSpecs); the names of channels, policies and checks never carry the stage, so a
 * stage move updates them in place.
 */
import * as pulumi from "@pulumi/pulumi";
import { alertThresholds } from "../config/schema";
import { capacityOf } from "../config/capacity";
import { VM_POSTGRES_MAX_CONNECTIONS } from "../files/ops-agent";
import { Monitoring } from "../../components/monitoring";
import { AuditLogging } from "../../components/audit-logging";
import { defaultVmZone, zonesOf } from "../zones";
import type { Outputs, StackContext } from "./context";

export function buildObservability(ctx: StackContext): { monitoring: Monitoring; auditLogging: AuditLogging; outputs: Outputs } {
  const c = ctx.config;
  // A retained (stopped) VM at stage 3 serves nothing: no VM metrics then.
  const vmServes = c.vm.enabled;
  const appPools = c.httpPool.enabled || c.wsPool.enabled;
  const videoPools = c.video.mode === "pool";
  const monitoring = new Monitoring("monitoring", {
    ...ctx.scope("monitoring"),
    domain: c.domain,
    alertEmails: c.alertEmails,
    webhookUrl: c.monitoring.webhookUrl,
    pagerdutyServiceKeySecret: c.monitoring.pagerdutyServiceKeySecret,
    thresholds: alertThresholds(c.monitoring),
    durationSeconds: c.monitoring.durationSeconds,
    uptimeRegions: c.monitoring.uptimeRegions,
    vm: vmServes ? { postgresMaxConnections: VM_POSTGRES_MAX_CONNECTIONS } : undefined,
    instancePools: appPools || videoPools,
    websocketPool: c.wsPool.enabled,
    loadBalancer: c.loadBalancer.enabled,
    cloudSql: c.database.enabled ? { maxConnections: c.database.maxConnections } : undefined,
    gke: c.kubernetes.enabled,
    websocketCapacity: capacityOf(c).websocketConnections,
    // The Ops Agent policy is zonal: the VM's zone; the zones regional instance groups spread over (HTTP/WS pools
    // in the primary region, Videobridge pools in every region).
    opsAgentZones: [
      ...new Set([
        ...(vmServes ? [c.vm.zone ?? defaultVmZone(ctx.region)] : []),
        ...(appPools ? zonesOf(ctx.region) : []),
        ...(videoPools ? ctx.regions.flatMap(zonesOf) : []),
      ]),
    ],
    budget: c.monitoring.billingAccount ? { billingAccount: c.monitoring.billingAccount, monthlyUsd: c.monitoring.monthlyBudgetUsd } : undefined,
    sentryDsn: c.monitoring.sentryDsn,
  });
  // Data Access audit logs and configuration-change alerts (CIS GCP 2.x), every stage.
  const auditLogging = new AuditLogging("audit-logging", {
    ...ctx.scope("audit-logging"),
    notificationChannels: [...monitoring.emailChannels.map((ch) => ch.id), ...(monitoring.webhookChannel ? [monitoring.webhookChannel.id] : [])],
  });
  return {
    monitoring,
    auditLogging,
    outputs: { dashboard: monitoring.dashboard.id, uptimeChecks: pulumi.all(monitoring.uptimeChecks.map((u) => u.uptimeCheckId)) },
  };
}
