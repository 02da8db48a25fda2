/**
 * The Ops Agent's configuration for the platform's VMs (written by the OS Config policy of
 * components/monitoring.ts to /etc/google-cloud-ops-agent/config.yaml; the agent merges it with its built-in
 * defaults, which already collect host metrics (CPU, memory, disk: `agent.googleapis.com/*`) and syslog).
 *
 * Added here:
 * - journald logs: docker's journald log driver (src/files/compose.ts `logging.driver: journald`) puts every
 *   container's output there, nginx's access log included; the logs-based metrics of components/monitoring.ts
 *   read nginx's lines from it (log name `journald`, fields MESSAGE and CONTAINER_NAME).
 * - PostgreSQL on the VM (stages 1-2): the agent's postgresql receiver over the server's Unix socket, which the
 *   compose file must publish on the host at /var/run/postgresql. The postgres image trusts local socket
 *   connections (its pg_hba.conf `local all all trust`), so no password is in this file.
 */
import { stringify } from "yaml";
import { DB_USER } from "./vm-bundle";

/**
 * max_connections of the VM's PostgreSQL: the server's default, 100 (src/files/compose.ts sets no
 * `-c max_connections`). The database-connections policies of stages 1-2 are shares of it.
 */
export const VM_POSTGRES_MAX_CONNECTIONS = 100;

export interface OpsAgentOptions {
  /** Collect the VM's PostgreSQL metrics (`workload.googleapis.com/postgresql.*`). @default false */
  postgres?: boolean;
  /** PostgreSQL's Unix socket on the host. @default "/var/run/postgresql/.s.PGSQL.5432" */
  postgresSocket?: string;
  /** Role the receiver connects as (the app's database owner on the VM). @default DB_USER */
  postgresUser?: string;
}

export function opsAgentConfig(o: OpsAgentOptions = {}): string {
  const metrics = o.postgres
    ? {
        receivers: {
          postgresql: {
            type: "postgresql",
            collection_interval: "60s",
            endpoint: o.postgresSocket ?? "/var/run/postgresql/.s.PGSQL.5432",
            username: o.postgresUser ?? DB_USER,
          },
        },
        service: { pipelines: { postgresql: { receivers: ["postgresql"] } } },
      }
    : undefined;
  const doc = {
    logging: {
      receivers: { journald: { type: "systemd_journald" } },
      service: { pipelines: { journald: { receivers: ["journald"] } } },
    },
    ...(metrics ? { metrics } : {}),
  };
  return `# Rendered by src/files/ops-agent.ts (merged with the Ops Agent's built-in defaults).\n${stringify(doc, { lineWidth: 0 })}`;
}

const CONFIG = "/etc/google-cloud-ops-agent/config.yaml";
const STAMP = "/var/lib/google-cloud-ops-agent/co-config.sha256";

/** The exec resources of the OS policy (components/monitoring.ts), each with a validate and an enforce script. */
export type OpsAgentPolicyStep = "install" | "restart";

/**
 * Scripts of the OS policy's exec resources. Validate exits 100 (in desired state) or 101; enforce exits 100 on
 * success. OS Config limits an inline script to 1024 characters.
 *
 * - install: Google's installer script adds Google's apt repository and installs the agent. The same installer
 *   the instance groups run at boot (src/files/app-instance.ts), so both paths write the same apt source: an OS
 *   Config `repository` resource would add a second entry for that repository with another keyring, and apt
 *   refuses sources whose Signed-By values conflict.
 * - restart: restart the agent when its config file changed (OS Config rewrites the file; the agent reads it
 *   only at start); a stamp holds the config's checksum.
 */
export function opsAgentPolicyScript(step: OpsAgentPolicyStep, kind: "validate" | "enforce"): string {
  let body: string[];
  if (step === "install") {
    body =
      kind === "validate"
        ? ["if dpkg -s google-cloud-ops-agent 2>/dev/null | grep -q '^Status: install ok installed'; then", "  exit 100", "fi", "exit 101"]
        : [
            "set -e",
            'cd "$(mktemp -d)"',
            "curl -fsSL --retry 5 -o add-repo.sh https://dl.google.com/cloudagents/add-google-cloud-ops-agent-repo.sh",
            "bash add-repo.sh --also-install",
            "exit 100",
          ];
  } else {
    // The stamp holds `sha256sum <config>` output: `--check` re-reads the config file named in it.
    body =
      kind === "validate"
        ? [
            `stamp=${STAMP}`,
            'if systemctl is-active --quiet google-cloud-ops-agent && [ -f "$stamp" ] && sha256sum --check --status "$stamp"; then',
            "  exit 100",
            "fi",
            "exit 101",
          ]
        : [
            `config=${CONFIG}`,
            `stamp=${STAMP}`,
            'mkdir -p "$(dirname "$stamp")"',
            'if systemctl restart google-cloud-ops-agent && sha256sum "$config" > "$stamp"; then',
            "  exit 100",
            "fi",
            "exit 1",
          ];
  }
  return ["#!/bin/sh", ...body, ""].join("\n");
}
