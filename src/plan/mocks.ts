/**
 * What the mock engine answers for each resource: its inputs plus the outputs GCP would compute (self links,
 * IPs, connection names, service-account e-mails ...), realistic enough that outputs wired between resources
 * resolve to plausible values. In preview mode only the inputs come back, so computed outputs are unknown, as in
 * `pulumi preview`. Invokes are strict: one not listed here throws.
 */
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";

export const PROJECT_NUMBER = "123456789012";

function h(s: string, n = 8): string {
  return createHash("sha256").update(s).digest("hex").slice(0, n);
}
/** A deterministic address in a /16 picked by the seed string. */
function ip(prefix: string, seed: string): string {
  const b = Buffer.from(h(seed, 4), "hex");
  return `${prefix}.${(b[0]! % 250) + 2}.${(b[1]! % 250) + 2}`;
}

const computeCollections: Record<string, [scope: "global" | "regions" | "zones", collection: string]> = {
  "gcp:compute/network:Network": ["global", "networks"],
  "gcp:compute/subnetwork:Subnetwork": ["regions", "subnetworks"],
  "gcp:compute/router:Router": ["regions", "routers"],
  "gcp:compute/firewall:Firewall": ["global", "firewalls"],
  "gcp:compute/address:Address": ["regions", "addresses"],
  "gcp:compute/globalAddress:GlobalAddress": ["global", "addresses"],
  "gcp:compute/instance:Instance": ["zones", "instances"],
  "gcp:compute/disk:Disk": ["zones", "disks"],
  "gcp:compute/resourcePolicy:ResourcePolicy": ["regions", "resourcePolicies"],
  "gcp:compute/snapshot:Snapshot": ["global", "snapshots"],
  "gcp:compute/instanceTemplate:InstanceTemplate": ["global", "instanceTemplates"],
  "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate": ["regions", "instanceTemplates"],
  "gcp:compute/instanceGroupManager:InstanceGroupManager": ["zones", "instanceGroupManagers"],
  "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": ["regions", "instanceGroupManagers"],
  "gcp:compute/instanceGroup:InstanceGroup": ["zones", "instanceGroups"],
  "gcp:compute/healthCheck:HealthCheck": ["global", "healthChecks"],
  "gcp:compute/backendService:BackendService": ["global", "backendServices"],
  "gcp:compute/backendBucket:BackendBucket": ["global", "backendBuckets"],
  "gcp:compute/uRLMap:URLMap": ["global", "urlMaps"],
  "gcp:compute/targetHttpsProxy:TargetHttpsProxy": ["global", "targetHttpsProxies"],
  "gcp:compute/targetHttpProxy:TargetHttpProxy": ["global", "targetHttpProxies"],
  "gcp:compute/globalForwardingRule:GlobalForwardingRule": ["global", "forwardingRules"],
  "gcp:compute/managedSslCertificate:ManagedSslCertificate": ["global", "sslCertificates"],
  "gcp:compute/sslPolicy:SslPolicy": ["global", "sslPolicies"],
  // @pulumi/gcp's token for compute.SSLPolicy.
  "gcp:compute/sSLPolicy:SSLPolicy": ["global", "sslPolicies"],
  "gcp:compute/securityPolicy:SecurityPolicy": ["global", "securityPolicies"],
  "gcp:compute/regionAutoscaler:RegionAutoscaler": ["regions", "autoscalers"],
  "gcp:compute/autoscaler:Autoscaler": ["zones", "autoscalers"],
  "gcp:compute/networkEndpointGroup:NetworkEndpointGroup": ["zones", "networkEndpointGroups"],
  "gcp:compute/globalNetworkEndpointGroup:GlobalNetworkEndpointGroup": ["global", "networkEndpointGroups"],
};

