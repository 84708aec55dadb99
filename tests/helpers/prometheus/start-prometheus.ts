import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from './loopback.ts';
import { queryInstant, queryRange, type RangeSeries, type VectorSample } from './query.ts';
import { forgetOnExit, killOnExit } from '../kill-on-exit.ts';

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
const BIND_ATTEMPTS = 5;
const LOG_LIMIT = 64 * 1024;

export async function startPrometheus(options: StartPrometheusOptions = {}): Promise<PrometheusFixture> {
  const root = mkdtempSync(join(tmpdir(), 'scalebot-prom-'));
  const dataDir = join(root, 'data');
  const configFile = join(root, 'prometheus.yml');
  const removeRoot = () => rmSync(root, { recursive: true, force: true });
  let server: Server | undefined;
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
      await run(PROMTOOL, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', input, dataDir]);
      rmSync(input);
      backfillMs = performance.now() - began;
    }

    const began = performance.now();
    for (let attempt = 1; ; attempt++) {
      const port = await freeLoopbackPort();
      const url = `http://127.0.0.1:${port}`;
      const launched = launch(port, root, dataDir, configFile, options.retention ?? '100y');
      server = launched;
      const outcome = await waitReady(launched, url, dataDir, options.readyTimeoutMs ?? 20_000);
      if (outcome === 'ready') {
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
      }
      await launched.stop();
      server = undefined;
      if (outcome === 'address-in-use' && attempt < BIND_ATTEMPTS) continue;
      throw new Error(`prometheus did not become ready (${outcome}):\n${launched.logs()}`);
    }
  } catch (error) {
    await server?.stop();
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

interface Server {
  child: ChildProcess;
  exited: Promise<void>;
  logs(): string;
  kill(): void;
  stop(): Promise<void>;
}

function launch(port: number, root: string, dataDir: string, configFile: string, retention: string): Server {
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--storage.tsdb.retention.time=${retention}`,
      `--web.listen-address=127.0.0.1:${port}`,
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
  // A worker killed outright never runs 'exit' hooks. This shell holds the read end of a pipe that only we
  // write to; when our process dies, however it dies, the read returns and the shell kills the server and
  // removes its directory.
  const watchdog =
    child.pid === undefined
      ? undefined
      : spawn(
          'sh',
          ['-c', 'read -r _ignored; kill -9 "$1" 2>/dev/null; rm -rf "$2"', 'prometheus-watchdog', String(child.pid), root],
          { stdio: ['pipe', 'ignore', 'ignore'] },
        );
  for (const handle of [child, child.stdout, child.stderr, watchdog, watchdog?.stdin]) {
    (handle as { unref?: () => void } | null | undefined)?.unref?.();
  }
  const kill = () => {
    // The watchdog goes first so that it can never signal a pid that has been reaped and reused.
    watchdog?.kill('SIGKILL');
    child.kill('SIGKILL');
  };
  return {
    child,
    exited,
    logs: () => log,
    kill,
    async stop() {
      // Handles are unref'd so a forgotten fixture cannot hold a worker open; while stopping, wait for real.
      child.ref();
      kill();
      await exited;
    },
  };
}

type ReadyOutcome = 'ready' | 'address-in-use' | 'exited' | 'timeout';

async function waitReady(server: Server, url: string, dataDir: string, timeoutMs: number): Promise<ReadyOutcome> {
  let exited = false;
  void server.exited.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) return /address already in use/.test(server.logs()) ? 'address-in-use' : 'exited';
    try {
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      // The port may have been taken by someone else's server between our probe and our bind (two workers
      // start servers at once): only ours reports our data directory.
      if (response.ok && (await servesDataDir(url, dataDir))) return 'ready';
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return 'timeout';
}

async function servesDataDir(url: string, dataDir: string): Promise<boolean> {
  const response = await fetch(`${url}/api/v1/status/flags`, { signal: AbortSignal.timeout(1000) });
  const body = (await response.json()) as { data?: Record<string, string> };
  return body.data?.['storage.tsdb.path'] === dataDir;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`)),
    );
  });
}
