/**
 * Text views of a plan: a tree like `pulumi preview` (indented by parent, secrets hidden), a count per type and a
 * total; and the `--from` diff.
 */
import type { Plan, PlannedResource } from "./engine";
import { SECRET_MARK } from "./engine";
import type { PlanDiff } from "./diff";

/** Inputs with secret values replaced by "[secret]". */
export function redact(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redact);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (SECRET_MARK in o && Object.keys(o).length === 1) return SECRET_MARK;
    return Object.fromEntries(Object.entries(o).map(([k, val]) => [k, redact(val)]));
  }
  return v;
}

function flags(r: PlannedResource): string {
  const f: string[] = [];
  if (r.protect) f.push("protected");
  if (r.retainOnDelete) f.push("retained on delete");
  if (r.deleteBeforeReplace) f.push("delete-before-replace");
  if (r.aliases.length) f.push(`aliases: ${r.aliases.length}`);
  if (r.ignoreChanges.length) f.push(`ignoreChanges: ${r.ignoreChanges.join(",")}`);
  return f.length ? `  [${f.join("; ")}]` : "";
}

export function formatTree(plan: Plan, opts: { inputs?: boolean } = {}): string {
  const children = new Map<string | undefined, PlannedResource[]>();
  for (const r of plan.resources) {
    const key = r.parent;
    if (!children.has(key)) children.set(key, []);
    children.get(key)!.push(r);
  }
  const lines: string[] = [];
  lines.push(`Plan of stack ${plan.stack} (stage ${plan.stage ?? "?"})${plan.preview ? ", preview mode" : ""}: offline, under the Pulumi SDK's mock engine`);
  lines.push("");
  lines.push(`     Type${" ".repeat(56)}Name`);
  lines.push(` +   pulumi:pulumi:Stack${" ".repeat(41)}course-organizer-${plan.stack}`);
  const walk = (parent: string | undefined, depth: number) => {
    for (const r of children.get(parent) ?? []) {
      const indent = "    ".repeat(depth);
      const label = `${indent}${r.type}`;
      lines.push(` +   ${label.padEnd(60)}${r.name}${flags(r)}`);
      if (opts.inputs && r.custom) {
        for (const line of JSON.stringify(redact(r.inputs), null, 2).split("\n")) lines.push(`       ${indent}    ${line}`);
      }
      walk(r.urn, depth + 1);
    }
  };
  walk(undefined, 1);
  const counts = new Map<string, number>();
  for (const r of plan.resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  lines.push("");
  lines.push("Resources by type:");
  for (const [t, n] of [...counts.entries()].sort((a, b) => a[0].localeCompare(b[0]))) lines.push(`    ${String(n).padStart(4)}  ${t}`);
  lines.push(`    ${String(plan.resources.length + 1).padStart(4)}  to create in total (the stack included)`);
  lines.push("");
  lines.push("Outputs:");
  for (const [k, v] of Object.entries(redact(plan.outputs) as Record<string, unknown>)) lines.push(`    ${k}: ${JSON.stringify(v)}`);
  return lines.join("\n");
}

export function formatDiff(d: PlanDiff): string {
  const lines: string[] = [];
  lines.push(`Moving a deployment from the config of ${d.from} to the config of ${d.to}:`);
  for (const r of d.creates) lines.push(r.importId ? ` =   import   ${r.type}  ${r.name}  (adopts ${r.importId})` : ` +   create   ${r.type}  ${r.name}`);
  for (const c of d.updates) {
    lines.push(` ~   update   ${c.type}  ${c.name}  (${[...c.paths, ...c.options].join(", ")})`);
  }
  for (const c of d.replaces) {
    lines.push(` +-  REPLACE  ${c.type}  ${c.name}  (forced by ${c.replacePaths.join(", ")}; all changes: ${c.paths.join(", ")})`);
  }
  for (const r of d.deletes) {
    const how = r.retained ? "retained in GCP (retainOnDelete), dropped from the stack" : "DELETED";
    lines.push(` -   delete   ${r.type}  ${r.name}  [${how}${r.protect ? "; protected: unprotect first" : ""}]`);
  }
  lines.push("");
  lines.push(
    `${d.creates.length} to create, ${d.updates.length} to update, ${d.replaces.length} to replace, ${d.deletes.length} to delete (${d.deletes.filter((x) => x.retained).length} retained), ${d.same} unchanged`,
  );
  return lines.join("\n");
}
