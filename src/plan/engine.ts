/**
 * The offline plan: runs the real program (src/program.ts) for a stack under the Pulumi SDK's mock engine,
 * with a monitor that records every registration as the engine would see it: URN, type, name, parent, inputs,
 * dependencies and options. Each run gets its own runtime store, so several plans can run in one process.
 */
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as settings from "@pulumi/pulumi/runtime/settings";
import * as stateModule from "@pulumi/pulumi/runtime/state";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { PlanMocks } from "./mocks";
import { PROJECT, readStackConfig } from "./stackfile";
import type { RenderedFile } from "../render/registry";

export interface PlannedResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent?: string;
  provider?: string;
  /** Inputs as sent to the engine; secrets as { "[secret]": value }, unknowns as "[unknown]". */
  inputs: Record<string, unknown>;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  protect: boolean;
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  aliases: string[];
  ignoreChanges: string[];
  replaceOnChanges: string[];
  additionalSecretOutputs: string[];
  customTimeouts?: { create?: string; update?: string; delete?: string };
  /** `import` option: the engine adopts this GCP id instead of creating the resource. */
  importId?: string;
}

export interface Plan {
  stack: string;
  stage: number | undefined;
  preview: boolean;
  resources: PlannedResource[];
  outputs: Record<string, unknown>;
  /** Files machines receive, resolved (only when requested). */
  files?: { role: string; path: string; content: string }[];
}

export const SECRET_MARK = "[secret]";
export const UNKNOWN_MARK = "[unknown]";

/** Plain JSON from deserialized RPC values: secrets wrapped, unknowns marked, resource refs as URNs. */
function plain(v: unknown): unknown {
  if (v === rpc.unknownValue) return UNKNOWN_MARK;
  if (v && typeof v === "object" && (v as Record<string, unknown>).__pulumiUnknown === true) return UNKNOWN_MARK;
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    const sig = o[rpc.specialSigKey];
    if (sig === rpc.specialSecretSig) return { [SECRET_MARK]: plain(o.value) };
    if (sig === rpc.specialResourceSig) return o.urn;
    if (sig === rpc.specialArchiveSig || sig === rpc.specialAssetSig) return "[asset]";
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(o)) if (val !== undefined) out[k] = plain(val);
    return out;
  }
  return v;
}

/** The runtime's store functions are internal (not in its .d.ts); these are the ones used here. */
const state = stateModule as unknown as {
  withLocalStorage<T>(fn: () => Promise<T>): Promise<T>;
  getStore(): Record<string, unknown>;
};

/** MockMonitor declares newUrn private; this view of it lets the subclass override it. */
const MockMonitorBase = MockMonitor as unknown as new (mocks: pulumi.runtime.Mocks) => {
  registerResource(req: any, callback: (err: any, resp: any) => void): Promise<void>;
};

class RecordingMonitor extends MockMonitorBase {
  public readonly records: PlannedResource[] = [];
  /** What the real engine would refuse; the plan fails with these. */
  public readonly failures: string[] = [];

  /** Real URNs leave the root Stack out of the type chain. */
  newUrn(parent: string, type: string, name: string): string {
    if (parent && !parent.includes("::pulumi:pulumi:Stack::")) {
      const qualifiedType = parent.split("::")[2]!;
      type = `${qualifiedType}$${type}`;
    }
    return `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${type}::${name}`;
  }

  async registerResource(req: any, callback: (err: any, resp: any) => void): Promise<void> {
    const type: string = req.getType();
    const name: string = req.getName();
    const parent: string = req.getParent();
    const urn = this.newUrn(parent, type, name);
    const propDeps: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((v: any, k: string) => {
      const urns: string[] = v.getUrnsList();
      if (urns.length > 0) propDeps[k] = urns;
    });
    const aliases: string[] = (req.getAliasesList?.() ?? []).map((a: any) => {
      if (a.getUrn && a.getUrn()) return a.getUrn();
      const s = a.getSpec();
      return `spec(name=${s.getName() || "-"}, type=${s.getType() || "-"}, parent=${s.getNoparent() ? "none" : s.getParenturn() || "-"})`;
    });
    const timeouts = req.getCustomtimeouts?.();
    if (this.records.some((r) => r.urn === urn)) {
      // The engine refuses a second resource with the same URN (same type, name and parent type chain): the plan
      // fails with its message once the program has run (answering with an error here would leave the SDK's
      // output promises rejected with no one to catch them).
      this.failures.push(`Duplicate resource URN '${urn}'; try giving it a unique name`);
    }
    if (type !== "pulumi:pulumi:Stack") {
      this.records.push({
        urn,
        type,
        name,
        custom: req.getCustom(),
        parent: parent && !parent.includes("::pulumi:pulumi:Stack::") ? parent : undefined,
        provider: req.getProvider() || undefined,
        inputs: plain(rpc.deserializeProperties(req.getObject(), true)) as Record<string, unknown>,
        dependencies: req.getDependenciesList(),
        propertyDependencies: propDeps,
        protect: Boolean(req.getProtect()),
        retainOnDelete: Boolean(req.getRetainondelete()),
        deleteBeforeReplace: Boolean(req.getDeletebeforereplace()),
        aliases: [...aliases, ...(req.getAliasurnsList?.() ?? [])],
        ignoreChanges: req.getIgnorechangesList(),
        replaceOnChanges: req.getReplaceonchangesList(),
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        importId: req.getImportid?.() || undefined,
        customTimeouts:
          timeouts && (timeouts.getCreate() || timeouts.getUpdate() || timeouts.getDelete())
            ? { create: timeouts.getCreate() || undefined, update: timeouts.getUpdate() || undefined, delete: timeouts.getDelete() || undefined }
            : undefined,
      });
    }
    await super.registerResource(req, callback);
  }

