/**
 * Recovery settings the composition passes to components: the VM's point-in-time recovery (pgBackRest) and the
 * stage-4 region-loss configuration (config `failover`). Pure functions of the config, kept out of src/stack.ts.
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
