import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { statefulOptions } from "../src/options";
import { Secret } from "./secret";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext, PrivateServicePlacement } from "./context";

export type Weekday = "MONDAY" | "TUESDAY" | "WEDNESDAY" | "THURSDAY" | "FRIDAY" | "SATURDAY" | "SUNDAY";

/** A read replica of the primary. */
export interface DatabaseReplica {
  /** Stable key in the replica's names (`<role>-replica-<key>`): "0", "1", "analytics", "europe-west1". */
  key: string;
  /** Region of the replica; another region than the primary's makes a cross-region replica. */
  region: string;
  /** Machine tier. @default the primary's tier */
  tier?: string;
  /**
   * Reports only (the seed's "analytics" replica). No server flag: every Cloud SQL read replica is a hot standby
   * that refuses writes (https://www.postgresql.org/docs/15/hot-standby.html), and the app's DATABASES entry already
   * sends `-c default_transaction_read_only=on` (src/stack/settings.ts). A `default_transaction_read_only`
   * database flag would add nothing, and Cloud SQL takes only the flags on its supported list
   * (https://cloud.google.com/sql/docs/postgres/flags); data/provider-constraints.json forbids it.
   * @default false
   */
  readOnly?: boolean;
}

/**
 * The self-managed PostgreSQL to copy from with Database Migration Service (the stage 1-2 VM), reached over the
 * VPC at its internal IP.
 */
export interface DatabaseMigrationSource {
  /** Internal IP of the VM running PostgreSQL. */
  host: pulumi.Input<string>;
  /** @default 5432 */
  port?: number;
  /** A PostgreSQL user with REPLICATION and read access to every migrated table (DMS's migration user). */
  user: pulumi.Input<string>;
  /** Its password, as a Pulumi secret (DMS stores it encrypted and never returns it). */
  password: pulumi.Input<string>;
  /** Network tags of the VM: the migration firewall rule opens 5432 to them from the Private Service Access range. */
  targetTags: string[];
  /**
   * Prefix length of the Private Service Access range. Cloud SQL's private IP and its outgoing connections come
   * from that range; the rule's source range is the range around the instance's private IP.
   */
  privateServicesPrefixLength: number;
  /**
   * The job's desired state. Created NOT_STARTED (the provider refuses to create a RUNNING job:
   * magic-modules templates/terraform/pre_create/dms_migration_job.go.tmpl); the update to RUNNING verifies and
   * starts it (post_update/dms_migration_job.go.tmpl), after the destination was demoted
   * (migrationJobs.demoteDestination: scripts/dms-demote-destination.sh).
   * @default "NOT_STARTED"
   */
  state?: "NOT_STARTED" | "RUNNING";
}

