/** Notification channels: protected (a re-created channel needs its e-mail verified again). */
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { slug, type Severity } from "./metrics";
import type { MonitoringArgs } from "../monitoring";

export interface Channels {
  email: gcp.monitoring.NotificationChannel[];
  webhook?: gcp.monitoring.NotificationChannel;
  pagerduty?: gcp.monitoring.NotificationChannel;
  /** Channel names for a severity: warnings by e-mail, critical alerts also to the webhook and PagerDuty. */
  forSeverity: (severity: Severity) => pulumi.Input<string>[];
}

export function notificationChannels(parent: pulumi.Resource, name: string, args: MonitoringArgs): Channels {
  const labels = args.labels;
  const email = args.alertEmails.map(
    (address) =>
      new gcp.monitoring.NotificationChannel(
        `${name}-email-${slug(address)}`,
        { displayName: `Course Organizer on-call ${address}`, type: "email", labels: { email_address: address }, userLabels: labels },
        { parent, protect: true },
      ),
  );
  const webhook = args.webhookUrl
    ? new gcp.monitoring.NotificationChannel(
        `${name}-webhook`,
        { displayName: "Course Organizer webhook (critical)", type: "webhook_tokenauth", labels: { url: args.webhookUrl }, userLabels: labels },
        { parent, protect: true },
      )
    : undefined;
  let pagerduty: gcp.monitoring.NotificationChannel | undefined;
  if (args.pagerdutyServiceKeySecret) {
    const key = gcp.secretmanager.getSecretVersionAccessOutput({ project: args.project, secret: args.pagerdutyServiceKeySecret }, { parent });
    pagerduty = new gcp.monitoring.NotificationChannel(
      `${name}-pagerduty`,
      {
        displayName: "Course Organizer PagerDuty (critical)",
        type: "pagerduty",
        // sensitiveLabels: the key never shows in the channel's labels; Pulumi keeps it a secret in the state.
        sensitiveLabels: { serviceKey: pulumi.secret(key.secretData) },
        userLabels: labels,
      },
      { parent, protect: true },
    );
  }
  const emails = email.map((c) => c.name);
  const forSeverity = (severity: Severity): pulumi.Input<string>[] =>
    severity === "WARNING" ? emails : [...emails, ...(webhook ? [webhook.name] : []), ...(pagerduty ? [pagerduty.name] : [])];
  return { email, webhook, pagerduty, forSeverity };
}
