/**
 * Users meet on bridges in their region (stage 4), and the bridges' websockets are real at stages 3-4:
 * - the stage-4 plan: Jicofo's local region, region-based selection, the relay location on jitsi-web, colibri
 *   websockets enabled on every bridge, and the participant-region snippets on the signaling machine;
 * - the snippets under Debian's real nginx with SSI as jitsi-web serves config.js (docker-jitsi-meet stable-9823
 *   meet.conf: `ssi on; ssi_types application/javascript`, config.js included into the page with
 *   `<!--#include virtual="/config.js" -->`, room paths rewritten to the index): a meeting link's `region` argument
 *   reaches `config.deploymentInfo.userRegion` only when it is one of the bridges' regions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { COLIBRI_SERVER_ID_REGEX, userRegionConfig, userRegionNginx } from "../src/files/jitsi";
import { file, plan } from "./helpers/plan";

describe("stage 4 plan: Jitsi learns regions", () => {
  it("Jicofo selects by region with the primary as its own; web proxies relay and colibri websockets; bridges serve them", async () => {
    const p = await plan("stage4", { withFiles: true });
    const sig = parse(file(p, "jitsi-signaling", "docker-compose.yml")).services;
    expect(sig.jicofo.environment).toMatchObject({
      ENABLE_OCTO: "1",
      OCTO_BRIDGE_SELECTION_STRATEGY: "RegionBasedBridgeSelectionStrategy",
      JICOFO_OCTO_REGION: "us-central1",
    });
    expect(sig.web.environment).toMatchObject({ ENABLE_OCTO: "1", ENABLE_COLIBRI_WEBSOCKET: "1", COLIBRI_WEBSOCKET_REGEX: "[0-9.]+" });
    for (const region of ["us-central1", "europe-west1"]) {
      const env = parse(file(p, `video-bridges-${region}`, "docker-compose.yml")).services.jvb.environment;
      expect(env).toMatchObject({ ENABLE_COLIBRI_WEBSOCKET: "1", ENABLE_OCTO: "1", JVB_OCTO_REGION: region, JVB_WS_DOMAIN: "meet.courses.example.org" });
      expect(env.JVB_WS_SERVER_ID).toBe(env.JVB_OCTO_RELAY_ID);
    }
    // nginx takes ?region= only when it names one of the two regions, and hands it to config.js through SSI.
    expect(file(p, "jitsi-signaling", "config/web/nginx/custom-meet.conf")).toBe(
      "# Rendered by src/files/jitsi.ts: the participant's region from the meeting link, for config.js (SSI).\n" +
        'if ($arg_region ~ "^(us-central1|europe-west1)$") {\n' +
        "    set $co_user_region $arg_region;\n" +
        "}\n",
    );
    expect(file(p, "jitsi-signaling", "config/web/custom-config.js")).toBe(
      "// Rendered by src/files/jitsi.ts: the participant's region, set by nginx from the meeting link (custom-meet.conf).\n" +
        "config.deploymentInfo = config.deploymentInfo || {};\n" +
        'config.deploymentInfo.userRegion = \'<!--# echo var="co_user_region" default="" -->\' || undefined;\n',
    );
  });

  it("stage 3 (one region, no relay): colibri websockets on, no relay location, no region snippets", async () => {
    const p = await plan("stage3", { withFiles: true });
    const sig = parse(file(p, "jitsi-signaling", "docker-compose.yml")).services;
    expect(sig.web.environment.ENABLE_OCTO).toBeUndefined();
    expect(sig.web.environment.COLIBRI_WEBSOCKET_REGEX).toBe("[0-9.]+");
    expect(sig.jicofo.environment.JICOFO_OCTO_REGION).toBeUndefined();
    expect(parse(file(p, "video-bridges-us-central1", "docker-compose.yml")).services.jvb.environment.ENABLE_COLIBRI_WEBSOCKET).toBe("1");
    expect(p.files!.filter((f) => f.role === "jitsi-signaling" && f.path.startsWith("config/web/"))).toEqual([]);
  });

  it("the server-id regex matches a bridge's internal IP and nothing with a host name or a path", () => {
    const re = new RegExp(`^/colibri-ws/(${COLIBRI_SERVER_ID_REGEX})/(.*)$`);
    expect(re.exec("/colibri-ws/10.10.0.17/abc?pwd=x")?.[1]).toBe("10.10.0.17");
    expect(re.test("/colibri-ws/evil.example.com/x")).toBe(false);
    expect(re.test("/colibri-ws/jvb/x")).toBe(false);
  });
});

describe("the participant's region through real nginx SSI", () => {
  const PORT = 18480;
  let dir = "";
  let proc: ChildProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "co-jitsi-region-"));
    // nginx's workers run unprivileged: they must read the files.
    chmodSync(dir, 0o755);
    // The config.js jitsi-web builds: the image's settings, then custom-config.js appended (10-config).
    writeFileSync(join(dir, "config.js"), `var config = {};\nconfig.hosts = { domain: 'meet.jitsi' };\n${userRegionConfig()}`);
    writeFileSync(join(dir, "index.html"), `<html><script><!--#include virtual="/config.js" --></script></html>\n`);
    const conf = [
      "worker_processes 1;",
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log;`,
      "events { worker_connections 64; }",
      "http {",
      `  access_log off; client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;`,
      "  types { text/html html; application/javascript js; }",
      "  server {",
      `    listen 127.0.0.1:${PORT};`,
      `    root ${dir};`,
      "    index index.html;",
      "    ssi on;",
      "    ssi_types application/x-javascript application/javascript;",
      `    location = /config.js { alias ${dir}/config.js; }`,
      `    location ~ ^/([^/?&:'"]+)$ { try_files $uri @root_path; }`,
      "    location @root_path { rewrite ^/(.*)$ / break; }",
      // custom-meet.conf is appended at the end of meet.conf, inside the server block.
      userRegionNginx(["us-central1", "europe-west1"]),
      "  }",
      "}",
    ].join("\n");
    writeFileSync(join(dir, "nginx.conf"), conf);
    const t = spawnSync("nginx", ["-t", "-p", `${dir}/`, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf")], { encoding: "utf8" });
    expect(t.status, t.stderr).toBe(0);
    proc = spawn("nginx", ["-p", `${dir}/`, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: "ignore" });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect(PORT, "127.0.0.1", () => (s.destroy(), resolve(true)));
        s.on("error", () => resolve(false));
      });
      if (up) break;
      if (Date.now() > deadline) throw new Error("nginx did not start");
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    if (proc?.pid && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.on("exit", r));
      process.kill(proc.pid, "SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const page = (path: string) =>
    new Promise<string>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port: PORT, path }, (res) => {
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () => resolve(body));
        })
        .on("error", reject);
    });

  it.each([
    ["/physics-101?jwt=t&region=europe-west1", "europe-west1"],
    ["/physics-101?region=us-central1", "us-central1"],
    ["/physics-101", ""],
    ["/physics-101?region=asia-east1", ""],
    ["/physics-101?region=europe-west1'%3Balert(1)%2F%2F", ""],
  ])("%s -> userRegion '%s'", async (path, region) => {
    const body = await page(path);
    expect(body).toContain("var config = {};");
    expect(body).toContain(`config.deploymentInfo.userRegion = '${region}' || undefined;`);
    expect(body).not.toContain("<!--#");
  });
});
