/**
 * Rules of the Database Migration Service move (stage 2 -> 3, docs/runbooks/2-to-3.md).
 */
import type { Config } from "../schema";
import { k, refuse } from "./util";

/**
 * Docker Hub's official PostgreSQL images (`postgres:<tag>`, `library/postgres`, `docker.io/...`): none carries
 * the pglogical extension (Debian's postgresql-15-pglogical is a separate package; the alpine variants have no
 * package at all). With `shared_preload_libraries=pglogical` (src/files/compose.ts, DMS's source prerequisite)
 * PostgreSQL refuses to start: "could not access file "pglogical"".
 */
export function isStockPostgresImage(image: string): boolean {
  const name = image.split("@")[0]!.replace(/:[^/:]+$/, "");
  return ["postgres", "library/postgres", "docker.io/postgres", "docker.io/library/postgres", "index.docker.io/library/postgres"].includes(name);
}

export function migrationProblems(c: Config): string[] {
  const p: string[] = [];
  const d = c.database;
  if (d.migrateFromVm && isStockPostgresImage(c.images.postgres)) {
    p.push(
      refuse(
        "images.postgres",
        c.images.postgres,
        `has no pglogical, which ${k("database.migrateFromVm")}=true preloads on the VM's PostgreSQL (it would not start)`,
        "an image with pglogical (postgres:15 plus Debian's postgresql-15-pglogical, pushed to Artifact Registry: docs/runbooks/2-to-3.md)",
      ),
    );
  }
  if (d.migrationState === "RUNNING" && !d.migrateFromVm) {
    p.push(refuse("database.migrationState", "RUNNING", `needs ${k("database.migrateFromVm")}=true (it starts that migration job)`, "NOT_STARTED"));
  }
  return p;
}
