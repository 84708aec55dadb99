// Status answer time when a fresh evaluation is needed: from the signed `/scale status` request to the full
// answer at the fake's response_url, against the very queries that status sent (read from Prometheus' query
// log: evaluation queries, full or incremental, and forecast queries) asked again by a plain HTTP client, all at
// once and one at a time, measured in the same round.
//
// Two kinds of round:
// - "first of its step": a bot started for the round, whose first status is the first of its 5-minute forecast
//   step, so it sends a forecast query for every trigger with `forecast: true` beside its evaluation queries.
//   Its watcher (alerts channel set, an interval of an hour) evaluates once as it starts, which starts the
//   Prometheus worker thread without fitting forecasts, so the status does not pay the worker's start.
// - "forecasts already fitted": one bot, status after status; the forecasts come from the client's memo.
// Either way the bot's `prometheus.max_age` is as short as it accepts, so that every status evaluates anew.
import { readFileSync } from 'node:fs';
import { loadConfig } from '../bot/config.ts';
import { forecastQueryWindow } from '../core/forecast.ts';
import { evaluationWindow } from '../core/triggers.ts';
import type { FakeSlack } from '../devkit/slack-emulator/index.ts';
import type { AppEnv, AppUnderTest } from './apps.ts';
import { describeQueries, type LoggedQuery, type QueryLog, replayAllAtOnce, replayUrl, waitForQuiet } from './query-log.ts';
import { BENCH_CHANNEL, benchUser, signedSlashCommand } from './requests.ts';
import { median } from './stats.ts';
import { countNoData, type ResponseWatch } from './watch-responses.ts';

export type StatusRoundKind = 'first of its step' | 'forecasts already fitted';

export interface StatusRound {
  readonly answerMs: number;
  /** The queries the status sent, as Prometheus logged them. */
  readonly queries: number;
  readonly forecastQueries: number;
  /** The longest evaluation range asked (s): the full window, or less when the client asked only what is new. */
  readonly longestEvaluationRangeSeconds: number;
  /** Those queries asked again all at once by a plain client, ms. */
  readonly allAtOnceMs: number;
  /** The slowest of them asked alone, and which trigger it was. */
  readonly slowestAloneMs: number;
  readonly slowestQuery: string;
  /** All of them alone, added up: what Prometheus needs for the set with one core. */
  readonly sumAloneMs: number;
  readonly noData: number;
  /** CPU time the status cost Prometheus and the bot, from /proc, ms. */
  readonly prometheusCpuMs: number;
  readonly botCpuMs: number;
}

export interface StatusFigures {
  readonly kind: StatusRoundKind;
  readonly rounds: StatusRound[];
  readonly answerMs: number;
  readonly allAtOnceMs: number;
  /** answer / all at once, the median of the rounds' own ratios. */
  readonly ratio: number;
  readonly slowestAloneMs: number;
  readonly slowestQuery: string;
  readonly sumAloneMs: number;
  readonly prometheusCpuMs: number;
  readonly botCpuMs: number;
  readonly noData: number;
  readonly queries: number;
  readonly forecastQueries: number;
  readonly longestEvaluationRangeSeconds: number;
  /** The `prometheus.max_age` the bot ran with (null: it has no such setting). */
  readonly maxAge: string | null;
}

/** utime + stime of a process, ms (Linux clock ticks are 1/100 s). */
export function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The bot's own evaluation queries (same expressions, window and step), as URLs for a raw client. */
export function triggerQueryUrls(prometheusUrl: string, atSeconds: number): Array<{ trigger: string; url: string }> {
  const config = loadConfig({ env: { PROMETHEUS_URL: prometheusUrl } });
  return config.triggers.map((trigger) => {
    const { windowSeconds, stepSeconds } = evaluationWindow(trigger, config.prometheus.lookbackSeconds);
    const params = new URLSearchParams({ query: trigger.query, start: String(atSeconds - windowSeconds), end: String(atSeconds), step: String(stepSeconds) });
    return { trigger: trigger.id, url: `${prometheusUrl}/api/v1/query_range?${params}` };
  });
}