export interface DatabaseArgs extends ComponentContext, PrivateServicePlacement {
  /** Role in the physical names: "db" for the stage-3 primary, "db-shard-0".. for stage-4 shards. */
  role: string;
  version: string;
  /** Machine tier, e.g. "db-custom-4-15360". Changes in place (a restart), never a replacement. */
  tier: string;
  /** "REGIONAL" is HA: a standby in another zone, automatic failover (seed: "<60 seconds"). */
  availabilityType: "ZONAL" | "REGIONAL";
  /** Initial SSD size (GB); auto-resize grows it. */
  diskGb: number;
  /** Auto-resize ceiling (GB); 0 means no limit. */
  diskAutoresizeLimitGb: number;
  /** Daily backup start, UTC "HH:MM". */
  backupStartTime: string;
  /** Automated backups kept. */
  backupRetainedCount: number;
  /** Point-in-time recovery window: days of write-ahead log kept. */
  pitrDays: number;
  maintenanceDay: Weekday;
  /** Hour (UTC) the maintenance window starts. */
  maintenanceHour: number;
  /** PostgreSQL max_connections. */
  maxConnections: number;
  /** Further database flags (name -> value), on the primary and every replica. @default {} */
  extraFlags?: Record<string, string>;
  /** Databases to create on the primary. */
  databases: string[];
  /** The application's database user. */
  userName: string;
  /** Service-account e-mails that may read the user's password from Secret Manager. @default [] */
  passwordAccessors?: pulumi.Input<string>[];
  /** Read replicas. @default [] */
  replicas?: DatabaseReplica[];
  /**
   * Copy an existing PostgreSQL into this instance with Database Migration Service (stage 2 to 3). While set,
   * the instance is the migration's destination: DMS demotes it to a replica of the source, so `databases`
   * are not created (the destination must hold only system data; DMS creates them) and no read replicas
   * are created (Cloud SQL refuses replicas of a demoted instance until promotion).
   * @default undefined (no migration)
   */
  migrateFrom?: DatabaseMigrationSource;
  /**
   * The databases already exist in the instance because a migration created them: adopt them into the stack
   * (Pulumi `import` with their ids) instead of creating them. Set it on the first `up` after promotion; once
   * adopted it changes nothing.
   * @default false
   */
  adoptDatabases?: boolean;
  /**
   * Loss of the primary's region (config failover.activeRegion, docs/runbooks/region-loss.md): the cross-region
   * replica with key `replicaKey` becomes the primary. It is promoted in place (instanceType CLOUD_SQL_INSTANCE,
   * no masterInstanceName / replicaConfiguration: the provider calls promoteReplica, see
   * terraform-provider-google resource_sql_database_instance.go isReplicaPromoteRequested), gets the primary's
   * HA, backups, PITR and deletion protection, and `readReplicas` read replicas of its own in its region
   * (keys `failover-0`..). The old primary and its other replicas stay in the program unchanged: nothing in the
   * lost region is deleted or replaced. `privateIp`, `serverCaCert` and `connectionName` are then the promoted
   * instance's.
   * @default undefined (normal operation)
   */
  promote?: { replicaKey: string; readReplicas: number };
}

const weekdayNumber: Record<Weekday, number> = { MONDAY: 1, TUESDAY: 2, WEDNESDAY: 3, THURSDAY: 4, FRIDAY: 5, SATURDAY: 6, SUNDAY: 7 };

/** The database flags of the primary (and replicas: a hot standby needs max_connections >= the primary's). */
export function databaseFlags(maxConnections: number, extra: Record<string, string> = {}): { name: string; value: string }[] {
  const flags: Record<string, string> = {
    // Seed: "Max connections: 500". Cloud SQL's default for 15 GB of memory is lower; PgBouncer on each app
    // instance keeps the real count well under it.
    max_connections: String(maxConnections),
    // CIS GCP Foundations 6.2.x (Cloud SQL for PostgreSQL): every session's start and end, DDL statements,
    // messages of WARNING and up, statements that caused an ERROR, and pgaudit's audit trail.
    log_connections: "on",
    log_disconnections: "on",
    log_statement: "ddl",
    log_min_messages: "warning",
    log_min_error_statement: "error",
    // pgaudit (CIS 6.2.8): audit lines for DDL and role/privilege changes (GRANT, CREATE ROLE...), each with the
    // statement; not reads or writes (every request would be logged twice). Its event triggers come with
    // `CREATE EXTENSION pgaudit` in each database (the app's first migration; see README "Audit logs").
    "cloudsql.enable_pgaudit": "on",
    "pgaudit.log": "ddl,role",
    // CIS 6.2.7 asks -1 (disabled): a logged statement carries its literal values (personal data). The seed's
    // latency target ("<50ms at the 95th percentile") is watched with Query Insights instead (insightsConfig:
    // normalised statements without values, latency per query).
    log_min_duration_statement: "-1",
    log_lock_waits: "on",
    log_checkpoints: "on",
    log_temp_files: "0",
    // A transaction left open by a crashed worker holds locks and a PgBouncer server connection: end it after 5 min.
    idle_in_transaction_session_timeout: "300000",
    ...extra,
  };
  return Object.entries(flags).map(([name, value]) => ({ name, value }));
}

