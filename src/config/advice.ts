/**
 * Advice for a load: the sizing model's configuration (src/config/sizing.ts) as `--set` pairs, checked by planning
 * it offline (the same engine as `npm run plan`: config validation, the capacity check at the load, every
 * component), priced by src/plan/cost.ts under each pricing option, the cheapest commitment that reaches the
 * seed's cost per user chosen. The seed's "When to Upgrade" triggers passed are listed beside it.
 */
import { join } from "node:path";
import { planStack, type Plan } from "../plan/engine";
import { readStackConfig } from "../plan/stackfile";
import { COMMITMENTS, estimateCost, type Commitment, type CostEstimate } from "../plan/cost";
import { capacityOf, capacityProblems, type Capacity } from "./capacity";
import { parseConfig } from "./load";
import type { Config, Stage } from "./schema";
import { pulumiCommand, seedTargetPerUser, setArg, size, stageBands, type SetValue, type Sizing, type SizingInput } from "./sizing";

export { stageBands } from "./sizing";

/** Seed "When to Upgrade" triggers. */
export const upgradeTriggers: { atUsers: number; action: string }[] = [
  { atUsers: 400, action: "Add indexes + Redis (stage 1: vm.databaseIndexes, Redis on the VM)" },
  { atUsers: 1500, action: "Cloud SQL + CDN (CDN at stage 2, Cloud SQL at stage 3)" },
  { atUsers: 5000, action: "Load balancer + auto-scaling (stage 3)" },
  { atUsers: 20000, action: "Kubernetes (stage 4)" },
  { atUsers: 100000, action: "Multi-region + sharding (stage 4 with more regions and shards)" },
];

/** Pricing options the advice weighs, least commitment first (at stage 4 each also with the workers on Spot). */
export const OPTION_NAMES: Record<Commitment, string> = { none: "on-demand", "1y": "commitment-1y", "3y": "commitment-3y" };

export interface PricedOption {
  name: string;
  description: string;
  totalMonthlyUsd: number;
  atMaxMonthlyUsd: number;
  perUserAtPeakUsd: number;
}

