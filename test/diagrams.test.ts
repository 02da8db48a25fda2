/**
 * The committed architecture diagrams (docs/diagrams) must match the code: each is regenerated from its stage's
 * plan and compared with the committed DOT, and the committed SVG must be the rendering of that DOT.
 * After a change that alters the architecture: `npm run diagrams` and commit the result.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { plan, projectDir } from "./helpers/plan";
import { diagramDot, dotSha } from "../src/plan/diagram";

describe.each([1, 2, 3, 4])("docs/diagrams/architecture-stage%i", (n) => {
  it("matches the plan of the code (run `npm run diagrams` after an architecture change)", async () => {
    const dot = diagramDot(await plan(`stage${n}`));
    const committed = readFileSync(join(projectDir, `docs/diagrams/architecture-stage${n}.dot`), "utf8");
    expect(dot).toBe(committed);
  });

  it("has an SVG rendered from that DOT, valid for Graphviz", () => {
    const dot = readFileSync(join(projectDir, `docs/diagrams/architecture-stage${n}.dot`), "utf8");
    const svg = readFileSync(join(projectDir, `docs/diagrams/architecture-stage${n}.svg`), "utf8");
    expect(svg).toContain(`<!-- dot-sha256: ${dotSha(dot)} -->`);
    expect(svg).toContain("<svg ");
    // dot parses the source (exit 0) and names the stage in the title.
    const check = execFileSync("dot", ["-Tcanon"], { input: dot, encoding: "utf8" });
    expect(check).toContain(`course-organizer-stage${n}`);
  });
});
