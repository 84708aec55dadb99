// One evaluation of every trigger, taken apart: run by bench/run.ts as its own process against the bench
// Prometheus. For each round it measures
// - collectStatus as the watcher and /scale status call it (all queries at once, the bot's own client),
// - the same queries fetched raw, all at once and one at a time (Prometheus and the wire, nothing of ours),
// - our client's share (axios' JSON.parse, the zod check, the mapping) and evaluateTrigger's (pure JS),
//   one query at a time so that each is timed alone,
// - the watcher's runCycle (collectStatus plus the breach bookkeeping in SQLite) on a temp database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../bot/config.ts';
import { createWatcherMetrics } from '../bot/metrics.ts';
import { createWatcher } from '../bot/watcher.ts';
import { collectStatus } from '../core/status.ts';
import { evaluateTrigger, evaluationWindow } from '../core/triggers.ts';
import { openDatabase } from '../db/client.ts';
import { createPrometheus } from '../integrations/prometheus.ts';
import { Registry } from 'prom-client';
import { serve } from './processes.ts';

export interface CycleJob {
  readonly prometheusUrl: string;
  readonly rounds: number;
  /** Also run the watcher's runCycle (SQLite and all). */
  readonly watcher: boolean;
}

export interface QueryTiming {
  readonly trigger: string;
  readonly series: number;
  readonly bytes: number;
  /** Raw fetch of the body, alone: Prometheus plus the wire, ms. */
  readonly rawMs: number;
  /** Our client's queryRange, alone: the same plus JSON.parse, zod and mapping, ms. */
  readonly clientMs: number;
  /** evaluateTrigger on the parsed series, ms. */
  readonly evaluateMs: number;
}

export interface CycleRound {
  /** collectStatus: every query at once, as the watcher and /scale status run it. */
  readonly collectMs: number;
  /** The raw queries, all at once: what Prometheus takes for the whole set. */
  readonly rawAllMs: number;
  /** The slowest single raw query run alone. */
  readonly slowestRawMs: number;
  readonly slowestTrigger: string;
  readonly queries: QueryTiming[];
  readonly runCycleMs: number | null;
  readonly results: number;
}

const silent = pino({ level: 'silent' });

async function rawFetch(url: string): Promise<{ ms: number; bytes: number }> {
  const began = performance.now();
  const response = await fetch(url);
  const text = await response.text();
  if (!response.ok) throw new Error(`${response.status} ${text.slice(0, 200)}`);
  return { ms: performance.now() - began, bytes: text.length };
}

export async function measureCycle(job: CycleJob): Promise<CycleRound[]> {
  const config = loadConfig({ env: { PROMETHEUS_URL: job.prometheusUrl } });
  const prometheus = createPrometheus({ url: job.prometheusUrl, timeoutMs: 60_000 });
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-bench-cycle-'));
  const database = openDatabase(join(dir, 'watcher.db'));
  const watcher = createWatcher({
    db: database.db,
    config,
    prometheus,
    deliver: async () => ({ posted: 0, updated: 0, recovered: 0, errors: 0, rateLimitedUntil: null }),
    clock: () => new Date(),
    logger: silent,
    metrics: createWatcherMetrics(new Registry()),
  });
  const rounds: CycleRound[] = [];
  try {
    // One unmeasured pass warms Prometheus' caches, the JIT and the first runCycle's breach inserts.
    await collectStatus(config.triggers, prometheus, new Date(), config.prometheus.lookbackSeconds);
    if (job.watcher) await watcher.runCycle();
    for (let round = 0; round < job.rounds; round++) {
      const at = new Date();
      const atSeconds = at.getTime() / 1000;
      const urls = config.triggers.map((trigger) => {
        const { windowSeconds, stepSeconds } = evaluationWindow(trigger, config.prometheus.lookbackSeconds);
        const params = new URLSearchParams({ query: trigger.query, start: String(atSeconds - windowSeconds), end: String(atSeconds), step: String(stepSeconds) });
        return `${job.prometheusUrl}/api/v1/query_range?${params}`;
      });

      let began = performance.now();
      const report = await collectStatus(config.triggers, prometheus, at, config.prometheus.lookbackSeconds);
      const collectMs = performance.now() - began;
      if (report.failure) throw new Error(`collectStatus failed: ${report.failure}`);

      began = performance.now();
      await Promise.all(urls.map(rawFetch));
      const rawAllMs = performance.now() - began;

      const queries: QueryTiming[] = [];
      for (const [index, trigger] of config.triggers.entries()) {
        const { windowSeconds, stepSeconds } = evaluationWindow(trigger, config.prometheus.lookbackSeconds);
        const raw = await rawFetch(urls[index]!);
        began = performance.now();
        const series = await prometheus.queryRange(trigger.query, atSeconds - windowSeconds, atSeconds, stepSeconds);
        const clientMs = performance.now() - began;
        began = performance.now();
        evaluateTrigger(trigger, series, atSeconds, stepSeconds, windowSeconds);
        const evaluateMs = performance.now() - began;
        queries.push({ trigger: trigger.id, series: series.length, bytes: raw.bytes, rawMs: raw.ms, clientMs, evaluateMs });
      }
      const slowest = queries.reduce((a, b) => (b.rawMs > a.rawMs ? b : a));

      let runCycleMs: number | null = null;
      if (job.watcher) {
        began = performance.now();
        await watcher.runCycle();
        runCycleMs = performance.now() - began;
      }
      rounds.push({ collectMs, rawAllMs, slowestRawMs: slowest.rawMs, slowestTrigger: slowest.trigger, queries, runCycleMs, results: report.results.length });
    }
  } finally {
    database.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rounds;
}

if (process.send) {
  serve(async (message) => {
    if (message.type === 'cycle') return measureCycle(message.job as CycleJob);
    throw new Error(`cycle: unknown message ${message.type}`);
  });
}
