/**
 * Cloud SQL on the stage-3 plan: the exact inputs of the primary and its replica (the seed's "Managed Database
 * (Cloud SQL)" numbers), protection, private IP only, the app's database, user and password secret, preview mode,
 * the stage 3 -> 4 move (an in-place update of the primary), and the pure helpers.
 */
import { describe, expect, it } from "vitest";
import { get, ofType, plan } from "./helpers/plan";
import { diffPlans, gcpFacts } from "../src/plan/diff";
import { formatDiff } from "../src/plan/format";
import { guardDiff } from "../src/plan/guard";
import { containingCidr, databaseFlags, databaseProblems, replicaDiskGb } from "../components/database";

const SQL = "gcp:sql/databaseInstance:DatabaseInstance";
const PSA = "urn:pulumi:stage3::course-organizer::course-organizer:network:Network$gcp:servicenetworking/connection:Connection::network-psa";
const VPC_ID = "projects/course-organizer-demo/global/networks/co-vpc";
const labels = { app: "course-organizer", component: "database", "managed-by": "pulumi", stage: "3" };
const flags = [
  { name: "max_connections", value: "500" },
  // CIS GCP 6.2.x: connections, disconnections, DDL, WARNING+, ERROR statements, pgaudit; no statement durations.
  { name: "log_connections", value: "on" },
  { name: "log_disconnections", value: "on" },
  { name: "log_statement", value: "ddl" },
  { name: "log_min_messages", value: "warning" },
  { name: "log_min_error_statement", value: "error" },
  { name: "cloudsql.enable_pgaudit", value: "on" },
  { name: "pgaudit.log", value: "ddl,role" },
  { name: "log_min_duration_statement", value: "-1" },
  { name: "log_lock_waits", value: "on" },
  { name: "log_checkpoints", value: "on" },
  { name: "log_temp_files", value: "0" },
  { name: "idle_in_transaction_session_timeout", value: "300000" },
];
const insights = { queryInsightsEnabled: true, queryStringLength: 1024, recordApplicationTags: true, recordClientAddress: true };
const ipConfiguration = { ipv4Enabled: false, privateNetwork: VPC_ID, sslMode: "ENCRYPTED_ONLY" };

