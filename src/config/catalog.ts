/**
 * What Google Cloud offers, read from data/gcp-catalog.json (dated, one source per section), and the look-ups the
 * config rules (src/config/rules/) ask of it: is this a region, which zones does it have, what is this machine type
 * (vCPUs, memory) and does the region offer its series, is this a Cloud SQL tier, which buckets locations store data
 * in a region. Each look-up returns either the facts or why the name is refused, so the rules only word the refusal.
 */
import catalogJson from "../../data/gcp-catalog.json";
import { nearestName, nearestNumber } from "./refusal";

interface VcpuRange {
  from: number;
  to: number;
  step: number;
}
interface Series {
  regions: "*" | string[];
  note?: string;
  sharedCore?: Record<string, { vcpus: number; memoryGb: number }>;
  shapes?: Record<string, { vcpus: number[]; memoryPerVcpuGb: number }>;
  types?: Record<string, { vcpus: number; memoryGb: number }>;
  custom?: { namePrefix: string; note?: string; vcpuRanges: VcpuRange[]; memoryPerVcpuGb: { min: number; max: number }; maxMemoryGb: number };
}
interface Catalog {
  asOf: string;
  regions: { source: string; zones: Record<string, string[]> };
  machineSeries: { source: string; series: Record<string, Series> };
  cloudSql: {
    source: string;
    sharedCore: Record<string, { vcpus: number; memoryMb: number }>;
    custom: { minVcpus: number; maxVcpus: number; memoryPerVcpuMb: { min: number; max: number }; memoryMultipleMb: number; minMemoryMb: number };
    enterprisePlusOnly: { vcpus: number[] };
    pitr: { source: string; enterpriseMaxDays: number };
  };
  memorystoreRedis: { source: string; tiers: Record<string, { minGb: number; maxGb: number; readReplicasMinGb?: number }> };
  memorystoreRedisCluster: {
    source: string;
    nodeTypes: Record<string, { totalGb: number; keyspaceGb: number }>;
    shards: { min: number; max: number };
    replicasPerShard: { min: number; max: number };
  };
  memorystoreMemcached: {
    source: string;
    nodes: { min: number; max: number };
    memoryMbPerNode: { min: number; max: number; multipleMb: number };
    maxMemoryMbPerVcpu: number;
  };
  cloudStorage: { source: string; multiRegions: Record<string, { regions: "us-*" | string[] }>; dualRegions: Record<string, { regions: string[] }> };
  labels: {
    source: string;
    maxPerResource: number;
    key: { pattern: string; text: string };
    value: { pattern: string; text: string };
    reservedKeyPrefixes: string[];
  };
}

export const catalog = catalogJson as unknown as Catalog;

/** Every region of the catalog, sorted. */
export const REGIONS: readonly string[] = Object.keys(catalog.regions.zones).sort();

export function isRegion(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(catalog.regions.zones, name);
}

/** The zones of a region (empty for an unknown region). */
export function zonesOf(region: string): string[] {
  return [...(catalog.regions.zones[region] ?? [])];
}

/** A machine type the catalog knows: its series, vCPUs and memory. */
export interface MachineFacts {
  name: string;
  series: string;
  vcpus: number;
  memoryGb: number;
  custom: boolean;
}

/** Every predefined machine type name (for suggestions), built once. */
let predefined: Map<string, MachineFacts> | undefined;
function predefinedTypes(): Map<string, MachineFacts> {
  if (predefined) return predefined;
  predefined = new Map();
  for (const [series, s] of Object.entries(catalog.machineSeries.series)) {
    for (const [name, f] of Object.entries({ ...(s.sharedCore ?? {}), ...(s.types ?? {}) })) {
      predefined.set(name, { name, series, vcpus: f.vcpus, memoryGb: f.memoryGb, custom: false });
    }
    for (const [shape, sh] of Object.entries(s.shapes ?? {})) {
      for (const v of sh.vcpus) {
        const name = `${series}-${shape}-${v}`;
        predefined.set(name, { name, series, vcpus: v, memoryGb: v * sh.memoryPerVcpuGb, custom: false });
      }
    }
  }
  return predefined;
}

/** Predefined machine type names of a series (or of every series), in catalog order. */
export function machineTypeNames(series?: string): string[] {
  return [...predefinedTypes().values()].filter((f) => series === undefined || f.series === series).map((f) => f.name);
}

