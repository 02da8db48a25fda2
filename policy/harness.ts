/**
 * Runs the policy pack over an offline plan (src/plan/engine) the way the Pulumi policy runtime would: inputs with
 * secrets unwrapped, resource policies per resource, stack policies over every resource with its property
 * dependencies resolved. Shared by test/policy.test.ts and policy/check-plan.ts (the pull-request check).
 */
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { SECRET_MARK, type Plan, type PlannedResource } from "../src/plan/engine";
import { policies as defaultPolicies } from "./policies";

/** Plan inputs as the policy runtime hands them over: secrets unwrapped. */
export function unwrap(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrap);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === SECRET_MARK) return unwrap(o[SECRET_MARK]);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrap(x)]));
  }
  return v;
}

const noType = () => {
  throw new Error("isType/asType are not used by these policies");
};

/**
 * Policy config of an offline run: plans carry image tags (no registry is asked), which images-pinned-by-digest
 * accepts only here; a real preview runs the pack with its defaults.
 */
export const OFFLINE_CONFIG = { offlinePlan: true };

export function resourceArgs(
  r: { type: string; name: string; urn?: string; inputs: Record<string, unknown>; protect?: boolean; parent?: string },
  config: Record<string, unknown> = OFFLINE_CONFIG,
): ResourceValidationArgs {
  return {
    type: r.type,
    props: unwrap(r.inputs) as Record<string, any>,
    urn: r.urn ?? `urn:pulumi:test::course-organizer::${r.type}::${r.name}`,
    name: r.name,
    opts: {
      protect: r.protect ?? false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
      parent: r.parent,
    },
    stackTags: new Map(),
    isType: noType as never,
    asType: noType as never,
    getConfig: (() => config) as never,
    notApplicable: ((reason?: string) => {
      throw new Error(`notApplicable: ${reason}`);
    }) as never,
  };
}

/** The stack view: resources with their property dependencies resolved to the resources they name. */
export function stackResources(resources: PlannedResource[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const out = resources.map((r) => {
    const a = resourceArgs(r);
    const pr = {
      type: a.type,
      props: a.props,
      urn: a.urn,
      name: a.name,
      opts: a.opts,
      dependencies: [],
      propertyDependencies: {},
      isType: a.isType,
      asType: a.asType,
    } as unknown as PolicyResource;
    byUrn.set(r.urn, pr);
    return pr;
  });
  resources.forEach((r, i) => {
    const pr = out[i]!;
    pr.dependencies = r.dependencies.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => !!x);
    pr.propertyDependencies = Object.fromEntries(
      Object.entries(r.propertyDependencies).map(([k, us]) => [k, us.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => !!x)]),
    );
  });
  return out;
}

/** Every violation of every policy over a plan, as "policy: type name: message" (stack policies: "policy: urn: message"). */
export async function violations(p: Plan, policies: (ResourceValidationPolicy | StackValidationPolicy)[] = defaultPolicies): Promise<string[]> {
  const out: string[] = [];
  const custom = p.resources.filter((x) => x.custom);
  for (const r of custom) {
    const args = resourceArgs(r);
    for (const pol of policies.filter((x): x is ResourceValidationPolicy => "validateResource" in x)) {
      const fns = Array.isArray(pol.validateResource) ? pol.validateResource : [pol.validateResource!];
      for (const fn of fns) await fn(args, (m) => out.push(`${pol.name}: ${r.type} ${r.name}: ${m}`));
    }
  }
  const resources = stackResources(custom);
  for (const pol of policies.filter((x): x is StackValidationPolicy => "validateStack" in x)) {
    await pol.validateStack(
      {
        resources,
        stackTags: new Map(),
        getConfig: (() => ({})) as never,
        notApplicable: (() => {
          throw new Error("n/a");
        }) as never,
      },
      (m, urn) => out.push(`${pol.name}: ${urn ?? "stack"}: ${m}`),
    );
  }
  return out;
}