export interface Advice {
  users: number;
  participants: number;
  stage: Stage;
  stageName: string;
  /** `--set` pairs (keys without the project's namespace) that `npm run plan` takes as they are. */
  sets: Record<string, SetValue>;
  capacity: {
    load: Config["load"];
    /** What the configuration reaches at its maxima. */
    atMax: Omit<Capacity, "basis">;
    basis: Capacity["basis"];
    /** Load targets not covered (empty: the check passes). */
    problems: string[];
  };
  cost: {
    /** The chosen pricing option (one of `options`). */
    option: string;
    totalMonthlyUsd: number;
    atMaxMonthlyUsd: number;
    /** The month at the maxima (the peak the configuration is sized for) per concurrent user. */
    perUserAtPeakUsd: number;
    seedPerUserUsd: number;
    meetsSeed: boolean;
    options: PricedOption[];
    applied: string[];
  };
  /** The same pairs as `pulumi config set` commands, then the offline check and the deploy. */
  commands: string[];
  /** How each value follows from the load. */
  basis: string[];
  triggers: string[];
  notes: string[];
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const round4 = (n: number) => Math.round(n * 10000) / 10000;

/** The stack file the advice plans against: the shipped one of the stage (Pulumi.stage<N>.yaml). */
export const stackOf = (stage: Stage) => `stage${stage}`;

/**
 * Size, plan and price a load. `projectDir` holds Pulumi.yaml and the stage stack files (default: this repository);
 * `plan` replaces the planner (tests pass their cached one; same engine).
 */
export async function advise(input: SizingInput, opts: { projectDir?: string; plan?: (stack: string, sets: string[]) => Promise<Plan> } = {}): Promise<Advice> {
  const projectDir = opts.projectDir ?? join(__dirname, "../..");
  const target = seedTargetPerUser(input.users);
  // Stage 4 weighs the email workers on Spot nodes as well: a second configuration, planned and priced too.
  const first = size(input);
  const variants = first.stage === 4 ? [false, true] : [false];
  const candidates: { s: Sizing; config: Config; spot: boolean; c: Commitment; est: CostEstimate }[] = [];
  for (const spot of variants) {
    const s = spot ? size({ ...input, workerSpot: true }) : first;
    const setArgs = Object.entries(s.sets).map(([k, v]) => setArg(k, v));
    const stack = stackOf(s.stage);
    const config = parseConfig(readStackConfig(projectDir, stack, setArgs).config);
    const plan = await (opts.plan ? opts.plan(stack, setArgs) : planStack({ stack, sets: setArgs, projectDir }));
    for (const c of COMMITMENTS) candidates.push({ s, config, spot, c, est: estimateCost(plan, config, { commitment: c }) });
  }
  const option = (x: (typeof candidates)[number]): PricedOption => ({
    name: OPTION_NAMES[x.c] + (x.spot ? "+spot-workers" : ""),
    description: [x.c === "none" ? "on-demand list prices (N2 with sustained use)" : "", ...x.est.options].filter(Boolean).join("; "),
    totalMonthlyUsd: x.est.totalMonthlyUsd,
    atMaxMonthlyUsd: x.est.atMaxMonthlyUsd,
    perUserAtPeakUsd: round4(x.est.atMaxMonthlyUsd / input.users),
  });
  const options = candidates.map(option);
  // Per commitment the cheaper of the variants; then the least commitment that reaches the seed's figure, or the
  // cheapest of all when none does.
  const best = COMMITMENTS.map(
    (c) =>
      candidates
        .map((x, i) => ({ x, i }))
        .filter(({ x }) => x.c === c)
        .sort((a, b) => options[a.i]!.atMaxMonthlyUsd - options[b.i]!.atMaxMonthlyUsd)[0]!.i,
  );
  const reaching = best.find((i) => options[i]!.perUserAtPeakUsd <= target);
  const idx = reaching ?? best.reduce((m, i) => (options[i]!.atMaxMonthlyUsd < options[m]!.atMaxMonthlyUsd ? i : m), best[0]!);
  const chosen = options[idx]!;
  const pick = candidates[idx]!;
  const s = pick.s;
  const config = pick.config;
  const { basis: capBasis, ...atMax } = capacityOf(config);
  const notes: string[] = [];
  if (reaching === undefined)
    notes.push(`no pricing option reaches the seed's $${target} per user at peak; the cheapest is ${chosen.name} at $${chosen.perUserAtPeakUsd}`);
  if (pick.c !== "none")
    notes.push(
      `${chosen.name}: buy the commitment (Compute Engine, Cloud SQL, Memorystore) sized to the advised maxima; it bills every month whether the autoscalers use it or not`,
    );
  // The budget alert follows the estimate (rounded up to the next $100).
  const budget = Math.ceil(chosen.atMaxMonthlyUsd / 100) * 100;
  const sets: Record<string, SetValue> = { ...s.sets, "monitoring.monthlyBudgetUsd": Math.min(1_000_000, Math.max(1, budget)) };
  const allArgs = Object.entries(sets).map(([k, v]) => setArg(k, v));
  const commands = [
    ...Object.entries(sets).map(([k, v]) => pulumiCommand(k, v)),
    `npm run plan -- --stack <your-stack> --from <your-stack> ${allArgs.map((a) => `--set '${a}'`).join(" ")}   # check the move offline first`,
    "pulumi preview && pulumi up",
  ];
  return {
    users: input.users,
    participants: s.load.videoParticipants,
    stage: s.stage,
    stageName: stageBands.find((b) => b.stage === s.stage)!.name,
    sets,
    capacity: { load: s.load, atMax, basis: capBasis, problems: capacityProblems(config) },
    cost: {
      option: chosen.name,
      totalMonthlyUsd: round2(chosen.totalMonthlyUsd),
      atMaxMonthlyUsd: round2(chosen.atMaxMonthlyUsd),
      perUserAtPeakUsd: chosen.perUserAtPeakUsd,
      seedPerUserUsd: target,
      meetsSeed: chosen.perUserAtPeakUsd <= target,
      options,
      applied: pick.est.options,
    },
    commands,
    basis: s.basis,
    triggers: upgradeTriggers.filter((t) => input.users >= t.atUsers).map((t) => `${t.atUsers}+ concurrent: ${t.action}`),
    notes,
  };
}
