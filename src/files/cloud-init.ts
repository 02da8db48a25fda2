/**
 * The VM's cloud-init user-data (`#cloud-config`): installs Docker and the compose plugin from Ubuntu's own
 * packages (`docker.io`, `docker-compose-v2`; no third-party apt repository to trust), writes every file the VM
 * needs (compose file, nginx.conf, redis.conf, Prometheus files, scripts, systemd units), then mounts the data
 * disk and starts the app under systemd, so it comes back after every reboot or stop/start resize.
 *
 * The VM boots Ubuntu 24.04 LTS: GCE's Debian images do not run cloud-init user-data (they use Google's own
 * startup-script agent), Ubuntu's GCE images do. Checked with `cloud-init schema --config-file` in the tests.
 */
import { stringify } from "yaml";

export interface WriteFile {
  path: string;
  content: string;
  /** Octal mode. @default "0644" */
  permissions?: string;
}

export interface CloudInitOptions {
  files: WriteFile[];
  /** Commands run once, at the end of the first boot (list form: no shell parsing). */
  runcmd: string[][];
  /** Extra apt packages besides docker.io and docker-compose-v2. @default [] */
  packages?: string[];
}

/** The user-data text. */
export function cloudInit(o: CloudInitOptions): string {
  const doc = {
    package_update: true,
    // Ubuntu 24.04 packages: Docker Engine (docker.io) and `docker compose` (docker-compose-v2).
    packages: ["docker.io", "docker-compose-v2", ...(o.packages ?? [])],
    // Keep SSH host keys when co-config-sync re-runs cloud-init after a metadata change.
    ssh_deletekeys: false,
    write_files: o.files.map((f) => ({
      path: f.path,
      owner: "root:root",
      permissions: f.permissions ?? "0644",
      content: f.content,
    })),
    runcmd: o.runcmd,
  };
  return `#cloud-config\n# Rendered by src/files/cloud-init.ts.\n${stringify(doc, { lineWidth: 0, blockQuote: "literal", aliasDuplicateObjects: false })}`;
}
