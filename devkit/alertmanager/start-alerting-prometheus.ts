import { startPrometheus, type PrometheusFixture } from '../prometheus/index.ts';

export interface StartAlertingPrometheusOptions {
  /** An alerting-rules file's YAML text, e.g. what `scalebot rules` prints. */
  rules: string;
  /** `host:port` of Alertmanagers to send alerts to (AlertmanagerFixture.target). */
  alertmanagers: string[];
  /** `host:port` targets scraped as job "fixture" with honor_labels (Exporter.target). */
  scrapeTargets: string[];
  /** Scrape and rule evaluation interval; default 1. */
  intervalSeconds?: number;
  /** `--rules.alert.resend-delay` (see StartPrometheusOptions.resendDelaySeconds); Prometheus' default 1 min. */
  resendDelaySeconds?: number;
}

/** The Prometheus fixture, whose `alerts()` lists the rules' pending and firing alerts. */
export type AlertingPrometheus = PrometheusFixture;

/**
 * Debian's Prometheus evaluating `rules` over live targets and sending its alerts to real Alertmanagers: the
 * chain a team runs in production when it loads `scalebot rules` into its own Prometheus.
 */
export function startAlertingPrometheus(options: StartAlertingPrometheusOptions): Promise<AlertingPrometheus> {
  return startPrometheus({
    rules: options.rules,
    alertmanagers: options.alertmanagers,
    scrapeTargets: options.scrapeTargets,
    scrapeIntervalSeconds: options.intervalSeconds ?? 1,
    retention: '1d',
    tempDirPrefix: 'scalebot-prom-rules-',
    ...(options.resendDelaySeconds !== undefined ? { resendDelaySeconds: options.resendDelaySeconds } : {}),
  });
}
