/**
 * The one format every refused value is reported in, by the config loader and by components that assert:
 *
 *     <full key>: <value> <problem>; allowed: <what is allowed>[; did you mean <nearest valid value>?]
 *
 * e.g. `gcp:region: "us-central9" is not a Compute Engine region; allowed: one of 42 regions (data/gcp-catalog.json);
 * did you mean "us-central1"?`. One line per problem, no line breaks inside; a config with problems is refused as a
 * whole with `ConfigError` (every line at once) and the CLIs and `pulumi up` exit with CONFIG_EXIT_CODE, before any
 * resource is registered.
 *
 * API (small on purpose):
 * - `refusal({ key, value, problem?, allowed, nearest? })` -> the line;
 * - `configKey(path)` -> the full stack-file key of a Config path ("vm.zone" -> "course-organizer:vm.zone");
 * - `nearestName(value, candidates)` / `nearestNumber(value, candidates)` -> the suggestion, if any is close;
 * - `ConfigError` (its `problems` are the lines) and `CONFIG_EXIT_CODE`;
 * - `argRefuser(owner, param?)` -> the same line for an argument of a component or a file renderer, keyed
 *   `<owner> <param>.<path>` ("RedisCluster args.shards", "nginxConf options.httpPort").
 *
 * Components and renderers check the arguments they are given even where the config already refuses the values
 * it could produce them from: they are reusable with arguments no stack file writes. Those checks throw
 * `pulumi.ResourceError` (components, before any child) or `Error` (pure functions), one refusal line per problem.
 */

/** The project's config namespace: stack-file keys are `course-organizer:<key>`. */
export const NAMESPACE = "course-organizer";

/** Exit code of a refused configuration (1 is any other error, 3 the plan guard). */
export const CONFIG_EXIT_CODE = 2;

/** A config that cannot be used; `problems` has one line per problem, each in the refusal format. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export interface Refusal {
  /** Full stack-file key, e.g. `course-organizer:vm.machineType` or `gcp:region` (see configKey). */
  key: string;
  /** The refused value as configured (shown as JSON; undefined shows as "(not set)"). */
  value: unknown;
  /** What is wrong, read after the value ("is not a Compute Engine region"). @default "is not allowed" */
  problem?: string;
  /** What is allowed instead, read after "allowed: " ("a number <= 7", "1, 2, 3, 4"). */
  allowed: string;
  /** The closest valid value, when there is one worth suggesting. */
  nearest?: unknown;
}

/** A value as a refusal shows it: JSON, cut at 80 characters. */
export function showValue(value: unknown): string {
  if (value === undefined) return "(not set)";
  const s = JSON.stringify(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** One refusal line (no line breaks: a problem is one line). */
export function refusal(r: Refusal): string {
  const line = `${r.key}: ${showValue(r.value)} ${r.problem ?? "is not allowed"}; allowed: ${r.allowed}${r.nearest !== undefined ? `; did you mean ${showValue(r.nearest)}?` : ""}`;
  return line.replace(/\s*\n\s*/g, " ");
}

/**
 * Refusal lines for the arguments of `owner` (a component class or a function): the key is
 * `<owner> <param>.<path>`, e.g. `RedisCluster args.shards: 0 is below 1; allowed: 1-250`.
 */
export function argRefuser(owner: string, param = "args"): (path: string, value: unknown, problem: string, allowed: string, nearest?: unknown) => string {
  return (path, value, problem, allowed, nearest) =>
    refusal({ key: param ? `${owner} ${param}.${path}` : `${owner} ${path}`, value, problem, allowed, nearest });
}

/** The full stack-file key of a dotted Config path: `project`/`region` are the provider's gcp:project/gcp:region. */
export function configKey(path: string): string {
  if (path === "project" || path === "region") return `gcp:${path}`;
  return `${NAMESPACE}:${path}`;
}

/** Levenshtein distance (small strings: names of regions, machine types, tiers). */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `value` by edit distance, when it is close enough to be a likely typo (at most a third
 * of the value's length, and at least 1 edit is tolerated); ties go to the earlier candidate.
 */
export function nearestName(value: string, candidates: readonly string[]): string | undefined {
  const v = value.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(v, c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.ceil(v.length / 3)) ? best : undefined;
}

/** The allowed number closest to `value` (ties go to the smaller). */
export function nearestNumber(value: number, candidates: readonly number[]): number | undefined {
  let best: number | undefined;
  for (const c of candidates) if (best === undefined || Math.abs(c - value) < Math.abs(best - value)) best = c;
  return best;
}
