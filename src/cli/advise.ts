/**
 * npm run advise -- --users N [--participants M] [--json]
 *
 * Prints the stage the seed recommends for a load, the "When to Upgrade" triggers passed, and the config to
 * change.
 */
import { advise } from "../config/advice";
import { exitWhenFlushed, parseArgs } from "./args";

export function runAdviseCli(argv: string[]): number {
  const args = parseArgs(argv, { flags: ["json"], values: ["users", "participants"] });
  const users = Number(args.values.get("users"));
  if (!args.values.has("users") || !Number.isFinite(users)) throw new Error("usage: npm run advise -- --users N [--participants M]");
  const p = args.values.has("participants") ? Number(args.values.get("participants")) : undefined;
  const a = advise(users, p);
  if (args.flags.has("json")) {
    process.stdout.write(JSON.stringify(a, null, 2) + "\n");
    return 0;
  }
  const out = [
    `${a.users} concurrent users, ${a.participants} video participants: stage ${a.stage} (${a.stageName}, seed estimate ${a.monthly}/month).`,
    "",
    "When to upgrade (seed), triggers passed:",
    ...(a.triggers.length ? a.triggers.map((t) => `  - ${t}`) : ["  - none yet"]),
    "",
    "Config to change:",
    ...a.commands.map((c) => `  ${c}`),
    "",
    ...a.notes.map((n) => `Note: ${n}`),
  ];
  process.stdout.write(out.join("\n") + "\n");
  return 0;
}

if (require.main === module) {
  try {
    exitWhenFlushed(runAdviseCli(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    exitWhenFlushed(2);
  }
}