describe("Cloud SQL primary at stage 3", () => {
  it("has the seed's shape: PostgreSQL 15, 4 vCPU / 15 GB, HA, 100 GB SSD, daily backups, 7-day PITR", async () => {
    const p = await plan("stage3");
    const primary = get(p, SQL, "database-primary");
    expect(primary.inputs).toEqual({
      name: "co-db",
      region: "us-central1",
      databaseVersion: "POSTGRES_15",
      deletionProtection: true,
      settings: {
        tier: "db-custom-4-15360",
        edition: "ENTERPRISE",
        availabilityType: "REGIONAL",
        diskType: "PD_SSD",
        diskSize: 100,
        diskAutoresize: true,
        diskAutoresizeLimit: 1000,
        backupConfiguration: {
          enabled: true,
          startTime: "02:00",
          pointInTimeRecoveryEnabled: true,
          transactionLogRetentionDays: 7,
          backupRetentionSettings: { retainedBackups: 14, retentionUnit: "COUNT" },
        },
        retainBackupsOnDelete: true,
        maintenanceWindow: { day: 7, hour: 4, updateTrack: "stable" },
        insightsConfig: insights,
        ipConfiguration,
        databaseFlags: flags,
        deletionProtectionEnabled: true,
        userLabels: labels,
      },
    });
  });

  it("is protected and retained, waits for Private Service Access, and never shrinks its auto-resized disk", async () => {
    const p = await plan("stage3");
    const primary = get(p, SQL, "database-primary");
    expect(primary.protect).toBe(true);
    expect(primary.retainOnDelete).toBe(true);
    expect(primary.dependencies).toContain(PSA);
    expect(primary.ignoreChanges).toEqual(["settings.diskSize"]);
    expect(primary.parent).toBe("urn:pulumi:stage3::course-organizer::course-organizer:database:Database::database");
  });

  it("has one read replica of the primary in the same region, zonal, with the primary's max_connections", async () => {
    const p = await plan("stage3");
    const replicas = ofType(p, SQL).filter((r) => r.name !== "database-primary");
    expect(replicas.map((r) => r.name)).toEqual(["database-replica-0"]);
    const r = replicas[0]!;
    expect(r.inputs.name).toBe("co-db-replica-0");
    expect(r.inputs.region).toBe("us-central1");
    expect(r.inputs.masterInstanceName).toBe("co-db");
    expect(r.propertyDependencies.masterInstanceName).toEqual([get(p, SQL, "database-primary").urn]);
    // The provider marks replicaConfiguration secret (it can carry certificates); the value is still checked.
    expect(r.inputs.replicaConfiguration).toEqual({ "[secret]": { failoverTarget: false } });
    expect(r.inputs.deletionProtection).toBe(false);
    expect(r.inputs.settings).toEqual({
      tier: "db-custom-4-15360",
      edition: "ENTERPRISE",
      availabilityType: "ZONAL",
      diskType: "PD_SSD",
      diskSize: 100,
      diskAutoresize: true,
      diskAutoresizeLimit: 1000,
      insightsConfig: insights,
      ipConfiguration,
      databaseFlags: flags,
      userLabels: { ...labels, "replica-of": "co-db" },
    });
    expect(r.retainOnDelete).toBe(true);
    // Its disk follows the primary's reported size (auto-resize may have grown it before the replica is added).
    expect(r.propertyDependencies.settings).toContain(get(p, SQL, "database-primary").urn);
  });

  it("creates the app's database (protected) and user, the password generated into Secret Manager", async () => {
    const p = await plan("stage3");
    const db = get(p, "gcp:sql/database:Database", "database-db-course_organizer");
    expect(db.inputs).toEqual({ name: "course_organizer", instance: "co-db" });
    expect(db.protect).toBe(true);
    expect(db.retainOnDelete).toBe(true);
    const user = get(p, "gcp:sql/user:User", "database-user");
    const password = get(p, "random:index/randomPassword:RandomPassword", "database-password-value");
    expect(user.inputs).toEqual({
      name: "course_organizer",
      instance: "co-db",
      type: "BUILT_IN",
      password: { "[secret]": expect.stringMatching(/^mock[0-9a-f]+$/) },
      deletionPolicy: "ABANDON",
    });
    expect(user.propertyDependencies.password).toEqual([password.urn]);
    expect(password.inputs).toMatchObject({ length: 32, special: false });
    expect(get(p, "gcp:secretmanager/secret:Secret", "database-password-secret").inputs.secretId).toBe("co-db-course_organizer-password".replace(/_/g, "-"));
    // Nobody reads the password secret directly: the app gets it inside the app-settings secret.
    expect(ofType(p, "gcp:secretmanager/secretIamMember:SecretIamMember").filter((g) => g.name.startsWith("database-"))).toEqual([]);
  });

  it("exports the connection name and private IP", async () => {
    const p = await plan("stage3");
    expect(p.outputs.databaseConnectionName).toBe("course-organizer-demo:us-central1:co-db");
    expect(p.outputs.databasePrivateIp).toMatch(/^10\.100\.\d+\.\d+$/);
    expect(p.outputs.databaseReplicaIps).toEqual([expect.stringMatching(/^10\.100\.\d+\.\d+$/)]);
  });

  it("exists from stage 3 on only", async () => {
    expect(ofType(await plan("stage2"), SQL)).toEqual([]);
    expect(ofType(await plan("stage1"), "gcp:sql/database:Database")).toEqual([]);
  });

  it("plans in preview mode with the names known and the computed values unknown", async () => {
    const p = await plan("stage3", { preview: true });
    const primary = get(p, SQL, "database-primary");
    expect(primary.inputs.name).toBe("co-db");
    expect((primary.inputs.settings as { ipConfiguration: { privateNetwork: string } }).ipConfiguration.privateNetwork).toBe("[unknown]");
    // The name is an input, so it is known before creation (as in `pulumi preview`); what GCP computes is not.
    expect(get(p, SQL, "database-replica-0").inputs.masterInstanceName).toBe("co-db");
    expect(get(p, "gcp:sql/user:User", "database-user").inputs.instance).toBe("co-db");
    // Unknown outputs show as unknown in the preview's stack outputs (`output<string>` in `pulumi preview`), the
    // known ones keep their values, and the settings built from the unknown ones stay unknown.
    expect(p.outputs.databasePrivateIp).toBe("[unknown]");
    expect(p.outputs.databaseConnectionName).toBe("[unknown]");
    expect(p.outputs.stage).toBe(3);
    expect(JSON.stringify(get(p, "gcp:secretmanager/secretVersion:SecretVersion", "app-settings-json-version").inputs.secretData ?? "[unknown]")).toContain(
      "[unknown]",
    );
  });

  it("uses only values Google accepts for the migration service's enums", () => {
    const f = gcpFacts();
    expect(f["gcp:databasemigrationservice/migrationJob:MigrationJob"]!.enums.type).toContain("CONTINUOUS");
    expect(f["gcp:databasemigrationservice/migrationJob:MigrationJob"]!.enums.desiredState).toContain("RUNNING");
    // Name and region force replacement of an instance: the component never derives them from the stage.
    expect(f[SQL]!.immutable).toEqual(expect.arrayContaining(["name", "region"]));
  });
});

