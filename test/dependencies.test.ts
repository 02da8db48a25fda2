/**
 * Every dependency in the plan is one the resources need: either an input that takes another resource's output
 * (a property dependency, which Pulumi infers), or an explicit `dependsOn` listed here with the reason. An
 * unneeded dependency lengthens `pulumi up` (see --deploy-time) and hides the real wiring.
 */
import { describe, expect, it } from "vitest";
import { plan } from "./helpers/plan";

/** Explicit dependencies we allow: [dependent type pattern, dependency type pattern, why]. */
export const allowedExplicit: [RegExp, RegExp, string][] = [
  [/^gcp:(sql|redis|memcache)\//, /^gcp:servicenetworking\/connection:Connection$/, "private IP needs the Private Service Access peering first"],
  [
    /^gcp:(compute\/instance:Instance|compute\/(region)?InstanceTemplate|compute\/regionInstanceTemplate)/,
    /^gcp:(secretmanager\/secretIamMember|secretmanager\/secretVersion|projects\/iAMMember|storage\/bucketIAMMember|artifactregistry\/repositoryIamMember)/,
    "a machine reads its secrets and images at boot: the grants and values must exist before it starts",
  ],
  [/^kubernetes:/, /^kubernetes:/, "Kubernetes objects need their namespace and CRDs applied first"],
  [/^kubernetes:/, /^gcp:(container\/nodePool|serviceaccount\/iAMMember|projects\/iAMMember)/, "workloads need nodes and their Workload Identity bindings"],
  [
    /^gcp:databasemigrationservice\//,
    /^gcp:(sql|servicenetworking|compute\/firewall)/,
    "the migration job needs its destination, the peering and the firewall path",
  ],
  [/^gcp:compute\/snapshot:Snapshot$/, /^gcp:compute\/instance:Instance$/, "the final snapshot is taken after the VM is stopped"],
  [
    /^kubernetes:/,
    /^gcp:(secretmanager\/(secretIamMember|secretVersion)|storage\/bucketIAMMember)/,
    "pods read their secrets and write the buckets at start: values and grants exist before them",
  ],
  [
    /^gcp:serviceaccount\/iAMMember:IAMMember$/,
    /^gcp:container\/cluster:Cluster$/,
    "the workload pool <project>.svc.id.goog exists once a cluster with Workload Identity does: IAM refuses the binding before",
  ],
  [
    /^gcp:container\/nodePool:NodePool$/,
    /^gcp:projects\/iAMMember:IAMMember$/,
    "nodes write logs and pull images from their first boot: the node account's roles exist first",
  ],
  [/^pulumi:providers:kubernetes$/, /^gcp:container\/nodePool:NodePool$/, "workloads are applied once the cluster has nodes to run them"],
  [
    /^gcp:redis\/cluster:Cluster$/,
    /^gcp:networkconnectivity\/serviceConnectionPolicy:ServiceConnectionPolicy$/,
    "Redis Cluster creates its PSC endpoints through the connection policy, which must exist first",
  ],
  [
    /^gcp:monitoring\/alertPolicy:AlertPolicy$/,
    /^gcp:logging\/metric:Metric$/,
    "a filter names its logs-based metric as a string; GCP refuses the policy until the metric exists",
  ],
  [
    /^gcp:osconfig\/osPolicyAssignment:OsPolicyAssignment$/,
    /^gcp:compute\/projectMetadataItem:ProjectMetadataItem$/,
    "OS Config agents act on assignments only once enable-osconfig is set in project metadata",
  ],
  [
    /^gcp:storage\/bucketIAMMember:BucketIAMMember$/,
    /^gcp:compute\/backendBucketSignedUrlKey:BackendBucketSignedUrlKey$/,
    "Cloud CDN's fill service account exists only after the first signed URL key: granting it before fails",
  ],
];

describe.each(["stage1", "stage2", "stage3", "stage4"])("dependencies of %s", (stack) => {
  it("are property dependencies or explicit ones with a reason", async () => {
    const p = await plan(stack);
    const byUrn = new Map(p.resources.map((r) => [r.urn, r]));
    const unexplained: string[] = [];
    for (const r of p.resources) {
      const inferred = new Set(Object.values(r.propertyDependencies).flat());
      for (const d of r.dependencies) {
        if (inferred.has(d) || d === r.parent) continue;
        const dep = byUrn.get(d);
        const depType = dep?.type ?? "?";
        const ok = allowedExplicit.some(([a, b]) => a.test(r.type) && (b.test(depType) || (dep && !dep.custom)));
        if (!ok) unexplained.push(`${r.type} ${r.name} -> ${depType} ${dep?.name ?? d}`);
      }
    }
    expect(unexplained).toEqual([]);
  });
});

describe("explicit dependencies are only where they are needed", () => {
  it("at stage 1 only the latency and error-rate alerts and the audit alerts wait for logs-based metrics, each for its own", async () => {
    const p = await plan("stage1");
    const byUrn = new Map(p.resources.map((r) => [r.urn, r]));
    const waits = p.resources
      .filter((r) => r.type === "gcp:monitoring/alertPolicy:AlertPolicy")
      .map(
        (r) =>
          [
            r.name,
            r.dependencies
              .map((d) => byUrn.get(d))
              .filter((d) => d?.type === "gcp:logging/metric:Metric")
              .map((d) => d!.name),
          ] as const,
      )
      .filter(([, deps]) => deps.length > 0);
    expect(Object.fromEntries(waits)).toEqual({
      "monitoring-api-latency-ms-warning": ["monitoring-nginx-api-latency"],
      "monitoring-api-latency-ms-critical": ["monitoring-nginx-api-latency"],
      "monitoring-error-rate-percent-warning": ["monitoring-nginx-requests"],
      "monitoring-error-rate-percent-critical": ["monitoring-nginx-requests"],
      // components/audit-logging.ts: each configuration-change alert waits for its own metric.
      ...Object.fromEntries(
        ["iam-policy", "audit-config", "custom-role", "firewall", "route", "network", "bucket-iam", "cloud-sql"].map((k) => [
          `audit-logging-${k}-alert`,
          [`audit-logging-${k}`],
        ]),
      ),
    });
  });
});

describe("the stage 2 VM waits for what it reads at first boot", () => {
  it("its bucket grants take the buckets' names as outputs, and the instance waits for the signing key's value and grant", async () => {
    const p = await plan("stage2");
    const urnOf = (type: string, name: string) => {
      const r = p.resources.find((x) => x.type === type && x.name === name);
      expect(r, `${type} ${name}`).toBeDefined();
      return r!.urn;
    };
    // The media bucket only: the static bucket is the release identity's (components/media.ts).
    expect(p.resources.find((r) => r.name === "vm-static-writer")).toBeUndefined();
    for (const role of ["media"]) {
      const grant = p.resources.find((r) => r.type === "gcp:storage/bucketIAMMember:BucketIAMMember" && r.name === `vm-${role}-writer`)!;
      expect(grant.propertyDependencies.bucket).toEqual([urnOf("gcp:storage/bucket:Bucket", `media-${role}`)]);
    }
    const instance = p.resources.find((r) => r.type === "gcp:compute/instance:Instance")!;
    expect(instance.dependencies).toContain(urnOf("gcp:secretmanager/secretVersion:SecretVersion", "media-signing-key-version"));
    expect(instance.dependencies.filter((d) => d.endsWith("::media-signing-key-accessor-0"))).toHaveLength(1);
  });
});
