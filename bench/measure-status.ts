// Status answer time: from the signed `/scale status` request to the full answer at the fake's response_url,
// against the floor of the slowest of its Prometheus queries run alone (raw HTTP, nothing of ours), measured
// in alternating order in the same run.
import { readFileSync } from 'node:fs';
import { loadConfig } from '../bot/config.ts';
import { evaluationWindow } from '../core/triggers.ts';
import type { FakeSlack } from '../devkit/slack-emulator/index.ts';
import type { AppUnderTest } from './apps.ts';
import { BENCH_CHANNEL, benchUser, signedSlashCommand } from './requests.ts';
import { median } from './stats.ts';
import { countNoData, type ResponseWatch } from './watch-responses.ts';

export interface StatusRound {
  readonly answerMs: number;
  readonly slowestAloneMs: number;
  readonly slowestTrigger: string;
  /** The 12 alone, added up: what Prometheus needs for the set with one core. */
  readonly sumAloneMs: number;
  readonly allAtOnceMs: number;
  readonly noData: number;
  /** CPU time the status cost Prometheus and the bot, from /proc, ms. */
  readonly prometheusCpuMs: number;
  readonly botCpuMs: number;
}

export interface StatusFigures {
  readonly rounds: StatusRound[];
  readonly answerMs: number;
  readonly slowestAloneMs: number;
  readonly slowestTrigger: string;
  readonly sumAloneMs: number;
  readonly allAtOnceMs: number;
  readonly ratio: number;
  readonly prometheusCpuMs: number;
  readonly botCpuMs: number;
  readonly noData: number;
}

/** utime + stime of a process, ms (Linux clock ticks are 1/100 s). */
export function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function fetchBody(url: string): Promise<number> {
  const began = performance.now();
  const response = await fetch(url);
  const text = await response.text();
  if (!response.ok) throw new Error(`Prometheus answered ${response.status}: ${text.slice(0, 200)}`);
  return performance.now() - began;
}

/** The bot's own queries (same expressions, window and step), as URLs for a raw client. */
export function triggerQueryUrls(prometheusUrl: string, atSeconds: number): Array<{ trigger: string; url: string }> {
  const config = loadConfig({ env: { PROMETHEUS_URL: prometheusUrl } });
  return config.triggers.map((trigger) => {
    const { windowSeconds, stepSeconds } = evaluationWindow(trigger, config.prometheus.lookbackSeconds);
    const params = new URLSearchParams({ query: trigger.query, start: String(atSeconds - windowSeconds), end: String(atSeconds), step: String(stepSeconds) });
    return { trigger: trigger.id, url: `${prometheusUrl}/api/v1/query_range?${params}` };
  });
}

async function floor(prometheusUrl: string): Promise<{ slowestAloneMs: number; slowestTrigger: string; sumAloneMs: number; allAtOnceMs: number }> {
  const queries = triggerQueryUrls(prometheusUrl, Date.now() / 1000);
  let slowestAloneMs = 0;
  let slowestTrigger = '';
  let sumAloneMs = 0;
  for (const { trigger, url } of queries) {
    const ms = await fetchBody(url);
    sumAloneMs += ms;
    if (ms > slowestAloneMs) {
      slowestAloneMs = ms;
      slowestTrigger = trigger;
    }
  }
  const began = performance.now();
  await Promise.all(queries.map(({ url }) => fetchBody(url)));
  return { slowestAloneMs, slowestTrigger, sumAloneMs, allAtOnceMs: performance.now() - began };
}

async function askStatus(bot: AppUnderTest, fake: FakeSlack, watch: ResponseWatch, prometheusPid: number, i: number) {
  const user = benchUser(i);
  const responseUrl = fake.newResponseUrl({ channel: BENCH_CHANNEL, user });
  const signed = signedSlashCommand('status', user, responseUrl);
  const prometheusCpu = cpuMsOf(prometheusPid);
  const botCpu = cpuMsOf(bot.pid);
  const began = performance.now();
  const ack = await fetch(`${bot.url}/slack/events`, { method: 'POST', headers: signed.headers, body: signed.body });
  await ack.arrayBuffer();
  if (ack.status !== 200) throw new Error(`the bot answered ${ack.status} to /scale status`);
  const arrival = await watch.wait(responseUrl, 30_000);
  const answerMs = arrival.at - began;
  // The decision-log row is written just after the answer; give it a moment before reading the bot's CPU.
  await new Promise((resolve) => setTimeout(resolve, 20));
  return { answerMs, noData: countNoData(arrival.response), prometheusCpuMs: cpuMsOf(prometheusPid) - prometheusCpu, botCpuMs: cpuMsOf(bot.pid) - botCpu };
}

export async function measureStatus(options: {
  bot: AppUnderTest;
  fake: FakeSlack;
  watch: ResponseWatch;
  prometheusUrl: string;
  prometheusPid: number;
  rounds: number;
}): Promise<StatusFigures> {
  const { bot, fake, watch, prometheusUrl, prometheusPid } = options;
  for (let i = 0; i < 2; i++) {
    await askStatus(bot, fake, watch, prometheusPid, i);
    await floor(prometheusUrl);
  }
  const rounds: StatusRound[] = [];
  for (let round = 0; round < options.rounds; round++) {
    // Alternate which goes first, so a drift in the machine's load favours neither.
    let status: Awaited<ReturnType<typeof askStatus>>;
    let alone: Awaited<ReturnType<typeof floor>>;
    if (round % 2 === 0) {
      status = await askStatus(bot, fake, watch, prometheusPid, round);
      alone = await floor(prometheusUrl);
    } else {
      alone = await floor(prometheusUrl);
      status = await askStatus(bot, fake, watch, prometheusPid, round);
    }
    rounds.push({ ...status, ...alone });
  }
  const answerMs = median(rounds.map((round) => round.answerMs));
  const slowestAloneMs = median(rounds.map((round) => round.slowestAloneMs));
  const triggers = rounds.map((round) => round.slowestTrigger);
  const slowestTrigger = [...new Set(triggers)].sort((a, b) => triggers.filter((t) => t === b).length - triggers.filter((t) => t === a).length)[0]!;
  return {
    rounds,
    answerMs,
    slowestAloneMs,
    slowestTrigger,
    sumAloneMs: median(rounds.map((round) => round.sumAloneMs)),
    allAtOnceMs: median(rounds.map((round) => round.allAtOnceMs)),
    ratio: answerMs / slowestAloneMs,
    prometheusCpuMs: median(rounds.map((round) => round.prometheusCpuMs)),
    botCpuMs: median(rounds.map((round) => round.botCpuMs)),
    noData: Math.max(...rounds.map((round) => round.noData)),
  };
}
