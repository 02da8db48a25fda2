import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { BRIDGE_BOOT_SECONDS } from "../src/config/boot-times";
import type { RenderedFile } from "../src/render/registry";
import { physicalName } from "../src/naming";
import { bridgeFiles, drainScript, jitsiUserData, JVB_REST_PORT, type JitsiEnv } from "../src/files/jitsi";
import { InstancePool } from "./instance-pool";
import { argRefuser } from "../src/config/refusal";
import { registryHostsOf } from "../src/images";
import { GOOGLE_LB_RANGES, tags } from "./network";
import type { ComponentContext, RegionalPlacement } from "./context";

export interface VideoBridgePoolArgs extends ComponentContext, RegionalPlacement {
  /** Zones of the region the bridges spread over. */
  zones: string[];
  /** Seed "Configuration per JVB": n2-highcpu-8 (8 vCPU, 8 GB). */
  machineType: string;
  image: string;
  /** The Docker Hub mirror `image` comes from (src/images.ts): the bridges' account reads it, docker logs in. @default undefined */
  imageMirror?: { location: string; repository: pulumi.Input<string> };
  meetDomain: string;
  /** The signaling VM's internal IP (JitsiSignaling.internalIp): Prosody's XMPP client port. */
  xmppServer: pulumi.Input<string>;
  /** The bridges' XMPP password (Secret Manager id); the pool's account is granted access to it. */
  secrets: { env: JitsiEnv; secretId: pulumi.Input<string> }[];
  /** Resources the first boot needs (the secret versions). @default [] */
  bootDependencies?: pulumi.Input<pulumi.Resource>[];
  /** Bridges at rest (the group's minimum). Seed: 3 JVB for ~1,500 participants. */
  minBridges: number;
  maxBridges: number;
  /** Mean CPU the autoscaler keeps (percent). */
  cpuTargetPercent: number;
  /** Seconds a new bridge is left alone before its CPU counts. */
  cooldownSeconds: number;
  /**
   * Seconds a removed bridge may take to let its conferences end (graceful shutdown window, 1..3540; GCE allows up
   * to 3600 s and the drain leaves a minute for the stop itself).
   */
  drainSeconds: number;
  /** Cascade with the bridges of other regions (Jitsi relay, formerly Octo): stage 4. @default false */
  relay?: boolean;
}

/**
 * A Videobridge pool of one region: an autoscaled regional MIG of bridges (components/instance-pool.ts), each with
 * an ephemeral external IP that it advertises to clients (read from the metadata server at boot), joining
 * Prosody's brewery MUC on the signaling VM over the VPC. Reusable per region (stage 4 makes one per region with
 * `relay: true`).
 *
 * No load balancer in front of the bridges, although the seed's drawing shows one: Jicofo chooses the bridge of
 * every conference from the brewery MUC (by load, region and `max-bridge-participants`), and each client then
 * sends its media to that bridge's own advertised address on UDP 10000. A load balancer would spread packets of
 * one conference over several bridges that do not share its state, and hide the per-bridge address ICE needs.
 *
 * Removal drains: the template enables GCE's graceful shutdown for `drainSeconds + 60` seconds, and each bridge's
 * co-drain-watch.service runs the drain script (graceful-shutdown call, then wait for the last conference) as soon
 * as the metadata server shows the instance in PENDING_STOP, so the autoscaler's scale-in (one bridge per
 * `drainSeconds`), a rolling update or a repair never cuts a call short within that window. The `shutdown-script`
 * metadata runs the same drain as a fallback only: GCE runs shutdown scripts after the graceful window, in the
 * ordinary ~90 s before power-off.
 *
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`).
 */
export class VideoBridgePool extends pulumi.ComponentResource {
  public readonly pool: InstancePool;
  public readonly instanceGroup: pulumi.Output<string>;
  public readonly manager: gcp.compute.RegionInstanceGroupManager;
  public readonly autoscaler: gcp.compute.RegionAutoscaler;
  public readonly serviceAccountEmail: pulumi.Output<string>;
  public readonly healthFirewall: gcp.compute.Firewall;
  /** The files its bridges receive (its instance pool's), by role and path (`npm run render` writes them). */
  public readonly files: RenderedFile[];

