/**
 * PIDs of the daemons tests start (PgBouncer -d, PostgreSQL), read from their pid files, and their stop.
 * A daemon creates its pid file before it writes the number: read too early, it is empty, Number("") is 0, and
 * process.kill(0, ...) signals the test runner's whole process group. So a pid is read only once it is a number
 * above 1, and a stop refuses anything else.
 */
import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

/** The first line of `file` as a pid, waiting up to `timeoutMs` for the daemon to write it. */
export function waitForPid(file: string, timeoutMs = 10_000): number {
  for (let waited = 0; waited <= timeoutMs; waited += 100) {
    if (existsSync(file)) {
      const first = readFileSync(file, "utf8").split("\n")[0]!.trim();
      if (/^\d+$/.test(first) && Number(first) > 1) return Number(first);
    }
    spawnSync("sleep", ["0.1"]);
  }
  throw new Error(`${file}: no pid after ${timeoutMs} ms`);
}

/** Signal a daemon and wait up to 10 s for it to exit. */
export function stopPid(pid: number, signal: NodeJS.Signals = "SIGINT"): void {
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`refusing to signal pid ${pid}: it would reach a process group or init`);
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    spawnSync("sleep", ["0.1"]);
  }
}
