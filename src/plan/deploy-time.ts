/**
 * Estimated duration of a first `pulumi up`: the critical path through the plan's dependency graph, each
 * resource taking its typical creation time (data/creation-times.json, with sources). Pulumi creates resources
 * as soon as their dependencies exist, so the longest chain decides the wall-clock time.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Plan, PlannedResource } from "./engine";

interface Times {
  version: string;
  source: string;
  defaultSeconds: number;
  componentSeconds: number;
  types: Record<string, { seconds: number; replicaSeconds?: number; note: string }>;
}

let timesCache: Times | undefined;
export function creationTimes(): Times {
  timesCache ??= JSON.parse(readFileSync(join(__dirname, "../../data/creation-times.json"), "utf8")) as Times;
  return timesCache;
}

export function secondsFor(r: PlannedResource): number {
  const t = creationTimes();
  if (!r.custom) return t.componentSeconds;
  const entry = t.types[r.type] ?? (r.type.startsWith("kubernetes:") ? t.types["kubernetes:*"] : undefined);
  if (!entry) return t.defaultSeconds;
  if (entry.replicaSeconds && (r.inputs as Record<string, unknown>).masterInstanceName) return entry.replicaSeconds;
  return entry.seconds;
}

export interface DeployTime {
  totalSeconds: number;
  criticalPath: { urn: string; type: string; name: string; seconds: number; finishesAt: number }[];
}

/**
 * Dependencies as the engine orders them: a resource waits for the resources it depends on; a dependency on a
 * component means all of that component's descendants.
 */
export function deployTime(plan: Plan): DeployTime {
  const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
  const children = new Map<string, string[]>();
  for (const r of plan.resources) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r.urn]);
  const expand = (urn: string, seen = new Set<string>()): string[] => {
    const r = byUrn.get(urn);
    if (!r || seen.has(urn)) return [];
    seen.add(urn);
    if (r.custom) return [urn];
    return (children.get(urn) ?? []).flatMap((c) => expand(c, seen));
  };
  const finish = new Map<string, number>();
  const via = new Map<string, string | undefined>();
  const visiting = new Set<string>();
  const finishOf = (urn: string): number => {
    const known = finish.get(urn);
    if (known !== undefined) return known;
    if (visiting.has(urn)) throw new Error(`dependency cycle at ${urn}`);
    visiting.add(urn);
    const r = byUrn.get(urn)!;
    let start = 0;
    let from: string | undefined;
    for (const d of new Set(r.dependencies.flatMap((u) => expand(u)))) {
      if (d === urn) continue;
      const f = finishOf(d);
      if (f > start) {
        start = f;
        from = d;
      }
    }
    visiting.delete(urn);
    const end = start + secondsFor(r);
    finish.set(urn, end);
    via.set(urn, from);
    return end;
  };
  let last: string | undefined;
  let total = 0;
  for (const r of plan.resources) {
    if (!r.custom) continue;
    const f = finishOf(r.urn);
    if (f > total) {
      total = f;
      last = r.urn;
    }
  }
  const path: DeployTime["criticalPath"] = [];
  for (let u = last; u; u = via.get(u)) {
    const r = byUrn.get(u)!;
    path.unshift({ urn: u, type: r.type, name: r.name, seconds: secondsFor(r), finishesAt: finish.get(u)! });
  }
  return { totalSeconds: total, criticalPath: path };
}

export function formatDeployTime(d: DeployTime): string {
  const mmss = (s: number) => `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  const lines = ["", `Estimated first \`pulumi up\`: ${mmss(d.totalSeconds)} along the critical path (typical creation times, data/creation-times.json):`];
  for (const step of d.criticalPath) lines.push(`    ${mmss(step.finishesAt).padStart(8)}  +${String(step.seconds).padStart(4)}s  ${step.type}  ${step.name}`);
  return lines.join("\n");
}
