/**
 * The rendered nginx.conf checked by the real nginx (Debian's 1.22): `nginx -t` on both stage variants, then live
 * servers on loopback ports 18000-18099 in front of stub upstreams (an HTTP API and WebSocket echo servers),
 * each started and stopped by this file, by PID.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as tls from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nginxConf, nginxProblems, type NginxOptions } from "../src/files/nginx";
import { startEchoServer, wsExchange, type EchoServer } from "./helpers/websocket";
import { selfSigned } from "./helpers/tls";
import { waitForPort } from "./helpers/net";

const run = promisify(execFile);

const ports = {
  api: 18010,
  ws: 18011,
  jitsi: 18012,
  lbHttp: 18080,
  tlsHttp: 18081,
  tlsHttps: 18043,
};
const app = "app.example.org";
const meet = "meet.example.org";
/** Stands in for the forwarding rule's address Google appends after the client's in X-Forwarded-For. */
const forwardingRuleIp = "198.51.100.10";

let dir: string;
let api: http.Server;
let apiSeen: { url: string; headers: http.IncomingHttpHeaders }[] = [];
let daphne: EchoServer;
let jitsi: EchoServer;

/** A JSON body above gzip_min_length (1024 bytes). */
const bigBody = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, title: `Study group ${i}` })) });

function options(variant: "tls" | "lb", d: string): NginxOptions {
  return {
    serverName: app,
    meetServerName: meet,
    tls: variant === "tls",
    apiUpstreams: [`127.0.0.1:${ports.api}`],
    wsUpstreams: [`127.0.0.1:${ports.ws}`],
    jitsiUpstream: `127.0.0.1:${ports.jitsi}`,
    staticRoot: join(d, "static"),
    mediaRoot: join(d, "media"),
    certDir: join(d, "certs"),
    acmeRoot: join(d, "acme"),
    runtimeDir: join(d, `run-${variant}`),
    // 127.0.0.2 plays Google's front end: requests from it carry trusted X-Forwarded-For; 127.0.0.1 is anyone else.
    // Only the front ends' ranges, as the stack passes them (GOOGLE_LB_RANGES): the forwarding rule's address is not known here.
    loadBalancerRanges: variant === "lb" ? ["127.0.0.2/32"] : undefined,
    httpPort: variant === "lb" ? ports.lbHttp : ports.tlsHttp,
    httpsPort: ports.tlsHttps,
    listenAddress: "127.0.0.1",
  };
}

function writeConf(variant: "tls" | "lb"): string {
  const o = options(variant, dir);
  mkdirSync(o.runtimeDir!, { recursive: true });
  const path = join(dir, `nginx-${variant}.conf`);
  writeFileSync(path, nginxConf(o));
  return path;
}

interface Nginx {
  proc: ChildProcess;
  exited: Promise<void>;
  log: () => string;
}

