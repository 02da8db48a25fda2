/**
 * The pull-request policy check: plans each stage stack offline (no cloud credentials) and judges every plan with
 * this policy pack. deploy.yml runs it with policy/ checked out from the base branch, so a pull request's own
 * (possibly weakened) rules never judge it. Fails closed: any violation, any error, or no stack at all exits 1.
 *
 *   npx tsx policy/check-plan.ts stage1 stage2 stage3 stage4
 */
import { join } from "node:path";
import { planStack } from "../src/plan/engine";
import { violations } from "./harness";

async function main(stacks: string[]): Promise<number> {
  if (stacks.length === 0) {
    process.stderr.write("usage: npx tsx policy/check-plan.ts <stack>...\n");
    return 1;
  }
  let failed = false;
  for (const stack of stacks) {
    for (const preview of [false, true]) {
      const plan = await planStack({ stack, projectDir: join(__dirname, ".."), preview });
      const found = await violations(plan);
      const mode = preview ? "preview" : "update";
      process.stdout.write(`${stack} (${mode}): ${plan.resources.filter((r) => r.custom).length} resources, ${found.length} violations\n`);
      for (const v of found) process.stdout.write(`  ${v}\n`);
      if (found.length > 0) failed = true;
    }
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`policy check failed to run: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
