/**
 * What the dedicated Jitsi machines receive from stage 3 on (components/jitsi-signaling.ts,
 * components/video-bridges.ts), as pure functions:
 *
 * - the signaling VM: docker compose with jitsi-web (the meet front end, Let's Encrypt on its own public IP),
 *   Prosody (XMPP; its client port 5222 published on the VM's internal address only, for the bridges) and Jicofo
 *   (conference focus: picks a bridge per conference from the brewery MUC);
 * - each Videobridge: the jvb container on the host network (UDP 10000 without docker's userland proxy), joining
 *   Prosody's brewery MUC `jvbbrewery` over the VPC, advertising the instance's own public IP read from the
 *   metadata server at boot, tagged with its region (Jicofo's region-based selection), cascading to bridges of
 *   other regions over the relay (Octo's successor, colibri websockets on 9090) when asked, and draining
 *   gracefully before the group removes it (from the start of GCE's graceful-shutdown window).
 *
 * Rooms open only with a token the app issues (JWT auth on Prosody, Jicofo and web: src/files/jitsi-auth.ts).
 *
 * Secrets (JICOFO_AUTH_PASSWORD, JVB_AUTH_PASSWORD, JITSI_JWT_APP_SECRET) are `${VAR:?}` references filled from the env file
 * fetch-secrets.sh writes into /run at boot; the addresses come from the metadata server the same way.
 */
import { stringify } from "yaml";
import { cloudInit } from "./cloud-init";
import { fetchSecretsScript, oneshotUnit, registryLoginScript, RUNTIME_DIR } from "./vm-scripts";
import { jicofoWebJwtEnv, prosodyJwtEnv } from "./jitsi-auth";
import { shellQuote } from "./shell";

export const JITSI_DIR = "/opt/jitsi";
export const JITSI_BIN = `${JITSI_DIR}/bin`;
export const JITSI_ENV_FILE = `${RUNTIME_DIR}/app.env`;
/** Prosody's brewery MUC the bridges join and Jicofo watches. */
export const BREWERY_MUC = "jvbbrewery";
/** XMPP client port on the signaling VM (components/network.ts `xmpp` rule admits the VPC's ranges). */
export const XMPP_PORT = 5222;
/** The bridge's private REST port: health (/about/health), stats and the graceful-shutdown call. */
export const JVB_REST_PORT = 8080;
/** The bridge's public HTTP server: colibri websockets (through jitsi-web) and the relay between bridges. */
export const JVB_RELAY_PORT = 9090;
export const JVB_MEDIA_PORT = 10000;
/** jitsi-web's COLIBRI_WEBSOCKET_REGEX: a bridge's server id, its internal IPv4 address. */
export const COLIBRI_SERVER_ID_REGEX = "[0-9.]+";
/** A bridge's unit that drains it at the start of GCE's graceful shutdown (shutdownWatchScript). */
export const DRAIN_WATCH_UNIT = "co-drain-watch.service";

/** docker-jitsi-meet's internal XMPP domains. */
const XMPP = {
  XMPP_DOMAIN: "meet.jitsi",
  XMPP_AUTH_DOMAIN: "auth.meet.jitsi",
  XMPP_INTERNAL_MUC_DOMAIN: "internal-muc.meet.jitsi",
  XMPP_MUC_DOMAIN: "muc.meet.jitsi",
  XMPP_GUEST_DOMAIN: "guest.meet.jitsi",
  TZ: "UTC",
} as const;

export type JitsiEnv = "JICOFO_AUTH_PASSWORD" | "JVB_AUTH_PASSWORD" | "JITSI_JWT_APP_SECRET";
const env = (name: string) => `\${${name}:?${name} comes from ${JITSI_ENV_FILE} (fetch-secrets.sh)}`;

const q = shellQuote;

export interface JitsiImages {
  jitsiWeb: string;
  jitsiProsody: string;
  jitsiJicofo: string;
  jitsiJvb: string;
}

