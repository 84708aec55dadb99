// The one way the playground's demo, the tests and the bench start a real Prometheus: see README.md here.
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchServer } from '../server-process.ts';
import { queryInstant, queryRange, type RangeSeries, type VectorSample } from './query.ts';

export interface StartPrometheusOptions {
  /** OpenMetrics text (see buildOpenMetrics / scenario) backfilled with promtool before the server starts. */
  openMetrics?: string;
  /**
   * OpenMetrics files backfilled one after another, each deleted once it is in: promtool re-reads a file for
   * every 2 h window it spans, so a long, thin history and a short, wide one cost less apart (the bench's fleet).
   */
  backfillFiles?: readonly string[];
  /** `host:port` targets scraped with honor_labels, so exported `instance` labels survive. */
  scrapeTargets?: string[];
  /** The scrape job's name, its `job` label; default "fixture". */
  scrapeJob?: string;
  /** Scrape and rule evaluation interval. Default 1 when targets are given, else 15. */
  scrapeIntervalSeconds?: number;
  /** An alerting-rules file's YAML text (e.g. what `scalebot rules` prints), evaluated every interval. */
  rules?: string;
  /** `host:port` of Alertmanagers its alerts are sent to. */
  alertmanagers?: string[];
  /**
   * `--rules.alert.resend-delay`: how often a still-active alert is sent again (Prometheus' default 1 min).
   * Firing alerts are sent with endsAt = now + 4 × max(this, interval), after which Alertmanager resolves
   * them on its own if no re-send came.
   */
  resendDelaySeconds?: number;
  /** `--query.max-concurrency` (Prometheus' default 20). */
  maxQueryConcurrency?: number;
  /** `--storage.tsdb.retention.time`; long by default so backfilled history is never dropped. */
  retention?: string;
  /** Milliseconds to wait for /-/ready; default 20 000. */
  readyTimeoutMs?: number;
  /** Default PROMETHEUS_BIN, else `prometheus` on the PATH. */
  binary?: string;
  /** The start of its temp dir's name (config, rules, data); default "scalebot-prom-". */
  tempDirPrefix?: string;
}

export interface PrometheusFixture {
  /** `http://127.0.0.1:PORT`, the base URL the bot's Prometheus client is given. */
  url: string;
  pid: number;
  dataDir: string;
  /** Where the time went, in milliseconds. */
  timings: { backfillMs: number; startMs: number };
  /** Instant query; `timeSec` (Unix seconds) makes the answer deterministic. Scalars come back as one sample. */
  query(promql: string, timeSec?: number): Promise<VectorSample[]>;
  queryRange(promql: string, startSec: number, endSec: number, stepSec: number): Promise<RangeSeries[]>;
  /** The active alerts of its `rules` (GET /api/v1/alerts): pending and firing. */
  alerts(): Promise<Array<{ labels: Record<string, string>; state: 'pending' | 'firing' }>>;
  /** The server's own log so far (stderr), for failure messages. */
  logs(): string;
  /** Kills it and removes its temp dir. */
  stop(): Promise<void>;
}

const PROMTOOL = process.env.PROMTOOL_BIN ?? 'promtool';

export async function startPrometheus(options: StartPrometheusOptions = {}): Promise<PrometheusFixture> {
  let backfillMs = 0;
  let preparedAt = 0;
  const server = await launchServer({
    name: 'prometheus',
    binary: options.binary ?? process.env.PROMETHEUS_BIN ?? 'prometheus',
    tempDirPrefix: options.tempDirPrefix ?? 'scalebot-prom-',
    async prepare(dir) {
      const rulesFile = join(dir, 'rules.yml');
      if (options.rules !== undefined) writeFileSync(rulesFile, options.rules);
      writeFileSync(join(dir, 'prometheus.yml'), renderConfig(options, options.rules !== undefined ? rulesFile : undefined));
      const began = performance.now();
      const files = [...(options.backfillFiles ?? [])];
      if (options.openMetrics !== undefined) {
        files.push(join(dir, 'backfill.om'));
        writeFileSync(files.at(-1)!, options.openMetrics);
      }
      for (const file of files) {
        await backfillOpenMetrics(file, join(dir, 'data'));
        rmSync(file);
      }
      if (files.length > 0) backfillMs = performance.now() - began;
      preparedAt = performance.now();
    },
    args: (port, dir) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--storage.tsdb.retention.time=${options.retention ?? '100y'}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(options.resendDelaySeconds !== undefined ? [`--rules.alert.resend-delay=${options.resendDelaySeconds}s`] : []),
      ...(options.maxQueryConcurrency !== undefined ? [`--query.max-concurrency=${options.maxQueryConcurrency}`] : []),
    ],
    // Ready, and ours: only ours reports our data directory.
    isReady: async ({ url, dir }) => (await answersReady(url)) && (await servesDataDir(url, join(dir, 'data'))),
    ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
  });
  const { url } = server;
  return {
    url,
    pid: server.pid,
    dataDir: join(server.dir, 'data'),
    timings: { backfillMs, startMs: performance.now() - preparedAt },
    query: (promql, timeSec) => queryInstant(url, promql, timeSec),
    queryRange: (promql, start, end, step) => queryRange(url, promql, start, end, step),
    async alerts() {
      const response = await fetch(`${url}/api/v1/alerts`);
      const body = (await response.json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: 'pending' | 'firing' }> } };
      return body.data.alerts;
    },
    logs: server.logs,
    stop: server.stop,
  };
}

function renderConfig(options: StartPrometheusOptions, rulesFile: string | undefined): string {
  const interval = `${options.scrapeIntervalSeconds ?? (options.scrapeTargets?.length ? 1 : 15)}s`;
  // JSON is YAML; scrape_timeout may not exceed the interval, so it is pinned to it.
  const config: Record<string, unknown> = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
  };
  if (rulesFile) config.rule_files = [rulesFile];
  if (options.alertmanagers?.length) {
    config.alerting = { alertmanagers: [{ static_configs: [{ targets: options.alertmanagers }] }] };
  }
  if (options.scrapeTargets?.length) {
    config.scrape_configs = [{ job_name: options.scrapeJob ?? 'fixture', honor_labels: true, static_configs: [{ targets: options.scrapeTargets }] }];
  }
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** GET /-/ready answers 200 (a connection refused throws: not listening yet). */
export async function answersReady(url: string): Promise<boolean> {
  const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
  await response.arrayBuffer();
  return response.ok;
}

async function servesDataDir(url: string, dataDir: string): Promise<boolean> {
  const response = await fetch(`${url}/api/v1/status/flags`, { signal: AbortSignal.timeout(1000) });
  const body = (await response.json()) as { data?: Record<string, string> };
  return body.data?.['storage.tsdb.path'] === dataDir;
}

/** `promtool tsdb create-blocks-from openmetrics`: `file`'s samples written as blocks into `dataDir`. */
function backfillOpenMetrics(file: string, dataDir: string): Promise<void> {
  const args = ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', file, dataDir];
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const append = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-64 * 1024));
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${PROMTOOL} ${args.join(' ')} exited with ${code}:\n${output}`))));
  });
}
