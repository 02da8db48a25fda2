/**
 * Static files and media in Cloud Storage (stage 2 on): exact bucket inputs (uniform access, public access
 * prevention, soft delete, versioning, the Nearline and noncurrent lifecycle rules, CORS, labels), protection,
 * the public-read grant of the static bucket only, and the Cloud CDN signing key for private media (random
 * bytes in Secret Manager, the CDN fill account reading the media bucket). publicMedia switches to the seed's
 * public-read media explicitly.
 */
import { describe, expect, it } from "vitest";
import { get, ofType, plan } from "./helpers/plan";
import { SECRET_MARK, UNKNOWN_MARK, type PlannedResource } from "../src/plan/engine";
import { PROJECT_NUMBER } from "../src/plan/mocks";
import { toBase64Url, validateMediaArgs, type MediaArgs } from "../components/media";

const T = {
  bucket: "gcp:storage/bucket:Bucket",
  bucketIam: "gcp:storage/bucketIAMMember:BucketIAMMember",
  bytes: "random:index/randomBytes:RandomBytes",
  secret: "gcp:secretmanager/secret:Secret",
  secretVersion: "gcp:secretmanager/secretVersion:SecretVersion",
  secretIam: "gcp:secretmanager/secretIamMember:SecretIamMember",
  signedKey: "gcp:compute/backendBucketSignedUrlKey:BackendBucketSignedUrlKey",
  backendBucket: "gcp:compute/backendBucket:BackendBucket",
};
const MEDIA_URN = "urn:pulumi:stage2::course-organizer::course-organizer:media:Media::media";
const labels = (stage: number) => ({ app: "course-organizer", component: "media", stage: String(stage), "managed-by": "pulumi" });
const cors = (origins: string[]) => [
  {
    origins,
    methods: ["GET", "HEAD"],
    responseHeaders: ["Content-Type", "Content-Length", "Content-Range", "Range", "ETag"],
    maxAgeSeconds: 3600,
  },
];
const VM_EMAIL = "co-vm-sa@course-organizer-demo.iam.gserviceaccount.com";

function stateful(r: PlannedResource): void {
  expect({ name: r.name, protect: r.protect, retainOnDelete: r.retainOnDelete }).toEqual({ name: r.name, protect: true, retainOnDelete: true });
}

