import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchPrometheus, type PrometheusServer } from '../../../playground/prometheus-server.ts';
import { forgetOnExit, killOnExit } from '../kill-on-exit.ts';
import { queryInstant, type VectorSample } from '../../../devkit/prometheus/query.ts';

export interface StartAlertingPrometheusOptions {
  /** An alerting-rules file's YAML text, e.g. what `scalebot rules` prints. */
  rules: string;
  /** `host:port` of Alertmanagers to send alerts to (AlertmanagerFixture.target). */
  alertmanagers: string[];
  /** `host:port` targets scraped as job "fixture" with honor_labels (Exporter.target). */
  scrapeTargets: string[];
  /** Scrape and rule evaluation interval; default 1. */
  intervalSeconds?: number;
  /**
   * `--rules.alert.resend-delay`: how often Prometheus re-sends a still-active alert to Alertmanager (its default
   * 1 min). Firing alerts are sent with endsAt = now + 4 × max(this, interval), after which Alertmanager resolves
   * them on its own if no re-send came.
   */
  resendDelaySeconds?: number;
}

export interface AlertingPrometheus {
  url: string;
  query(promql: string): Promise<VectorSample[]>;
  /** Its active alerts (GET /api/v1/alerts): pending and firing. */
  alerts(): Promise<Array<{ labels: Record<string, string>; state: 'pending' | 'firing' }>>;
  logs(): string;
  stop(): Promise<void>;
}

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? 'prometheus';

/**
 * Debian's Prometheus evaluating `rules` over live targets and sending its alerts to real Alertmanagers: the
 * chain a team runs in production when it loads `scalebot rules` into its own Prometheus.
 */
export async function startAlertingPrometheus(options: StartAlertingPrometheusOptions): Promise<AlertingPrometheus> {
  const root = mkdtempSync(join(tmpdir(), 'scalebot-prom-rules-'));
  const dataDir = join(root, 'data');
  const configFile = join(root, 'prometheus.yml');
  const rulesFile = join(root, 'rules.yml');
  const removeRoot = () => rmSync(root, { recursive: true, force: true });
  let server: PrometheusServer | undefined;
  const entry = {
    kill() {
      server?.kill();
      removeRoot();
    },
  };
  killOnExit(entry);
  try {
    writeFileSync(rulesFile, options.rules);
    const interval = `${options.intervalSeconds ?? 1}s`;
    // JSON is YAML; scrape_timeout may not exceed the interval.
    const config = {
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      rule_files: [rulesFile],
      alerting: { alertmanagers: [{ static_configs: [{ targets: options.alertmanagers }] }] },
      scrape_configs: [{ job_name: 'fixture', honor_labels: true, static_configs: [{ targets: options.scrapeTargets }] }],
    };
    writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');
    server = await launchPrometheus({
      binary: PROMETHEUS,
      configFile,
      dataDir,
      root,
      retention: '1d',
      ...(options.resendDelaySeconds !== undefined ? { extraFlags: [`--rules.alert.resend-delay=${options.resendDelaySeconds}s`] } : {}),
    });
  } catch (error) {
    removeRoot();
    forgetOnExit(entry);
    throw error;
  }
  const running = server;
  let stopped: Promise<void> | undefined;
  return {
    url: running.url,
    query: (promql) => queryInstant(running.url, promql),
    async alerts() {
      const response = await fetch(`${running.url}/api/v1/alerts`);
      const body = (await response.json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: 'pending' | 'firing' }> } };
      return body.data.alerts;
    },
    logs: running.logs,
    stop() {
      stopped ??= (async () => {
        await running.stop();
        removeRoot();
        forgetOnExit(entry);
      })();
      return stopped;
    },
  };
}
