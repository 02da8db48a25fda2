/**
 * redis.conf for the Redis on the single VM (stages 1 and 2): Django's cache, sessions and the Channels layer.
 *
 * Seed stage 2 "Redis Configuration": `maxmemory 2gb`, `maxmemory-policy allkeys-lru`, and RDB snapshots
 * `save 900 1`, `save 300 10`, `save 60 10000` ("Enable persistence for sessions"). AOF stays off: the seed asks
 * for RDB only, and losing the last minutes of cache entries or sessions on a crash is acceptable here.
 *
 * What stays out of this file: the password. Redis reads users from `aclfile`, which the VM's boot script writes
 * from Secret Manager (through the VM's service account) before Redis starts, mode 0600. Expected content, one line:
 *
 *     user default on #<sha256 hex of the password> ~* &* +@all
 *
 * (`#<hash>` keeps even the plain password off the disk; `>password` also works.) Clients authenticate with the
 * plain password as the default user (`redis://:<password>@redis:6379/0`), which django-redis and channels_redis
 * both send as `AUTH <password>`.
 */
import { argRefuser, nearestName } from "../config/refusal";

export interface RedisConfOptions {
  /** Memory limit for data, redis.conf units ("512mb", "2gb"). */
  maxmemory: string;
  /** What to evict at the limit (seed: allkeys-lru: every key is a cache entry, a session or a channel message). */
  maxmemoryPolicy: string;
  /** RDB snapshot points: [seconds, changes]; empty disables snapshots. */
  save: [number, number][];
  /** @default 6379 */
  port?: number;
  /**
   * Listen addresses. In the compose network Redis is reachable only from the other containers, so all
   * interfaces of its container. @default "0.0.0.0"
   */
  bind?: string;
  /** Directory of dump.rdb (the data disk's mount inside the container). @default "/data" */
  dir?: string;
  /** ACL file written at boot from Secret Manager. @default "/run/secrets/redis-users.acl" */
  aclFile?: string;
  /** Refuse non-loopback clients while the default user has no password. @default true */
  protectedMode?: boolean;
}

const POLICIES = ["noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"];

/**
 * Validate options, one refusal line each (src/config/refusal.ts): `redisConf options.<field>: ...`. The VM's options
 * are vm.redisMaxmemory, vm.redisMaxmemoryPolicy and vm.redisSave, which the schema refuses first; other callers.
 */
export function redisConfProblems(o: RedisConfOptions): string[] {
  const refuse = argRefuser("redisConf", "options");
  const p: string[] = [];
  if (!/^[0-9]+(kb|mb|gb)?$/i.test(o.maxmemory))
    p.push(refuse("maxmemory", o.maxmemory, "is not a redis size", "a number with an optional kb, mb or gb, e.g. 512mb, 2gb"));
  if (!POLICIES.includes(o.maxmemoryPolicy))
    p.push(refuse("maxmemoryPolicy", o.maxmemoryPolicy, "is not a maxmemory policy", POLICIES.join(", "), nearestName(o.maxmemoryPolicy, POLICIES)));
  o.save.forEach(([s, c], i) => {
    if (!Number.isInteger(s) || s < 1 || !Number.isInteger(c) || c < 1)
      p.push(refuse(`save[${i}]`, [s, c], "is not a snapshot point", "two positive whole numbers [seconds, changes]"));
  });
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535)) p.push(refuse("port", o.port, "is not a TCP port", "1-65535"));
  if (o.bind !== undefined && !/^[0-9A-Fa-f.:*\- ]+$/.test(o.bind))
    p.push(refuse("bind", o.bind, "is not a list of addresses", "IP addresses separated by spaces"));
  for (const [f, v] of [
    ["dir", o.dir],
    ["aclFile", o.aclFile],
  ] as const) {
    if (v !== undefined && !/^\/[A-Za-z0-9._/-]*$/.test(v)) p.push(refuse(f, v, "is not an absolute path", "an absolute path of [A-Za-z0-9._/-]"));
  }
  return p;
}

/** The redis.conf text. Throws listing every problem when the options are invalid. */
export function redisConf(o: RedisConfOptions): string {
  const problems = redisConfProblems(o);
  if (problems.length > 0) throw new Error(problems.join("\n"));
  const lines = [
    "# Rendered by src/files/redis.ts; edits on the machine are overwritten at the next boot.",
    `port ${o.port ?? 6379}`,
    `bind ${o.bind ?? "0.0.0.0"}`,
    `protected-mode ${(o.protectedMode ?? true) ? "yes" : "no"}`,
    // Containers and systemd supervise the process in the foreground and collect stdout.
    "daemonize no",
    'logfile ""',
    "loglevel notice",
    // Drop dead peers (a Daphne that vanished) instead of keeping their connections forever.
    "tcp-keepalive 300",
    "",
    "# Users and passwords (written at boot from Secret Manager; no secret in this file).",
    `aclfile ${o.aclFile ?? "/run/secrets/redis-users.acl"}`,
    "",
    '# Seed stage 2 "Redis Configuration". The limit counts data only: a BGSAVE fork can add up to the same again',
    "# in copy-on-write pages under heavy writes, which the VM's memory must leave room for.",
    `maxmemory ${o.maxmemory}`,
    `maxmemory-policy ${o.maxmemoryPolicy}`,
    "",
    '# RDB snapshots (seed: "Enable persistence for sessions"); AOF off, RDB is what the seed asks for.',
    ...(o.save.length > 0 ? o.save.map(([s, c]) => `save ${s} ${c}`) : ['save ""']),
    "appendonly no",
    `dir ${o.dir ?? "/data"}`,
    "dbfilename dump.rdb",
    "",
  ];
  return lines.join("\n");
}
