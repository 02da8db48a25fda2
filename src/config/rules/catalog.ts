/**
 * Values Google Cloud itself would refuse, checked against data/gcp-catalog.json: regions and zones, machine types
 * (and whether the region offers their series), Cloud SQL tiers, Memorystore sizes, Redis Cluster and Memcached
 * shapes, the media bucket's location and the labels.
 */
import type { Config } from "../schema";
import {
  REGIONS,
  catalog,
  gcsLocations,
  gcsLocationsFor,
  isRegion,
  machineType,
  nearestTypeInRegion,
  seriesInRegion,
  seriesOf,
  sqlTier,
  zonesOf,
} from "../catalog";
import { nearestName } from "../refusal";
import { k, refuse } from "./util";

const regionAllowed = `one of the ${REGIONS.length} Compute Engine regions of data/gcp-catalog.json (e.g. us-central1, europe-west1)`;

/** The primary and further regions exist. */
export function regionProblems(c: Config): string[] {
  const p: string[] = [];
  if (!isRegion(c.region)) p.push(refuse("region", c.region, "is not a Compute Engine region", regionAllowed, nearestName(c.region, REGIONS)));
  c.secondaryRegions.forEach((r, i) => {
    if (!isRegion(r)) p.push(refuse(`secondaryRegions[${i}]`, r, "is not a Compute Engine region", regionAllowed, nearestName(r, REGIONS)));
  });
  return p;
}

/** The VM's zone is a zone of the primary region (the default, <region>-b, too). */
export function zoneProblems(c: Config): string[] {
  if (!isRegion(c.region)) return [];
  const zones = zonesOf(c.region);
  const zone = c.vm.zone ?? `${c.region}-b`;
  if (zones.includes(zone)) return [];
  const problem = c.vm.zone === undefined ? `is not set and the default ${zone} is not a zone of ${c.region}` : `is not a zone of ${k("region")} ${c.region}`;
  // The same zone letter in this region is the likeliest meaning of a zone copied from another region.
  const sameLetter = zones.find((z) => z.endsWith(zone.slice(zone.lastIndexOf("-"))));
  return [refuse("vm.zone", c.vm.zone, problem, zones.join(", "), sameLetter ?? nearestName(zone, zones) ?? zones[0])];
}

/** Where each machine type runs: the regions of the components that are on. */
function machineUses(c: Config): { path: string; value: string; regions: string[] }[] {
  const all = [c.region, ...c.secondaryRegions];
  const vmOn = c.vm.enabled || c.vm.retained;
  const pool = c.video.mode === "pool";
  return [
    { path: "vm.machineType", value: c.vm.machineType, regions: vmOn ? [c.region] : [] },
    { path: "httpPool.machineType", value: c.httpPool.machineType, regions: c.httpPool.enabled ? [c.region] : [] },
    { path: "wsPool.machineType", value: c.wsPool.machineType, regions: c.wsPool.enabled ? [c.region] : [] },
    { path: "video.signalingMachineType", value: c.video.signalingMachineType, regions: pool ? [c.region] : [] },
    { path: "video.bridgeMachineType", value: c.video.bridgeMachineType, regions: pool ? all : [] },
    { path: "kubernetes.nodeMachineType", value: c.kubernetes.nodeMachineType, regions: c.kubernetes.enabled ? all : [] },
  ];
}

/** Every machine type exists (used or not: a preset value switched on later must be valid), and runs where it is used. */
export function machineTypeProblems(c: Config): string[] {
  const p: string[] = [];
  for (const u of machineUses(c)) {
    const m = machineType(u.value);
    if (!m.ok) {
      p.push(refuse(u.path, u.value, m.problem, m.allowed, m.nearest));
      continue;
    }
    for (const region of u.regions) {
      if (isRegion(region) && !seriesInRegion(m.facts.series, region)) {
        p.push(
          refuse(
            u.path,
            u.value,
            `is not offered in ${region} (series ${m.facts.series})`,
            `a type of a series ${region} has: ${seriesOf(region).join(", ")}`,
            nearestTypeInRegion(m.facts, region),
          ),
        );
      }
    }
  }
  return p;
}

