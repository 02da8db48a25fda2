/** The Ops Agent on every VM of the platform, per zone (an OS Config policy assignment is zonal). */
import type * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../../src/naming";
import { opsAgentConfig, opsAgentPolicyScript } from "../../src/files/ops-agent";
import type { MonitoringArgs } from "../monitoring";

/** The Ops Agent's configuration file (merged by the agent with its built-in defaults). */
export const OPS_AGENT_CONFIG_PATH = "/etc/google-cloud-ops-agent/config.yaml";

/** The OS the Ops Agent policy installs on: the VM and the instance groups run Ubuntu 24.04; Google's installer takes both. */
export const OPS_AGENT_OS = ["ubuntu", "debian"] as const;

export function opsAgentPolicies(
  parent: pulumi.Resource,
  name: string,
  args: MonitoringArgs,
  renderFile: <T extends pulumi.Input<string>>(role: string, path: string, content: T) => T,
): { osConfigMetadata?: gcp.compute.ProjectMetadataItem; policies: gcp.osconfig.OsPolicyAssignment[] } {
  // VM Manager acts only on instances with enable-osconfig=TRUE in their (or the project's) metadata; the OS
  // Config agent itself ships with Google's Ubuntu and Debian images.
  const zones = args.opsAgentZones ?? [];
  const osConfigMetadata =
    zones.length > 0
      ? new gcp.compute.ProjectMetadataItem(`${name}-enable-osconfig`, { project: args.project, key: "enable-osconfig", value: "TRUE" }, { parent })
      : undefined;
  const agentConfig = renderFile("ops-agent", "config.yaml", opsAgentConfig({ postgres: args.vm !== undefined }));
  const policies = zones.map(
    (zone) =>
      new gcp.osconfig.OsPolicyAssignment(
        `${name}-ops-agent-${zone}`,
        {
          name: physicalName(args.prefix, "ops-agent"),
          location: zone,
          description: "Ops Agent (memory, disk, PostgreSQL metrics; journald logs) on every Course Organizer VM",
          // GKE nodes carry the same app label (the node pools' resource labels) but run Container-Optimized OS,
          // which no resource group matches; with allowNoResourceGroupMatch false each would report an error and
          // hold the rollout. They are left out twice: by their component label and by OS inventory.
          instanceFilter: {
            inclusionLabels: [{ labels: { app: args.appLabel ?? "course-organizer" } }],
            exclusionLabels: [{ labels: { component: "gke" } }],
            inventories: OPS_AGENT_OS.map((osShortName) => ({ osShortName })),
          },
          osPolicies: [
            {
              id: "ops-agent",
              mode: "ENFORCEMENT",
              allowNoResourceGroupMatch: false,
              resourceGroups: [
                {
                  // Google's installer supports both; the VM and the instance groups run Ubuntu 24.04.
                  inventoryFilters: OPS_AGENT_OS.map((osShortName) => ({ osShortName })),
                  resources: [
                    {
                      id: "install",
                      exec: {
                        validate: { interpreter: "SHELL", script: opsAgentPolicyScript("install", "validate") },
                        enforce: { interpreter: "SHELL", script: opsAgentPolicyScript("install", "enforce") },
                      },
                    },
                    { id: "config", file: { path: OPS_AGENT_CONFIG_PATH, state: "CONTENTS_MATCH", content: agentConfig, permissions: "0644" } },
                    {
                      id: "restart-on-change",
                      exec: {
                        validate: { interpreter: "SHELL", script: opsAgentPolicyScript("restart", "validate") },
                        enforce: { interpreter: "SHELL", script: opsAgentPolicyScript("restart", "enforce") },
                      },
                    },
                  ],
                },
              ],
            },
          ],
          // One VM at a time: the agent restarts, metrics pause for a few seconds.
          rollout: { disruptionBudget: { fixed: 1 }, minWaitDuration: "60s" },
          // The rollout visits one VM at a time with a 60 s wait: its length grows with the fleet, while the
          // provider waits for it and fails after its 20-minute default. `up` does not wait for it (compliance
          // shows in VM Manager, and the agent-fed alert policies tolerate a late first point); the timeouts
          // bound the API calls themselves.
          skipAwaitRollout: true,
        },
        {
          parent,
          dependsOn: osConfigMetadata ? [osConfigMetadata] : [],
          customTimeouts: { create: "10m", update: "10m", delete: "10m" },
        },
      ),
  );
  return { osConfigMetadata, policies };
}