/** Stage 3 with the VM still serving and the migration job running (issue 7's stage 2 -> 3 move). */
const MIGRATING = [
  "database.migrateFromVm=true",
  "database.cutover=false",
  "vm.enabled=true",
  "vm.retained=false",
  "video.mode=vm",
  // Jitsi and PostgreSQL stay on the VM during the migration: they cover the stage-2 load, not stage 3's.
  "load.videoParticipants=500",
  "load.dbQueriesPerSecond=1000",
  // DMS needs pglogical on the source: postgres:15 plus Debian's postgresql-15-pglogical (config refuses the stock image).
  "images.postgres=us-central1-docker.pkg.dev/course-organizer-demo/co-images/postgres-pglogical:15.10",
];

describe("Database Migration Service from the VM (database.migrateFromVm, stage 2 -> 3)", () => {
  const DMS_PROFILE = "gcp:databasemigrationservice/connectionProfile:ConnectionProfile";
  const DMS_JOB = "gcp:databasemigrationservice/migrationJob:MigrationJob";

  it("creates a source profile at the VM's internal IP with the VM's database owner and password", async () => {
    const p = await plan("stage3", { sets: MIGRATING });
    const vm = get(p, "gcp:compute/instance:Instance", "vm-vm");
    const source = get(p, DMS_PROFILE, "database-migration-source");
    const vmPassword = get(p, "random:index/randomPassword:RandomPassword", "vm-db-password-value");
    expect(source.inputs).toEqual({
      connectionProfileId: "co-db-source-vm",
      location: "us-central1",
      displayName: "PostgreSQL on the stage 1-2 VM",
      labels: { app: "course-organizer", component: "database", "managed-by": "pulumi", stage: "3" },
      postgresql: {
        "[secret]": { host: expect.stringMatching(/^10\.10\.\d+\.\d+$/), port: 5432, username: "course_organizer", password: expect.stringMatching(/^mock/) },
      },
    });
    expect(source.dependencies).toEqual(expect.arrayContaining([vm.urn, vmPassword.urn]));
  });

  it("targets the existing Cloud SQL primary and runs a CONTINUOUS job over the VPC peering", async () => {
    const p = await plan("stage3", { sets: MIGRATING });
    const destination = get(p, DMS_PROFILE, "database-migration-destination");
    expect(destination.inputs).toEqual({
      connectionProfileId: "co-db-destination",
      location: "us-central1",
      displayName: "Cloud SQL primary (existing instance)",
      labels: { app: "course-organizer", component: "database", "managed-by": "pulumi", stage: "3" },
      postgresql: { cloudSqlId: "co-db" },
    });
    const job = get(p, DMS_JOB, "database-migration");
    expect(job.inputs).toEqual({
      migrationJobId: "co-db-migration",
      location: "us-central1",
      displayName: "VM PostgreSQL to Cloud SQL",
      labels: { app: "course-organizer", component: "database", "managed-by": "pulumi", stage: "3" },
      type: "CONTINUOUS",
      source: "projects/course-organizer-demo/locations/us-central1/connectionProfiles/co-db-source-vm",
      destination: "projects/course-organizer-demo/locations/us-central1/connectionProfiles/co-db-destination",
      vpcPeeringConnectivity: { vpc: VPC_ID },
      // Created NOT_STARTED: the provider refuses to create a RUNNING job (pre_create/dms_migration_job.go.tmpl).
      desiredState: "NOT_STARTED",
    });
    expect(p.outputs.migrationJob).toBe("projects/course-organizer-demo/locations/us-central1/migrationJobs/co-db-migration");
    // Enum values Google accepts.
    const facts = gcpFacts();
    expect(facts[DMS_JOB]!.enums.type).toContain(job.inputs.type);
    expect(facts[DMS_JOB]!.enums.desiredState).toContain(job.inputs.desiredState);
  });

  it("starts the job with database.migrationState=RUNNING, an in-place update (the provider verifies, then starts it)", async () => {
    const started = await plan("stage3", { sets: [...MIGRATING, "database.migrationState=RUNNING"] });
    const job = get(started, DMS_JOB, "database-migration");
    expect(job.inputs.desiredState).toBe("RUNNING");
    const created = get(await plan("stage3", { sets: MIGRATING }), DMS_JOB, "database-migration");
    expect(job.urn).toBe(created.urn);
    // desiredState is not a replacing field (mmv1/products/databasemigrationservice/MigrationJob.yaml: client_side,
    // not immutable): the move from NOT_STARTED to RUNNING is an update, which post_update turns into verify + start.
    expect(gcpFacts()[DMS_JOB]!.immutable).not.toContain("desiredState");
  });

  it("opens the VM's 5432 to the Private Service Access range only", async () => {
    const p = await plan("stage3", { sets: MIGRATING });
    const fw = get(p, "gcp:compute/firewall:Firewall", "database-migration-fw");
    const ip = p.outputs.databasePrivateIp as string;
    expect(fw.inputs).toEqual({
      name: "co-allow-db-migration",
      network: VPC_ID,
      direction: "INGRESS",
      description: "Database Migration Service: Cloud SQL (Private Service Access range) to the VM's PostgreSQL",
      allows: [{ protocol: "tcp", ports: ["5432"] }],
      sourceRanges: [`${ip.split(".").slice(0, 2).join(".")}.0.0/16`],
      targetTags: ["co-web"],
    });
    expect(get(p, "gcp:compute/instance:Instance", "vm-vm").inputs.tags).toContain("co-web");
  });

  it("leaves the destination empty and replica-free while the job runs, and never 'fixes' its demoted state", async () => {
    const p = await plan("stage3", { sets: MIGRATING });
    expect(ofType(p, "gcp:sql/database:Database")).toEqual([]);
    expect(ofType(p, SQL).map((r) => r.name)).toEqual(["database-primary"]);
    const primary = get(p, SQL, "database-primary");
    expect(primary.ignoreChanges).toEqual(["settings.diskSize", "masterInstanceName", "replicaConfiguration"]);
    expect(primary.protect).toBe(true);
  });

  it("keeps the primary's URN and inputs when the migration ends (cut-over): the job goes, databases are adopted", async () => {
    const during = await plan("stage3", { sets: MIGRATING });
    const after = await plan("stage3", { sets: ["database.adoptDatabases=true"] });
    const d = diffPlans(during, after, "stage3");
    expect(d.replaces.filter((r) => r.type.startsWith("gcp:sql/"))).toEqual([]);
    expect(d.updates.filter((u) => u.name === "database-primary")).toEqual([]);
    expect(d.deletes.map((x) => x.name)).toEqual(
      expect.arrayContaining(["database-migration", "database-migration-source", "database-migration-destination", "database-migration-fw"]),
    );
    expect(d.creates.map((x) => x.name)).toEqual(expect.arrayContaining(["database-db-course_organizer", "database-replica-0"]));
    // The migrated database is adopted by id, not created a second time; the plan shows it as an import.
    expect(get(after, "gcp:sql/database:Database", "database-db-course_organizer").importId).toBe(
      "projects/course-organizer-demo/instances/co-db/databases/course_organizer",
    );
    expect(formatDiff(d)).toContain(
      " =   import   gcp:sql/database:Database  database-db-course_organizer  (adopts projects/course-organizer-demo/instances/co-db/databases/course_organizer)",
    );
    const g = guardDiff(d, during, after);
    expect(g.ok).toBe(true);
    expect(g.findings.map((f) => f.name)).not.toContain("database-db-course_organizer");
    expect(g.findings.map((f) => f.name)).toContain("database-replica-0");
  });

  it("plans in preview mode (VM IP and Cloud SQL IP unknown)", async () => {
    const p = await plan("stage3", { sets: MIGRATING, preview: true });
    expect(get(p, DMS_JOB, "database-migration").inputs.type).toBe("CONTINUOUS");
    expect(get(p, "gcp:compute/firewall:Firewall", "database-migration-fw").inputs.sourceRanges).toEqual(["[unknown]"]);
  });

  it("is absent without migrateFromVm", async () => {
    expect(ofType(await plan("stage3"), DMS_JOB)).toEqual([]);
  });
});

