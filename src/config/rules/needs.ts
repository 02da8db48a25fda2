/**
 * Options that need or exclude each other, the domains, the regions' relations and the database's connection
 * budget. The composition (src/stack/*.ts) relies on them: it does not check them again, so the config refuses
 * them first, before anything is registered.
 */
import type { Config } from "../schema";
import { k, refuse } from "./util";

/** Share of database.maxConnections the GKE pods' PgBouncers may take; the rest is for migrations, admins and Cloud SQL itself. */
export const DB_CONNECTION_SHARE = 0.8;

/**
 * Server connections one PgBouncer may open to a database at most: its pool plus the reserve src/files/pgbouncer.ts
 * writes (reserve_pool_size = max(1, ceil(pool / 4)); max_db_connections = pool + reserve).
 */
export function pgbouncerServerCap(poolSize: number): number {
  return poolSize + Math.max(1, Math.ceil(poolSize / 4));
}

/** A switch that is on (true) but needs another switch on too. */
function needs(path: string, other: string, why: string): string {
  return refuse(path, true, `needs ${k(other)}=true (${why})`, `false, or set ${k(other)}=true`);
}

export function needsProblems(c: Config): string[] {
  const p: string[] = [];
  const psa = (on: boolean, path: string) => {
    if (on && !c.network.privateServiceAccess) p.push(needs(path, "network.privateServiceAccess", "private IP through Private Service Access"));
  };
  psa(c.database.enabled, "database.enabled");
  psa(c.cache.enabled, "cache.enabled");
  psa(c.cache.memcachedEnabled, "cache.memcachedEnabled");
  if (c.vm.enabled && c.vm.retained) {
    p.push(refuse("vm.retained", true, `excludes ${k("vm.enabled")}=true (a retained VM is stopped)`, `false, or set ${k("vm.enabled")}=false`));
  }
  const serving = c.vm.enabled || c.httpPool.enabled || c.kubernetes.enabled;
  if (!serving)
    p.push(
      refuse(
        "vm.enabled",
        false,
        `with ${k("httpPool.enabled")}=false and ${k("kubernetes.enabled")}=false leaves nothing serving the app`,
        "true, or enable httpPool or kubernetes",
      ),
    );
  if (c.httpPool.enabled !== c.wsPool.enabled) {
    p.push(
      refuse(
        "wsPool.enabled",
        c.wsPool.enabled,
        `differs from ${k("httpPool.enabled")}=${c.httpPool.enabled}; the two pools go together behind /api and /ws`,
        `${c.httpPool.enabled}`,
      ),
    );
  }
  const several = c.httpPool.enabled || c.kubernetes.enabled;
  if (several && !c.loadBalancer.enabled) {
    p.push(refuse("loadBalancer.enabled", false, "but instance groups or GKE need the load balancer in front", "true while httpPool or kubernetes is enabled"));
  }
  // The pods and instances read the app settings secret, which needs both (src/stack/settings.ts).
  if (several && !c.database.enabled) {
    p.push(
      refuse(
        "database.enabled",
        false,
        "but several app instances (httpPool or kubernetes) need a shared database (Cloud SQL)",
        "true while httpPool or kubernetes is enabled",
      ),
    );
  }
  if (several && !c.cache.enabled) {
    p.push(
      refuse(
        "cache.enabled",
        false,
        "but several app instances (httpPool or kubernetes) need a shared Redis (Memorystore)",
        "true while httpPool or kubernetes is enabled",
      ),
    );
  }
  // src/stack/edge.ts builds the load balancer only with the media buckets.
  if (c.loadBalancer.enabled && !c.media.enabled) {
    p.push(refuse("media.enabled", false, "but the load balancer serves /static and /media from the buckets", `true while ${k("loadBalancer.enabled")}=true`));
  }
  // src/stack/edge.ts builds the zone only behind the load balancer.
  if (c.dns.enabled && !c.loadBalancer.enabled) {
    p.push(needs("dns.enabled", "loadBalancer.enabled", "the zone's A record is the load balancer's address"));
  }
  if (c.database.migrateFromVm && !(c.vm.enabled && c.database.enabled)) {
    p.push(
      refuse(
        "database.migrateFromVm",
        true,
        `needs ${k("vm.enabled")}=true (the source) and ${k("database.enabled")}=true (the target)`,
        "false, or enable both",
      ),
    );
  }
  if (c.database.migrateFromVm && c.database.cutover) {
    p.push(refuse("database.cutover", true, `while ${k("database.migrateFromVm")}=true; finish the migration job first`, "false while the migration runs"));
  }
  if (c.database.shards > 0 && !c.database.enabled) {
    p.push(refuse("database.shards", c.database.shards, `needs ${k("database.enabled")}=true`, "0 without Cloud SQL", 0));
  }
  if (c.database.crossRegionReplicas && c.secondaryRegions.length === 0) {
    p.push(refuse("database.crossRegionReplicas", true, `needs at least one region in ${k("secondaryRegions")}; it is empty`, "false with one region"));
  }
  if (c.kubernetes.enabled && !c.queue.enabled) {
    p.push(refuse("queue.enabled", false, "but the GKE worker Deployment consumes the email-queue subscription", `true while ${k("kubernetes.enabled")}=true`));
  }
  if (c.video.mode === "vm" && !c.vm.enabled) {
    p.push(refuse("video.mode", "vm", `needs ${k("vm.enabled")}=true`, '"pool" once the VM no longer serves', "pool"));
  }
  if (c.video.relay && c.secondaryRegions.length === 0) {
    p.push(refuse("video.relay", true, `cascades bridges across regions and needs ${k("secondaryRegions")}; it is empty`, "false with one region"));
  }
  return [...p, ...regionAndDomainProblems(c), ...connectionBudgetProblems(c)];
}

