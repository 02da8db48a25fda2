/**
 * Turns a stack's raw config (the `namespace:key` -> string map Pulumi hands the program) into one validated
 * Config: the stage preset, overridden by the stack's values, checked by the schema and by the rules that
 * span several keys. Every problem is reported at once, one line each, naming the full key, the bad value and
 * what is allowed. Nothing here touches Pulumi's engine, so a bad config fails before any resource exists.
 */
import { z } from "zod";
import { configKeys, configSchema, type Config, type Stage } from "./schema";
import { presetFor } from "./presets";
import { capacityProblems } from "./capacity";
import { ConfigError, NAMESPACE, nearestName, refusal } from "./refusal";
import { REGIONS, gcsLocations, machineTypeNames, zonesOf } from "./catalog";
import { catalogProblems, configRules } from "./rules";

export { ConfigError, NAMESPACE } from "./refusal";
export { DB_CONNECTION_SHARE, pgbouncerServerCap } from "./rules/needs";
export { cidrBounds } from "./rules/network";

/** gcp:* keys the program reads; other gcp:* keys belong to the provider and pass through. */
const gcpKeys = { project: "gcp:project", region: "gcp:region" } as const;
const scalarKeys = new Set(["stage", "prefix", "domain", "meetDomain"]);

/** The full stack-file key of a path in the Config object. */
export function keyOf(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path;
  if (head === "project" || head === "region") return gcpKeys[head];
  let key = `${NAMESPACE}:${String(head)}`;
  for (const p of rest) key += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
  return key;
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function allowedText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return `a ${issue.expected}`;
    case "invalid_value":
      return issue.values.map((v) => JSON.stringify(v)).join(", ");
    case "too_small":
      return issue.origin === "array" || issue.origin === "string"
        ? `at least ${String(issue.minimum)} ${issue.origin === "array" ? "items" : "characters"}`
        : `a number >= ${String(issue.minimum)}`;
    case "too_big":
      return issue.origin === "array" || issue.origin === "string"
        ? `at most ${String(issue.maximum)} ${issue.origin === "array" ? "items" : "characters"}`
        : `a number <= ${String(issue.maximum)}`;
    case "invalid_format":
      return issue.message.startsWith("Invalid") ? issue.format : issue.message;
    default:
      return issue.message;
  }
}

/** Valid names a refused string at this path may have been meant as (typos in regions, zones, machine types...). */
function candidatesFor(path: readonly PropertyKey[], merged: unknown): readonly string[] {
  const dotted = path.filter((p) => typeof p === "string").join(".");
  if (dotted === "region" || dotted === "secondaryRegions") return REGIONS;
  if (dotted === "vm.zone") return zonesOf(String(valueAt(merged, ["region"])));
  if (/machineType$|MachineType$/.test(dotted)) return machineTypeNames();
  if (dotted === "media.location") return gcsLocations();
  return [];
}

function nearestFor(issue: z.core.$ZodIssue, value: unknown, merged: unknown): unknown {
  if (typeof value === "string") {
    if (issue.code === "invalid_value")
      return nearestName(
        value,
        issue.values.filter((v): v is string => typeof v === "string"),
      );
    return nearestName(value, candidatesFor(issue.path, merged));
  }
  if (typeof value === "number" && Number.isFinite(value)) {
    if (issue.code === "too_small" && issue.origin === "number") return issue.inclusive === false ? undefined : Number(issue.minimum);
    if (issue.code === "too_big" && issue.origin === "number") return issue.inclusive === false ? undefined : Number(issue.maximum);
    if (issue.code === "invalid_type" && issue.expected === "int") return Math.round(value);
  }
  return undefined;
}

function formatIssues(error: z.ZodError, merged: unknown): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      const parent = valueAt(merged, issue.path) as Record<string, unknown>;
      const allowed = Object.keys(parent ?? {}).filter((k) => !issue.keys.includes(k));
      for (const k of issue.keys) {
        lines.push(
          refusal({
            key: keyOf([...issue.path, k]),
            value: parent?.[k],
            problem: "is set on an unknown key",
            allowed: `the keys ${allowed.join(", ")}`,
            nearest: nearestName(k, allowed),
          }),
        );
      }
      continue;
    }
    if (issue.code === "invalid_key") {
      // A record's key (labels): the key itself is the refused value.
      const inner = issue.issues[0];
      lines.push(
        refusal({
          key: keyOf(issue.path),
          value: issue.path[issue.path.length - 1],
          problem: "is not allowed as a key",
          allowed: inner ? allowedText(inner as z.core.$ZodIssue) : issue.message,
        }),
      );
      continue;
    }
    const value = valueAt(merged, issue.path);
    lines.push(refusal({ key: keyOf(issue.path), value, allowed: allowedText(issue), nearest: nearestFor(issue, value, merged) }));
  }
  return lines;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Deep merge: objects merge key by key, everything else (arrays included) replaces. */
