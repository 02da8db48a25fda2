/**
 * Resolves every container image a stack runs from its tag to the digest the registry serves now, and writes
 * image-digests.json (src/config/image-pins.ts), which the program reads so VMs and pods run `<tag>@sha256:<digest>`.
 * deploy.yml runs it in the reviewed preview and up jobs, after Google auth (the backend image is in Artifact
 * Registry). Fails closed: an image it cannot resolve stops the job (the policy pack would refuse it anyway).
 *
 *   npx tsx scripts/resolve-images.ts --stack stage2 [--out image-digests.json] [--dry-run]
 *
 * `--dry-run` prints the references without asking a registry.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../src/config/load";
import { DIGEST, PINNED } from "../src/config/image-pins";
import { ADAPTER_IMAGE, CLOUD_SDK_IMAGE } from "../src/files/k8s-manifests";
import { readStackConfig } from "../src/plan/stackfile";

/** Every image reference the stack's config and the program's constants name, without any digest, sorted. */
export function stackImages(projectDir: string, stack: string): string[] {
  const config = parseConfig(readStackConfig(projectDir, stack).config);
  const refs = [...Object.values(config.images), ADAPTER_IMAGE, CLOUD_SDK_IMAGE].map((r) => r.replace(/@sha256:[0-9a-f]{64}$/, ""));
  return [...new Set(refs)].sort();
}

/** The digest a registry serves for a tag (the multi-platform index when there is one), through docker buildx. */
function resolve(ref: string): string {
  const out = execFileSync("docker", ["buildx", "imagetools", "inspect", ref, "--format", "{{json .Manifest}}"], { encoding: "utf8" });
  const digest = (JSON.parse(out) as { digest?: string }).digest ?? "";
  if (!DIGEST.test(digest)) throw new Error(`${ref}: registry returned ${JSON.stringify(digest)}, not sha256:<64 hex>`);
  return digest;
}

function main(argv: string[]): void {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const stack = arg("--stack");
  if (!stack) throw new Error("usage: resolve-images.ts --stack <stack> [--out image-digests.json] [--dry-run]");
  const projectDir = join(__dirname, "..");
  const refs = stackImages(projectDir, stack);
  if (argv.includes("--dry-run")) {
    process.stdout.write(refs.join("\n") + "\n");
    return;
  }
  // Artifact Registry (the backend image) answers the deployer's credentials through gcloud's docker helper.
  const registries = [...new Set(refs.map((r) => r.split("/")[0]!).filter((h) => h.endsWith("-docker.pkg.dev")))];
  if (registries.length > 0) execFileSync("gcloud", ["auth", "configure-docker", registries.join(","), "--quiet"], { stdio: "inherit" });
  const digests: Record<string, string> = {};
  for (const ref of refs) {
    if (PINNED.test(ref)) continue;
    digests[ref] = resolve(ref);
    process.stdout.write(`${ref} -> ${digests[ref]}\n`);
  }
  writeFileSync(join(projectDir, arg("--out") ?? "image-digests.json"), JSON.stringify(digests, null, 2) + "\n");
}

if (require.main === module) main(process.argv.slice(2));
