/**
 * npm run diagrams: regenerate docs/diagrams/architecture-stageN.{dot,svg} from each stage's plan.
 * The SVG carries the sha256 of its DOT source, so a test can tell when a committed diagram is stale.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { planStack } from "../src/plan/engine";
import { diagramDot, dotSha } from "../src/plan/diagram";

async function main(): Promise<void> {
  const root = join(__dirname, "..");
  const out = join(root, "docs/diagrams");
  mkdirSync(out, { recursive: true });
  for (const n of [1, 2, 3, 4]) {
    const plan = await planStack({ stack: `stage${n}`, projectDir: root });
    const dot = diagramDot(plan);
    const svg = execFileSync("dot", ["-Tsvg"], { input: dot, encoding: "utf8" }).replace(/<svg /, `<!-- dot-sha256: ${dotSha(dot)} -->\n<svg `);
    writeFileSync(join(out, `architecture-stage${n}.dot`), dot);
    writeFileSync(join(out, `architecture-stage${n}.svg`), svg);
    process.stdout.write(`docs/diagrams/architecture-stage${n}.svg (${plan.resources.length} resources)\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
