/**
 * Reads a stack's config as the Pulumi CLI would hand it to the program: Pulumi.yaml's declared defaults, then
 * Pulumi.<stack>.yaml, then `--set` overrides, flattened to the `namespace:key` -> string map of PULUMI_CONFIG.
 */
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { NAMESPACE } from "../config/load";
import { refusal } from "../config/refusal";

export const PROJECT = "course-organizer";

export interface RawStackConfig {
  config: Record<string, string>;
  secretKeys: string[];
}

function toConfigString(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

function qualify(key: string): string {
  return key.includes(":") ? key : `${NAMESPACE}:${key}`;
}

/** Set `path` (dot-separated, after the top key) inside a JSON object value. */
function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    if (cur[p] === null || typeof cur[p] !== "object" || Array.isArray(cur[p])) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

/** A `--set` value: JSON when it parses as such (numbers, booleans, objects, lists), else the plain string. */
function parseSetValue(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/**
 * Apply `key=value` overrides. A bare key is the project's namespace; `vm.machineType=n2-standard-8` sets one
 * field of the structured `course-organizer:vm` value, as `pulumi config set --path` does.
 */
export function applySets(config: Record<string, string>, sets: string[]): Record<string, string> {
  const out = { ...config };
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0)
      throw new Error(refusal({ key: "--set", value: s, problem: "is not a key=value pair", allowed: "key=value, e.g. vm.machineType=n2-standard-8" }));
    const [top, ...path] = qualify(s.slice(0, eq)).split(".");
    const value = s.slice(eq + 1);
    if (path.length === 0) {
      const parsed = parseSetValue(value);
      out[top!] = typeof parsed === "string" ? parsed : JSON.stringify(parsed);
      continue;
    }
    let obj: Record<string, unknown> = {};
    if (out[top!] !== undefined) {
      try {
        const cur = JSON.parse(out[top!]!);
        if (cur && typeof cur === "object" && !Array.isArray(cur)) obj = cur;
      } catch {
        // not structured: replaced below
      }
    }
    setPath(obj, path, parseSetValue(value));
    out[top!] = JSON.stringify(obj);
  }
  return out;
}

/** A config declaration in Pulumi.yaml (Pulumi's project schema, `configTypeDeclaration`). */
interface ConfigDeclaration {
  type?: string;
  items?: { type?: unknown; items?: unknown };
  description?: string;
  secret?: boolean;
  default?: unknown;
  value?: unknown;
}

/** The types Pulumi's project schema allows a config declaration (`simpleConfigType`): no `object`. */
export const PROJECT_CONFIG_TYPES = ["string", "integer", "boolean", "array"] as const;
const DECLARATION_FIELDS = new Set(["type", "items", "description", "secret", "default", "value"]);

/**
 * The problems the Pulumi CLI reports when it loads Pulumi.yaml: a declaration of a type its schema does not know,
 * an array without `items`, an unknown field. The CLI refuses to run anything then.
 */
export function projectConfigProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [key, decl] of Object.entries(config)) {
    if (decl === null || typeof decl !== "object" || Array.isArray(decl)) continue; // a plain value
    const d = decl as ConfigDeclaration;
    for (const f of Object.keys(d)) if (!DECLARATION_FIELDS.has(f)) problems.push(`Pulumi.yaml config.${key}: unknown field ${JSON.stringify(f)}`);
    if ("value" in d) continue;
    if (!PROJECT_CONFIG_TYPES.includes(d.type as (typeof PROJECT_CONFIG_TYPES)[number])) {
      problems.push(`Pulumi.yaml config.${key}.type: ${JSON.stringify(d.type)} is not allowed; allowed: ${PROJECT_CONFIG_TYPES.join(", ")}`);
    }
    if (d.type === "array" && !d.items) problems.push(`Pulumi.yaml config.${key}: type array needs items`);
  }
  return problems;
}

/** Whether a stack value (the PULUMI_CONFIG string) has the declared type, as the CLI checks it. */
function hasDeclaredType(value: string, type: string | undefined): boolean {
  if (type === "integer") return /^-?[0-9]+$/.test(value.trim());
  if (type === "boolean") return value === "true" || value === "false";
  if (type === "array") {
    try {
      return Array.isArray(JSON.parse(value));
    } catch {
      return false;
    }
  }
  return true;
}

/** The raw config of a stack, read from the project folder. */
export function readStackConfig(projectDir: string, stack: string, sets: string[] = []): RawStackConfig {
  const file = join(projectDir, `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) throw new Error(`no stack file ${file} (stacks are Pulumi.<stack>.yaml in ${projectDir})`);
  const project = parse(readFileSync(join(projectDir, "Pulumi.yaml"), "utf8")) as { name?: string; config?: Record<string, ConfigDeclaration> };
  const declared = project.config ?? {};
  const projectName = project.name ?? PROJECT;
  const declaredKey = (k: string) => (k.includes(":") ? k : `${projectName}:${k}`);
  const projectProblems = projectConfigProblems(declared);
  if (projectProblems.length > 0) throw new Error(`invalid project file:\n  - ${projectProblems.join("\n  - ")}`);
  const stackFile = (parse(readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const secretKeys: string[] = [];
  const fromStack: Record<string, string> = {};
  for (const [k, v] of Object.entries(stackFile.config ?? {})) {
    if (v && typeof v === "object" && "secure" in (v as object)) {
      // Encrypted values cannot be decrypted offline; the plan sees a placeholder and marks it secret.
      fromStack[qualify(k)] = "offline-placeholder";
      secretKeys.push(qualify(k));
      continue;
    }
    fromStack[qualify(k)] = toConfigString(v);
  }
  const given = applySets(fromStack, sets);
  // As the CLI merges them: a declared key the stack does not set takes its default; one without a default is
  // missing, and the CLI refuses the stack; a set value must have the declared type.
  const config: Record<string, string> = {};
  const missing: string[] = [];
  const mistyped: string[] = [];
  for (const [k, d] of Object.entries(declared)) {
    const key = declaredKey(k);
    const decl: ConfigDeclaration = d && typeof d === "object" ? d : { value: d };
    if (given[key] === undefined) {
      const fallback = "value" in decl ? decl.value : decl.default;
      if (fallback !== undefined && fallback !== null) config[key] = toConfigString(fallback);
      else if (key.startsWith(`${projectName}:`)) missing.push(k);
    } else if (!hasDeclaredType(given[key]!, decl.type)) {
      mistyped.push(`${key}: ${JSON.stringify(given[key])} is not of the declared type ${decl.type}`);
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `Stack '${stack}' is missing configuration ${missing.length > 1 ? "values" : "value"} ${missing
        .sort()
        .map((m) => `'${m}'`)
        .join(", ")} (required by Pulumi.yaml)`,
    );
  }
  if (mistyped.length > 0) throw new Error(`Stack '${stack}': ${mistyped.join("; ")}`);
  return { config: { ...config, ...given }, secretKeys };
}