describe("stage 3 -> 4: the primary grows in place", () => {
  it("updates tier (4 -> 8 vCPU) and labels without replacing the instance, and adds replicas", async () => {
    const from = await plan("stage4", { configStack: "stage3" });
    const to = await plan("stage4");
    const d = diffPlans(from, to, "stage3");
    const update = d.updates.find((u) => u.name === "database-primary");
    expect(update?.paths.sort()).toEqual(["settings.tier", "settings.userLabels.stage"]);
    expect(update?.replacePaths).toEqual([]);
    expect(d.replaces.filter((r) => r.type.startsWith("gcp:sql/"))).toEqual([]);
    expect(d.deletes.filter((r) => r.type.startsWith("gcp:sql/"))).toEqual([]);
    // (Stage 4's shard instances are components of their own, "database-shard-N".)
    expect(
      d.creates
        .filter((r) => r.type === SQL && r.name.startsWith("database-replica-"))
        .map((r) => r.name)
        .sort(),
    ).toEqual(["database-replica-1", "database-replica-analytics", "database-replica-europe-west1"]);
    const analytics = get(to, SQL, "database-replica-analytics");
    // A replica is read-only by nature; the client sends default_transaction_read_only (no server flag).
    expect(JSON.stringify((analytics.inputs.settings as { databaseFlags: unknown[] }).databaseFlags)).not.toContain("default_transaction_read_only");
    const eu = get(to, SQL, "database-replica-europe-west1");
    expect(eu.inputs.region).toBe("europe-west1");
    expect(eu.inputs.masterInstanceName).toBe("co-db");
  });
});

