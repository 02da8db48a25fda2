import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import * as random from "@pulumi/random";
import { physicalName } from "../src/naming";
import { statefulOptions } from "../src/options";
import type { ComponentContext } from "./context";

export interface SecretArgs extends Pick<ComponentContext, "prefix" | "labels"> {
  /** Role in the physical secret id: `<prefix>-<role>`. */
  role: string;
  /**
   * The value. Omit it to generate a random password of `length` characters with @pulumi/random.
   * A given value must be a Pulumi secret (pulumi.secret(...)) or derived from one.
   */
  value?: pulumi.Input<string>;
  /** Generated password length. @default 32 */
  length?: number;
  /** Allow punctuation in the generated password (off for values embedded in URLs). @default false */
  special?: boolean;
  /** Service-account e-mails granted roles/secretmanager.secretAccessor on this secret only. */
  accessors?: pulumi.Input<string>[];
  /**
   * The value is computed from other resources (the app settings: hosts, names, other secrets) and changes with
   * them. Secret Manager versions are immutable, so each change replaces the version: it is not `protect`ed
   * (Pulumi refuses to replace a protected resource) and the replaced one is disabled, not destroyed
   * (deletionPolicy DISABLE), so it can be re-enabled to roll back. A generated or given value keeps its version,
   * protected. @default false
   */
  derived?: boolean;
}

/**
 * One value in Secret Manager: generated (or given), stored as a secret version, readable only by the listed
 * service accounts. Machines read it at boot through their service account; the value never appears in
 * metadata or rendered files. Protected and retained: a lost secret version is a lost password.
 */
export class Secret extends pulumi.ComponentResource {
  public readonly secret: gcp.secretmanager.Secret;
  public readonly version: gcp.secretmanager.SecretVersion;
  /** The value, as a Pulumi secret. */
  public readonly value: pulumi.Output<string>;
  /** The secret id (`<prefix>-<role>`), what machines pass to `gcloud secrets versions access latest --secret`. */
  public readonly secretId: pulumi.Output<string>;
  /** The accessor grants, for machines that must not boot before they can read the value (`dependsOn`). */
  public readonly accessorGrants: gcp.secretmanager.SecretIamMember[];

  constructor(name: string, args: SecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:secrets:Secret", name, {}, opts);
    let value: pulumi.Input<string>;
    if (args.value !== undefined) {
      value = args.value;
    } else {
      const password = new random.RandomPassword(
        `${name}-value`,
        { length: args.length ?? 32, special: args.special ?? false, minLower: 2, minUpper: 2, minNumeric: 2 },
        statefulOptions(this),
      );
      value = password.result;
    }
    this.value = pulumi.secret(pulumi.output(value));
    this.secret = new gcp.secretmanager.Secret(
      `${name}-secret`,
      {
        secretId: physicalName(args.prefix, args.role, "secret"),
        labels: args.labels,
        replication: { auto: {} },
        deletionProtection: true,
      },
      statefulOptions(this),
    );
    this.version = new gcp.secretmanager.SecretVersion(
      `${name}-version`,
      { secret: this.secret.id, secretData: this.value, deletionPolicy: args.derived ? "DISABLE" : "ABANDON" },
      args.derived ? { parent: this } : statefulOptions(this),
    );
    this.accessorGrants = (args.accessors ?? []).map((email, i) => {
      return new gcp.secretmanager.SecretIamMember(
        `${name}-accessor-${i}`,
        { secretId: this.secret.id, role: "roles/secretmanager.secretAccessor", member: pulumi.interpolate`serviceAccount:${email}` },
        { parent: this },
      );
    });
    this.secretId = this.secret.secretId;
    this.registerOutputs({ secretId: this.secretId });
  }
}
