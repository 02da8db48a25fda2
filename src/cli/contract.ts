/**
 * npm run contract
 *
 * Writes docs/app-contract.md from src/contract.ts and the plans of stage1..stage4 (what each stage's machines and
 * clusters receive), and the example image's entrypoint (examples/app/docker-entrypoint.sh) from the contract's
 * process commands. test/contract.test.ts fails when either file and the code disagree.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { entrypointScript } from "../contract";
import { contractDocument, stageView } from "../contract-doc";
import { planStack } from "../plan/engine";
import { exitWhenFlushed } from "./args";

/** The Django project package of examples/app (its wsgi and asgi modules). */
export const EXAMPLE_MODULE = "courseorganizer";
export const CONTRACT_STACKS = ["stage1", "stage2", "stage3", "stage4"];

export async function runContractCli(root = join(__dirname, "../..")): Promise<number> {
  const plans = [];
  for (const stack of CONTRACT_STACKS) plans.push(await planStack({ stack, projectDir: root, withFiles: true }));
  const doc = join(root, "docs/app-contract.md");
  writeFileSync(doc, contractDocument(plans.map(stageView)));
  const entry = join(root, "examples/app/docker-entrypoint.sh");
  writeFileSync(entry, entrypointScript(EXAMPLE_MODULE));
  chmodSync(entry, 0o755);
  process.stdout.write(`wrote ${doc} and ${entry}\n`);
  return 0;
}

if (require.main === module) {
  runContractCli().then(
    (code) => exitWhenFlushed(code),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      exitWhenFlushed(1);
    },
  );
}