/** Outputs GCP computes for a resource, given its inputs. */
export function computedOutputs(type: string, name: string, inputs: Record<string, any>, project: string): Record<string, unknown> {
  const physical: string = inputs.name ?? (inputs.namePrefix ? `${inputs.namePrefix}${h(name, 6)}` : name);
  const where: string = inputs.zone ?? inputs.region ?? inputs.location ?? "us-central1";
  const out: Record<string, unknown> = {};
  const coll = computeCollections[type];
  if (coll) {
    const [scope, collection] = coll;
    const path =
      scope === "global" ? `projects/${project}/global/${collection}/${physical}` : `projects/${project}/${scope}/${where}/${collection}/${physical}`;
    out.name = physical;
    out.selfLink = `https://www.googleapis.com/compute/v1/${path}`;
    out.selfLinkUnique = `${out.selfLink}?uniqueId=${BigInt("0x" + h(path, 12)).toString()}`;
    out.id = path;
  }
  const args = [type, name, inputs, project, physical, out] as const;
  if (!computeOutputs(...args) && !dataOutputs(...args) && !platformOutputs(...args)) otherOutputs(...args);
  return out;
}

/** Compute Engine addresses, instances and groups; service accounts. */
function computeOutputs(type: string, name: string, inputs: Record<string, any>, project: string, physical: string, out: Record<string, unknown>): boolean {
  switch (type) {
    case "gcp:compute/address:Address":
      out.address = inputs.addressType === "INTERNAL" ? ip("10.10", physical) : ip("34.120", physical);
      return true;
    case "gcp:compute/globalAddress:GlobalAddress":
      out.address = inputs.purpose === "VPC_PEERING" ? "10.100.0.0" : ip("34.110", physical);
      return true;
    case "gcp:compute/instance:Instance": {
      const nics = (inputs.networkInterfaces ?? [{}]) as Record<string, any>[];
      out.instanceId = BigInt("0x" + h(physical, 12)).toString();
      out.networkInterfaces = nics.map((n, i) => ({
        ...n,
        networkIp: n.networkIp ?? ip("10.10", `${physical}-${i}`),
        accessConfigs: (n.accessConfigs ?? []).map((a: Record<string, any>) => ({ ...a, natIp: a.natIp ?? ip("34.121", physical) })),
      }));
      return true;
    }
    case "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager":
    case "gcp:compute/instanceGroupManager:InstanceGroupManager":
      out.instanceGroup = String(out.selfLink).replace("instanceGroupManagers", "instanceGroups");
      return true;
    case "gcp:serviceaccount/account:Account": {
      // An account's email names the project it lives in (bootstrap's seed project may differ from gcp:project).
      const home = typeof inputs.project === "string" ? inputs.project : project;
      const email = `${inputs.accountId}@${home}.iam.gserviceaccount.com`;
      Object.assign(out, {
        email,
        name: `projects/${home}/serviceAccounts/${email}`,
        member: `serviceAccount:${email}`,
        uniqueId: BigInt("0x" + h(email, 12)).toString(),
        id: `projects/${project}/serviceAccounts/${email}`,
      });
      return true;
    }
  }
  return false;
}