/** Cloud SQL tiers of the primary (and replicas) and of the shards. */
export function sqlTierProblems(c: Config): string[] {
  const p: string[] = [];
  for (const path of ["database.tier", "database.shardTier"] as const) {
    const value = path === "database.tier" ? c.database.tier : c.database.shardTier;
    const t = sqlTier(value);
    if (!t.ok) p.push(refuse(path, value, t.problem, t.allowed, t.nearest));
  }
  return p;
}

/** Memorystore for Redis sizes per tier, Redis Cluster shards and replicas, Memcached node shapes. */
export function memorystoreProblems(c: Config): string[] {
  const p: string[] = [];
  const tiers = catalog.memorystoreRedis.tiers;
  const t = tiers[c.cache.tier];
  if (t && (c.cache.memoryGb < t.minGb || c.cache.memoryGb > t.maxGb)) {
    p.push(
      refuse(
        "cache.memoryGb",
        c.cache.memoryGb,
        `is outside the ${c.cache.tier} tier's sizes`,
        `${t.minGb}-${t.maxGb} GB`,
        Math.min(t.maxGb, Math.max(t.minGb, c.cache.memoryGb)),
      ),
    );
  }
  // The channel-layer instances are Standard tier (components/redis.ts).
  const std = tiers.STANDARD_HA!;
  if (c.cache.channelLayerMemoryGb < std.minGb || c.cache.channelLayerMemoryGb > std.maxGb) {
    p.push(refuse("cache.channelLayerMemoryGb", c.cache.channelLayerMemoryGb, "is outside the STANDARD_HA tier's sizes", `${std.minGb}-${std.maxGb} GB`));
  }
  const rc = catalog.memorystoreRedisCluster;
  if (!(c.cache.clusterNodeType in rc.nodeTypes)) {
    p.push(
      refuse(
        "cache.clusterNodeType",
        c.cache.clusterNodeType,
        "is not a Redis Cluster node type",
        Object.keys(rc.nodeTypes).join(", "),
        nearestName(c.cache.clusterNodeType, Object.keys(rc.nodeTypes)),
      ),
    );
  }
  if (c.cache.clusterShards < rc.shards.min || c.cache.clusterShards > rc.shards.max) {
    p.push(refuse("cache.clusterShards", c.cache.clusterShards, "is outside Redis Cluster's shard counts", `${rc.shards.min}-${rc.shards.max}`));
  }
  if (c.cache.clusterReplicasPerShard < rc.replicasPerShard.min || c.cache.clusterReplicasPerShard > rc.replicasPerShard.max) {
    p.push(
      refuse(
        "cache.clusterReplicasPerShard",
        c.cache.clusterReplicasPerShard,
        "is outside the replicas per shard this program supports",
        `${rc.replicasPerShard.min}-${rc.replicasPerShard.max}`,
      ),
    );
  }
  const mc = catalog.memorystoreMemcached;
  const cpu = c.cache.memcachedCpu;
  if (cpu !== 1 && cpu % 2 !== 0) {
    p.push(refuse("cache.memcachedCpu", cpu, "is not a Memcached node size", "1, or an even number of vCPUs from 2 to 32", cpu + 1));
  }
  const mem = c.cache.memcachedMemoryMb;
  const maxMem = Math.min(mc.memoryMbPerNode.max, Math.floor((cpu * mc.maxMemoryMbPerVcpu) / mc.memoryMbPerNode.multipleMb) * mc.memoryMbPerNode.multipleMb);
  if (mem % mc.memoryMbPerNode.multipleMb !== 0 || mem < mc.memoryMbPerNode.min || mem > maxMem) {
    const near = Math.min(maxMem, Math.max(mc.memoryMbPerNode.min, Math.round(mem / mc.memoryMbPerNode.multipleMb) * mc.memoryMbPerNode.multipleMb));
    p.push(
      refuse(
        "cache.memcachedMemoryMb",
        mem,
        `does not fit a ${cpu}-vCPU Memcached node`,
        `a multiple of ${mc.memoryMbPerNode.multipleMb} MB from ${mc.memoryMbPerNode.min} to ${maxMem} (${mc.maxMemoryMbPerVcpu} MB per vCPU)`,
        near,
      ),
    );
  }
  return p;
}

