/**
 * The seed's stage-2 indexes against a real PostgreSQL 15 (loopback port 15400, temp dir, stopped by PID): the
 * seed's two slow queries switch from a sequential scan to the new indexes, the apply script is idempotent,
 * skips tables that do not exist yet, and rebuilds an index an interrupted build left invalid.
 */
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyIndexesScript, createIndexStatement, indexesSql, indexProblems, indexStatements, seedIndexes } from "../src/files/db-indexes";
import { planNodes, psql, seedDataSql, seedQueries, seedSchemaSql, startPostgres, stopPostgres, testRows, type TempPostgres } from "./helpers/postgres";

const appPassword = "app-test-password-7c1e";

interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

let pg: TempPostgres | undefined;
let work: string;

/** Run the rendered script with bash, the connection from PG* variables, the password from a file. */
function runScript(db: string): Promise<ScriptRun> {
  return new Promise((resolve) => {
    execFile(
      "bash",
      [join(work, "apply-db-indexes.sh")],
      {
        env: {
          PATH: process.env.PATH,
          PGHOST: "127.0.0.1",
          PGPORT: String(pg!.port),
          PGUSER: "app",
          PGDATABASE: db,
          PGPASSWORD_FILE: join(work, "app-password"),
        },
      },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Create a database owned by app with some of the seed's tables, filled. */
async function createDatabase(db: string, tables: ReadonlySet<string> | "all"): Promise<void> {
  await psql(pg!, "postgres", `CREATE DATABASE ${db} OWNER app`);
  const asApp = (sql: string) => `SET ROLE app; ${sql}`;
  await psql(pg!, db, ...seedSchemaSql(tables).map(asApp));
  // Django creates an index for every ForeignKey; the study-group one is the seed's idx_studygroup_class under
  // Django's name. The other foreign keys are left unindexed, as the seed's "before" plans imply.
  if (tables === "all" || tables.has("course_api_studygroup")) {
    await psql(pg!, db, asApp("CREATE INDEX course_api_studygroup_student_class_id_5f8b2c1e ON course_api_studygroup (student_class_id)"));
  }
  await psql(pg!, db, ...seedDataSql(testRows, tables).map(asApp));
  await psql(pg!, db, "ANALYZE");
}

async function explain(db: string, query: string) {
  return planNodes(await psql(pg!, db, `EXPLAIN (FORMAT JSON) ${query}`));
}

async function indexDefs(db: string): Promise<string[]> {
  const out = await psql(pg!, db, "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' ORDER BY indexname");
  return out === "" ? [] : out.split("\n");
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "db-indexes-"));
  writeFileSync(join(work, "apply-db-indexes.sh"), applyIndexesScript());
  writeFileSync(join(work, "app-password"), `${appPassword}\n`);
  chmodSync(join(work, "app-password"), 0o600);
  pg = await startPostgres(15400, "db-indexes-pg-");
  await psql(pg, "postgres", `CREATE ROLE app LOGIN PASSWORD '${appPassword}'`);
  await createDatabase("course", "all");
  await createDatabase("course_partial", new Set(["directory_user", "course_api_studygroup", "course_api_studygroupmembership"]));
}, 120_000);

afterAll(async () => {
  await stopPostgres(pg);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the seed's queries before and after the indexes", () => {
  const before: Record<string, ReturnType<typeof planNodes>> = {};
  let first: ScriptRun;

  beforeAll(async () => {
    before.email = await explain("course", seedQueries.userByEmail);
    before.messages = await explain("course", seedQueries.latestGroupMessages);
    first = await runScript("course");
  }, 120_000);

  it("scans directory_user and course_api_groupmessage sequentially without the indexes", () => {
    expect(before.email.filter((n) => n["Node Type"] === "Seq Scan").map((n) => n["Relation Name"])).toEqual(["directory_user"]);
    expect(before.email.some((n) => n["Index Name"] !== undefined)).toBe(false);
    expect(before.messages.filter((n) => n["Node Type"] === "Seq Scan").map((n) => n["Relation Name"])).toEqual(["course_api_groupmessage"]);
    expect(before.messages.some((n) => n["Index Name"] !== undefined)).toBe(false);
  });

  it("the script exits 0, creating three indexes and skipping the one Django's foreign-key index already covers", () => {
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const lines = first.stdout
      .trim()
      .split("\n")
      .map((l) => l.replace(/^\S+ db-indexes: /, ""));
    expect(lines).toEqual([
      "connected to course on 127.0.0.1:15400 as app",
      "create idx_groupmessage_group_created on course_api_groupmessage (group_id,created_at)",
      "skip idx_studygroup_class: course_api_studygroup_student_class_id_5f8b2c1e already indexes course_api_studygroup (student_class_id); a second index would only slow writes",
      "create idx_user_email on directory_user (email)",
      "create idx_membership_user_group on course_api_studygroupmembership (user_id,group_id)",
      "analyze course_api_groupmessage",
      "analyze course_api_studygroup",
      "analyze directory_user",
      "analyze course_api_studygroupmembership",
      "autovacuum on for course_api_course",
      "done",
    ]);
  });

  it("builds exactly the seed's index definitions", async () => {
    expect(await indexDefs("course")).toEqual([
      "CREATE INDEX course_api_studygroup_student_class_id_5f8b2c1e ON public.course_api_studygroup USING btree (student_class_id)",
      "CREATE INDEX idx_groupmessage_group_created ON public.course_api_groupmessage USING btree (group_id, created_at DESC)",
      "CREATE INDEX idx_membership_user_group ON public.course_api_studygroupmembership USING btree (user_id, group_id)",
      "CREATE INDEX idx_user_email ON public.directory_user USING btree (email)",
    ]);
    expect(await psql(pg!, "course", "SELECT reloptions::text FROM pg_class WHERE relname = 'course_api_course'")).toBe("{autovacuum_enabled=true}");
  });

  it("user by e-mail now uses idx_user_email", async () => {
    const after = await explain("course", seedQueries.userByEmail);
    expect(after.some((n) => n["Node Type"] === "Seq Scan")).toBe(false);
    const scans = after.filter((n) => /^(Index Scan|Index Only Scan|Bitmap Index Scan)$/.test(n["Node Type"]));
    expect(scans.map((n) => n["Index Name"])).toEqual(["idx_user_email"]);
  });

  it("the latest 50 messages of a group come from idx_groupmessage_group_created, already in order (no sort)", async () => {
    const after = await explain("course", seedQueries.latestGroupMessages);
    expect(after.some((n) => n["Node Type"] === "Seq Scan" || n["Node Type"] === "Sort")).toBe(false);
    expect(after.map((n) => n["Node Type"])).toEqual(["Limit", "Index Scan"]);
    expect(after[1]["Index Name"]).toBe("idx_groupmessage_group_created");
  });

  it("a second run changes nothing and exits 0", async () => {
    const again = await runScript("course");
    expect(again.stderr).toBe("");
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("db-indexes: ok idx_user_email: present on directory_user\n");
    expect(again.stdout).toContain("db-indexes: ok idx_groupmessage_group_created: present on course_api_groupmessage\n");
    expect(again.stdout).not.toContain(": create ");
    expect(await indexDefs("course")).toHaveLength(4);
  });

  it("rebuilds an index that an interrupted CONCURRENTLY build left invalid", async () => {
    await psql(pg!, "course", "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_user_email'::regclass");
    const r = await runScript("course");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("db-indexes: rebuild idx_user_email: an earlier build was interrupted and left it invalid\n");
    expect(r.stdout).toContain("db-indexes: create idx_user_email on directory_user (email)\n");
    expect(await psql(pg!, "course", "SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_user_email'::regclass")).toBe("t");
  });
});

describe("a database that has not migrated every table yet", () => {
  it("skips the missing tables with a log line and exits 0", async () => {
    const r = await runScript("course_partial");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "db-indexes: skip idx_groupmessage_group_created: table course_api_groupmessage does not exist yet (the app has not migrated it); the next run adds it\n",
    );
    expect(r.stdout).toContain("db-indexes: skip autovacuum setting: table course_api_course does not exist yet\n");
    expect(r.stdout).not.toContain("analyze course_api_groupmessage");
    expect(await indexDefs("course_partial")).toEqual([
      "CREATE INDEX course_api_studygroup_student_class_id_5f8b2c1e ON public.course_api_studygroup USING btree (student_class_id)",
      "CREATE INDEX idx_membership_user_group ON public.course_api_studygroupmembership USING btree (user_id, group_id)",
      "CREATE INDEX idx_user_email ON public.directory_user USING btree (email)",
    ]);
  });

  it("fails (non-zero) on a real error, here a wrong password", async () => {
    writeFileSync(join(work, "app-password"), "wrong\n");
    try {
      const r = await runScript("course_partial");
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/password authentication failed for user "app"/);
    } finally {
      writeFileSync(join(work, "app-password"), `${appPassword}\n`);
    }
  });
});