/** Cloud SQL, Memorystore (Redis, Redis Cluster, Memcached), Database Migration Service. */
function dataOutputs(type: string, name: string, inputs: Record<string, any>, project: string, physical: string, out: Record<string, unknown>): boolean {
  switch (type) {
    case "gcp:sql/databaseInstance:DatabaseInstance": {
      const region = inputs.region ?? "us-central1";
      const priv = ip("10.100", physical);
      Object.assign(out, {
        name: physical,
        connectionName: `${project}:${region}:${physical}`,
        privateIpAddress: priv,
        firstIpAddress: priv,
        ipAddresses: [{ ipAddress: priv, type: "PRIVATE" }],
        selfLink: `https://sqladmin.googleapis.com/sql/v1beta4/projects/${project}/instances/${physical}`,
        // Each instance its own CA (Cloud SQL's per-instance CA), so a bundle shows which instances it covers.
        serverCaCerts: [{ cert: `-----BEGIN CERTIFICATE-----\nMOCK ${physical}\n-----END CERTIFICATE-----`, sha1Fingerprint: h(physical, 40) }],
        dnsName: `${h(physical, 12)}.${region}.sql.goog.`,
      });
      return true;
    }
    case "gcp:sql/database:Database":
    case "gcp:sql/user:User":
      out.name = physical;
      return true;
    case "gcp:redis/instance:Instance": {
      const host = ip("10.100", `redis-${physical}`);
      Object.assign(out, {
        host,
        port: inputs.transitEncryptionMode === "SERVER_AUTHENTICATION" ? 6378 : 6379,
        readEndpoint: ip("10.100", `redis-read-${physical}`),
        readEndpointPort: 6379,
        currentLocationId: `${inputs.region ?? "us-central1"}-b`,
        authString: inputs.authEnabled ? `mock-auth-${h(physical, 16)}` : "",
        serverCaCerts: [{ cert: "-----BEGIN CERTIFICATE-----\nMOCKREDIS\n-----END CERTIFICATE-----", serialNumber: "1" }],
        id: `projects/${project}/locations/${inputs.region ?? "us-central1"}/instances/${physical}`,
      });
      return true;
    }
    case "gcp:databasemigrationservice/connectionProfile:ConnectionProfile":
    case "gcp:databasemigrationservice/migrationJob:MigrationJob": {
      const kind = type.endsWith("ConnectionProfile") ? "connectionProfiles" : "migrationJobs";
      const id = inputs.connectionProfileId ?? inputs.migrationJobId;
      out.name = `projects/${project}/locations/${inputs.location ?? "us-central1"}/${kind}/${id}`;
      out.id = out.name;
      out.state = kind === "connectionProfiles" ? "READY" : "RUNNING";
      if (kind === "migrationJobs") out.phase = "FULL_DUMP";
      return true;
    }
    case "gcp:redis/cluster:Cluster":
      Object.assign(out, {
        discoveryEndpoints: [{ address: ip("10.100", `cluster-${physical}`), port: 6379 }],
        managedServerCas: [{ caCerts: [{ certificates: ["-----BEGIN CERTIFICATE-----\nMOCKCLUSTERCA\n-----END CERTIFICATE-----"] }] }],
        id: `projects/${project}/locations/${inputs.region ?? "us-central1"}/clusters/${physical}`,
        state: "ACTIVE",
      });
      return true;
    case "gcp:memcache/instance:Instance":
      Object.assign(out, {
        discoveryEndpoint: `${ip("10.100", `memcache-${physical}`)}:11211`,
        // The nodes, each with its own address in the Private Service Access range (as the API lists them).
        memcacheNodes: Array.from({ length: Number(inputs.nodeCount ?? 1) }, (_, i) => ({
          nodeId: `node-${i}`,
          host: ip("10.100", `memcache-${physical}-node-${i}`),
          port: 11211,
          zone: `${inputs.region ?? "us-central1"}-${"abcf"[i % 4]}`,
          state: "READY",
        })),
        id: `projects/${project}/locations/${inputs.region ?? "us-central1"}/instances/${physical}`,
      });
      return true;
  }
  return false;
}

