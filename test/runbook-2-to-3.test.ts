/**
 * docs/runbooks/2-to-3.md replayed offline: every `pulumi config set/rm` of its phases is applied, in order, on top
 * of the stage-2 stack file, and at each `pulumi up` the plan is made and the load balancer's routing checked by
 * resolving requests through the URL map as Google's would (host rule, then the longest matching path rule).
 * While the VM serves (phase A), every route, the meet host included, goes to the VM; after the cut-over
 * (phase B) to the instance groups. The migration job is created NOT_STARTED, started by the second `up` after
 * the demote script, and gone after the cut-over.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { get, ofType, plan, projectDir } from "./helpers/plan";
import type { Plan } from "../src/plan/engine";

const RUNBOOK = join(projectDir, "docs/runbooks/2-to-3.md");
const PLACEHOLDERS: Record<string, string> = { "<region>": "us-central1", "<project>": "course-organizer-demo", "<prefix>": "co", "<stack>": "stage2" };
const fill = (s: string) => s.replace(/<[a-z]+>/g, (m) => PLACEHOLDERS[m] ?? m);

interface Step {
  /** Config sets in force at this `pulumi up` (`key=value`, the plan's --set syntax). */
  sets: string[];
  /** Commands run since the previous `up` that are not config changes (scripts, gcloud). */
  commands: string[];
}