  constructor(name: string, args: VideoBridgePoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:video:VideoBridgePool", name, {}, opts);
    if (!(Number.isInteger(args.drainSeconds) && args.drainSeconds >= 1 && args.drainSeconds <= 3540)) {
      // The config refuses video.drainSeconds outside 60-3540 first (schema); other callers.
      throw new pulumi.ResourceError(
        argRefuser("VideoBridgePool")(
          "drainSeconds",
          args.drainSeconds,
          "does not leave room in GCE's graceful shutdown (3600 s at most, 60 s of it for the bridge's own stop)",
          "a whole number of seconds, 1-3540",
        ),
        this,
      );
    }
    const role = `jvb-${args.region}`;
    const renderRole = `video-bridges-${args.region}`;

    // Auto-healing probes reach the bridge's REST port from Google's health-check ranges only.
    this.healthFirewall = new gcp.compute.Firewall(
      `${name}-fw-health`,
      {
        name: physicalName(args.prefix, `allow-${role}-health`),
        network: args.network,
        direction: "INGRESS",
        description: "Google health checks to the Videobridges' REST port (/about/health)",
        allows: [{ protocol: "tcp", ports: [String(JVB_REST_PORT)] }],
        sourceRanges: GOOGLE_LB_RANGES,
        targetTags: [tags.video],
      },
      { parent: this },
    );

    const options = (xmppServer: string, ids: string[]) => ({
      project: args.project,
      image: args.image,
      meetDomain: args.meetDomain,
      xmppServer,
      region: args.region,
      relay: args.relay ?? false,
      secrets: args.secrets.map((s, i) => ({ env: s.env, secretId: ids[i]! })),
      drainSeconds: args.drainSeconds,
      registryHosts: registryHostsOf([args.image]),
    });
    const resolved = pulumi.all([args.xmppServer, pulumi.all(args.secrets.map((s) => s.secretId))]).apply(([xmpp, ids]) => {
      const files = bridgeFiles(options(xmpp, ids));
      return { files, userData: jitsiUserData(files) };
    });
    const paths = bridgeFiles(
      options(
        "x",
        args.secrets.map(() => "x"),
      ),
    ).map((f) => f.renderPath);
    const shutdownScript = drainScript({ drainSeconds: args.drainSeconds });

    this.pool = new InstancePool(
      `${name}-pool`,
      {
        prefix: args.prefix,
        role,
        labels: args.labels,
        project: args.project,
        region: args.region,
        zones: args.zones,
        network: args.network,
        subnetwork: args.subnetwork,
        machineType: args.machineType,
        tags: [tags.video],
        // Clients send media to each bridge's own address: one ephemeral external IP per instance.
        externalIp: true,
        userData: resolved.apply((r) => r.userData),
        metadata: { "shutdown-script": shutdownScript },
        renderRole,
        renderFiles: [
          ...paths.map((p) => ({ path: p, content: resolved.apply((r) => r.files.find((f) => f.renderPath === p)!.content) })),
          { path: "shutdown-script.sh", content: shutdownScript },
        ],
        projectRoles: ["roles/logging.logWriter", "roles/monitoring.metricWriter"],
        secretIds: args.secrets.map((s) => s.secretId),
        imageMirror: args.imageMirror,
        bootDependencies: args.bootDependencies,
        namedPorts: [],
        healthCheck: {
          port: JVB_REST_PORT,
          path: "/about/health",
          // First boot: docker, the jvb image pull and the XMPP login take a few minutes.
          initialDelaySec: BRIDGE_BOOT_SECONDS,
          checkIntervalSec: 15,
          unhealthyThreshold: 4,
        },
        autoscaling: {
          minReplicas: args.minBridges,
          maxReplicas: args.maxBridges,
          cooldownSeconds: args.cooldownSeconds,
          cpuTarget: args.cpuTargetPercent / 100,
          // One bridge per drain window: a draining bridge's conferences must end before the next goes.
          scaleIn: { maxReplicas: 1, windowSeconds: args.drainSeconds },
        },
        gracefulShutdownSeconds: args.drainSeconds + 60,
        description: `Jitsi Videobridges (${args.region})`,
      },
      { parent: this },
    );
    this.instanceGroup = this.pool.instanceGroup;
    this.manager = this.pool.manager;
    this.autoscaler = this.pool.autoscaler;
    this.serviceAccountEmail = this.pool.serviceAccountEmail;

    this.files = this.pool.files;
    this.registerOutputs({ instanceGroup: this.instanceGroup, serviceAccountEmail: this.serviceAccountEmail });
  }
}
