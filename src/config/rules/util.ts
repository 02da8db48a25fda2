/** Shared by the rule modules: a refusal line for a dotted Config path. */
import { configKey, refusal } from "../refusal";

/** A refusal of the value at `path` ("vm.zone", "region"); see src/config/refusal.ts for the format. */
export function refuse(path: string, value: unknown, problem: string, allowed: string, nearest?: unknown): string {
  return refusal({ key: configKey(path), value, problem, allowed, nearest });
}

/** `course-organizer:<path>` or `gcp:<path>`, for naming another key inside a refusal. */
export const k = configKey;
