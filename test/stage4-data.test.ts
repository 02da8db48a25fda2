/**
 * Stage-4 data tier on the plan: the seed's shards (user_id % 4) as Cloud SQL instances, the DATABASES map in the
 * settings secret (hosts, names, password secret ids, never a password), the Channels layer on independent
 * Standard-tier instances, Memorystore for Redis Cluster through PSC, Memcached, Cloud DNS, enums against
 * Google's definitions, and the stage 3 -> 4 move keeping the primary, buckets, address and certificate.
 */
import { describe, expect, it } from "vitest";
import { managedCaPem } from "../components/redis-cluster";
import { get, ofType, plan } from "./helpers/plan";
import { diffPlans, gcpFacts, normPath } from "../src/plan/diff";
import { databasesMap } from "../src/stack/settings";

const SQL = "gcp:sql/databaseInstance:DatabaseInstance";
const REDIS = "gcp:redis/instance:Instance";
const CLUSTER = "gcp:redis/cluster:Cluster";
const MEMCACHE = "gcp:memcache/instance:Instance";
const ZONE = "gcp:dns/managedZone:ManagedZone";
const RECORD = "gcp:dns/recordSet:RecordSet";
const lbl = (component: string) => ({ app: "course-organizer", component, "managed-by": "pulumi", stage: "4" });
const PSA = "urn:pulumi:stage4::course-organizer::course-organizer:network:Network$gcp:servicenetworking/connection:Connection::network-psa";
const gke = (w: string) => `co-gke-${w}@course-organizer-demo.iam.gserviceaccount.com`;

async function settings(preview = false): Promise<Record<string, string>> {
  const p = await plan("stage4", { preview });
  const data = get(p, "gcp:secretmanager/secretVersion:SecretVersion", "app-settings-json-version").inputs.secretData as { "[secret]": string } | string;
  return typeof data === "string" ? {} : (JSON.parse(data["[secret]"]) as Record<string, string>);
}

