/**
 * The Pulumi program: read the stack's config, validate it, build the stack. Shared by `pulumi up` (through
 * src/index.ts) and by the offline plan (src/plan), so both run exactly the same code.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseConfig } from "./config/load";
import { pinConfigImages } from "./config/image-pins";
import type { Config } from "./config/schema";
import { buildStack, type BuiltStack } from "./stack";

/**
 * The stack's raw config, as Pulumi passes it to the program (`pulumi config set` writes it). The whole map is
 * read, not key by key through pulumi.Config, so that unknown keys can be refused.
 */
export function readStackConfig(): Config {
  return parseConfig(pulumi.runtime.allConfig());
}

/** The program's stack outputs (what Pulumi's runtime receives from src/index.ts). */
export async function main(): Promise<Record<string, unknown>> {
  return (await run()).outputs;
}

/** Build the stack: its outputs and the files its machines receive (the offline plan renders them). */
export async function run(): Promise<BuiltStack> {
  let config: Config;
  try {
    config = readStackConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      // RunError prints its message without a stack trace; nothing has been registered yet.
      throw new pulumi.RunError(e.message);
    }
    throw e;
  }
  // Images by digest where the deploy job resolved them (src/config/image-pins.ts); tags otherwise.
  return buildStack(pinConfigImages(config));
}
