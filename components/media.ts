import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import * as random from "@pulumi/random";
import { bucketName, physicalName } from "../src/naming";
import { statefulOptions } from "../src/options";
import { Secret } from "./secret";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext } from "./context";

export interface MediaArgs extends ComponentContext {
  /** Cloud Storage location of both buckets (e.g. US-CENTRAL1, next to the machines that write them). */
  location: string;
  /** Web origins' hosts: CORS allows `https://<domain>` for each (the first is the main domain). */
  domains: string[];
  /**
   * Media objects public-read (the seed's `GS_DEFAULT_ACL = 'publicRead'`), as an IAM grant to allUsers: object
   * ACLs are refused on a uniform-access bucket. When false, media is private and reached only through Cloud CDN
   * signed URLs. @default false
   */
  publicMedia?: boolean;
  /** Media objects older than this move to Nearline (seed "Media Storage Scaling", 10TB+ row: older files on Nearline). */
  nearlineAfterDays: number;
  /** Deleted or overwritten objects stay restorable this many days (Cloud Storage soft delete; 7 to 90). */
  softDeleteDays: number;
  /** Noncurrent media versions (overwritten or deleted objects) are deleted after this many days. @default 30 */
  noncurrentDays?: number;
  /** Service accounts that read the CDN signing key to sign media URLs (secretAccessor on that secret only). */
  signingKeyAccessors?: pulumi.Input<string>[];
  /**
   * Members ("serviceAccount:..." or "user:...") that may act as the static publisher (tokenCreator on it): the
   * release job that runs scripts/publish-static.sh. @default [] (grant it where the deploying identity is defined)
   */
  staticPublisherImpersonators?: pulumi.Input<string>[];
}

/**
 * Label stating a bucket's intended exposure, so a policy check can exempt exactly the buckets that are public by
 * design (static always; media only with publicMedia) and require public access prevention on the rest.
 */
export const ACCESS_LABEL = "access";

/** Methods browsers use on media and static objects (reads only: uploads go through the app). */
export const CORS_METHODS = ["GET", "HEAD"];
/** Cloud Storage soft-delete retention is given in seconds. */
const DAY_SECONDS = 86400;

/**
 * Static files and media in Cloud Storage (seed stage 2 "Move Media to Object Storage" and "Media Storage
 * Scaling"): two buckets with uniform bucket-level access, soft delete, CORS for the site's origins, and for
 * media versioning plus lifecycle rules (older media to Nearline, noncurrent versions deleted).
 *
 * Names are `<project>-<prefix>-static` and `<project>-<prefix>-media` (src/naming.ts bucketName): deterministic
 * and never the stage, so the buckets keep their URNs and names from stage 2 to 4. Bucket names are global across
 * all of Cloud Storage, and the project id makes them this deployment's own.
 *
 * - **static** is public by design: Django's collected CSS/JS/images are what every visitor's browser downloads
 *   anyway, and a Cloud CDN backend bucket without signed URLs reads its bucket as an anonymous client, so the
 *   bucket grants roles/storage.objectViewer to allUsers (public access prevention "inherited"). The grant is
 *   read-only and per bucket; nothing private is ever written there (collectstatic only).
 * - **media** (user uploads) is private: public access prevention "enforced", read by Cloud CDN's fill service
 *   account for signed URLs (key generated here, kept in Secret Manager, registered on the media backend bucket by
 *   components/load-balancer.ts, which also lets Cloud CDN's fill account read the bucket). `publicMedia` switches to the seed's public-read behaviour explicitly.
 *
 * Both buckets are protected and retained (statefulOptions) and never force-destroyed: user media is not
 * recreatable.
 *
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`).
 */