describe("shards (seed 'Database Sharding Strategy')", () => {
  it("four shard instances shard_0..shard_3 at the shard tier, each with its database, protected", async () => {
    const p = await plan("stage4");
    const shards = ofType(p, SQL).filter((r) => /^database-shard-\d+-primary$/.test(r.name));
    expect(shards.map((s) => s.name)).toEqual([0, 1, 2, 3].map((i) => `database-shard-${i}-primary`));
    for (const [i, s] of shards.entries()) {
      expect(s.inputs).toMatchObject({ name: `co-db-shard-${i}`, region: "us-central1", databaseVersion: "POSTGRES_15", deletionProtection: true });
      expect(s.inputs.settings).toMatchObject({
        tier: "db-custom-2-7680",
        edition: "ENTERPRISE",
        availabilityType: "REGIONAL",
        deletionProtectionEnabled: true,
        ipConfiguration: { ipv4Enabled: false, sslMode: "ENCRYPTED_ONLY" },
        userLabels: lbl("database-shard"),
      });
      expect(s.protect).toBe(true);
      expect(s.retainOnDelete).toBe(true);
      expect(s.dependencies).toContain(PSA);
      expect(get(p, "gcp:sql/database:Database", `database-shard-${i}-db-course_organizer_shard_${i}`).inputs).toEqual({
        name: `course_organizer_shard_${i}`,
        instance: `co-db-shard-${i}`,
      });
      const readers = ofType(p, "gcp:secretmanager/secretIamMember:SecretIamMember").filter((g) => g.name.startsWith(`database-shard-${i}-`));
      expect(readers.map((g) => g.inputs.member)).toEqual(["api", "ws", "worker"].map((w) => `serviceAccount:${gke(w)}`));
    }
    // The stage-3 primary keeps its name; the shard count comes from config.
    expect(get(p, SQL, "database-primary").inputs.name).toBe("co-db");
    const two = await plan("stage4", { sets: ["database.shards=2"] });
    expect(ofType(two, SQL).filter((r) => /^database-shard-\d+-primary$/.test(r.name))).toHaveLength(2);
  });

  it("the app gets the DATABASES map: default on the primary, shard_N, analytics read-only; secret ids, no passwords", async () => {
    const p = await plan("stage4");
    const env = await settings();
    const map = JSON.parse(env.DATABASES!) as Record<string, Record<string, any>>;
    expect(Object.keys(map)).toEqual(["default", "shard_0", "shard_1", "shard_2", "shard_3", "analytics"]);
    // The primary through the local PgBouncer (pods' sidecar, instances' service), as DATABASE_URL: transaction
    // pooling keeps the connection budget; PgBouncer speaks TLS to Cloud SQL, loopback needs none.
    expect(map.default).toEqual({
      ENGINE: "django.db.backends.postgresql",
      NAME: "course_organizer",
      HOST: "127.0.0.1",
      PORT: "6432",
      USER: "course_organizer",
      PASSWORD_SECRET: "co-db-course-organizer-password",
      OPTIONS: { sslmode: "disable" },
      DISABLE_SERVER_SIDE_CURSORS: true,
    });
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\/course_organizer:[^@]+@127\.0\.0\.1:6432\/course_organizer$/);
    const shardIps = p.outputs.databaseShardIps as string[];
    for (let i = 0; i < 4; i++) {
      expect(map[`shard_${i}`]).toEqual({
        ENGINE: "django.db.backends.postgresql",
        NAME: `course_organizer_shard_${i}`,
        HOST: shardIps[i],
        PORT: "5432",
        USER: "course_organizer",
        PASSWORD_SECRET: `co-db-shard-${i}-course-organizer-password`,
        // Direct to the shard: TLS verified against the instances' CA bundle the pods mount (src/contract.ts).
        OPTIONS: { sslmode: "verify-ca", sslrootcert: "/run/course-organizer/database-ca.pem" },
      });
    }
    const analyticsIp = (p.outputs.databaseReplicaIps as string[])[3];
    expect(map.analytics).toMatchObject({
      NAME: "course_organizer",
      HOST: analyticsIp,
      OPTIONS: { sslmode: "verify-ca", sslrootcert: "/run/course-organizer/database-ca.pem", options: "-c default_transaction_read_only=on" },
    });
    expect(JSON.stringify((get(p, SQL, "database-replica-analytics").inputs.settings as { databaseFlags: unknown[] }).databaseFlags)).not.toContain(
      "default_transaction_read_only",
    );
    expect(env.DATABASE_SHARD_COUNT).toBe("4");
    // No password in the map: every generated value of the plan is absent from it.
    const passwords = ofType(p, "gcp:secretmanager/secretVersion:SecretVersion").filter((v) => v.name.includes("password"));
    expect(passwords.map((v) => v.name)).toEqual([
      "vm-db-password-version",
      "jitsi-jicofo-password-version",
      "jitsi-jvb-password-version",
      "grafana-admin-password-version",
      "vm-redis-password-version",
      "database-password-version",
      "database-shard-0-password-version",
      "database-shard-1-password-version",
      "database-shard-2-password-version",
      "database-shard-3-password-version",
    ]);
    for (const v of passwords) {
      const s = (v.inputs.secretData as { "[secret]": string })["[secret]"];
      expect(s, v.name).toMatch(/^mock[0-9a-f]{8}/);
      expect(env.DATABASES!.includes(s), v.name).toBe(false);
    }
    expect(env.DATABASES).not.toMatch(/PASSWORD"/);
  });

  it("databasesMap leaves analytics out when there is no such replica; without a pooler default goes direct over verified TLS", () => {
    const m = databasesMap({ user: "u", usersDatabase: "users", primary: { host: "10.0.0.1", passwordSecret: "p" }, shards: [] });
    expect(Object.keys(m)).toEqual(["default"]);
    expect(m.default).toMatchObject({
      HOST: "10.0.0.1",
      PORT: "5432",
      OPTIONS: { sslmode: "verify-ca", sslrootcert: "/run/course-organizer/database-ca.pem" },
    });
  });

  it("plans in preview mode with unknown hosts (the secret's content is unknown, nothing breaks)", async () => {
    const p = await plan("stage4", { preview: true });
    // Four shard primaries, each with a cross-region replica in europe-west1 (region loss: docs/runbooks/region-loss.md).
    expect(ofType(p, SQL).filter((r) => r.name.startsWith("database-shard-") && r.name.endsWith("-primary"))).toHaveLength(4);
    expect(
      ofType(p, SQL)
        .filter((r) => r.name.startsWith("database-shard-") && r.name.endsWith("-replica-europe-west1"))
        .map((r) => r.inputs.region),
    ).toEqual(Array(4).fill("europe-west1"));
    // The settings name hosts that are unknown before their instances exist: the version's content is unknown too.
    expect(get(p, "gcp:secretmanager/secretVersion:SecretVersion", "app-settings-json-version").inputs).toEqual({
      deletionPolicy: "DISABLE",
      secret: "[unknown]",
      secretData: "[unknown]",
    });
  });
});