/** GKE, Secret Manager, Cloud Storage, Pub/Sub, Cloud DNS, Artifact Registry, Certificate Manager, Cloud Monitoring. */
function platformOutputs(type: string, name: string, inputs: Record<string, any>, project: string, physical: string, out: Record<string, unknown>): boolean {
  switch (type) {
    case "gcp:container/cluster:Cluster":
      Object.assign(out, {
        endpoint: ip("34.118", physical),
        masterAuth: { clusterCaCertificate: Buffer.from(`mock-ca-${physical}`).toString("base64") },
        // The DNS-based control-plane endpoint GKE assigns: gke-<hash>-<project number>.<location>.gke.goog.
        controlPlaneEndpointsConfig: {
          ...((inputs.controlPlaneEndpointsConfig as Record<string, unknown>) ?? {}),
          dnsEndpointConfig: {
            ...(((inputs.controlPlaneEndpointsConfig as Record<string, Record<string, unknown>>) ?? {}).dnsEndpointConfig ?? {}),
            endpoint: `gke-${h(physical, 32)}-${PROJECT_NUMBER}.${inputs.location}.gke.goog`,
          },
        },
        id: `projects/${project}/locations/${inputs.location}/clusters/${physical}`,
        selfLink: `https://container.googleapis.com/v1/projects/${project}/locations/${inputs.location}/clusters/${physical}`,
      });
      return true;
    case "gcp:container/nodePool:NodePool":
      out.instanceGroupUrls = [`https://www.googleapis.com/compute/v1/projects/${project}/zones/${inputs.location}-b/instanceGroupManagers/gke-${physical}`];
      return true;
    case "gcp:secretmanager/secret:Secret":
      Object.assign(out, {
        name: `projects/${PROJECT_NUMBER}/secrets/${inputs.secretId}`,
        id: `projects/${project}/secrets/${inputs.secretId}`,
      });
      return true;
    case "gcp:secretmanager/secretVersion:SecretVersion":
      Object.assign(out, { name: `${inputs.secret}/versions/1`, version: "1", id: `${inputs.secret}/versions/1` });
      return true;
    case "gcp:storage/bucket:Bucket":
      Object.assign(out, { url: `gs://${physical}`, selfLink: `https://www.googleapis.com/storage/v1/b/${physical}`, id: physical });
      return true;
    case "gcp:pubsub/topic:Topic":
    case "gcp:pubsub/subscription:Subscription": {
      const kind = type.endsWith("Topic") ? "topics" : "subscriptions";
      out.id = `projects/${project}/${kind}/${physical}`;
      return true;
    }
    case "gcp:dns/managedZone:ManagedZone":
      out.nameServers = [
        "ns-cloud-a1.googledomains.com.",
        "ns-cloud-a2.googledomains.com.",
        "ns-cloud-a3.googledomains.com.",
        "ns-cloud-a4.googledomains.com.",
      ];
      out.id = `projects/${project}/managedZones/${physical}`;
      return true;
    case "gcp:artifactregistry/repository:Repository":
      out.id = `projects/${project}/locations/${inputs.location}/repositories/${inputs.repositoryId}`;
      out.name = inputs.repositoryId;
      return true;
    case "gcp:certificatemanager/dnsAuthorization:DnsAuthorization":
      out.dnsResourceRecords = [
        { name: `_acme-challenge.${inputs.domain}.`, type: "CNAME", data: `${h(String(inputs.domain), 12)}.authorize.certificatemanager.goog.` },
      ];
      out.id = `projects/${project}/locations/global/dnsAuthorizations/${physical}`;
      return true;
    case "gcp:certificatemanager/certificate:Certificate":
    case "gcp:certificatemanager/certificateMap:CertificateMap":
    case "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry": {
      const kind = type.split(":").pop()!;
      out.id = `projects/${project}/locations/global/${kind[0]!.toLowerCase()}${kind.slice(1)}s/${physical}`;
      return true;
    }
    case "gcp:monitoring/notificationChannel:NotificationChannel":
    case "gcp:monitoring/alertPolicy:AlertPolicy":
    case "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig":
    case "gcp:monitoring/dashboard:Dashboard": {
      const kind = type.split(":").pop()!;
      out.name = `projects/${project}/${kind[0]!.toLowerCase()}${kind.slice(1)}s/${h(name, 16)}`;
      out.id = out.name;
      if (kind === "UptimeCheckConfig") out.uptimeCheckId = h(name, 16);
      return true;
    }
  }
  return false;
}

