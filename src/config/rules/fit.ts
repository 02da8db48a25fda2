/**
 * Sizes that must fit the machine they run on: Redis's maxmemory and the Gunicorn workers on the single VM, the
 * Gunicorn workers on each HTTP pool instance. Machine sizes come from the catalog (src/config/catalog.ts); an
 * unknown type is refused by rules/catalog.ts and skipped here.
 */
import type { Config } from "../schema";
import { machineType } from "../catalog";
import { k, refuse } from "./util";

/**
 * Share of the VM's memory Redis may take. The VM also holds PostgreSQL (shared_buffers and its page cache), the
 * backend replicas, Jitsi (the Videobridge's JVM) and Prometheus/Grafana; the seed gives Redis 2 GB of stage 2's
 * 16 GB (12.5 %). A quarter leaves the rest room; beyond it the kernel's OOM killer picks a container.
 */
export const VM_REDIS_MEMORY_SHARE = 0.25;

/** Gunicorn's documented ceiling for one machine: (2 x cores) + 1 workers (docs.gunicorn.org "How Many Workers?"). */
export function gunicornMaxWorkers(vcpus: number): number {
  return 2 * vcpus + 1;
}

/** "512mb" / "2gb" (redis.conf units, as the schema takes them) in MiB. */
export function redisMemoryMb(v: string): number {
  const m = /^([0-9]+)(mb|gb)$/.exec(v);
  return m ? Number(m[1]) * (m[2] === "gb" ? 1024 : 1) : NaN;
}

export function fitProblems(c: Config): string[] {
  const p: string[] = [];
  const vm = machineType(c.vm.machineType);
  if ((c.vm.enabled || c.vm.retained) && vm.ok) {
    const memMb = vm.facts.memoryGb * 1024;
    const maxRedis = Math.floor(memMb * VM_REDIS_MEMORY_SHARE);
    const redis = redisMemoryMb(c.vm.redisMaxmemory);
    if (redis > maxRedis) {
      p.push(
        refuse(
          "vm.redisMaxmemory",
          c.vm.redisMaxmemory,
          `does not fit ${k("vm.machineType")} ${c.vm.machineType} (${vm.facts.memoryGb} GB, shared with PostgreSQL, the backends and Jitsi)`,
          `at most ${VM_REDIS_MEMORY_SHARE * 100} % of its memory, ${maxRedis}mb`,
          maxRedis % 1024 === 0 ? `${maxRedis / 1024}gb` : `${maxRedis}mb`,
        ),
      );
    }
    const workers = c.vm.backendReplicas * c.vm.gunicornWorkers;
    const maxWorkers = gunicornMaxWorkers(vm.facts.vcpus);
    if (workers > maxWorkers) {
      p.push(
        refuse(
          "vm.gunicornWorkers",
          c.vm.gunicornWorkers,
          `x ${k("vm.backendReplicas")} ${c.vm.backendReplicas} = ${workers} workers is more than ${c.vm.machineType}'s ${vm.facts.vcpus} vCPUs run (2 x vCPUs + 1 = ${maxWorkers})`,
          `at most ${Math.floor(maxWorkers / c.vm.backendReplicas)} per replica`,
          Math.max(1, Math.floor(maxWorkers / c.vm.backendReplicas)),
        ),
      );
    }
  }
  const pool = machineType(c.httpPool.machineType);
  if (c.httpPool.enabled && pool.ok && c.httpPool.gunicornWorkers > gunicornMaxWorkers(pool.facts.vcpus)) {
    const max = gunicornMaxWorkers(pool.facts.vcpus);
    p.push(
      refuse(
        "httpPool.gunicornWorkers",
        c.httpPool.gunicornWorkers,
        `is more than ${k("httpPool.machineType")} ${c.httpPool.machineType}'s ${pool.facts.vcpus} vCPUs run (2 x vCPUs + 1)`,
        `at most ${max}`,
        max,
      ),
    );
  }
  return p;
}