export class Media extends pulumi.ComponentResource {
  public readonly staticBucket: gcp.storage.Bucket;
  public readonly mediaBucket: gcp.storage.Bucket;
  /** Physical bucket names (known in preview). */
  public readonly staticBucketName: string;
  public readonly mediaBucketName: string;
  /** Secret Manager id of the CDN URL-signing key (base64url, 16 bytes); the app signs media URLs with it. */
  public readonly signingKeySecretId?: pulumi.Output<string>;
  /** The key value, a Pulumi secret (for the load balancer's BackendBucketSignedUrlKey). */
  public readonly signingKeyValue?: pulumi.Output<string>;
  /** The signing key's name on the media backend bucket (the app sends it as `KeyName=` in signed URLs). */
  public readonly keyName?: string;
  /** The signing key's secret (for later accessor grants). */
  public readonly signingKey?: Secret;
  /** allUsers objectViewer grants: static always, media when publicMedia. */
  public readonly publicGrants: gcp.storage.BucketIAMMember[];
  /**
   * The release identity, the only writer of the public static bucket (objectAdmin there, nothing else). Every
   * browser loads the app's JavaScript from that bucket, so no runtime identity (VM, HTTP pool, GKE api) may write
   * it: a compromised app could otherwise plant script for every visitor. scripts/publish-static.sh uploads
   * collectstatic's output as this account (impersonated by the release job).
   */
  public readonly staticPublisher: gcp.serviceaccount.Account;
  public readonly staticPublisherGrant: gcp.storage.BucketIAMMember;

  constructor(name: string, args: MediaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:media:Media", name, {}, opts);
    validateMediaArgs(args, this);
    const publicMedia = args.publicMedia ?? false;
    this.staticBucketName = bucketName(args.project, args.prefix, "static");
    this.mediaBucketName = bucketName(args.project, args.prefix, "media");
    const cors = [
      {
        origins: args.domains.map((d) => `https://${d}`),
        methods: CORS_METHODS,
        responseHeaders: ["Content-Type", "Content-Length", "Content-Range", "Range", "ETag"],
        // Browsers cache the preflight answer for an hour.
        maxAgeSeconds: 3600,
      },
    ];
    const softDeletePolicy = { retentionDurationSeconds: args.softDeleteDays * DAY_SECONDS };

    this.staticBucket = new gcp.storage.Bucket(
      `${name}-static`,
      {
        name: this.staticBucketName,
        location: args.location,
        storageClass: "STANDARD",
        labels: { ...args.labels, [ACCESS_LABEL]: "public" },
        uniformBucketLevelAccess: true,
        // Public by design (see the class doc): "inherited" lets the allUsers grant below take effect.
        publicAccessPrevention: "inherited",
        // collectstatic rewrites every file on each release: versions would only pile up; soft delete covers a
        // mistaken deletion, and the files can always be regenerated from the image.
        versioning: { enabled: false },
        softDeletePolicy,
        cors,
        forceDestroy: false,
      },
      statefulOptions(this),
    );

    this.mediaBucket = new gcp.storage.Bucket(
      `${name}-media`,
      {
        name: this.mediaBucketName,
        location: args.location,
        storageClass: "STANDARD",
        labels: { ...args.labels, [ACCESS_LABEL]: publicMedia ? "public" : "private" },
        uniformBucketLevelAccess: true,
        publicAccessPrevention: publicMedia ? "inherited" : "enforced",
        // Overwritten uploads stay recoverable as noncurrent versions; deleted ones also sit in soft delete.
        versioning: { enabled: true },
        softDeletePolicy,
        lifecycleRules: [
          {
            // Seed "Media Storage Scaling", 10TB+ row: recent files on Standard, older files on Nearline (half
            // the storage price; reads carry a retrieval fee, fine for rarely opened old course material; data/prices.json).
            action: { type: "SetStorageClass", storageClass: "NEARLINE" },
            condition: { age: args.nearlineAfterDays, matchesStorageClasses: ["STANDARD"], withState: "LIVE" },
          },
          {
            action: { type: "Delete" },
            condition: { daysSinceNoncurrentTime: args.noncurrentDays ?? 30, withState: "ARCHIVED" },
          },
        ],
        cors,
        forceDestroy: false,
      },
      statefulOptions(this),
    );

    const objectViewer = (child: string, bucket: gcp.storage.Bucket, member: pulumi.Input<string>) =>
      new gcp.storage.BucketIAMMember(`${name}-${child}`, { bucket: bucket.name, role: "roles/storage.objectViewer", member }, { parent: this });
    this.publicGrants = [objectViewer("static-public", this.staticBucket, "allUsers")];
    if (publicMedia) this.publicGrants.push(objectViewer("media-public", this.mediaBucket, "allUsers"));

    this.staticPublisher = new gcp.serviceaccount.Account(
      `${name}-static-publisher`,
      {
        accountId: physicalName(args.prefix, "static-publisher", "serviceAccount"),
        displayName: `${args.prefix} static-publisher`,
        description: "Course Organizer release identity: the only writer of the public static-files bucket",
        // bootstrap/ creates it first (so the deployer may impersonate it for the release job): adopt it.
        createIgnoreAlreadyExists: true,
      },
      { parent: this },
    );
    // The member spelled from the account id (an input, so known in a preview: it shows exactly who may write),
    // which also makes the grant wait for the account.
    this.staticPublisherGrant = new gcp.storage.BucketIAMMember(
      `${name}-static-publisher-writer`,
      {
        bucket: this.staticBucket.name,
        role: "roles/storage.objectAdmin",
        member: pulumi.interpolate`serviceAccount:${this.staticPublisher.accountId}@${args.project}.iam.gserviceaccount.com`,
      },
      { parent: this },
    );
    (args.staticPublisherImpersonators ?? []).forEach(
      (member, i) =>
        new gcp.serviceaccount.IAMMember(
          `${name}-static-publisher-impersonator-${i}`,
          { serviceAccountId: this.staticPublisher.name, role: "roles/iam.serviceAccountTokenCreator", member },
          { parent: this },
        ),
    );

    if (!publicMedia) {
      // Cloud CDN reads the private bucket as its per-project fill service account for signed requests. That
      // account only exists once a key is on a backend bucket, so components/load-balancer.ts grants it
      // objectViewer on this bucket after registering the key.
      // 128-bit key, base64url with padding (RFC 4648 section 5), the format Cloud CDN's signed URL keys take.
      const bytes = new random.RandomBytes(`${name}-signing-key-bytes`, { length: 16 }, statefulOptions(this));
      const keyValue = bytes.base64.apply(toBase64Url);
      this.signingKey = new Secret(
        `${name}-signing-key`,
        { prefix: args.prefix, labels: args.labels, role: "cdn-signing-key", value: keyValue, accessors: args.signingKeyAccessors ?? [] },
        { parent: this },
      );
      this.signingKeySecretId = this.signingKey.secretId;
      this.signingKeyValue = this.signingKey.value;
      this.keyName = physicalName(args.prefix, "media-key");
    }

    this.registerOutputs({
      staticBucket: this.staticBucketName,
      mediaBucket: this.mediaBucketName,
      signingKeySecretId: this.signingKeySecretId,
      keyName: this.keyName,
      staticPublisher: this.staticPublisher.email,
    });
  }
}

