/**
 * Each stage preset's capacity at its configured maximum, against figures computed by hand from the seed's
 * per-unit numbers (100 req/s per HTTP instance or api pod, 1,000 connections per WebSocket instance or ws pod,
 * 500 participants per bridge, 500 queries/s per database vCPU), and the load targets they must cover.
 */
import { describe, expect, it } from "vitest";
import { capacityOf, capacityProblems, vcpusOf } from "../src/config/capacity";
import { parseConfig } from "../src/config/load";
import { readStackConfig } from "../src/plan/stackfile";
import { projectDir } from "./helpers/plan";

const config = (stack: string, sets: string[] = []) => parseConfig(readStackConfig(projectDir, stack, sets).config);

describe("vCPUs of machine types and Cloud SQL tiers", () => {
  it.each([
    ["e2-standard-2", 2],
    ["n2-standard-4", 4],
    ["n2-highcpu-8", 8],
    ["e2-medium", 2],
    ["n2-custom-6-24576", 6],
    ["db-custom-4-15360", 4],
    ["db-custom-8-30720", 8],
    ["db-g1-small", 1],
  ])("%s has %i", (type, n) => expect(vcpusOf(type)).toBe(n));
});

describe("capacity of each stage preset at its maximum", () => {
  it.each([
    // stage 1: 1 backend x 3 workers x 2 threads x 25 req/s; one Daphne; one bridge; PostgreSQL on half of 2 vCPUs; half the 50 GB disk
    ["stage1", { requestsPerSecond: 150, websocketConnections: 10000, videoParticipants: 500, dbQueriesPerSecond: 500, mediaStorageGb: 25 }],
    // stage 2: 2 x 4 x 2 x 25; one Daphne; one bridge; half of 4 vCPUs; media in Cloud Storage
    ["stage2", { requestsPerSecond: 400, websocketConnections: 10000, videoParticipants: 500, dbQueriesPerSecond: 1000, mediaStorageGb: null }],
    // stage 3: 10 x 100; 5 x 1,000; 6 bridges x 500; (4 + 1 replica x 4) x 500
    ["stage3", { requestsPerSecond: 1000, websocketConnections: 5000, videoParticipants: 3000, dbQueriesPerSecond: 4000, mediaStorageGb: null }],
    // stage 4: (50 + 20) api pods x 100; (20 + 10) ws pods x 1,000; 2 regions x 8 bridges x 500;
    // (8 x (1 + 2 replicas + 1 cross-region) + 4 shards x 2) x 500
    ["stage4", { requestsPerSecond: 7000, websocketConnections: 30000, videoParticipants: 8000, dbQueriesPerSecond: 20000, mediaStorageGb: null }],
  ])("%s", (stack, expected) => {
    const c = config(stack);
    const { basis, ...figures } = capacityOf(c);
    expect(figures).toEqual(expected);
    expect(Object.keys(basis).sort()).toEqual(Object.keys(expected).sort());
    expect(capacityProblems(c)).toEqual([]);
  });

  it("counts the VM's PostgreSQL while the migration runs, Cloud SQL after the cut-over", () => {
    const during = capacityOf(
      config("stage3", [
        "vm.enabled=true",
        "vm.retained=false",
        "database.migrateFromVm=true",
        "database.cutover=false",
        "video.mode=vm",
        "load.videoParticipants=500",
        "load.dbQueriesPerSecond=1000",
        "images.postgres=us-central1-docker.pkg.dev/course-organizer-demo/co-images/postgres-pglogical:15.10",
      ]),
    );
    expect(during.dbQueriesPerSecond).toBe(1000);
    expect(during.basis.dbQueriesPerSecond).toBe("PostgreSQL on the VM (2 of n2-standard-4's 4 vCPUs) x 500 queries/s per vCPU = 1000");
  });

  it("refuses the stage-3 targets on the VM's PostgreSQL during the migration unless the load says otherwise", () => {
    expect(() =>
      config("stage3", [
        "vm.enabled=true",
        "vm.retained=false",
        "database.migrateFromVm=true",
        "database.cutover=false",
        "video.mode=vm",
        "load.videoParticipants=500",
        "images.postgres=us-central1-docker.pkg.dev/course-organizer-demo/co-images/postgres-pglogical:15.10",
      ]),
    ).toThrow("course-organizer:load.dbQueriesPerSecond: 2000 is not covered; the configured maximum is 1000");
  });
});
