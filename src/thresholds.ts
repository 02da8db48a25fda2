/**
 * The seed's "Monitoring & Alerts" table as one type: a warning and a critical level per metric, in the seed's units
 * (percent, milliseconds). Config `monitoring` holds the values (src/config/presets.ts), Cloud Monitoring's policies
 * (components/monitoring/) and the VM's Prometheus rules (src/files/prometheus.ts) read the same pairs.
 */

/** Warning and critical level of one metric. */
export interface ThresholdPair {
  warning: number;
  critical: number;
}

/** The metrics of the table, as config `monitoring` names them. */
export const ALERT_METRICS = [
  "cpuPercent",
  "memoryPercent",
  "apiLatencyMs",
  "dbConnectionsPercent",
  "websocketConnectionsPercent",
  "diskPercent",
  "errorRatePercent",
] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];

/**
 * Every metric's pair: CPU, memory and disk in percent; apiLatencyMs the p95 of API responses; dbConnectionsPercent
 * the share of max_connections in use; websocketConnectionsPercent the share of the configured WebSocket capacity;
 * errorRatePercent the share of responses that are 5xx.
 */
export type AlertThresholds = Record<AlertMetric, ThresholdPair>;
