// Real-Prometheus fixtures for tests: see README.md in this folder.
export { buildOpenMetrics, type SeriesSpec, type SeriesType } from './build-open-metrics.ts';
export { freeLoopbackPort, unusedLoopbackUrl } from './loopback.ts';
export { parseSampleValue, type RangeSeries, type VectorSample } from './query.ts';
export { p99Fractions, piecewise, scenario, Scenario, SCENARIO_DEFAULTS, step, type ScenarioOptions, type ValueAt } from './scenario.ts';
export { startExporter, type Exporter } from './start-exporter.ts';
export { startPrometheus, type PrometheusFixture, type StartPrometheusOptions } from './start-prometheus.ts';
export { startSlowProxy, type SlowProxy } from './start-slow-proxy.ts';
export { waitForValue } from './wait-for-value.ts';
