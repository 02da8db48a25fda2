/**
 * Container images run by digest on the real path. The presets name images by tag (readable, and what a person
 * bumps); a tag can be moved to other content by whoever controls the repository, so the deploy job resolves every
 * tag to its digest (scripts/resolve-images.ts, after reviewers approved the job) and writes image-digests.json;
 * the program then runs `<name>:<tag>@sha256:<digest>` (the digest wins, the tag stays readable). The policy pack
 * refuses any image without a digest on a real preview or update (policy/images.ts), so a missing or partial file
 * fails closed. Offline plans have no such file and keep the tags.
 *
 * Why not digests in the presets: google-cloud-cli:stable is a floating tag on purpose (src/files/k8s-manifests.ts:
 * the repository deletes versions older than a year), and no registry is reachable from where the presets are
 * written to read the others' digests; a digest copied from elsewhere could not be verified.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "./schema";

/** Written by the deploy job in the project folder; never committed (.gitignore). */
export const DIGEST_FILE = "image-digests.json";
export const DIGEST = /^sha256:[0-9a-f]{64}$/;
export const PINNED = /@sha256:[0-9a-f]{64}$/;

/** `{ "<name>:<tag>": "sha256:<64 hex>" }` from the digest file, or {} without one. A malformed file is an error. */
export function readImageDigests(dir: string = process.cwd()): Record<string, string> {
  const file = join(dir, DIGEST_FILE);
  if (!existsSync(file)) return {};
  const data = JSON.parse(readFileSync(file, "utf8")) as unknown;
  if (!data || typeof data !== "object" || Array.isArray(data)) throw new Error(`${file}: expected {"<image>:<tag>": "sha256:<digest>"}`);
  for (const [ref, digest] of Object.entries(data)) {
    if (typeof digest !== "string" || !DIGEST.test(digest)) throw new Error(`${file}: ${ref}: ${JSON.stringify(digest)} is not sha256:<64 hex>`);
  }
  return data as Record<string, string>;
}

/** The reference with its digest appended when the map knows it (an already pinned reference is kept). */
export function pinnedImage(ref: string, digests: Record<string, string> = readImageDigests()): string {
  if (PINNED.test(ref)) return ref;
  const digest = digests[ref];
  return digest ? `${ref}@${digest}` : ref;
}

/** The config with every image pinned by the digest file. */
export function pinConfigImages(config: Config, digests: Record<string, string> = readImageDigests()): Config {
  const images = Object.fromEntries(Object.entries(config.images).map(([k, ref]) => [k, pinnedImage(ref, digests)])) as Config["images"];
  return { ...config, images };
}
