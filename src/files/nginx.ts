/**
 * nginx.conf for the single-VM platform (stages 1 and 2): the only process that listens on the VM's 80/443.
 *
 * Stage 1 (`tls: true`): nginx terminates TLS itself. Port 80 answers Let's Encrypt's HTTP-01 challenge from
 * `acmeRoot` and sends everything else to HTTPS; port 443 serves the app with HTTP/2. The certificate is read
 * from `certDir/fullchain.pem` and `certDir/privkey.pem`, a certificate whose names cover `serverName` and
 * `meetServerName`. nginx refuses to start when those files are missing, so the VM's boot script must write a
 * self-signed placeholder there before nginx starts; certbot (webroot mode, `-w acmeRoot`) then replaces it and
 * reloads nginx. That boot-script part belongs to cloud-init, not to this file.
 *
 * Stage 2 (`tls: false`): Google's external Application Load Balancer terminates TLS and redirects HTTP to HTTPS
 * on its own forwarding rule, so nginx listens on 80 only and never redirects (a redirect here would loop: the
 * LB always talks plain HTTP to the backend). The client address comes from X-Forwarded-For, trusted only when
 * the TCP peer is in `loadBalancerRanges`; `/health` answers the LB's health check.
 *
 * Both stages: gzip for text types (seed "Migration Roadmap", months 1-3: "Enable gzip compression in Nginx"),
 * `/static/` cached 30 days and `/media/` 7 days (seed stage 2 "Enable CDN": the same lifetimes the CDN uses),
 * `/api/` and everything else to Gunicorn, `/ws/` to Daphne with the WebSocket upgrade, and the Jitsi host to
 * jitsi-web. Upstream hosts are parameters: `nginx -t` resolves names, so tests pass 127.0.0.1 ports.
 *
 * Note on `listen 443 ssl http2`: the form nginx 1.22 (Debian 12, where it is tested) understands; nginx 1.25+
 * (the container image) still accepts it with a deprecation warning, while `http2 on;` fails before 1.25.1.
 */
import { argRefuser } from "../config/refusal";
import { appSecurityHeaders, HSTS, INLINE_MEDIA_EXTENSIONS, meetSecurityHeaders, mediaSecurityHeaders, type Headers } from "./security-headers";

