/**
 * Cloud SQL (stage 3 on): the primary with its replicas, the Database Migration Service job from the VM's
 * PostgreSQL (stage 2 -> 3), and the shards (stage 4). Who reads the passwords: nobody but Pulumi at stage 3 (the
 * app settings carry them); the workloads' identities on the shards at stage 4 (their DATABASES map names them).
 */
import { Database, type DatabaseArgs, type DatabaseMigrationSource } from "../../components/database";
import { tags as networkTags } from "../../components/network";
import { DB_NAME as VM_DB_NAME, DB_USER as VM_DB_USER } from "../files/vm-bundle";
import type { VmPlatform } from "../../components/vm-platform";
import type { Identity } from "./identity";
import type { Gke } from "./gke";
import type { NetworkedContext, Outputs } from "./context";
import * as pulumi from "@pulumi/pulumi";

/** The app's database and role: the VM's PostgreSQL names (src/files/vm-bundle.ts), so a migration keeps them. */
export const APP_DATABASE = VM_DB_NAME;
export const APP_DB_USER = VM_DB_USER;

/** The database of shard i (seed: course_organizer_shard_0 .. _3, user_id % n). */
export const shardDatabaseName = (i: number) => `course_organizer_shard_${i}`;

export interface Data {
  database?: Database;
  /** Stage 4: one Cloud SQL instance per shard. */
  shards: Database[];
  outputs: Outputs;
}

/** What the primary and every shard share: the config's database section, in the primary region. */
function cloudSqlArgs(ctx: NetworkedContext, component: string) {
  const d = ctx.config.database;
  return {
    ...ctx.scope(component),
    ...ctx.privateServices(),
    version: d.version,
    availabilityType: d.availabilityType,
    diskGb: d.diskGb,
    diskAutoresizeLimitGb: d.diskAutoresizeLimitGb,
    backupStartTime: d.backupStartTime,
    backupRetainedCount: d.backupRetainedCount,
    pitrDays: d.pitrDays,
    maintenanceDay: d.maintenanceDay,
    maintenanceHour: d.maintenanceHour,
    maxConnections: d.maxConnections,
    userName: APP_DB_USER,
  } satisfies Partial<DatabaseArgs>;
}

/**
 * The VM's PostgreSQL as the Database Migration Service source (stage 2 to 3, config database.migrateFromVm): its
 * internal IP over the VPC, its database owner (the postgres image makes POSTGRES_USER a superuser, which has
 * REPLICATION) and that user's password from the VM's secret.
 */
function vmMigrationSource(ctx: NetworkedContext, id: Identity, vm: VmPlatform | undefined): DatabaseMigrationSource | undefined {
  if (!ctx.config.database.migrateFromVm || !vm) return undefined;
  return {
    host: vm.instance.networkInterfaces.apply((n) => n[0]?.networkIp ?? ""),
    port: 5432,
    user: VM_DB_USER,
    password: id.secret("POSTGRES_PASSWORD").value,
    // The VM carries the web tag (components/vm-platform.ts).
    targetTags: [networkTags.web],
    privateServicesPrefixLength: ctx.config.network.privateServicesPrefixLength,
    state: ctx.config.database.migrationState,
  };
}

export function buildData(ctx: NetworkedContext, id: Identity, vm: VmPlatform | undefined, gke: Gke): Data {
  const c = ctx.config;
  if (!c.database.enabled) return { shards: [], outputs: {} };
  const database = new Database("database", {
    ...cloudSqlArgs(ctx, "database"),
    role: "db",
    tier: c.database.tier,
    databases: [APP_DATABASE],
    passwordAccessors: [],
    // Same-region read replicas "0".."n-1" (seed: "Read replicas: 1-2"), one per further region (stage 4)
    // and the read-only analytics replica (seed's sharding DATABASES map). Keys, not positions, name them.
    replicas: [
      ...Array.from({ length: c.database.readReplicas }, (_, i) => ({ key: String(i), region: c.region })),
      ...(c.database.crossRegionReplicas ? c.secondaryRegions.map((region) => ({ key: region, region })) : []),
      ...(c.database.analyticsReplica ? [{ key: "analytics", region: c.region, readOnly: true }] : []),
    ],
    migrateFrom: vmMigrationSource(ctx, id, vm),
    adoptDatabases: c.database.adoptDatabases,
    promote: ctx.failover.promote(c.database.readReplicas),
  });
  // Shards (seed "Database Sharding Strategy": user_id % n): one Cloud SQL instance each, the primary's settings at
  // the shard tier. The stage-3 primary keeps the users database (Django's `default`).
  const shards = Array.from(
    { length: c.database.shards },
    (_, i) =>
      new Database(`database-shard-${i}`, {
        ...cloudSqlArgs(ctx, "database-shard"),
        role: `db-shard-${i}`,
        tier: c.database.shardTier,
        databases: [shardDatabaseName(i)],
        passwordAccessors: gke.emails,
        // A shard's rows exist nowhere else: each gets a replica in every further region (region loss).
        replicas: c.database.crossRegionReplicas ? c.secondaryRegions.map((region) => ({ key: region, region })) : [],
        // Shards run no same-region read replicas; the promoted one gets the shards' HA (availabilityType).
        promote: ctx.failover.promote(0),
      }),
  );
  const outputs: Outputs = {
    databaseConnectionName: database.connectionName,
    databasePrivateIp: database.privateIp,
    databaseReplicaIps: pulumi.all(database.replicas.map((r) => r.privateIp)),
  };
  if (database.migrationJob) outputs.migrationJob = database.migrationJob.name;
  if (shards.length > 0) outputs.databaseShardIps = pulumi.all(shards.map((s) => s.privateIp));
  return { database, shards, outputs };
}
