// One evaluation of every trigger, taken apart: run by bench/run.ts as its own process against the bench
// Prometheus. For each round it measures
// - collectStatus as the watcher and /scale status call it (all queries at once, the bot's own client),
// - the same queries fetched raw, all at once and one at a time (Prometheus and the wire, nothing of ours),
// - our client's share (axios' JSON.parse, the zod check, the mapping) and evaluateTrigger's (pure JS),
//   one query at a time so that each is timed alone,
// - the watcher's runCycle (collectStatus plus the breach bookkeeping in SQLite) on a temp database.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../bot/config.ts';
import { createWatcher, UNCOUNTED } from '../services/watcher.ts';
import type { PrometheusPort } from '../core/ports.ts';
import { collectStatus, judgeTriggers } from '../core/status.ts';
import { evaluateTrigger, evaluationWindow } from '../core/triggers.ts';
import { openDatabase } from '../db/client.ts';
import { createSqliteStorage } from '../db/storage.ts';
import { createPrometheus } from '../integrations/prometheus.ts';
import { cpuMsOf, triggerQueryUrls } from './measure-status.ts';
import { serve } from './processes.ts';

export interface CycleJob {
  readonly prometheusUrl: string;
  /** For the CPU Prometheus spends on one evaluation (/proc). */
  readonly prometheusPid: number;
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
  /** CPU Prometheus and this process spent on that collectStatus, ms (10 ms ticks). */
  readonly collectPrometheusCpuMs: number;
  readonly collectOwnCpuMs: number;
  /** The raw queries, all at once: what Prometheus takes for the whole set. */
  readonly rawAllMs: number;
  /** The slowest single raw query run alone. */
  readonly slowestRawMs: number;
  readonly slowestTrigger: string;
  readonly queries: QueryTiming[];
  readonly runCycleMs: number | null;
  /** runCycle minus its queries: evaluation of the answers, breach bookkeeping in SQLite, the outbox. */
  readonly bookkeepingMs: number | null;
  /** Breaches open after the cycle. */
  readonly openBreaches: number | null;
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
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-bench-cycle-'));
  // With an alerts channel, as in production: every open breach's message is re-rendered into the outbox each
  // cycle. The delivery itself (Slack) is left out: the outbox keeps the rows.
  const configFile = join(dir, 'scalebot.yaml');
  writeFileSync(configFile, 'slack:\n  alerts_channel: C0BENCH001\n');
  const config = loadConfig({ file: configFile, env: { PROMETHEUS_URL: job.prometheusUrl } });
  const prometheus = createPrometheus({ url: job.prometheusUrl, timeoutMs: 60_000 });
  const database = openDatabase(join(dir, 'watcher.db'));
  // The watcher's queries go through a stopwatch, so that runCycle's own bookkeeping (SQLite, the outbox) can be
  // told apart from its evaluation: from the first query out to the last answer in.
  let firstQueryAt = 0;
  let lastAnswerAt = 0;
  const timedPrometheus: Pick<PrometheusPort, 'judgeTriggers' | 'queryRange'> = {
    judgeTriggers: (triggers, at, lookbackSeconds) => judgeTriggers(triggers, timedPrometheus, at, lookbackSeconds),
    async queryRange(query: string, start: number, end: number, step: number) {
      if (firstQueryAt === 0) firstQueryAt = performance.now();
      try {
        return await prometheus.queryRange(query, start, end, step);
      } finally {
        lastAnswerAt = performance.now();
      }
    },
  };
  const watcher = createWatcher({
    storage: createSqliteStorage(database),
    config,
    prometheus: timedPrometheus,
    deliver: async () => ({ posted: 0, updated: 0, recovered: 0, errors: 0, rateLimitedUntil: null }),
    clock: () => new Date(),
    logger: silent,
    metrics: UNCOUNTED,
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
        const params = new URLSearchParams({
          query: trigger.query,
          start: String(atSeconds - windowSeconds),
          end: String(atSeconds),
          step: String(stepSeconds),
        });
        return `${job.prometheusUrl}/api/v1/query_range?${params}`;
      });

      const prometheusCpu = cpuMsOf(job.prometheusPid);
      const ownCpu = process.cpuUsage();
      let began = performance.now();
      // A client of its own for each round: one that keeps what it read would ask only what is new, and this
      // table is the full evaluation (bench/watcher-cycles.ts measures the cycles that follow the first).
      const report = await collectStatus(
        config.triggers,
        createPrometheus({ url: job.prometheusUrl, timeoutMs: 60_000 }),
        at,
        config.prometheus.lookbackSeconds,
      );
      const collectMs = performance.now() - began;
      const collectPrometheusCpuMs = cpuMsOf(job.prometheusPid) - prometheusCpu;
      const ownUsage = process.cpuUsage(ownCpu);
      const collectOwnCpuMs = (ownUsage.user + ownUsage.system) / 1000;
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
      let openBreaches: number | null = null;
      let bookkeepingMs: number | null = null;
      if (job.watcher) {
        firstQueryAt = 0;
        began = performance.now();
        const summary = await watcher.runCycle();
        runCycleMs = performance.now() - began;
        bookkeepingMs = runCycleMs - (lastAnswerAt - firstQueryAt);
        openBreaches = summary.open;
      }
      rounds.push({
        collectMs,
        collectPrometheusCpuMs,
        collectOwnCpuMs,
        rawAllMs,
        slowestRawMs: slowest.rawMs,
        slowestTrigger: slowest.trigger,
        queries,
        runCycleMs,
        bookkeepingMs,
        openBreaches,
        results: report.results.length,
      });
    }
  } finally {
    database.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rounds;
}

/**
 * Keeps Prometheus as busy as a bot answering status after status: the 12 trigger queries, all at once, again
 * and again until stopped. The control for the ack bench: the bare app with this beside it shows how much of
 * the bot's ack latency is the machine's CPU going to Prometheus rather than anything in the bot.
 */
let churning: { state: { stop: boolean }; done: Promise<number> } | null = null;

async function churn(prometheusUrl: string, state: { stop: boolean }): Promise<number> {
  let evaluations = 0;
  const deadline = Date.now() + 120_000;
  while (!state.stop && Date.now() < deadline) {
    await Promise.all(triggerQueryUrls(prometheusUrl, Date.now() / 1000).map(async ({ url }) => (await fetch(url)).text()));
    evaluations += 1;
  }
  return evaluations;
}

if (process.send) {
  serve(async (message) => {
    if (message.type === 'cycle') return measureCycle(message.job as CycleJob);
    if (message.type === 'churn-start') {
      if (churning) throw new Error('already churning');
      const state = { stop: false };
      churning = { state, done: churn(String(message.prometheusUrl), state) };
      return true;
    }
    if (message.type === 'churn-stop') {
      if (!churning) return 0;
      churning.state.stop = true;
      const evaluations = await churning.done;
      churning = null;
      return evaluations;
    }
    throw new Error(`cycle: unknown message ${message.type}`);
  });
}
