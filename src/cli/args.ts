/** A small argument parser for the npm scripts: `--flag`, `--key value`, repeatable `--set k=v`. */
export interface Args {
  flags: Set<string>;
  values: Map<string, string>;
  sets: string[];
}

export function parseArgs(argv: string[], known: { flags: string[]; values: string[] }): Args {
  const out: Args = { flags: new Set(), values: new Map(), sets: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") continue;
    const name = a.replace(/^--/, "");
    if (a === "--set") {
      const v = argv[++i];
      if (v === undefined) throw new Error("--set needs key=value");
      out.sets.push(v);
    } else if (known.flags.includes(name)) {
      out.flags.add(name);
    } else if (known.values.includes(name)) {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
      out.values.set(name, v);
    } else {
      throw new Error(`unknown argument ${a}; known: ${[...known.flags, ...known.values, "set"].map((x) => `--${x}`).join(" ")}`);
    }
  }
  return out;
}

/**
 * Exit with `code` once everything written to stdout and stderr has been handed to the OS. `process.exit()` right
 * after a large write to a pipe would cut it off (at the pipe's 64 KiB), e.g. `npm run plan -- --json | jq`.
 */
export function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const done = () => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  process.stdout.write("", done);
  process.stderr.write("", done);
}