describe("media buckets at stage 2", () => {
  it("creates the static bucket: uniform access, public by design, soft delete, CORS for the site, no force-destroy", async () => {
    const p = await plan("stage2");
    const b = get(p, T.bucket, "media-static");
    expect(b.parent).toBe(MEDIA_URN);
    stateful(b);
    expect(b.inputs).toEqual({
      name: "course-organizer-demo-co-static",
      location: "US-CENTRAL1",
      storageClass: "STANDARD",
      labels: { ...labels(2), access: "public" },
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "inherited",
      versioning: { enabled: false },
      softDeletePolicy: { retentionDurationSeconds: 7 * 86400 },
      cors: cors(["https://courses.example.org"]),
      forceDestroy: false,
    });
  });

  it("creates the media bucket: private (enforced), versioned, Nearline after 365 days, noncurrent deleted after 30", async () => {
    const p = await plan("stage2");
    const b = get(p, T.bucket, "media-media");
    expect(b.parent).toBe(MEDIA_URN);
    stateful(b);
    expect(b.inputs).toEqual({
      name: "course-organizer-demo-co-media",
      location: "US-CENTRAL1",
      storageClass: "STANDARD",
      labels: { ...labels(2), access: "private" },
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      versioning: { enabled: true },
      softDeletePolicy: { retentionDurationSeconds: 604800 },
      lifecycleRules: [
        { action: { type: "SetStorageClass", storageClass: "NEARLINE" }, condition: { age: 365, matchesStorageClasses: ["STANDARD"], withState: "LIVE" } },
        { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: 30, withState: "ARCHIVED" } },
      ],
      cors: cors(["https://courses.example.org"]),
      forceDestroy: false,
    });
  });

  it("grants allUsers read on static only, and Cloud CDN's fill account read on private media once the key exists", async () => {
    const p = await plan("stage2");
    const grants = ofType(p, T.bucketIam).filter((r) => r.name.startsWith("media-") || r.name.startsWith("lb-"));
    expect(grants.map((g) => [g.name, g.inputs]).sort()).toEqual(
      [
        [
          "lb-media-cdn-reader",
          {
            bucket: "course-organizer-demo-co-media",
            role: "roles/storage.objectViewer",
            member: `serviceAccount:service-${PROJECT_NUMBER}@cloud-cdn-fill.iam.gserviceaccount.com`,
          },
        ],
        ["media-static-public", { bucket: "course-organizer-demo-co-static", role: "roles/storage.objectViewer", member: "allUsers" }],
        // The release identity, the static bucket's only writer.
        [
          "media-static-publisher-writer",
          {
            bucket: "course-organizer-demo-co-static",
            role: "roles/storage.objectAdmin",
            member: "serviceAccount:co-static-publisher@course-organizer-demo.iam.gserviceaccount.com",
          },
        ],
      ].sort(),
    );
    expect(get(p, "gcp:serviceaccount/account:Account", "media-static-publisher").inputs).toEqual({
      accountId: "co-static-publisher",
      displayName: "co static-publisher",
      description: "Course Organizer release identity: the only writer of the public static-files bucket",
      // bootstrap/ creates it (the deployer's tokenCreator on it); the program adopts it.
      createIgnoreAlreadyExists: true,
    });
    expect(p.outputs.staticPublisher).toBe("co-static-publisher@course-organizer-demo.iam.gserviceaccount.com");
    // Nobody else may write it: every grant on the static bucket is the public read or the publisher's.
    expect(
      ofType(p, T.bucketIam)
        .filter((g) => g.inputs.bucket === "course-organizer-demo-co-static")
        .map((g) => g.name)
        .sort(),
    ).toEqual(["media-static-public", "media-static-publisher-writer"]);
    // Google creates the fill account with the project's first signed-URL key: the grant comes after the key.
    expect(get(p, T.bucketIam, "lb-media-cdn-reader").dependencies).toContain(get(p, T.signedKey, "lb-media-key").urn);
    // The bucket exists before either grant (its name is the bucket's output).
    expect(get(p, T.bucketIam, "lb-media-cdn-reader").dependencies).toContain(get(p, T.bucket, "media-media").urn);
  });

  it("generates a 16-byte base64url signing key, keeps it in Secret Manager for the VM and registers it on the media backend bucket", async () => {
    const p = await plan("stage2");
    const bytes = get(p, T.bytes, "media-signing-key-bytes");
    stateful(bytes);
    expect(bytes.inputs).toEqual({ length: 16 });
    const secret = get(p, T.secret, "media-signing-key-secret");
    stateful(secret);
    expect(secret.inputs.secretId).toBe("co-cdn-signing-key");
    const data = get(p, T.secretVersion, "media-signing-key-version").inputs.secretData as Record<string, string>;
    expect(Object.keys(data)).toEqual([SECRET_MARK]);
    const key = data[SECRET_MARK]!;
    // RFC 4648 section 5 with padding: 22 characters of the url-safe alphabet and "==", 16 bytes decoded.
    expect(key).toMatch(/^[A-Za-z0-9_-]{22}==$/);
    expect(Buffer.from(key, "base64url")).toHaveLength(16);
    const accessors = ofType(p, T.secretIam).filter((r) => r.name.startsWith("media-signing-key-accessor"));
    expect(accessors.map((a) => a.inputs.member)).toEqual([`serviceAccount:${VM_EMAIL}`]);
    const signed = get(p, T.signedKey, "lb-media-key");
    expect(signed.inputs).toEqual({ name: "co-media-key", backendBucket: "co-media-cdn", keyValue: { [SECRET_MARK]: key } });
    expect(p.outputs.cdnSigningKeyName).toBe("co-media-key");
    expect(p.outputs.cdnSigningKeySecret).toBe("co-cdn-signing-key");
    expect(p.outputs.staticBucket).toBe("course-organizer-demo-co-static");
    expect(p.outputs.mediaBucket).toBe("course-organizer-demo-co-media");
  });

  it("plans in preview with the same bucket inputs (names and rules are known before creation)", async () => {
    const [up, pre] = await Promise.all([plan("stage2"), plan("stage2", { preview: true })]);
    for (const name of ["media-static", "media-media"]) expect(get(pre, T.bucket, name).inputs).toEqual(get(up, T.bucket, name).inputs);
    // The project number comes from an invoke, answered in preview too.
    expect(get(pre, T.bucketIam, "lb-media-cdn-reader").inputs.member).toBe(`serviceAccount:service-${PROJECT_NUMBER}@cloud-cdn-fill.iam.gserviceaccount.com`);
    expect(JSON.stringify(get(pre, T.bucket, "media-media").inputs)).not.toContain(UNKNOWN_MARK);
  });

  it("allows every configured domain as a CORS origin", async () => {
    const p = await plan("stage2", { sets: ['loadBalancer.extraDomains=["www.courses.example.org"]'] });
    expect(get(p, T.bucket, "media-media").inputs.cors).toEqual(cors(["https://courses.example.org", "https://www.courses.example.org"]));
    expect(get(p, T.bucket, "media-static").inputs.cors).toEqual(cors(["https://courses.example.org", "https://www.courses.example.org"]));
  });
});