async function startNginx(conf: string, port: number): Promise<Nginx> {
  const proc = spawn("nginx", ["-p", `${dir}/`, "-e", join(dir, "error.log"), "-c", conf, "-g", "daemon off;"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((resolve) => proc.on("exit", () => resolve()));
  await waitForPort(port, proc, () => out);
  return { proc, exited, log: () => out };
}

async function stopNginx(n: Nginx | undefined): Promise<void> {
  if (!n || n.proc.exitCode !== null || n.proc.signalCode !== null) return;
  // SIGTERM: fast shutdown of the master (and its workers), by the PID we started.
  process.kill(n.proc.pid!, "SIGTERM");
  const timer = setTimeout(() => n.proc.pid && process.kill(n.proc.pid, "SIGKILL"), 5000);
  await n.exited;
  clearTimeout(timer);
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP(S) request to 127.0.0.1, optionally from another loopback address; the body is not decompressed. */
function request(o: { port: number; path: string; host?: string; headers?: Record<string, string>; localAddress?: string; secure?: boolean }): Promise<Reply> {
  const mod = o.secure ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      {
        host: "127.0.0.1",
        port: o.port,
        path: o.path,
        localAddress: o.localAddress,
        servername: o.secure ? (o.host ?? app) : undefined,
        rejectUnauthorized: false,
        agent: false,
        headers: { Host: o.host ?? app, ...o.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nginx-test-"));
  // nginx's workers run as nobody: the temp tree must be traversable and the served files readable.
  chmodSync(dir, 0o755);
  for (const d of ["static/css", "media/uploads", "certs", "acme/.well-known/acme-challenge"]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, "static/css/app.3f9a1c.css"), "body { margin: 0; }\n".repeat(200));
  writeFileSync(join(dir, "media/uploads/notes.txt"), "lecture notes\n");
  writeFileSync(join(dir, "acme/.well-known/acme-challenge/token-123"), "token-123.thumbprint");
  // The self-signed placeholder the VM's boot script writes before certbot runs.
  selfSigned({ key: join(dir, "certs/privkey.pem"), cert: join(dir, "certs/fullchain.pem"), subject: `/CN=${app}`, altNames: [`DNS:${app}`, `DNS:${meet}`] });

  api = http.createServer((req, res) => {
    apiSeen.push({ url: req.url ?? "", headers: req.headers });
    // With Content-Length, as Gunicorn sends it: gzip_min_length reads only that header.
    const body = req.url === "/api/big" ? bigBody : JSON.stringify({ path: req.url });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((resolve) => api.listen(ports.api, "127.0.0.1", () => resolve()));
  daphne = await startEchoServer(ports.ws);
  jitsi = await startEchoServer(ports.jitsi);
}, 60_000);

afterAll(async () => {
  await daphne?.close();
  await jitsi?.close();
  await new Promise<void>((resolve) => (api ? api.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("nginx -t", () => {
  for (const variant of ["tls", "lb"] as const) {
    it(`accepts the ${variant === "tls" ? "stage-1 (TLS on the VM)" : "stage-2 (behind the load balancer)"} configuration`, async () => {
      const conf = writeConf(variant);
      const { stderr } = await run("nginx", ["-t", "-p", `${dir}/`, "-e", join(dir, "error.log"), "-c", conf]);
      expect(stderr).toContain("syntax is ok");
      expect(stderr).toContain("test is successful");
      expect(stderr).not.toMatch(/\[warn\]|\[emerg\]/);
    });
  }

  it("accepts the production rendering (ports 80/443, default log and temp paths)", async () => {
    const o: NginxOptions = { ...options("tls", dir), runtimeDir: undefined, httpPort: undefined, httpsPort: undefined, listenAddress: undefined };
    const text = nginxConf(o);
    expect(text).toContain("    listen 80 default_server;\n");
    expect(text).toContain("    listen 443 ssl http2 default_server;\n");
    expect(text).toContain("    return 301 https://$host$request_uri;\n");
    expect(text).not.toMatch(/_temp_path|^pid /m);
    const conf = join(dir, "nginx-prod.conf");
    writeFileSync(conf, text);
    const { stderr } = await run("nginx", ["-t", "-p", `${dir}/`, "-e", join(dir, "error.log"), "-c", conf]);
    expect(stderr).toContain("test is successful");
  });

  it("fails on a configuration nginx cannot load (the check can fail)", async () => {
    const conf = join(dir, "nginx-broken.conf");
    writeFileSync(
      conf,
      nginxConf(options("tls", dir)).replace("listen 127.0.0.1:18043 ssl http2 default_server;", "listen 127.0.0.1:18043 ssl;\n        http2 on;"),
    );
    await expect(run("nginx", ["-t", "-p", `${dir}/`, "-e", join(dir, "error.log"), "-c", conf])).rejects.toThrow(/unknown directive "http2"/);
  });
});

describe("stage 2 live: nginx behind the load balancer, in front of stub upstreams", () => {
  let n: Nginx | undefined;
  beforeAll(async () => {
    n = await startNginx(writeConf("lb"), ports.lbHttp);
  }, 30_000);
  afterAll(async () => {
    await stopNginx(n);
  });

  it("passes /api/ to the API with the client address and scheme the load balancer reported", async () => {
    apiSeen = [];
    const r = await request({
      port: ports.lbHttp,
      path: "/api/courses/?page=2",
      localAddress: "127.0.0.2",
      headers: { "X-Forwarded-For": `203.0.113.7, ${forwardingRuleIp}`, "X-Forwarded-Proto": "https", Via: "1.1 google" },
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString())).toEqual({ path: "/api/courses/?page=2" });
    expect(apiSeen).toHaveLength(1);
    expect(apiSeen[0].headers["x-forwarded-for"]).toBe("203.0.113.7");
    expect(apiSeen[0].headers["x-real-ip"]).toBe("203.0.113.7");
    expect(apiSeen[0].headers["x-forwarded-proto"]).toBe("https");
    expect(apiSeen[0].headers.host).toBe(app);
    expect(r.headers["strict-transport-security"]).toBe("max-age=63072000");
    expect(r.headers.server).toBe("nginx");
  });

  it("takes the client as the front end saw it, whatever the client put in X-Forwarded-For itself", async () => {
    apiSeen = [];
    const r = await request({
      port: ports.lbHttp,
      path: "/api/me",
      localAddress: "127.0.0.2",
      headers: { "X-Forwarded-For": `10.9.9.9, 203.0.113.8, ${forwardingRuleIp}`, "X-Forwarded-Proto": "https" },
    });
    expect(r.status).toBe(200);
    expect(apiSeen[0].headers["x-forwarded-for"]).toBe("203.0.113.8");
    expect(apiSeen[0].headers["x-real-ip"]).toBe("203.0.113.8");
  });

  it("ignores forwarded headers from peers outside the load balancer's ranges, and never redirects", async () => {
    apiSeen = [];
    const r = await request({ port: ports.lbHttp, path: "/api/me", headers: { "X-Forwarded-For": "203.0.113.99", "X-Forwarded-Proto": "https" } });
    expect(r.status).toBe(200);
    expect(apiSeen[0].headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(apiSeen[0].headers["x-forwarded-proto"]).toBe("http");
    expect(r.headers["strict-transport-security"]).toBeUndefined();
  });

  it("answers the health check itself", async () => {
    const r = await request({ port: ports.lbHttp, path: "/health", host: "10.10.0.5", localAddress: "127.0.0.2" });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("ok\n");
  });

  it("gzips a compressible response above gzip_min_length, also for requests via Google's proxy", async () => {
    const r = await request({ port: ports.lbHttp, path: "/api/big", localAddress: "127.0.0.2", headers: { "Accept-Encoding": "gzip", Via: "1.1 google" } });
    expect(r.status).toBe(200);
    expect(r.headers["content-encoding"]).toBe("gzip");
    expect(r.headers.vary).toBe("Accept-Encoding");
    expect(gunzipSync(r.body).toString()).toBe(bigBody);
    expect(r.body.length).toBeLessThan(bigBody.length / 3);

    const plain = await request({ port: ports.lbHttp, path: "/api/big" });
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.body.toString()).toBe(bigBody);
    const small = await request({ port: ports.lbHttp, path: "/api/small", headers: { "Accept-Encoding": "gzip" } });
    expect(small.headers["content-encoding"]).toBeUndefined();
  });

  it("serves /static/ with the 30-day immutable cache header, gzipped", async () => {
    const r = await request({ port: ports.lbHttp, path: "/static/css/app.3f9a1c.css", headers: { "Accept-Encoding": "gzip" } });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("text/css");
    expect(r.headers["cache-control"]).toBe("public, max-age=2592000, immutable");
    expect(r.headers["content-encoding"]).toBe("gzip");
    expect(r.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("serves local /media/ with the 7-day cache header", async () => {
    const r = await request({ port: ports.lbHttp, path: "/media/uploads/notes.txt" });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("lecture notes\n");
    expect(r.headers["cache-control"]).toBe("public, max-age=604800");
  });

  it("round-trips WebSocket frames through /ws/ to Daphne, with the upgrade headers and client address", async () => {
    daphne.upgrades.length = 0;
    const ex = await wsExchange({ port: ports.lbHttp, path: "/ws/groups/123/", host: app, messages: ["hello", "x".repeat(300)] });
    expect(ex.status).toBe(101);
    expect(ex.replies).toEqual(["echo:hello", `echo:${"x".repeat(300)}`]);
    expect(daphne.upgrades).toHaveLength(1);
    expect(daphne.upgrades[0].url).toBe("/ws/groups/123/");
    expect(daphne.upgrades[0].headers.upgrade).toBe("websocket");
    expect(daphne.upgrades[0].headers.connection).toBe("upgrade");
    expect(daphne.upgrades[0].headers["x-forwarded-for"]).toBe("127.0.0.1");
  });

  it("proxies the Jitsi host, including its /xmpp-websocket upgrade", async () => {
    jitsi.upgrades.length = 0;
    const ex = await wsExchange({ port: ports.lbHttp, path: "/xmpp-websocket?room=physics&token=t0ken", host: meet, messages: ["<open/>"] });
    expect(ex.replies).toEqual(["echo:<open/>"]);
    expect(jitsi.upgrades.map((u) => u.url)).toEqual(["/xmpp-websocket?room=physics&token=t0ken"]);
    // The app's /ws/ is not served on the meet host: that request reaches jitsi-web, not Daphne.
    const r = await request({ port: ports.lbHttp, path: "/ws/x", host: meet });
    expect(r.status).toBe(426);
  });
});

describe("stage 1 live: nginx terminating TLS", () => {
  let n: Nginx | undefined;
  beforeAll(async () => {
    n = await startNginx(writeConf("tls"), ports.tlsHttps);
    await waitForPort(ports.tlsHttp, n.proc, n.log);
  }, 30_000);
  afterAll(async () => {
    await stopNginx(n);
  });

  it("redirects HTTP to HTTPS, keeping host and path", async () => {
    const r = await request({ port: ports.tlsHttp, path: "/api/courses/?page=2" });
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe(`https://${app}:${ports.tlsHttps}/api/courses/?page=2`);
  });

  it("answers ACME HTTP-01 challenges on port 80 from the webroot", async () => {
    const r = await request({ port: ports.tlsHttp, path: "/.well-known/acme-challenge/token-123" });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("token-123.thumbprint");
  });

  it("serves the API over TLS with HSTS and X-Forwarded-Proto https", async () => {
    apiSeen = [];
    const r = await request({ port: ports.tlsHttps, path: "/api/me", secure: true, headers: { "X-Forwarded-For": "203.0.113.99" } });
    expect(r.status).toBe(200);
    expect(r.headers["strict-transport-security"]).toBe("max-age=63072000");
    expect(apiSeen[0].headers["x-forwarded-proto"]).toBe("https");
    // No load balancer at stage 1: a client's own X-Forwarded-For is not believed.
    expect(apiSeen[0].headers["x-forwarded-for"]).toBe("127.0.0.1");
  });

  it("keeps HSTS on /static/ next to its cache header", async () => {
    const r = await request({ port: ports.tlsHttps, path: "/static/css/app.3f9a1c.css", secure: true });
    expect(r.headers["cache-control"]).toBe("public, max-age=2592000, immutable");
    expect(r.headers["strict-transport-security"]).toBe("max-age=63072000");
  });

  it("negotiates HTTP/2 over TLS 1.3 with the certificate from certDir", async () => {
    const info = await new Promise<{ alpn: string | false | null; protocol: string | null; cn: unknown }>((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port: ports.tlsHttps, servername: app, ALPNProtocols: ["h2", "http/1.1"], rejectUnauthorized: false }, () => {
        resolve({ alpn: s.alpnProtocol, protocol: s.getProtocol(), cn: s.getPeerCertificate().subject?.CN });
        s.destroy();
      });
      s.on("error", reject);
    });
    expect(info).toEqual({ alpn: "h2", protocol: "TLSv1.3", cn: app });
  });

  it("allows only TLS 1.2 and 1.3", () => {
    // Not probed live: Debian's OpenSSL refuses TLS 1.1 on its own (MinProtocol in openssl.cnf), so a live
    // refusal would pass whatever nginx.conf says. The container's OpenSSL may differ; the directive is what counts.
    expect(nginxConf(options("tls", dir))).toContain("    ssl_protocols TLSv1.2 TLSv1.3;\n");
    expect(nginxConf(options("lb", dir))).not.toContain("ssl_");
  });

  it("round-trips a WebSocket over TLS (wss) through /ws/", async () => {
    const ex = await wsExchange({ port: ports.tlsHttps, path: "/ws/chat/", host: app, messages: ["secure hello"], secure: true });
    expect(ex.replies).toEqual(["echo:secure hello"]);
  });
});

describe("nginx options", () => {
  it("names every bad field", () => {
    const o = options("lb", "/srv");
    expect(nginxProblems({ ...o, apiUpstreams: [], wsUpstreams: ["daphne"], staticRoot: "static", loadBalancerRanges: ["google"], httpPort: 0 })).toEqual([
      'nginxConf options.apiUpstreams: [] is empty; allowed: at least one "host:port"',
      'nginxConf options.wsUpstreams[0]: "daphne" is not an upstream address; allowed: "host:port" or "[ipv6]:port"',
      'nginxConf options.staticRoot: "static" is not an absolute path; allowed: an absolute path of [A-Za-z0-9._/-]',
      'nginxConf options.loadBalancerRanges[0]: "google" is not an address or CIDR range; allowed: an IPv4 or IPv6 address or range, e.g. 130.211.0.0/22',
      "nginxConf options.httpPort: 0 is not a TCP port; allowed: 1-65535",
    ]);
    expect(() => nginxConf({ ...o, serverName: "bad name;" })).toThrow(
      'nginxConf options.serverName: "bad name;" is not a host name; allowed: letters, digits, hyphens and dots, e.g. courses.example.org',
    );
    expect(
      nginxProblems({
        ...o,
        meetServerName: undefined,
        jitsiUpstream: "jitsi",
        clientMaxBodySize: "50 MB",
        wsReadTimeoutSeconds: 0,
        listenAddress: "any",
        httpsPort: 70000,
        certDir: "certs",
      }),
    ).toEqual([
      'nginxConf options.jitsiUpstream: "jitsi" is not an upstream address; allowed: "host:port" or "[ipv6]:port"',
      'nginxConf options.jitsiUpstream: "jitsi" is set without options.meetServerName (the Jitsi server block needs its host name); allowed: unset, or set meetServerName too',
      'nginxConf options.certDir: "certs" is not an absolute path; allowed: an absolute path of [A-Za-z0-9._/-]',
      "nginxConf options.httpsPort: 70000 is not a TCP port; allowed: 1-65535",
      'nginxConf options.listenAddress: "any" is not an IP address; allowed: an IPv4 or IPv6 address',
      'nginxConf options.clientMaxBodySize: "50 MB" is not an nginx size; allowed: a number with an optional k, m or g, e.g. 50m',
      "nginxConf options.wsReadTimeoutSeconds: 0 is not a positive whole number; allowed: 1 or more",
    ]);
  });

  it("without Jitsi renders no meet server; without mediaRoot no /media/ location", () => {
    const text = nginxConf({ ...options("lb", "/srv"), jitsiUpstream: undefined, mediaRoot: undefined });
    expect(text).not.toContain("upstream jitsi");
    expect(text).not.toContain(meet);
    expect(text).not.toContain("location /media/");
    expect(text).toContain("location /static/ {\n            alias /srv/static/;");
  });
});
