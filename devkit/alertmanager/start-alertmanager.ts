import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answersReady } from '../prometheus/start-prometheus.ts';
import { launchServer } from '../server-process.ts';

export interface WebhookReceiver {
  /** Where Alertmanager POSTs, e.g. `${bot.url}/alertmanager`. */
  url: string;
  /** Sent as `Authorization: Bearer <token>` (http_config.authorization), as a deployment sets ALERTMANAGER_TOKEN. */
  bearerToken?: string;
  /** `max_alerts` of the webhook config; 0 (Alertmanager's default) sends every alert of a group. */
  maxAlerts?: number;
}

export interface StartAlertmanagerOptions {
  /** Every one is a webhook_config of the single receiver: each gets every notification. */
  webhooks: WebhookReceiver[];
  /** The route's timings, in seconds; short defaults so that tests see notifications within seconds. */
  groupWaitSeconds?: number;
  groupIntervalSeconds?: number;
  repeatIntervalSeconds?: number;
  groupBy?: string[];
  /** Milliseconds to wait for /-/ready; default 20 000. */
  readyTimeoutMs?: number;
}

export interface AlertmanagerFixture {
  /** `http://127.0.0.1:PORT`: also the `externalURL` its payloads carry. */
  url: string;
  /** `127.0.0.1:PORT`, for Prometheus' `alerting.alertmanagers[].static_configs[].targets`. */
  target: string;
  /** The receiver's name, as payloads carry it in `receiver`. */
  receiver: string;
  /** The sum of a counter or gauge of its /metrics over every series matching `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** The alerts it holds now (GET /api/v2/alerts). */
  alerts(): Promise<Array<{ labels: Record<string, string>; status: { state: string } }>>;
  /** Its own log so far (stderr), for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

const ALERTMANAGER = process.env.ALERTMANAGER_BIN ?? 'prometheus-alertmanager';
const RECEIVER = 'scalebot';

/**
 * Debian's Alertmanager (0.25) on a free 127.0.0.1 port with its own config and storage dir, gossip off
 * (`--cluster.listen-address=` empty), one receiver whose webhooks are `options.webhooks`. Started, stopped and
 * cleaned up after like every devkit server (../server-process.ts).
 */
export async function startAlertmanager(options: StartAlertmanagerOptions): Promise<AlertmanagerFixture> {
  const server = await launchServer({
    name: 'alertmanager',
    binary: ALERTMANAGER,
    tempDirPrefix: 'scalebot-am-',
    // The bearer token is in this file: only we may read it.
    prepare: (dir) => writeFileSync(join(dir, 'alertmanager.yml'), renderConfig(options), { mode: 0o600 }),
    args: (port, dir) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=http://127.0.0.1:${port}`,
      // Empty: no gossip, no cluster port, no peers to wait for before the first notification.
      '--cluster.listen-address=',
      '--log.level=info',
    ],
    // Our process says it bound the port and is still alive: whoever answers there is ours.
    isReady: async ({ port, url, logs }) => logs().includes(`msg="Listening on" address=127.0.0.1:${port}`) && (await answersReady(url)),
    ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
  });
  const { url } = server;
  return {
    url,
    target: url.replace('http://', ''),
    receiver: RECEIVER,
    async metric(name, labels = {}) {
      const response = await fetch(`${url}/metrics`);
      return sumSeries(await response.text(), name, labels);
    },
    async alerts() {
      const response = await fetch(`${url}/api/v2/alerts`);
      return (await response.json()) as Array<{ labels: Record<string, string>; status: { state: string } }>;
    },
    logs: server.logs,
    stop: server.stop,
  };
}

function renderConfig(options: StartAlertmanagerOptions): string {
  const seconds = (value: number) => `${value}s`;
  // JSON is YAML.
  const config = {
    route: {
      receiver: RECEIVER,
      group_by: options.groupBy ?? ['alertname'],
      group_wait: seconds(options.groupWaitSeconds ?? 1),
      group_interval: seconds(options.groupIntervalSeconds ?? 1),
      repeat_interval: seconds(options.repeatIntervalSeconds ?? 2),
    },
    receivers: [
      {
        name: RECEIVER,
        webhook_configs: options.webhooks.map((webhook) => ({
          url: webhook.url,
          send_resolved: true,
          max_alerts: webhook.maxAlerts ?? 0,
          ...(webhook.bearerToken ? { http_config: { authorization: { type: 'Bearer', credentials: webhook.bearerToken } } } : {}),
        })),
      },
    ],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Sums the samples of `name` in Prometheus text exposition whose labels include `labels`. */
export function sumSeries(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) sum += Number(match[3]);
  }
  return sum;
}
