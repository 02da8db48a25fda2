/**
 * Hardening of the VM's nginx (stages 1-2), checked live with the real nginx on loopback ports 18110-18119 in
 * front of stub upstreams started and stopped here by PID: Jitsi rooms refused without the app's token, security
 * headers on the app and meet hosts, uploads served neutralised, and the per-client rate limits answering 429.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RATE_LIMITS, LOGIN_PATHS, nginxConf, type NginxOptions } from "../src/files/nginx";
import { MEDIA_CSP } from "../src/files/security-headers";
import { startEchoServer, wsExchange, type EchoServer } from "./helpers/websocket";
import { selfSigned } from "./helpers/tls";
import { waitForPort } from "./helpers/net";

const ports = { api: 18110, ws: 18111, jitsi: 18112, http: 18113, https: 18114 };
const app = "app.example.org";
const meet = "meet.example.org";

let dir: string;
let api: http.Server;
const apiSeen: string[] = [];
let daphne: EchoServer;
let jitsi: EchoServer;
let nginx: ChildProcess | undefined;

function options(d: string): NginxOptions {
  return {
    serverName: app,
    meetServerName: meet,
    tls: true,
    apiUpstreams: [`127.0.0.1:${ports.api}`],
    wsUpstreams: [`127.0.0.1:${ports.ws}`],
    jitsiUpstream: `127.0.0.1:${ports.jitsi}`,
    staticRoot: join(d, "static"),
    mediaRoot: join(d, "media"),
    certDir: join(d, "certs"),
    acmeRoot: join(d, "acme"),
    runtimeDir: join(d, "run"),
    httpPort: ports.http,
    httpsPort: ports.https,
    listenAddress: "127.0.0.1",
  };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 1 });

function request(o: { path: string; host?: string; method?: string; localAddress?: string; agent?: https.Agent }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port: ports.https,
        path: o.path,
        method: o.method ?? "GET",
        servername: o.host ?? app,
        rejectUnauthorized: false,
        localAddress: o.localAddress,
        agent: o.agent ?? false,
        headers: { Host: o.host ?? app },
      },
      (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nginx-hardening-"));
  chmodSync(dir, 0o755);
  for (const d of ["static", "media/uploads", "certs", "acme", "run"]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, "media/uploads/evil.html"), "<script>fetch('/api/me')</script>\n");
  writeFileSync(join(dir, "media/uploads/evil.svg"), '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n');
  writeFileSync(join(dir, "media/uploads/photo.png"), "not really a png\n");
  selfSigned({ key: join(dir, "certs/privkey.pem"), cert: join(dir, "certs/fullchain.pem"), subject: `/CN=${app}`, altNames: [`DNS:${app}`, `DNS:${meet}`] });
  api = http.createServer((req, res) => {
    apiSeen.push(req.url ?? "");
    const html = req.url === "/";
    const body = html ? "<!doctype html><title>Course Organizer</title>" : JSON.stringify({ path: req.url });
    res.writeHead(200, { "content-type": html ? "text/html" : "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((resolve) => api.listen(ports.api, "127.0.0.1", () => resolve()));
  daphne = await startEchoServer(ports.ws);
  jitsi = await startEchoServer(ports.jitsi);

  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, nginxConf(options(dir)));
  let out = "";
  nginx = spawn("nginx", ["-p", `${dir}/`, "-e", join(dir, "error.log"), "-c", conf, "-g", "daemon off;"], { stdio: ["ignore", "pipe", "pipe"] });
  nginx.stdout!.on("data", (d) => (out += d));
  nginx.stderr!.on("data", (d) => (out += d));
  await waitForPort(ports.https, nginx!, () => out);
}, 60_000);

afterAll(async () => {
  keepAlive.destroy();
  if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
    const exited = new Promise<void>((resolve) => nginx!.on("exit", () => resolve()));
    process.kill(nginx.pid!, "SIGTERM");
    await exited;
  }
  await daphne?.close();
  await jitsi?.close();
  await new Promise<void>((resolve) => (api ? api.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("Jitsi behind the VM's nginx: rooms only with the app's token", () => {
  it("refuses a room page without ?jwt= and passes one with it to jitsi-web", async () => {
    jitsi.upgrades.length = 0;
    const refused = await request({ host: meet, path: "/physics-101" });
    expect(refused.status).toBe(403);
    // The stub answers plain requests with 426: a 426 is the request having reached jitsi-web.
    const allowed = await request({ host: meet, path: "/physics-101?jwt=eyJhbGciOiJIUzI1NiJ9.e30.sig" });
    expect(allowed.status).toBe(426);
    // The client's own assets (a dot or a directory in the path) are not rooms.
    expect((await request({ host: meet, path: "/libs/app.bundle.min.js" })).status).toBe(426);
  });

  it("sends the meet front page (where anyone could start a room) to the app", async () => {
    const r = await request({ host: meet, path: "/" });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(`https://${app}/`);
  });

  it("refuses an XMPP websocket or BOSH session without the token lib-jitsi-meet appends", async () => {
    jitsi.upgrades.length = 0;
    await expect(wsExchange({ port: ports.https, secure: true, host: meet, path: "/xmpp-websocket?room=physics-101", messages: ["<open/>"] })).rejects.toThrow(
      "expected 101 Switching Protocols, got 403",
    );
    expect((await request({ host: meet, path: "/http-bind?room=physics-101", method: "POST" })).status).toBe(403);
    expect(jitsi.upgrades).toHaveLength(0);
    const ok = await wsExchange({
      port: ports.https,
      secure: true,
      host: meet,
      path: "/xmpp-websocket?room=physics-101&token=eyJ.e30.sig",
      messages: ["<open/>"],
    });
    expect(ok.replies).toEqual(["echo:<open/>"]);
    expect(jitsi.upgrades.map((u) => u.url)).toEqual(["/xmpp-websocket?room=physics-101&token=eyJ.e30.sig"]);
  });
});

describe("security headers", () => {
  it("on the app's HTML", async () => {
    const r = await request({ path: "/" });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("text/html");
    expect(r.headers["strict-transport-security"]).toBe("max-age=63072000");
    expect(r.headers["x-content-type-options"]).toBe("nosniff");
    expect(r.headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
    expect(r.headers["content-security-policy"]).toBe("frame-ancestors 'self'; base-uri 'self'; object-src 'none'");
    expect(r.headers["permissions-policy"]).toBe(
      `camera=(self "https://${meet}"), microphone=(self "https://${meet}"), display-capture=(self "https://${meet}"), geolocation=(), payment=(), usb=()`,
    );
  });

  it("on the meet host: framed by the app only", async () => {
    const r = await request({ host: meet, path: "/physics-101" });
    expect(r.headers["content-security-policy"]).toBe(`frame-ancestors 'self' https://${app}; base-uri 'self'; object-src 'none'`);
    expect(r.headers["permissions-policy"]).toBe("camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=()");
    expect(r.headers["strict-transport-security"]).toBe("max-age=63072000");
  });
});

describe("uploads (/media/) served neutralised", () => {
  for (const f of ["evil.html", "evil.svg"]) {
    it(`${f}: a sandboxed download, never a document of the app's origin`, async () => {
      const r = await request({ path: `/media/uploads/${f}` });
      expect(r.status).toBe(200);
      expect(r.headers["content-disposition"]).toBe("attachment");
      expect(r.headers["content-security-policy"]).toBe(MEDIA_CSP);
      expect(MEDIA_CSP.split(";")[0]).toBe("sandbox");
      expect(r.headers["x-content-type-options"]).toBe("nosniff");
      expect(r.headers["referrer-policy"]).toBe("no-referrer");
      expect(r.headers["strict-transport-security"]).toBe("max-age=63072000");
      expect(r.headers["cache-control"]).toBe("public, max-age=604800");
    });
  }
  it("a passive image displays inline, still sandboxed", async () => {
    const r = await request({ path: "/media/uploads/photo.png" });
    expect(r.headers["content-type"]).toBe("image/png");
    expect(r.headers["content-disposition"]).toBe("inline");
    expect(r.headers["content-security-policy"]).toBe(MEDIA_CSP);
  });
});

describe("per-client rate limits (a class behind one NAT fits; a flood gets 429)", () => {
  it("renders the documented budgets", () => {
    expect(DEFAULT_RATE_LIMITS).toEqual({ apiPerSecond: 10, apiBurst: 300, loginPerMinute: 60, loginBurst: 60 });
    const text = nginxConf(options("/srv"));
    expect(text).toContain("    limit_req_zone $client_addr zone=api:10m rate=10r/s;\n");
    expect(text).toContain("    limit_req_zone $client_addr zone=login:10m rate=60r/m;\n");
    expect(text).toContain("    limit_req_status 429;\n");
    expect(text).toContain("            limit_req zone=api burst=300 nodelay;\n");
    expect(text).toContain("            limit_req zone=login burst=60 nodelay;\n");
    expect(text).toContain("        location ~ ^(/accounts/login/|/admin/login/|/api/auth/) {\n");
  });

  it("/api/: a classroom's burst of 300 passes at once, the flood beyond it gets 429, another address is unaffected", async () => {
    const started = Date.now();
    const statuses: number[] = [];
    for (let i = 0; i < 360; i++) statuses.push((await request({ path: `/api/courses/${i}`, agent: keepAlive })).status);
    const seconds = (Date.now() - started) / 1000;
    const ok = statuses.filter((s) => s === 200).length;
    // 1 + burst at once, plus what 10 r/s refilled while the loop ran.
    expect(ok).toBeGreaterThanOrEqual(301);
    expect(ok).toBeLessThanOrEqual(301 + Math.ceil(seconds * 10) + 1);
    expect(statuses.slice(0, 301).every((s) => s === 200)).toBe(true);
    expect(new Set(statuses.filter((s) => s !== 200))).toEqual(new Set([429]));
    // The budget is per client address: another school's NAT still gets through.
    expect((await request({ path: "/api/me", localAddress: "127.0.0.3" })).status).toBe(200);
  }, 60_000);

  it("login: 60 attempts at once pass, the flood beyond them gets 429", async () => {
    expect(LOGIN_PATHS).toEqual(["/accounts/login/", "/admin/login/", "/api/auth/"]);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, localAddress: "127.0.0.4" } as https.AgentOptions);
    const started = Date.now();
    const statuses: number[] = [];
    for (let i = 0; i < 70; i++) statuses.push((await request({ path: "/accounts/login/", method: "POST", agent })).status);
    const seconds = (Date.now() - started) / 1000;
    agent.destroy();
    expect(statuses.slice(0, 61)).toEqual(Array(61).fill(200));
    const ok = statuses.filter((s) => s === 200).length;
    // 1 + burst at once, plus one a second refilled while the loop ran.
    expect(ok).toBeLessThanOrEqual(61 + Math.ceil(seconds) + 1);
    expect(new Set(statuses.filter((s) => s !== 200))).toEqual(new Set([429]));
  }, 30_000);
});
