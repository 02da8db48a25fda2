/**
 * `pulumi preview`/`up` load the program through Pulumi's Node.js runtime: ts-node (the project's own, with
 * type checking) registered with the options of @pulumi/pulumi/cmd/run, then `require(main)` and a call of the
 * exported function. This test repeats that registration in a fresh Node process, loads src/index.ts the same
 * way and runs the loaded program under the mock engine.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { projectDir } from "./helpers/plan";

const loader = `
const path = require("path");
const tsutils = require("@pulumi/pulumi/tsutils");
const semver = require("semver");
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
const ts = require(typescriptRequire);
const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
const useNodeNext = semver.gte(ts.version, "4.7.0");
require(tsnodeRequire).register({
  compiler: typescriptRequire,
  transpileOnly: compilerOptions.noCheck,
  project: "tsconfig.json",
  skipProject: false,
  compilerOptions: {
    target: "ES2020",
    module: useNodeNext ? "nodenext" : "commonjs",
    moduleResolution: useNodeNext ? "nodenext" : "node",
    sourceMap: "true",
    ...compilerOptions,
  },
});
const main = require(path.resolve("src/index.ts"));
if (typeof main !== "function") throw new Error("src/index.ts must export the program function, got " + typeof main);
const { planStack } = require(path.resolve("src/plan/engine.ts"));
planStack({ stack: process.argv[1], preview: process.argv[2] === "preview" }).then((p) => {
  process.stdout.write(JSON.stringify({ typescript: ts.version, resources: p.resources.length, stage: p.outputs.stage }));
});
`;

describe("the program loads as Pulumi's Node.js runtime loads it", () => {
  it.each([
    ["stage1", "update"],
    ["stage4", "preview"],
  ])("ts-node with type checking loads src/index.ts and plans %s (%s)", (stack, mode) => {
    const out = execFileSync(process.execPath, ["-e", loader, stack, mode], { cwd: projectDir, encoding: "utf8", timeout: 240_000 });
    const r = JSON.parse(out) as { typescript: string; resources: number; stage: number };
    expect(r.typescript).toMatch(/^5\./);
    expect(r.stage).toBe(Number(stack.slice(-1)));
    expect(r.resources).toBeGreaterThan(5);
  });
});
