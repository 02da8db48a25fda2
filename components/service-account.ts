import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext } from "./context";

export interface ServiceAccountArgs extends Pick<ComponentContext, "prefix" | "project"> {
  /** Role in the account id: `<prefix>-<role>` (30 characters at most, cut deterministically). */
  role: string;
  description: string;
  /** Project-level roles, each the narrowest that does the job (never roles/editor or owner). */
  roles: string[];
}

/** Google's basic roles: every permission on every service of the project (or every read), never granted here. */
const BASIC_ROLES = ["roles/owner", "roles/editor", "roles/viewer"];

/**
 * A dedicated service account with only the project roles it needs. Every machine and workload runs as its own
 * account, never as the default compute account.
 */
export class ServiceAccount extends pulumi.ComponentResource {
  public readonly account: gcp.serviceaccount.Account;
  public readonly email: pulumi.Output<string>;
  public readonly member: pulumi.Output<string>;

  constructor(name: string, args: ServiceAccountArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:identity:ServiceAccount", name, {}, opts);
    // Least privilege: the composition's role lists are constants; this stops any caller from granting a basic role.
    const refuse = argRefuser("ServiceAccount");
    const problems = args.roles.flatMap((r, i) =>
      BASIC_ROLES.includes(r)
        ? [refuse(`roles[${i}]`, r, "is a basic role (project-wide)", "predefined roles that name what the account does, e.g. roles/logging.logWriter")]
        : [],
    );
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);
    this.account = new gcp.serviceaccount.Account(
      `${name}-sa`,
      {
        accountId: physicalName(args.prefix, args.role, "serviceAccount"),
        displayName: `${args.prefix} ${args.role}`,
        description: args.description,
        // bootstrap/ creates every runtime account first, so it (not the deployer) grants the deployer actAs on
        // each one: this adopts the existing account instead of failing with 409 (bootstrap/trust.ts).
        createIgnoreAlreadyExists: true,
      },
      { parent: this },
    );
    this.email = this.account.email;
    this.member = pulumi.interpolate`serviceAccount:${this.account.email}`;
    for (const role of args.roles) {
      new gcp.projects.IAMMember(
        `${name}-${role
          .replace(/^roles\//, "")
          .replace(/[^a-zA-Z0-9]+/g, "-")
          .toLowerCase()}`,
        { project: args.project, role, member: this.member },
        { parent: this },
      );
    }
    this.registerOutputs({ email: this.email });
  }
}
