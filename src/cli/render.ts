/**
 * npm run render -- --stack <stack> --out <dir> [--set key=value ...]
 *
 * Writes every file a machine or cluster of the stack receives (cloud-init, docker-compose.yml, nginx.conf,
 * redis.conf, pgbouncer.ini, Prometheus files, scripts, Kubernetes manifests), one folder per machine role.
 * They are the very strings the program passes to the resources, resolved with the mock engine's values.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { planStack } from "../plan/engine";
import { exitWhenFlushed, parseArgs } from "./args";
import { reportError } from "./plan";

export async function runRenderCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { flags: [], values: ["stack", "out"] });
  const stack = args.values.get("stack");
  const out = args.values.get("out");
  if (!stack || !out) throw new Error("usage: npm run render -- --stack <stack> --out <dir> [--set key=value ...]");
  const plan = await planStack({ stack, sets: args.sets, withFiles: true });
  const files = plan.files ?? [];
  for (const f of files) {
    const target = resolve(out, f.role, f.path);
    if (!target.startsWith(resolve(out))) throw new Error(`file path escapes the output folder: ${f.role}/${f.path}`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.content, { mode: f.path.endsWith(".sh") ? 0o755 : 0o644 });
  }
  const roles = [...new Set(files.map((f) => f.role))];
  process.stdout.write(`wrote ${files.length} files for ${roles.length} machine roles (${roles.join(", ") || "none"}) to ${join(out)}\n`);
  return 0;
}

if (require.main === module) {
  runRenderCli(process.argv.slice(2)).then(
    (code) => exitWhenFlushed(code),
    (e) => exitWhenFlushed(reportError(e)),
  );
}
