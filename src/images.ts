/**
 * Image references and the project's Docker Hub mirror (components/image-mirror.ts).
 *
 * Docker Hub limits anonymous pulls per source address, and every machine and pod here leaves through shared
 * Cloud NAT (or, at stages 1-2, one VM address): a scale-out of bridges or pods pulling at once can hit the limit
 * and leave them in ImagePullBackOff. Images hosted on Docker Hub are therefore pulled through an Artifact
 * Registry remote repository (mode REMOTE_REPOSITORY, upstream DOCKER_HUB), which fetches each tag once and
 * serves it from the project's region. Images on other registries (Artifact Registry, gcr.io, quay.io) are
 * left as they are.
 */

/** True for an image Docker resolves on Docker Hub: no registry host, or docker.io named explicitly. */
export function isDockerHubImage(image: string): boolean {
  const first = image.split("/")[0]!;
  if (first === "docker.io" || first === "index.docker.io" || first === "registry-1.docker.io") return true;
  // A registry host has a dot or a port, or is localhost (Docker's own rule, reference/normalize.go).
  if (!image.includes("/")) return true;
  return !(first.includes(".") || first.includes(":") || first === "localhost");
}

/** The image's Docker Hub path: official images live under `library/` (`nginx:1` is `library/nginx:1`). */
export function dockerHubPath(image: string): string {
  const rest = image.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, "");
  return rest.includes("/") ? rest : `library/${rest}`;
}

/** `image` through the mirror at `mirror` (`<region>-docker.pkg.dev/<project>/<repository>`) when it is a Docker Hub image. */
export function throughMirror(image: string, mirror: string): string {
  return isDockerHubImage(image) ? `${mirror}/${dockerHubPath(image)}` : image;
}

/** Every image of a map through the mirror. */
export function mirrorImages<T extends Record<string, string>>(images: T, mirror: string): T {
  return Object.fromEntries(Object.entries(images).map(([k, v]) => [k, throughMirror(v, mirror)])) as T;
}

/** Artifact Registry hosts (`<region>-docker.pkg.dev`) among image references: docker logs in to each at boot. */
export function registryHostsOf(images: string[]): string[] {
  return [...new Set(images.map((i) => i.split("/")[0]!).filter((h) => h.endsWith("-docker.pkg.dev")))];
}