/** The CIDR of `prefixLength` bits around an IPv4 address (the Private Service Access range around Cloud SQL's IP). */
export function containingCidr(ip: string, prefixLength: number): string {
  // Callers pass Cloud SQL's reported private IP and network.privateServicesPrefixLength (the schema: 16-24).
  const refuse = argRefuser("containingCidr", "");
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(refuse("ip", ip, "is not an IPv4 address", "four octets 0-255, e.g. 10.100.180.36"));
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32)
    throw new Error(refuse("prefixLength", prefixLength, "is not an IPv4 prefix length", "a whole number 0-32"));
  const n = parts.reduce((a, p) => a * 256 + p, 0);
  const size = 2 ** (32 - prefixLength);
  const base = Math.floor(n / size) * size;
  return `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".")}/${prefixLength}`;
}

/**
 * A new replica's disk (GB): the primary's current size as the provider reports it, never below the configured
 * initial size. Cloud SQL refuses a replica smaller than its primary, and auto-resize only ever grows the primary.
 */
export function replicaDiskGb(diskGb: number, primaryReportedGb: number | undefined): number {
  return Math.max(diskGb, primaryReportedGb ?? 0);
}

/**
 * Validation of the args, one refusal line each (src/config/refusal.ts). The config refuses every value it could
 * produce these from first (schema: maintenanceHour, backupStartTime; rules/catalog.ts pitrProblems; rules/failover.ts
 * for `promote`); names, keys and the replica list come from the composition, and other callers may pass anything.
 */
export function databaseProblems(
  args: Pick<DatabaseArgs, "databases" | "userName" | "replicas" | "maintenanceHour" | "backupStartTime" | "pitrDays" | "backupRetainedCount" | "promote">,
): string[] {
  const refuse = argRefuser("Database");
  const p: string[] = [];
  const ident = /^[a-z_][a-z0-9_]{0,62}$/;
  const identAllowed = "a lowercase PostgreSQL identifier ([a-z_][a-z0-9_]*, at most 63 characters)";
  if (args.databases.length === 0) p.push(refuse("databases", args.databases, "is empty", "at least the application's database"));
  args.databases.forEach((d, i) => {
    if (!ident.test(d)) p.push(refuse(`databases[${i}]`, d, "is not a lowercase PostgreSQL identifier", identAllowed));
  });
  if (!ident.test(args.userName)) p.push(refuse("userName", args.userName, "is not a lowercase PostgreSQL identifier", identAllowed));
  const keys = (args.replicas ?? []).map((r) => r.key);
  keys.forEach((k, i) => {
    if (keys.indexOf(k) < i)
      p.push(refuse(`replicas[${i}].key`, k, `is used twice (also replicas[${keys.indexOf(k)}]); keys name the replicas`, "a key per replica, each once"));
    if (!/^[a-z0-9][a-z0-9-]*$/.test(k))
      p.push(refuse(`replicas[${i}].key`, k, "is not a name part", "lowercase letters, digits and hyphens, starting with a letter or digit"));
  });
  if (!Number.isInteger(args.maintenanceHour) || args.maintenanceHour < 0 || args.maintenanceHour > 23)
    p.push(refuse("maintenanceHour", args.maintenanceHour, "is not an hour of the day", "0-23 (UTC)"));
  if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(args.backupStartTime))
    p.push(refuse("backupStartTime", args.backupStartTime, "is not a time of day", "HH:MM (UTC)"));
  // Cloud SQL refuses both at create/update time ("The number of transaction log retention days must be between
  // 1 and 7" on the ENTERPRISE edition this component sets; "backup retention should be > transaction log retention").
  if (!Number.isInteger(args.pitrDays) || args.pitrDays < 1 || args.pitrDays > 7) {
    p.push(
      refuse(
        "pitrDays",
        args.pitrDays,
        "is more than the ENTERPRISE edition keeps",
        "1-7 days of transaction logs",
        Math.min(7, Math.max(1, Math.round(args.pitrDays) || 1)),
      ),
    );
  }
  if (args.backupRetainedCount <= args.pitrDays) {
    p.push(
      refuse(
        "backupRetainedCount",
        args.backupRetainedCount,
        `is not above args.pitrDays ${args.pitrDays} (Cloud SQL refuses a backup retention shorter than the log retention)`,
        `more than ${args.pitrDays}`,
        args.pitrDays + 1,
      ),
    );
  }
  const promoteKey = args.promote?.replicaKey;
  if (promoteKey !== undefined && !keys.includes(promoteKey)) {
    p.push(
      refuse(
        "promote.replicaKey",
        promoteKey,
        "is not one of its replicas",
        keys.length > 0 ? `one of ${keys.join(", ")}` : "none: the database has no replica to promote",
      ),
    );
  }
  return p;
}