/** The media buckets' location exists and stores data where the platform runs. */
export function mediaLocationProblems(c: Config): string[] {
  if (!c.media.enabled || !isRegion(c.region)) return [];
  const here = gcsLocationsFor(c.region);
  if (here.includes(c.media.location)) return [];
  const known = gcsLocations().includes(c.media.location);
  return [
    refuse(
      "media.location",
      c.media.location,
      known ? `stores no data in ${k("region")} ${c.region}` : "is not a Cloud Storage location",
      `a location that includes ${c.region}: ${here.join(", ")}`,
      known ? here[0] : (nearestName(c.media.location, gcsLocations()) ?? here[0]),
    ),
  ];
}

/** Labels the program sets itself on every resource (src/naming.ts labels()); a stack's labels must not shadow them. */
export const PROGRAM_LABEL_KEYS = ["app", "component", "stage", "managed-by"] as const;

/** Label keys and values as GCP takes them, no reserved prefix, no key the program sets, at most 64 per resource. */
export function labelProblems(c: Config): string[] {
  const p: string[] = [];
  const rules = catalog.labels;
  const keyRe = new RegExp(rules.key.pattern);
  const valueRe = new RegExp(rules.value.pattern);
  for (const [key, value] of Object.entries(c.labels)) {
    if (!keyRe.test(key)) p.push(refuse(`labels.${key}`, key, "is not a label key", rules.key.text));
    else if (rules.reservedKeyPrefixes.some((pre) => key.startsWith(pre))) {
      p.push(
        refuse(
          `labels.${key}`,
          key,
          `starts with a prefix Google reserves (${rules.reservedKeyPrefixes.join(", ")})`,
          `${rules.key.text}, not starting with ${rules.reservedKeyPrefixes.join(" or ")}`,
          key.replace(/^goog-?/, "") || undefined,
        ),
      );
    } else if ((PROGRAM_LABEL_KEYS as readonly string[]).includes(key)) {
      p.push(
        refuse(`labels.${key}`, key, "is a label the program sets on every resource", `any other key (the program's own: ${PROGRAM_LABEL_KEYS.join(", ")})`),
      );
    }
    if (!valueRe.test(value)) p.push(refuse(`labels.${key}`, value, "is not a label value", rules.value.text));
  }
  const room = rules.maxPerResource - PROGRAM_LABEL_KEYS.length;
  const n = Object.keys(c.labels).length;
  if (n > room)
    p.push(
      refuse(
        "labels",
        `${n} labels`,
        `is too many: with the program's ${PROGRAM_LABEL_KEYS.length} a resource would carry ${n + PROGRAM_LABEL_KEYS.length}`,
        `at most ${room} (GCP: ${rules.maxPerResource} labels per resource)`,
        undefined,
      ),
    );
  return p;
}

/** PITR: ENTERPRISE edition keeps 1-7 days of transaction logs, and Cloud SQL refuses fewer backups than log days. */
export function pitrProblems(c: Config): string[] {
  const p: string[] = [];
  const max = catalog.cloudSql.pitr.enterpriseMaxDays;
  if (c.database.pitrDays > max) {
    p.push(refuse("database.pitrDays", c.database.pitrDays, "is more than the ENTERPRISE edition keeps", `1-${max} days of transaction logs`, max));
  }
  if (c.database.backupRetainedCount <= c.database.pitrDays) {
    p.push(
      refuse(
        "database.backupRetainedCount",
        c.database.backupRetainedCount,
        `is not above ${k("database.pitrDays")} ${c.database.pitrDays} (Cloud SQL refuses a backup retention shorter than the log retention)`,
        `more than ${c.database.pitrDays}`,
        Math.min(c.database.pitrDays, max) + 1,
      ),
    );
  }
  return p;
}
