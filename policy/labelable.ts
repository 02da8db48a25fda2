/**
 * Which GCP resource types carry labels, and in which input: read from the provider's own type definitions
 * (node_modules/@pulumi/gcp/<module>/<resource>.d.ts, the `<Resource>Args` interface) so that the required-labels
 * policy covers every labelable type a component may add, not a hand-kept list.
 *
 * `npx tsx policy/labelable.ts` rewrites policy/labelable-types.json; test/policy.test.ts fails when the file is
 * stale against the installed provider.
 */
import { readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";

/** Where a type's labels live when its Args has no top-level `labels` that means GCP labels. */
const OVERRIDES: Record<string, string> = {
  // Cloud SQL puts its labels inside settings.
  "gcp:sql/databaseInstance:DatabaseInstance": "settings.userLabels",
};

/** Top-level Args fields that hold GCP resource labels, by preference: `userLabels` wins because on monitoring
 * types (NotificationChannel) `labels` is the channel's configuration (e.g. email_address), not labels. */
const FIELDS = ["userLabels", "labels", "resourceLabels"];

/** `{ "gcp:module/resource:Resource": "labels" | "userLabels" | "resourceLabels" | "settings.userLabels" }`. */
export function labelableTypes(gcpDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const mod of readdirSync(gcpDir, { withFileTypes: true })) {
    if (!mod.isDirectory() || mod.name === "types" || mod.name === "config") continue;
    const dir = join(gcpDir, mod.name);
    for (const f of readdirSync(dir)) {
      if (!f.endsWith(".js")) continue;
      const js = readFileSync(join(dir, f), "utf8");
      const m = /static __pulumiType = '([^']+)'/.exec(js);
      if (!m) continue;
      const type = m[1]!;
      const dts = join(dir, f.replace(/\.js$/, ".d.ts"));
      if (!existsSync(dts)) continue;
      const cls = type.split(":").pop()!;
      const text = readFileSync(dts, "utf8");
      const start = text.indexOf(`export interface ${cls}Args {`);
      if (start < 0) continue;
      const body = text.slice(start, text.indexOf("\n}", start));
      // Top-level members are indented by exactly four spaces in the generated declarations; labels are a
      // string map (MetricDescriptor's `labels`, a list of label descriptors, is not labels).
      const fields = new Set([...body.matchAll(/^ {4}(\w+)\??: pulumi\.Input<\{\s*\[key: string\]/gm)].map((x) => x[1]!));
      const field = OVERRIDES[type] ?? FIELDS.find((x) => fields.has(x));
      if (field) out[type] = field;
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

export const GCP_DIR = join(__dirname, "../node_modules/@pulumi/gcp");
export const LABELABLE_FILE = join(__dirname, "labelable-types.json");

if (require.main === module) {
  const types = labelableTypes(GCP_DIR);
  writeFileSync(LABELABLE_FILE, JSON.stringify(types, null, 1) + "\n");
  process.stdout.write(`${Object.keys(types).length} labelable types -> ${LABELABLE_FILE}\n`);
}
