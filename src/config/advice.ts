/**
 * Upgrade advice from the seed's "Scaling Summary" ("When to Upgrade") and stage table: which stage a load
 * needs and which config to change. The stage ranges are the seed's concurrent-user bands; video participants
 * add bridges at ~500 per bridge ("Jitsi Scaling").
 */
import { presetFor } from "./presets";
import { capacityOf } from "./capacity";
import type { Config, Stage } from "./schema";

/** Seed stage bands (concurrent users). */
export const stageBands: { stage: Stage; upTo: number; name: string; monthly: string }[] = [
  { stage: 1, upTo: 500, name: "Startup", monthly: "$50-100" },
  { stage: 2, upTo: 2000, name: "Growth", monthly: "$200-300" },
  { stage: 3, upTo: 10000, name: "Established", monthly: "$1,500-2,000" },
  { stage: 4, upTo: 50000, name: "Scale", monthly: "$5,000-8,000" },
];

/** Seed "When to Upgrade" triggers. */
export const upgradeTriggers: { atUsers: number; action: string }[] = [
  { atUsers: 400, action: "Add indexes + Redis (stage 1: vm.databaseIndexes, Redis on the VM)" },
  { atUsers: 1500, action: "Cloud SQL + CDN (CDN at stage 2, Cloud SQL at stage 3)" },
  { atUsers: 5000, action: "Load balancer + auto-scaling (stage 3)" },
  { atUsers: 20000, action: "Kubernetes (stage 4)" },
  { atUsers: 100000, action: "Multi-region + sharding (stage 4 with more regions and shards)" },
];

export interface Advice {
  users: number;
  participants: number;
  stage: Stage;
  stageName: string;
  monthly: string;
  triggers: string[];
  commands: string[];
  notes: string[];
}

export function advise(users: number, participants?: number): Advice {
  if (!Number.isInteger(users) || users < 0) throw new Error(`--users must be a whole number >= 0, got ${users}`);
  const band = stageBands.find((b) => users <= b.upTo) ?? stageBands[stageBands.length - 1]!;
  const notes: string[] = [];
  if (users > 50000) notes.push(`${users} concurrent users is beyond the seed's stage 4 band (50,000): stage 4 with more regions (secondaryRegions), more shards (database.shards) and larger replica ranges; the seed puts it at $15,000-30,000/month.`);
  let stage = band.stage;
  const base = { project: "p-000000", region: "us-central1", prefix: "co", domain: "example.org" };
  let preset = { stage, ...presetFor(stage, base) } as Config;
  const wanted = participants ?? Math.min(preset.load.videoParticipants, Math.ceil(users / 10));
  // More participants than one bridge serves need the Videobridge pool (stage 3 on).
  if (stage < 3 && wanted > preset.video.participantsPerBridge) {
    notes.push(`${wanted} video participants need more than one bridge (${preset.video.participantsPerBridge} each): the Videobridge pool comes with stage 3.`);
    stage = 3;
    preset = { stage, ...presetFor(stage, base) } as Config;
  }
  const commands = [`pulumi config set course-organizer:stage ${stage}`];
  if (preset.video.mode === "pool") {
    const regions = 1 + preset.secondaryRegions.length;
    const bridges = Math.ceil(wanted / preset.video.participantsPerBridge / regions);
    if (bridges > preset.video.maxBridgesPerRegion) {
      commands.push(`pulumi config set --path course-organizer:video.maxBridgesPerRegion ${bridges}`);
      commands.push(`pulumi config set --path course-organizer:load.videoParticipants ${wanted}`);
    }
  }
  if (users > preset.load.concurrentUsers) commands.push(`pulumi config set --path course-organizer:load.concurrentUsers ${users}`);
  const cap = capacityOf(preset);
  notes.push(`stage ${stage} preset reaches ${cap.requestsPerSecond} req/s, ${cap.websocketConnections} WebSocket connections, ${cap.videoParticipants} video participants at its maximum.`);
  commands.push(`npm run plan -- --stack <your-stack> --from <your-stack> --set stage=${stage}   # check the move offline first`);
  commands.push("pulumi preview && pulumi up");
  const chosen = stageBands.find((b) => b.stage === stage)!;
  return {
    users,
    participants: wanted,
    stage,
    stageName: chosen.name,
    monthly: chosen.monthly,
    triggers: upgradeTriggers.filter((t) => users >= t.atUsers).map((t) => `${t.atUsers}+ concurrent: ${t.action}`),
    commands,
    notes,
  };
}
