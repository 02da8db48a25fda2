/**
 * Architecture diagram of a stage, generated from its plan (never drawn by hand): top-level components grouped
 * by region inside the VPC (Kubernetes workloads in their cluster's region), the request paths of the load balancer's URL map (/api, /ws, /static, /media and the
 * default route) to the components that serve them, video media straight to the bridges, the data path from what
 * serves to the databases, caches and queue (directly or through the app settings that name them), and the other
 * dependencies between components. Output is Graphviz DOT; `dot -Tsvg` renders it.
 */
import { createHash } from "node:crypto";
import type { Plan, PlannedResource } from "./engine";

const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
const id = (s: string) => `n_${createHash("sha256").update(s).digest("hex").slice(0, 10)}`;

/** Components whose edges would clutter the picture: every component depends on them. */
const infrastructureTypes = new Set(["course-organizer:network:Network", "course-organizer:identity:ServiceAccount", "course-organizer:secrets:Secret"]);

function regionOf(inputs: Record<string, unknown>): string | undefined {
  const v = inputs.region ?? inputs.location ?? inputs.zone;
  if (typeof v !== "string") return undefined;
  const m = /^([a-z]+-[a-z]+[0-9]+)(-[a-z])?$/.exec(v);
  return m ? m[1] : undefined;
}