export interface DatabaseReplicaOutput {
  key: string;
  region: string;
  instance: gcp.sql.DatabaseInstance;
  privateIp: pulumi.Output<string>;
}

/** What the primary, its replicas and a promoted replica share. */
interface SharedSettings {
  flags: { name: string; value: string }[];
  ipConfiguration: { ipv4Enabled: boolean; privateNetwork: pulumi.Input<string>; sslMode: string };
  insightsConfig: { queryInsightsEnabled: boolean; queryStringLength: number; recordApplicationTags: boolean; recordClientAddress: boolean };
  backupConfiguration: gcp.types.input.sql.DatabaseInstanceSettingsBackupConfiguration;
  maintenanceWindow: gcp.types.input.sql.DatabaseInstanceSettingsMaintenanceWindow;
  /** Private Service Access first: instances get their private IP from its range. */
  dependsOn: pulumi.Resource[];
}

/** The settings of a primary: the first one, or a replica promoted to replace it (region loss). */
function primarySettings(
  args: DatabaseArgs,
  shared: SharedSettings,
  diskSize: pulumi.Input<number>,
  userLabels: Record<string, string>,
): gcp.types.input.sql.DatabaseInstanceSettings {
  return {
    // Seed: db-n1-standard-4 (4 vCPU, 15 GB). N1 predefined tiers are legacy; db-custom-4-15360 is the same
    // shape and needs the ENTERPRISE edition (ENTERPRISE_PLUS only offers db-perf-optimized tiers).
    tier: args.tier,
    edition: "ENTERPRISE",
    availabilityType: args.availabilityType,
    diskType: "PD_SSD",
    diskSize,
    diskAutoresize: true,
    diskAutoresizeLimit: args.diskAutoresizeLimitGb,
    backupConfiguration: shared.backupConfiguration,
    // Keep automated backups if the instance is ever deleted.
    retainBackupsOnDelete: true,
    maintenanceWindow: shared.maintenanceWindow,
    insightsConfig: shared.insightsConfig,
    ipConfiguration: shared.ipConfiguration,
    databaseFlags: shared.flags,
    deletionProtectionEnabled: true,
    userLabels,
  };
}

function sharedSettings(args: DatabaseArgs): SharedSettings {
  return {
    flags: databaseFlags(args.maxConnections, args.extraFlags),
    ipConfiguration: {
      // Private IP only: no public address exists, so there is nothing to authorize or scan.
      ipv4Enabled: false,
      privateNetwork: args.network,
      // SSL required for every connection (ssl_mode ENCRYPTED_ONLY; clients need no client certificate).
      sslMode: "ENCRYPTED_ONLY",
    },
    insightsConfig: {
      queryInsightsEnabled: true,
      queryStringLength: 1024,
      recordApplicationTags: true,
      recordClientAddress: true,
    },
    backupConfiguration: {
      enabled: true,
      startTime: args.backupStartTime,
      pointInTimeRecoveryEnabled: true,
      // PITR window = write-ahead log kept (seed: "Point-in-time recovery: 7 days").
      transactionLogRetentionDays: args.pitrDays,
      backupRetentionSettings: { retainedBackups: args.backupRetainedCount, retentionUnit: "COUNT" },
    },
    maintenanceWindow: { day: weekdayNumber[args.maintenanceDay], hour: args.maintenanceHour, updateTrack: "stable" },
    dependsOn: args.privateServiceConnection ? [args.privateServiceConnection] : [],
  };
}