/** Further regions distinct from the primary and each other; GKE's traffic share; the domains and the DNS zone. */
function regionAndDomainProblems(c: Config): string[] {
  const p: string[] = [];
  // Regions: further regions are distinct from the primary and from each other.
  c.secondaryRegions.forEach((r, i) => {
    if (r === c.region) p.push(refuse(`secondaryRegions[${i}]`, r, `is the primary region (${k("region")})`, "a further region, distinct from the primary"));
    else if (c.secondaryRegions.indexOf(r) < i)
      p.push(refuse(`secondaryRegions[${i}]`, r, `is listed twice (also secondaryRegions[${c.secondaryRegions.indexOf(r)}])`, "each region once"));
  });
  if (c.loadBalancer.gkeTrafficPercent > 0 && !c.kubernetes.enabled) {
    p.push(refuse("loadBalancer.gkeTrafficPercent", c.loadBalancer.gkeTrafficPercent, `needs ${k("kubernetes.enabled")}=true`, "0 without GKE", 0));
  }
  if (c.loadBalancer.gkeTrafficPercent < 100 && c.kubernetes.enabled && !c.httpPool.enabled) {
    p.push(
      refuse(
        "loadBalancer.gkeTrafficPercent",
        c.loadBalancer.gkeTrafficPercent,
        `sends traffic to instance groups, but ${k("httpPool.enabled")}=false`,
        "100, or enable the pools",
        100,
      ),
    );
  }
  // Domains: one certificate entry and one host route each (components/load-balancer.ts refuses duplicates).
  if (c.meetDomain === c.domain) {
    p.push(refuse("meetDomain", c.meetDomain, `is the same as ${k("domain")}; Jitsi needs its own host`, `a host other than ${c.domain}`, `meet.${c.domain}`));
  }
  c.loadBalancer.extraDomains.forEach((d, i) => {
    if (d === c.domain || d === c.meetDomain) {
      p.push(
        refuse(
          `loadBalancer.extraDomains[${i}]`,
          d,
          `repeats ${d === c.domain ? k("domain") : k("meetDomain")}, which is always on the certificate`,
          "further domains only",
        ),
      );
    } else if (c.loadBalancer.extraDomains.indexOf(d) < i) {
      p.push(refuse(`loadBalancer.extraDomains[${i}]`, d, "is listed twice", "each domain once"));
    }
  });
  // components/dns.ts: the zone is the domain; the meet domain's records go in it.
  if (c.dns.enabled && c.meetDomain !== c.domain && !c.meetDomain.endsWith(`.${c.domain}`)) {
    p.push(
      refuse(
        "meetDomain",
        c.meetDomain,
        `is not inside the Cloud DNS zone of ${k("domain")} ${c.domain} (${k("dns.enabled")}=true)`,
        `a host under ${c.domain}`,
        `meet.${c.domain}`,
      ),
    );
  }
  return p;
}

/** The pods' PgBouncer pools against the primary's max_connections (stage 4). */
function connectionBudgetProblems(c: Config): string[] {
  const p: string[] = [];
  if (c.kubernetes.enabled && c.database.enabled) {
    // Every pod's PgBouncer may hold its pool plus its reserve (max_db_connections) on the primary at once.
    const pool = c.kubernetes.pgbouncerPoolSizePerPod;
    const perPod = pgbouncerServerCap(pool);
    const maxPods = (r: Config["kubernetes"]["primary"]) => r.api.max + r.ws.max + r.worker.max;
    const pods = maxPods(c.kubernetes.primary) + maxPods(c.kubernetes.secondary) * c.secondaryRegions.length;
    const budget = Math.floor(c.database.maxConnections * DB_CONNECTION_SHARE);
    if (pods * perPod > budget) {
      let fits = pool;
      while (fits > 1 && pods * pgbouncerServerCap(fits) > budget) fits--;
      p.push(
        refuse(
          "kubernetes.pgbouncerPoolSizePerPod",
          pool,
          `(+${perPod - pool} reserve = ${perPod} server connections per pod) x ${pods} pods at the kubernetes.primary/secondary maxima in ${1 + c.secondaryRegions.length} region(s) = ${pods * perPod}, over ${DB_CONNECTION_SHARE * 100} % of ${k("database.maxConnections")} ${c.database.maxConnections} (${budget}) by ${pods * perPod - budget}`,
          `a pool whose pods fit ${budget} connections; or lower the maxima, or raise database.maxConnections`,
          pods * pgbouncerServerCap(fits) <= budget ? fits : undefined,
        ),
      );
    }
  }
  return p;
}
