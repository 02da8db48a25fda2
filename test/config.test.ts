import { describe, expect, it } from "vitest";
import { parseConfig, ConfigError } from "../src/config/load";

const base = {
  "gcp:project": "course-organizer-demo",
  "gcp:region": "us-central1",
  "course-organizer:domain": "courses.example.org",
};

function problems(extra: Record<string, string>): string[] {
  try {
    parseConfig({ ...base, ...extra });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("stage presets", () => {
  it.each([1, 2, 3, 4])("stage %i preset is valid", (stage) => {
    const c = parseConfig({ ...base, "course-organizer:stage": String(stage) });
    expect(c.stage).toBe(stage);
  });
});

describe("invalid configs", () => {
  it("refuses stage 9 naming the key, value and allowed values", () => {
    expect(problems({ "course-organizer:stage": "9" })).toEqual(["course-organizer:stage: 9 is not allowed; allowed: 1, 2, 3, 4"]);
  });
});
