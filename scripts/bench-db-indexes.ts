/**
 * Before/after timings of the seed's two "Critical Query Optimizations" queries around the stage-2 indexes,
 * against a throwaway PostgreSQL 15 on 127.0.0.1:15401 (temp dir, stopped by PID at the end).
 *
 *   npx tsx scripts/bench-db-indexes.ts [--scale N]     (N multiplies the test's row counts; default 3)
 *
 * Prints EXPLAIN ANALYZE execution times (median of 7 runs, after one warm-up), the plan's scan node, and the
 * build time of the indexes. Figures for the record, not assertions: they depend on the machine.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { applyIndexesScript } from "../src/files/db-indexes";
import {
  planNodes,
  psql,
  seedDataSql,
  seedQueries,
  seedSchemaSql,
  startPostgres,
  stopPostgres,
  testRows,
  type SeedRows,
  type TempPostgres,
} from "../test/helpers/postgres";

const run = promisify(execFile);
const port = 15401;
const password = "bench-only-password";

function scaleArg(): number {
  const i = process.argv.indexOf("--scale");
  const v = i >= 0 ? Number(process.argv[i + 1]) : 3;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--scale: ${process.argv[i + 1]} is not a positive number`);
  return v;
}

async function timeQuery(pg: TempPostgres, query: string): Promise<{ ms: number; scan: string }> {
  const times: number[] = [];
  let scan = "";
  for (let i = 0; i < 8; i++) {
    const out = await psql(pg, "course", `EXPLAIN (ANALYZE, FORMAT JSON) ${query}`);
    const parsed = JSON.parse(out) as { "Execution Time": number }[];
    if (i === 0) {
      scan = planNodes(out)
        .filter((n) => /Scan$/.test(n["Node Type"]))
        .map((n) => `${n["Node Type"]}${n["Index Name"] ? ` using ${n["Index Name"]}` : ` on ${n["Relation Name"]}`}`)
        .join(", ");
      continue; // warm-up: first run reads the pages into shared buffers
    }
    times.push(parsed[0]["Execution Time"]);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], scan };
}

async function main(): Promise<void> {
  const scale = scaleArg();
  const n = (v: number) => Math.max(1, Math.round(v * scale));
  const rows: SeedRows = {
    users: n(testRows.users),
    groups: n(testRows.groups),
    messages: n(testRows.messages),
    classes: n(testRows.classes),
    memberships: n(testRows.memberships),
  };
  const work = mkdtempSync(join(tmpdir(), "bench-db-indexes-"));
  let pg: TempPostgres | undefined;
  const cleanup = async () => {
    await stopPostgres(pg);
    rmSync(work, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  try {
    pg = await startPostgres(port, "bench-db-indexes-pg-");
    await psql(pg, "postgres", `CREATE ROLE app LOGIN PASSWORD '${password}'`, "CREATE DATABASE course OWNER app");
    const t0 = Date.now();
    await psql(pg, "course", ...seedSchemaSql().map((s) => `SET ROLE app; ${s}`));
    await psql(pg, "course", ...seedDataSql(rows).map((s) => `SET ROLE app; ${s}`));
    await psql(pg, "course", "VACUUM ANALYZE");
    const sizes = await psql(
      pg,
      "course",
      "SELECT relname || ' ' || n_live_tup || ' rows, ' || pg_size_pretty(pg_total_relation_size(relid)) FROM pg_stat_user_tables ORDER BY relname",
    );
    console.log(`PostgreSQL 15 on 127.0.0.1:${port}, scale ${scale}, loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s:`);
    for (const l of sizes.split("\n")) console.log(`  ${l}`);

    const before = { email: await timeQuery(pg, seedQueries.userByEmail), messages: await timeQuery(pg, seedQueries.latestGroupMessages) };

    writeFileSync(join(work, "apply.sh"), applyIndexesScript());
    writeFileSync(join(work, "pw"), `${password}\n`);
    chmodSync(join(work, "pw"), 0o600);
    const t1 = Date.now();
    const applied = await run("bash", [join(work, "apply.sh")], {
      env: { PATH: process.env.PATH, PGHOST: "127.0.0.1", PGPORT: String(port), PGUSER: "app", PGDATABASE: "course", PGPASSWORD_FILE: join(work, "pw") },
    });
    const buildSeconds = (Date.now() - t1) / 1000;

    const after = { email: await timeQuery(pg, seedQueries.userByEmail), messages: await timeQuery(pg, seedQueries.latestGroupMessages) };

    const created = applied.stdout.split("\n").filter((l) => / db-indexes: create /.test(l)).length;
    console.log(`\napply-db-indexes.sh (${created} x CREATE INDEX CONCURRENTLY, then ANALYZE): ${buildSeconds.toFixed(1)} s`);
    console.log("\nquery                                  before (ms)  after (ms)  speed-up  plan before -> after");
    for (const [label, key] of [
      ["user by e-mail", "email"],
      ["latest 50 messages of group 123", "messages"],
    ] as const) {
      const b = before[key];
      const a = after[key];
      console.log(
        `${label.padEnd(38)} ${b.ms.toFixed(3).padStart(11)}  ${a.ms.toFixed(3).padStart(10)}  ${(b.ms / a.ms).toFixed(0).padStart(7)}x  ${b.scan} -> ${a.scan}`,
      );
    }
    console.log("\nSeed's figures (at 100K users): user by e-mail 1000 ms -> 2 ms; latest messages 2000 ms -> 5 ms.");
  } finally {
    await cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
