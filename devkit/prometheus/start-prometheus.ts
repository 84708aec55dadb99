import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backfillOpenMetrics, launchPrometheus, type PrometheusServer } from '../../playground/prometheus-server.ts';
import { queryInstant, queryRange, type RangeSeries, type VectorSample } from './query.ts';
import { forgetOnExit, killOnExit } from '../../tests/helpers/kill-on-exit.ts';

export interface StartPrometheusOptions {
  /** OpenMetrics text (see buildOpenMetrics / scenario) backfilled with promtool before the server starts. */
  openMetrics?: string;
  /** `host:port` targets scraped as job "fixture" with honor_labels, so exported `instance` labels survive. */
  scrapeTargets?: string[];
  /** Default 1 when targets are given. */
  scrapeIntervalSeconds?: number;
  /** `--storage.tsdb.retention.time`; long by default so backfilled history is never dropped. */
  retention?: string;
  /** Milliseconds to wait for /-/ready; default 20 000. */
  readyTimeoutMs?: number;
}

export interface PrometheusFixture {
  /** `http://127.0.0.1:PORT`, the base URL the bot's Prometheus client is given. */
  url: string;
  dataDir: string;
  /** Where the time went, in milliseconds. */
  timings: { backfillMs: number; startMs: number };
  /** Instant query; `timeSec` (Unix seconds) makes the answer deterministic. Scalars come back as one sample. */
  query(promql: string, timeSec?: number): Promise<VectorSample[]>;
  queryRange(promql: string, startSec: number, endSec: number, stepSec: number): Promise<RangeSeries[]>;
  /** The server's own log so far (stderr), for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? 'prometheus';
const PROMTOOL = process.env.PROMTOOL_BIN ?? 'promtool';

export async function startPrometheus(options: StartPrometheusOptions = {}): Promise<PrometheusFixture> {
  const root = mkdtempSync(join(tmpdir(), 'scalebot-prom-'));
  const dataDir = join(root, 'data');
  const configFile = join(root, 'prometheus.yml');
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
    writeFileSync(configFile, renderConfig(options));

    let backfillMs = 0;
    if (options.openMetrics !== undefined) {
      const began = performance.now();
      const input = join(root, 'backfill.om');
      writeFileSync(input, options.openMetrics);
      await backfillOpenMetrics(PROMTOOL, input, dataDir);
      rmSync(input);
      backfillMs = performance.now() - began;
    }

    const began = performance.now();
    const launched = await launchPrometheus({
      binary: PROMETHEUS,
      configFile,
      dataDir,
      root,
      retention: options.retention ?? '100y',
      ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
    });
    server = launched;
    const { url } = launched;
    let stopped: Promise<void> | undefined;
    return {
      url,
      dataDir,
      timings: { backfillMs, startMs: performance.now() - began },
      query: (promql, timeSec) => queryInstant(url, promql, timeSec),
      queryRange: (promql, start, end, step) => queryRange(url, promql, start, end, step),
      logs: launched.logs,
      stop() {
        stopped ??= (async () => {
          await launched.stop();
          removeRoot();
          forgetOnExit(entry);
        })();
        return stopped;
      },
    };
  } catch (error) {
    removeRoot();
    forgetOnExit(entry);
    throw error;
  }
}

function renderConfig(options: StartPrometheusOptions): string {
  const interval = `${options.scrapeIntervalSeconds ?? (options.scrapeTargets?.length ? 1 : 15)}s`;
  // JSON is YAML; scrape_timeout may not exceed the interval, so it is pinned to it.
  const config: Record<string, unknown> = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
  };
  if (options.scrapeTargets?.length) {
    config.scrape_configs = [
      { job_name: 'fixture', honor_labels: true, static_configs: [{ targets: options.scrapeTargets }] },
    ];
  }
  return JSON.stringify(config, null, 2) + '\n';
}
