/**
 * What the app receives at each stage, read back from the plans' rendered files and settings secret (the very
 * strings the program hands to the machines and clusters), and docs/app-contract.md written from it and from
 * src/contract.ts. `npm run contract` writes the document; test/contract.test.ts regenerates it from fresh plans
 * and fails on any difference, and checks every name against the contract.
 */
import { parse } from "yaml";
import {
  DATABASE_CA_FILE,
  verifiedTlsQuery,
  BUCKET_PREFIXES,
  HEALTH_PATHS,
  IMAGE,
  PORTS,
  PROCESSES,
  REQUIRED_SETTINGS,
  SETTINGS,
  SETTING_NAMES,
  WORKER_TYPES,
  WS_HEARTBEAT_SECONDS,
  settingOf,
  type SettingName,
  type SettingSpec,
} from "./contract";
import { SECRET_MARK, type Plan } from "./plan/engine";

/** One process as a stage runs it. */
export interface ProcessView {
  /** Where it runs, e.g. "VM container `backend`", "HTTP pool instance", "GKE Deployment course-organizer-api". */
  where: string;
  workerType: string;
  /** PORT's value, when set. */
  port?: number;
  /** Variables the process receives, as delivered (`DJANGO_SECRET_KEY_FILE`, `SETTINGS_FILE`), sorted. */
  variables: string[];
  /** Keys of the settings JSON it reads (SETTINGS_FILE at stage 4, the env file at stage 3), sorted. */
  settingsKeys: string[];
  /** Who probes which path on which port. */
  probes: { by: string; path: string; port: number }[];
}

export interface StageView {
  stage: number;
  processes: ProcessView[];
}

function fileOf(plan: Plan, role: string, path: string): string | undefined {
  return plan.files?.find((f) => f.role === role && f.path === path)?.content;
}

function settingsSecretKeys(plan: Plan): string[] {
  const v = plan.resources.find((r) => r.type === "gcp:secretmanager/secretVersion:SecretVersion" && r.name === "app-settings-json-version");
  if (!v) return [];
  const data = v.inputs.secretData as Record<string, string> | string;
  const json = typeof data === "string" ? data : data[SECRET_MARK]!;
  return Object.keys(JSON.parse(json) as Record<string, string>).sort();
}

function healthCheck(plan: Plan, name: string): { path: string; port: number } | undefined {
  const r = plan.resources.find((x) => x.type === "gcp:compute/healthCheck:HealthCheck" && x.name === name);
  const h = r?.inputs.httpHealthCheck as { requestPath: string; port: number } | undefined;
  return h ? { path: h.requestPath, port: h.port } : undefined;
}

