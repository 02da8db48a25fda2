/**
 * The rendered redis.conf run by the real redis-server (Debian's 7.0) on loopback ports 16300-16301: the seed's
 * stage-2 values as Redis reports them, and a password that comes from the ACL file, not from redis.conf.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisConf, redisConfProblems } from "../src/files/redis";
import { presetFor } from "../src/config/presets";

const run = promisify(execFile);
const base = { project: "co-test", region: "us-central1", prefix: "co", domain: "example.org" };
const password = "test-only-password-1f3a";

interface Server {
  port: number;
  proc: ChildProcess;
  dir: string;
  exited: Promise<number | null>;
}

/** redis-cli as the default user (password through REDISCLI_AUTH, so it is not on the command line); null: no AUTH. */
async function cli(port: number, args: string[], auth: string | null = password): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (auth === null) delete env.REDISCLI_AUTH;
  else env.REDISCLI_AUTH = auth;
  const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--no-raw", ...args], { env });
  return stdout.trim();
}

async function start(stage: 1 | 2, port: number): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), `redis-conf-${stage}-`));
  const vm = presetFor(stage, base).vm;
  const acl = join(dir, "redis-users.acl");
  writeFileSync(acl, `user default on #${createHash("sha256").update(password).digest("hex")} ~* &* +@all\n`);
  chmodSync(acl, 0o600);
  const conf = redisConf({
    maxmemory: vm.redisMaxmemory,
    maxmemoryPolicy: vm.redisMaxmemoryPolicy,
    save: vm.redisSave,
    port,
    bind: "127.0.0.1",
    dir,
    aclFile: acl,
  });
  writeFileSync(join(dir, "redis.conf"), conf);
  const proc = spawn("redis-server", [join(dir, "redis.conf")], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout!.on("data", (d) => (log += d));
  proc.stderr!.on("data", (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited ${proc.exitCode}:\n${log}`);
    try {
      if ((await cli(port, ["PING"])) === "PONG") break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`redis-server not ready on ${port}:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, proc, dir, exited };
}

async function stop(s: Server | undefined): Promise<void> {
  if (!s) return;
  if (s.proc.exitCode === null) {
    try {
      await cli(s.port, ["SHUTDOWN", "NOSAVE"]);
    } catch {
      /* the connection drops on shutdown */
    }
    const timer = setTimeout(() => s.proc.pid && process.kill(s.proc.pid, "SIGKILL"), 5000);
    await s.exited;
    clearTimeout(timer);
  }
  rmSync(s.dir, { recursive: true, force: true });
}

describe("redis.conf for stage 2 in a real redis-server", () => {
  let s: Server | undefined;
  beforeAll(async () => {
    s = await start(2, 16300);
  });
  afterAll(async () => {
    await stop(s);
  });

  it("reports the seed's maxmemory 2gb as 2147483648 bytes", async () => {
    expect(await cli(s!.port, ["CONFIG", "GET", "maxmemory"])).toBe('1) "maxmemory"\n2) "2147483648"');
  });

  it("evicts with allkeys-lru", async () => {
    expect(await cli(s!.port, ["CONFIG", "GET", "maxmemory-policy"])).toBe('1) "maxmemory-policy"\n2) "allkeys-lru"');
  });

  it("snapshots at the seed's three save points, without AOF", async () => {
    expect(await cli(s!.port, ["CONFIG", "GET", "save"])).toBe('1) "save"\n2) "900 1 300 10 60 10000"');
    expect(await cli(s!.port, ["CONFIG", "GET", "appendonly"])).toBe('1) "appendonly"\n2) "no"');
    expect(await cli(s!.port, ["CONFIG", "GET", "dir"])).toBe(`1) "dir"\n2) "${s!.dir}"`);
  });

  it("requires the password from the ACL file and refuses a wrong one", async () => {
    expect(await cli(s!.port, ["GET", "x"], null)).toMatch(/NOAUTH Authentication required/);
    // redis-cli reports the failed AUTH on stderr and goes on unauthenticated.
    expect(await cli(s!.port, ["GET", "x"], "wrong-password")).toMatch(/NOAUTH Authentication required/);
    expect(await cli(s!.port, ["SET", "session:1", "v"])).toBe("OK");
    expect(await cli(s!.port, ["ACL", "WHOAMI"])).toBe('"default"');
  });

  it("keeps the password out of the rendered file", () => {
    const vm = presetFor(2, base).vm;
    const text = redisConf({ maxmemory: vm.redisMaxmemory, maxmemoryPolicy: vm.redisMaxmemoryPolicy, save: vm.redisSave });
    expect(text).not.toMatch(/requirepass|masterauth|user default/);
    expect(text).toContain("aclfile /run/secrets/redis-users.acl\n");
    expect(text).toContain("maxmemory 2gb\nmaxmemory-policy allkeys-lru\n");
    expect(text).toContain("save 900 1\nsave 300 10\nsave 60 10000\nappendonly no\ndir /data\n");
    expect(text).toContain("bind 0.0.0.0\nprotected-mode yes\n");
  });
});

describe("redis.conf for stage 1 in a real redis-server", () => {
  let s: Server | undefined;
  beforeAll(async () => {
    s = await start(1, 16301);
  });
  afterAll(async () => {
    await stop(s);
  });

  it("reports the stage-1 preset's 512mb as 536870912 bytes, same policy and save points", async () => {
    expect(await cli(s!.port, ["CONFIG", "GET", "maxmemory"])).toBe('1) "maxmemory"\n2) "536870912"');
    expect(await cli(s!.port, ["CONFIG", "GET", "maxmemory-policy"])).toBe('1) "maxmemory-policy"\n2) "allkeys-lru"');
    expect(await cli(s!.port, ["CONFIG", "GET", "save"])).toBe('1) "save"\n2) "900 1 300 10 60 10000"');
  });
});

describe("redis.conf options", () => {
  it('renders save "" when snapshots are off', () => {
    expect(redisConf({ maxmemory: "1gb", maxmemoryPolicy: "noeviction", save: [] })).toContain('save ""\nappendonly no\n');
  });

  it("names every bad field", () => {
    expect(redisConfProblems({ maxmemory: "2 GB", maxmemoryPolicy: "lru", save: [[0, 1]], port: 70000, dir: "data" })).toEqual([
      'redisConf options.maxmemory: "2 GB" is not a redis size; allowed: a number with an optional kb, mb or gb, e.g. 512mb, 2gb',
      'redisConf options.maxmemoryPolicy: "lru" is not a maxmemory policy; allowed: noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl',
      "redisConf options.save[0]: [0,1] is not a snapshot point; allowed: two positive whole numbers [seconds, changes]",
      "redisConf options.port: 70000 is not a TCP port; allowed: 1-65535",
      'redisConf options.dir: "data" is not an absolute path; allowed: an absolute path of [A-Za-z0-9._/-]',
    ]);
    expect(redisConfProblems({ maxmemory: "1gb", maxmemoryPolicy: "allkeys-lr", save: [], bind: "localhost", aclFile: "users.acl" })).toEqual([
      'redisConf options.maxmemoryPolicy: "allkeys-lr" is not a maxmemory policy; allowed: noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl; did you mean "allkeys-lru"?',
      'redisConf options.bind: "localhost" is not a list of addresses; allowed: IP addresses separated by spaces',
      'redisConf options.aclFile: "users.acl" is not an absolute path; allowed: an absolute path of [A-Za-z0-9._/-]',
    ]);
    expect(() => redisConf({ maxmemory: "x", maxmemoryPolicy: "allkeys-lru", save: [] })).toThrow(
      'redisConf options.maxmemory: "x" is not a redis size; allowed: a number with an optional kb, mb or gb, e.g. 512mb, 2gb',
    );
  });
});