export interface SignalingOptions {
  project: string;
  images: JitsiImages;
  /** The public host of the meet front end. */
  meetDomain: string;
  /** Let's Encrypt account e-mail. */
  acmeEmail: string;
  secrets: { env: JitsiEnv; secretId: string }[];
  /** Bridges of several regions cascade (relay): Jicofo splits a conference by region. @default false */
  relay?: boolean;
  /**
   * The regions that run bridges, primary first: Jicofo's own region (its fallback for a participant with none)
   * is the first; a participant's region is taken from the meeting link's `region` query argument when it is one
   * of these (userRegionNginx, userRegionConfig).
   */
  regions: string[];
  /** Jicofo never puts more participants than this on one bridge (seed: ~500 per JVB). */
  maxBridgeParticipants: number;
  /** Artifact Registry hosts the images come from (the Docker Hub mirror): docker logs in before pulling. @default [] */
  registryHosts?: string[];
}

export interface BridgeOptions {
  project: string;
  image: string;
  meetDomain: string;
  /** The signaling VM's internal IP (Prosody's client port). */
  xmppServer: string;
  /** The bridge's region, advertised to Jicofo for region-based selection. */
  region: string;
  /** Cascade to bridges of other regions over the relay (colibri websockets on 9090). @default false */
  relay?: boolean;
  secrets: { env: JitsiEnv; secretId: string }[];
  /** Seconds the drain waits for the last conference to end before the bridge is stopped anyway. */
  drainSeconds: number;
  /** Artifact Registry hosts the image comes from (the Docker Hub mirror): docker logs in before pulling. @default [] */
  registryHosts?: string[];
}

export interface JitsiFile {
  path: string;
  renderPath: string;
  content: string;
  permissions: string;
}

/** The signaling VM's docker-compose.yml: web, Prosody, Jicofo. */
export function signalingCompose(o: SignalingOptions): string {
  const logging = { driver: "journald" };
  const restart = "unless-stopped";
  const xmpp = { ...XMPP, XMPP_SERVER: "xmpp.meet.jitsi", PUBLIC_URL: `https://${o.meetDomain}` };
  const services = {
    web: {
      image: o.images.jitsiWeb,
      restart,
      // Clients connect here directly on the VM's static IP (the meet domain's A record).
      ports: ["80:80", "443:443"],
      environment: {
        ...xmpp,
        // Rooms only with the app's token (src/files/jitsi-auth.ts).
        ...jicofoWebJwtEnv(),
        ENABLE_LETSENCRYPT: "1",
        LETSENCRYPT_DOMAIN: o.meetDomain,
        LETSENCRYPT_EMAIL: o.acmeEmail,
        ENABLE_HTTP_REDIRECT: "1",
        // /colibri-ws/<server-id>/ is proxied to <server-id>:9090: each bridge's id is its internal IP. The image's
        // default COLIBRI_WEBSOCKET_REGEX is "jvb" (one bridge named jvb), which no internal IP matches: every
        // client's bridge channel would get a 404. The regex admits IPv4 literals only (nginx needs no resolver);
        // the `relay` firewall rule lets 9090 reach the bridges alone. No braces: meet.conf puts it in an unquoted
        // location regex, where nginx would read `{` as a block.
        ENABLE_COLIBRI_WEBSOCKET: "1",
        COLIBRI_WEBSOCKET_REGEX: COLIBRI_SERVER_ID_REGEX,
        ENABLE_XMPP_WEBSOCKET: "1",
        XMPP_BOSH_URL_BASE: "http://xmpp.meet.jitsi:5280",
        // Relay: bridges reach each other at wss://<meet>/colibri-relay-ws/<server-id>/ (jvb.conf websockets), the
        // location meet.conf adds only with ENABLE_OCTO.
        ...(o.relay ? { ENABLE_OCTO: "1" } : {}),
      },
      volumes: [`${JITSI_DIR}/config/web:/config`],
      depends_on: ["prosody"],
      logging,
    },
    prosody: {
      image: o.images.jitsiProsody,
      restart,
      expose: ["5222", "5280", "5347"],
      // The bridges reach Prosody over the VPC: published on the internal address only, never the public one.
      ports: [`${env("VM_INTERNAL_IP")}:${XMPP_PORT}:5222`],
      environment: {
        ...xmpp,
        ...prosodyJwtEnv(env("JITSI_JWT_APP_SECRET")),
        JICOFO_AUTH_PASSWORD: env("JICOFO_AUTH_PASSWORD"),
        JVB_AUTH_PASSWORD: env("JVB_AUTH_PASSWORD"),
      },
      volumes: [`${JITSI_DIR}/config/prosody:/config`],
      networks: { default: { aliases: ["xmpp.meet.jitsi"] } },
      logging,
    },
    jicofo: {
      image: o.images.jitsiJicofo,
      restart,
      environment: {
        ...xmpp,
        ...jicofoWebJwtEnv(),
        JICOFO_AUTH_PASSWORD: env("JICOFO_AUTH_PASSWORD"),
        JVB_BREWERY_MUC: BREWERY_MUC,
        // Seed "Jitsi Scaling": ~500 participants per JVB; "load distributed by Jicofo based on current load".
        MAX_BRIDGE_PARTICIPANTS: String(o.maxBridgeParticipants),
        ...(o.relay
          ? {
              // Relay (formerly Octo): one conference may span bridges; participants go to a bridge in their region.
              ENABLE_OCTO: "1",
              OCTO_BRIDGE_SELECTION_STRATEGY: "RegionBasedBridgeSelectionStrategy",
              // Jicofo's local-region: where a participant without a region goes (jicofo.conf, jicofo's
              // RegionBasedBridgeSelectionStrategy); participants bring theirs from config.js (userRegionConfig).
              JICOFO_OCTO_REGION: o.regions[0]!,
            }
          : {}),
      },
      volumes: [`${JITSI_DIR}/config/jicofo:/config`],
      depends_on: ["prosody"],
      logging,
    },
  };
  return `# Rendered by src/files/jitsi.ts. Secrets are \${VAR} references filled from ${JITSI_ENV_FILE}.\n${stringify(
    { version: "3.9", services },
    { lineWidth: 0, aliasDuplicateObjects: false },
  )}`;
}

