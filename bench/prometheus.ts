// A real Prometheus on a loopback port with the fleet's history backfilled, for the bench. Unlike the test
// fixture (tests/helpers/prometheus) it backfills several files into one data directory, so that a long,
// thin history and a short, wide one each cost promtool only their own time windows.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeLoopbackPort } from '../tests/helpers/prometheus/index.ts';
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
    await run(PROMTOOL, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', file, dataDir]);
    rmSync(file);
  }
  const backfillMs = performance.now() - began;
  began = performance.now();
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freeLoopbackPort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(
      PROMETHEUS,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${dataDir}`,
        '--storage.tsdb.retention.time=100y',
        `--web.listen-address=127.0.0.1:${port}`,
        // The default of 20 concurrent queries would queue the bot's own: 12 triggers a status, several at once.
        '--query.max-concurrency=64',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-16_000)));
    const removeExitHook = onExit(() => child.kill('SIGKILL'));
    const stop = async () => {
      removeExitHook();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    };
    if (await waitReady(child, url, dataDir)) {
      return {
        url,
        pid: child.pid!,
        backfillMs,
        startMs: performance.now() - began,
        async stop() {
          await stop();
          rmSync(root, { recursive: true, force: true });
        },
      };
    }
    await stop();
    if (!/address already in use/.test(log)) throw new Error(`prometheus did not start:\n${log}`);
  }
  throw new Error('prometheus: no free port after 5 attempts');
}

async function waitReady(child: ChildProcess, url: string, dataDir: string): Promise<boolean> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const flags = await fetch(`${url}/api/v1/status/flags`, { signal: AbortSignal.timeout(1000) });
      const body = (await flags.json()) as { data?: Record<string, string> };
      const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await ready.arrayBuffer();
      if (ready.ok && body.data?.['storage.tsdb.path'] === dataDir) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-16_000)));
    child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-16_000)));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`))));
  });
}