const defaults = loadConfig({ env: { PROMETHEUS_URL: 'http://127.0.0.1:9' } });
const FORECAST_RANGE_SECONDS = forecastQueryWindow(defaults.forecast).startOffset;

/** A forecast query asks the forecast window (days); an evaluation query at most the lookback (minutes). */
export function isForecastQuery(query: LoggedQuery): boolean {
  return query.step > 0 && query.end - query.start >= FORECAST_RANGE_SECONDS - 1;
}

function triggerOf(query: LoggedQuery): string {
  const trigger = defaults.triggers.find((candidate) => candidate.query === query.query);
  return `${trigger?.id ?? 'another query'}${isForecastQuery(query) ? ', forecast' : ''}`;
}

async function fetchBody(url: string): Promise<number> {
  const began = performance.now();
  const response = await fetch(url);
  const text = await response.text();
  if (!response.ok) throw new Error(`Prometheus answered ${response.status}: ${text.slice(0, 200)}`);
  return performance.now() - began;
}

export interface StatusContext {
  readonly fake: FakeSlack;
  readonly watch: ResponseWatch;
  readonly prometheusUrl: string;
  readonly prometheusPid: number;
  readonly log: QueryLog;
}

/** One status, start to answer; the queries it sent, read from the log once Prometheus is quiet again. */
export async function askStatus(context: StatusContext, bot: AppUnderTest, i: number) {
  const { fake, watch, prometheusPid, log } = context;
  const user = benchUser(i);
  const responseUrl = fake.newResponseUrl({ channel: BENCH_CHANNEL, user });
  const signed = signedSlashCommand('status', user, responseUrl);
  const mark = log.mark();
  const prometheusCpu = cpuMsOf(prometheusPid);
  const botCpu = cpuMsOf(bot.pid);
  const began = performance.now();
  const ack = await fetch(`${bot.url}/slack/events`, { method: 'POST', headers: signed.headers, body: signed.body });
  await ack.arrayBuffer();
  if (ack.status !== 200) throw new Error(`the bot answered ${ack.status} to /scale status`);
  const arrival = await watch.wait(responseUrl, 30_000);
  const answerMs = arrival.at - began;
  // The decision-log row is written just after the answer, and the log line of the last query may trail it.
  const queries = await waitForQuiet(log, mark, { quietMs: 100, atLeast: 0, timeoutMs: 2000 });
  return {
    answerMs,
    queries,
    noData: countNoData(arrival.response),
    prometheusCpuMs: cpuMsOf(prometheusPid) - prometheusCpu,
    botCpuMs: cpuMsOf(bot.pid) - botCpu,
  };
}

async function floorOf(prometheusUrl: string, queries: readonly LoggedQuery[]) {
  if (queries.length === 0) return { allAtOnceMs: Number.NaN, slowestAloneMs: Number.NaN, slowestQuery: 'none sent', sumAloneMs: Number.NaN };
  const allAtOnceMs = await replayAllAtOnce(prometheusUrl, queries);
  let slowestAloneMs = 0;
  let slowestQuery = '';
  let sumAloneMs = 0;
  for (const query of queries) {
    const ms = await fetchBody(replayUrl(prometheusUrl, query));
    sumAloneMs += ms;
    if (ms > slowestAloneMs) {
      slowestAloneMs = ms;
      slowestQuery = triggerOf(query);
    }
  }
  return { allAtOnceMs, slowestAloneMs, slowestQuery, sumAloneMs };
}

