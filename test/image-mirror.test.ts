/**
 * Docker Hub images come through the project's Artifact Registry remote repository at every stage
 * (components/image-mirror.ts, src/images.ts): the repository's exact inputs, the rewriting of references, and
 * every place a machine or pod names an image, so that nothing pulls from Docker Hub through Cloud NAT's shared
 * addresses; and every puller reads the mirror before its first boot.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { dockerHubPath, isDockerHubImage, mirrorImages, throughMirror } from "../src/images";
import { file, get, ofType, plan } from "./helpers/plan";
import { presetFor } from "../src/config/presets";

const MIRROR = "us-central1-docker.pkg.dev/course-organizer-demo/co-dockerhub";
const REPO = "gcp:artifactregistry/repository:Repository";
const READER = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember";

describe("image references", () => {
  it("knows a Docker Hub image by Docker's own rule (no registry host: no dot, port or localhost in the first part)", () => {
    expect(["nginx:1.27.3-alpine", "jitsi/jvb:stable-9823", "docker.io/edoburu/pgbouncer:v1", "index.docker.io/library/redis:7"].map(isDockerHubImage)).toEqual(
      [true, true, true, true],
    );
    expect(
      [
        "quay.io/prometheuscommunity/postgres-exporter:v0.16.0",
        "gcr.io/google.com/cloudsdktool/google-cloud-cli:stable",
        "us-central1-docker.pkg.dev/p/r/backend:1",
        "localhost/x:1",
        "registry:5000/x:1",
      ].map(isDockerHubImage),
    ).toEqual([false, false, false, false, false]);
  });

  it("maps official images under library/ and keeps tags and digests", () => {
    expect(dockerHubPath("nginx:1.27.3-alpine")).toBe("library/nginx:1.27.3-alpine");
    expect(dockerHubPath("docker.io/jitsi/web:stable-9823")).toBe("jitsi/web:stable-9823");
    expect(throughMirror(`redis@sha256:${"b".repeat(64)}`, MIRROR)).toBe(`${MIRROR}/library/redis@sha256:${"b".repeat(64)}`);
    expect(throughMirror("quay.io/x/y:1", MIRROR)).toBe("quay.io/x/y:1");
  });

  it("leaves no preset image on Docker Hub", () => {
    for (const stage of [1, 2, 3, 4] as const) {
      const images = mirrorImages(
        presetFor(stage, { project: "course-organizer-demo", region: "us-central1", prefix: "co", domain: "courses.example.org" }).images,
        MIRROR,
      );
      expect(Object.values(images).filter(isDockerHubImage)).toEqual([]);
    }
  });
});

describe("the mirror in every stage's plan", () => {
  it("is a DOCKER remote repository with Docker Hub upstream, in the primary region, protected, at every stage", async () => {
    for (const stack of ["stage1", "stage2", "stage3", "stage4"]) {
      const p = await plan(stack);
      const r = get(p, REPO, "image-mirror-repo");
      expect(r.inputs).toEqual({
        project: "course-organizer-demo",
        repositoryId: "co-dockerhub",
        location: "us-central1",
        format: "DOCKER",
        mode: "REMOTE_REPOSITORY",
        description: "Docker Hub pull-through cache for Course Organizer's third-party images",
        labels: { app: "course-organizer", component: "image-mirror", stage: stack.slice(-1), "managed-by": "pulumi" },
        remoteRepositoryConfig: { description: "Docker Hub", dockerRepository: { publicRepository: "DOCKER_HUB" } },
      });
      expect(r.protect).toBe(true);
      // The URN carries no stage-dependent name: a stage move keeps it.
      expect(r.urn).toBe(
        `urn:pulumi:${stack}::course-organizer::course-organizer:registry:ImageMirror$gcp:artifactregistry/repository:Repository::image-mirror-repo`,
      );
    }
  });

  it("stage 1: the VM reads it before its first boot and pulls every Docker Hub image of its compose file through it", async () => {
    const p = await plan("stage1", { withFiles: true });
    const grant = get(p, READER, "image-mirror-reader-0");
    expect(grant.inputs).toMatchObject({
      location: "us-central1",
      repository: "co-dockerhub",
      role: "roles/artifactregistry.reader",
      member: "serviceAccount:co-vm-sa@course-organizer-demo.iam.gserviceaccount.com",
    });
    expect(get(p, "gcp:compute/instance:Instance", "vm-vm").dependencies).toContain(grant.urn);
    // A service with a `build` section is built on the VM from a mirrored base (PostgreSQL with pgBackRest), not pulled.
    const services = parse(file(p, "vm", "docker-compose.yml")).services as Record<string, { image: string; build?: unknown }>;
    const images = Object.values(services)
      .filter((s) => s.build === undefined)
      .map((s) => s.image);
    expect(images.filter(isDockerHubImage)).toEqual([]);
    expect(images.filter((i) => i.startsWith(`${MIRROR}/`)).length).toBeGreaterThanOrEqual(10);
    expect((services.postgres!.build as { args: { BASE_IMAGE: string } }).args.BASE_IMAGE).toBe(`${MIRROR}/library/postgres:15.10-alpine`);
  });

  it("stage 3: pools, bridges and the signaling VM each read it, log in before compose pulls, and name no Docker Hub image", async () => {
    const p = await plan("stage3", { withFiles: true });
    const readers = ofType(p, READER).filter((g) => g.inputs.repository === "co-dockerhub");
    expect(readers.map((g) => g.name).sort()).toEqual(
      [
        "http-pool-mirror-reader",
        "image-mirror-reader-0",
        "jitsi-signaling-mirror-reader",
        "video-bridges-us-central1-pool-mirror-reader",
        "ws-pool-mirror-reader",
      ].sort(),
    );
    for (const role of ["jitsi-signaling", "video-bridges-us-central1"]) {
      const compose = parse(file(p, role, "docker-compose.yml")).services as Record<string, { image: string }>;
      expect(
        Object.values(compose)
          .map((s) => s.image)
          .filter(isDockerHubImage),
      ).toEqual([]);
      expect(file(p, role, "bin/registry-login.sh")).toContain(`HOSTS=('us-central1-docker.pkg.dev')`);
      expect(file(p, role, "systemd/co-jitsi.service")).toContain("ExecStartPre=/opt/jitsi/bin/registry-login.sh\n");
    }
    const composeFiles = p.files!.filter((x) => /docker-compose\.yml$/.test(x.path));
    // The retained (stopped) VM keeps its compose file at stage 3, beside the signaling VM and the bridges.
    expect(composeFiles.map((f) => f.role)).toEqual(["vm", "jitsi-signaling", "video-bridges-us-central1"]);
    for (const f of composeFiles) {
      const services = parse(f.content).services as Record<string, { image: string; build?: unknown }>;
      for (const s of Object.values(services).filter((x) => x.build === undefined))
        expect(isDockerHubImage(s.image), `${f.role}/${f.path}: ${s.image}`).toBe(false);
    }
  });

  it("stage 4: every pod image in both regions comes from Artifact Registry or Google's registries", async () => {
    for (const preview of [false, true]) {
      const p = await plan("stage4", { preview });
      const images = ofType(p, "kubernetes:apps/v1:Deployment").flatMap((d) => {
        const spec = (d.inputs as any).spec.template.spec;
        return [...(spec.initContainers ?? []), ...spec.containers].map((c: { image: string }) => c.image);
      });
      expect(images.length).toBeGreaterThan(0);
      expect(images.filter(isDockerHubImage)).toEqual([]);
      expect(images).toContain(`${MIRROR}/edoburu/pgbouncer:v1.24.1-p1`);
    }
  });
});
