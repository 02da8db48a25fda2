import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Plans run the whole program under the mock engine; a stage-4 plan takes a few seconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Two cores: two workers keep the machine responsive for the live-server tests.
    maxWorkers: 2,
  },
});
