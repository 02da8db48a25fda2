/**
 * Every labelable GCP resource of every stage carries app, component, stage and managed-by. Which types take
 * labels is read from the provider's own type definitions (a `labels` or `resourceLabels` input; Cloud SQL's
 * `settings.userLabels`), so a new resource type is covered without a list to maintain.
 */
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { plan, projectDir } from "./helpers/plan";
import type { PlannedResource } from "../src/plan/engine";

const cache = new Map<string, string | undefined>();
/** The input that holds labels for a GCP type, or undefined when the type takes none. */
export function labelField(type: string): string | undefined {
  if (cache.has(type)) return cache.get(type);
  let field: string | undefined;
  const m = /^gcp:([a-zA-Z0-9]+)\/([a-zA-Z0-9]+):([A-Za-z0-9]+)$/.exec(type);
  if (type === "gcp:sql/databaseInstance:DatabaseInstance") field = "settings.userLabels";
  // A notification channel's `labels` configure its type (email_address, url); its labels are `userLabels`.
  else if (type === "gcp:monitoring/notificationChannel:NotificationChannel") field = "userLabels";
  else if (m) {
    const file = join(projectDir, "node_modules/@pulumi/gcp", m[1]!, `${m[2]}.d.ts`);
    if (existsSync(file)) {
      const text = readFileSync(file, "utf8");
      const start = text.indexOf(`export interface ${m[3]}Args {`);
      const body = start >= 0 ? text.slice(start, text.indexOf("\n}", start)) : "";
      // Labels are a string map (MetricDescriptor's `labels` is a list of label descriptors, not labels).
      if (/\n {4}labels\?: pulumi\.Input<\{/.test(body)) field = "labels";
      else if (/\n {4}resourceLabels\?: pulumi\.Input<\{/.test(body)) field = "resourceLabels";
    }
  }
  cache.set(type, field);
  return field;
}

function labelsOf(r: PlannedResource, field: string): Record<string, unknown> | undefined {
  let cur: unknown = r.inputs;
  for (const k of field.split(".")) cur = cur && typeof cur === "object" ? (cur as Record<string, unknown>)[k] : undefined;
  return cur as Record<string, unknown> | undefined;
}

describe("labels", () => {
  it("are detected from the provider's types", () => {
    expect(labelField("gcp:compute/instance:Instance")).toBe("labels");
    expect(labelField("gcp:container/cluster:Cluster")).toBe("resourceLabels");
    expect(labelField("gcp:compute/firewall:Firewall")).toBeUndefined();
  });

  it.each([1, 2, 3, 4])("stage %i: every labelable resource has app, component, stage, managed-by", async (n) => {
    const p = await plan(`stage${n}`);
    const missing: string[] = [];
    let checked = 0;
    for (const r of p.resources) {
      if (!r.custom || !r.type.startsWith("gcp:")) continue;
      const field = labelField(r.type);
      if (!field) continue;
      checked++;
      const l = labelsOf(r, field);
      const ok = l && l.app === "course-organizer" && typeof l.component === "string" && l.stage === String(n) && l["managed-by"] === "pulumi";
      if (!ok) missing.push(`${r.type} ${r.name}: ${JSON.stringify(l)}`);
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(0);
  });
});