  /** The stack's outputs as the engine receives them: per key, so one unknown in preview leaves the rest known. */
  public stackOutputs: Record<string, unknown> | undefined;

  registerResourceOutputs(req: any, callback: (err: any, resp: any) => void): void {
    if (String(req.getUrn()).includes("::pulumi:pulumi:Stack::")) {
      this.stackOutputs = plain(rpc.deserializeProperties(req.getOutputs(), true)) as Record<string, unknown>;
    }
    (MockMonitor.prototype as unknown as { registerResourceOutputs(req: any, cb: (err: any, resp: any) => void): void }).registerResourceOutputs.call(
      this,
      req,
      callback,
    );
  }
}

export interface PlanOptions {
  /** Stack name: reads Pulumi.<stack>.yaml from projectDir. */
  stack: string;
  /** Read the config from this stack's file instead (same stack name and URNs): how `--from` plans the old config. */
  configStack?: string;
  /** `key=value` overrides of the stack's config. */
  sets?: string[];
  /** Preview mode: computed outputs are unknown, as in `pulumi preview`. */
  preview?: boolean;
  /** The project folder (where Pulumi.yaml is). */
  projectDir?: string;
  /** Resolve the files machines receive. */
  withFiles?: boolean;
  /** Another program to run instead of src/program.ts (e.g. bootstrap/, with projectDir its folder). */
  program?: { project: string; main: () => Promise<unknown> };
}

/** Run the program for a stack under the mock engine and return what it registered. */
export async function planStack(opts: PlanOptions): Promise<Plan> {
  const projectDir = opts.projectDir ?? process.cwd();
  const preview = opts.preview ?? false;
  const raw = readStackConfig(projectDir, opts.configStack ?? opts.stack, opts.sets ?? []);
  const project = raw.config["gcp:project"] ?? "unknown-project";

  // The runtime reads PULUMI_CONFIG when a store is created: set it, then run in a fresh store.
  const saved = { c: process.env.PULUMI_CONFIG, s: process.env.PULUMI_CONFIG_SECRET_KEYS };
  process.env.PULUMI_CONFIG = JSON.stringify(raw.config);
  process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(raw.secretKeys);
  try {
    return await state.withLocalStorage(async () => {
      const monitor = new RecordingMonitor(new PlanMocks(project, preview));
      settings.setMockOptions(monitor as unknown as MockMonitor, opts.program?.project ?? PROJECT, opts.stack, preview);
      const store = state.getStore();
      Object.assign(store, {
        supportsSecrets: true,
        supportsResourceReferences: true,
        supportsOutputValues: false,
        supportsDeletedWith: true,
        supportsAliasSpecs: true,
        supportsTransforms: false,
      });
      // The files machines receive, as the program's components expose them.
      let rendered: RenderedFile[] = [];
      const main =
        opts.program?.main ??
        (async () => {
          // Import inside the run so a config error surfaces from the program itself, as with `pulumi up`.
          const built = await (await import("../program")).run();
          rendered = built.files;
          return built.outputs;
        });
      const outputs = (await pulumi.runtime.runInPulumiStack(main)) as Record<string, unknown> | undefined;
      await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
      if (monitor.failures.length > 0) throw new Error(monitor.failures.join("\n"));
      // In preview the stack's whole output object is unknown when any one value is; the engine (and this plan)
      // keeps the known keys, as `pulumi preview` shows them.
      const stackOutputs = monitor.stackOutputs ?? (plain(outputs ?? {}) as Record<string, unknown>) ?? {};
      const plan: Plan = {
        stack: opts.stack,
        stage: typeof stackOutputs.stage === "number" ? stackOutputs.stage : undefined,
        preview,
        resources: monitor.records,
        outputs: stackOutputs,
      };
      if (opts.withFiles) plan.files = await resolveFiles(rendered);
      return plan;
    });
  } finally {
    if (saved.c === undefined) delete process.env.PULUMI_CONFIG;
    else process.env.PULUMI_CONFIG = saved.c;
    if (saved.s === undefined) delete process.env.PULUMI_CONFIG_SECRET_KEYS;
    else process.env.PULUMI_CONFIG_SECRET_KEYS = saved.s;
  }
}

async function resolveFiles(files: RenderedFile[]): Promise<{ role: string; path: string; content: string }[]> {
  const out: { role: string; path: string; content: string }[] = [];
  for (const f of files) {
    // Output.promise() is internal but exact: it resolves to the value, or undefined when unknown.
    const content = (await (pulumi.output(f.content) as unknown as { promise(): Promise<string | undefined> }).promise()) ?? "[unknown]";
    out.push({ role: f.role, path: f.path, content });
  }
  return out;
}
