/**
 * Kubernetes manifest checks without an API server: kubernetes-models' JSON-schema validation (types, enums,
 * required fields) plus a strict walk over @kubernetes/client-node's model type maps, which fails on any field
 * the API does not define (kubernetes-models' schemas allow unknown properties, so a typo would pass them).
 */
// The package root imports undici, which needs Node 22: the generated models only.
import * as models from "@kubernetes/client-node/dist/gen/models/all.js";

type Attr = { name: string; baseName: string; type: string };
type ModelClass = { getAttributeTypeMap(): Attr[] };
const registry = models as unknown as Record<string, ModelClass | undefined>;

/**
 * Google Managed Prometheus' PodMonitoring (monitoring.googleapis.com/v1) is a CRD that client-node does not know:
 * its fields from the CRD's OpenAPI schema (GoogleCloudPlatform/prometheus-engine, manifests/setup.yaml), the
 * parts we use and their siblings.
 */
const extra: Record<string, Attr[]> = {
  GmpPodMonitoring: [
    { name: "apiVersion", baseName: "apiVersion", type: "string" },
    { name: "kind", baseName: "kind", type: "string" },
    { name: "metadata", baseName: "metadata", type: "V1ObjectMeta" },
    { name: "spec", baseName: "spec", type: "GmpPodMonitoringSpec" },
  ],
  GmpPodMonitoringSpec: [
    { name: "selector", baseName: "selector", type: "V1LabelSelector" },
    { name: "endpoints", baseName: "endpoints", type: "Array<GmpScrapeEndpoint>" },
    { name: "targetLabels", baseName: "targetLabels", type: "any" },
    { name: "limits", baseName: "limits", type: "any" },
    { name: "filterRunning", baseName: "filterRunning", type: "boolean" },
  ],
  GmpScrapeEndpoint: [
    { name: "port", baseName: "port", type: "IntOrString" },
    { name: "path", baseName: "path", type: "string" },
    { name: "interval", baseName: "interval", type: "string" },
    { name: "timeout", baseName: "timeout", type: "string" },
    { name: "scheme", baseName: "scheme", type: "string" },
    { name: "params", baseName: "params", type: "{ [key: string]: Array<string>; }" },
    { name: "metricRelabeling", baseName: "metricRelabeling", type: "Array<any>" },
    { name: "proxyUrl", baseName: "proxyUrl", type: "string" },
  ],
};

function attrsOf(type: string): Attr[] | undefined {
  return extra[type] ?? registry[type]?.getAttributeTypeMap();
}

/** Paths of fields the model type does not define, or whose JSON type is wrong. */
export function unknownFields(value: unknown, type: string, path = "$"): string[] {
  if (value === undefined || value === null) return [];
  if (type === "any") return [];
  if (type === "string" || type === "Date") return typeof value === "string" ? [] : [`${path}: expected string, got ${JSON.stringify(value)}`];
  if (type === "number") return typeof value === "number" ? [] : [`${path}: expected number, got ${JSON.stringify(value)}`];
  if (type === "boolean") return typeof value === "boolean" ? [] : [`${path}: expected boolean, got ${JSON.stringify(value)}`];
  if (type === "IntOrString") return typeof value === "string" || Number.isInteger(value) ? [] : [`${path}: expected int or string`];
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) {
    if (!Array.isArray(value)) return [`${path}: expected a list`];
    return value.flatMap((v, i) => unknownFields(v, arr[1]!, `${path}[${i}]`));
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value !== "object" || Array.isArray(value)) return [`${path}: expected a map`];
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => unknownFields(v, map[1]!, `${path}.${k}`));
  }
  const attrs = attrsOf(type);
  if (!attrs) return [`${path}: no model for type ${type}`];
  if (typeof value !== "object" || Array.isArray(value)) return [`${path}: expected an object of ${type}`];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => {
    const a = attrs.find((x) => x.baseName === k);
    return a ? unknownFields(v, a.type, `${path}.${k}`) : [`${path}.${k}: unknown field of ${type}`];
  });
}

/** client-node's model name of a manifest (apps/v1 Deployment -> V1Deployment; autoscaling/v2 -> V2...). */
export function modelName(apiVersion: string, kind: string): string {
  if (apiVersion === "monitoring.googleapis.com/v1" && kind === "PodMonitoring") return "GmpPodMonitoring";
  const version = apiVersion.split("/").pop()!;
  return `${version[0]!.toUpperCase()}${version.slice(1)}${kind}`;
}

/** kubernetes-models' validation of a manifest (throws with the schema errors); CRDs it does not ship are skipped. */
export async function validateWithModels(m: { apiVersion: string; kind: string }): Promise<boolean> {
  const [group, version] = m.apiVersion.includes("/") ? m.apiVersion.split("/") : [undefined, m.apiVersion];
  if (group === "monitoring.googleapis.com") return false;
  const mod = (await import(`kubernetes-models/${group ? `${group}/` : ""}${version}/${m.kind}`)) as Record<string, new (o: unknown) => { validate(): void }>;
  const Model = mod[m.kind]!;
  new Model(m).validate();
  return true;
}
