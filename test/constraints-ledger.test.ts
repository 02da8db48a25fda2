/**
 * The constraints ledger (data/provider-constraints.json): every row evaluated against every stage's plan, in
 * update and preview mode, and against plans with the optional parts on (the DMS migration, the billing budget,
 * webhook and PagerDuty channels). A resource type in a plan that no row covers fails. Immutable rows are checked
 * across the stage moves 1 -> 2 -> 3 -> 4 on protected resources (a change there would need a replacement that
 * `protect` refuses); createOnlyValues on first `up`s only.
 */
import { describe, expect, it } from "vitest";
import { plan } from "./helpers/plan";
import { evaluate, loadLedger, RULE_KINDS, uncoveredTypes, valuesAt, type ConstraintRow } from "../src/plan/constraints";
import type { Plan } from "../src/plan/engine";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectDir, ofType } from "./helpers/plan";
import { BEGIN, END, firstUpSection, waves } from "../src/plan/first-up";
import { APP_INSTANCE_BOOT_SECONDS, BRIDGE_BOOT_SECONDS } from "../src/config/boot-times";

const ledger = loadLedger();
const PGLOGICAL = "images.postgres=us-central1-docker.pkg.dev/course-organizer-demo/co-images/postgres-pglogical:15.10";
const MIGRATING = [
  "vm.enabled=true",
  "vm.retained=false",
  "database.migrateFromVm=true",
  "database.cutover=false",
  "video.mode=vm",
  "load.videoParticipants=500",
  "load.dbQueriesPerSecond=1000",
  PGLOGICAL,
];
const OPTIONAL = [
  "monitoring.webhookUrl=https://hooks.example.org/alerts",
  "monitoring.pagerdutyServiceKeySecret=pagerduty-service-key",
  "monitoring.billingAccount=01A2B3-C4D5E6-F7A8B9",
];

/** The plans the ledger is checked against: [label, stack, sets, fromEmpty]. */
const PLANS: [string, string, string[]][] = [
  ["stage1", "stage1", []],
  ["stage2", "stage2", []],
  ["stage3", "stage3", []],
  ["stage4", "stage4", []],
  ["stage3 migrating from the VM", "stage3", MIGRATING],
  ["stage1 with budget, webhook, PagerDuty", "stage1", OPTIONAL],
  ["stage4 with budget, webhook, PagerDuty", "stage4", OPTIONAL],
];

function check(p: Plan, previous?: Plan) {
  const { violations, checked } = evaluate(p, ledger.rows, { fromEmpty: true, previous });
  return { problems: violations.map((v) => v.problem), checked };
}

