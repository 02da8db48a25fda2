/**
 * Pulumi.yaml as the Pulumi CLI loads it: config declarations of the types Pulumi's project schema allows, the
 * required ones set by every stack file, defaults that agree with the presets, and every other key of the config
 * schema listed for the reader. The plan reads stacks through the same rules (src/plan/stackfile.ts).
 */
import { describe, expect, it } from "vitest";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { projectDir } from "./helpers/plan";
import { projectConfigProblems, readStackConfig } from "../src/plan/stackfile";
import { configKeys } from "../src/config/schema";

const projectFile = (dir: string) =>
  parse(readFileSync(join(dir, "Pulumi.yaml"), "utf8")) as { name: string; config: Record<string, { type: string; default?: unknown }> };

describe("Pulumi.yaml's config declarations", () => {
  it.each([projectDir, join(projectDir, "bootstrap")])("%s: only the types Pulumi's project schema allows", (dir) => {
    expect(projectConfigProblems(projectFile(dir).config)).toEqual([]);
  });

  it("refuses what the Pulumi CLI refuses: an object type, an array without items, an unknown field", () => {
    expect(
      projectConfigProblems({
        "course-organizer:vm": { type: "object" },
        "course-organizer:regions": { type: "array" },
        "course-organizer:x": { type: "string", required: true },
      }),
    ).toEqual([
      'Pulumi.yaml config.course-organizer:vm.type: "object" is not allowed; allowed: string, integer, boolean, array',
      "Pulumi.yaml config.course-organizer:regions: type array needs items",
      'Pulumi.yaml config.course-organizer:x: unknown field "required"',
    ]);
  });

  it("declares stage, domain and alertEmails as required and prefix with the presets' default", () => {
    const c = projectFile(projectDir).config;
    expect(Object.keys(c)).toEqual(["course-organizer:stage", "course-organizer:prefix", "course-organizer:domain", "course-organizer:alertEmails"]);
    expect(
      Object.entries(c)
        .filter(([, d]) => d.default === undefined)
        .map(([k]) => k),
    ).toEqual(["course-organizer:stage", "course-organizer:domain", "course-organizer:alertEmails"]);
    expect(c["course-organizer:prefix"]!.default).toBe("co");
  });

  it("lists every other key of the config schema in its comments, so a reader finds them", () => {
    const text = readFileSync(join(projectDir, "Pulumi.yaml"), "utf8");
    const declared = Object.keys(projectFile(projectDir).config);
    for (const key of configKeys.filter((k) => !declared.includes(`course-organizer:${k}`))) {
      expect(text, key).toMatch(new RegExp(`^#\\s+course-organizer:${key}\\s`, "m"));
    }
  });
});

describe("stacks read as the CLI merges them with Pulumi.yaml", () => {
  const tmpProject = (stackYaml: string) => {
    const dir = mkdtempSync(join(tmpdir(), "project-"));
    copyFileSync(join(projectDir, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
    writeFileSync(join(dir, "Pulumi.s.yaml"), stackYaml);
    return dir;
  };

  it("every stack file sets the required keys, and gets the declared default", () => {
    for (const n of [1, 2, 3, 4]) {
      const raw = readStackConfig(projectDir, `stage${n}`).config;
      expect(raw["course-organizer:stage"]).toBe(String(n));
      expect(raw["course-organizer:prefix"]).toBe("co");
    }
  });

  it("refuses a stack without a required key, naming each, as the CLI refuses it", () => {
    const dir = tmpProject("config:\n  gcp:project: p\n  course-organizer:stage: 1\n");
    expect(() => readStackConfig(dir, "s")).toThrow(
      "Stack 's' is missing configuration values 'course-organizer:alertEmails', 'course-organizer:domain' (required by Pulumi.yaml)",
    );
  });

  it("refuses a value of another type than the declared one", () => {
    const dir = tmpProject(
      "config:\n  course-organizer:stage: one\n  course-organizer:domain: a.example.org\n  course-organizer:alertEmails: [a@example.org]\n",
    );
    expect(() => readStackConfig(dir, "s")).toThrow("Stack 's': course-organizer:stage: \"one\" is not of the declared type integer");
  });

  it("lets --set supply a required key, as `pulumi config set` would", () => {
    const dir = tmpProject("config:\n  course-organizer:stage: 2\n  course-organizer:alertEmails: [a@example.org]\n");
    expect(readStackConfig(dir, "s", ["domain=b.example.org"]).config["course-organizer:domain"]).toBe("b.example.org");
  });
});
