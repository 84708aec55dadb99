// Ack latency: signed `/scale status` requests from the load generator, time to the HTTP 200, the bot against
// the bare Bolt app in alternating rounds. After each of the bot's rounds the bench waits for every answer
// (the work that follows the acks) so that none of it spills into the next round.
import type { ChildProcess } from 'node:child_process';
import type { FakeSlack } from '../devkit/slack-emulator/index.ts';
import type { AppUnderTest } from './apps.ts';
import type { LoadMode, LoadResult } from './load.ts';
import { ask } from './processes.ts';
import { BENCH_CHANNEL, benchUser, signedSlashCommand } from './requests.ts';
import { median, percentile } from './stats.ts';
import { countNoData, type ResponseWatch } from './watch-responses.ts';

export interface AckMode {
  readonly label: string;
  readonly mode: LoadMode;
  readonly count: number;
}

export interface AckRun {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly failures: Record<string, number>;
  /** The app's event-loop delay during the run, ms. */
  readonly eventLoopP99: number | null;
  readonly eventLoopMax: number | null;
  /** Bot only: from the first request to the last answer at a response_url, ms. */
  readonly lastAnswerMs: number | null;
  readonly missingAnswers: number;
  readonly noDataAnswers: number;
}

export interface AckFigures {
  readonly label: string;
  readonly count: number;
  readonly bot: AckRun[];
  readonly bare: AckRun[];
  /** The bare app while Prometheus answers status queries back to back, as it does for the bot. */
  readonly bareBusy: AckRun[];
  readonly bareBusyP99: number;
  readonly ratioP99Busy: number;
  readonly botP50: number;
  readonly botP99: number;
  readonly bareP50: number;
  readonly bareP99: number;
  readonly ratioP99: number;
  readonly ratioP50: number;
  readonly lastAnswerMs: number;
  readonly failures: number;
  readonly missingAnswers: number;
  readonly noDataAnswers: number;
  readonly botEventLoopP99: number;
  readonly bareEventLoopP99: number;
}

export interface AckContext {
  readonly bot: AppUnderTest;
  readonly bare: AppUnderTest;
  readonly load: ChildProcess;
  readonly fake: FakeSlack;
  readonly watch: ResponseWatch;
  /** How long to wait for the bot's answers after a round before counting them missing. */
  readonly drainTimeoutMs: number;
  /** Keeps Prometheus busy with status queries (bench/cycle.ts's churn) during the control rounds. */
  readonly churn: { start(): Promise<void>; stop(): Promise<number> };
}

type Variant = 'bot' | 'bare' | 'bareBusy';

async function runOnce(context: AckContext, variant: Variant, mode: AckMode): Promise<AckRun> {
  const app = variant === 'bot' ? context.bot : context.bare;
  const urls: string[] = [];
  const requests = Array.from({ length: mode.count }, (_, i) => {
    const user = benchUser(i);
    const url = context.fake.newResponseUrl({ channel: BENCH_CHANNEL, user });
    urls.push(url);
    return signedSlashCommand('status', user, url);
  });
  await app.eventLoopStart();
  if (variant === 'bareBusy') await context.churn.start();
  const began = performance.now();
  const result = await ask<LoadResult>(context.load, {
    type: 'run',
    job: { url: `${app.url}/slack/events`, requests, mode: mode.mode, timeoutMs: 3000 },
  });
  if (variant === 'bareBusy') await context.churn.stop();
  const eventLoop = await app.eventLoopRead();
  let lastAnswerMs: number | null = null;
  let missingAnswers = 0;
  let noDataAnswers = 0;
  if (app.name === 'bot') {
    const { arrivals, missing } = await context.watch.waitAll(urls, context.drainTimeoutMs);
    missingAnswers = missing;
    lastAnswerMs = arrivals.length > 0 ? Math.max(...arrivals.map((arrival) => arrival.at)) - began : null;
    noDataAnswers = arrivals.filter((arrival) => countNoData(arrival.response) > 0).length;
  } else {
    // The bare app answers nothing; a short pause keeps the two apps' rounds alike.
    await new Promise((resolve) => setTimeout(resolve, 200));
    context.watch.clear();
  }
  return {
    p50: percentile(result.latenciesMs, 50),
    p99: percentile(result.latenciesMs, 99),
    max: Math.max(...result.latenciesMs),
    failures: result.failures,
    eventLoopP99: eventLoop?.p99 ?? null,
    eventLoopMax: eventLoop?.max ?? null,
    lastAnswerMs,
    missingAnswers,
    noDataAnswers,
  };
}

export async function measureAck(context: AckContext, modes: readonly AckMode[], rounds: number): Promise<AckFigures[]> {
  // Warm both: connections opened, JIT warm, the bot's status path run once.
  for (const variant of ['bot', 'bare'] as const) await runOnce(context, variant, { label: 'warm-up', mode: { kind: 'closed', concurrency: 5 }, count: 20 });
  const runs = new Map(modes.map((mode) => [mode.label, { bot: [] as AckRun[], bare: [] as AckRun[], bareBusy: [] as AckRun[] }]));
  const orders: Variant[][] = [
    ['bot', 'bare', 'bareBusy'],
    ['bare', 'bareBusy', 'bot'],
    ['bareBusy', 'bot', 'bare'],
  ];
  for (let round = 0; round < rounds; round++) {
    for (const mode of modes) {
      // The three take turns at going first, so a drift in the machine's load favours none of them.
      for (const variant of orders[round % orders.length]!) runs.get(mode.label)![variant].push(await runOnce(context, variant, mode));
    }
  }
  return modes.map((mode) => {
    const { bot, bare, bareBusy } = runs.get(mode.label)!;
    const m = (runsOf: AckRun[], pick: (run: AckRun) => number | null) => median(runsOf.map(pick).filter((value): value is number => value !== null));
    const botP99 = m(bot, (run) => run.p99);
    const bareP99 = m(bare, (run) => run.p99);
    const bareBusyP99 = m(bareBusy, (run) => run.p99);
    const botP50 = m(bot, (run) => run.p50);
    const bareP50 = m(bare, (run) => run.p50);
    const sumFailures = (list: AckRun[]) => list.reduce((sum, run) => sum + Object.values(run.failures).reduce((a, b) => a + b, 0), 0);
    return {
      label: mode.label,
      count: mode.count,
      bot,
      bare,
      bareBusy,
      bareBusyP99,
      ratioP99Busy: botP99 / bareBusyP99,
      botP50,
      botP99,
      bareP50,
      bareP99,
      ratioP99: botP99 / bareP99,
      ratioP50: botP50 / bareP50,
      lastAnswerMs: m(bot, (run) => run.lastAnswerMs),
      failures: sumFailures(bot) + sumFailures(bare) + sumFailures(bareBusy),
      missingAnswers: bot.reduce((sum, run) => sum + run.missingAnswers, 0),
      noDataAnswers: bot.reduce((sum, run) => sum + run.noDataAnswers, 0),
      botEventLoopP99: m(bot, (run) => run.eventLoopP99),
      bareEventLoopP99: m(bare, (run) => run.eventLoopP99),
    };
  });
}
