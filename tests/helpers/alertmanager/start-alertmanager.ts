import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from '../../../playground/loopback.ts';
import { forgetOnExit, killOnExit } from '../kill-on-exit.ts';

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
const BIND_ATTEMPTS = 5;
const LOG_LIMIT = 64 * 1024;

/**
 * Debian's Alertmanager (0.25) on a free 127.0.0.1 port with its own config and storage dir, gossip off
 * (`--cluster.listen-address=` empty), one receiver whose webhooks are `options.webhooks`. Killed by stop(),
 * by the process-exit hook, and by a watchdog shell if the test process is SIGKILLed.
 */
export async function startAlertmanager(options: StartAlertmanagerOptions): Promise<AlertmanagerFixture> {
  const root = mkdtempSync(join(tmpdir(), 'scalebot-am-'));
  const configFile = join(root, 'alertmanager.yml');
  // The bearer token is in this file: only we may read it.
  writeFileSync(configFile, renderConfig(options), { mode: 0o600 });
  const removeRoot = () => rmSync(root, { recursive: true, force: true });
  let server: Launched | undefined;
  const entry = {
    kill() {
      server?.kill();
      removeRoot();
    },
  };
  killOnExit(entry);
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freeLoopbackPort();
      const launched = launch(configFile, join(root, 'data'), root, port);
      server = launched;
      const outcome = await waitReady(launched, options.readyTimeoutMs ?? 20_000);
      if (outcome === 'ready') break;
      await launched.stop();
      if (outcome === 'address-in-use' && attempt < BIND_ATTEMPTS) continue;
      throw new Error(`alertmanager did not become ready (${outcome}):\n${launched.logs()}`);
    }
  } catch (error) {
    removeRoot();
    forgetOnExit(entry);
    throw error;
  }
  const running = server;
  let stopped: Promise<void> | undefined;
  return {
    url: running.url,
    target: running.url.replace('http://', ''),
    receiver: RECEIVER,
    async metric(name, labels = {}) {
      const response = await fetch(`${running.url}/metrics`);
      return sumSeries(await response.text(), name, labels);
    },
    async alerts() {
      const response = await fetch(`${running.url}/api/v2/alerts`);
      return (await response.json()) as Array<{ labels: Record<string, string>; status: { state: string } }>;
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
  return JSON.stringify(config, null, 2) + '\n';
}

interface Launched {
  readonly url: string;
  readonly exited: Promise<void>;
  logs(): string;
  kill(): void;
  stop(): Promise<void>;
}

function launch(configFile: string, storageDir: string, root: string, port: number): Launched {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    ALERTMANAGER,
    [
      `--config.file=${configFile}`,
      `--storage.path=${storageDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${url}`,
      // Empty: no gossip, no cluster port, no peers to wait for before the first notification.
      '--cluster.listen-address=',
      '--log.level=info',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const append = (chunk: Buffer) => {
    log += chunk.toString();
    if (log.length > LOG_LIMIT) log = log.slice(-LOG_LIMIT);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      append(Buffer.from(`spawn failed: ${error.message}\n`));
      resolve();
    });
  });
  // Holds the read end of a pipe only we write to: when this process dies, however, it kills the server and
  // removes its directory (as playground/prometheus-server.ts does for Prometheus).
  const watchdog =
    child.pid === undefined
      ? undefined
      : spawn('sh', ['-c', 'read -r _ignored; kill -9 "$1" 2>/dev/null; rm -rf "$2"', 'alertmanager-watchdog', String(child.pid), root], {
          stdio: ['pipe', 'ignore', 'ignore'],
        });
  for (const handle of [child, child.stdout, child.stderr, watchdog, watchdog?.stdin]) {
    (handle as { unref?: () => void } | null | undefined)?.unref?.();
  }
  const kill = () => {
    // The watchdog first, so that it can never signal a reaped and reused pid.
    watchdog?.kill('SIGKILL');
    child.kill('SIGKILL');
  };
  return {
    url,
    exited,
    logs: () => log,
    kill,
    async stop() {
      child.ref();
      kill();
      await exited;
    },
  };
}

async function waitReady(server: Launched, timeoutMs: number): Promise<'ready' | 'address-in-use' | 'exited' | 'timeout'> {
  let exited = false;
  void server.exited.then(() => (exited = true));
  const listening = `msg="Listening on" address=${server.url.replace('http://', '')}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) return /address already in use/.test(server.logs()) ? 'address-in-use' : 'exited';
    // Our process says it bound the port and is still alive: whoever answers there is ours.
    if (server.logs().includes(listening)) {
      try {
        const response = await fetch(`${server.url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        if (response.ok && !exited) return 'ready';
      } catch {
        // not answering yet
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return 'timeout';
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
