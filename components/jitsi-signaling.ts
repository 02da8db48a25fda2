import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { statefulOptions } from "../src/options";
import { fileRecorder, type RenderedFile } from "../src/render/registry";
import { jitsiUserData, signalingFiles, type JitsiEnv, type JitsiImages } from "../src/files/jitsi";
import { ServiceAccount } from "./service-account";
import { registryHostsOf } from "../src/images";
import { tags } from "./network";
import { VM_IMAGE } from "./vm-platform";
import type { ComponentContext, RegionalPlacement } from "./context";

export interface JitsiSignalingArgs extends ComponentContext, RegionalPlacement {
  /** Zone of the VM. */
  zone: string;
  machineType: string;
  images: JitsiImages;
  /** The Docker Hub mirror the images come from (src/images.ts): the VM's account reads it. @default undefined */
  imageMirror?: { location: string; repository: pulumi.Input<string> };
  meetDomain: string;
  acmeEmail: string;
  /** Jicofo's and the bridges' XMPP passwords (Secret Manager ids); the VM's account is granted access to each. */
  secrets: { env: JitsiEnv; secretId: pulumi.Input<string> }[];
  /** Resources the first boot needs (the secret versions). @default [] */
  bootDependencies?: pulumi.Input<pulumi.Resource>[];
  /** Bridges of several regions cascade (relay). @default false */
  relay?: boolean;
  /** The regions that run bridges, primary first (Jicofo's region, the participants' allowed regions). */
  regions: string[];
  /** Seed: ~500 participants per JVB. */
  maxBridgeParticipants: number;
  /** Boot disk (GB). @default 30 */
  bootDiskGb?: number;
}

/**
 * The Jitsi signaling machine (stage 3 on): one Shielded VM running jitsi-web, Prosody and Jicofo in docker
 * compose. Clients load the meet front end straight from this VM: it has its own static external IP (the meet
 * domain's A record; protected and retained, since DNS points at it) and jitsi-web obtains its own Let's Encrypt
 * certificate. Not through the global load balancer: that would put a second certificate and a URL-map host rule
 * in front of a page that is a few static files plus two WebSockets (XMPP and colibri), all of which the VM
 * serves directly; the media never passes here anyway (clients talk to the bridges).
 *
 * The bridges reach Prosody on 5222 at this VM's internal IP (network tag `co-signaling`, firewall rule `xmpp`);
 * this component opens 80/443 from the internet to the same tag (the `web` rule admits only Google's load-balancer
 * ranges from stage 2 on).
 *
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`).
 */
export class JitsiSignaling extends pulumi.ComponentResource {
  public readonly instance: gcp.compute.Instance;
  public readonly staticIp: gcp.compute.Address;
  /** Public address of the meet front end (the meet domain's A record). */
  public readonly address: pulumi.Output<string>;
  /** Internal address: the bridges' XMPP server. */
  public readonly internalIp: pulumi.Output<string>;
  public readonly serviceAccountEmail: pulumi.Output<string>;
  public readonly firewall: gcp.compute.Firewall;

  /** The files its machines receive, by role and path (`npm run render` writes them). */
  public readonly files: RenderedFile[] = [];

