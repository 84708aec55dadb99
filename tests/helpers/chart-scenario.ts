// One Prometheus history for the chart placement tests: web-1 breaches the `load` trigger for 20 minutes, an hour
// and a half before the scenario's end; web-2 and web-3 stay under it. Clocks are set inside that history.
import { piecewise, scenario, startPrometheus, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { WITHOUT_DEFAULT_TRIGGERS } from './watch-config.ts';

export const ALERTS_CHANNEL = 'C0ALERTS';
/** The scenario's last sample (unix seconds, on a minute). */
export const SCENARIO_END = Math.floor(Date.now() / 1000 / 60) * 60;
/** web-1 is over the threshold from here… */
export const BREACH_START = SCENARIO_END - 120 * 60;
/** …to here. */
export const BREACH_END = SCENARIO_END - 100 * 60;
/** The minutes a watcher runs a cycle at: before, through and after the breach. */
export const CYCLES: readonly number[] = Array.from({ length: 28 }, (_, index) => BREACH_START - 3 * 60 + index * 60);

export const at = (unixSeconds: number) => new Date(unixSeconds * 1000);

/** A config with the two test triggers (`load` on test_load, `users` on test_users) and charts on. */
export function chartScenarioConfig(extra = ''): string {
  return `prometheus:
  lookback: 10m
  timeout: 3s
slack:
  alerts_channel: ${ALERTS_CHANNEL}
watch:
  enabled: false
  resolve_after: 60s
charts:
  enabled: true
${extra}triggers:
${WITHOUT_DEFAULT_TRIGGERS}
  - { id: load, name: Load, severity: immediate, query: "max by (instance) (test_load)", op: ">", threshold: 0.7, for: 2m, unit: percent }
  - { id: users, name: Users online, severity: soon, query: "sum(test_users)", op: ">", threshold: 500, unit: count }
`;
}

export function startChartPrometheus(): Promise<PrometheusFixture> {
  const history = scenario({ now: SCENARIO_END, start: SCENARIO_END - 3 * 3600, stepSeconds: 15 })
    .gauge(
      'test_load',
      { instance: 'web-1' },
      piecewise([
        [-Infinity, 0.3],
        [BREACH_START, 0.9],
        [BREACH_END, 0.3],
      ]),
    )
    .gauge('test_load', { instance: 'web-2' }, 0.5)
    .gauge('test_load', { instance: 'web-3' }, (t) => 0.4 + 0.1 * Math.sin(t / 600))
    .gauge('test_users', {}, (t) => 100 + (t - (SCENARIO_END - 3 * 3600)) / 60);
  return startPrometheus({ openMetrics: history.toOpenMetrics() });
}
