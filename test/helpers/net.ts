/** Waiting for a server a test started to listen on a loopback port. */
import type { ChildProcess } from "node:child_process";
import * as net from "node:net";

/** Resolves once 127.0.0.1:port accepts a connection; fails at once if `proc` exits, and after `timeoutMs`. */
export async function waitForPort(port: number, proc: ChildProcess, log: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${proc.spawnfile} exited ${proc.exitCode}:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${proc.spawnfile} not listening on ${port}:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
