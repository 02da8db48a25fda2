/**
 * Every container image a VM or pod runs is named by digest on the real path (a tag can be moved to other content
 * by whoever controls the repository). The deploy job resolves tags to digests (scripts/resolve-images.ts,
 * src/config/image-pins.ts); this rule fails the preview and the update when that did not happen, or missed one.
 *
 * Offline plans carry tags (no registry is asked): policy/harness.ts runs the pack with `offlinePlan: true`,
 * which only this rule reads. A real `pulumi preview --policy-pack policy` gets the default, false.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";

export const PINNED_IMAGE = /@sha256:[0-9a-f]{64}$/;

/** Image references inside a VM's user-data: compose `image:` keys, `IMAGE=` in scripts, quoted `registry/path:tag` words. */
export function imagesInText(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/^\s*image:\s*["']?([^\s"'#]+)/gm)) out.add(m[1]!);
  // A compose build's base image (the VM's PostgreSQL with pgBackRest is built FROM it): pulled, so judged too.
  for (const m of text.matchAll(/^\s*BASE_IMAGE:\s*["']?([^\s"'#]+)/gm)) out.add(m[1]!);
  for (const m of text.matchAll(/\bIMAGE=["']?([^\s"';]+)/g)) if (!m[1]!.startsWith("$")) out.add(m[1]!);
  for (const m of text.matchAll(/'([a-z0-9][a-z0-9.-]*(?::[0-9]+)?(?:\/[a-z0-9._-]+)+:[A-Za-z0-9_][A-Za-z0-9_.-]*(?:@sha256:[0-9a-f]{64})?)'/g)) out.add(m[1]!);
  return [...out].filter((r) => !r.includes("${") && !r.startsWith("$") && !r.startsWith(LOCAL_BUILD_PREFIX));
}

/**
 * Images a machine builds itself and never pulls (src/files/pgbackrest.ts postgresImageTag): no registry holds them,
 * so they have no digest; their base image is judged instead (BASE_IMAGE above).
 */
export const LOCAL_BUILD_PREFIX = "course-organizer/";

/** Container images in a Kubernetes object (every containers / initContainers / ephemeralContainers entry). */
export function imagesInObject(o: unknown, out: string[] = []): string[] {
  if (Array.isArray(o)) for (const x of o) imagesInObject(x, out);
  else if (o && typeof o === "object") {
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
      if (["containers", "initContainers", "ephemeralContainers"].includes(k) && Array.isArray(v)) {
        for (const c of v) if (c && typeof c === "object" && typeof (c as any).image === "string") out.push((c as any).image);
      }
      imagesInObject(v, out);
    }
  }
  return out;
}

const VM_TYPES = new Set([
  "gcp:compute/instance:Instance",
  "gcp:compute/instanceTemplate:InstanceTemplate",
  "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
]);

export const imagesPinned: ResourceValidationPolicy = {
  name: "images-pinned-by-digest",
  description:
    "Every container image of a pod or a VM (compose files and scripts in its user-data) is named by digest (@sha256:…), resolved by the deploy job; a tag alone fails the preview and the update.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: { properties: { offlinePlan: { type: "boolean", default: false } } },
  validateResource: (args, report) => {
    if (args.getConfig<{ offlinePlan?: boolean }>().offlinePlan === true) return;
    let refs: string[] = [];
    if (args.type.startsWith("kubernetes:")) refs = imagesInObject(args.props);
    else if (VM_TYPES.has(args.type)) {
      const md = args.props.metadata ?? {};
      refs = Object.values(md)
        .filter((v): v is string => typeof v === "string")
        .flatMap(imagesInText);
      if (typeof args.props.metadataStartupScript === "string") refs.push(...imagesInText(args.props.metadataStartupScript));
    } else return;
    const unpinned = [...new Set(refs.filter((r) => !PINNED_IMAGE.test(r)))];
    if (unpinned.length > 0) {
      report(
        `Images without a digest: ${unpinned.join(", ")}. Run scripts/resolve-images.ts before preview/up (deploy.yml does), or name them <image>:<tag>@sha256:<digest>.`,
      );
    }
  },
};
