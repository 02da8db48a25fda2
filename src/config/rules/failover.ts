/**
 * Cross-key rules of the region-loss configuration (config `failover`, docs/runbooks/region-loss.md), run with the other rules
 * (rules/index.ts). Messages name the key, the value and what is allowed.
 */
import type { Config } from "../schema";

const NS = "course-organizer";

export function failoverProblems(c: Config): string[] {
  const active = c.failover.activeRegion;
  if (active === undefined) return [];
  const p: string[] = [];
  const key = `${NS}:failover.activeRegion`;
  if (active === c.region) {
    p.push(
      `${key}: ${JSON.stringify(active)} is the primary region (gcp:region) itself; allowed: one of secondaryRegions (${c.secondaryRegions.join(", ") || "none"}), or unset in normal operation`,
    );
  } else if (!c.secondaryRegions.includes(active)) {
    p.push(
      `${key}: ${JSON.stringify(active)} is not one of secondaryRegions (${c.secondaryRegions.join(", ") || "none"}); allowed: a secondary region, which holds the replicas to promote`,
    );
  }
  if (!c.database.enabled || !c.database.crossRegionReplicas) {
    p.push(
      `${key}: ${JSON.stringify(active)} needs database.enabled and database.crossRegionReplicas true: without a cross-region replica there is nothing to promote (restore from backups instead: docs/runbooks/restore.md)`,
    );
  }
  if (c.database.migrateFromVm) {
    p.push(`${key}: ${JSON.stringify(active)} cannot be combined with database.migrateFromVm true (a migration's destination has no replicas)`);
  }
  return p;
}
