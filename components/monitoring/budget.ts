/** Billing budget with 50/90/100 % alerts (and a forecast alert at 100 %). */
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../../src/naming";
import type { MonitoringArgs } from "../monitoring";

export function billingBudget(parent: pulumi.Resource, name: string, args: MonitoringArgs, emails: pulumi.Input<string>[]): gcp.billing.Budget | undefined {
  if (!args.budget) return undefined;
  const project = gcp.organizations.getProjectOutput({ projectId: args.project }, { parent });
  // The Billing Budget API refuses user credentials without a quota project ("billingbudgets.googleapis.com
  // requires a quota project"): this provider sends the project as X-Goog-User-Project (provider docs,
  // userProjectOverride + billingProject). The caller also needs billing.budgets.create on the billing
  // account: roles/billing.costsManager there (bootstrap/program.ts grants it to the deployer).
  const billingProvider = new gcp.Provider(
    `${name}-billing-provider`,
    { project: args.project, userProjectOverride: true, billingProject: args.project },
    { parent },
  );
  return new gcp.billing.Budget(
    `${name}-budget`,
    {
      billingAccount: args.budget.billingAccount,
      displayName: physicalName(args.prefix, "monthly-budget"),
      budgetFilter: { projects: [pulumi.interpolate`projects/${project.number}`], calendarPeriod: "MONTH", creditTypesTreatment: "INCLUDE_ALL_CREDITS" },
      // The billing account's currency must be USD (the amount's currency has to match the account's).
      amount: { specifiedAmount: { currencyCode: "USD", units: String(Math.round(args.budget.monthlyUsd)) } },
      thresholdRules: [
        { thresholdPercent: 0.5, spendBasis: "CURRENT_SPEND" },
        { thresholdPercent: 0.9, spendBasis: "CURRENT_SPEND" },
        { thresholdPercent: 1.0, spendBasis: "CURRENT_SPEND" },
        { thresholdPercent: 1.0, spendBasis: "FORECASTED_SPEND" },
      ],
      // Budgets notify at most 5 Monitoring channels; billing admins get the e-mails too.
      allUpdatesRule: { monitoringNotificationChannels: emails.slice(0, 5), disableDefaultIamRecipients: false },
    },
    { parent, provider: billingProvider },
  );
}