/** Standard base64 to base64url (RFC 4648 section 5), padding kept. */
export function toBase64Url(b64: string): string {
  return b64.replace(/\+/g, "-").replace(/\//g, "_");
}

/**
 * Argument checks, one refusal line each (src/config/refusal.ts), thrown together: a `pulumi.ResourceError` on
 * `parent`, else an Error. The config refuses media.nearlineAfterDays (30-3650) and media.softDeleteDays (7-90)
 * first and always passes the site's domain; these guard other callers.
 */
export function validateMediaArgs(args: MediaArgs, parent?: pulumi.Resource): void {
  const refuse = argRefuser("Media");
  const p: string[] = [];
  if (args.domains.length === 0) p.push(refuse("domains", args.domains, "is empty", "at least the main domain (the buckets' CORS origins)"));
  // Nearline has a 30-day minimum storage duration: moving sooner only adds early-deletion charges.
  if (!(args.nearlineAfterDays >= 30))
    p.push(
      refuse(
        "nearlineAfterDays",
        args.nearlineAfterDays,
        "is under Nearline's 30-day minimum storage duration (early-deletion charges)",
        "30 days or more",
        30,
      ),
    );
  // Cloud Storage soft delete: 0 (off) or 7 to 90 days.
  if (!(args.softDeleteDays >= 7 && args.softDeleteDays <= 90))
    p.push(refuse("softDeleteDays", args.softDeleteDays, "is not a Cloud Storage soft-delete retention", "7-90 days"));
  if (p.length > 0) throw parent ? new pulumi.ResourceError(p.join("\n"), parent) : new Error(p.join("\n"));
}