export interface NginxOptions {
  /** Host name of the app (the stack's domain). */
  serverName: string;
  /** Host name of Jitsi Meet (meet.<domain>); with `jitsiUpstream` a second server block proxies it. */
  meetServerName?: string;
  /** Terminate TLS here (stage 1). false behind Google's load balancer (stage 2). */
  tls: boolean;
  /** Gunicorn addresses, "host:port" (one per backend replica). */
  apiUpstreams: string[];
  /** Daphne addresses, "host:port". */
  wsUpstreams: string[];
  /** jitsi-web address, "host:port" (it proxies /xmpp-websocket to Prosody and /colibri-ws to the bridge). */
  jitsiUpstream?: string;
  /** Directory with Django's collected static files (served as /static/). */
  staticRoot: string;
  /** Directory with uploaded media (served as /media/) while media lives on the VM's disk; unset once in Cloud Storage. */
  mediaRoot?: string;
  /** Directory holding fullchain.pem and privkey.pem (stage 1). */
  certDir: string;
  /** certbot's webroot: `/.well-known/acme-challenge/<token>` is read from `<acmeRoot>/.well-known/acme-challenge/`. */
  acmeRoot: string;
  /**
   * Directory for the pid file, logs and temp files. Tests set it (a temp dir); production leaves it unset so the
   * image's defaults apply (the nginx image links its logs to the container's stdout/stderr).
   * @default undefined (nginx's compiled-in paths)
   */
  runtimeDir?: string;
  /**
   * Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (stage 2). Google's front ends connect from
   * 130.211.0.0/22 and 35.191.0.0/16. Google appends the client's address and then the forwarding rule's own
   * address (`[<client-supplied>, ]<client>, <forwarding rule IP>`), so the client is the second-to-last entry
   * (taken by a map: the realip module walking from the right would stop at the forwarding rule's address).
   * @default [] (no forwarded header is believed: the TCP peer is the client)
   */
  loadBalancerRanges?: string[];
  /** Plain HTTP port. @default 80 */
  httpPort?: number;
  /** HTTPS port (stage 1). @default 443 */
  httpsPort?: number;
  /** Address to listen on (tests: 127.0.0.1). @default undefined (all addresses) */
  listenAddress?: string;
  /** Largest request body (uploads through the API). @default "50m" */
  clientMaxBodySize?: string;
  /**
   * How long a proxied WebSocket may stay silent before nginx closes it, in seconds. nginx's default is 60 s,
   * which would cut idle chat sessions; Channels clients reconnect, but every reconnect is a new handshake.
   * @default 3600
   */
  wsReadTimeoutSeconds?: number;
  /** Cache lifetime of /static/ in days (collectstatic names carry a content hash, so it is also immutable). @default 30 */
  staticCacheDays?: number;
  /** Cache lifetime of /media/ in days. @default 7 */
  mediaCacheDays?: number;
  /** Path answered by nginx itself for load-balancer health checks. @default "/health" */
  healthPath?: string;
  /** nginx's MIME map. @default "/etc/nginx/mime.types" (Debian and the official image) */
  mimeTypes?: string;
  /**
   * Per-client request budgets (keyed by the address nginx believes: the TCP peer, or behind the load balancer the
   * client Google saw). @default DEFAULT_RATE_LIMITS
   */
  rateLimits?: RateLimits;
}

/**
 * Request budgets per client address. A whole classroom often sits behind one school NAT, i.e. one address, so
 * the numbers are sized for a class, not for one person:
 * - `/api/`: `apiPerSecond` sustained with `apiBurst` at once: 10 r/s (600 a minute, the same per-IP budget as the
 *   Cloud Armor preset loadBalancer.rateLimitPerMinute at stage 2 on) lets 30 pupils make 20 API calls a minute
 *   each, and a burst of 300 lets all 30 open a page of 10 API calls at the same moment. Only the excess gets 429.
 * - login (LOGIN_PATHS): `loginPerMinute` sustained with `loginBurst` at once: 60 at once covers 30 pupils logging
 *   in at the start of a lesson, each mistyping once; after that 1 attempt a second per address (password guessing
 *   from one address is held to 86,400 a day; the app's per-account lockout does the rest).
 */
export interface RateLimits {
  apiPerSecond: number;
  apiBurst: number;
  loginPerMinute: number;
  loginBurst: number;
}
export const DEFAULT_RATE_LIMITS: RateLimits = { apiPerSecond: 10, apiBurst: 300, loginPerMinute: 60, loginBurst: 60 };

/**
 * The app's login endpoints (the app contract): Django's auth views, the admin's login and the API's token
 * endpoints. They get the login budget instead of the /api/ one.
 */
export const LOGIN_PATHS = ["/accounts/login/", "/admin/login/", "/api/auth/"] as const;

const HOST_PORT = /^[A-Za-z0-9.-]+:[0-9]{1,5}$|^\[[0-9A-Fa-f:]+\]:[0-9]{1,5}$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const PATH = /^\/[A-Za-z0-9._/-]*$/;
const CIDR = /^[0-9]{1,3}(\.[0-9]{1,3}){3}(\/[0-9]{1,2})?$|^[0-9A-Fa-f:]+(\/[0-9]{1,3})?$/;

/**
 * Validate options, one refusal line each (src/config/refusal.ts): `nginxConf options.<field>: ...`. The VM's
 * options are constants and values the config has checked; these guard other callers (and the quoting of what is
 * interpolated into nginx.conf).
 */