/** `http://127.0.0.1:8000/api/health` in a compose healthcheck -> path and port. */
function composeProbe(test: string[]): { path: string; port: number } {
  const m = /http:\/\/127\.0\.0\.1:(\d+)(\/[^'"\s]*)/.exec(test.join(" "));
  if (!m) throw new Error(`no HTTP probe in healthcheck ${JSON.stringify(test)}`);
  return { port: Number(m[1]), path: m[2]! };
}

/** `-e NAME=value` and `-e NAME` of a docker run script; "$key" (the multi-line settings) is not a name. */
function dockerRunVariables(script: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const m of script.matchAll(/(?:^|\s)-e (?:'|")?([A-Z][A-Z0-9_]*)(?:=([^\s\\]*))?/gm)) out[m[1]!] = m[2];
  return out;
}

function vmView(plan: Plan): ProcessView[] {
  const compose = fileOf(plan, "vm", "docker-compose.yml");
  if (!compose) return [];
  const services = (parse(compose) as { services: Record<string, { environment: Record<string, string>; healthcheck: { test: string[] } }> }).services;
  const one = (service: string): ProcessView => {
    const env = services[service]!.environment;
    const probes = [{ by: "docker compose healthcheck", ...composeProbe(services[service]!.healthcheck.test) }];
    return {
      where: `VM container \`${service}\``,
      workerType: env.WORKER_TYPE!,
      port: Number(env.PORT),
      variables: Object.keys(env).sort(),
      settingsKeys: [],
      probes,
    };
  };
  const migrateScript = fileOf(plan, "vm", "bin/migrate.sh") ?? "";
  const migrateType = /-e WORKER_TYPE=(\w+) backend python manage\.py migrate/.exec(migrateScript)?.[1];
  if (!migrateType) throw new Error("the VM's migrate.sh does not run the backend image with WORKER_TYPE");
  const backend = one("backend");
  return [
    backend,
    one("daphne"),
    {
      where: "VM `docker compose run backend` (migrate.sh)",
      workerType: migrateType,
      variables: [...backend.variables.filter((v) => v !== "WORKER_TYPE" && v !== "PORT" && !v.startsWith("GUNICORN_")), "WORKER_TYPE"].sort(),
      settingsKeys: [],
      probes: [],
    },
  ];
}

function poolView(plan: Plan): ProcessView[] {
  const keys = settingsSecretKeys(plan);
  const out: ProcessView[] = [];
  for (const [role, kind] of [
    ["http-pool", "http"],
    ["ws-pool", "ws"],
  ] as const) {
    const run = fileOf(plan, role, "bin/run-app.sh");
    if (!run) continue;
    const fetch = fileOf(plan, role, "bin/fetch-settings.sh") ?? "";
    const extra = [...fetch.matchAll(/^extra '([A-Z][A-Z0-9_]*)'/gm)].map((m) => m[1]!);
    const env = dockerRunVariables(run);
    const lb = healthCheck(plan, kind === "http" ? "lb-hc-api-mig" : "lb-hc-ws-mig");
    const heal = healthCheck(plan, `${role}-health`);
    out.push({
      where: kind === "http" ? "HTTP pool instance (`docker run`, host network)" : "WebSocket pool instance (`docker run`, host network)",
      workerType: env.WORKER_TYPE!,
      port: Number(env.PORT),
      variables: [...new Set([...Object.keys(env), ...extra])].sort(),
      settingsKeys: keys,
      probes: [...(lb ? [{ by: "load balancer", ...lb }] : []), ...(heal ? [{ by: "auto-healing", ...heal }] : [])],
    });
    const migrate = fileOf(plan, role, "bin/migrate.sh");
    if (migrate) {
      out.push({
        where: "HTTP pool instance, `co-migrate.service` (migrate.sh)",
        workerType: dockerRunVariables(migrate).WORKER_TYPE!,
        variables: [...new Set(["WORKER_TYPE", ...extra])].sort(),
        settingsKeys: keys,
        probes: [],
      });
    }
  }
  return out;
}

interface K8sEnv {
  name: string;
  value?: string;
}
interface K8sContainer {
  env: K8sEnv[];
  livenessProbe: { httpGet: { path: string; port: number } };
  readinessProbe: { httpGet: { path: string; port: number } };
}

function gkeView(plan: Plan): ProcessView[] {
  const keys = settingsSecretKeys(plan);
  const role = plan.files?.find((f) => f.role.startsWith("gke-"))?.role;
  if (!role) return [];
  const out: ProcessView[] = [];
  for (const w of ["api", "ws", "worker"]) {
    const text = fileOf(plan, role, `deployment-course-organizer-course-organizer-${w}.yaml`);
    if (!text) continue;
    const c = (parse(text) as { spec: { template: { spec: { containers: K8sContainer[] } } } }).spec.template.spec.containers[0]!;
    const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
    const neg = w === "worker" ? undefined : healthCheck(plan, `lb-hc-${w}-gke`);
    out.push({
      where: `GKE Deployment \`course-organizer-${w}\``,
      workerType: env.WORKER_TYPE!,
      port: Number(env.PORT),
      variables: Object.keys(env).sort(),
      settingsKeys: keys,
      probes: [
        { by: "kubelet liveness", path: c.livenessProbe.httpGet.path, port: c.livenessProbe.httpGet.port },
        { by: "kubelet readiness", path: c.readinessProbe.httpGet.path, port: c.readinessProbe.httpGet.port },
        ...(neg ? [{ by: "load balancer (NEG)", ...neg }] : []),
      ],
    });
  }
  return out;
}

/** The app's processes at the plan's stage: the VM (stages 1-2), the pools (3), GKE (4). */
export function stageView(plan: Plan): StageView {
  const stage = plan.stage ?? 0;
  const processes = stage <= 2 ? vmView(plan) : stage === 3 ? poolView(plan) : gkeView(plan);
  return { stage, processes };
}

/** Every contract setting a process receives, by any delivery (variable, _FILE, settings JSON). */
export function settingsOf(p: ProcessView): SettingName[] {
  const names = [...p.variables, ...p.settingsKeys].map((v) => settingOf(v)).filter((n): n is SettingName => n !== undefined);
  return [...new Set(names)].sort();
}

const code = (s: string) => `\`${s}\``;

function settingsTable(views: StageView[]): string[] {
  const stages = views.map((v) => v.stage);
  const at = (name: SettingName, v: StageView) => v.processes.some((p) => settingsOf(p).includes(name));
  const rows = SETTING_NAMES.map((n) => {
    const s: SettingSpec = SETTINGS[n];
    const marks = views.map((v) => (at(n, v) ? "x" : ""));
    return `| ${code(n)} | ${marks.join(" | ")} | ${s.secret ? "yes" : ""} | ${s.about} | ${s.whenAbsent ?? "(always set)"} |`;
  });
  return [
    `| setting | ${stages.map((s) => `stage ${s}`).join(" | ")} | secret | what | when absent |`,
    `|---|${stages.map(() => "---").join("|")}|---|---|---|`,
    ...rows,
  ];
}

function stageSection(v: StageView): string[] {
  const lines = [`### Stage ${v.stage}`, ""];
  for (const p of v.processes) {
    const probes = p.probes.map((x) => `${x.by}: ${code(`GET ${x.path}`)} on ${x.port}`).join("; ");
    lines.push(`- **${p.where}**: WORKER_TYPE=${code(p.workerType)}${p.port ? `, PORT=${p.port}` : ""}${probes ? `; probes: ${probes}` : ""}`);
    lines.push(`  - variables: ${p.variables.map(code).join(", ")}`);
    if (p.settingsKeys.length > 0) {
      const how =
        v.stage >= 4 ? "in the JSON at SETTINGS_FILE (the app-settings secret)" : "from the app-settings secret, through the env file fetch-settings.sh writes";
      lines.push(`  - settings ${how}: ${p.settingsKeys.map(code).join(", ")}`);
    }
  }
  return [...lines, ""];
}

function changes(views: StageView[]): string[] {
  const lines: string[] = [];
  const all = (v: StageView) => new Set(v.processes.flatMap((p) => settingsOf(p)));
  for (let i = 1; i < views.length; i++) {
    const before = all(views[i - 1]!);
    const after = all(views[i]!);
    const added = [...after].filter((n) => !before.has(n)).sort();
    const gone = [...before].filter((n) => !after.has(n)).sort();
    const types = (v: StageView) => [...new Set(v.processes.map((p) => p.workerType))].join(", ");
    lines.push(
      `- **${views[i - 1]!.stage} -> ${views[i]!.stage}**: processes ${types(views[i]!)}; added ${added.map(code).join(", ") || "nothing"}; no longer given ${gone.map((n) => `${code(n)} (${(SETTINGS[n] as SettingSpec).whenAbsent})`).join(", ") || "nothing"}.`,
    );
  }
  return lines;
}

/** docs/app-contract.md. */
export function contractDocument(views: StageView[]): string {
  const processRows = WORKER_TYPES.map((w) => `| ${code(w)} | ${PROCESSES[w].about} | ${PROCESSES[w].serves} | ${code(PROCESSES[w].command.join("; "))} |`);
  return [
    "# The app contract",
    "",
    "<!-- Generated by `npm run contract` from src/contract.ts and the plans of stage1..stage4 (src/contract-doc.ts). Do not edit: test/contract.test.ts fails when this file and the code disagree. -->",
    "",
    "What the Course Organizer backend image receives from the platform, and what it must answer, at every stage. One image,",
    "one set of setting names, one set of `WORKER_TYPE` values: a stage may add settings, never rename them.",
    "`examples/app/` is a Django project that follows it (its settings module, `courseorganizer/settings.py` with",
    "`courseorganizer/contract.py`, reads only the contract: copy both); test/app-live.test.ts runs it on the",
    "rendered files of stages 1, 3 and 4 with Debian's Django, Channels, Daphne, Gunicorn, PostgreSQL, PgBouncer and Redis.",
    "",
    "## How settings arrive",
    "",
    "Each setting is, in this order of precedence:",
    "",
    "1. an environment variable of that name (stages 1-3: compose's `environment`, `docker run -e` and the env file fetch-settings.sh writes);",
    "2. `<NAME>_FILE`, the path of a file holding the value (stage 4: secrets mounted from Secret Manager, e.g. `DJANGO_SECRET_KEY_FILE`);",
    "3. a key of the JSON object in the file `SETTINGS_FILE` names (stage 4: the app-settings secret, fetched by the pod's init container).",
    "",
    "Values are strings. JSON-valued settings (`DATABASES`, `CHANNEL_LAYER_REDIS_URLS`, `CHANNEL_LAYER_REDIS_CA_CERTS`) are JSON text.",
    "Multi-line values (PEM certificates) are environment variables of the process at stage 3 (an env file cannot carry a newline).",
    "No password is ever in the `DATABASES` map: each entry's `PASSWORD_SECRET` names a Secret Manager secret the app reads",
    "with its own identity (metadata-server token, Secret Manager REST `versions/latest:access`).",
    `Direct Cloud SQL connections (stages 3-4: ${code("DATABASE_REPLICA_URL")}, the migration's ${code("DATABASE_URL")}, the map's shard and analytics entries)`,
    `carry ${code(verifiedTlsQuery())}: libpq verifies the server against the instances' CA bundle, which the platform mounts read-only at`,
    `${code(DATABASE_CA_FILE)} in every app container. ${code("DATABASE_URL")} through the local PgBouncer stays on loopback in clear; PgBouncer verifies the server the same way.`,
    "",
    "## Processes (`WORKER_TYPE`)",
    "",
    `The image's entrypoint (${code(IMAGE.entrypoint)}, rendered from the contract into examples/app/docker-entrypoint.sh) starts the process`,
    "`WORKER_TYPE` names; arguments given to the container run instead (`docker run IMAGE python manage.py migrate`). Working directory",
    `${code(IMAGE.workdir)}; the image runs as uid ${IMAGE.uid}.`,
    "",
    "| WORKER_TYPE | process | serves | command |",
    "|---|---|---|---|",
    ...processRows,
    "",
    "## Ports and health paths",
    "",
    `- Stages 1-3: \`http\` listens on ${PORTS.vm.http}, \`ws\` on ${PORTS.vm.ws}. Stage 4: every pod on ${PORTS.pod}, metrics on ${PORTS.metrics} (METRICS_PORT).`,
    `- ${code(HEALTH_PATHS.liveness)}: liveness, 200 while the process answers; checks no dependency (a database outage must not restart every process).`,
    `- ${code(HEALTH_PATHS.readiness)}: readiness, 200 when the databases and Redis answer, 503 otherwise; the load balancer's NEG health checks use it at stage 4.`,
    `- ${code(HEALTH_PATHS.api)}: liveness under \`/api/\` (the VM's nginx and the load balancer route \`/api/*\` to Gunicorn).`,
    "- Every probe sends the machine's or pod's own address as Host; `DJANGO_ALLOWED_HOSTS` includes it.",
    "",
    "Who probes what, per stage, is listed below.",
    "",
    "## Static and media files",
    "",
    `- Stage 1: \`collectstatic\` writes STATIC_ROOT (${code(IMAGE.staticRoot)}, on the data disk) and uploads go to MEDIA_ROOT (${code(IMAGE.mediaRoot)}); nginx serves \`/static/\` and \`/media/\` from them.`,
    `- From stage 2: STATIC_BUCKET and MEDIA_BUCKET name Cloud Storage buckets. The app writes objects \`${BUCKET_PREFIXES.static}/<path>\` and \`${BUCKET_PREFIXES.media}/<path>\` (django-storages, credentials from the machine's or pod's service account); the load balancer serves \`/static/*\` and \`/media/*\` from them through Cloud CDN on CDN_HOST, the site's own host. No object ACLs (uniform bucket-level access).`,
    "- Private media: when CDN_SIGNING_KEY_NAME is set, media URLs are Cloud CDN signed URLs (`Expires`, `KeyName`, `Signature` = base64url HMAC-SHA1 with CDN_SIGNING_KEY); without it media is public.",
    `- \`migrate\` runs \`collectstatic\` after the migrations. Stages whose plans run a migrate process: ${
      views
        .filter((v) => v.processes.some((p) => p.workerType === "migrate"))
        .map((v) => v.stage)
        .join(", ") || "none"
    }${
      views.some((v) => !v.processes.some((p) => p.workerType === "migrate"))
        ? `; none at stage ${views
            .filter((v) => !v.processes.some((p) => p.workerType === "migrate"))
            .map((v) => v.stage)
            .join(", ")} yet (the app must be migrated there by other means)`
        : ""
    }.`,
    "",
    "## WebSockets",
    "",
    "- Clients connect to `wss://<site>/ws/...`; the VM's nginx (stages 1-2) and the load balancer (`/ws/*`, backend timeout 3600 s, stages 2-4) pass the upgrade to Daphne.",
    `- Heartbeats must be data frames: Google's external Application Load Balancer does not count WebSocket ping/pong control frames as activity and closes a socket idle for the backend timeout. Clients send ${code('{"type": "ping"}')} every ${WS_HEARTBEAT_SECONDS} s; the consumer answers ${code('{"type": "pong"}')}.`,
    "- Messages to a group go through the channel layer (Redis), so a client on any Daphne process, machine or pod receives them. At stage 4 the layer shards over the independent Redis instances of CHANNEL_LAYER_REDIS_URLS.",
    "- A deploy or scale-in closes sockets (Daphne drains for 30 s on the instances, 120 s on GKE): clients reconnect with backoff.",
    "",
    "## Settings",
    "",
    "An `x` marks the stages whose processes receive the setting (by any of the three deliveries).",
    "",
    ...settingsTable(views),
    "",
    "## Per stage",
    "",
    ...views.flatMap(stageSection),
    "## What changes between stages",
    "",
    ...changes(views),
    "",
  ].join("\n");
}

/** Migrations need the database, Redis's names and the key, not the serving settings. */
const NOT_FOR_MIGRATE: SettingName[] = ["PORT", "DJANGO_ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"];

/**
 * Every way the stages' views break the contract, one line each (empty when they keep it): names the contract
 * does not know, WORKER_TYPE values outside it, a serving process without PORT or probed elsewhere than on its
 * PORT and the contract's paths, a required setting missing, and a setting a later stage stops giving although
 * the app has no fallback for it (a rename shows as one of these).
 */
export function contractProblems(views: StageView[]): string[] {
  const problems: string[] = [];
  const health = Object.values(HEALTH_PATHS) as string[];
  for (const v of views) {
    for (const p of v.processes) {
      const at = `stage ${v.stage} ${p.where}`;
      const unknown = [...p.variables, ...p.settingsKeys].filter((n) => settingOf(n) === undefined);
      if (unknown.length > 0) problems.push(`${at}: not in the contract: ${unknown.join(", ")}`);
      if (!(WORKER_TYPES as readonly string[]).includes(p.workerType))
        problems.push(`${at}: WORKER_TYPE=${p.workerType} is not one of ${WORKER_TYPES.join(", ")}`);
      const serving = p.workerType !== "migrate";
      if (serving && !(p.port && p.port > 0)) problems.push(`${at}: no PORT`);
      for (const x of p.probes) {
        if (!health.includes(x.path)) problems.push(`${at}: ${x.by} probes ${x.path}, not a contract health path`);
        if (x.port !== p.port) problems.push(`${at}: ${x.by} probes port ${x.port}, the process listens on ${p.port}`);
      }
      const have = settingsOf(p);
      const need = REQUIRED_SETTINGS.filter((n) => serving || !NOT_FOR_MIGRATE.includes(n));
      const missing = need.filter((n) => !have.includes(n));
      if (missing.length > 0) problems.push(`${at}: missing required ${missing.join(", ")}`);
    }
  }
  for (let i = 1; i < views.length; i++) {
    for (const w of WORKER_TYPES) {
      const before = new Set(views[i - 1]!.processes.filter((p) => p.workerType === w).flatMap(settingsOf));
      const after = new Set(views[i]!.processes.filter((p) => p.workerType === w).flatMap(settingsOf));
      if (after.size === 0) continue;
      for (const n of before) {
        const migrateOnly = w === "migrate" && NOT_FOR_MIGRATE.includes(n);
        if (!after.has(n) && !("whenAbsent" in SETTINGS[n]) && !migrateOnly) {
          problems.push(`stage ${views[i]!.stage} ${w}: ${n} (given at stage ${views[i - 1]!.stage}) is gone and the app has no fallback for it`);
        }
      }
    }
  }
  return problems;
}