const inRanges = (n: number, ranges: VcpuRange[]) => ranges.some((r) => n >= r.from && n <= r.to && (n - r.from) % r.step === 0);
const rangesText = (ranges: VcpuRange[]) =>
  ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}${r.step > 1 ? ` in steps of ${r.step}` : ""}`)).join(", ");

/** Either the facts of a machine type, or why Compute Engine has no such type (with the closest one). */
export function machineType(name: string): { ok: true; facts: MachineFacts } | { ok: false; problem: string; allowed: string; nearest?: string } {
  const known = predefinedTypes().get(name);
  if (known) return { ok: true, facts: known };
  const series = name.split("-")[0]!;
  const s = catalog.machineSeries.series[series];
  const names = machineTypeNames();
  if (!s)
    return {
      ok: false,
      problem: "is not a Compute Engine machine series",
      allowed: `a type of series ${Object.keys(catalog.machineSeries.series).join(", ")}`,
      nearest: nearestName(name, names),
    };
  const custom = /^([a-z0-9]+)-custom-([0-9]+)-([0-9]+)$/.exec(name);
  if (custom) {
    const c = s.custom;
    if (!c || c.namePrefix !== `${series}-custom`) {
      return {
        ok: false,
        problem: `is not a machine type: series ${series} has no custom types named like this${c?.note ? ` (${c.note})` : ""}`,
        allowed: `predefined ${series} types such as ${machineTypeNames(series).slice(0, 3).join(", ")}, or custom types of e2, n2, n2d, n4`,
        nearest: machineTypeNames(series)[0],
      };
    }
    const vcpus = Number(custom[2]);
    const mb = Number(custom[3]);
    const problems: string[] = [];
    if (!inRanges(vcpus, c.vcpuRanges)) problems.push(`${vcpus} vCPUs is not offered`);
    if (mb % 256 !== 0) problems.push(`${mb} MiB is not a multiple of 256`);
    const perVcpu = mb / 1024 / vcpus;
    if (perVcpu < c.memoryPerVcpuGb.min || perVcpu > c.memoryPerVcpuGb.max)
      problems.push(`${perVcpu.toFixed(2)} GB per vCPU is outside ${c.memoryPerVcpuGb.min}-${c.memoryPerVcpuGb.max}`);
    if (mb / 1024 > c.maxMemoryGb) problems.push(`${mb / 1024} GB is above ${c.maxMemoryGb} GB`);
    if (problems.length === 0) return { ok: true, facts: { name, series, vcpus, memoryGb: mb / 1024, custom: true } };
    const vOk = inRanges(vcpus, c.vcpuRanges) ? vcpus : nearestInRanges(vcpus, c.vcpuRanges);
    // Keep the memory asked for where the vCPU count allows it, else the closest bound, in whole 256 MiB.
    const lo = Math.ceil((c.memoryPerVcpuGb.min * vOk * 1024) / 256) * 256;
    const hi = Math.floor((Math.min(c.memoryPerVcpuGb.max * vOk, c.maxMemoryGb) * 1024) / 256) * 256;
    const memNear = Math.min(hi, Math.max(lo, Math.round(mb / 256) * 256));
    return {
      ok: false,
      problem: `is not a valid ${series} custom type (${problems.join("; ")})`,
      allowed: `${series}-custom-<vCPUs>-<MiB> with vCPUs ${rangesText(c.vcpuRanges)}, ${c.memoryPerVcpuGb.min}-${c.memoryPerVcpuGb.max} GB per vCPU in multiples of 256 MiB, at most ${c.maxMemoryGb} GB`,
      nearest: `${series}-custom-${vOk}-${memNear}`,
    };
  }
  const shape = /^[a-z0-9]+-([a-z]+)(?:-([0-9]+))?$/.exec(name);
  const sh = shape ? s.shapes?.[shape[1]!] : undefined;
  const seriesNames = machineTypeNames(series);
  if (sh && shape?.[2]) {
    return {
      ok: false,
      problem: `is not a machine type: ${series}-${shape[1]} comes with ${sh.vcpus.join(", ")} vCPUs`,
      allowed: `${series}-${shape[1]}-{${sh.vcpus.join(",")}}`,
      nearest: `${series}-${shape[1]}-${nearestNumberOf(Number(shape[2]), sh.vcpus)}`,
    };
  }
  return {
    ok: false,
    problem: `is not a machine type of series ${series}`,
    allowed: `${seriesNames.length} ${series} types: ${seriesNames.slice(0, 8).join(", ")}${seriesNames.length > 8 ? ", ..." : ""}${s.custom?.namePrefix === `${series}-custom` ? `, or ${series}-custom-<vCPUs>-<MiB>` : ""}`,
    nearest: nearestName(name, seriesNames),
  };
}

function nearestInRanges(n: number, ranges: VcpuRange[]): number {
  const all: number[] = [];
  for (const r of ranges) for (let v = r.from; v <= r.to; v += r.step) all.push(v);
  return nearestNumberOf(n, all);
}
function nearestNumberOf(n: number, all: number[]): number {
  return all.reduce((b, v) => (Math.abs(v - n) < Math.abs(b - n) ? v : b), all[0]!);
}
/** Whether a region offers a machine series. */
export function seriesInRegion(series: string, region: string): boolean {
  const s = catalog.machineSeries.series[series];
  return !!s && (s.regions === "*" ? isRegion(region) : s.regions.includes(region));
}

/** The series a region offers (catalog order). */
export function seriesOf(region: string): string[] {
  return Object.keys(catalog.machineSeries.series).filter((s) => seriesInRegion(s, region));
}

/**
 * The predefined type a region offers that is closest to a type it does not: the same vCPUs (else the nearest count),
 * then the nearest memory, then the most similar name (c3d-standard-4 -> c2d-standard-4 before e2-standard-4), then
 * catalog order. Only shaped types are candidates: shared-core types are not a like-for-like swap, and the listed
 * memory-optimized types (m1, m3) are not names the schema accepts. Arm (t2a) is offered only for Arm, since the
 * images would have to change too. Undefined when the region offers nothing comparable.
 */
export function nearestTypeInRegion(facts: MachineFacts, region: string): string | undefined {
  const arm = facts.series === "t2a";
  const candidates = [...predefinedTypes().values()].filter(
    (f) => seriesInRegion(f.series, region) && (f.series === "t2a") === arm && /^[a-z0-9]+-(standard|highmem|highcpu)-[0-9]+$/.test(f.name),
  );
  const vcpus = nearestNumber(
    facts.vcpus,
    candidates.map((f) => f.vcpus),
  );
  const sameVcpus = candidates.filter((f) => f.vcpus === vcpus);
  const memoryGb = nearestNumber(
    facts.memoryGb,
    sameVcpus.map((f) => f.memoryGb),
  );
  const closest = sameVcpus.filter((f) => f.memoryGb === memoryGb).map((f) => f.name);
  return nearestName(facts.name, closest) ?? closest[0];
}

/** A Cloud SQL tier: its vCPUs and memory, or why Cloud SQL (ENTERPRISE edition, PostgreSQL) refuses it. */
export function sqlTier(tier: string): { ok: true; vcpus: number; memoryMb: number } | { ok: false; problem: string; allowed: string; nearest?: string } {
  const sql = catalog.cloudSql;
  const shared = sql.sharedCore[tier];
  if (shared) return { ok: true, vcpus: shared.vcpus, memoryMb: shared.memoryMb };
  const c = sql.custom;
  const allowed = `${Object.keys(sql.sharedCore).join(", ")}, or db-custom-<vCPUs>-<MiB> with 1 or an even number of vCPUs up to ${c.maxVcpus}, ${c.memoryPerVcpuMb.min / 1024}-${c.memoryPerVcpuMb.max / 1024} GiB per vCPU in multiples of ${c.memoryMultipleMb} MiB, at least ${c.minMemoryMb} MiB`;
  if (/^db-perf-optimized-N-[0-9]+$/.test(tier)) {
    return {
      ok: false,
      problem: "is an Enterprise Plus tier; the instances are ENTERPRISE edition, which refuses it",
      allowed,
      nearest: `db-custom-${tier.split("-").pop()}-${Number(tier.split("-").pop()) * 3840}`,
    };
  }
  const m = /^db-custom-([0-9]+)-([0-9]+)$/.exec(tier);
  if (!m) return { ok: false, problem: "is not a Cloud SQL for PostgreSQL tier", allowed };
  const vcpus = Number(m[1]);
  const mb = Number(m[2]);
  const problems: string[] = [];
  const vOk = vcpus === 1 || (vcpus >= 2 && vcpus <= c.maxVcpus && vcpus % 2 === 0);
  if (!vOk) problems.push(`${vcpus} vCPUs`);
  if (mb % c.memoryMultipleMb !== 0) problems.push(`${mb} MiB is not a multiple of ${c.memoryMultipleMb}`);
  const per = mb / vcpus;
  if (per < c.memoryPerVcpuMb.min || per > c.memoryPerVcpuMb.max) problems.push(`${(per / 1024).toFixed(2)} GiB per vCPU`);
  if (mb < c.minMemoryMb) problems.push(`below ${c.minMemoryMb} MiB`);
  if (problems.length === 0) return { ok: true, vcpus, memoryMb: mb };
  const v = vOk ? vcpus : Math.min(c.maxVcpus, Math.max(2, vcpus + (vcpus % 2)));
  const lo = Math.max(c.minMemoryMb, Math.ceil((v * c.memoryPerVcpuMb.min) / c.memoryMultipleMb) * c.memoryMultipleMb);
  const hi = Math.floor((v * c.memoryPerVcpuMb.max) / c.memoryMultipleMb) * c.memoryMultipleMb;
  const memNear = Math.min(hi, Math.max(lo, Math.round(mb / c.memoryMultipleMb) * c.memoryMultipleMb));
  return { ok: false, problem: `is not a Cloud SQL tier (${problems.join("; ")})`, allowed, nearest: `db-custom-${v}-${memNear}` };
}

/** Whether a Cloud Storage location stores data in `region`, and every location that does (for suggestions). */
export function gcsLocationsFor(region: string): string[] {
  const cs = catalog.cloudStorage;
  const out = [region.toUpperCase()];
  for (const [name, m] of Object.entries(cs.multiRegions)) {
    if (m.regions === "us-*" ? region.startsWith("us-") : m.regions.includes(region)) out.push(name);
  }
  for (const [name, d] of Object.entries(cs.dualRegions)) if (d.regions.includes(region)) out.push(name);
  return out;
}

/** Every Cloud Storage location of the catalog: regions (upper case), multi-regions, predefined dual-regions. */
export function gcsLocations(): string[] {
  return [...REGIONS.map((r) => r.toUpperCase()), ...Object.keys(catalog.cloudStorage.multiRegions), ...Object.keys(catalog.cloudStorage.dualRegions)];
}