describe("pure helpers", () => {
  it("databaseFlags puts max_connections first and lets extra flags override", () => {
    expect(databaseFlags(500)[0]).toEqual({ name: "max_connections", value: "500" });
    expect(databaseFlags(500, { log_min_duration_statement: "250", cloudsql_iam_authentication: "on" })).toEqual([
      ...flags.map((f) => (f.name === "log_min_duration_statement" ? { ...f, value: "250" } : f)),
      { name: "cloudsql_iam_authentication", value: "on" },
    ]);
  });

  it("replicaDiskGb sizes a new replica to the primary's current, auto-resized disk", () => {
    expect(replicaDiskGb(100, 100)).toBe(100);
    expect(replicaDiskGb(100, 340)).toBe(340);
    expect(replicaDiskGb(100, undefined)).toBe(100);
  });

  it("containingCidr gives the Private Service Access range around an address", () => {
    expect(containingCidr("10.100.180.36", 16)).toBe("10.100.0.0/16");
    expect(containingCidr("10.100.180.36", 20)).toBe("10.100.176.0/20");
    expect(containingCidr("192.168.1.7", 32)).toBe("192.168.1.7/32");
    expect(() => containingCidr("10.1.2", 16)).toThrow('containingCidr ip: "10.1.2" is not an IPv4 address; allowed: four octets 0-255, e.g. 10.100.180.36');
    expect(() => containingCidr("10.1.2.3", 33)).toThrow("containingCidr prefixLength: 33 is not an IPv4 prefix length; allowed: a whole number 0-32");
  });

  it("databaseProblems names the bad field", () => {
    expect(
      databaseProblems({
        databases: ["Course-Organizer"],
        userName: "app",
        replicas: [
          { key: "0", region: "us-central1" },
          { key: "0", region: "us-central1" },
        ],
        maintenanceHour: 24,
        backupStartTime: "2:00",
        pitrDays: 7,
        backupRetainedCount: 14,
      }),
    ).toEqual([
      'Database args.databases[0]: "Course-Organizer" is not a lowercase PostgreSQL identifier; allowed: a lowercase PostgreSQL identifier ([a-z_][a-z0-9_]*, at most 63 characters)',
      'Database args.replicas[1].key: "0" is used twice (also replicas[0]); keys name the replicas; allowed: a key per replica, each once',
      "Database args.maintenanceHour: 24 is not an hour of the day; allowed: 0-23 (UTC)",
      'Database args.backupStartTime: "2:00" is not a time of day; allowed: HH:MM (UTC)',
    ]);
  });

  it("databaseProblems refuses the PITR and backup retention Cloud SQL (ENTERPRISE) rejects", () => {
    const ok = { databases: ["course_organizer"], userName: "course_organizer", maintenanceHour: 4, backupStartTime: "02:00" };
    expect(databaseProblems({ ...ok, pitrDays: 7, backupRetainedCount: 14 })).toEqual([]);
    expect(databaseProblems({ ...ok, pitrDays: 14, backupRetainedCount: 30 })).toEqual([
      "Database args.pitrDays: 14 is more than the ENTERPRISE edition keeps; allowed: 1-7 days of transaction logs; did you mean 7?",
    ]);
    expect(databaseProblems({ ...ok, pitrDays: 7, backupRetainedCount: 7 })).toEqual([
      "Database args.backupRetainedCount: 7 is not above args.pitrDays 7 (Cloud SQL refuses a backup retention shorter than the log retention); allowed: more than 7; did you mean 8?",
    ]);
    expect(
      databaseProblems({
        ...ok,
        pitrDays: 7,
        backupRetainedCount: 14,
        replicas: [{ key: "us-east1", region: "us-east1" }],
        promote: { replicaKey: "europe-west1", readReplicas: 0 },
      }),
    ).toEqual(['Database args.promote.replicaKey: "europe-west1" is not one of its replicas; allowed: one of us-east1']);
  });
});