export function nginxProblems(o: NginxOptions): string[] {
  const refuse = argRefuser("nginxConf", "options");
  const p: string[] = [];
  const host = (field: string, v: string | undefined) => {
    if (v !== undefined && !HOSTNAME.test(v)) p.push(refuse(field, v, "is not a host name", "letters, digits, hyphens and dots, e.g. courses.example.org"));
  };
  const path = (field: string, v: string | undefined) => {
    if (v !== undefined && !PATH.test(v)) p.push(refuse(field, v, "is not an absolute path", "an absolute path of [A-Za-z0-9._/-]"));
  };
  const port = (field: string, v: number | undefined) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 65535)) p.push(refuse(field, v, "is not a TCP port", "1-65535"));
  };
  const upstreams = (field: string, v: string[]) => {
    if (v.length === 0) p.push(refuse(field, v, "is empty", 'at least one "host:port"'));
    v.forEach((u, i) => {
      if (!HOST_PORT.test(u))
        p.push(refuse(field === "jitsiUpstream" ? field : `${field}[${i}]`, u, "is not an upstream address", '"host:port" or "[ipv6]:port"'));
    });
  };
  host("serverName", o.serverName);
  host("meetServerName", o.meetServerName);
  upstreams("apiUpstreams", o.apiUpstreams);
  upstreams("wsUpstreams", o.wsUpstreams);
  if (o.jitsiUpstream !== undefined) upstreams("jitsiUpstream", [o.jitsiUpstream]);
  if (o.jitsiUpstream !== undefined && o.meetServerName === undefined) {
    p.push(
      refuse(
        "jitsiUpstream",
        o.jitsiUpstream,
        "is set without options.meetServerName (the Jitsi server block needs its host name)",
        "unset, or set meetServerName too",
      ),
    );
  }
  path("staticRoot", o.staticRoot);
  path("mediaRoot", o.mediaRoot);
  path("certDir", o.certDir);
  path("acmeRoot", o.acmeRoot);
  path("runtimeDir", o.runtimeDir);
  path("mimeTypes", o.mimeTypes);
  path("healthPath", o.healthPath);
  (o.loadBalancerRanges ?? []).forEach((r, i) => {
    if (!CIDR.test(r))
      p.push(refuse(`loadBalancerRanges[${i}]`, r, "is not an address or CIDR range", "an IPv4 or IPv6 address or range, e.g. 130.211.0.0/22"));
  });
  port("httpPort", o.httpPort);
  port("httpsPort", o.httpsPort);
  if (o.listenAddress !== undefined && !CIDR.test(o.listenAddress))
    p.push(refuse("listenAddress", o.listenAddress, "is not an IP address", "an IPv4 or IPv6 address"));
  if (o.clientMaxBodySize !== undefined && !/^[0-9]+[kmg]?$/.test(o.clientMaxBodySize))
    p.push(refuse("clientMaxBodySize", o.clientMaxBodySize, "is not an nginx size", "a number with an optional k, m or g, e.g. 50m"));
  for (const [f, v] of [
    ["wsReadTimeoutSeconds", o.wsReadTimeoutSeconds],
    ["staticCacheDays", o.staticCacheDays],
    ["mediaCacheDays", o.mediaCacheDays],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) p.push(refuse(f, v, "is not a positive whole number", "1 or more"));
  }
  return p;
}

/** Text types worth compressing (images other than SVG, video and fonts in woff2 are compressed already). */
const gzipTypes = [
  "text/plain",
  "text/css",
  "text/javascript",
  "text/xml",
  "application/javascript",
  "application/json",
  "application/manifest+json",
  "application/xml",
  "application/rss+xml",
  "application/atom+xml",
  "image/svg+xml",
  "image/x-icon",
  "font/ttf",
  "font/otf",
];

