/**
 * Recovery settings the composition passes to components: the VM's point-in-time recovery (pgBackRest) and the
 * stage-4 region-loss configuration (config `failover`). Pure functions of the config, kept out of the composition (src/stack/*.ts).
 */
import type { Config } from "./config/schema";

const ISO_WEEKDAY = { MONDAY: 1, TUESDAY: 2, WEDNESDAY: 3, THURSDAY: 4, FRIDAY: 5, SATURDAY: 6, SUNDAY: 7 } as const;

/** The VmPlatform `backup` argument from config `vm.backup` and the bucket's name. */
export function vmBackupArgs(b: Config["vm"]["backup"], bucket: string) {
  return {
    bucket,
    archiveTimeoutSeconds: b.archiveTimeoutSeconds,
    fullBackupsKept: b.fullBackupsKept,
    // `date +%u` numbering, which pg-backup.sh compares with.
    fullBackupDay: ISO_WEEKDAY[b.fullBackupDay],
    backupStartTime: b.backupStartTime,
  };
}

/** Where the stateful services run: the primary region, or after its loss (config failover.activeRegion) both. */
export interface FailoverPlan {
  /** The region whose services the app uses. */
  activeRegion: string;
  /**
   * Regions with a cache set, in creation order; the last is the active one. The suffix names its components
   * (`cache`, `cache-europe-west1`): the lost region's keep their names and URNs, unchanged.
   */
  regions: { region: string; suffix: string }[];
  /** The Database `promote` argument (the replica keyed by the active region), or undefined in normal operation. */
  promote: (readReplicas: number) => { replicaKey: string; readReplicas: number } | undefined;
}

export function failoverPlan(c: Config): FailoverPlan {
  const active = c.failover.activeRegion;
  if (active === undefined || active === c.region) {
    return { activeRegion: c.region, regions: [{ region: c.region, suffix: "" }], promote: () => undefined };
  }
  return {
    activeRegion: active,
    regions: [
      { region: c.region, suffix: "" },
      { region: active, suffix: `-${active}` },
    ],
    promote: (readReplicas) => ({ replicaKey: active, readReplicas }),
  };
}
