/**
 * What the VM receives, through the tools that consume it: `cloud-init schema` on the user-data,
 * `docker-compose config -q` (1.29) on the compose file, `shellcheck -S style` on every script. Plus the pieces
 * a tool cannot judge: the user-data carries exactly the rendered files, the stage-2 numbers reach the
 * containers, and the one-time media copy is idempotent (run against a stub gcloud).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { file, plan } from "./helpers/plan";
import { COMPOSE_ENV, composeFile } from "../src/files/compose";
import { APPLIED_USER_DATA, configSyncScript, copyMediaScript, fetchSecretsScript, mountDataDiskScript } from "../src/files/vm-scripts";
import { postgresImageTag } from "../src/files/pgbackrest";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vm-files-"));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Mock values for the env file compose reads (no real secret exists in tests). */
const composeEnv = Object.fromEntries(COMPOSE_ENV.map((k) => [k, k.startsWith("VM_") ? "203.0.113.7" : `test-${k.toLowerCase()}`]));

function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string) {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, cwd, timeout: 60_000 });
  if (r.error) throw r.error; // a missing tool is a failure, never a skip
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Write the VM's rendered files of a stack into dir/<stack>/ and return their paths. */
async function renderVm(stack: string): Promise<{ root: string; paths: string[] }> {
  const p = await plan(stack, { withFiles: true });
  const root = join(dir, stack);
  const files = (p.files ?? []).filter((f) => f.role === "vm");
  for (const f of files) {
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    writeFileSync(join(root, f.path), f.content);
  }
  return { root, paths: files.map((f) => f.path) };
}