describe("data/provider-constraints.json", () => {
  it("has well-formed rows: a known rule kind, its parameters and a source each", () => {
    const bad: string[] = [];
    for (const r of ledger.rows as ConstraintRow[]) {
      const id = `${r.type} ${r.path} ${r.rule}`;
      if (!RULE_KINDS.includes(r.rule)) bad.push(`${id}: unknown rule`);
      if (!r.source || r.source.length < 10) bad.push(`${id}: no source`);
      if (r.rule === "range" && r.min === undefined && r.max === undefined) bad.push(`${id}: range without bounds`);
      if ((r.rule === "enum" || r.rule === "createOnlyValues") && !r.values?.length) bad.push(`${id}: no values`);
      if ((r.rule === "pattern" || r.rule === "notPattern") && !r.regex) bad.push(`${id}: no regex`);
      if ((r.rule === "conflicts" || r.rule === "requiresWith") && !r.with?.length) bad.push(`${id}: no 'with'`);
      if (r.rule === "eventual" && !(r.mechanism === "dependsOn" ? r.on : r.field)) bad.push(`${id}: no mechanism target`);
      if (r.rule === "maxLength" && r.max === undefined) bad.push(`${id}: no max`);
    }
    expect(bad).toEqual([]);
  });

  // The stage plans in both modes; the optional parts in update mode (their preview adds no type or row).
  const cases = PLANS.flatMap(([label, stack, sets]) =>
    (sets.length ? [false] : [false, true]).map((preview) => [`${label}${preview ? ", preview" : ""}`, stack, sets, preview] as const),
  );
  it.each(cases)("%s: every resource type is covered and every row holds", async (_label, stack, sets, preview) => {
    const p = await plan(stack, { sets, preview });
    expect(uncoveredTypes(p, ledger.rows)).toEqual([]);
    const { problems, checked } = check(p);
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(preview ? 100 : 200);
  });

  it("immutable inputs of protected resources keep their values across the stage moves 1 -> 2 -> 3 -> 4", async () => {
    let checkedAll = 0;
    for (const [from, to] of [
      ["stage1", "stage2"],
      ["stage2", "stage3"],
      ["stage3", "stage4"],
    ] as const) {
      const { violations, checked } = evaluate(
        await plan(to),
        ledger.rows.filter((r) => r.rule === "immutable"),
        { fromEmpty: false, previous: await plan(from) },
      );
      expect(violations.map((v) => v.problem)).toEqual([]);
      checkedAll += checked;
    }
    expect(checkedAll).toBeGreaterThan(10);
  });

  it("would have caught the defects it was built from (each row fails on the old input)", async () => {
    const p4 = await plan("stage4");
    const p3m = await plan("stage3", { sets: MIGRATING });
    const p3 = await plan("stage3");
    const mutate = (p: Plan, type: string, f: (inputs: any) => void): Plan => ({
      ...p,
      resources: p.resources.map((r) =>
        r.type === type
          ? {
              ...r,
              inputs: (() => {
                const i = structuredClone(r.inputs);
                f(i);
                return i;
              })(),
            }
          : r,
      ),
    });
    const problemsOf = (p: Plan) => check(p).problems.join("\n");
    // 1. Memcached maintenance window of one hour.
    expect(problemsOf(mutate(p4, "gcp:memcache/instance:Instance", (i) => (i.maintenancePolicy.weeklyMaintenanceWindows[0].duration = "3600s")))).toContain(
      "outside 10800..28800",
    );
    // 2. A migration job created RUNNING.
    expect(problemsOf(mutate(p3m, "gcp:databasemigrationservice/migrationJob:MigrationJob", (i) => (i.desiredState = "RUNNING")))).toContain(
      'allowed at create: ["NOT_STARTED"]',
    );
    // 3./4. A threshold condition on a metric that may not exist yet.
    expect(
      problemsOf(
        mutate(p4, "gcp:monitoring/alertPolicy:AlertPolicy", (i) =>
          i.conditions.push({ conditionThreshold: { filter: 'metric.type = "prometheus.googleapis.com/websocket_connections/gauge"' } }),
        ),
      ),
    ).toContain("matches the forbidden");
    // 5. A kubeconfig at the IP endpoint with the cluster CA.
    expect(
      problemsOf(
        mutate(
          p4,
          "pulumi:providers:kubernetes",
          (i) => (i.kubeconfig = { "[secret]": "server: https://34.118.0.1\n    certificate-authority-data: x\n    command: gke-gcloud-auth-plugin\n" }),
        ),
      ),
    ).toContain("kubeconfig");
    // 10. Session affinity without a locality policy that honours it.
    expect(problemsOf(mutate(p3, "gcp:compute/backendService:BackendService", (i) => (i.sessionAffinity = "CLIENT_IP")))).toContain("needs localityLbPolicy");
    // The analytics replica's database flag (a replica is read-only already).
    expect(
      problemsOf(
        mutate(p4, "gcp:sql/databaseInstance:DatabaseInstance", (i) => i.settings.databaseFlags?.push({ name: "default_transaction_read_only", value: "on" })),
      ),
    ).toContain("default_transaction_read_only");
    // A service account id under 6 characters.
    expect(problemsOf(mutate(p3, "gcp:serviceaccount/account:Account", (i) => (i.accountId = "co-vm")))).toContain('accountId = "co-vm"');
    expect(valuesAt({ a: [{ b: 1 }, { b: 2 }] }, "a[*].b")).toEqual([1, 2]);
  });
});

describe("the first up of an empty project (docs/first-up.md)", () => {
  it("docs/first-up.md shows the creation waves of every stage's plan and the ledger's waits (npm run first-up)", async () => {
    const plans = await Promise.all(["stage1", "stage2", "stage3", "stage4"].map((s) => plan(s)));
    const doc = readFileSync(join(projectDir, "docs/first-up.md"), "utf8");
    const committed = `${BEGIN}${doc.split(BEGIN)[1]!.split(END)[0]}${END}`;
    expect(committed).toBe(firstUpSection(plans, ledger.rows));
    // Waves follow the dependency graph: nothing waits for a resource of a later wave.
    for (const p of plans) {
      const wave = new Map(waves(p).flatMap((w, i) => w.map((r) => [r.urn, i] as const)));
      for (const [urn, i] of wave) for (const d of p.resources.find((r) => r.urn === urn)!.dependencies) if (wave.has(d)) expect(wave.get(d)!).toBeLessThan(i);
    }
    expect(readFileSync(join(projectDir, "README.md"), "utf8")).toContain("](docs/first-up.md)");
  });

  it("autoscalers wait out an instance's boot before reading its signals: cooldownPeriod = boot time >= auto-healing delay", async () => {
    for (const s of ["stage3", "stage4"]) {
      const p = await plan(s);
      const groups = new Map(
        ofType(p, "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager").map((g) => [
          `projects/course-organizer-demo/regions/${g.inputs.region}/instanceGroupManagers/${g.inputs.name}`,
          g,
        ]),
      );
      const scalers = ofType(p, "gcp:compute/regionAutoscaler:RegionAutoscaler");
      expect(scalers.length).toBeGreaterThan(0);
      for (const a of scalers) {
        const group = groups.get(a.inputs.target as string)!;
        const policy = a.inputs.autoscalingPolicy as { cooldownPeriod: number };
        const delay = (group.inputs.autoHealingPolicies as { initialDelaySec: number }).initialDelaySec;
        expect(policy.cooldownPeriod, `${a.name}`).toBeGreaterThanOrEqual(delay);
        expect([APP_INSTANCE_BOOT_SECONDS, BRIDGE_BOOT_SECONDS]).toContain(policy.cooldownPeriod);
      }
    }
    const http = ofType(await plan("stage3"), "gcp:compute/regionAutoscaler:RegionAutoscaler").find((a) => a.name.startsWith("http-pool"))!;
    expect((http.inputs.autoscalingPolicy as { cooldownPeriod: number }).cooldownPeriod).toBe(300);
  });
});
