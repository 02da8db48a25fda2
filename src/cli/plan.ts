/**
 * npm run plan -- --stack <stack> [--set key=value ...] [--json] [--preview] [--inputs] [--from <other-stack>]
 *                  [--cost [--commitment 1y|3y]] [--capacity] [--deploy-time]
 *
 * Runs the program for a stack offline under the Pulumi SDK's mock engine and prints what `pulumi up` would
 * create (a tree, or --json), or with --from what changes when a deployment moves from another stack's config
 * to this one, guarded: a move that would replace or delete stored data without retention exits 3.
 * A config error exits 2 with one line per problem.
 */
import { planStack } from "../plan/engine";
import { diffPlans } from "../plan/diff";
import { formatDiff, formatTree } from "../plan/format";
import { formatGuard, guardDiff } from "../plan/guard";
import { exitWhenFlushed, parseArgs } from "./args";
import { ConfigError, parseConfig } from "../config/load";
import { CONFIG_EXIT_CODE } from "../config/refusal";
import { capacityOf } from "../config/capacity";
import { COMMITMENTS, estimateCost, formatCost, type Commitment } from "../plan/cost";
import { deployTime, formatDeployTime } from "../plan/deploy-time";
import { readStackConfig } from "../plan/stackfile";

export async function runPlanCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { flags: ["json", "preview", "inputs", "cost", "capacity", "deploy-time"], values: ["stack", "from", "commitment"] });
  const stack = args.values.get("stack");
  if (!stack) throw new Error("--stack <name> is required (stage1 .. stage4)");
  const preview = args.flags.has("preview");
  const plan = await planStack({ stack, sets: args.sets, preview });
  const from = args.values.get("from");
  if (from) {
    const old = await planStack({ stack, configStack: from, preview });
    const diff = diffPlans(old, plan, from);
    const guard = guardDiff(diff, old, plan);
    if (args.flags.has("json")) {
      process.stdout.write(JSON.stringify({ stack, from, stage: plan.stage, diff, guard }, null, 2) + "\n");
    } else {
      process.stdout.write(formatDiff(diff) + "\n" + formatGuard(guard) + "\n");
    }
    // 3: the move would lose stored data (a config error is 2).
    return guard.ok ? 0 : 3;
  }
  const config = parseConfig(readStackConfig(process.cwd(), stack, args.sets).config);
  const commitment = args.values.get("commitment") ?? "none";
  if (!(COMMITMENTS as string[]).includes(commitment))
    throw new Error(`--commitment: ${JSON.stringify(commitment)} is not allowed; allowed: ${COMMITMENTS.join(", ")}`);
  const cost = args.flags.has("cost") ? estimateCost(plan, config, { commitment: commitment as Commitment }) : undefined;
  const capacity = args.flags.has("capacity") ? { load: config.load, capacity: capacityOf(config) } : undefined;
  const time = args.flags.has("deploy-time") ? deployTime(plan) : undefined;
  if (args.flags.has("json")) {
    const record = { stack: plan.stack, stage: plan.stage, preview, resources: plan.resources, outputs: plan.outputs, cost, capacity, deployTime: time };
    process.stdout.write(JSON.stringify(record, null, 2) + "\n");
    return 0;
  }
  process.stdout.write(formatTree(plan, { inputs: args.flags.has("inputs") }) + "\n");
  if (cost) process.stdout.write(formatCost(cost) + "\n");
  if (capacity) {
    const c = capacity.capacity;
    process.stdout.write(
      [
        "",
        "Capacity at the configured maximum vs the stage's load targets (config load):",
        `    requests/s            ${String(c.requestsPerSecond).padStart(7)} >= ${capacity.load.requestsPerSecond}   ${c.basis.requestsPerSecond}`,
        `    WebSocket connections ${String(c.websocketConnections).padStart(7)} >= ${capacity.load.websocketConnections}   ${c.basis.websocketConnections}`,
        `    video participants    ${String(c.videoParticipants).padStart(7)} >= ${capacity.load.videoParticipants}   ${c.basis.videoParticipants}`,
        `    database queries/s    ${String(c.dbQueriesPerSecond).padStart(7)} >= ${capacity.load.dbQueriesPerSecond}   ${c.basis.dbQueriesPerSecond}`,
        `    media storage (GB)    ${String(c.mediaStorageGb ?? "no limit").padStart(7)} >= ${capacity.load.mediaStorageGb}   ${c.basis.mediaStorageGb}`,
      ].join("\n") + "\n",
    );
  }
  if (time) process.stdout.write(formatDeployTime(time) + "\n");
  return 0;
}

/** Print a config error as its lines, anything else as one line, and pick the exit code. */
export function reportError(e: unknown): number {
  const err = e instanceof Error ? e : new Error(String(e));
  // The program wraps ConfigError in pulumi.RunError; both carry the same lines.
  if (err instanceof ConfigError || /invalid stack configuration/.test(err.message)) {
    process.stderr.write(`error: ${err.message}\n`);
    return CONFIG_EXIT_CODE;
  }
  process.stderr.write(`error: ${err.message}\n`);
  return 1;
}

if (require.main === module) {
  runPlanCli(process.argv.slice(2)).then(
    (code) => exitWhenFlushed(code),
    (e) => exitWhenFlushed(reportError(e)),
  );
}
