/**
 * Audit logging (CIS GCP Foundations 2.x) at every stage: Data Access audit logs on Secret Manager, Cloud KMS and
 * Cloud Storage, and one log-based metric plus alert policy per watched configuration change.
 */
import { describe, expect, it } from "vitest";
import { CONFIG_CHANGE_ALERTS, DATA_ACCESS_SERVICES } from "../components/audit-logging";
import { get, ofType, plan } from "./helpers/plan";

const T = {
  audit: "gcp:projects/iAMAuditConfig:IAMAuditConfig",
  metric: "gcp:logging/metric:Metric",
  policy: "gcp:monitoring/alertPolicy:AlertPolicy",
};
const logs = [{ logType: "ADMIN_READ" }, { logType: "DATA_READ" }, { logType: "DATA_WRITE" }];

describe("audit logging", () => {
  for (const stage of ["stage1", "stage3"]) {
    it(`${stage}: Data Access logs for secrets, keys and buckets`, async () => {
      const p = await plan(stage);
      expect(ofType(p, T.audit).map((r) => [r.name, r.inputs])).toEqual([
        ["audit-logging-data-access-secretmanager", { project: "course-organizer-demo", service: "secretmanager.googleapis.com", auditLogConfigs: logs }],
        ["audit-logging-data-access-cloudkms", { project: "course-organizer-demo", service: "cloudkms.googleapis.com", auditLogConfigs: logs }],
        ["audit-logging-data-access-storage", { project: "course-organizer-demo", service: "storage.googleapis.com", auditLogConfigs: logs }],
      ]);
      expect([...DATA_ACCESS_SERVICES]).toEqual(["secretmanager.googleapis.com", "cloudkms.googleapis.com", "storage.googleapis.com"]);
    });
  }

  it("a metric and an alert per configuration change: IAM, audit config, roles, firewall, routes, network, bucket IAM, Cloud SQL", async () => {
    const p = await plan("stage3");
    expect(CONFIG_CHANGE_ALERTS.map((a) => [a.key, a.cis])).toEqual([
      ["iam-policy", "2.4"],
      ["audit-config", "2.5"],
      ["custom-role", "2.6"],
      ["firewall", "2.7"],
      ["route", "2.8"],
      ["network", "2.9"],
      ["bucket-iam", "2.10"],
      ["cloud-sql", "2.11"],
    ]);
    const metrics = ofType(p, T.metric).filter((m) => m.name.startsWith("audit-logging-"));
    expect(metrics.map((m) => m.inputs.name)).toEqual([
      "co-audit-iam-policy",
      "co-audit-audit-config",
      "co-audit-custom-role",
      "co-audit-firewall",
      "co-audit-route",
      "co-audit-network",
      "co-audit-bucket-iam",
      "co-audit-cloud-sql",
    ]);
    expect(get(p, T.metric, "audit-logging-firewall").inputs).toEqual({
      name: "co-audit-firewall",
      description: "VPC firewall rule changed (CIS GCP 2.7)",
      filter:
        'resource.type="gce_firewall_rule" AND (protoPayload.methodName:"compute.firewalls.patch" OR protoPayload.methodName:"compute.firewalls.insert" OR protoPayload.methodName:"compute.firewalls.delete")',
      metricDescriptor: { metricKind: "DELTA", valueType: "INT64", unit: "1", displayName: "VPC firewall rule changed" },
    });
    expect(get(p, T.metric, "audit-logging-cloud-sql").inputs.filter).toBe('protoPayload.methodName="cloudsql.instances.update"');
    expect(get(p, T.metric, "audit-logging-route").inputs.filter).toBe(
      'resource.type="gce_route" AND (protoPayload.methodName:"compute.routes.delete" OR protoPayload.methodName:"compute.routes.insert")',
    );
    const alert = get(p, T.policy, "audit-logging-network-alert");
    expect(alert.inputs.displayName).toBe("Course Organizer: VPC network changed");
    expect(alert.inputs.severity).toBe("WARNING");
    expect(alert.inputs.conditions).toEqual([
      {
        displayName: "VPC network changed: any in two minutes",
        conditionPrometheusQueryLanguage: {
          query: "sum(increase(logging_googleapis_com:user_co_audit_network[2m])) > 0",
          duration: "0s",
          evaluationInterval: "60s",
          disableMetricValidation: true,
        },
      },
    ]);
    // The alert goes to the monitoring e-mail channels, and waits for its metric through the query's
    // property dependency on the metric's name.
    expect((alert.inputs.notificationChannels as string[]).length).toBeGreaterThan(0);
    expect(alert.dependencies).toContain(get(p, T.metric, "audit-logging-network").urn);
    expect(alert.propertyDependencies.conditions).toContain(get(p, T.metric, "audit-logging-network").urn);
    for (const a of CONFIG_CHANGE_ALERTS)
      expect(get(p, T.policy, `audit-logging-${a.key}-alert`).inputs.notificationChannels).toEqual(alert.inputs.notificationChannels);
  });
});
