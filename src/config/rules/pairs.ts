/**
 * Pairs of keys that bound each other: every minimum at or below its maximum, initial replicas inside their range,
 * warnings below their critical level, the Pub/Sub backoff window, Cloud SQL's disk autoresize limit.
 */
import { alertThresholds, type Config } from "../schema";
import { k, refuse } from "./util";

/** `minPath` must not exceed `maxPath`; the refusal names the minimum and suggests the maximum. */
function minMax(minPath: string, min: number, maxPath: string, max: number): string[] {
  return min > max ? [refuse(minPath, min, `is above ${k(maxPath)} ${max}`, `at most ${max} (or raise ${k(maxPath)})`, max)] : [];
}

export function pairProblems(c: Config): string[] {
  const p: string[] = [
    ...minMax("httpPool.minReplicas", c.httpPool.minReplicas, "httpPool.maxReplicas", c.httpPool.maxReplicas),
    ...minMax("wsPool.minReplicas", c.wsPool.minReplicas, "wsPool.maxReplicas", c.wsPool.maxReplicas),
    ...minMax("video.bridgesPerRegion", c.video.bridgesPerRegion, "video.maxBridgesPerRegion", c.video.maxBridgesPerRegion),
    ...minMax("kubernetes.nodesPerZoneMin", c.kubernetes.nodesPerZoneMin, "kubernetes.nodesPerZoneMax", c.kubernetes.nodesPerZoneMax),
    // Pub/Sub's retry policy: minimumBackoff <= maximumBackoff (components/queue.ts asserts the same).
    ...minMax("queue.minBackoffSeconds", c.queue.minBackoffSeconds, "queue.maxBackoffSeconds", c.queue.maxBackoffSeconds),
  ];
  for (const where of ["primary", "secondary"] as const) {
    for (const wl of ["api", "ws", "worker"] as const) {
      const r = c.kubernetes[where][wl];
      const at = `kubernetes.${where}.${wl}`;
      p.push(...minMax(`${at}.min`, r.min, `${at}.max`, r.max));
      if (r.min <= r.max && (r.initial < r.min || r.initial > r.max)) {
        p.push(
          refuse(
            `${at}.initial`,
            r.initial,
            `is outside ${k(`${at}.min`)}..max (${r.min}..${r.max})`,
            `${r.min}-${r.max}`,
            Math.min(r.max, Math.max(r.min, r.initial)),
          ),
        );
      }
    }
  }
  // Two policies at one level would page twice for one condition; components/monitoring.ts asserts warning < critical.
  for (const [name, t] of Object.entries(alertThresholds(c.monitoring))) {
    if (t.warning >= t.critical) {
      p.push(refuse(`monitoring.${name}.warning`, t.warning, `is not below ${k(`monitoring.${name}.critical`)} ${t.critical}`, `less than ${t.critical}`));
    }
  }
  // 0 is "no limit"; a limit under the disk's own size would stop autoresize at once.
  if (c.database.diskAutoresizeLimitGb !== 0 && c.database.diskAutoresizeLimitGb < c.database.diskGb) {
    p.push(
      refuse(
        "database.diskAutoresizeLimitGb",
        c.database.diskAutoresizeLimitGb,
        `is below ${k("database.diskGb")} ${c.database.diskGb}`,
        `0 (no limit) or at least ${c.database.diskGb}`,
        c.database.diskGb,
      ),
    );
  }
  return p;
}
