import { describe, expect, it } from "vitest";
import { advise } from "../src/config/advice";

describe("upgrade advice (seed 'When to Upgrade')", () => {
  it.each([
    [300, 1],
    [500, 1],
    [501, 2],
    [2000, 2],
    [2001, 3],
    [10000, 3],
    [10001, 4],
    [50000, 4],
  ])("%i concurrent users -> stage %i", (users, stage) => {
    expect(advise(users).stage).toBe(stage);
  });

  it("lists the triggers passed and the config to change", () => {
    const a = advise(6000);
    expect(a.triggers).toEqual([
      "400+ concurrent: Add indexes + Redis (stage 1: vm.databaseIndexes, Redis on the VM)",
      "1500+ concurrent: Cloud SQL + CDN (CDN at stage 2, Cloud SQL at stage 3)",
      "5000+ concurrent: Load balancer + auto-scaling (stage 3)",
    ]);
    expect(a.commands[0]).toBe("pulumi config set course-organizer:stage 3");
  });

  it("moves to the Videobridge pool when one bridge is not enough, and sizes it", () => {
    const a = advise(1000, 800);
    expect(a.stage).toBe(3);
    const b = advise(6000, 4000);
    // 4000 participants / 500 per bridge = 8 bridges in one region (preset max 6).
    expect(b.commands).toContain("pulumi config set --path course-organizer:video.maxBridgesPerRegion 8");
  });

  it("says when the load is beyond the seed's stages", () => {
    expect(advise(120000).notes[0]).toContain("beyond the seed's stage 4 band");
  });

  it("refuses a negative user count", () => {
    expect(() => advise(-1)).toThrow("--users must be a whole number >= 0, got -1");
  });
});
