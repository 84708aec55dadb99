import { Gauge, Registry } from 'prom-client';
import { serveMetrics } from './metrics-endpoint.ts';

export interface Exporter {
  /** `127.0.0.1:PORT`, for `startPrometheus({ scrapeTargets: [exporter.target] })`. */
  target: string;
  /** Creates the gauge on first use. Counters are fine too: give a `_total` name and set growing values. */
  set(metricName: string, labels: Record<string, string>, value: number): void;
  /** The series disappears from /metrics; Prometheus marks it stale at the next scrape. */
  remove(metricName: string, labels: Record<string, string>): void;
  /** How many times /metrics has been served. */
  readonly scrapes: number;
  stop(): Promise<void>;
}

/**
 * A live exporter on its own prom-client Registry for tests whose data changes while they run. Scraped with
 * `startPrometheus({ scrapeTargets: [exporter.target], scrapeIntervalSeconds: 1 })` (honor_labels, so an
 * `instance` label set here is the one queries see). Measured: first sample visible about 5–6 s after
 * Prometheus starts (its scrape manager syncs targets every 5 s), later changes within about 1 s.
 */
export async function startExporter(): Promise<Exporter> {
  const registry = new Registry();
  // Our own copy of every series, so a gauge can be rebuilt when a new label name turns up.
  const metrics = new Map<string, { gauge: Gauge; labelNames: string[]; series: Map<string, { labels: Record<string, string>; value: number }> }>();

  const rebuild = (name: string, labelNames: string[], series: Map<string, { labels: Record<string, string>; value: number }>) => {
    if (metrics.has(name)) registry.removeSingleMetric(name);
    const gauge = new Gauge({ name, help: `${name} (test exporter)`, labelNames, registers: [registry] });
    for (const { labels, value } of series.values()) gauge.set(labels, value);
    metrics.set(name, { gauge, labelNames, series });
  };

  const endpoint = await serveMetrics(registry);

  return {
    target: endpoint.target,
    get scrapes() {
      return endpoint.scrapes;
    },
    set(name, labels, value) {
      const key = seriesKey(labels);
      const metric = metrics.get(name);
      const names = Object.keys(labels);
      if (!metric || names.some((l) => !metric.labelNames.includes(l))) {
        const series = new Map(metric?.series);
        series.set(key, { labels, value });
        rebuild(name, [...new Set([...(metric?.labelNames ?? []), ...names])].sort(), series);
        return;
      }
      metric.series.set(key, { labels, value });
      metric.gauge.set(labels, value);
    },
    remove(name, labels) {
      const metric = metrics.get(name);
      if (!metric?.series.delete(seriesKey(labels))) return;
      metric.gauge.remove(labels);
    },
    stop: () => endpoint.stop(),
  };
}

function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
