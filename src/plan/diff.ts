/**
 * What changes when a deployment planned with one config is moved to another: creates, updates (with the input
 * paths that change), replacements and deletes, matched by URN (and aliases) as the Pulumi engine matches them.
 * Whether a change forces replacement comes from Google's own resource definitions
 * (data/gcp-api-facts.json, the `immutable` fields per type).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Plan, PlannedResource } from "./engine";

interface TypeFacts {
  enums: Record<string, string[]>;
  immutable: string[];
  resourceImmutable?: boolean;
}

let factsCache: Record<string, TypeFacts> | undefined;
export function gcpFacts(): Record<string, TypeFacts> {
  factsCache ??= (JSON.parse(readFileSync(join(__dirname, "../../data/gcp-api-facts.json"), "utf8")) as { types: Record<string, TypeFacts> }).types;
  return factsCache;
}

/**
 * Fields that can change in place on a resource Google defines as immutable as a whole ("resourceImmutable":
 * only fields with their own update call can change): labels through setLabels, a network's routing mode
 * through networks.patch, a disk's size through resize (growth only) and its snapshot schedule through
 * addResourcePolicies. Anything else on those types replaces.
 */
const updatableOnImmutable: Record<string, string[]> = {
  "*": ["labels"],
  "gcp:compute/network:Network": ["routingMode", "routingConfig", "mtu", "networkFirewallPolicyEnforcementOrder"],
  "gcp:compute/disk:Disk": ["size", "resourcePolicies", "provisionedIops", "provisionedThroughput"],
  // Handwritten in the provider (resource_compute_instance.go): besides its `immutable` list (boot disk, network
  // interfaces, zone, name ...), it updates these in place, stopping the VM first where GCP needs it
  // (machine type, service account, shielded config, with allowStoppingForUpdate).
  "gcp:compute/instance:Instance": [
    "machineType",
    "metadata",
    "tags",
    "desiredStatus",
    "deletionProtection",
    "allowStoppingForUpdate",
    "description",
    "serviceAccount",
    "shieldedInstanceConfig",
    "scheduling",
    "attachedDisks",
    "resourcePolicies",
    "minCpuPlatform",
    "enableDisplay",
  ],
};

export interface Change {
  urn: string;
  type: string;
  name: string;
  /** Input paths that differ (dot paths, list items as [i]). */
  paths: string[];
  /** Paths that force replacement. */
  replacePaths: string[];
  /** Option changes, e.g. "protect: false -> true". */
  options: string[];
}

export interface Delete {
  urn: string;
  type: string;
  name: string;
  retained: boolean;
  protect: boolean;
}

export interface PlanDiff {
  from: string;
  to: string;
  creates: PlannedResource[];
  updates: Change[];
  replaces: Change[];
  deletes: Delete[];
  same: number;
}

function changedPaths(a: unknown, b: unknown, prefix = ""): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (v: unknown) => v !== null && typeof v === "object";
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.flatMap((v, i) => changedPaths(v, b[i], `${prefix}[${i}]`));
  }
  if (isObj(a) && isObj(b) && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    return [...keys].flatMap((k) => changedPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
  }
  return [prefix || "(all)"];
}

/**
 * A field path compared loosely with the definitions' names: list markers and indexes dropped, snake_case and
 * camelCase alike, singular and plural alike (Pulumi pluralizes list blocks: backend -> backends).
 */
export function normPath(path: string): string {
  return path
    .split(/\.|\[\]|\[\d+\]/)
    .filter(Boolean)
    .map((s) => s.replace(/_/g, "").toLowerCase().replace(/s$/, "").replace(/e$/, ""))
    .join(".");
}

/**
 * Where the Pulumi input differs from the definition's field path (the provider flattens a block), per type:
 * definition path -> Pulumi input path.
 */
const pulumiFieldOf: Record<string, Record<string, string>> = {
  "gcp:secretmanager/secretVersion:SecretVersion": { "payload.secretData": "secretData" },
};

function matchesImmutable(path: string, immutable: string): boolean {
  const p = normPath(path).split(".");
  const f = normPath(immutable).split(".");
  return f.length <= p.length && f.every((seg, i) => seg === p[i]);
}

/** The changed paths that force replacement of a resource of this type. */
export function replacingPaths(type: string, paths: string[], before?: PlannedResource, after?: PlannedResource): string[] {
  const facts = gcpFacts()[type];
  if (!facts) return [];
  return paths.filter((path) => {
    if (facts.immutable.some((f) => matchesImmutable(path, pulumiFieldOf[type]?.[f] ?? f))) return true;
    if (facts.resourceImmutable) {
      const top = path.split(/[.[]/)[0]!;
      const ok = [...updatableOnImmutable["*"]!, ...(updatableOnImmutable[type] ?? [])];
      if (!ok.includes(top)) return true;
      // A disk can grow, never shrink.
      if (type === "gcp:compute/disk:Disk" && top === "size" && before && after) {
        return Number(after.inputs.size) < Number(before.inputs.size);
      }
    }
    return false;
  });
}

export function diffPlans(from: Plan, to: Plan, fromName: string): PlanDiff {
  const before = new Map(from.resources.map((r) => [r.urn, r]));
  const matched = new Set<string>();
  const diff: PlanDiff = { from: fromName, to: to.stack, creates: [], updates: [], replaces: [], deletes: [], same: 0 };
  for (const r of to.resources) {
    const old = before.get(r.urn) ?? r.aliases.map((a) => before.get(a)).find((x) => x !== undefined);
    if (!old) {
      diff.creates.push(r);
      continue;
    }
    matched.add(old.urn);
    const paths = changedPaths(old.inputs, r.inputs);
    const options: string[] = [];
    for (const opt of ["protect", "retainOnDelete", "deleteBeforeReplace"] as const) {
      if (old[opt] !== r[opt]) options.push(`${opt}: ${old[opt]} -> ${r[opt]}`);
    }
    if (old.type !== r.type) {
      diff.replaces.push({ urn: r.urn, type: r.type, name: r.name, paths: ["(type)"], replacePaths: ["(type)"], options });
      continue;
    }
    if (paths.length === 0 && options.length === 0) {
      diff.same++;
      continue;
    }
    const replacePaths = r.custom ? replacingPaths(r.type, paths, old, r) : [];
    const change = { urn: r.urn, type: r.type, name: r.name, paths, replacePaths, options };
    (replacePaths.length > 0 ? diff.replaces : diff.updates).push(change);
  }
  for (const old of from.resources) {
    if (!matched.has(old.urn)) {
      diff.deletes.push({ urn: old.urn, type: old.type, name: old.name, retained: old.retainOnDelete, protect: old.protect });
    }
  }
  return diff;
}