export function deepMerge<T>(base: T, override: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(override)) return (override === undefined ? base : override) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) {
    out[k] = k in out ? deepMerge(out[k], v) : v;
  }
  return out as T;
}

/** Parse one stack-file value: scalars stay strings, objects and arrays arrive as JSON text. */
function parseValue(key: string, raw: string, problems: string[]): unknown {
  const name = key.slice(NAMESPACE.length + 1);
  if (name === "stage") {
    const n = Number(raw);
    return Number.isFinite(n) && raw.trim() !== "" ? n : raw;
  }
  if (scalarKeys.has(name)) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    problems.push(
      refusal({ key, value: raw, problem: "is not a structured value", allowed: `an object or list (use 'pulumi config set --path ${key}.<field> <value>')` }),
    );
    return undefined;
  }
}

/**
 * Validate a raw config map (`namespace:key` -> string, as in PULUMI_CONFIG).
 * Throws ConfigError with every problem found.
 */
export function parseConfig(raw: Record<string, string>): Config {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const colon = key.indexOf(":");
    const ns = key.slice(0, colon);
    const name = key.slice(colon + 1);
    if (ns !== NAMESPACE) continue;
    if (!configKeys.includes(name)) {
      problems.push(
        refusal({
          key,
          value,
          problem: "is set on an unknown key",
          allowed: `the keys ${configKeys.map((k2) => `${NAMESPACE}:${k2}`).join(", ")}`,
          nearest: nearestName(name, configKeys),
        }),
      );
      continue;
    }
    const parsed = parseValue(key, value, problems);
    if (parsed !== undefined) values[name] = parsed;
  }

  const stage = values.stage;
  if (stage === undefined) {
    problems.push(
      refusal({ key: `${NAMESPACE}:stage`, value: undefined, problem: "is required", allowed: "1, 2, 3, 4 (pulumi config set course-organizer:stage 1)" }),
    );
  } else if (![1, 2, 3, 4].includes(stage as number)) {
    problems.push(
      refusal({
        key: `${NAMESPACE}:stage`,
        value: stage,
        allowed: "1, 2, 3, 4",
        nearest: typeof stage === "number" && Number.isFinite(stage) ? Math.min(4, Math.max(1, Math.round(stage))) : undefined,
      }),
    );
  }
  const project = raw[gcpKeys.project];
  const region = raw[gcpKeys.region];
  if (project === undefined)
    problems.push(refusal({ key: "gcp:project", value: undefined, problem: "is required", allowed: "a GCP project id (pulumi config set gcp:project <id>)" }));
  if (region === undefined)
    problems.push(refusal({ key: "gcp:region", value: undefined, problem: "is required", allowed: "a GCP region such as us-central1" }));
  if (values.domain === undefined)
    problems.push(refusal({ key: `${NAMESPACE}:domain`, value: undefined, problem: "is required", allowed: "the site's domain, e.g. courses.example.org" }));
  if (problems.length > 0) throw new ConfigError(problems);

  // The preset derives names (image paths, bucket locations) from these: check them first, so that one bad
  // prefix is one message rather than one per derived value.
  const naming = configSchema.pick({ project: true, region: true, prefix: true, domain: true }).safeParse({
    project,
    region,
    prefix: values.prefix ?? "co",
    domain: values.domain,
  });
  if (!naming.success) throw new ConfigError(formatIssues(naming.error, { project, region, prefix: values.prefix, domain: values.domain }));

  const base = {
    project: project!,
    region: region!,
    prefix: typeof values.prefix === "string" ? values.prefix : "co",
    domain: String(values.domain),
  };
  const preset = presetFor(stage as Stage, base);
  const { stage: _s, ...overrides } = values;
  const merged = { stage, ...deepMerge(preset, overrides) };

  const result = configSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(formatIssues(result.error, merged));
  // Capacity reads machine sizes and tiers: with one of them refused, its figures would only repeat that refusal.
  const cross = [...configRules(result.data), ...(catalogProblems(result.data).length === 0 ? capacityProblems(result.data) : [])];
  if (cross.length > 0) throw new ConfigError(cross);
  return result.data;
}