/** The nginx.conf text. Throws listing every problem when the options are invalid. */
export function nginxConf(o: NginxOptions): string {
  const problems = nginxProblems(o);
  if (problems.length > 0) throw new Error(problems.join("\n"));

  const httpPort = o.httpPort ?? 80;
  const httpsPort = o.httpsPort ?? 443;
  const at = o.listenAddress ? `${o.listenAddress}:` : "";
  const ranges = o.loadBalancerRanges ?? [];
  const wsTimeout = o.wsReadTimeoutSeconds ?? 3600;
  const staticMaxAge = (o.staticCacheDays ?? 30) * 86400;
  const mediaMaxAge = (o.mediaCacheDays ?? 7) * 86400;
  const health = o.healthPath ?? "/health";
  const rt = o.runtimeDir;

  // Headers every response carries (src/files/security-headers.ts, the same the load balancer adds from stage 2
  // on). nginx drops server-level add_header in any location that has an add_header of its own, so locations that
  // add headers repeat these.
  const hsts = o.tls ? `"${HSTS}"` : "$hsts";
  const addHeaders = (h: Headers) => h.map(([n, v]) => `add_header ${n} ${JSON.stringify(v)} always;`);
  const common = [`add_header Strict-Transport-Security ${hsts} always;`, ...addHeaders(appSecurityHeaders(o.jitsiUpstream ? o.meetServerName : undefined))];
  const meetCommon = [`add_header Strict-Transport-Security ${hsts} always;`, ...addHeaders(meetSecurityHeaders(o.serverName))];
  const limits = o.rateLimits ?? DEFAULT_RATE_LIMITS;

  const proxyHeaders = [
    "proxy_set_header Host $host;",
    "proxy_set_header X-Real-IP $client_addr;",
    // $client_addr is the address Google's front end saw (from a trusted peer only); forwarding the client's own
    // X-Forwarded-For would let anyone put an address of their choice first in the list.
    "proxy_set_header X-Forwarded-For $client_addr;",
    "proxy_set_header X-Forwarded-Proto $forwarded_proto;",
    "proxy_set_header X-Forwarded-Host $host;",
  ];
  const upgradeHeaders = ["proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;", "proxy_set_header Connection $connection_upgrade;"];

  const appLocations = (): string[] => [
    ...common,
    "",
    `location = ${health} {`,
    "    access_log off;",
    "    default_type text/plain;",
    '    return 200 "ok\\n";',
    "}",
    "",
    "# Django's collectstatic output: file names carry a content hash, so a month and immutable is safe",
    '# (seed stage 2 "Enable CDN": static files cached 30 days).',
    "location /static/ {",
    `    alias ${withSlash(o.staticRoot)};`,
    ...indent(common),
    `    add_header Cache-Control "public, max-age=${staticMaxAge}, immutable";`,
    "}",
    ...(o.mediaRoot
      ? [
          "",
          '# Uploads while they live on the VM\'s disk (seed stage 2 "Enable CDN": media cached 7 days). Served',
          "# neutralised: an uploaded HTML or SVG file must not run as script on the app's origin (stored XSS with",
          "# its cookies): CSP sandbox, nosniff, and a download (attachment) for every type not known to be passive.",
          "location /media/ {",
          `    alias ${withSlash(o.mediaRoot)};`,
          `    add_header Strict-Transport-Security ${hsts} always;`,
          ...indent(addHeaders(mediaSecurityHeaders())),
          "    add_header Content-Disposition $media_disposition always;",
          `    add_header Cache-Control "public, max-age=${mediaMaxAge}";`,
          "}",
        ]
      : []),
    "",
    "# Login endpoints: the login budget (RateLimits), ahead of /api/ (regular expressions win over prefixes).",
    `location ~ ^(${LOGIN_PATHS.map((l) => l.replace(/[.]/g, "\\.")).join("|")}) {`,
    `    limit_req zone=login burst=${limits.loginBurst} nodelay;`,
    "    proxy_pass http://api;",
    "    proxy_http_version 1.1;",
    '    proxy_set_header Connection "";',
    ...indent(proxyHeaders),
    "}",
    "",
    "location /api/ {",
    `    limit_req zone=api burst=${limits.apiBurst} nodelay;`,
    "    proxy_pass http://api;",
    "    proxy_http_version 1.1;",
    '    proxy_set_header Connection "";',
    ...indent(proxyHeaders),
    "}",
    "",
    "# Django Channels (Daphne). 1.1 and the Upgrade/Connection pair are what make the WebSocket handshake pass",
    "# through; without them nginx speaks HTTP/1.0 to Daphne and drops the Upgrade header.",
    "location /ws/ {",
    "    proxy_pass http://ws;",
    ...indent(upgradeHeaders),
    ...indent(proxyHeaders),
    `    proxy_read_timeout ${wsTimeout}s;`,
    `    proxy_send_timeout ${wsTimeout}s;`,
    "    proxy_buffering off;",
    "}",
    "",
    "# Everything else (Django admin, auth pages) is the backend's too.",
    "location / {",
    "    proxy_pass http://api;",
    "    proxy_http_version 1.1;",
    '    proxy_set_header Connection "";',
    ...indent(proxyHeaders),
    "}",
  ];

  // Jitsi accepts only rooms opened with a token the app issues (JWT auth: Prosody's token_verification checks
  // the signature with the shared secret, the expiry, issuer, audience and the room claim). nginx cannot verify a
  // signature, but it refuses early what can never succeed: a room page without `?jwt=`, and the XMPP
  // connections (BOSH /http-bind, /xmpp-websocket) without the `token=` parameter lib-jitsi-meet appends
  // (modules/xmpp/xmpp.ts). Prosody enforces the rest: a forged, expired or other-room token is refused there,
  // and with no guest domain (ENABLE_GUESTS 0) nobody joins anonymously.
  // 403 when the request lacks the query parameter carrying the app's token.
  const refuseWithout = (arg: string): string[] => [`if ($arg_${arg} = "") {`, "    return 403;", "}"];
  const jitsiProxy = (where: string, tokenArg: string): string[] => [
    `location ${where} {`,
    ...indent(refuseWithout(tokenArg)),
    "    proxy_pass http://jitsi;",
    "    proxy_http_version 1.1;",
    '    proxy_set_header Connection "";',
    ...indent(proxyHeaders),
    "}",
  ];
  const meetLocations = (): string[] => [
    "# The meet host's front page would let anyone start a room: rooms are opened from the app.",
    "location = / {",
    `    return 302 https://${o.serverName}/;`,
    "}",
    "",
    "# A room page (one path segment without a dot; the client's assets all have a dot or a directory).",
    ...jitsiProxy('~ "^/[^/.]+$"', "jwt"),
    "",
    ...jitsiProxy("= /http-bind", "token"),
    "",
    `location = ${health} {`,
    "    access_log off;",
    "    default_type text/plain;",
    '    return 200 "ok\\n";',
    "}",
    "",
    "# Prosody's BOSH replacement and the bridge's data channel are WebSockets behind jitsi-web.",
    ...["= /xmpp-websocket", "/colibri-ws/"].flatMap((where) => [
      `location ${where} {`,
      // The bridge's colibri websocket carries its own per-endpoint password (?pwd=) the bridge checks.
      ...(where === "= /xmpp-websocket" ? indent(refuseWithout("token")) : []),
      "    proxy_pass http://jitsi;",
      ...indent(upgradeHeaders),
      ...indent(proxyHeaders),
      `    proxy_read_timeout ${wsTimeout}s;`,
      "}",
      "",
    ]),
    "location / {",
    "    proxy_pass http://jitsi;",
    "    proxy_http_version 1.1;",
    '    proxy_set_header Connection "";',
    ...indent(proxyHeaders),
    "}",
  ];

  const servers: string[][] = [];
  const names = [o.serverName, ...(o.meetServerName && o.jitsiUpstream ? [o.meetServerName] : [])];
  if (o.tls) {
    const tlsLines = [`ssl_certificate ${withSlash(o.certDir)}fullchain.pem;`, `ssl_certificate_key ${withSlash(o.certDir)}privkey.pem;`];
    const redirectTarget = httpsPort === 443 ? "https://$host$request_uri" : `https://$host:${httpsPort}$request_uri`;
    servers.push([
      "# Port 80 only answers ACME HTTP-01 challenges; everything else goes to HTTPS.",
      `listen ${at}${httpPort} default_server;`,
      `server_name ${names.join(" ")};`,
      "",
      "location /.well-known/acme-challenge/ {",
      `    root ${o.acmeRoot};`,
      "    default_type text/plain;",
      "}",
      "",
      "location / {",
      `    return 301 ${redirectTarget};`,
      "}",
    ]);
    servers.push([`listen ${at}${httpsPort} ssl http2 default_server;`, `server_name ${o.serverName};`, ...tlsLines, "", ...appLocations()]);
    if (o.meetServerName && o.jitsiUpstream) {
      servers.push([`listen ${at}${httpsPort} ssl http2;`, `server_name ${o.meetServerName};`, ...tlsLines, ...meetCommon, "", ...meetLocations()]);
    }
  } else {
    servers.push([
      // default_server: Google's health checks send the backend's IP (or nothing) as Host.
      `listen ${at}${httpPort} default_server;`,
      `server_name ${o.serverName};`,
      "",
      ...appLocations(),
    ]);
    if (o.meetServerName && o.jitsiUpstream) {
      servers.push([`listen ${at}${httpPort};`, `server_name ${o.meetServerName};`, ...meetCommon, "", ...meetLocations()]);
    }
  }

  const lines: string[] = [
    "# Rendered by src/files/nginx.ts; edits on the machine are overwritten at the next boot.",
    "worker_processes auto;",
    // Each proxied WebSocket holds two connections (client and Daphne); 4096 per worker covers the seed's
    // stage-2 ~1,000 WebSockets on one worker with room left for HTTP.
    "worker_rlimit_nofile 16384;",
    ...(rt ? [`pid ${rt}/nginx.pid;`, `error_log ${rt}/error.log warn;`] : []),
    "",
    "events {",
    "    worker_connections 4096;",
    "}",
    "",
    "http {",
    ...indent([
      `include ${o.mimeTypes ?? "/etc/nginx/mime.types"};`,
      "default_type application/octet-stream;",
      "server_tokens off;",
      "sendfile on;",
      "tcp_nopush on;",
      "keepalive_timeout 65s;",
      `client_max_body_size ${o.clientMaxBodySize ?? "50m"};`,
      "",
      "log_format main '$client_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent '",
      '                \'"$http_referer" "$http_user_agent" rt=$request_time urt=$upstream_response_time\';',
      ...(rt
        ? [
            `access_log ${rt}/access.log main;`,
            `client_body_temp_path ${rt}/client_body;`,
            `proxy_temp_path ${rt}/proxy;`,
            `fastcgi_temp_path ${rt}/fastcgi;`,
            `uwsgi_temp_path ${rt}/uwsgi;`,
            `scgi_temp_path ${rt}/scgi;`,
          ]
        : ["access_log /var/log/nginx/access.log main;"]),
      "",
      ...(o.tls
        ? [
            // Mozilla's "intermediate" profile: TLS 1.2 and 1.3 only (nginx 1.22 still enables 1.0 and 1.1 by
            // default), forward-secret AEAD ciphers for 1.2; clients choose (all listed ciphers are strong).
            "ssl_protocols TLSv1.2 TLSv1.3;",
            "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;",
            "ssl_prefer_server_ciphers off;",
            "ssl_session_cache shared:SSL:10m;",
            "ssl_session_timeout 1d;",
            // Tickets are encrypted with a key nginx never rotates while it runs: they would undo forward secrecy.
            "ssl_session_tickets off;",
            "",
          ]
        : []),
      "gzip on;",
      "gzip_vary on;",
      // Google's load balancer adds "Via: 1.1 google" to every request; without `any` nginx treats those as
      // proxied requests and sends them uncompressed.
      "gzip_proxied any;",
      // Below about 1 KB the gzip header and CPU cost outweigh the saving.
      "gzip_min_length 1024;",
      "gzip_comp_level 5;",
      `gzip_types ${gzipTypes.join(" ")};`,
      "",
      "# 1 when the TCP peer is the load balancer; only then are its X-Forwarded-For and -Proto believed.",
      "geo $remote_addr $from_load_balancer {",
      "    default 0;",
      ...ranges.map((r) => `    ${r} 1;`),
      "}",
      "",
      '# Google\'s front end appends "<client>, <forwarding rule IP>" to X-Forwarded-For: the client is the',
      "# second-to-last entry (anything before it is whatever the client sent).",
      "map $http_x_forwarded_for $xff_client {",
      '    "~(?:^|,)\\s*(?<xffclient>[^,\\s]+)\\s*,\\s*[^,\\s]+\\s*$" $xffclient;',
      "    default $remote_addr;",
      "}",
      "",
      "map $from_load_balancer $client_addr {",
      "    1 $xff_client;",
      "    default $remote_addr;",
      "}",
      "",
      'map "$from_load_balancer:$http_x_forwarded_proto" $forwarded_proto {',
      "    default $scheme;",
      '    "1:https" https;',
      '    "1:http" http;',
      "}",
      "",
      "# Behind the load balancer HSTS is sent only on responses the client received over HTTPS; an empty value",
      "# makes add_header skip the header.",
      "map $forwarded_proto $hsts {",
      `    https "${HSTS}";`,
      '    default "";',
      "}",
      "",
      "# Per-client budgets keyed by the client address nginx believes (RateLimits: sized for a classroom behind",
      `# one school NAT). 429, not nginx's default 503: clients and monitoring see "too many requests".`,
      `limit_req_zone $client_addr zone=api:10m rate=${limits.apiPerSecond}r/s;`,
      `limit_req_zone $client_addr zone=login:10m rate=${limits.loginPerMinute}r/m;`,
      "limit_req_status 429;",
      "limit_req_log_level warn;",
      "",
      "# Uploads: passive types may display inline; everything else (HTML, SVG, XML, PDF, scripts...) downloads.",
      "map $uri $media_disposition {",
      `    "~*\\.(${INLINE_MEDIA_EXTENSIONS.join("|")})$" "inline";`,
      '    default "attachment";',
      "}",
      "",
      "map $http_upgrade $connection_upgrade {",
      "    default upgrade;",
      "    '' close;",
      "}",
      "",
      "upstream api {",
      ...o.apiUpstreams.map((u) => `    server ${u};`),
      // Reused connections to Gunicorn; needs proxy_http_version 1.1 and an empty Connection header.
      "    keepalive 32;",
      "}",
      "",
      "upstream ws {",
      // WebSockets live long: send each new one to the Daphne with the fewest open, not round-robin.
      "    least_conn;",
      ...o.wsUpstreams.map((u) => `    server ${u};`),
      "}",
      ...(o.meetServerName && o.jitsiUpstream ? ["", "upstream jitsi {", `    server ${o.jitsiUpstream};`, "}"] : []),
      ...servers.flatMap((s) => ["", "server {", ...indent(s), "}"]),
    ]),
    "}",
    "",
  ];
  return lines.join("\n");
}

function indent(lines: string[]): string[] {
  return lines.map((l) => (l === "" ? "" : `    ${l}`));
}

function withSlash(dir: string): string {
  return dir.endsWith("/") ? dir : `${dir}/`;
}
