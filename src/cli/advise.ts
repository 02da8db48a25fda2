/**
 * npm run advise -- --users N [--participants P] [--regions r1,r2] [--json]
 *
 * Sizes the smallest complete configuration for a load (src/config/sizing.ts), plans it offline, checks its
 * capacity at the load and prices it under each pricing option. `--json` prints
 * `{ stage, sets, capacity, cost: { totalMonthlyUsd, atMaxMonthlyUsd, perUserAtPeakUsd, ... }, ... }`; `sets` are
 * `--set` pairs `npm run plan` accepts as they are. Without `--json` the same as `pulumi config set` commands.
 */
import { advise } from "../config/advice";
import { reportError } from "./plan";
import { exitWhenFlushed, parseArgs } from "./args";

const usage = "usage: npm run advise -- --users N [--participants P] [--regions r1,r2] [--json]";

function wholeNumber(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (raw === undefined || raw.trim() === "" || !Number.isInteger(n) || n < 0)
    throw new Error(`--${name}: ${JSON.stringify(raw)} is not a whole number; ${usage}`);
  return n;
}

export async function runAdviseCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { flags: ["json"], values: ["users", "participants", "regions"] });
  if (!args.values.has("users")) throw new Error(usage);
  const users = wholeNumber("users", args.values.get("users"));
  const participants = args.values.has("participants") ? wholeNumber("participants", args.values.get("participants")) : undefined;
  const regions = args.values
    .get("regions")
    ?.split(",")
    .map((r) => r.trim())
    .filter(Boolean);
  const a = await advise({ users, participants, regions });
  if (args.flags.has("json")) {
    process.stdout.write(JSON.stringify(a, null, 2) + "\n");
    return 0;
  }
  const c = a.capacity;
  const money = (n: number) => `$${n.toFixed(2)}`;
  const out = [
    `${a.users} concurrent users, ${a.participants} video participants: stage ${a.stage} (${a.stageName}).`,
    "",
    "Config to set (pulumi config, from the stage's preset):",
    ...a.commands.map((x) => `  ${x}`),
    "",
    "Capacity at the maxima vs the load:",
    `  requests/s            ${String(c.atMax.requestsPerSecond).padStart(8)} >= ${c.load.requestsPerSecond}   ${c.basis.requestsPerSecond}`,
    `  WebSocket connections ${String(c.atMax.websocketConnections).padStart(8)} >= ${c.load.websocketConnections}   ${c.basis.websocketConnections}`,
    `  video participants    ${String(c.atMax.videoParticipants).padStart(8)} >= ${c.load.videoParticipants}   ${c.basis.videoParticipants}`,
    `  database queries/s    ${String(c.atMax.dbQueriesPerSecond).padStart(8)} >= ${c.load.dbQueriesPerSecond}   ${c.basis.dbQueriesPerSecond}`,
    `  media storage (GB)    ${String(c.atMax.mediaStorageGb ?? "no limit").padStart(8)} >= ${c.load.mediaStorageGb}   ${c.basis.mediaStorageGb}`,
    ...(c.problems.length ? c.problems.map((p) => `  NOT COVERED: ${p}`) : ["  every load target is covered"]),
    "",
    "Monthly cost (USD) by pricing option:",
    ...a.cost.options.map(
      (o) =>
        `  ${o.name === a.cost.option ? "*" : " "} ${o.name.padEnd(14)} minimum ${money(o.totalMonthlyUsd).padStart(11)}   at the maxima ${money(o.atMaxMonthlyUsd).padStart(11)}   per user at peak $${o.perUserAtPeakUsd.toFixed(4)}   ${o.description}`,
    ),
    `  chosen: ${a.cost.option}, $${a.cost.perUserAtPeakUsd.toFixed(4)} per user at peak against the seed's $${a.cost.seedPerUserUsd.toFixed(2)} (${a.cost.meetsSeed ? "at or below" : "ABOVE"})`,
    "",
    "Why these values:",
    ...a.basis.map((b) => `  - ${b}`),
    "",
    "When to upgrade (seed), triggers passed:",
    ...(a.triggers.length ? a.triggers.map((t) => `  - ${t}`) : ["  - none yet"]),
    ...a.notes.map((n) => `Note: ${n}`),
  ];
  process.stdout.write(out.join("\n") + "\n");
  return 0;
}

if (require.main === module) {
  runAdviseCli(process.argv.slice(2)).then(
    (code) => exitWhenFlushed(code),
    (e) => exitWhenFlushed(reportError(e)),
  );
}