/**
 * Cloud SQL for PostgreSQL: one primary with private IP only, its read replicas, the application's databases
 * and user (password generated into Secret Manager), and optionally a Database Migration Service job that copies
 * the stage 1-2 VM's PostgreSQL into it. Stage 4 creates one more per shard (role "db-shard-N").
 *
 * What keeps the data: the instance's name and region never change (they force replacement; see
 * data/gcp-api-facts.json), GCP-side deletion protection, Pulumi `protect` + `retainOnDelete`, backups kept
 * after a deletion, and tier/HA/disk changes being in-place updates.
 *
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`).
 */
export class Database extends pulumi.ComponentResource {
  public readonly instance: gcp.sql.DatabaseInstance;
  /** `project:region:instance`, for the Cloud SQL Auth Proxy and connectors. */
  public readonly connectionName: pulumi.Output<string>;
  /** The primary's private IP (Private Service Access range); what PgBouncer connects to on 5432 with TLS. */
  public readonly privateIp: pulumi.Output<string>;
  /**
   * The instance's server CA certificate (PEM, `serverCaCerts[0].cert`): PgBouncer verifies Cloud SQL's server
   * certificate against it (sslmode verify-ca). Not a secret. verify-ca, not verify-full: the certificate of
   * Cloud SQL's per-instance CA names the instance, not the private IP clients connect to.
   */
  public readonly serverCaCert: pulumi.Output<string>;
  /**
   * The server CAs of the primary and every replica (PEM bundle, each once): what PgBouncer and the app's direct
   * connections verify against (src/contract.ts DATABASE_CA_FILE). Each Cloud SQL instance has its own CA by
   * default (serverCaMode GOOGLE_MANAGED_INTERNAL_CA), so a replica's certificate is not the primary's CA's.
   */
  public readonly caBundle: pulumi.Output<string>;
  public readonly replicas: DatabaseReplicaOutput[];
  public readonly databases: gcp.sql.Database[];
  public readonly databaseNames: string[];
  public readonly user: gcp.sql.User;
  public readonly userName: string;
  /** The user's password in Secret Manager. */
  public readonly password: Secret;
  /** Secret Manager id of the user's password. */
  public readonly passwordSecretId: pulumi.Output<string>;
  /** The Database Migration Service job, while `migrateFrom` is set. */
  public readonly migrationJob?: gcp.databasemigrationservice.MigrationJob;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:database:Database", name, {}, opts);
    const problems = databaseProblems(args);
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);

    const shared = sharedSettings(args);
    const migrating = args.migrateFrom !== undefined;
    this.instance = this.primary(name, args, shared, migrating);
    this.connectionName = this.instance.connectionName;
    this.privateIp = this.instance.privateIpAddress;
    this.serverCaCert = this.instance.serverCaCerts.apply((c) => c?.[0]?.cert ?? "");

    // The destination of a migration must hold only system data: DMS creates the databases itself.
    this.databaseNames = [...args.databases];
    this.databases = migrating
      ? []
      : args.databases.map(
          (db) =>
            new gcp.sql.Database(
              `${name}-db-${db}`,
              { name: db, instance: this.instance.name },
              statefulOptions(
                this,
                args.adoptDatabases
                  ? { import: `projects/${args.project}/instances/${physicalName(args.prefix, args.role, "sqlInstance")}/databases/${db}` }
                  : {},
              ),
            ),
        );

    this.password = new Secret(
      `${name}-password`,
      {
        prefix: args.prefix,
        labels: args.labels,
        role: `${args.role}-${args.userName}-password`,
        // Alphanumeric: the password is embedded in postgres:// URLs and PgBouncer's userlist.
        special: false,
        length: 32,
        accessors: args.passwordAccessors ?? [],
      },
      { parent: this },
    );
    this.passwordSecretId = this.password.secretId;
    this.userName = args.userName;
    this.user = new gcp.sql.User(
      `${name}-user`,
      {
        name: args.userName,
        instance: this.instance.name,
        type: "BUILT_IN",
        password: this.password.value,
        // Dropping a role that owns the app's tables fails in PostgreSQL; leave it in place instead.
        deletionPolicy: "ABANDON",
      },
      { parent: this },
    );

    const primaryDiskGb = this.instance.settings.apply((s) => replicaDiskGb(args.diskGb, s?.diskSize));
    const promoteKey = args.promote?.replicaKey;
    const primaryName = physicalName(args.prefix, args.role, "sqlInstance");
    const replicaName = (key: string) => physicalName(args.prefix, `${args.role}-replica-${key}`, "sqlInstance");
    // Replicas cannot exist while the primary is a demoted migration destination.
    this.replicas = migrating
      ? []
      : (args.replicas ?? []).map((r) => {
          const replica =
            r.key === promoteKey
              ? this.promotedReplica(name, args, shared, r, primaryDiskGb)
              : this.readReplica(
                  args,
                  shared,
                  r,
                  primaryDiskGb,
                  { instance: this.instance.name, name: primaryName },
                  `${name}-replica-${r.key}`,
                  replicaName(r.key),
                );
          return { key: r.key, region: r.region, instance: replica, privateIp: replica.privateIpAddress };
        });
    const active = promoteKey !== undefined ? this.replicas.find((r) => r.key === promoteKey) : undefined;
    if (active && args.promote) {
      for (let i = 0; i < args.promote.readReplicas; i++) {
        const key = `failover-${i}`;
        const master = { instance: active.instance.name, name: replicaName(active.key) };
        const r = this.readReplica(args, shared, { key, region: active.region }, primaryDiskGb, master, `${name}-replica-${key}`, replicaName(key));
        this.replicas.push({ key, region: active.region, instance: r, privateIp: r.privateIpAddress });
      }
      this.connectionName = active.instance.connectionName;
      this.privateIp = active.privateIp;
      this.serverCaCert = active.instance.serverCaCerts.apply((c) => c?.[0]?.cert ?? "");
    }

    if (args.migrateFrom) this.migrationJob = this.migration(name, args, args.migrateFrom);
    this.caBundle = caBundleOf([this.instance, ...this.replicas.map((r) => r.instance)]);

    this.registerOutputs({
      connectionName: this.connectionName,
      privateIp: this.privateIp,
      databaseNames: this.databaseNames,
      userName: this.userName,
      passwordSecretId: this.passwordSecretId,
    });
  }

  /** The primary instance: private IP only, TLS required, backups with PITR, protected in Pulumi and at GCP. */
  private primary(name: string, args: DatabaseArgs, shared: SharedSettings, migrating: boolean): gcp.sql.DatabaseInstance {
    return new gcp.sql.DatabaseInstance(
      `${name}-primary`,
      {
        // Name and region force replacement (and a lost instance loses its backups): both are stable by design.
        name: physicalName(args.prefix, args.role, "sqlInstance"),
        region: args.region,
        databaseVersion: args.version,
        // Pulumi/Terraform-side guard; settings.deletionProtectionEnabled below is GCP's own.
        deletionProtection: true,
        settings: primarySettings(args, shared, args.diskGb, args.labels),
      },
      statefulOptions(this, {
        dependsOn: shared.dependsOn,
        ignoreChanges: [
          // Auto-resize grows the disk past diskGb; an update must never try to shrink it back (GCP refuses).
          "settings.diskSize",
          // While DMS has demoted the instance to a replica of the VM, GCP reports a master; never "fix" that.
          ...(migrating ? ["masterInstanceName", "replicaConfiguration"] : []),
        ],
      }),
    );
  }

  /** A read replica of `master` (the primary, or after a failover the promoted replica). */
  private readReplica(
    args: DatabaseArgs,
    shared: SharedSettings,
    r: DatabaseReplica,
    primaryDiskGb: pulumi.Output<number>,
    master: { instance: pulumi.Input<string>; name: string },
    logicalName: string,
    physical: string,
  ): gcp.sql.DatabaseInstance {
    return new gcp.sql.DatabaseInstance(
      logicalName,
      {
        name: physical,
        region: r.region,
        databaseVersion: args.version,
        // Stated, so that a promotion (failover) shows as READ_REPLICA_INSTANCE -> CLOUD_SQL_INSTANCE.
        instanceType: "READ_REPLICA_INSTANCE",
        masterInstanceName: master.instance,
        // A read replica, not a failover target: HA failover is the primary's regional standby.
        replicaConfiguration: { failoverTarget: false },
        // A replica holds no data of its own; it is retained (not deleted) when dropped from the program.
        deletionProtection: false,
        settings: {
          tier: r.tier ?? args.tier,
          edition: "ENTERPRISE",
          availabilityType: "ZONAL",
          diskType: "PD_SSD",
          // At least the primary's current size (a replica smaller than its primary is refused). Replicas are
          // added at later stages, after auto-resize may have grown the primary past diskGb: take the size the
          // provider last read (`pulumi up --refresh` makes it current); auto-resize follows growth afterwards.
          diskSize: primaryDiskGb,
          diskAutoresize: true,
          diskAutoresizeLimit: args.diskAutoresizeLimitGb,
          insightsConfig: shared.insightsConfig,
          ipConfiguration: shared.ipConfiguration,
          // Same max_connections as the primary: a hot standby refuses to start with fewer.
          databaseFlags: shared.flags,
          userLabels: { ...args.labels, "replica-of": master.name.slice(0, 63) },
        },
      },
      { parent: this, retainOnDelete: true, ignoreChanges: ["settings.diskSize"], dependsOn: shared.dependsOn },
    );
  }

  /** The promoted cross-region replica: a primary in its own right (same URN and name as the replica it was). */
  private promotedReplica(
    name: string,
    args: DatabaseArgs,
    shared: SharedSettings,
    r: DatabaseReplica,
    primaryDiskGb: pulumi.Output<number>,
  ): gcp.sql.DatabaseInstance {
    return new gcp.sql.DatabaseInstance(
      `${name}-replica-${r.key}`,
      {
        name: physicalName(args.prefix, `${args.role}-replica-${r.key}`, "sqlInstance"),
        region: r.region,
        databaseVersion: args.version,
        instanceType: "CLOUD_SQL_INSTANCE",
        deletionProtection: true,
        // HA rebuilt in the surviving region: a standby in another zone, as the lost primary had.
        settings: primarySettings(args, shared, primaryDiskGb, {
          ...args.labels,
          "promoted-from": physicalName(args.prefix, args.role, "sqlInstance").slice(0, 63),
        }),
      },
      // Now the primary: protected like one. retainOnDelete as before; the URN is the replica's, so no alias.
      statefulOptions(this, { ignoreChanges: ["settings.diskSize"], dependsOn: shared.dependsOn }),
    );
  }

  /**
   * Database Migration Service from the VM's PostgreSQL (issue 7, stage 2 to 3). The cut-over, step by step:
   *  1. `database.migrateFromVm=true database.cutover=false vm.enabled=true vm.retained=false video.mode=vm`:
   *     the VM keeps serving; this creates the profiles and the CONTINUOUS job NOT_STARTED (the provider refuses
   *     to create one RUNNING). The VM's PostgreSQL needs pglogical loaded (shared_preload_libraries),
   *     wal_level=logical and a replication user (DMS's source prerequisites).
   *     Then `scripts/dms-demote-destination.sh` demotes the existing Cloud SQL instance (migrationJobs.
   *     demoteDestination), and `database.migrationState=RUNNING` + `up` starts the job (the provider's update
   *     verifies and starts it): a full dump, then change data capture.
   *  2. Wait for phase CDC and a replication lag near 0
   *     (`gcloud database-migration migration-jobs describe <prefix>-db-migration --region <region>`).
   *  3. Stop writes on the VM (maintenance page), let the lag reach 0, then promote:
   *     `gcloud database-migration migration-jobs promote <prefix>-db-migration --region <region>`.
   *  4. `database.migrateFromVm=false database.cutover=true` (+ `database.adoptDatabases` for one up): the app
   *     settings point at Cloud SQL, the job and profiles are removed, the migrated databases are adopted and
   *     the read replicas are created (Cloud SQL allows them only after promotion).
   *  5. The migrated tables belong to DMS's `cloudsqlexternalsync` role: as a cloudsqlsuperuser run
   *     `REASSIGN OWNED BY cloudsqlexternalsync TO <userName>;` in each database so the app's migrations can
   *     alter them. Then retire the VM (`vm.retained=false`): its disk is kept with a final snapshot.
   */
  private migration(name: string, args: DatabaseArgs, src: DatabaseMigrationSource): gcp.databasemigrationservice.MigrationJob {
    // Cloud SQL reaches the VM from the Private Service Access range (its private IP and outgoing traffic come
    // from there), so the VM's 5432 is opened to that range only, and only while the migration exists.
    new gcp.compute.Firewall(
      `${name}-migration-fw`,
      {
        name: physicalName(args.prefix, `allow-${args.role}-migration`),
        network: args.network,
        direction: "INGRESS",
        description: "Database Migration Service: Cloud SQL (Private Service Access range) to the VM's PostgreSQL",
        allows: [{ protocol: "tcp", ports: [String(src.port ?? 5432)] }],
        sourceRanges: [this.privateIp.apply((ip) => containingCidr(ip, src.privateServicesPrefixLength))],
        targetTags: src.targetTags,
      },
      { parent: this },
    );
    const source = new gcp.databasemigrationservice.ConnectionProfile(
      `${name}-migration-source`,
      {
        connectionProfileId: physicalName(args.prefix, `${args.role}-source-vm`, "dms"),
        location: args.region,
        displayName: "PostgreSQL on the stage 1-2 VM",
        labels: args.labels,
        postgresql: {
          host: src.host,
          port: src.port ?? 5432,
          username: src.user,
          password: src.password,
          // No ssl block: the VM's PostgreSQL has no server certificate; traffic stays inside the VPC peering.
        },
      },
      { parent: this },
    );
    const destination = new gcp.databasemigrationservice.ConnectionProfile(
      `${name}-migration-destination`,
      {
        connectionProfileId: physicalName(args.prefix, `${args.role}-destination`, "dms"),
        location: args.region,
        displayName: "Cloud SQL primary (existing instance)",
        labels: args.labels,
        // An existing Cloud SQL instance as destination: DMS demotes it to a replica of the source.
        postgresql: { cloudSqlId: this.instance.name },
      },
      { parent: this },
    );
    return new gcp.databasemigrationservice.MigrationJob(
      `${name}-migration`,
      {
        migrationJobId: physicalName(args.prefix, `${args.role}-migration`, "dms"),
        location: args.region,
        displayName: "VM PostgreSQL to Cloud SQL",
        labels: args.labels,
        // Full dump, then change data capture until promoted: the VM keeps serving during the copy.
        type: "CONTINUOUS",
        source: source.name,
        destination: destination.name,
        // Over the VPC peering to the VM's internal IP (no public IP on either side).
        vpcPeeringConnectivity: { vpc: args.network },
        desiredState: src.state ?? "NOT_STARTED",
      },
      { parent: this },
    );
  }
}

/** The server CA certificates of these instances as one PEM bundle, each certificate once, in order. */
export function caBundleOf(instances: gcp.sql.DatabaseInstance[]): pulumi.Output<string> {
  return pulumi
    .all(instances.map((i) => i.serverCaCerts))
    .apply((all) => [...new Set(all.flatMap((cs) => (cs ?? []).map((c) => c.cert.trim())).filter((c) => c !== ""))].join("\n"));
}