/** A Videobridge's docker-compose.yml: the jvb container alone, on the host network. */
export function bridgeCompose(o: BridgeOptions): string {
  const environment: Record<string, string> = {
    ...XMPP,
    // Prosody on the signaling VM, over the VPC.
    XMPP_SERVER: o.xmppServer,
    XMPP_PORT: String(XMPP_PORT),
    PUBLIC_URL: `https://${o.meetDomain}`,
    JVB_AUTH_USER: "jvb",
    JVB_AUTH_PASSWORD: env("JVB_AUTH_PASSWORD"),
    JVB_BREWERY_MUC: BREWERY_MUC,
    JVB_PORT: String(JVB_MEDIA_PORT),
    // GCE's external IP is a 1:1 NAT the instance cannot see: advertise it (metadata server, at boot).
    JVB_ADVERTISE_IPS: env("VM_PUBLIC_IP"),
    // Clients open wss://<meet>/colibri-ws/<server-id>/; jitsi-web proxies that to <server-id>:9090. jvb.conf's
    // websockets block is off unless ENABLE_COLIBRI_WEBSOCKET is set (docker-jitsi-meet stable-9823 defaults it to 0).
    ENABLE_COLIBRI_WEBSOCKET: "1",
    JVB_WS_DOMAIN: o.meetDomain,
    JVB_WS_SERVER_ID: env("VM_INTERNAL_IP"),
    COLIBRI_REST_ENABLED: "true",
    // POST /colibri/shutdown (graceful) for the drain before the group removes the instance.
    SHUTDOWN_REST_ENABLED: "true",
    // The bridge's region (jvb.conf relay.region): Jicofo's RegionBasedBridgeSelectionStrategy reads it.
    JVB_OCTO_REGION: o.region,
  };
  if (o.relay) {
    Object.assign(environment, {
      ENABLE_OCTO: "1",
      // The relay runs over colibri websockets on 9090 (the network's `relay` rule), no longer Octo's UDP 4096:
      // other bridges reach this one through its id, its internal IP.
      JVB_OCTO_RELAY_ID: env("VM_INTERNAL_IP"),
    });
  }
  const services = {
    jvb: {
      image: o.image,
      // After a graceful shutdown the bridge exits 0 and must stay down (a restart would rejoin the brewery and take
      // new conferences on a machine being removed); crashes still restart it, co-jitsi.service starts it at boot.
      restart: "on-failure",
      // Host network: media on UDP 10000 without docker's userland proxy, and 8080/9090 on the instance itself.
      network_mode: "host",
      environment,
      volumes: [`${JITSI_DIR}/config/jvb:/config`],
      // The drain runs before compose stops the container (co-jitsi.service ExecStop); this is the last resort.
      stop_grace_period: "30s",
      logging: { driver: "journald" },
    },
  };
  return `# Rendered by src/files/jitsi.ts. Secrets are \${VAR} references filled from ${JITSI_ENV_FILE}.\n${stringify(
    { version: "3.9", services },
    { lineWidth: 0, aliasDuplicateObjects: false },
  )}`;
}