export function diagramDot(plan: Plan): string {
  const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
  const topOf = (r: PlannedResource): PlannedResource => {
    let cur = r;
    while (cur.parent && byUrn.has(cur.parent)) cur = byUrn.get(cur.parent)!;
    return cur;
  };
  const tops = plan.resources.filter((r) => !r.parent && !r.custom && !infrastructureTypes.has(r.type));
  const descendants = new Map<string, PlannedResource[]>();
  for (const r of plan.resources) {
    const t = topOf(r);
    if (t.urn !== r.urn) descendants.set(t.urn, [...(descendants.get(t.urn) ?? []), r]);
  }
  // Region of a component: the most common region among its resources, a tie going to the region of the first
  // one it creates (a database's primary before its cross-region replica); none means global.
  const region = new Map<string, string>();
  for (const t of tops) {
    const counts = new Map<string, number>();
    for (const d of descendants.get(t.urn) ?? []) {
      const reg = d.custom ? regionOf(d.inputs) : undefined;
      if (reg) counts.set(reg, (counts.get(reg) ?? 0) + 1);
    }
    // Map order is first-creation order and the sort is stable.
    const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    region.set(t.urn, best ? best[0] : "global");
  }
  // Kubernetes objects carry no region: a component whose resources go through a cluster's provider is in that
  // cluster's region (each region's workloads inside their region).
  for (const t of tops) {
    if (region.get(t.urn) !== "global") continue;
    const providers = (descendants.get(t.urn) ?? []).map((d) => d.provider?.replace(/::[^:]*$/, "")).filter((u): u is string => Boolean(u));
    const clusters = [
      ...new Set(
        providers
          .map((u) => byUrn.get(u))
          .filter((r): r is PlannedResource => Boolean(r))
          .map((r) => region.get(topOf(r).urn)),
      ),
    ];
    if (clusters.length === 1 && clusters[0] && clusters[0] !== "global") region.set(t.urn, clusters[0]);
  }
  const summary = (t: PlannedResource): string => {
    const counts = new Map<string, number>();
    for (const d of descendants.get(t.urn) ?? []) if (d.custom) counts.set(d.type.split(":").pop()!, (counts.get(d.type.split(":").pop()!) ?? 0) + 1);
    const top3 = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 3);
    return top3.map(([k, n]) => `${n} ${k}`).join(", ");
  };

  const lines: string[] = [];
  lines.push(`digraph "course-organizer-stage${plan.stage}" {`);
  // newrank: ranks across clusters in one pass; without it dot 2.43 loses edges between the regions' clusters
  // ("lost ... edge", exit 1) once stage 4 has data paths from both regions' workloads to the primary's databases.
  lines.push(
    `  graph [rankdir=LR, fontname="Helvetica", fontsize=12, label="Course Organizer, stage ${plan.stage} (generated from the plan of ${esc(plan.stack)})", labelloc=t, compound=true, newrank=true];`,
  );
  lines.push(`  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize=10];`);
  lines.push(`  edge [fontname="Helvetica", fontsize=9];`);
  lines.push(`  users [label="Users\\n(browsers, apps)", shape=ellipse, fillcolor="#fff6d5"];`);
  const regions = [...new Set([...region.values()])].sort((a, b) => (a === "global" ? -1 : b === "global" ? 1 : a.localeCompare(b)));
  const vpc = plan.resources.find((r) => r.type === "gcp:compute/network:Network");
  for (const reg of regions) {
    const inRegion = tops.filter((t) => region.get(t.urn) === reg).sort((a, b) => a.name.localeCompare(b.name));
    lines.push(`  subgraph "cluster_${reg}" {`);
    lines.push(`    label="${reg === "global" ? "global" : `${reg}${vpc ? ` (VPC ${esc(String(vpc.inputs.name))})` : ""}`}"; style=dashed;`);
    for (const t of inRegion) {
      lines.push(`    ${id(t.urn)} [label="${esc(t.name)}\\n${esc(t.type.replace(/^course-organizer:/, ""))}\\n${esc(summary(t))}"];`);
    }
    lines.push("  }");
  }

  const edges = new Map<string, Set<string>>();
  const addEdge = (from: string, to: string, label: string) => {
    if (from === to) return;
    const k = `${from} -> ${to}`;
    if (!edges.has(k)) edges.set(k, new Set());
    if (label) edges.get(k)!.add(label);
  };
  const topIds = new Set(tops.map((t) => t.urn));
  const componentOfUrn = (u: string) => {
    const r = byUrn.get(u);
    if (!r) return undefined;
    const t = topOf(r);
    return topIds.has(t.urn) ? t.urn : undefined;
  };

  // Request paths from the URL map that serves HTTPS (the one with path matchers).
  const services = new Map<string, PlannedResource>();
  for (const r of plan.resources) {
    if ((r.type === "gcp:compute/backendService:BackendService" || r.type === "gcp:compute/backendBucket:BackendBucket") && typeof r.inputs.name === "string") {
      services.set(r.inputs.name, r);
    }
  }
  const servingComponents = (serviceRef: unknown): string[] => {
    if (typeof serviceRef !== "string") return [];
    const svc = services.get(serviceRef.split("/").pop()!);
    if (!svc) return [];
    if (svc.type.endsWith("BackendBucket")) {
      const b = svc.propertyDependencies.bucketName?.map(componentOfUrn).filter(Boolean) as string[] | undefined;
      return b && b.length ? b : [componentOfUrn(svc.urn)!].filter(Boolean);
    }
    return [...new Set((svc.propertyDependencies.backends ?? []).map(componentOfUrn).filter((x): x is string => Boolean(x)))];
  };
  const urlMaps = plan.resources.filter((r) => r.type === "gcp:compute/uRLMap:URLMap" && Array.isArray(r.inputs.pathMatchers));
  for (const m of urlMaps) {
    const lb = componentOfUrn(m.urn);
    if (!lb) continue;
    addEdge("users", lb, "HTTPS");
    for (const pm of m.inputs.pathMatchers as Record<string, any>[]) {
      for (const rule of pm.pathRules ?? []) {
        const targets = [rule.service, ...((rule.routeAction?.weightedBackendServices ?? []) as Record<string, unknown>[]).map((w) => w.backendService)];
        for (const t of targets) for (const c of servingComponents(t)) addEdge(lb, c, (rule.paths as string[]).join(" "));
      }
      for (const c of servingComponents(pm.defaultService)) addEdge(lb, c, "default");
      for (const w of (pm.defaultRouteAction?.weightedBackendServices ?? []) as Record<string, unknown>[])
        for (const c of servingComponents(w.backendService)) addEdge(lb, c, "default");
    }
  }
  if (urlMaps.length === 0) {
    // No load balancer: the VM (the component with the web tag) serves everything directly.
    for (const t of tops) {
      const web = (descendants.get(t.urn) ?? []).some((d) => d.type === "gcp:compute/instance:Instance" && JSON.stringify(d.inputs.tags ?? []).includes("web"));
      if (web) addEdge("users", t.urn, "HTTPS /api /ws /static /media");
    }
  }
  // Video media goes straight to the bridges (Jicofo picks them; no load balancer in front).
  for (const t of tops) {
    const video = (descendants.get(t.urn) ?? []).some(
      (d) => /Instance|InstanceTemplate/.test(d.type) && JSON.stringify(d.inputs.tags ?? d.inputs.properties ?? []).includes("video"),
    );
    if (video) addEdge("users", t.urn, "video UDP 10000");
  }
  // Data dependencies between components (what a component's resources take from another's).
  for (const r of plan.resources) {
    const from = componentOfUrn(r.urn);
    if (!from) continue;
    for (const deps of Object.values(r.propertyDependencies)) {
      for (const d of deps) {
        const to = componentOfUrn(d);
        if (to && to !== from && !edges.has(`${from} -> ${to}`)) addEdge(from, to, "");
      }
    }
  }
  // The data path: what serves requests reads and writes the databases and caches the app settings name.
  for (const [from, to] of dataPaths(tops, edges)) addEdge(from, to, "data");
  const nodeId = (u: string) => (u === "users" ? "users" : id(u));
  for (const [k, labels] of [...edges.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const [from, to] = k.split(" -> ") as [string, string];
    const label = [...labels].sort().join("\\n");
    const style = labels.size === 0 ? ', style=dashed, color="#888888"' : "";
    lines.push(`  ${nodeId(from)} -> ${nodeId(to)} [label="${esc(label).replace(/\\\\n/g, "\\n")}"${style}];`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

export function dotSha(dot: string): string {
  return createHash("sha256").update(dot).digest("hex");
}

/** Components that hold the app's data: the databases, caches and the queue. */
const DATA_TYPES = new Set([
  "course-organizer:database:Database",
  "course-organizer:cache:Redis",
  "course-organizer:cache:RedisCluster",
  "course-organizer:cache:Memcached",
  "course-organizer:queue:Queue",
]);

/**
 * App machines and workloads that read the app settings reach every data store the settings name (hosts, URLs,
 * endpoints): an edge from each of them to each store, besides their direct dependencies.
 */
function dataPaths(tops: PlannedResource[], edges: Map<string, Set<string>>): [string, string][] {
  const typeOf = new Map(tops.map((t) => [t.urn, t.type]));
  const depsOf = (from: string) => [...edges.keys()].filter((k) => k.startsWith(`${from} -> `)).map((k) => k.split(" -> ")[1]!);
  const settings = tops.filter((t) => t.type === "course-organizer:app:AppSettings").map((t) => t.urn);
  const stores = settings.flatMap((s) => depsOf(s).filter((d) => DATA_TYPES.has(typeOf.get(d) ?? "")));
  const out: [string, string][] = [];
  for (const t of tops) {
    if (settings.includes(t.urn) || DATA_TYPES.has(t.type)) continue;
    const deps = depsOf(t.urn);
    if (!deps.some((d) => settings.includes(d))) continue;
    for (const store of stores) out.push([t.urn, store]);
    for (const d of deps) if (DATA_TYPES.has(typeOf.get(d) ?? "")) out.push([t.urn, d]);
  }
  return out;
}
