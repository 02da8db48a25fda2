import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { statefulOptions } from "../src/options";
import type { ComponentContext } from "./context";

export interface ImageMirrorArgs extends ComponentContext {
  /** Region of the repository (the primary region, as the images repository). */
  location: string;
  /** Members (`serviceAccount:...`) granted roles/artifactregistry.reader on this repository only. @default [] */
  readers?: pulumi.Input<string>[];
}

/**
 * A pull-through cache of Docker Hub (Artifact Registry remote repository, upstream DOCKER_HUB): machines and pods
 * pull `<region>-docker.pkg.dev/<project>/<prefix>-dockerhub/<namespace>/<image>:<tag>` (src/images.ts
 * throughMirror), so a scale-out behind Cloud NAT's shared addresses never meets Docker Hub's per-address pull
 * limit, and a tag once pulled keeps serving during a Docker Hub outage. It holds only copies of public images,
 * but is protected like every repository (src/options.ts statefulTypes): deleting it would break every pull until
 * the references change.
 *
 * Cost: the storage of the cached layers (a few GB), and no egress within the region.
 */
export class ImageMirror extends pulumi.ComponentResource {
  public readonly repository: gcp.artifactregistry.Repository;
  /** `<location>-docker.pkg.dev/<project>/<repository>`, known from the arguments: image references are plain text. */
  public readonly prefix: string;
  /** The registry host docker logs in to. */
  public readonly host: string;
  public readonly repositoryId: string;
  /** Reader grants, for machines that pull at boot (`dependsOn`). */
  public readonly readerGrants: gcp.artifactregistry.RepositoryIamMember[];

  constructor(name: string, args: ImageMirrorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:registry:ImageMirror", name, {}, opts);
    this.host = `${args.location}-docker.pkg.dev`;
    this.repositoryId = physicalName(args.prefix, "dockerhub", "artifactRepository");
    this.prefix = `${this.host}/${args.project}/${this.repositoryId}`;
    this.repository = new gcp.artifactregistry.Repository(
      `${name}-repo`,
      {
        project: args.project,
        repositoryId: this.repositoryId,
        location: args.location,
        format: "DOCKER",
        mode: "REMOTE_REPOSITORY",
        description: "Docker Hub pull-through cache for Course Organizer's third-party images",
        labels: args.labels,
        remoteRepositoryConfig: {
          description: "Docker Hub",
          dockerRepository: { publicRepository: "DOCKER_HUB" },
        },
      },
      statefulOptions(this),
    );
    this.readerGrants = (args.readers ?? []).map(
      (member, i) =>
        new gcp.artifactregistry.RepositoryIamMember(
          `${name}-reader-${i}`,
          { project: args.project, location: args.location, repository: this.repository.name, role: "roles/artifactregistry.reader", member },
          { parent: this },
        ),
    );
    this.registerOutputs({ prefix: this.prefix });
  }
}
