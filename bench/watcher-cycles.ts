// The watcher as it runs in the bot, cycle after cycle, in a process of its own (one per fleet size, so that
// its RSS is this size's): the bot's own Prometheus client (createOffThreadPrometheus: the worker thread, and
// whatever it keeps between evaluations to ask only what is new) under services/watcher.ts's runCycle with an
// alerts channel set (Slack itself left out: the outbox keeps the rows). Time advances as a real watcher's does:
// cycle k evaluates at `startAt + k × interval`, inside the fleet's data. For each cycle: the wall time,
// Prometheus' CPU (process_cpu_seconds_total on its /metrics, before and after), this process' CPU (main
// thread and worker), its RSS after the cycle and at peak (VmHWM), and the queries Prometheus logged.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../bot/config.ts';
import { openDatabase } from '../db/client.ts';
import { createSqliteStorage } from '../db/storage.ts';
import { createOffThreadPrometheus } from '../integrations/prometheus-off-thread.ts';
import { createWatcher, UNCOUNTED } from '../services/watcher.ts';
import { serve } from './processes.ts';
import { describeQueries, parseQueryLogLine, prometheusCpuMs } from './query-log.ts';

export interface WatcherCyclesJob {
  readonly prometheusUrl: string;
  /** Unix seconds of the first cycle; the fleet's data must reach startAt + (cycles − 1) × intervalSeconds. */
  readonly startAt: number;
  readonly intervalSeconds: number;
  readonly cycles: number;
  /** Prometheus' query log (bench/query-log.ts), to count what each cycle asked. */
  readonly queryLogFile: string | null;
  /** Each query's timeout: long, so that a slow cycle is measured rather than cut short into "no data". */
  readonly timeoutMs: number;
}

export interface WatcherCycle {
  readonly at: number;
  readonly wallMs: number;
  readonly prometheusCpuMs: number;
  /** This process, main thread and the Prometheus worker thread together. */
  readonly ownCpuMs: number;
  readonly rssBytes: number;
  readonly peakRssBytes: number;
  readonly blind: boolean;
  readonly open: number;
  readonly queries: number;
  readonly instantQueries: number;
  readonly longestRangeSeconds: number;
}

function peakRss(): number {
  const match = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

function logSize(file: string | null): number {
  if (!file) return 0;
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

export async function runWatcherCycles(job: WatcherCyclesJob): Promise<WatcherCycle[]> {
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-bench-watcher-'));
  const configFile = join(dir, 'scalebot.yaml');
  writeFileSync(configFile, `slack:\n  alerts_channel: C0BENCH001\nwatch:\n  interval: ${job.intervalSeconds}s\n`);
  const config = loadConfig({ file: configFile, env: { PROMETHEUS_URL: job.prometheusUrl } });
  const prometheus = createOffThreadPrometheus({ url: job.prometheusUrl, timeoutMs: job.timeoutMs });
  const database = openDatabase(join(dir, 'watcher.db'));
  let at = job.startAt;
  const watcher = createWatcher({
    storage: createSqliteStorage(database),
    config,
    prometheus,
    deliver: async () => ({ posted: 0, updated: 0, recovered: 0, errors: 0, rateLimitedUntil: null }),
    clock: () => new Date(at * 1000),
    logger: pino({ level: 'silent' }),
    metrics: UNCOUNTED,
  });
  const cycles: WatcherCycle[] = [];
  try {
    for (let k = 0; k < job.cycles; k++) {
      at = job.startAt + k * job.intervalSeconds;
      const logMark = logSize(job.queryLogFile);
      const prometheusCpu = await prometheusCpuMs(job.prometheusUrl);
      const ownCpu = process.cpuUsage();
      const began = performance.now();
      const summary = await watcher.runCycle();
      const wallMs = performance.now() - began;
      const own = process.cpuUsage(ownCpu);
      const prometheusCpuAfter = await prometheusCpuMs(job.prometheusUrl);
      const logged = job.queryLogFile
        ? readFileSync(job.queryLogFile)
            .subarray(logMark)
            .toString('utf8')
            .split('\n')
            .map(parseQueryLogLine)
            .filter((entry) => entry !== null)
        : [];
      const described = describeQueries(logged);
      cycles.push({
        at,
        wallMs,
        prometheusCpuMs: prometheusCpuAfter - prometheusCpu,
        ownCpuMs: (own.user + own.system) / 1000,
        rssBytes: process.memoryUsage().rss,
        peakRssBytes: peakRss(),
        blind: summary.blind,
        open: summary.open,
        queries: described.count,
        instantQueries: described.instants,
        longestRangeSeconds: described.longestRangeSeconds,
      });
    }
  } finally {
    await prometheus.close();
    database.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return cycles;
}

if (process.send) {
  serve(async (message) => {
    if (message.type === 'watcher-cycles') return runWatcherCycles(message.job as WatcherCyclesJob);
    throw new Error(`watcher-cycles: unknown message ${message.type}`);
  });
}
