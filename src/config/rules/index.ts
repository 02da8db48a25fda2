/**
 * Every rule that spans several keys or needs the catalog of what Google Cloud offers (data/gcp-catalog.json), run
 * by src/config/load.ts after the schema and before anything is registered. Each module returns refusal lines
 * (src/config/refusal.ts); a new self-contained rule is a new module here and one line in `configRules`.
 */
import type { Config } from "../schema";
import {
  machineTypeProblems,
  labelProblems,
  mediaLocationProblems,
  memorystoreProblems,
  pitrProblems,
  regionProblems,
  sqlTierProblems,
  zoneProblems,
} from "./catalog";
import { failoverProblems } from "./failover";
import { fitProblems } from "./fit";
import { migrationProblems } from "./migration";
import { needsProblems } from "./needs";
import { networkProblems } from "./network";
import { pairProblems } from "./pairs";

/** Refusals of values a sizing rule needs to read (machine types, tiers, regions): capacity checks skip when any exist. */
export function catalogProblems(c: Config): string[] {
  return [...regionProblems(c), ...zoneProblems(c), ...machineTypeProblems(c), ...sqlTierProblems(c)];
}

/** Every rule's refusals, one line per problem. */
export function configRules(c: Config): string[] {
  return [
    ...catalogProblems(c),
    ...memorystoreProblems(c),
    ...mediaLocationProblems(c),
    ...labelProblems(c),
    ...pitrProblems(c),
    ...pairProblems(c),
    ...networkProblems(c),
    ...fitProblems(c),
    ...needsProblems(c),
    ...failoverProblems(c),
    ...migrationProblems(c),
  ];
}
