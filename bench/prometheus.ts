// A real Prometheus on a loopback port with the fleet's history backfilled, for the bench. Unlike the test
// fixture (devkit/prometheus) it backfills several files into one data directory, so that a long,
// thin history and a short, wide one each cost promtool only their own time windows.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backfillOpenMetrics, launchPrometheus } from '../playground/prometheus-server.ts';
import { onExit } from './processes.ts';

export interface BenchPrometheus {
  readonly url: string;
  readonly pid: number;
  readonly backfillMs: number;
  readonly startMs: number;
  stop(): Promise<void>;
}

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? 'prometheus';
const PROMTOOL = process.env.PROMTOOL_BIN ?? 'promtool';

export async function startBenchPrometheus(root: string, files: readonly string[]): Promise<BenchPrometheus> {
  const dataDir = join(root, 'data');
  mkdirSync(dataDir, { recursive: true });
  const configFile = join(root, 'prometheus.yml');
  writeFileSync(configFile, 'global:\n  scrape_interval: 15s\n');
  let began = performance.now();
  for (const file of files) {
    await backfillOpenMetrics(PROMTOOL, file, dataDir);
    rmSync(file);
  }
  const backfillMs = performance.now() - began;
  began = performance.now();
  const server = await launchPrometheus({
    binary: PROMETHEUS,
    configFile,
    dataDir,
    root,
    retention: '100y',
    // The default of 20 concurrent queries would queue the bot's own: 12 triggers a status, several at once.
    extraFlags: ['--query.max-concurrency=64'],
    readyTimeoutMs: 60_000,
  });
  const removeExitHook = onExit(() => server.kill());
  return {
    url: server.url,
    pid: server.pid,
    backfillMs,
    startMs: performance.now() - began,
    async stop() {
      removeExitHook();
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
