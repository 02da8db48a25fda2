/**
 * Cost per user at peak of the advised configuration beside the seed's "Cost per User (Monthly)", for the seed's
 * five loads:
 *
 *   npm run bench:sizing            (a Markdown table; --json for the figures)
 *
 * Each load is sized (src/config/sizing.ts), planned offline by the engine `npm run plan` uses (config validation
 * and the capacity check at the load included), and priced (src/plan/cost.ts, data/prices.json) on demand and with
 * 1- and 3-year commitments; the advice takes the least commitment that reaches the seed's figure. "At peak" is the
 * month with every autoscaler at the advised maximum, divided by the concurrent users.
 */
import { advise } from "../src/config/advice";
import { seedCostPerUser } from "../src/config/sizing";

async function main(): Promise<void> {
  const json = process.argv.includes("--json");
  const rows = [];
  for (const { users, usd } of seedCostPerUser) {
    const t0 = Date.now();
    const a = await advise({ users });
    const byName = Object.fromEntries(a.cost.options.map((o) => [o.name, o]));
    rows.push({
      users,
      stage: a.stage,
      option: a.cost.option,
      minimumMonthlyUsd: a.cost.totalMonthlyUsd,
      atMaxMonthlyUsd: a.cost.atMaxMonthlyUsd,
      perUserAtPeakUsd: a.cost.perUserAtPeakUsd,
      onDemandPerUserAtPeakUsd: byName["on-demand"]!.perUserAtPeakUsd,
      seedPerUserUsd: usd,
      meetsSeed: a.cost.meetsSeed,
      capacityProblems: a.capacity.problems.length,
      seconds: (Date.now() - t0) / 1000,
    });
  }
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
    return;
  }
  const money = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  const out = [
    "| concurrent users | stage | pricing chosen | month at minimum | month at the maxima | per user at peak | on demand per user | seed per user | at or below seed |",
    "|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| ${r.users.toLocaleString("en-US")} | ${r.stage} | ${r.option} | ${money(r.minimumMonthlyUsd)} | ${money(r.atMaxMonthlyUsd)} | $${r.perUserAtPeakUsd.toFixed(3)} | $${r.onDemandPerUserAtPeakUsd.toFixed(3)} | $${r.seedPerUserUsd.toFixed(2)} | ${r.meetsSeed ? "yes" : "NO"}${r.capacityProblems ? ` (${r.capacityProblems} capacity problems)` : ""} |`,
    ),
  ];
  process.stdout.write(out.join("\n") + "\n");
  process.stderr.write(`planned and priced in ${rows.map((r) => `${r.seconds.toFixed(1)} s`).join(", ")}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
