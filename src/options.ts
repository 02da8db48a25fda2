/**
 * Resource options shared by components. Stateful resources (data that cannot be recreated) are protected in
 * Pulumi and retained on delete: a resource that drops out of the program at a later stage stays in GCP and
 * only leaves the stack's state, and a protected one cannot be deleted by an `up` at all.
 */
import * as pulumi from "@pulumi/pulumi";

/** Options for a stateful child: parent, protect, retainOnDelete. */
export function statefulOptions(parent: pulumi.Resource, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
  return { ...extra, parent, protect: true, retainOnDelete: true };
}

/** Resource types this project treats as stateful (used by the plan guard and the policy pack). */
export const statefulTypes = new Set<string>([
  "gcp:sql/databaseInstance:DatabaseInstance",
  "gcp:sql/database:Database",
  "gcp:compute/disk:Disk",
  "gcp:compute/snapshot:Snapshot",
  "gcp:storage/bucket:Bucket",
  "gcp:redis/instance:Instance",
  "gcp:redis/cluster:Cluster",
  "gcp:memcache/instance:Instance",
  "gcp:compute/address:Address",
  "gcp:compute/globalAddress:GlobalAddress",
  "gcp:compute/managedSslCertificate:ManagedSslCertificate",
  "gcp:certificatemanager/certificate:Certificate",
  "gcp:certificatemanager/dnsAuthorization:DnsAuthorization",
  "gcp:dns/managedZone:ManagedZone",
  "gcp:secretmanager/secret:Secret",
  "gcp:secretmanager/secretVersion:SecretVersion",
  "gcp:pubsub/topic:Topic",
  // A subscription holds the messages not yet delivered (the e-mail queue, its dead letters).
  "gcp:pubsub/subscription:Subscription",
  "gcp:artifactregistry/repository:Repository",
  "gcp:container/cluster:Cluster",
  "random:index/randomPassword:RandomPassword",
  "random:index/randomBytes:RandomBytes",
  "random:index/randomId:RandomId",
]);
