/**
 * Jitsi signaling and Videobridge pools (video.mode "pool", stage 3 on; before that Jitsi runs on the VM). One bridge
 * pool per region (stage 4: every region, cascaded through the relay); component names carry the region only.
 */
import * as pulumi from "@pulumi/pulumi";
import { JitsiSignaling } from "../../components/jitsi-signaling";
import { VideoBridgePool } from "../../components/video-bridges";
import { zonesOf } from "../zones";
import type { JitsiEnv } from "../files/jitsi";
import { mirrorRepository, type Identity } from "./identity";
import type { NetworkedContext, Outputs } from "./context";

export interface Video {
  signaling?: JitsiSignaling;
  bridges: VideoBridgePool[];
  outputs: Outputs;
}

export function buildVideo(ctx: NetworkedContext, id: Identity): Video {
  const c = ctx.config;
  if (c.video.mode !== "pool") return { bridges: [], outputs: {} };
  const jitsiSecrets = id.secrets.filter((s) => s.env === "JICOFO_AUTH_PASSWORD" || s.env === "JVB_AUTH_PASSWORD" || s.env === "JITSI_JWT_APP_SECRET");
  const signaling = new JitsiSignaling("jitsi-signaling", {
    ...ctx.scope("jitsi-signaling"),
    ...ctx.placement(ctx.region),
    // The second zone of the region (GCP zones are not all a/b/c: europe-west1 has b, c, d).
    zone: zonesOf(ctx.region)[1]!,
    machineType: c.video.signalingMachineType,
    images: id.images,
    imageMirror: mirrorRepository(ctx, id),
    meetDomain: c.meetDomain,
    acmeEmail: c.alertEmails[0]!,
    secrets: jitsiSecrets.map((s) => ({ env: s.env as JitsiEnv, secretId: s.secret.secretId })),
    bootDependencies: jitsiSecrets.map((s) => s.secret.version),
    relay: c.video.relay,
    regions: ctx.regions,
    maxBridgeParticipants: c.video.participantsPerBridge,
  });
  const jvbSecret = id.secret("JVB_AUTH_PASSWORD");
  const bridges = ctx.regions.map(
    (region) =>
      new VideoBridgePool(`video-bridges-${region}`, {
        ...ctx.scope("video-bridges"),
        ...ctx.placement(region),
        zones: ctx.zones(region),
        machineType: c.video.bridgeMachineType,
        image: id.images.jitsiJvb,
        imageMirror: mirrorRepository(ctx, id),
        meetDomain: c.meetDomain,
        xmppServer: signaling.internalIp,
        secrets: [{ env: "JVB_AUTH_PASSWORD", secretId: jvbSecret.secretId }],
        bootDependencies: [jvbSecret.version],
        minBridges: c.video.bridgesPerRegion,
        maxBridges: c.video.maxBridgesPerRegion,
        cpuTargetPercent: c.video.cpuTargetPercent,
        cooldownSeconds: c.video.bridgeCooldownSeconds,
        drainSeconds: c.video.drainSeconds,
        relay: c.video.relay,
      }),
  );
  return {
    signaling,
    bridges,
    outputs: {
      meetIp: signaling.address,
      jitsiSignalingInternalIp: signaling.internalIp,
      videoBridgeGroups: pulumi.all(bridges.map((b) => b.instanceGroup)),
    },
  };
}