describe.each(["stage1", "stage2"])("the %s VM files pass their real tools", (stack) => {
  it("user-data passes `cloud-init schema` and fits GCE's 256 KB metadata value limit", async () => {
    const { root } = await renderVm(stack);
    const r = run("cloud-init", ["schema", "--config-file", join(root, "cloud-init/user-data.yaml")]);
    expect(r.out).toContain("Valid cloud-config");
    expect(r.status).toBe(0);
    // The checker does reject a wrong type in the same document (so the pass above means something).
    const broken = join(root, "cloud-init/broken.yaml");
    writeFileSync(broken, readFileSync(join(root, "cloud-init/user-data.yaml"), "utf8").replace("package_update: true", "package_update: 7"));
    expect(run("cloud-init", ["schema", "--config-file", broken]).status).not.toBe(0);
    expect(Buffer.byteLength(readFileSync(join(root, "cloud-init/user-data.yaml")))).toBeLessThan(256 * 1024);
  });

  it("the compose file passes `docker-compose config -q`, and refuses to start without the env file's values", async () => {
    const { root } = await renderVm(stack);
    const f = join(root, "docker-compose.yml");
    const ok = run("docker-compose", ["-f", f, "config", "-q"], composeEnv, root);
    expect(ok.out).toBe("");
    expect(ok.status).toBe(0);
    const missing = run("docker-compose", ["-f", f, "config", "-q"], {}, root);
    expect(missing.status).not.toBe(0);
    expect(missing.out).toMatch(/comes from \/run\/course-organizer\/app\.env/);
  });

  it("every script passes `shellcheck -S style`", async () => {
    const { root, paths } = await renderVm(stack);
    const scripts = paths.filter((p) => p.endsWith(".sh"));
    expect(scripts.length).toBeGreaterThanOrEqual(6);
    for (const s of scripts) {
      const r = run("shellcheck", ["-S", "style", join(root, s)]);
      expect(r.out, s).toBe("");
      expect(r.status, s).toBe(0);
    }
  });

  it("every systemd unit passes `systemd-analyze verify` (paths mapped into the temp dir)", async () => {
    const { root, paths } = await renderVm(stack);
    const units = paths.filter((p) => p.startsWith("systemd/"));
    expect(units.length).toBeGreaterThanOrEqual(7);
    // verify checks that every ExecStart exists and every Requires= unit is known: map the VM's paths to this
    // temp dir (scripts as rendered, a stub docker binary and docker.service).
    const unitDir = join(root, "verify-units");
    mkdirSync(unitDir, { recursive: true });
    const docker = join(root, "docker-stub");
    writeFileSync(docker, "#!/bin/sh\n");
    chmodSync(docker, 0o755);
    for (const p of paths.filter((x) => x.startsWith("bin/"))) chmodSync(join(root, p), 0o755);
    for (const u of units) {
      const text = readFileSync(join(root, u), "utf8").replaceAll("/opt/course-organizer/bin", join(root, "bin")).replaceAll("/usr/bin/docker", docker);
      writeFileSync(join(unitDir, u.slice("systemd/".length)), text);
    }
    writeFileSync(join(unitDir, "docker.service"), `[Unit]\nDescription=stub\n[Service]\nExecStart=${docker}\n`);
    const names = units.map((u) => u.slice("systemd/".length));
    const r = run("systemd-analyze", ["verify", "--man=no", ...names], { SYSTEMD_UNIT_PATH: `${unitDir}:` }, unitDir);
    expect(r.out).toBe("");
    expect(r.status).toBe(0);
  });

  it("the user-data writes exactly the rendered files and starts the app through systemd", async () => {
    const p = await plan(stack, { withFiles: true });
    const userData = file(p, "vm", "cloud-init/user-data.yaml");
    expect(userData.startsWith("#cloud-config\n")).toBe(true);
    const doc = parse(userData) as { packages: string[]; write_files: { path: string; content: string; permissions: string }[]; runcmd: string[][] };
    expect(doc.packages).toEqual(["docker.io", "docker-compose-v2"]);
    const others = (p.files ?? []).filter((f) => f.role === "vm" && f.path !== "cloud-init/user-data.yaml");
    expect(others.length).toBeGreaterThan(0);
    expect(doc.write_files).toHaveLength(others.length);
    for (const f of others) {
      const vmPath = f.path.startsWith("systemd/") ? `/etc/systemd/system/${f.path.slice(8)}` : `/opt/course-organizer/${f.path}`;
      const w = doc.write_files.find((x) => x.path === vmPath);
      expect(w?.content, vmPath).toBe(f.content);
      expect(w!.permissions).toBe(f.path.endsWith(".sh") ? "0755" : f.path === "docker-compose.yml" ? "0640" : "0644");
    }
    expect(doc.runcmd).toContainEqual(["systemctl", "start", "co-app.service"]);
    const app = file(p, "vm", "systemd/co-app.service");
    expect(app).toContain("RequiresMountsFor=/mnt/data");
    expect(app).toContain("After=docker.service co-secrets.service co-data-disk.service network-online.target cloud-config.service");
    expect(app).toContain("Requires=docker.service co-secrets.service co-data-disk.service");
    expect(app).toContain(
      "ExecStart=/usr/bin/docker compose --env-file /run/course-organizer/app.env -f /opt/course-organizer/docker-compose.yml up -d --remove-orphans",
    );
    expect(app).toContain("WantedBy=multi-user.target");
  });
});