describe("publicMedia: the seed's public-read media, explicitly", () => {
  it("lets allUsers read media, drops the signing key and the CDN reader", async () => {
    const p = await plan("stage2", { sets: ["media.publicMedia=true"] });
    expect(get(p, T.bucket, "media-media").inputs.publicAccessPrevention).toBe("inherited");
    expect((get(p, T.bucket, "media-media").inputs.labels as Record<string, string>).access).toBe("public");
    expect(get(p, T.bucketIam, "media-media-public").inputs).toEqual({
      bucket: "course-organizer-demo-co-media",
      role: "roles/storage.objectViewer",
      member: "allUsers",
    });
    expect(ofType(p, T.bucketIam).map((r) => r.name)).not.toContain("lb-media-cdn-reader");
    expect(ofType(p, T.bytes).map((r) => r.name)).not.toContain("media-signing-key-bytes");
    expect(ofType(p, T.signedKey)).toEqual([]);
    expect((get(p, T.backendBucket, "lb-media-bucket").inputs.cdnPolicy as Record<string, unknown>).signedUrlCacheMaxAgeSec).toBeUndefined();
  });
});

describe("stages without media", () => {
  it("stage 1 has no media buckets (only the database backups' bucket)", async () => {
    const p = await plan("stage1");
    expect(ofType(p, T.bucket).map((b) => b.name)).toEqual(["vm-backups-bucket"]);
    expect(p.resources.filter((r) => r.name.startsWith("media"))).toEqual([]);
  });
});

describe("stage moves keep the buckets", () => {
  it.each(["stage3", "stage4"])("%s keeps the buckets' names, rules and protection (labels aside)", async (stack) => {
    const [two, later] = await Promise.all([plan("stage2"), plan(stack)]);
    for (const name of ["media-static", "media-media"]) {
      const a = get(two, T.bucket, name);
      const b = get(later, T.bucket, name);
      expect(b.urn.split("::").slice(2)).toEqual(a.urn.split("::").slice(2));
      stateful(b);
      const { labels: _a, ...ia } = a.inputs;
      const { labels: _b, ...ib } = b.inputs;
      expect(ib).toEqual(ia);
    }
  });
});

describe("argument checks", () => {
  const ok: MediaArgs = {
    prefix: "co",
    project: "course-organizer-demo",
    labels: {},
    location: "US",
    domains: ["a.example.org"],
    nearlineAfterDays: 365,
    softDeleteDays: 7,
  };
  it("accepts the presets' values and names the bad field otherwise", () => {
    expect(() => validateMediaArgs(ok)).not.toThrow();
    expect(() => validateMediaArgs({ ...ok, domains: [] })).toThrow(
      "Media args.domains: [] is empty; allowed: at least the main domain (the buckets' CORS origins)",
    );
    expect(() => validateMediaArgs({ ...ok, nearlineAfterDays: 10 })).toThrow(
      "Media args.nearlineAfterDays: 10 is under Nearline's 30-day minimum storage duration (early-deletion charges); allowed: 30 days or more; did you mean 30?",
    );
    expect(() => validateMediaArgs({ ...ok, softDeleteDays: 3 })).toThrow(
      "Media args.softDeleteDays: 3 is not a Cloud Storage soft-delete retention; allowed: 7-90 days",
    );
  });
  it("turns standard base64 into base64url, keeping the padding", () => {
    expect(toBase64Url("+/+/ab==")).toBe("-_-_ab==");
    expect(toBase64Url(Buffer.from([0xfb, 0xff, 0xbf]).toString("base64"))).toBe("-_-_");
  });
});
