// A real Prometheus for the playground, the tests and the bench: see README.md in this folder.
export { buildOpenMetrics, type SeriesSpec, type SeriesType } from './build-open-metrics.ts';
// "Prometheus is down" is a refusing port: the name its tests know it by.
export { freeLoopbackPort, refusingLoopbackUrl as unusedLoopbackUrl } from '../ports.ts';
export { serveMetrics, type MetricsEndpoint } from './metrics-endpoint.ts';
export { parseSampleValue, type RangeSeries, type VectorSample } from './query.ts';
export { p99Fractions, piecewise, scenario, Scenario, SCENARIO_DEFAULTS, step, type Gaps, type ScenarioOptions, type ValueAt } from './scenario.ts';
export { startExporter, type Exporter } from './start-exporter.ts';
export { startPrometheus, type PrometheusFixture, type StartPrometheusOptions } from './start-prometheus.ts';
export { startSlowProxy, type SlowProxy } from './start-slow-proxy.ts';
export { waitForValue } from './wait-for-value.ts';
