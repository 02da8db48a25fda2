/**
 * Identities and secrets (every stage): the VM's service account, the generated secrets the app and Jitsi use at
 * every stage, and the Artifact Registry repository.
 */
import { ServiceAccount } from "../../components/service-account";
import { Secret } from "../../components/secret";
import { ArtifactRegistry } from "../../components/artifact-registry";
import { ImageMirror } from "../../components/image-mirror";
import { mirrorImages, registryHostsOf } from "../images";
import type { Config } from "../config/schema";
import { VM_PROJECT_ROLES, type VmSecret } from "../../components/vm-platform";
import type { Outputs, StackContext } from "./context";

export interface Identity {
  /** The VM's service account while the VM exists (serving, or retained for its data at stage 3). */
  vmIdentity?: ServiceAccount;
  /** The generated secrets, one per environment variable. */
  secrets: { env: VmSecret["env"]; secret: Secret }[];
  /** The secret behind an environment variable. */
  secret: (env: VmSecret["env"]) => Secret;
  registry: ArtifactRegistry;
  /** Docker Hub's pull-through cache (src/images.ts says why). */
  mirror: ImageMirror;
  /** The config's images, Docker Hub ones through the mirror. */
  images: Config["images"];
  /** Artifact Registry hosts docker logs in to at boot: the project's and the images'. */
  registryHosts: string[];
  outputs: Outputs;
}

/** The generated secrets; kept at every stage so a value never changes under a move. */
const SECRET_DEFS: { name: string; env: VmSecret["env"]; length?: number }[] = [
  { name: "vm-db-password", env: "POSTGRES_PASSWORD" },
  // Django's SECRET_KEY: 50 characters, as Django's own startproject generates.
  { name: "django-secret-key", env: "DJANGO_SECRET_KEY", length: 50 },
  { name: "jitsi-jicofo-password", env: "JICOFO_AUTH_PASSWORD" },
  { name: "jitsi-jvb-password", env: "JVB_AUTH_PASSWORD" },
  { name: "grafana-admin-password", env: "GRAFANA_ADMIN_PASSWORD" },
  { name: "vm-redis-password", env: "REDIS_PASSWORD" },
  // pgBackRest's repository encryption (src/files/pgbackrest.ts): a changed value would make every existing
  // backup unreadable, so it is created once and kept at every stage like the others.
  { name: "vm-backup-cipher-pass", env: "PGBACKREST_CIPHER_PASS", length: 64 },
  // Jitsi's JWT secret (HS256, 64 characters): Prosody verifies the room tokens the app signs with it, every stage.
  { name: "jitsi-jwt-secret", env: "JITSI_JWT_APP_SECRET", length: 64 },
];

export function buildIdentity(ctx: StackContext): Identity {
  const c = ctx.config;
  // The VM exists while it serves (stages 1-2) and, stopped, while its data is migrated (vm.retained, stage 3).
  // Its identity is created before the secrets and the repository, which grant it access on each resource.
  const vmIdentity =
    c.vm.enabled || c.vm.retained
      ? new ServiceAccount("vm-identity", {
          prefix: ctx.prefix,
          project: ctx.project,
          role: "vm",
          description: "Course Organizer single VM: reads its secrets and images, writes logs and metrics",
          roles: VM_PROJECT_ROLES,
        })
      : undefined;
  const secrets = SECRET_DEFS.map((d) => ({
    env: d.env,
    secret: new Secret(d.name, {
      prefix: ctx.prefix,
      labels: ctx.labels("secrets"),
      role: d.name,
      length: d.length,
      // Alphanumeric: the values go into URLs (DATABASE_URL, REDIS_URL) and env files unquoted.
      special: false,
      accessors: vmIdentity ? [vmIdentity.email] : [],
    }),
  }));
  const registry = new ArtifactRegistry("artifact-registry", {
    ...ctx.scope("artifact-registry"),
    location: ctx.region,
    readers: vmIdentity ? [vmIdentity.member] : [],
  });
  // Docker Hub images come through the project's pull-through cache at every stage (src/images.ts says why).
  const mirror = new ImageMirror("image-mirror", {
    ...ctx.scope("image-mirror"),
    location: ctx.region,
    readers: vmIdentity ? [vmIdentity.member] : [],
  });
  const images = mirrorImages(c.images, mirror.prefix);
  const registryHosts = [...new Set([registry.host, ...registryHostsOf(Object.values(images))])];
  const secret = (env: VmSecret["env"]) => secrets.find((s) => s.env === env)!.secret;
  const outputs = {
    registryUrl: registry.url,
    imageMirror: mirror.prefix,
    // The release step of the deploy workflow publishes this image's static files (scripts/publish-static.sh).
    backendImage: images.backend,
  };
  return { vmIdentity, secrets, secret, registry, mirror, images, registryHosts, outputs };
}

/** The mirror repository machines pull from (their service accounts are granted reading it). */
export const mirrorRepository = (ctx: StackContext, id: Identity) => ({ location: ctx.region, repository: id.mirror.repository.name });