/** The `pulumi up` steps of the runbook's fenced shell blocks, with the config each one runs with. */
export function runbookSteps(text: string): Step[] {
  const config = new Map<string, string>();
  const steps: Step[] = [];
  let commands: string[] = [];
  const blocks = [...text.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]!);
  for (const line of blocks.flatMap((b) => b.split("\n"))) {
    const cmd = fill(line.replace(/\s+#.*$/, "").trim());
    if (!cmd || cmd.startsWith("#")) continue;
    let m: RegExpMatchArray | null;
    if ((m = cmd.match(/^pulumi config set (?:--path )?course-organizer:(\S+) (\S+)$/))) config.set(m[1]!, m[2]!);
    else if ((m = cmd.match(/^pulumi config rm (?:--path )?course-organizer:(\S+)$/))) {
      for (const k of [...config.keys()]) if (k === m[1] || k.startsWith(`${m[1]}.`)) config.delete(k);
    } else if (cmd === "pulumi up") {
      steps.push({ sets: [...config].map(([k, v]) => `${k}=${v}`), commands });
      commands = [];
    } else if (!cmd.startsWith("npm run plan")) commands.push(cmd);
  }
  return steps;
}

/** The backend a request reaches through the URL map's inputs: host rule, then the longest matching path rule. */
export function routeOf(urlMap: Record<string, any>, host: string, path: string): string {
  const matcherName =
    (urlMap.hostRules ?? []).find((r: any) => r.hosts.includes(host))?.pathMatcher ??
    (urlMap.hostRules ?? []).find((r: any) => r.hosts.includes("*"))?.pathMatcher;
  const pm = (urlMap.pathMatchers ?? []).find((x: any) => x.name === matcherName);
  if (!pm) return urlMap.defaultService;
  const matches = (p: string) => (p.endsWith("/*") ? path.startsWith(p.slice(0, -1)) : path === p);
  const rule = (pm.pathRules ?? [])
    .filter((r: any) => r.paths.some(matches))
    .sort((a: any, b: any) => Math.max(...b.paths.map((p: string) => p.length)) - Math.max(...a.paths.map((p: string) => p.length)))[0];
  const to = rule ?? pm;
  if (to.service ?? to.defaultService) return to.service ?? to.defaultService;
  const action = to.routeAction ?? to.defaultRouteAction;
  return action.weightedBackendServices.map((w: any) => `${w.backendService}@${w.weight}`).join(",");
}

const REQUESTS = [
  ["courses.example.org", "/"],
  ["courses.example.org", "/api/courses/"],
  ["courses.example.org", "/ws/notifications/"],
  ["meet.courses.example.org", "/"],
  ["courses.example.org", "/static/app.css"],
  ["courses.example.org", "/media/file.pdf"],
] as const;

function routing(p: Plan): string[] {
  const urlMap = get(p, "gcp:compute/uRLMap:URLMap", "lb-url-map").inputs;
  return REQUESTS.map(([h, path]) => `${h}${path} -> ${routeOf(urlMap, h, path).replace(/^projects\/course-organizer-demo\/global\//, "")}`);
}

const steps = runbookSteps(readFileSync(RUNBOOK, "utf8"));
const DMS_JOB = "gcp:databasemigrationservice/migrationJob:MigrationJob";

describe("docs/runbooks/2-to-3.md, replayed", () => {
  it("has the three `up`s of phases A1, A2 and B, each with its config", () => {
    expect(steps).toHaveLength(3);
    expect(steps[0]!.sets).toEqual(expect.arrayContaining(["stage=3", "vm.enabled=true", "database.migrateFromVm=true", "database.cutover=false"]));
    expect(steps[1]!.commands).toEqual(["scripts/dms-demote-destination.sh co-db-migration us-central1 course-organizer-demo"]);
    expect(steps[1]!.sets).toContain("database.migrationState=RUNNING");
    expect(steps[2]!.sets).toEqual(expect.arrayContaining(["database.cutover=true", "database.migrateFromVm=false", "database.adoptDatabases=true"]));
  });

  it.each([false, true])(
    "phase A (preview %s): the VM serves every route, the meet host included; the job is created NOT_STARTED, then started",
    async (preview) => {
      for (const [i, state] of [
        [0, "NOT_STARTED"],
        [1, "RUNNING"],
      ] as const) {
        const p = await plan("stage2", { sets: steps[i]!.sets, preview });
        if (!preview) {
          expect(routing(p)).toEqual([
            "courses.example.org/ -> backendServices/co-be-default-vm",
            "courses.example.org/api/courses/ -> backendServices/co-be-default-vm",
            "courses.example.org/ws/notifications/ -> backendServices/co-be-ws-vm",
            "meet.courses.example.org/ -> backendServices/co-be-ws-vm",
            "courses.example.org/static/app.css -> backendBuckets/co-static-cdn",
            "courses.example.org/media/file.pdf -> backendBuckets/co-media-cdn",
          ]);
        }
        // No backend service of the pools while the VM serves: nothing can route a write to the demoted destination.
        expect(
          ofType(p, "gcp:compute/backendService:BackendService")
            .map((b) => b.name)
            .sort(),
        ).toEqual(["lb-be-default-vm", "lb-be-ws-vm"]);
        const job = get(p, DMS_JOB, "database-migration");
        expect(job.inputs.desiredState).toBe(state);
        // The demote script is called with the job the plan creates.
        if (i === 1) expect(steps[1]!.commands[0]).toContain(` ${job.inputs.migrationJobId} `);
      }
    },
  );

  it("phase B: the cut-over sends every app route to the instance groups, the job is gone", async () => {
    const p = await plan("stage2", { sets: steps[2]!.sets });
    expect(routing(p)).toEqual([
      "courses.example.org/ -> backendServices/co-be-default-mig",
      "courses.example.org/api/courses/ -> backendServices/co-be-api-mig",
      "courses.example.org/ws/notifications/ -> backendServices/co-be-ws-mig",
      // From stage 3 the signaling VM serves the meet host on its own address: no host rule, the app's default.
      "meet.courses.example.org/ -> backendServices/co-be-default-mig",
      "courses.example.org/static/app.css -> backendBuckets/co-static-cdn",
      "courses.example.org/media/file.pdf -> backendBuckets/co-media-cdn",
    ]);
    expect(ofType(p, DMS_JOB)).toEqual([]);
  });
});
