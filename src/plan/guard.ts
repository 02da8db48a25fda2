/**
 * The stage-move guard: nothing stored may be lost when a deployment moves to another config. Over a --from
 * diff it refuses
 *  - the replacement of a stateful resource (a replaced Cloud SQL instance, bucket or disk starts empty),
 *  - the deletion of a stateful resource that is not retained (retainOnDelete keeps it in GCP),
 *  - a stateful resource whose URN changes while its physical name stays (a rename without an alias: Pulumi
 *    would create a second one and drop the first),
 * and reports retained deletions (they stay in GCP and leave the stack) and protected ones (`pulumi up` refuses
 * to delete them until they are unprotected: the runbooks say when).
 */
import { statefulTypes } from "../options";
import type { PlanDiff } from "./diff";
import type { Plan, PlannedResource } from "./engine";

export interface GuardFinding {
  level: "error" | "note";
  urn: string;
  type: string;
  name: string;
  message: string;
}

export interface GuardResult {
  ok: boolean;
  findings: GuardFinding[];
}

/** The name GCP knows a resource by (what collides when two URNs claim it). */
export function physicalId(r: Pick<PlannedResource, "type" | "inputs" | "name">): string | undefined {
  const i = r.inputs as Record<string, unknown>;
  const id = i.name ?? i.secretId ?? i.accountId ?? i.repositoryId ?? i.instanceId ?? i.clusterId ?? i.dnsName;
  if (typeof id !== "string" || id === "[unknown]") return undefined;
  const where = [i.region, i.zone, i.location, i.instance, i.managedZone].filter((x) => typeof x === "string").join("/");
  return `${r.type}|${where}|${id}`;
}

export function isStateful(type: string): boolean {
  return statefulTypes.has(type);
}

/** A resource whose data GCP keeps when Pulumi deletes or replaces it: a Secret Manager version disabled or abandoned on delete. */
function keepsDataInGcp(r: PlannedResource): boolean {
  return r.type === "gcp:secretmanager/secretVersion:SecretVersion" && (r.inputs.deletionPolicy === "DISABLE" || r.inputs.deletionPolicy === "ABANDON");
}

export function guardDiff(diff: PlanDiff, from: Plan, to: Plan): GuardResult {
  const findings: GuardFinding[] = [];
  const fromByUrn = new Map(from.resources.map((r) => [r.urn, r]));
  const created = new Map<string, PlannedResource>();
  for (const r of diff.creates) {
    const id = physicalId(r);
    if (id) created.set(id, r);
  }
  for (const c of diff.replaces) {
    const old = fromByUrn.get(c.urn);
    if (old?.protect) {
      findings.push({
        level: "error",
        urn: c.urn,
        type: c.type,
        name: c.name,
        message: `${c.type} ${c.name} would be REPLACED (forced by ${c.replacePaths.join(", ")}), but it is protected: \`pulumi up\` refuses to replace it${isStateful(c.type) ? ", and the new one would start empty" : ""}. Keep ${c.replacePaths.join(", ")} unchanged.`,
      });
      continue;
    }
    if (!isStateful(c.type)) continue;
    if (old && keepsDataInGcp(old)) {
      findings.push({
        level: "note",
        urn: c.urn,
        type: c.type,
        name: c.name,
        message: `${c.type} ${c.name} is replaced (forced by ${c.replacePaths.join(", ")}); the old one stays in GCP (deletionPolicy ${String(old.inputs.deletionPolicy)}).`,
      });
      continue;
    }
    findings.push({
      level: "error",
      urn: c.urn,
      type: c.type,
      name: c.name,
      message: `${c.type} ${c.name} would be REPLACED (forced by ${c.replacePaths.join(", ")}): the new one starts empty. Keep ${c.replacePaths.join(", ")} unchanged, or migrate the data to a new resource first.`,
    });
  }
  for (const d of diff.deletes) {
    if (!isStateful(d.type)) continue;
    const old = fromByUrn.get(d.urn);
    const id = old ? physicalId(old) : undefined;
    const twin = id ? created.get(id) : undefined;
    if (twin) {
      findings.push({
        level: "error",
        urn: d.urn,
        type: d.type,
        name: d.name,
        message: `${d.type} ${d.name} changes its URN to ${twin.urn} while keeping its GCP name: a rename without an alias would drop the existing one and create a second. Add aliases: [{ urn: "${d.urn}" }] to the new resource, or keep the old name.`,
      });
      continue;
    }
    if (!d.retained && old && keepsDataInGcp(old)) {
      findings.push({
        level: "note",
        urn: d.urn,
        type: d.type,
        name: d.name,
        message: `${d.type} ${d.name} leaves the stack; GCP keeps it (deletionPolicy ${String(old.inputs.deletionPolicy)}).`,
      });
      continue;
    }
    if (!d.retained) {
      findings.push({
        level: "error",
        urn: d.urn,
        type: d.type,
        name: d.name,
        message: `${d.type} ${d.name} would be DELETED with its data: it is not retained. Keep it in the program, or give it retainOnDelete (statefulOptions) before the move.`,
      });
      continue;
    }
    findings.push({
      level: "note",
      urn: d.urn,
      type: d.type,
      name: d.name,
      message: `${d.type} ${d.name} leaves the stack but stays in GCP (retainOnDelete)${d.protect ? "; it is protected: `pulumi state unprotect '" + d.urn + "'` first, as the runbook says" : ""}.`,
    });
  }
  for (const r of diff.creates) {
    if (!isStateful(r.type) || !r.custom || r.importId) continue;
    findings.push({
      level: "note",
      urn: r.urn,
      type: r.type,
      name: r.name,
      message: `${r.type} ${r.name} is created; if an earlier move retained it in GCP, import it instead of creating a second one (pulumi import, see docs/runbooks).`,
    });
  }
  void to;
  return { ok: !findings.some((f) => f.level === "error"), findings };
}

export function formatGuard(g: GuardResult): string {
  const lines = ["", g.ok ? "Stage-move guard: nothing stored is lost." : "Stage-move guard: REFUSED, data would be lost:"];
  for (const f of g.findings.filter((x) => x.level === "error")) lines.push(`  ERROR  ${f.message}`);
  for (const f of g.findings.filter((x) => x.level === "note")) lines.push(`  note   ${f.message}`);
  return lines.join("\n");
}
