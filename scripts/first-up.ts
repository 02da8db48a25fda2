/**
 * npm run first-up: regenerate the generated part of docs/first-up.md (what the first `up` of an empty project
 * creates per stage, in which waves, and where the program waits for GCP) from each stage's plan and the
 * constraints ledger. test/constraints-ledger.test.ts fails when the committed text is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { planStack } from "../src/plan/engine";
import { loadLedger } from "../src/plan/constraints";
import { BEGIN, END, firstUpSection } from "../src/plan/first-up";

async function main(): Promise<void> {
  const root = join(__dirname, "..");
  const plans = [];
  for (const n of [1, 2, 3, 4]) plans.push(await planStack({ stack: `stage${n}`, projectDir: root }));
  const file = join(root, "docs/first-up.md");
  const doc = readFileSync(file, "utf8");
  const [before, rest] = doc.split(BEGIN);
  const after = rest!.split(END)[1];
  writeFileSync(file, `${before}${firstUpSection(plans, loadLedger(root).rows)}${after}`);
  process.stdout.write("docs/first-up.md\n");
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