/**
 * Drain a bridge: ask it for a graceful shutdown (it takes no new conferences; Jicofo moves new ones elsewhere)
 * and wait until its last conference has ended or `drainSeconds` have passed. Idempotent: a bridge that is not
 * running (or already drained) returns at once. Run by co-drain-watch.service when GCE's graceful shutdown starts
 * (shutdownWatchScript), and again, as a fallback, by the `shutdown-script` and co-jitsi.service's ExecStop.
 */
export function drainScript(o: { drainSeconds: number; restUrl?: string; pollSeconds?: number }): string {
  return `#!/usr/bin/env bash
# Rendered by src/files/jitsi.ts. Drains this Videobridge before the instance stops.
set -euo pipefail

REST=${q(o.restUrl ?? `http://127.0.0.1:${JVB_REST_PORT}`)}
DRAIN_SECONDS=${o.drainSeconds}
POLL=${o.pollSeconds ?? 10}

if ! curl -fsS -m 5 "$REST/about/health" >/dev/null 2>&1; then
  echo "bridge not running; nothing to drain"
  exit 0
fi
# No new conferences from now on; the bridge exits by itself once the last one has ended.
curl -fsS -m 10 -X POST -H 'Content-Type: application/json' \\
  -d '{"graceful-shutdown": "true"}' "$REST/colibri/shutdown" >/dev/null || true

deadline=$((SECONDS + DRAIN_SECONDS))
while (( SECONDS < deadline )); do
  if ! stats="$(curl -fsS -m 5 "$REST/colibri/stats" 2>/dev/null)"; then
    echo "bridge has shut down"
    exit 0
  fi
  conferences="$(jq -r '.conferences // 0' <<<"$stats")"
  participants="$(jq -r '.participants // 0' <<<"$stats")"
  if [[ "$conferences" == "0" ]]; then
    echo "bridge drained"
    exit 0
  fi
  echo "draining: $conferences conference(s), $participants participant(s) left"
  sleep "$POLL"
done
echo "drain window of $DRAIN_SECONDS s over; stopping with conferences left" >&2
`;
}

/** The metadata key GCE sets to PENDING_STOP for the whole graceful-shutdown window (UNSPECIFIED or 404 otherwise). */
export const STOP_STATE_URL = "http://metadata.google.internal/computeMetadata/v1/instance/shutdown-details/stop-state";

/**
 * Start the drain when GCE starts the instance's graceful shutdown. When the group deletes a bridge (scale-in,
 * rolling update, repair), GCE holds it in PENDING_STOP for the graceful-shutdown window with the guest OS still
 * running: the `shutdown-script` and systemd's ExecStop only run once that window is over, in the ordinary ~90 s
 * before power-off. The metadata server shows the state during the window, so this loop (co-drain-watch.service)
 * is what drains the bridge within it; the later hooks find it drained and return at once.
 */
export function shutdownWatchScript(o: { drainPath?: string; stateUrl?: string; pollSeconds?: number } = {}): string {
  return `#!/usr/bin/env bash
# Rendered by src/files/jitsi.ts. Drains this Videobridge as soon as GCE starts its graceful shutdown.
set -uo pipefail

STATE_URL=${q(o.stateUrl ?? STOP_STATE_URL)}
DRAIN=${q(o.drainPath ?? `${JITSI_BIN}/drain.sh`)}
POLL=${o.pollSeconds ?? 5}

while true; do
  # 404 or UNSPECIFIED while the instance runs normally; PENDING_STOP from the start of the graceful shutdown.
  state="$(curl -fsS -m 5 -H 'Metadata-Flavor: Google' "$STATE_URL" 2>/dev/null || true)"
  if [[ "$state" == "PENDING_STOP" ]]; then
    echo "graceful shutdown started: draining"
    exec "$DRAIN"
  fi
  sleep "$POLL"
done
`;
}

function drainWatchUnit(): string {
  return [
    "[Unit]",
    "Description=Course Organizer: drain the Videobridge when GCE starts its graceful shutdown",
    "Wants=network-online.target",
    "After=network-online.target co-jitsi.service",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${JITSI_BIN}/watch-shutdown.sh`,
    // The drain exits 0 once done: no restart then (a restart would only find the bridge drained).
    "Restart=on-failure",
    "RestartSec=5",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

function composeUnit(description: string, dir: string, execStop: string[], timeoutStopSec?: number, registryLogin = false): string {
  const compose = `/usr/bin/docker compose --env-file ${JITSI_ENV_FILE} -f ${dir}/docker-compose.yml`;
  return oneshotUnit({
    description,
    requires: ["docker.service", "co-secrets.service"],
    wants: ["network-online.target"],
    after: ["docker.service", "co-secrets.service", "network-online.target"],
    workingDirectory: dir,
    // The images come through the project's Docker Hub mirror (Artifact Registry): log in with the instance's account.
    execStartPre: registryLogin ? [`${JITSI_BIN}/registry-login.sh`] : [],
    exec: [`${compose} up -d --remove-orphans`],
    execStop: [...execStop, `${compose} stop`],
    timeoutStartSec: 1200,
    service: timeoutStopSec ? [`TimeoutStopSec=${timeoutStopSec}`] : [],
  });
}

function secretsUnit(): string {
  return oneshotUnit({
    description: "Course Organizer: fetch Jitsi secrets and the instance's addresses into /run",
    exec: [`${JITSI_BIN}/fetch-secrets.sh`],
    wants: ["network-online.target"],
    after: ["network-online.target"],
    before: ["co-jitsi.service"],
    timeoutStartSec: 600,
  });
}

/**
 * Jicofo's region-based selection puts a participant on a bridge of the participant's region, and cascades the
 * regions' bridges only for a meeting whose participants are in several (jicofo RegionBasedBridgeSelectionStrategy).
 * The participant's region is `config.deploymentInfo.userRegion` in the page's config.js, which the URL cannot
 * override (jitsi-meet configWhitelist.ts has no deploymentInfo). The meet front end here is one machine for every
 * region, so the region comes with the meeting link: the app, served by the nearest region's pods (the global
 * load balancer's choice), links `https://<meet>/<room>?jwt=...&region=<its REGION>`. jitsi-web runs config.js
 * through SSI (meet.conf: `ssi on` for JavaScript); the snippet below (appended to meet.conf as custom-meet.conf)
 * keeps the argument only when it is one of the bridges' regions, and the SSI echo in custom-config.js writes it.
 * nginx runs the server rewrite phase for the SSI subrequest too, with no arguments: the `if` leaves the value
 * the page request set, and subrequests share their parent's variables.
 */
export function userRegionNginx(regions: string[]): string {
  const alternatives = regions.map((r) => r.replace(/[^a-z0-9-]/g, "")).join("|");
  return [
    "# Rendered by src/files/jitsi.ts: the participant's region from the meeting link, for config.js (SSI).",
    `if ($arg_region ~ "^(${alternatives})$") {`,
    "    set $co_user_region $arg_region;",
    "}",
    "",
  ].join("\n");
}

/** Appended to jitsi-web's config.js: the participant's region, or none (Jicofo then uses its own region). */
export function userRegionConfig(): string {
  return [
    "// Rendered by src/files/jitsi.ts: the participant's region, set by nginx from the meeting link (custom-meet.conf).",
    "config.deploymentInfo = config.deploymentInfo || {};",
    `config.deploymentInfo.userRegion = '<!--# echo var="co_user_region" default="" -->' || undefined;`,
    "",
  ].join("\n");
}

/** `bin/registry-login.sh` where the images come from Artifact Registry (none otherwise). */
function registryLoginFiles(hosts: string[] | undefined): JitsiFile[] {
  return hosts && hosts.length > 0
    ? [{ path: `${JITSI_BIN}/registry-login.sh`, renderPath: "bin/registry-login.sh", content: registryLoginScript({ hosts }), permissions: "0755" }]
    : [];
}

/** Files of the signaling VM. */
export function signalingFiles(o: SignalingOptions): JitsiFile[] {
  const region: JitsiFile[] = o.relay
    ? [
        {
          path: `${JITSI_DIR}/config/web/nginx/custom-meet.conf`,
          renderPath: "config/web/nginx/custom-meet.conf",
          content: userRegionNginx(o.regions),
          permissions: "0644",
        },
        { path: `${JITSI_DIR}/config/web/custom-config.js`, renderPath: "config/web/custom-config.js", content: userRegionConfig(), permissions: "0644" },
      ]
    : [];
  return [
    ...registryLoginFiles(o.registryHosts),
    ...region,
    { path: `${JITSI_DIR}/docker-compose.yml`, renderPath: "docker-compose.yml", content: signalingCompose(o), permissions: "0640" },
    {
      path: `${JITSI_BIN}/fetch-secrets.sh`,
      renderPath: "bin/fetch-secrets.sh",
      content: fetchSecretsScript({ project: o.project, secrets: o.secrets }),
      permissions: "0755",
    },
    { path: "/etc/systemd/system/co-secrets.service", renderPath: "systemd/co-secrets.service", content: secretsUnit(), permissions: "0644" },
    {
      path: "/etc/systemd/system/co-jitsi.service",
      renderPath: "systemd/co-jitsi.service",
      content: composeUnit("Course Organizer: Jitsi signaling (web, Prosody, Jicofo)", JITSI_DIR, [], undefined, (o.registryHosts ?? []).length > 0),
      permissions: "0644",
    },
  ];
}

/** Files of a Videobridge instance (the drain script also goes to the `shutdown-script` metadata key). */
export function bridgeFiles(o: BridgeOptions): JitsiFile[] {
  return [
    ...registryLoginFiles(o.registryHosts),
    { path: `${JITSI_DIR}/docker-compose.yml`, renderPath: "docker-compose.yml", content: bridgeCompose(o), permissions: "0640" },
    {
      path: `${JITSI_BIN}/fetch-secrets.sh`,
      renderPath: "bin/fetch-secrets.sh",
      content: fetchSecretsScript({ project: o.project, secrets: o.secrets }),
      permissions: "0755",
    },
    { path: `${JITSI_BIN}/drain.sh`, renderPath: "bin/drain.sh", content: drainScript({ drainSeconds: o.drainSeconds }), permissions: "0755" },
    { path: `${JITSI_BIN}/watch-shutdown.sh`, renderPath: "bin/watch-shutdown.sh", content: shutdownWatchScript(), permissions: "0755" },
    { path: "/etc/systemd/system/co-secrets.service", renderPath: "systemd/co-secrets.service", content: secretsUnit(), permissions: "0644" },
    { path: `/etc/systemd/system/${DRAIN_WATCH_UNIT}`, renderPath: `systemd/${DRAIN_WATCH_UNIT}`, content: drainWatchUnit(), permissions: "0644" },
    {
      path: "/etc/systemd/system/co-jitsi.service",
      renderPath: "systemd/co-jitsi.service",
      // Stopping the unit (shutdown, reboot) drains first; systemd allows the drain window plus a minute.
      content: composeUnit(
        "Course Organizer: Jitsi Videobridge",
        JITSI_DIR,
        [`${JITSI_BIN}/drain.sh`],
        o.drainSeconds + 60,
        (o.registryHosts ?? []).length > 0,
      ),
      permissions: "0644",
    },
  ];
}

/** The user-data that writes `files` and starts Jitsi (and, on a bridge, the graceful-shutdown watch). */
export function jitsiUserData(files: JitsiFile[]): string {
  const watch = files.some((f) => f.path === `/etc/systemd/system/${DRAIN_WATCH_UNIT}`) ? [DRAIN_WATCH_UNIT] : [];
  return cloudInit({
    files: files.map((f) => ({ path: f.path, content: f.content, permissions: f.permissions })),
    packages: ["jq"],
    runcmd: [
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", "docker.service"],
      ["systemctl", "enable", "co-secrets.service", "co-jitsi.service", ...watch],
      ["systemctl", "start", "co-jitsi.service", ...watch],
    ],
  });
}
