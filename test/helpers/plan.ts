/**
 * Test helpers over the offline plan: plan a stack (cached per stack, sets and mode), and look resources up by
 * type and name with a clear failure when they are missing.
 */
import { join } from "node:path";
import { planStack, type Plan, type PlannedResource } from "../../src/plan/engine";

export const projectDir = join(__dirname, "../..");

const cache = new Map<string, Promise<Plan>>();

/** Plan a stack of this project (update mode unless preview), cached per arguments within one test file. */
export function plan(stack: string, opts: { sets?: string[]; preview?: boolean; withFiles?: boolean; configStack?: string } = {}): Promise<Plan> {
  const key = JSON.stringify([stack, opts]);
  if (!cache.has(key)) cache.set(key, planStack({ stack, projectDir, ...opts }));
  return cache.get(key)!;
}

/** All resources of a type. */
export function ofType(p: Plan, type: string): PlannedResource[] {
  return p.resources.filter((r) => r.type === type);
}

/** The one resource of this type and logical name; throws listing what exists otherwise. */
export function get(p: Plan, type: string, name: string): PlannedResource {
  const r = p.resources.find((x) => x.type === type && x.name === name);
  if (!r) {
    const names = ofType(p, type).map((x) => x.name);
    throw new Error(`no ${type} named ${name} in the plan of ${p.stack}; there are: ${names.join(", ") || "none"}`);
  }
  return r;
}

/** The rendered file of a role and path (plan with withFiles: true). */
export function file(p: Plan, role: string, path: string): string {
  const f = p.files?.find((x) => x.role === role && x.path === path);
  if (!f) throw new Error(`no rendered file ${role}/${path} in ${p.stack}; there are: ${(p.files ?? []).map((x) => `${x.role}/${x.path}`).join(", ")}`);
  return f.content;
}