/** bootstrap/'s KMS and Workload Identity Federation; random; every Kubernetes object's metadata. */
function otherOutputs(type: string, name: string, inputs: Record<string, any>, project: string, physical: string, out: Record<string, unknown>): boolean {
  switch (type) {
    case "gcp:kms/keyRing:KeyRing":
      out.id = `projects/${inputs.project ?? project}/locations/${inputs.location}/keyRings/${physical}`;
      return true;
    case "gcp:kms/cryptoKey:CryptoKey":
      out.id = `${inputs.keyRing}/cryptoKeys/${physical}`;
      return true;
    case "gcp:iam/workloadIdentityPool:WorkloadIdentityPool":
      out.name = `projects/${PROJECT_NUMBER}/locations/global/workloadIdentityPools/${inputs.workloadIdentityPoolId}`;
      out.id = `projects/${inputs.project ?? project}/locations/global/workloadIdentityPools/${inputs.workloadIdentityPoolId}`;
      out.state = "ACTIVE";
      return true;
    case "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider":
      out.name = `projects/${PROJECT_NUMBER}/locations/global/workloadIdentityPools/${inputs.workloadIdentityPoolId}/providers/${inputs.workloadIdentityPoolProviderId}`;
      out.id = `projects/${inputs.project ?? project}/locations/global/workloadIdentityPools/${inputs.workloadIdentityPoolId}/providers/${inputs.workloadIdentityPoolProviderId}`;
      out.state = "ACTIVE";
      return true;
    case "random:index/randomPassword:RandomPassword":
    case "random:index/randomString:RandomString":
      out.result = `mock${h(name, Math.max(8, Math.min(60, (inputs.length ?? 32) - 4)))}`;
      return true;
    case "random:index/randomBytes:RandomBytes":
      out.base64 = Buffer.from(h(name, (inputs.length ?? 16) * 2), "hex").toString("base64");
      out.hex = h(name, (inputs.length ?? 16) * 2);
      return true;
    case "random:index/randomId:RandomId":
      out.hex = h(name, (inputs.byteLength ?? 8) * 2);
      out.b64Url = Buffer.from(out.hex as string, "hex").toString("base64url");
      out.dec = BigInt("0x" + (out.hex as string)).toString();
      return true;
    default:
      if (!type.startsWith("kubernetes:")) return false;
      out.metadata = { ...(inputs.metadata ?? {}), name: inputs.metadata?.name ?? name, uid: h(name, 32) };
      return true;
  }
}

/** Answers for the invokes the program makes; any other invoke is a mistake and throws. */
export function invokeResult(token: string, inputs: Record<string, any>, project: string): Record<string, unknown> {
  switch (token) {
    case "gcp:organizations/getProject:getProject":
      return { number: PROJECT_NUMBER, projectId: inputs.projectId ?? project, name: project, id: `projects/${project}` };
    case "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
      return { emailAddress: `service-${PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com` };
    case "gcp:secretmanager/getSecretVersionAccess:getSecretVersionAccess": {
      // A secret someone stored by hand (e.g. monitoring.pagerdutyServiceKeySecret): a fake 32-hex value.
      const p = inputs.project ?? project;
      const version = inputs.version ?? "1";
      return {
        project: p,
        secret: inputs.secret,
        version,
        name: `projects/${PROJECT_NUMBER}/secrets/${inputs.secret}/versions/${version}`,
        secretData: `mock${h(String(inputs.secret), 28)}`,
        id: `projects/${p}/secrets/${inputs.secret}/versions/${version}`,
      };
    }
    default:
      throw new Error(`unexpected invoke ${token} in the offline plan: add a realistic answer in src/plan/mocks.ts`);
  }
}

/** Input blocks that carry a computed field, so a preview of their create cannot know them. */
const PREVIEW_UNKNOWN_BLOCKS: Record<string, string[]> = {
  "gcp:container/cluster:Cluster": ["controlPlaneEndpointsConfig"],
};

export class PlanMocks implements pulumi.runtime.Mocks {
  constructor(
    private readonly project: string,
    private readonly preview: boolean,
  ) {}

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } {
    const computed = computedOutputs(args.type, args.name, args.inputs, this.project);
    const id = (computed.id as string | undefined) ?? `${args.name}-id`;
    if (this.preview) {
      // Preview: what the provider knows before creating = the inputs; computed outputs stay unknown. An input
      // block with a computed field inside (the cluster's DNS endpoint) is unknown as a whole before create.
      const state = { ...args.inputs };
      for (const k of PREVIEW_UNKNOWN_BLOCKS[args.type] ?? []) delete state[k];
      return { id: undefined, state };
    }
    return { id, state: { ...args.inputs, ...computed } };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
    return invokeResult(args.token, args.inputs, this.project);
  }
}