  constructor(name: string, args: JitsiSignalingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:video:JitsiSignaling", name, {}, opts);
    const renderFile = fileRecorder(this.files);

    const identity = new ServiceAccount(
      `${name}-identity`,
      {
        prefix: args.prefix,
        project: args.project,
        role: "jitsi-signaling",
        description: "Course Organizer Jitsi signaling VM: reads the XMPP passwords, writes logs and metrics",
        roles: ["roles/logging.logWriter", "roles/monitoring.metricWriter"],
      },
      { parent: this },
    );
    this.serviceAccountEmail = identity.email;
    const grants: pulumi.Resource[] = args.secrets.map(
      (s, i) =>
        new gcp.secretmanager.SecretIamMember(
          `${name}-secret-${i}`,
          { project: args.project, secretId: s.secretId, role: "roles/secretmanager.secretAccessor", member: identity.member },
          { parent: this },
        ),
    );
    if (args.imageMirror) {
      grants.push(
        new gcp.artifactregistry.RepositoryIamMember(
          `${name}-mirror-reader`,
          {
            project: args.project,
            location: args.imageMirror.location,
            repository: args.imageMirror.repository,
            role: "roles/artifactregistry.reader",
            member: identity.member,
          },
          { parent: this },
        ),
      );
    }
    const registryHosts = registryHostsOf(Object.values(args.images));

    this.staticIp = new gcp.compute.Address(
      `${name}-ip`,
      {
        name: physicalName(args.prefix, "meet-ip"),
        region: args.region,
        addressType: "EXTERNAL",
        networkTier: "PREMIUM",
        description: "Static external IP of the Jitsi front end (the meet domain's A record)",
        labels: args.labels,
      },
      statefulOptions(this),
    );
    this.address = this.staticIp.address;
    // A reserved internal address: the bridges' templates name it, so a recreated VM does not roll every bridge.
    const internal = new gcp.compute.Address(
      `${name}-internal-ip`,
      {
        name: physicalName(args.prefix, "jitsi-signaling-internal"),
        region: args.region,
        addressType: "INTERNAL",
        subnetwork: args.subnetwork,
        description: "Internal IP of the Jitsi signaling VM (the bridges' XMPP server)",
        labels: args.labels,
      },
      statefulOptions(this),
    );

    this.firewall = new gcp.compute.Firewall(
      `${name}-fw-https`,
      {
        name: physicalName(args.prefix, "allow-meet-https"),
        network: args.network,
        direction: "INGRESS",
        description: "Jitsi front end: HTTPS (and HTTP for Let's Encrypt and the redirect) from the internet",
        allows: [{ protocol: "tcp", ports: ["80", "443"] }],
        sourceRanges: ["0.0.0.0/0"],
        targetTags: [tags.signaling],
      },
      { parent: this },
    );

    const resolved = pulumi.all(args.secrets.map((s) => s.secretId)).apply((ids) => {
      const files = signalingFiles({
        project: args.project,
        images: args.images,
        meetDomain: args.meetDomain,
        acmeEmail: args.acmeEmail,
        secrets: args.secrets.map((s, i) => ({ env: s.env, secretId: ids[i]! })),
        relay: args.relay,
        regions: args.regions,
        maxBridgeParticipants: args.maxBridgeParticipants,
        registryHosts,
      });
      return { files, userData: jitsiUserData(files) };
    });
    // The file list depends on nothing unknown: register each path, so previews list them too.
    const paths = signalingFiles({
      project: args.project,
      images: args.images,
      meetDomain: args.meetDomain,
      acmeEmail: args.acmeEmail,
      secrets: args.secrets.map((s) => ({ env: s.env, secretId: "x" })),
      relay: args.relay,
      regions: args.regions,
      maxBridgeParticipants: args.maxBridgeParticipants,
      registryHosts,
    }).map((f) => f.renderPath);
    for (const p of paths)
      renderFile(
        "jitsi-signaling",
        p,
        resolved.apply((r) => r.files.find((f) => f.renderPath === p)!.content),
      );
    const userData = renderFile(
      "jitsi-signaling",
      "cloud-init/user-data.yaml",
      resolved.apply((r) => r.userData),
    );

    this.instance = new gcp.compute.Instance(
      `${name}-vm`,
      {
        name: physicalName(args.prefix, "jitsi-signaling"),
        zone: args.zone,
        machineType: args.machineType,
        description: "Course Organizer Jitsi signaling: web, Prosody, Jicofo (docker compose)",
        bootDisk: { autoDelete: true, initializeParams: { image: VM_IMAGE, size: args.bootDiskGb ?? 30, type: "pd-balanced" } },
        networkInterfaces: [
          {
            network: args.network,
            subnetwork: args.subnetwork,
            networkIp: internal.address,
            accessConfigs: [{ natIp: this.staticIp.address, networkTier: "PREMIUM" }],
          },
        ],
        serviceAccount: { email: identity.email, scopes: ["cloud-platform"] },
        shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
        metadata: { "enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE", "user-data": userData },
        tags: [tags.signaling],
        labels: args.labels,
        scheduling: { automaticRestart: true, onHostMaintenance: "MIGRATE", preemptible: false },
        // A machine-type change stops, resizes and starts the VM in place.
        allowStoppingForUpdate: true,
      },
      { parent: this, dependsOn: [...grants, ...((args.bootDependencies ?? []) as pulumi.Resource[])] },
    );
    this.internalIp = internal.address;

    this.registerOutputs({ address: this.address, internalIp: this.internalIp, serviceAccountEmail: this.serviceAccountEmail });
  }
}
