/**
 * Turns a stack's raw config (the `namespace:key` -> string map Pulumi hands the program) into one validated
 * Config: the stage preset, overridden by the stack's values, checked by the schema and by the rules that
 * span several keys. Every problem is reported at once, one line each, naming the full key, the bad value and
 * what is allowed. Nothing here touches Pulumi's engine, so a bad config fails before any resource exists.
 */
import { z } from "zod";
import { alertThresholds, configKeys, configSchema, type Config, type Stage } from "./schema";
import { presetFor } from "./presets";
import { capacityProblems } from "./capacity";
import { regionRanges } from "../../components/network";

export const NAMESPACE = "course-organizer";

/** A config that cannot be used; `problems` has one line per problem. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** gcp:* keys the program reads; other gcp:* keys belong to the provider and pass through. */
const gcpKeys = { project: "gcp:project", region: "gcp:region" } as const;
const scalarKeys = new Set(["stage", "prefix", "domain", "meetDomain"]);

function show(value: unknown): string {
  if (value === undefined) return "(not set)";
  const s = JSON.stringify(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The full stack-file key of a path in the Config object. */
export function keyOf(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path;
  if (head === "project" || head === "region") return gcpKeys[head];
  let key = `${NAMESPACE}:${String(head)}`;
  for (const p of rest) key += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
  return key;
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function allowedText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return `expected ${issue.expected}`;
    case "invalid_value":
      return `allowed: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small":
      return issue.origin === "array" || issue.origin === "string"
        ? `expected at least ${String(issue.minimum)} ${issue.origin === "array" ? "items" : "characters"}`
        : `expected a number >= ${String(issue.minimum)}`;
    case "too_big":
      return issue.origin === "array" || issue.origin === "string"
        ? `expected at most ${String(issue.maximum)} ${issue.origin === "array" ? "items" : "characters"}`
        : `expected a number <= ${String(issue.maximum)}`;
    case "invalid_format":
      return `expected ${issue.message.startsWith("Invalid") ? issue.format : issue.message}`;
    case "invalid_union":
      return issue.message;
    default:
      return issue.message;
  }
}

function formatIssues(error: z.ZodError, merged: unknown): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      const parent = valueAt(merged, issue.path) as Record<string, unknown>;
      const allowed = Object.keys(parent ?? {}).filter((k) => !issue.keys.includes(k));
      for (const k of issue.keys) {
        lines.push(`${keyOf([...issue.path, k])}: unknown key (value ${show(parent?.[k])}); allowed keys here: ${allowed.join(", ")}`);
      }
      continue;
    }
    lines.push(`${keyOf(issue.path)}: ${show(valueAt(merged, issue.path))} is not allowed; ${allowedText(issue)}`);
  }
  return lines;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Deep merge: objects merge key by key, everything else (arrays included) replaces. */
export function deepMerge<T>(base: T, override: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(override)) return (override === undefined ? base : override) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) {
    out[k] = k in out ? deepMerge(out[k], v) : v;
  }
  return out as T;
}

/** Share of database.maxConnections the GKE pods' PgBouncers may take; the rest is for migrations, admins and Cloud SQL itself. */
export const DB_CONNECTION_SHARE = 0.8;

/**
 * Server connections one PgBouncer may open to a database at most: its pool plus the reserve src/files/pgbouncer.ts
 * writes (reserve_pool_size = max(1, ceil(pool / 4)); max_db_connections = pool + reserve).
 */
export function pgbouncerServerCap(poolSize: number): number {
  return poolSize + Math.max(1, Math.ceil(poolSize / 4));
}

/** First and last address of an IPv4 CIDR, as numbers. */
export function cidrBounds(cidr: string): [number, number] {
  const [addr, len] = cidr.split("/");
  const n = addr!.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(len));
  return [n, n + size - 1];
}

/** The Private Service Access range against the subnets' primary and GKE ranges of every region. */
function privateServicesProblems(c: Config): string[] {
  if (!c.network.privateServiceAccess) return [];
  const key = `${NAMESPACE}:network.privateServicesAddress`;
  const psa = `${c.network.privateServicesAddress}/${c.network.privateServicesPrefixLength}`;
  const [start, end] = cidrBounds(psa);
  if (start % (end - start + 1) !== 0) {
    return [`${key}: ${JSON.stringify(c.network.privateServicesAddress)} does not start a /${c.network.privateServicesPrefixLength} block; use an address aligned to the prefix length`];
  }
  const out: string[] = [];
  for (const r of regionRanges([c.region, ...c.secondaryRegions], c.network)) {
    for (const [what, cidr] of [["subnet", r.subnetCidr], ["pods", r.podsCidr], ["services", r.servicesCidr]] as const) {
      const [a, b] = cidrBounds(cidr);
      if (a <= end && start <= b) out.push(`${key}: ${psa} overlaps the ${what} range ${cidr} of ${r.region}; choose a free block`);
    }
  }
  return out;
}

/** Rules that span several keys: options that exclude or need each other. */
export function crossProblems(c: Config): string[] {
  const p: string[] = [...privateServicesProblems(c)];
  const k = (path: string) => `${NAMESPACE}:${path}`;
  const range = (path: string, min: number, max: number) => {
    if (min > max) p.push(`${k(path)}: min ${min} is greater than max ${max}; min must be <= max`);
  };
  range("httpPool.minReplicas/maxReplicas", c.httpPool.minReplicas, c.httpPool.maxReplicas);
  range("wsPool.minReplicas/maxReplicas", c.wsPool.minReplicas, c.wsPool.maxReplicas);
  range("video.bridgesPerRegion/maxBridgesPerRegion", c.video.bridgesPerRegion, c.video.maxBridgesPerRegion);
  range("kubernetes.nodesPerZoneMin/nodesPerZoneMax", c.kubernetes.nodesPerZoneMin, c.kubernetes.nodesPerZoneMax);
  for (const where of ["primary", "secondary"] as const) {
    for (const wl of ["api", "ws", "worker"] as const) {
      const r = c.kubernetes[where][wl];
      range(`kubernetes.${where}.${wl}.min/max`, r.min, r.max);
      if (r.initial < r.min || r.initial > r.max) {
        p.push(`${k(`kubernetes.${where}.${wl}.initial`)}: ${r.initial} is outside min..max (${r.min}..${r.max}); choose a value in that range`);
      }
    }
  }
  for (const [name, t] of Object.entries(alertThresholds(c.monitoring))) {
    if (t.warning >= t.critical) p.push(`${k(`monitoring.${name}`)}: warning ${t.warning} must be below critical ${t.critical}`);
  }
  const needsPsa = (on: boolean, path: string) => {
    if (on && !c.network.privateServiceAccess) {
      p.push(`${k(path)}: true needs ${k("network.privateServiceAccess")}=true (private IP through Private Service Access); it is false`);
    }
  };
  needsPsa(c.database.enabled, "database.enabled");
  needsPsa(c.cache.enabled, "cache.enabled");
  needsPsa(c.cache.memcachedEnabled, "cache.memcachedEnabled");
  if (c.vm.enabled && c.vm.retained) {
    p.push(`${k("vm.retained")}: true excludes ${k("vm.enabled")}=true; a retained VM is stopped, set vm.enabled=false or vm.retained=false`);
  }
  const serving = c.vm.enabled || c.httpPool.enabled || c.kubernetes.enabled;
  if (!serving) p.push(`${k("vm.enabled")}: false with httpPool.enabled=false and kubernetes.enabled=false leaves nothing serving the app; enable one`);
  if (c.httpPool.enabled !== c.wsPool.enabled) {
    p.push(`${k("wsPool.enabled")}: ${c.wsPool.enabled} differs from ${k("httpPool.enabled")}=${c.httpPool.enabled}; the two pools go together behind /api and /ws`);
  }
  if ((c.httpPool.enabled || c.kubernetes.enabled) && !c.loadBalancer.enabled) {
    p.push(`${k("loadBalancer.enabled")}: false, but instance groups or GKE need the load balancer in front; set it to true`);
  }
  if ((c.httpPool.enabled || c.kubernetes.enabled) && !c.database.enabled) {
    p.push(`${k("database.enabled")}: false, but several app instances need a shared database (Cloud SQL); set it to true`);
  }
  if ((c.httpPool.enabled || c.kubernetes.enabled) && !c.cache.enabled) {
    p.push(`${k("cache.enabled")}: false, but several app instances need a shared Redis (Memorystore); set it to true`);
  }
  if (c.loadBalancer.enabled && !c.media.enabled) {
    p.push(`${k("media.enabled")}: false, but the load balancer serves /static and /media from the buckets; set it to true`);
  }
  if (c.dns.enabled && !c.loadBalancer.enabled) {
    p.push(`${k("dns.enabled")}: true needs loadBalancer.enabled=true; the zone's A record is the load balancer's address`);
  }
  if (c.database.migrateFromVm && !(c.vm.enabled && c.database.enabled)) {
    p.push(`${k("database.migrateFromVm")}: true needs vm.enabled=true (the source) and database.enabled=true (the target)`);
  }
  if (c.database.migrateFromVm && c.database.cutover) {
    p.push(`${k("database.cutover")}: true while database.migrateFromVm=true; finish the migration job first (cutover=false while it runs)`);
  }
  if (c.database.shards > 0 && !c.database.enabled) {
    p.push(`${k("database.shards")}: ${c.database.shards} needs database.enabled=true`);
  }
  if (c.database.crossRegionReplicas && c.secondaryRegions.length === 0) {
    p.push(`${k("database.crossRegionReplicas")}: true needs at least one region in ${k("secondaryRegions")}; it is empty`);
  }
  if (c.kubernetes.enabled && !c.queue.enabled) {
    p.push(`${k("queue.enabled")}: false, but the GKE worker Deployment consumes the email-queue subscription; set it to true`);
  }
  if (c.video.mode === "vm" && !c.vm.enabled) {
    p.push(`${k("video.mode")}: "vm" needs vm.enabled=true; use "pool" once the VM no longer serves`);
  }
  if (c.video.relay && c.secondaryRegions.length === 0) {
    p.push(`${k("video.relay")}: true cascades bridges across regions and needs ${k("secondaryRegions")}; it is empty`);
  }
  if (c.secondaryRegions.includes(c.region)) {
    p.push(`${k("secondaryRegions")}: contains the primary region ${JSON.stringify(c.region)}; list only further regions`);
  }
  if (new Set(c.secondaryRegions).size !== c.secondaryRegions.length) {
    p.push(`${k("secondaryRegions")}: ${show(c.secondaryRegions)} lists a region twice; list each once`);
  }
  if (c.loadBalancer.gkeTrafficPercent > 0 && !c.kubernetes.enabled) {
    p.push(`${k("loadBalancer.gkeTrafficPercent")}: ${c.loadBalancer.gkeTrafficPercent} needs kubernetes.enabled=true`);
  }
  if (c.kubernetes.enabled && c.database.enabled) {
    // Every pod's PgBouncer may hold its pool plus its reserve (max_db_connections) on the primary at once.
    const pool = c.kubernetes.pgbouncerPoolSizePerPod;
    const perPod = pgbouncerServerCap(pool);
    const maxPods = (r: Config["kubernetes"]["primary"]) => r.api.max + r.ws.max + r.worker.max;
    const pods = maxPods(c.kubernetes.primary) + maxPods(c.kubernetes.secondary) * c.secondaryRegions.length;
    const budget = Math.floor(c.database.maxConnections * DB_CONNECTION_SHARE);
    if (pods * perPod > budget) {
      p.push(
        `${k("kubernetes.pgbouncerPoolSizePerPod")}: ${pool} (+${perPod - pool} reserve = ${perPod} server connections per pod) x ${pods} pods at the kubernetes.primary/secondary maxima in ${1 + c.secondaryRegions.length} region(s) = ${pods * perPod}, over ${DB_CONNECTION_SHARE * 100} % of ${k("database.maxConnections")} ${c.database.maxConnections} (${budget}) by ${pods * perPod - budget}; lower the pool size or the maxima, or raise database.maxConnections`,
      );
    }
  }
  if (c.loadBalancer.gkeTrafficPercent < 100 && c.kubernetes.enabled && !c.httpPool.enabled) {
    p.push(`${k("loadBalancer.gkeTrafficPercent")}: ${c.loadBalancer.gkeTrafficPercent} sends traffic to instance groups, but httpPool.enabled=false; use 100 or enable the pools`);
  }
  return p;
}

/** Parse one stack-file value: scalars stay strings, objects and arrays arrive as JSON text. */
function parseValue(key: string, raw: string, problems: string[]): unknown {
  const name = key.slice(NAMESPACE.length + 1);
  if (name === "stage") {
    const n = Number(raw);
    return Number.isFinite(n) && raw.trim() !== "" ? n : raw;
  }
  if (scalarKeys.has(name)) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    problems.push(`${key}: ${show(raw)} is not a structured value; expected an object or list (use 'pulumi config set --path ${key}.<field> <value>')`);
    return undefined;
  }
}

/**
 * Validate a raw config map (`namespace:key` -> string, as in PULUMI_CONFIG).
 * Throws ConfigError with every problem found.
 */
export function parseConfig(raw: Record<string, string>): Config {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const colon = key.indexOf(":");
    const ns = key.slice(0, colon);
    const name = key.slice(colon + 1);
    if (ns !== NAMESPACE) continue;
    if (!configKeys.includes(name)) {
      problems.push(`${key}: unknown key (value ${show(value)}); allowed keys: ${configKeys.map((k2) => `${NAMESPACE}:${k2}`).join(", ")}`);
      continue;
    }
    const parsed = parseValue(key, value, problems);
    if (parsed !== undefined) values[name] = parsed;
  }

  const stage = values.stage;
  if (stage === undefined) {
    problems.push(`${NAMESPACE}:stage: (not set) is required; allowed: 1, 2, 3, 4 (pulumi config set stage 1)`);
  } else if (![1, 2, 3, 4].includes(stage as number)) {
    problems.push(`${NAMESPACE}:stage: ${show(stage)} is not allowed; allowed: 1, 2, 3, 4`);
  }
  const project = raw[gcpKeys.project];
  const region = raw[gcpKeys.region];
  if (project === undefined) problems.push(`gcp:project: (not set) is required; expected a GCP project id (pulumi config set gcp:project <id>)`);
  if (region === undefined) problems.push(`gcp:region: (not set) is required; expected a GCP region such as us-central1`);
  if (values.domain === undefined) problems.push(`${NAMESPACE}:domain: (not set) is required; expected the site's domain, e.g. courses.example.org`);
  if (problems.length > 0) throw new ConfigError(problems);

  // The preset derives names (image paths, bucket locations) from these: check them first, so that one bad
  // prefix is one message rather than one per derived value.
  const naming = configSchema.pick({ project: true, region: true, prefix: true, domain: true }).safeParse({
    project,
    region,
    prefix: values.prefix ?? "co",
    domain: values.domain,
  });
  if (!naming.success) throw new ConfigError(formatIssues(naming.error, { project, region, prefix: values.prefix, domain: values.domain }));

  const base = {
    project: project!,
    region: region!,
    prefix: typeof values.prefix === "string" ? values.prefix : "co",
    domain: String(values.domain),
  };
  const preset = presetFor(stage as Stage, base);
  const { stage: _s, ...overrides } = values;
  const merged = { stage, ...deepMerge(preset, overrides) };

  const result = configSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(formatIssues(result.error, merged));
  const cross = [...crossProblems(result.data), ...capacityProblems(result.data)];
  if (cross.length > 0) throw new ConfigError(cross);
  return result.data;
}
