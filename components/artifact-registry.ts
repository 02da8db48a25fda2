import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { statefulOptions } from "../src/options";
import type { ComponentContext } from "./context";

export interface ArtifactRegistryArgs extends ComponentContext {
  /** Region of the repository (the primary region: pulls stay in-region and free of egress). */
  location: string;
  /** Members (`serviceAccount:...`) granted roles/artifactregistry.reader on this repository only. @default [] */
  readers?: pulumi.Input<string>[];
  /** Members granted roles/artifactregistry.writer (the deploy pipeline). @default [] */
  writers?: pulumi.Input<string>[];
  /** Versions per package kept whatever their age (the rollback window). @default 10 */
  keepRecentVersions?: number;
  /** Untagged versions (superseded pushes) older than this are deleted. @default 30 */
  deleteUntaggedAfterDays?: number;
}

/**
 * The Docker repository for the backend image. Images are referenced from config (`images.backend`, a tag or a
 * digest), so a deployment never depends on a moving tag. Cleanup policies keep storage bounded: untagged
 * versions go after `deleteUntaggedAfterDays`, but the `keepRecentVersions` newest of each package always stay
 * (Artifact Registry applies KEEP before DELETE), so a rollback target is never cleaned away.
 * Protected and retained: deleting the repository deletes every image a running machine may still pull.
 */
export class ArtifactRegistry extends pulumi.ComponentResource {
  public readonly repository: gcp.artifactregistry.Repository;
  /** `<location>-docker.pkg.dev/<project>/<repository>`: the prefix of image references. */
  public readonly url: pulumi.Output<string>;
  /** The registry host docker logs in to (`<location>-docker.pkg.dev`). */
  public readonly host: string;
  /** The reader grants, for machines that pull at boot (`dependsOn`). */
  public readonly readerGrants: gcp.artifactregistry.RepositoryIamMember[];

  constructor(name: string, args: ArtifactRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:registry:ArtifactRegistry", name, {}, opts);
    const keep = args.keepRecentVersions ?? 10;
    const untaggedDays = args.deleteUntaggedAfterDays ?? 30;
    this.host = `${args.location}-docker.pkg.dev`;
    this.repository = new gcp.artifactregistry.Repository(
      `${name}-repo`,
      {
        project: args.project,
        repositoryId: physicalName(args.prefix, "images", "artifactRepository"),
        location: args.location,
        format: "DOCKER",
        mode: "STANDARD_REPOSITORY",
        description: "Course Organizer container images",
        labels: args.labels,
        // Tags are moved only by a new push of a new version; a pushed version is never overwritten.
        dockerConfig: { immutableTags: true },
        cleanupPolicyDryRun: false,
        cleanupPolicies: [
          { id: "keep-recent", action: "KEEP", mostRecentVersions: { keepCount: keep } },
          { id: "delete-untagged", action: "DELETE", condition: { tagState: "UNTAGGED", olderThan: `${untaggedDays * 86400}s` } },
        ],
      },
      statefulOptions(this),
    );
    this.url = pulumi.interpolate`${this.host}/${args.project}/${this.repository.repositoryId}`;

    const grant = (role: string, kind: string, members: pulumi.Input<string>[]) =>
      members.map((member, i) => {
        return new gcp.artifactregistry.RepositoryIamMember(
          `${name}-${kind}-${i}`,
          { project: args.project, location: args.location, repository: this.repository.name, role, member },
          { parent: this },
        );
      });
    this.readerGrants = grant("roles/artifactregistry.reader", "reader", args.readers ?? []);
    grant("roles/artifactregistry.writer", "writer", args.writers ?? []);

    this.registerOutputs({ url: this.url });
  }
}