function roundOf(status: Awaited<ReturnType<typeof askStatus>>, floor: Awaited<ReturnType<typeof floorOf>>): StatusRound {
  const evaluation = status.queries.filter((query) => !isForecastQuery(query));
  return {
    answerMs: status.answerMs,
    queries: status.queries.length,
    forecastQueries: status.queries.length - evaluation.length,
    longestEvaluationRangeSeconds: describeQueries(evaluation).longestRangeSeconds,
    noData: status.noData,
    prometheusCpuMs: status.prometheusCpuMs,
    botCpuMs: status.botCpuMs,
    ...floor,
  };
}

function summarize(kind: StatusRoundKind, rounds: StatusRound[], maxAge: string | null): StatusFigures {
  const m = (pick: (round: StatusRound) => number) => median(rounds.map(pick));
  const slowest = rounds.map((round) => round.slowestQuery);
  return {
    kind,
    rounds,
    answerMs: m((round) => round.answerMs),
    allAtOnceMs: m((round) => round.allAtOnceMs),
    ratio: m((round) => round.answerMs / round.allAtOnceMs),
    slowestAloneMs: m((round) => round.slowestAloneMs),
    slowestQuery: [...new Set(slowest)].sort((a, b) => slowest.filter((t) => t === b).length - slowest.filter((t) => t === a).length)[0] ?? '',
    sumAloneMs: m((round) => round.sumAloneMs),
    prometheusCpuMs: m((round) => round.prometheusCpuMs),
    botCpuMs: m((round) => round.botCpuMs),
    noData: Math.max(0, ...rounds.map((round) => round.noData)),
    queries: m((round) => round.queries),
    forecastQueries: m((round) => round.forecastQueries),
    longestEvaluationRangeSeconds: m((round) => round.longestEvaluationRangeSeconds),
    maxAge,
  };
}

/** How long to wait before a status so that the bot's last evaluation is older than its max_age. */
function staleAfterMs(maxAge: string | null): number {
  if (!maxAge) return 0;
  const match = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(maxAge);
  const ms = match ? Number(match[1]) * (match[2] === 's' ? 1000 : 1) : 1000;
  return ms > 0 ? ms + 200 : 0;
}

/** Status after status on one bot: the forecasts come from the client's memo after the first. */
export async function measureStatusWarm(context: StatusContext, options: { bot: AppUnderTest; rounds: number; maxAge: string | null }): Promise<StatusFigures> {
  const { bot } = options;
  // The first status starts the worker and fits the forecasts of this step; the second settles the JIT.
  for (let i = 0; i < 2; i++) await askStatus(context, bot, i);
  const rounds: StatusRound[] = [];
  for (let round = 0; round < options.rounds; round++) {
    await new Promise((resolve) => setTimeout(resolve, staleAfterMs(options.maxAge)));
    const status = await askStatus(context, bot, round);
    rounds.push(roundOf(status, await floorOf(context.prometheusUrl, status.queries)));
  }
  return summarize('forecasts already fitted', rounds, options.maxAge);
}

/** A bot started for each round, whose one status is the first of its forecast step. */
export async function measureStatusFirstOfStep(
  context: StatusContext,
  options: { start: (env: Partial<AppEnv>) => Promise<AppUnderTest>; rounds: number; maxAge: string | null; triggers: number; warm?: boolean },
): Promise<StatusFigures> {
  const rounds: StatusRound[] = [];
  // One unmeasured round warms Prometheus' caches for the forecast window (left out of a quick run).
  for (let round = options.warm === false ? 0 : -1; round < options.rounds; round++) {
    const mark = context.log.mark();
    const bot = await options.start({});
    try {
      // Its watcher's first evaluation, as it starts (the worker thread with it): wait until it is over.
      await waitForQuiet(context.log, mark, { quietMs: 500, atLeast: options.triggers, timeoutMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, staleAfterMs(options.maxAge)));
      const status = await askStatus(context, bot, round + 1);
      const floor = await floorOf(context.prometheusUrl, status.queries);
      if (round >= 0) rounds.push(roundOf(status, floor));
    } finally {
      await bot.stop();
    }
  }
  return summarize('first of its step', rounds, options.maxAge);
}
