/**
 * Reads a stack's config as the Pulumi CLI would hand it to the program: Pulumi.yaml's declared defaults, then
 * Pulumi.<stack>.yaml, then `--set` overrides, flattened to the `namespace:key` -> string map of PULUMI_CONFIG.
 */
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { NAMESPACE } from "../config/load";

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
    if (eq <= 0) throw new Error(`--set ${JSON.stringify(s)}: expected key=value`);
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

/** The raw config of a stack, read from the project folder. */
export function readStackConfig(projectDir: string, stack: string, sets: string[] = []): RawStackConfig {
  const file = join(projectDir, `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) throw new Error(`no stack file ${file} (stacks are Pulumi.<stack>.yaml in ${projectDir})`);
  const project = parse(readFileSync(join(projectDir, "Pulumi.yaml"), "utf8")) as {
    config?: Record<string, { default?: unknown }>;
  };
  const config: Record<string, string> = {};
  for (const [k, decl] of Object.entries(project.config ?? {})) {
    if (decl && typeof decl === "object" && "default" in decl && decl.default !== undefined) {
      config[qualify(k)] = toConfigString(decl.default);
    }
  }
  const stackFile = (parse(readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries(stackFile.config ?? {})) {
    if (v && typeof v === "object" && "secure" in (v as object)) {
      // Encrypted values cannot be decrypted offline; the plan sees a placeholder and marks it secret.
      config[qualify(k)] = "offline-placeholder";
      secretKeys.push(qualify(k));
      continue;
    }
    config[qualify(k)] = toConfigString(v);
  }
  return { config: applySets(config, sets), secretKeys };
}
