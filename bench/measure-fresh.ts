// `/scale status` while an evaluation is fresh: the bot runs with `prometheus.max_age` 60 s; one status warms
// its evaluation, then statuses follow within that minute, one after another and 10 at a time, each timed from
// its request to its answer at the response_url (the ack on the way: "ack" is the HTTP 200 alone). Statuses go
// in batches each started by a warming status, so that every measured one falls within max_age of an
// evaluation. The answers are read for the age they state ("evaluated N s ago"); Prometheus' query log shows
// whether the batch made it evaluate anything. A bot without the cache evaluates every time: same harness.
import type { AppUnderTest } from './apps.ts';
import { askStatus, type StatusContext } from './measure-status.ts';
import { BENCH_CHANNEL, benchUser, signedSlashCommand } from './requests.ts';
import { percentile } from './stats.ts';

export interface FreshMode {
  readonly label: string;
  readonly concurrency: number;
  readonly count: number;
}

export interface FreshFigures {
  readonly label: string;
  readonly concurrency: number;
  readonly count: number;
  readonly answerP50: number;
  readonly answerP99: number;
  readonly ackP99: number;
  /** Answers that said how old their figures were ("evaluated N s ago"), and the oldest age said. */
  readonly statedAge: number;
  readonly oldestAgeSeconds: number | null;
  /** Queries Prometheus was asked during the measured statuses (the warming ones left out). */
  readonly queriesDuring: number;
  readonly noData: number;
  readonly maxAge: string | null;
}

/** "evaluated 6 s ago" (or "… 6 seconds ago", "… 1 min ago"): the age an answer states, seconds; null if none. */
export function statedAgeSeconds(body: unknown): number | null {
  const text = JSON.stringify(body ?? '');
  const match = /evaluated (?:just now|(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?) ago)/i.exec(text);
  if (!match) return null;
  if (match[1] === undefined) return 0;
  const value = Number(match[1]);
  const unit = match[2]!.toLowerCase();
  return unit === 'ms' ? value / 1000 : unit.startsWith('m') ? value * 60 : value;
}

async function timedStatus(context: StatusContext, bot: AppUnderTest, i: number) {
  const user = benchUser(i);
  const responseUrl = context.fake.newResponseUrl({ channel: BENCH_CHANNEL, user });
  const signed = signedSlashCommand('status', user, responseUrl);
  const began = performance.now();
  const ack = await fetch(`${bot.url}/slack/events`, { method: 'POST', headers: signed.headers, body: signed.body });
  await ack.arrayBuffer();
  const ackMs = performance.now() - began;
  if (ack.status !== 200) throw new Error(`the bot answered ${ack.status} to /scale status`);
  const arrival = await context.watch.wait(responseUrl, 30_000);
  const text = JSON.stringify(arrival.response.body ?? '');
  return { answerMs: arrival.at - began, ackMs, age: statedAgeSeconds(arrival.response.body), noData: (text.match(/no data/g) ?? []).length };
}

export async function measureFresh(
  context: StatusContext,
  options: { bot: AppUnderTest; modes: readonly FreshMode[]; maxAge: string | null; batchMs: number },
): Promise<FreshFigures[]> {
  const { bot } = options;
  const figures: FreshFigures[] = [];
  for (const mode of options.modes) {
    const answers: Array<Awaited<ReturnType<typeof timedStatus>>> = [];
    let queriesDuring = 0;
    let sent = 0;
    while (sent < mode.count) {
      // Warm: this status makes (or finds) the evaluation the batch is answered from.
      await askStatus(context, bot, sent);
      const mark = context.log.mark();
      const batchEnds = performance.now() + options.batchMs;
      const worker = async () => {
        while (sent < mode.count && performance.now() < batchEnds) {
          const i = sent++;
          answers.push(await timedStatus(context, bot, i));
        }
      };
      await Promise.all(Array.from({ length: mode.concurrency }, worker));
      queriesDuring += context.log.since(mark).length;
    }
    const ages = answers.map((answer) => answer.age).filter((age): age is number => age !== null);
    figures.push({
      label: mode.label,
      concurrency: mode.concurrency,
      count: answers.length,
      answerP50: percentile(
        answers.map((answer) => answer.answerMs),
        50,
      ),
      answerP99: percentile(
        answers.map((answer) => answer.answerMs),
        99,
      ),
      ackP99: percentile(
        answers.map((answer) => answer.ackMs),
        99,
      ),
      statedAge: ages.length,
      oldestAgeSeconds: ages.length > 0 ? Math.max(...ages) : null,
      queriesDuring,
      noData: answers.filter((answer) => answer.noData > 0).length,
      maxAge: options.maxAge,
    });
  }
  return figures;
}