describe("what the containers get", () => {
  it("stage 1: one Gunicorn container (3 workers x 2 threads), nginx with TLS on 80/443 and certbot", async () => {
    const p = await plan("stage1", { withFiles: true });
    const c = parse(file(p, "vm", "docker-compose.yml")).services;
    expect(c.backend.deploy).toEqual({ replicas: 1 });
    expect(c.backend.environment).toMatchObject({ WORKER_TYPE: "http", PORT: "8000", GUNICORN_WORKERS: "3", GUNICORN_THREADS: "2" });
    // The healthcheck asks 127.0.0.1:8000: Django must accept that host besides the site's.
    expect(c.backend.environment.DJANGO_ALLOWED_HOSTS).toBe("courses.example.org,127.0.0.1");
    expect(c.backend.healthcheck.test.join(" ")).toContain("http://127.0.0.1:8000/api/health");
    expect(c.nginx.ports).toEqual(["80:80", "443:443"]);
    expect(c.certbot.profiles).toEqual(["certbot"]);
    expect(c.backend.volumes).toContain("/mnt/data/media:/app/media");
    expect(c.backend.environment.MEDIA_BUCKET).toBeUndefined();
    expect(c.backend.environment.MEDIA_ROOT).toBe("/app/media");
    expect(c.backend.environment.SENTRY_DSN).toBeUndefined();
    expect(file(p, "vm", "redis/redis.conf")).toContain("maxmemory 512mb");
  });

  it("monitoring.sentryDsn reaches the backend and Daphne as SENTRY_DSN", async () => {
    const dsn = "https://abc123@o1.ingest.sentry.io/42";
    const p = await plan("stage2", { withFiles: true, sets: [`monitoring.sentryDsn=${dsn}`] });
    const c = parse(file(p, "vm", "docker-compose.yml")).services;
    expect(c.backend.environment.SENTRY_DSN).toBe(dsn);
    expect(c.daphne.environment.SENTRY_DSN).toBe(dsn);
  });

  it("stage 2: seed's 2 replicas x 4 workers x 2 threads, plain HTTP behind the LB, Redis 2gb allkeys-lru", async () => {
    const p = await plan("stage2", { withFiles: true });
    const c = parse(file(p, "vm", "docker-compose.yml")).services;
    expect(c.backend.deploy).toEqual({ replicas: 2 });
    expect(c.backend.environment).toMatchObject({ WORKER_TYPE: "http", PORT: "8000", GUNICORN_WORKERS: "4", GUNICORN_THREADS: "2" });
    expect(c.daphne.environment).toMatchObject({ WORKER_TYPE: "ws", PORT: "8001" });
    expect(c.nginx.ports).toEqual(["80:80"]);
    expect(c.certbot).toBeUndefined();
    const redis = file(p, "vm", "redis/redis.conf");
    expect(redis).toContain("maxmemory 2gb");
    expect(redis).toContain("maxmemory-policy allkeys-lru");
    for (const s of ["save 900 1", "save 300 10", "save 60 10000"]) expect(redis).toContain(s);
    expect(file(p, "vm", "bin/migrate.sh")).toContain("postgres bash -s < '/opt/course-organizer/bin/apply-db-indexes.sh'");
    // Media and static files in Cloud Storage; private media signed with the media section's CDN key.
    expect(c.backend.environment).toMatchObject({
      MEDIA_BUCKET: "course-organizer-demo-co-media",
      STATIC_BUCKET: "course-organizer-demo-co-static",
      CDN_HOST: "courses.example.org",
      CDN_SIGNING_KEY_NAME: "co-media-key",
    });
    expect(c.backend.environment.CDN_SIGNING_KEY).toMatch(/^\$\{CDN_SIGNING_KEY:\?/);
    expect(c.backend.volumes).toEqual(["/mnt/data/static:/app/staticfiles"]);
    expect(file(p, "vm", "bin/fetch-secrets.sh")).toContain("fetch 'CDN_SIGNING_KEY' 'co-cdn-signing-key'");
    // The media already on the disk is copied once (stage 1 -> 2), from a timer until done.
    expect(file(p, "vm", "bin/copy-media-to-gcs.sh")).toContain("DEST='gs://course-organizer-demo-co-media/media'");
    expect(file(p, "vm", "systemd/co-media-copy.service")).toContain("ConditionPathExists=!/mnt/data/.media-copied-to-course-organizer-demo-co-media");
    expect(file(p, "vm", "systemd/co-media-copy.timer")).toContain("OnUnitActiveSec=1h");
  });

  it("images come from config, PostgreSQL 15 and Redis 7, data on the data disk", async () => {
    const p = await plan("stage1", {
      withFiles: true,
      sets: ["images.backend=us-central1-docker.pkg.dev/course-organizer-demo/co-images/backend@sha256:" + "a".repeat(64)],
    });
    const c = parse(file(p, "vm", "docker-compose.yml")).services;
    expect(c.backend.image).toBe(`us-central1-docker.pkg.dev/course-organizer-demo/co-images/backend@sha256:${"a".repeat(64)}`);
    expect(c.daphne.image).toBe(c.backend.image);
    // Docker Hub images through the project's pull-through cache (components/image-mirror.ts), official ones under library/.
    const mirror = "us-central1-docker.pkg.dev/course-organizer-demo/co-dockerhub";
    // pgBackRest must run where archive_command runs: the configured image plus its package, built on the VM.
    expect(c.postgres.image).toBe(postgresImageTag(`${mirror}/library/postgres:15.10-alpine`));
    expect(c.postgres.build).toEqual({ context: "./postgres", args: { BASE_IMAGE: `${mirror}/library/postgres:15.10-alpine` } });
    expect(c.redis.image).toBe(`${mirror}/library/redis:7.2.7-alpine`);
    expect(c["jitsi-jvb"].image).toBe(`${mirror}/jitsi/jvb:stable-9823`);
    expect(c.postgres.volumes).toEqual([
      "/mnt/data/postgres:/var/lib/postgresql/data",
      "/var/run/postgresql:/var/run/postgresql",
      "./pgbackrest/pgbackrest.conf:/etc/pgbackrest/pgbackrest.conf:ro",
    ]);
    expect(c["postgres-exporter"].image).toBe("quay.io/prometheuscommunity/postgres-exporter:v0.16.0");
    expect(c["redis-exporter"].image).toBe(`${mirror}/oliver006/redis_exporter:v1.67.0`);
    expect(c["node-exporter"].command).toEqual(["--path.rootfs=/host", "--collector.textfile.directory=/host/var/lib/node-exporter/textfile"]);
    expect(c.redis.volumes).toContain("/mnt/data/redis:/data");
    for (const [name, svc] of Object.entries(c) as [string, any][]) {
      if (name !== "certbot") expect(svc.restart, name).toBe("unless-stopped");
    }
    for (const name of ["backend", "daphne", "postgres", "redis", "nginx"]) expect(c[name].healthcheck, name).toBeDefined();
  });

  it("the Videobridge advertises the VM's address read at boot, never an address baked into the file", async () => {
    const p = await plan("stage1", { withFiles: true });
    const compose = file(p, "vm", "docker-compose.yml");
    const jvb = parse(compose).services["jitsi-jvb"];
    expect(jvb.ports).toEqual(["10000:10000/udp"]);
    expect(jvb.environment.DOCKER_HOST_ADDRESS).toMatch(/^\$\{VM_PUBLIC_IP:\?/);
    expect(jvb.environment.JVB_ADVERTISE_IPS).toMatch(/^\$\{VM_PUBLIC_IP:\?.*\},\$\{VM_INTERNAL_IP:\?/);
    expect(compose).not.toContain(String(p.outputs.vmIp));
    expect(file(p, "vm", "bin/fetch-secrets.sh")).toContain("instance/network-interfaces/0/access-configs/0/external-ip");
  });

  it("secrets are fetched at boot by id into /run, root only", async () => {
    const p = await plan("stage1", { withFiles: true });
    const s = file(p, "vm", "bin/fetch-secrets.sh");
    expect(s).toContain('gcloud secrets versions access latest --secret="$id" --project="$PROJECT"');
    expect(s).toContain("umask 077");
    expect(s).toContain("RUNTIME_DIR='/run/course-organizer'");
    for (const [env, id] of [
      ["POSTGRES_PASSWORD", "co-vm-db-password"],
      ["DJANGO_SECRET_KEY", "co-django-secret-key"],
      ["JICOFO_AUTH_PASSWORD", "co-jitsi-jicofo-password"],
      ["JVB_AUTH_PASSWORD", "co-jitsi-jvb-password"],
      ["GRAFANA_ADMIN_PASSWORD", "co-grafana-admin-password"],
      ["REDIS_PASSWORD", "co-vm-redis-password"],
    ]) {
      expect(s).toContain(`fetch '${env}' '${id}'`);
    }
  });
});

describe("the VM's self-hosted monitoring (src/files/prometheus.ts)", () => {
  it("Prometheus scrapes services the compose file runs, and its config and rules pass promtool", async () => {
    const { root } = await renderVm("stage1");
    const p = await plan("stage1", { withFiles: true });
    const services = Object.keys(parse(file(p, "vm", "docker-compose.yml")).services);
    const prom = parse(file(p, "vm", "prometheus/prometheus.yml")) as {
      scrape_configs: { static_configs?: { targets: string[] }[]; dns_sd_configs?: { names: string[] }[] }[];
    };
    const hosts = prom.scrape_configs.flatMap((j) => [
      ...(j.static_configs ?? []).flatMap((sc) => sc.targets.map((t) => t.split(":")[0]!)),
      ...(j.dns_sd_configs ?? []).flatMap((d) => d.names),
    ]);
    expect(hosts.length).toBeGreaterThanOrEqual(5);
    for (const h of hosts.filter((x) => x !== "localhost")) expect(services, h).toContain(h);
    const r = run("promtool", ["check", "config", join(root, "prometheus/prometheus.yml")]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("SUCCESS");
    // Grafana gets the data source and the dashboard; the WebSocket gauge script runs every minute.
    file(p, "vm", "grafana/provisioning/datasources/prometheus.yml");
    file(p, "vm", "grafana/provisioning/dashboards/course-organizer.json");
    expect(file(p, "vm", "systemd/co-websocket-metric.timer")).toContain("OnUnitActiveSec=1min");
    expect(file(p, "vm", "systemd/co-websocket-metric.timer")).toContain("AccuracySec=1s");
    expect(file(p, "vm", "systemd/co-websocket-metric.service")).toContain("ExecStart=/opt/course-organizer/bin/websocket-metric.sh");
  });
});

describe("media in Cloud Storage (stage 2 with the media bucket)", () => {
  it("names the bucket with the contract's settings (as stage 3) and drops the disk's media mounts", () => {
    const images = {
      backend: "b:1",
      nginx: "n:1",
      postgres: "postgres:15",
      redis: "redis:7",
      jitsiWeb: "w:1",
      jitsiProsody: "p:1",
      jitsiJicofo: "j:1",
      jitsiJvb: "v:1",
      prometheus: "pr:1",
      nodeExporter: "ne:1",
      postgresExporter: "pe:1",
      redisExporter: "re:1",
      grafana: "g:1",
      certbot: "c:1",
    };
    const base = {
      images,
      domain: "courses.example.org",
      meetDomain: "meet.courses.example.org",
      tls: false,
      backendReplicas: 2,
      gunicornWorkers: 4,
      gunicornThreads: 2,
      dbName: "course_organizer",
      dbUser: "course_organizer",
    };
    const c = parse(composeFile({ ...base, mediaBucket: "course-organizer-demo-co-media" })).services;
    expect(c.backend.environment).toMatchObject({ MEDIA_BUCKET: "course-organizer-demo-co-media", CDN_HOST: "courses.example.org" });
    // No django-storages names: the app's settings module derives them from the contract's (examples/app).
    expect(Object.keys(c.backend.environment).filter((k) => k.startsWith("GS_") || k.endsWith("_STORAGE"))).toEqual([]);
    expect(c.backend.environment.MEDIA_ROOT).toBeUndefined();
    expect(c.backend.volumes).toEqual(["/mnt/data/static:/app/staticfiles"]);
    expect(c.nginx.volumes).toEqual(["./nginx/nginx.conf:/etc/nginx/nginx.conf:ro", "/mnt/data/static:/srv/static:ro"]);
    // Private media is signed (CDN_SIGNING_KEY_NAME set); public media is not.
    const priv = parse(composeFile({ ...base, mediaBucket: "course-organizer-demo-co-media", cdnSigningKeyName: "co-media-key" })).services.backend.environment;
    expect(priv.CDN_SIGNING_KEY_NAME).toBe("co-media-key");
    expect(
      parse(composeFile({ ...base, mediaBucket: "course-organizer-demo-co-media", publicMedia: true, cdnSigningKeyName: "co-media-key" })).services.backend
        .environment.CDN_SIGNING_KEY_NAME,
    ).toBeUndefined();
    expect(c.backend.environment.STATIC_BUCKET).toBeUndefined();
    const st = parse(composeFile({ ...base, mediaBucket: "course-organizer-demo-co-media", staticBucket: "course-organizer-demo-co-static" })).services;
    expect(st.daphne.environment).toMatchObject({ STATIC_BUCKET: "course-organizer-demo-co-static", CDN_HOST: "courses.example.org" });
  });
});

describe("the VM's PostgreSQL as the migration source (database.migrateFromVm)", () => {
  it("listens on the internal address with DMS's logical-decoding settings, and passes docker-compose", async () => {
    const sets = [
      "vm.enabled=true",
      "vm.retained=false",
      "database.migrateFromVm=true",
      "database.cutover=false",
      "video.mode=vm",
      "load.videoParticipants=500",
      "load.dbQueriesPerSecond=1000",
      "images.postgres=us-central1-docker.pkg.dev/course-organizer-demo/co-images/postgres-pglogical:15.10",
    ];
    const p = await plan("stage3", { withFiles: true, sets });
    const text = file(p, "vm", "docker-compose.yml");
    const pg = parse(text).services.postgres;
    expect(pg.ports).toEqual(["${VM_INTERNAL_IP:?VM_INTERNAL_IP comes from /run/course-organizer/app.env (fetch-secrets.sh)}:5432:5432"]);
    expect(pg.command).toEqual(expect.arrayContaining(["wal_level=logical", "shared_preload_libraries=pglogical"]));
    // Archiving and logical decoding together: wal_level=logical archives everything `replica` does.
    expect(pg.command).toEqual(expect.arrayContaining(["archive_mode=on", "archive_timeout=300"]));
    const root = join(dir, "migration");
    mkdirSync(join(root, "postgres"), { recursive: true });
    writeFileSync(join(root, "docker-compose.yml"), text);
    const r = run("docker-compose", ["-f", join(root, "docker-compose.yml"), "config"], composeEnv, root);
    expect(r.status).toBe(0);
    expect(r.out).toContain("- 203.0.113.7:5432:5432/tcp");
    const stage2 = parse(file(await plan("stage2", { withFiles: true }), "vm", "docker-compose.yml")).services.postgres;
    expect(stage2.ports).toBeUndefined();
  });
});

describe("scripts behave", () => {
  it("a changed user-data is re-applied before the app starts (cloud-init runs write_files once per instance)", async () => {
    const p = await plan("stage2", { withFiles: true });
    const unit = file(p, "vm", "systemd/co-config-sync.service");
    expect(unit).toContain("Before=co-app.service");
    expect(unit).toContain("WantedBy=multi-user.target");
    const script = file(p, "vm", "bin/config-sync.sh");
    expect(script).toContain("cloud-init clean --logs");
    expect(script).toContain('"$STATE/reset-for"');
  });

  it("config-sync.sh re-applies user-data that cloud-init refreshed at boot but never applied (stub curl, cloud-init, systemctl)", async () => {
    const p = await plan("stage2", { withFiles: true });
    const doc = parse(file(p, "vm", "cloud-init/user-data.yaml")) as { runcmd: string[][] };
    // The first-boot run records what write_files applied, before anything else.
    expect(doc.runcmd[0]).toEqual(["install", "-D", "-m", "0600", "/var/lib/cloud/instance/user-data.txt", APPLIED_USER_DATA]);

    const root = join(dir, "config-sync");
    const bin = join(root, "bin");
    const instance = join(root, "cloud-instance");
    const state = join(root, "state");
    mkdirSync(bin, { recursive: true });
    mkdirSync(instance, { recursive: true });
    const calls = join(root, "calls");
    writeFileSync(join(bin, "curl"), `#!/bin/bash\nwhile [[ $# -gt 0 ]]; do if [[ "$1" == -o ]]; then cp '${root}/metadata' "$2"; fi; shift; done\n`);
    writeFileSync(join(bin, "cloud-init"), `#!/bin/bash\necho "cloud-init $*" >> '${calls}'\n`);
    writeFileSync(join(bin, "systemctl"), `#!/bin/bash\necho "systemctl $*" >> '${calls}'\n`);
    for (const f of ["curl", "cloud-init", "systemctl"]) chmodSync(join(bin, f), 0o755);
    const applied = join(root, "applied-user-data");
    const script = join(root, "config-sync.sh");
    writeFileSync(script, configSyncScript({ appliedCopy: applied, cloudInstanceDir: instance, stateDir: state }));
    const sync = () => {
      rmSync(calls, { force: true });
      const r = run("bash", [script], { PATH: `${bin}:${process.env.PATH}` });
      return { status: r.status, calls: existsSync(calls) ? readFileSync(calls, "utf8").split("\n").filter(Boolean) : [] };
    };

    // Stage 1 applied; the stage move set stage 2's user-data and stopped/started the VM: cloud-init rewrote its
    // user-data.txt from the metadata at boot (without running write_files again).
    writeFileSync(applied, "#cloud-config\n# stage 1\n");
    writeFileSync(join(root, "metadata"), "#cloud-config\n# stage 2\n");
    writeFileSync(join(instance, "user-data.txt"), "#cloud-config\n# stage 2\n");
    // cloud-init still running this boot: leave it to the timer.
    expect(sync()).toEqual({ status: 0, calls: [] });
    writeFileSync(join(instance, "boot-finished"), "");
    expect(sync()).toEqual({ status: 0, calls: ["cloud-init clean --logs", "systemctl reboot"] });
    // Re-applied (runcmd refreshed the copy): nothing more to do.
    writeFileSync(applied, "#cloud-config\n# stage 2\n");
    expect(sync()).toEqual({ status: 0, calls: [] });
    // Re-applied but the copy still differs: one reset per version, never a reboot loop.
    writeFileSync(applied, "#cloud-config\n# something else\n");
    expect(sync()).toEqual({ status: 1, calls: [] });
  });

  it("mount-data-disk.sh mounts the disk by its GCE id with nofail", () => {
    const s = mountDataDiskScript({ deviceName: "data", directories: [{ path: "postgres", owner: "70:70" }] });
    expect(s).toContain("DEVICE='/dev/disk/by-id/google-data'");
    expect(s).toContain("FSTAB='/etc/fstab'");
    expect(s).toContain('echo "$DEVICE $MOUNT ext4 discard,defaults,nofail 0 2" >> "$FSTAB"');
  });

  it("mount-data-disk.sh formats a blank disk once and never again (a real ext4 image, mounted and re-run)", () => {
    const root = join(dir, "disk");
    mkdirSync(join(root, "mnt"), { recursive: true });
    const image = join(root, "data.img");
    const mnt = join(root, "mnt");
    const fstab = join(root, "fstab");
    writeFileSync(fstab, "# test fstab\n");
    expect(run("truncate", ["-s", "64M", image]).status).toBe(0);
    const script = join(root, "mount.sh");
    writeFileSync(
      script,
      mountDataDiskScript({
        deviceName: "data",
        devicePath: image,
        fstab,
        mountPoint: mnt,
        directories: [
          { path: "postgres", owner: "70:70" },
          { path: "grafana", owner: "472:0" },
        ],
      }),
    );
    const env = { PATH: `${process.env.PATH}:/usr/sbin:/sbin` };
    try {
      const first = run("bash", [script], env);
      expect(first.out).toContain("has no filesystem: formatting it as ext4");
      expect(first.status).toBe(0);
      expect(run("mountpoint", ["-q", mnt]).status).toBe(0);
      expect(readFileSync(fstab, "utf8")).toBe(`# test fstab\n${image} ${mnt} ext4 discard,defaults,nofail 0 2\n`);
      expect(run("stat", ["-c", "%u:%g %a", join(mnt, "postgres")]).out.trim()).toBe("70:70 750");
      expect(run("stat", ["-c", "%u:%g", join(mnt, "grafana")]).out.trim()).toBe("472:0");
      writeFileSync(join(mnt, "postgres", "PG_VERSION"), "15\n");
      expect(run("umount", [mnt]).status).toBe(0);
      // Second boot: the filesystem is found, not re-made; the data is still there; fstab is not appended again.
      const second = run("bash", [script], env);
      expect(second.status).toBe(0);
      expect(second.out).not.toContain("formatting");
      expect(readFileSync(join(mnt, "postgres", "PG_VERSION"), "utf8")).toBe("15\n");
      expect(
        readFileSync(fstab, "utf8")
          .split("\n")
          .filter((l) => l.includes(image)),
      ).toHaveLength(1);
    } finally {
      run("umount", [mnt]);
    }
  });

  it("fetch-secrets.sh writes the env file and Redis ACL root-only, retrying until a grant works (stub gcloud, curl)", () => {
    const root = join(dir, "secrets");
    const bin = join(root, "bin");
    const runtime = join(root, "run");
    mkdirSync(bin, { recursive: true });
    const calls = join(root, "calls");
    // gcloud fails once per secret (a grant still propagating), then prints "value-<id>".
    writeFileSync(
      join(bin, "gcloud"),
      `#!/bin/bash\nid="\${5#--secret=}"\necho "$id" >> '${calls}'\nif [[ ! -f '${root}'/seen-"$id" ]]; then touch '${root}'/seen-"$id"; exit 1; fi\nprintf 'value-%s' "$id"\n`,
    );
    writeFileSync(join(bin, "curl"), `#!/bin/bash\ncase "\${@: -1}" in *external-ip) echo 203.0.113.7 ;; *ip) echo 10.10.0.5 ;; esac\n`);
    writeFileSync(join(bin, "sleep"), "#!/bin/sh\nexit 0\n");
    for (const f of ["gcloud", "curl", "sleep"]) chmodSync(join(bin, f), 0o755);
    const script = join(root, "fetch.sh");
    writeFileSync(
      script,
      fetchSecretsScript({
        project: "p-demo1",
        secrets: [
          { env: "POSTGRES_PASSWORD", secretId: "co-vm-db-password" },
          { env: "REDIS_PASSWORD", secretId: "co-vm-redis-password" },
        ],
        redisPasswordEnv: "REDIS_PASSWORD",
        runtimeDir: runtime,
        retryDelaySeconds: 0,
      }),
    );
    const r = run("bash", [script], { PATH: `${bin}:${process.env.PATH}` });
    expect(r.status, r.out).toBe(0);
    expect(readFileSync(calls, "utf8").split("\n").filter(Boolean)).toEqual([
      "co-vm-db-password",
      "co-vm-db-password",
      "co-vm-redis-password",
      "co-vm-redis-password",
    ]);
    const envFile = readFileSync(join(runtime, "app.env"), "utf8").split("\n").filter(Boolean).sort();
    expect(envFile).toEqual([
      "POSTGRES_PASSWORD=value-co-vm-db-password",
      "REDIS_PASSWORD=value-co-vm-redis-password",
      "VM_INTERNAL_IP=10.10.0.5",
      "VM_PUBLIC_IP=203.0.113.7",
    ]);
    expect(run("stat", ["-c", "%u %a", join(runtime, "app.env")]).out.trim()).toBe("0 600");
    expect(run("stat", ["-c", "%a", runtime]).out.trim()).toBe("700");
    const sha = spawnSync("sha256sum", { input: "value-co-vm-redis-password", encoding: "utf8" }).stdout.split(" ")[0];
    expect(readFileSync(join(runtime, "secrets", "redis-users.acl"), "utf8")).toBe(`user default on #${sha} ~* &* +@all\n`);
    // Redis (uid 999 in the alpine image) reads it; nobody else.
    expect(run("stat", ["-c", "%u:%g %a", join(runtime, "secrets", "redis-users.acl")]).out.trim()).toBe("999:1000 600");
  });

  it("copy-media-to-gcs.sh copies once, resumably, then skips (stub gcloud)", () => {
    const root = join(dir, "media-copy");
    const bin = join(root, "bin");
    const media = join(root, "media");
    mkdirSync(bin, { recursive: true });
    mkdirSync(join(media, "uploads"), { recursive: true });
    writeFileSync(join(media, "uploads", "a.pdf"), "pdf");
    const log = join(root, "gcloud.log");
    writeFileSync(join(bin, "gcloud"), `#!/bin/sh\necho "$*" >> '${log}'\n`);
    chmodSync(join(bin, "gcloud"), 0o755);
    const marker = join(root, ".media-copied-to-course-organizer-demo-co-media");
    const script = join(root, "copy.sh");
    writeFileSync(script, copyMediaScript({ source: media, bucket: "course-organizer-demo-co-media", doneMarker: marker }));
    chmodSync(script, 0o755);
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const first = run("bash", [script], env);
    expect(first.status).toBe(0);
    expect(readFileSync(log, "utf8")).toBe(`storage rsync --recursive --quiet ${media} gs://course-organizer-demo-co-media/media\n`);
    expect(existsSync(marker)).toBe(true);
    const second = run("bash", [script], env);
    expect(second.status).toBe(0);
    expect(second.out).toContain("media already copied");
    expect(readFileSync(log, "utf8").split("\n").filter(Boolean)).toHaveLength(1);
    // An interrupted copy (gcloud fails) leaves no marker, so the next run copies again.
    rmSync(marker);
    writeFileSync(join(bin, "gcloud"), "#!/bin/sh\nexit 1\n");
    expect(run("bash", [script], env).status).not.toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});
