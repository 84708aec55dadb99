// Footprint: memory of a freshly started bot at rest, and after each thousand of 10,000 commands, each sample
// taken after a forced GC (bench/probe.mjs; the Prometheus worker's through the bot's /metrics). The commands are mostly `/scale help` (Bolt, the signature
// check, the dispatcher, a response_url post and a decision-log row: the whole per-command path, cheaply)
// with a `/scale status` every 33rd (the Prometheus client, evaluation and the status blocks).
import type { ChildProcess } from 'node:child_process';
import type { FakeSlack } from '../devkit/slack-emulator/index.ts';
import type { AppUnderTest } from './apps.ts';
import type { LoadResult } from './load.ts';
import { ask } from './processes.ts';
import { BENCH_CHANNEL, benchUser, signedSlashCommand } from './requests.ts';
import type { ResponseWatch } from './watch-responses.ts';

export interface MemorySample {
  readonly commands: number;
  readonly rss: number;
  /** Heap used after a forced GC, the main isolate's and every worker thread's added up. */
  readonly heapUsed: number;
  /** Of that, the bot's Prometheus worker thread's (0 while it has not started: it starts on the first status). */
  readonly workerHeapUsed: number;
  readonly external: number;
}

export interface FootprintFigures {
  readonly idle: MemorySample;
  readonly samples: MemorySample[];
  readonly commands: number;
  readonly statusCommands: number;
  readonly failures: number;
  readonly missingAnswers: number;
  readonly wallMs: number;
}

async function sample(bot: AppUnderTest, commands: number): Promise<MemorySample> {
  // A forced GC (twice, in the probe), then VmRSS from /proc: what the process really holds.
  const usage = await bot.memory();
  // The Prometheus worker thread has a heap of its own, which the probe (preloaded into the main thread only)
  // cannot reach: the bot's /metrics reports it, collected first since the bench runs with --expose-gc.
  const workerHeapUsed = await workerHeap(bot.url);
  await new Promise((resolve) => setTimeout(resolve, 200));
  return {
    commands,
    rss: await bot.rss(),
    heapUsed: usage.heapUsed + workerHeapUsed,
    workerHeapUsed,
    external: usage.external,
  };
}

async function workerHeap(url: string): Promise<number> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const match = /^scalebot_prometheus_worker_heap_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(await response.text());
  return match ? Number(match[1]) : 0;
}

export async function measureFootprint(options: {
  bot: AppUnderTest;
  load: ChildProcess;
  fake: FakeSlack;
  watch: ResponseWatch;
  total: number;
  batch: number;
  idleMs: number;
}): Promise<FootprintFigures> {
  const { bot, load, fake, watch } = options;
  await new Promise((resolve) => setTimeout(resolve, options.idleMs));
  const idle = await sample(bot, 0);
  const samples: MemorySample[] = [];
  let sent = 0;
  let statusCommands = 0;
  let failures = 0;
  let missingAnswers = 0;
  const began = performance.now();
  while (sent < options.total) {
    const count = Math.min(options.batch, options.total - sent);
    const urls: string[] = [];
    const requests = Array.from({ length: count }, (_, i) => {
      const n = sent + i;
      const text = n % 33 === 32 ? 'status' : 'help';
      if (text === 'status') statusCommands += 1;
      const user = benchUser(n);
      const url = fake.newResponseUrl({ channel: BENCH_CHANNEL, user });
      urls.push(url);
      return signedSlashCommand(text, user, url);
    });
    const result = await ask<LoadResult>(load, {
      type: 'run',
      job: { url: `${bot.url}/slack/events`, requests, mode: { kind: 'closed', concurrency: 10 }, timeoutMs: 3000 },
    });
    failures += Object.values(result.failures).reduce((a, b) => a + b, 0);
    const { missing } = await watch.waitAll(urls, 60_000);
    missingAnswers += missing;
    sent += count;
    // The fake keeps every message; forget them so that the bench's own memory stays flat.
    fake.reset();
    samples.push(await sample(bot, sent));
  }
  return { idle, samples, commands: sent, statusCommands, failures, missingAnswers, wallMs: performance.now() - began };
}