describe("caches", () => {
  it("Channels layer: two independent Standard-tier instances, both URLs in the settings", async () => {
    const p = await plan("stage4");
    const inst = ofType(p, REDIS).filter((r) => r.name.startsWith("cache-channels-"));
    expect(inst.map((r) => r.name)).toEqual(["cache-channels-0-instance", "cache-channels-1-instance"]);
    expect(inst[1]!.inputs).toEqual({
      name: "co-channels-1",
      displayName: "co channels-1",
      region: "us-central1",
      tier: "STANDARD_HA",
      memorySizeGb: 5,
      redisVersion: "REDIS_7_0",
      authorizedNetwork: "projects/course-organizer-demo/global/networks/co-vpc",
      connectMode: "PRIVATE_SERVICE_ACCESS",
      authEnabled: true,
      transitEncryptionMode: "SERVER_AUTHENTICATION",
      persistenceConfig: { persistenceMode: "RDB", rdbSnapshotPeriod: "TWENTY_FOUR_HOURS" },
      redisConfigs: { "maxmemory-policy": "volatile-ttl" },
      maintenancePolicy: { weeklyMaintenanceWindows: [{ day: "SUNDAY", startTime: { hours: 7, minutes: 0, seconds: 0, nanos: 0 } }] },
      labels: lbl("cache-channels"),
      deletionProtection: true,
    });
    expect(inst.every((r) => r.protect)).toBe(true);
    const env = await settings();
    const urls = JSON.parse(env.CHANNEL_LAYER_REDIS_URLS!) as string[];
    const hosts = p.outputs.channelLayerHosts as string[];
    expect(urls).toHaveLength(2);
    urls.forEach((u, i) => expect(u).toMatch(new RegExp(`^rediss://:mock-auth-[0-9a-f]{16}@${hosts[i]!.replace(/\./g, "\\.")}:6378/0$`)));
    expect(JSON.parse(env.CHANNEL_LAYER_REDIS_CA_CERTS!)).toHaveLength(2);
    const three = await plan("stage4", { sets: ["cache.channelLayerInstances=3"] });
    expect(ofType(three, REDIS).filter((r) => r.name.startsWith("cache-channels-"))).toHaveLength(3);
  });

  it("Redis Cluster: 3 shards x 1 replica, PSC policy in the subnet, TLS, IAM auth, RDB, deletion protection", async () => {
    const p = await plan("stage4");
    const c = get(p, CLUSTER, "cache-cluster-cluster");
    expect(c.inputs).toEqual({
      name: "co-cache-cluster",
      region: "us-central1",
      shardCount: 3,
      replicaCount: 1,
      nodeType: "REDIS_HIGHMEM_MEDIUM",
      pscConfigs: [{ network: "projects/course-organizer-demo/global/networks/co-vpc" }],
      transitEncryptionMode: "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION",
      authorizationMode: "AUTH_MODE_IAM_AUTH",
      zoneDistributionConfig: { mode: "MULTI_ZONE" },
      persistenceConfig: { mode: "RDB", rdbConfig: { rdbSnapshotPeriod: "ONE_HOUR" } },
      redisConfigs: { "maxmemory-policy": "allkeys-lru" },
      maintenancePolicy: { weeklyMaintenanceWindows: [{ day: "SUNDAY", startTime: { hours: 8, minutes: 0, seconds: 0, nanos: 0 } }] },
      labels: lbl("cache-cluster"),
      deletionProtectionEnabled: true,
    });
    expect(c.protect).toBe(true);
    const policy = get(p, "gcp:networkconnectivity/serviceConnectionPolicy:ServiceConnectionPolicy", "cache-cluster-psc-policy");
    expect(policy.inputs).toMatchObject({
      name: "co-cache-cluster-psc-us-central1",
      location: "us-central1",
      serviceClass: "gcp-memorystore-redis",
      network: "projects/course-organizer-demo/global/networks/co-vpc",
      pscConfig: { subnetworks: ["projects/course-organizer-demo/regions/us-central1/subnetworks/co-subnet-us-central1"] },
    });
    expect(c.dependencies).toContain(policy.urn);
    const connectors = ofType(p, "gcp:projects/iAMMember:IAMMember").filter((m) => m.name.startsWith("cache-cluster-connector-"));
    expect(connectors.map((m) => [m.inputs.role, m.inputs.member])).toEqual(
      ["api", "ws", "worker"].map((w) => ["roles/redis.dbConnectionUser", `serviceAccount:${gke(w)}`]),
    );
    expect((await settings()).REDIS_CLUSTER_ENDPOINT).toBe(p.outputs.redisClusterDiscoveryEndpoint);
    expect(p.outputs.redisClusterDiscoveryEndpoint).toMatch(/^10\.100\.\d+\.\d+:6379$/);
    // TLS with server authentication: the client gets the cluster's CA to verify the nodes.
    expect((await settings()).REDIS_CLUSTER_CA_CERT).toBe("-----BEGIN CERTIFICATE-----\nMOCKCLUSTERCA\n-----END CERTIFICATE-----");
  });

  it("managedCaPem joins every CA certificate of the cluster, PEM by PEM", () => {
    const pem = (n: string) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----`;
    expect(managedCaPem([{ caCerts: [{ certificates: [pem("A") + "\n", pem("B")] }] }, { caCerts: [{ certificates: [pem("C")] }] }])).toBe(
      [pem("A"), pem("B"), pem("C")].join("\n"),
    );
    expect(managedCaPem([])).toBe("");
  });

  it("Memcached: one instance per region (3 nodes of 1 vCPU / 4 GB on the PSA range); the primary's keeps its name", async () => {
    const p = await plan("stage4");
    const m = get(p, MEMCACHE, "memcached-instance");
    expect(m.inputs).toEqual({
      name: "co-memcached",
      displayName: "co memcached",
      region: "us-central1",
      authorizedNetwork: "projects/course-organizer-demo/global/networks/co-vpc",
      nodeCount: 3,
      nodeConfig: { cpuCount: 1, memorySizeMb: 4096 },
      memcacheVersion: "MEMCACHE_1_6_15",
      maintenancePolicy: { weeklyMaintenanceWindows: [{ day: "SUNDAY", duration: "10800s", startTime: { hours: 9, minutes: 0, seconds: 0, nanos: 0 } }] },
      labels: lbl("memcached"),
      deletionProtection: true,
    });
    expect(m.urn).toBe("urn:pulumi:stage4::course-organizer::course-organizer:cache:Memcached$gcp:memcache/instance:Instance::memcached-instance");
    const eu = get(p, MEMCACHE, "memcached-europe-west1-instance");
    expect(eu.inputs).toMatchObject({ name: "co-memcached-europe-west1", region: "europe-west1", nodeCount: 3, deletionProtection: true });
    expect(ofType(p, MEMCACHE)).toHaveLength(2);
    for (const r of [m, eu]) {
      expect(r.dependencies).toContain(PSA);
      expect(r.protect).toBe(true);
    }
  });

  it("each region's pods get that region's Memcached nodes (not the discovery endpoint), and the shared settings name none", async () => {
    const p = await plan("stage4");
    const nodes = p.outputs.memcachedNodes as Record<string, string>;
    expect(Object.keys(nodes).sort()).toEqual(["europe-west1", "us-central1"]);
    for (const region of ["us-central1", "europe-west1"]) {
      expect(nodes[region]).toMatch(/^10\.100\.\d+\.\d+:11211,10\.100\.\d+\.\d+:11211,10\.100\.\d+\.\d+:11211$/);
      for (const w of ["api", "ws", "worker"]) {
        const d = get(p, "kubernetes:apps/v1:Deployment", `workloads-${region}-deployment-course-organizer-course-organizer-${w}`);
        const env = (d.inputs as any).spec.template.spec.containers[0].env as { name: string; value?: string }[];
        expect(env.filter((e) => e.name.startsWith("MEMCACHED"))).toEqual([{ name: "MEMCACHED_NODES", value: nodes[region] }]);
        // The port the probes, Service and NEG use, said explicitly, under the contract's name (src/contract.ts).
        expect(env.filter((e) => /(^|_)(BIND|PORT)$/.test(e.name))).toEqual([
          { name: "PORT", value: "8080" },
          { name: "METRICS_PORT", value: "9091" },
        ]);
      }
      // Both regions' worker HPAs read the one backlog: each sizes its half (100 per pod x 2 regions).
      const hpa = get(p, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", `workloads-${region}-horizontalpodautoscaler-course-organizer-worker-hpa`);
      expect((hpa.inputs as any).spec.metrics[0].external.target).toEqual({ type: "AverageValue", averageValue: "200" });
    }
    expect(nodes["us-central1"]).not.toBe(nodes["europe-west1"]);
    // The settings secret is shared by every region: it carries no Memcached address at all.
    const s = await settings();
    expect(Object.keys(s).filter((k) => k.startsWith("MEMCACHED"))).toEqual([]);
    expect(JSON.stringify(s)).not.toContain(":11211");
  });

  it("every endpoint in the shared settings is one that every region reaches", async () => {
    // What each names: the CDN host (public), Cloud SQL private IPs (the VPC's private services access: any region),
    // Redis Cluster's PSC discovery endpoint ("Cross region access", memorystore/docs/cluster/connect-cluster-instance),
    // the channel layer's Memorystore for Redis instances (PSA; no same-region rule, unlike Memcached's regions page).
    // A new endpoint setting fails here until someone says where it can be reached from.
    const s = await settings();
    const endpointKeys = Object.entries(s)
      .filter(([k, v]) => /ENDPOINT|NODES|HOST|URL/.test(k) || /\b10\.\d+\.\d+\.\d+\b/.test(v))
      .map(([k]) => k)
      .sort();
    expect(endpointKeys).toEqual([
      "CDN_HOST",
      "CHANNEL_LAYER_REDIS_URLS",
      "DATABASES",
      "DATABASE_DIRECT_HOST",
      "DATABASE_REPLICA_URL",
      "DATABASE_URL",
      "REDIS_CLUSTER_ENDPOINT",
      "REDIS_URL",
    ]);
  });

  it("every enum these resources set is one Google's definitions allow", async () => {
    const p = await plan("stage4");
    const facts = gcpFacts();
    const checked: string[] = [];
    const walk = (type: string, v: unknown, path: string): void => {
      if (Array.isArray(v)) return v.forEach((x) => walk(type, x, `${path}[]`));
      if (v && typeof v === "object") return Object.entries(v).forEach(([k, x]) => walk(type, x, path ? `${path}.${k}` : k));
      const allowed = Object.entries(facts[type]!.enums).find(([k]) => normPath(k) === normPath(path))?.[1];
      if (allowed && typeof v === "string") {
        expect(allowed, `${type} ${path}`).toContain(v);
        checked.push(`${type.split(":").pop()}.${path}`);
      }
    };
    for (const [type, name] of [
      [CLUSTER, "cache-cluster-cluster"],
      [MEMCACHE, "memcached-instance"],
      [ZONE, "dns-zone"],
      [REDIS, "cache-channels-0-instance"],
    ] as const) {
      walk(type, get(p, type, name).inputs, "");
    }
    expect(checked.sort()).toEqual([
      "Cluster.authorizationMode",
      "Cluster.maintenancePolicy.weeklyMaintenanceWindows[].day",
      "Cluster.nodeType",
      "Cluster.persistenceConfig.mode",
      "Cluster.persistenceConfig.rdbConfig.rdbSnapshotPeriod",
      "Cluster.transitEncryptionMode",
      "Cluster.zoneDistributionConfig.mode",
      "Instance.connectMode",
      "Instance.maintenancePolicy.weeklyMaintenanceWindows[].day",
      "Instance.maintenancePolicy.weeklyMaintenanceWindows[].day",
      "Instance.memcacheVersion",
      "Instance.persistenceConfig.persistenceMode",
      "Instance.persistenceConfig.rdbSnapshotPeriod",
      "Instance.tier",
      "Instance.transitEncryptionMode",
      "ManagedZone.dnssecConfig.nonExistence",
      "ManagedZone.dnssecConfig.state",
      "ManagedZone.visibility",
    ]);
  });
});

describe("Cloud DNS", () => {
  it("a DNSSEC-signed public zone, protected, with A records for the entry IP and Jitsi and the certificate CNAME", async () => {
    const p = await plan("stage4");
    const z = get(p, ZONE, "dns-zone");
    expect(z.inputs).toEqual({
      name: "co-zone",
      dnsName: "courses.example.org.",
      description: "Course Organizer public zone for courses.example.org",
      visibility: "public",
      dnssecConfig: { state: "on", nonExistence: "nsec3" },
      labels: lbl("dns"),
      forceDestroy: false,
    });
    expect(z.protect).toBe(true);
    expect(z.retainOnDelete).toBe(true);
    const [auth, meetAuth] = p.outputs.dnsAuthorizationRecords as { name: string; type: string; data: string }[];
    expect(ofType(p, RECORD).map((r) => [r.name, r.inputs])).toEqual([
      ["dns-apex-a", { managedZone: "co-zone", name: "courses.example.org.", type: "A", ttl: 300, rrdatas: [p.outputs.lbIp] }],
      ["dns-meet-a", { managedZone: "co-zone", name: "meet.courses.example.org.", type: "A", ttl: 300, rrdatas: [p.outputs.meetIp] }],
      ["dns-cert-auth-0", { managedZone: "co-zone", name: auth!.name, type: "CNAME", ttl: 300, rrdatas: [auth!.data] }],
      // The meet domain's certificate (from stage 2, when Jitsi ran behind the load balancer) keeps renewing.
      ["dns-cert-auth-1", { managedZone: "co-zone", name: meetAuth!.name, type: "CNAME", ttl: 300, rrdatas: [meetAuth!.data] }],
    ]);
    expect([auth!.name, meetAuth!.name]).toEqual(["_acme-challenge.courses.example.org.", "_acme-challenge.meet.courses.example.org."]);
    expect(p.outputs.dnsNameServers).toHaveLength(4);
  });

  it("dns.dnssec=false turns signing off; no zone before stage 4", async () => {
    const p = await plan("stage4", { sets: ["dns.dnssec=false"] });
    expect((get(p, ZONE, "dns-zone").inputs.dnssecConfig as { state: string }).state).toBe("off");
    expect(ofType(await plan("stage3"), ZONE)).toEqual([]);
  });
});

describe("stage 3 -> 4", () => {
  it("keeps the Cloud SQL primary, buckets, global address and certificate (updated or unchanged, never replaced or deleted)", async () => {
    const from = await plan("stage4", { configStack: "stage3" });
    const to = await plan("stage4");
    const d = diffPlans(from, to, "stage3");
    const kept = [
      [SQL, "database-primary"],
      ["gcp:storage/bucket:Bucket", "media-static"],
      ["gcp:storage/bucket:Bucket", "media-media"],
      ["gcp:compute/globalAddress:GlobalAddress", "lb-ip"],
      ["gcp:certificatemanager/certificate:Certificate", "lb-cert-courses-example-org"],
      [REDIS, "cache-instance"],
      ["gcp:compute/uRLMap:URLMap", "lb-url-map"],
    ];
    for (const [type, name] of kept) {
      const urn = get(to, type!, name!).urn;
      expect(get(from, type!, name!).urn).toBe(urn);
      expect(d.replaces.map((r) => r.urn)).not.toContain(urn);
      expect(d.deletes.map((r) => r.urn)).not.toContain(urn);
    }
    expect(d.updates.find((u) => u.name === "database-primary")?.replacePaths).toEqual([]);
    expect(d.updates.find((u) => u.name === "lb-ip")?.paths).toEqual(["labels.stage"]);
    // The only replacement: the app settings get stage 4's keys, a new Secret Manager version (versions are
    // immutable); it is derived, unprotected, and the old version is disabled, not destroyed.
    expect(d.replaces.map((r) => [r.type, r.name, r.replacePaths])).toEqual([
      ["gcp:secretmanager/secretVersion:SecretVersion", "app-settings-json-version", ["secretData.[secret]"]],
    ]);
    const settings = get(to, "gcp:secretmanager/secretVersion:SecretVersion", "app-settings-json-version");
    expect([settings.protect, settings.inputs.deletionPolicy]).toEqual([false, "DISABLE"]);
    expect(get(to, "gcp:secretmanager/secretVersion:SecretVersion", "database-password-version").protect).toBe(true);
    // Stage 4 adds; every new stateful thing of this section is created, protected.
    const created = d.creates.map((r) => `${r.type} ${r.name}`);
    for (const c of [
      `${CLUSTER} cache-cluster-cluster`,
      `${MEMCACHE} memcached-instance`,
      `${ZONE} dns-zone`,
      "gcp:pubsub/topic:Topic queue-topic",
      "gcp:container/cluster:Cluster gke-us-central1-cluster",
    ]) {
      expect(created).toContain(c);
    }
  });
});

describe("video at stage 4 (seed 'Jitsi Scaling')", () => {
  it("one Videobridge pool per region, each bridge tagged with its region and cascading over the relay", async () => {
    const p = await plan("stage4", { withFiles: true });
    expect(ofType(p, "course-organizer:video:VideoBridgePool").map((b) => b.name)).toEqual(["video-bridges-us-central1", "video-bridges-europe-west1"]);
    for (const region of ["us-central1", "europe-west1"]) {
      const compose = (p.files ?? []).find((f) => f.role === `video-bridges-${region}` && f.path === "docker-compose.yml")!.content;
      expect(compose).toContain(`JVB_OCTO_REGION: ${region}`);
      expect(compose).toContain('ENABLE_OCTO: "1"');
    }
    // Sized at 500 participants per bridge (seed: "Each handles ~500 participants"): Jicofo's per-bridge cap.
    const signaling = (p.files ?? [])
      .filter((f) => f.role === "jitsi-signaling")
      .map((f) => f.content)
      .join("\n");
    expect(signaling).toContain(`MAX_BRIDGE_PARTICIPANTS: "500"`);
    const noRelay = await plan("stage4", { sets: ["video.relay=false"], withFiles: true });
    const c = (noRelay.files ?? []).find((f) => f.role === "video-bridges-europe-west1" && f.path === "docker-compose.yml")!.content;
    expect(c).not.toContain("ENABLE_OCTO");
  });
});