describe("the rendered statements and script", () => {
  it("are the seed's four indexes, each CONCURRENTLY IF NOT EXISTS, then ANALYZE and the autovacuum setting", () => {
    expect(indexStatements().map((s) => s.sql)).toEqual([
      "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_groupmessage_group_created ON course_api_groupmessage (group_id, created_at DESC);",
      "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_studygroup_class ON course_api_studygroup (student_class_id);",
      "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_user_email ON directory_user (email);",
      "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_membership_user_group ON course_api_studygroupmembership (user_id, group_id);",
      "ANALYZE course_api_groupmessage;",
      "ANALYZE course_api_studygroup;",
      "ANALYZE directory_user;",
      "ANALYZE course_api_studygroupmembership;",
      "ALTER TABLE course_api_course SET (autovacuum_enabled = true);",
    ]);
    for (const ix of seedIndexes) expect(indexesSql()).toContain(`${createIndexStatement(ix)}\n`);
  });

  it("the script passes shellcheck -S style and embeds no password", () => {
    const r = spawnSync("shellcheck", ["-S", "style", "-"], { input: applyIndexesScript(), encoding: "utf8" });
    expect(r.error).toBeUndefined();
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
    expect(applyIndexesScript()).not.toMatch(/PGPASSWORD=["']?[A-Za-z0-9]/);
  });

  it("refuses names that are not plain identifiers", () => {
    expect(indexProblems([{ name: "idx; DROP TABLE x", table: "t", columns: [{ name: "a" }], serves: "" }])).toEqual([
      'indexStatements indexes[0].name: "idx; DROP TABLE x" is not a plain identifier; allowed: a plain lowercase identifier ([a-z_][a-z0-9_]*)',
    ]);
    expect(() => applyIndexesScript([{ name: "i", table: "T", columns: [], serves: "" }])).toThrow(
      'indexStatements indexes[0].table: "T" is not a plain identifier; allowed: a plain lowercase identifier ([a-z_][a-z0-9_]*)\nindexStatements indexes[0].columns: [] is empty; allowed: at least one column',
    );
    expect(
      indexProblems([
        { name: "i", table: "t", columns: [{ name: "A b" }], serves: "" },
        { name: "i", table: "t", columns: [{ name: "a" }], serves: "" },
      ]),
    ).toEqual([
      'indexStatements indexes[0].columns[0].name: "A b" is not a plain identifier; allowed: a plain lowercase identifier ([a-z_][a-z0-9_]*)',
      'indexStatements indexes[1].name: "i" is used twice (also indexes[0]); allowed: each index name once',
    ]);
  });
});
