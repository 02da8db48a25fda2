/**
 * Media buckets and the CDN signing key (stage 2 on): before the VM, whose files and grants use them. Buckets are
 * named <project>-<prefix>-static and <project>-<prefix>-media: bucket names are global, the project id is unique.
 * The load balancer that serves them is built after the backends (edge.ts).
 */
import { Media } from "../../components/media";
import type { Identity } from "./identity";
import type { Outputs, StackContext } from "./context";

/** Every domain the load balancer serves the site on. */
export const siteDomains = (ctx: StackContext): string[] => [ctx.config.domain, ...ctx.config.loadBalancer.extraDomains];

export function buildMedia(ctx: StackContext, id: Identity): { media?: Media; outputs: Outputs } {
  const c = ctx.config;
  if (!c.media.enabled) return { outputs: {} };
  const media = new Media("media", {
    ...ctx.scope("media"),
    location: c.media.location,
    domains: siteDomains(ctx),
    publicMedia: c.media.publicMedia,
    nearlineAfterDays: c.media.nearlineAfterDays,
    softDeleteDays: c.media.softDeleteDays,
    // Whoever signs media URLs reads the key: the VM at stage 2 here; from stage 3 the HTTP pool and the GKE
    // api workload grant their own accounts by listing media.signingKeySecretId in their secret ids.
    signingKeyAccessors: id.vmIdentity && c.vm.enabled ? [id.vmIdentity.email] : [],
  });
  const outputs: Outputs = {
    staticBucket: media.staticBucketName,
    mediaBucket: media.mediaBucketName,
    // The release identity that alone writes the static bucket (scripts/publish-static.sh impersonates it).
    staticPublisher: media.staticPublisher.email,
  };
  if (media.signingKeySecretId) outputs.cdnSigningKeySecret = media.signingKeySecretId;
  if (media.keyName) outputs.cdnSigningKeyName = media.keyName;
  return { media, outputs };
}
