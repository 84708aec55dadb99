// Decision-log rows per second, as the bot writes them: db/client.ts's openDatabase (WAL, synchronous=FULL) on a
// file, two ways, each under a steady load. Run by bench/run.ts as its own process.
// - recordDecision: one row a transaction and so one fsync each, back to back (what must be durable before the
//   reply is sent).
// - appendDecision: the 20 ms group commit the commands use. Rows are asked for at a steady offered rate (open
//   loop: the k-th row is due at k / rate, whenever the others commit), and each row's wait is the time from the
//   call to its promise resolving (its commit done). Rows per second is the rows committed over the time from
//   the first call to the last commit.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DecisionInput } from '../core/storage/decisions.ts';
import { openDatabase } from '../db/client.ts';
import { appendDecision, recordDecision } from '../db/decision-log.ts';
import { serve } from './processes.ts';
import { percentile } from './stats.ts';

export interface DecisionLogJob {
  readonly dir: string;
  readonly rounds: number;
  /** Each round writes for this long (and at most maxWrites rows). */
  readonly roundMs: number;
  readonly maxWrites: number;
  /** appendDecision's offered rates, rows per second; each is run for roundMs, `rounds` times. */
  readonly appendRates: readonly number[];
}

export interface DecisionLogRound {
  readonly writes: number;
  readonly ms: number;
  readonly perSecond: number;
  readonly synchronous: number;
  readonly journalMode: string;
}

export interface AppendRound {
  readonly offeredPerSecond: number;
  readonly rows: number;
  readonly ms: number;
  /** Rows committed per second. */
  readonly perSecond: number;
  /** From the call to its commit resolving, ms. */
  readonly waitP50: number;
  readonly waitP99: number;
  readonly waitMax: number;
  /** How late the last row was asked for against its due time (the event loop held by commits), ms. */
  readonly sendLagMs: number;
}

export interface DecisionLogFigures {
  readonly record: DecisionLogRound[];
  readonly append: AppendRound[];
}

const ROW: DecisionInput = {
  at: new Date(),
  kind: 'command',
  actor: 'U0BENCH001',
  channel: 'C0BENCH001',
  subject: 'status',
  outcome: 'ok',
  detail: { text: 'status', args: [], duration_ms: 120, verdict: 'ok' },
};

function measureRecord(database: ReturnType<typeof openDatabase>, job: DecisionLogJob): DecisionLogRound[] {
  const synchronous = database.sqlite.pragma('synchronous', { simple: true }) as number;
  const journalMode = database.sqlite.pragma('journal_mode', { simple: true }) as string;
  const rounds: DecisionLogRound[] = [];
  for (let round = 0; round < job.rounds; round++) {
    let writes = 0;
    const began = performance.now();
    while (writes < job.maxWrites && performance.now() - began < job.roundMs) {
      recordDecision(database.db, { ...ROW, at: new Date() });
      writes += 1;
    }
    const ms = performance.now() - began;
    rounds.push({ writes, ms, perSecond: (writes / ms) * 1000, synchronous, journalMode });
  }
  return rounds;
}

async function appendAt(database: ReturnType<typeof openDatabase>, perSecond: number, durationMs: number): Promise<AppendRound> {
  const total = Math.round((perSecond * durationMs) / 1000);
  const waits: number[] = [];
  const pending: Array<Promise<void>> = [];
  let sent = 0;
  let sendLagMs = 0;
  const began = performance.now();
  while (sent < total) {
    // Every row due by now is asked for; then the loop yields, so that the commit timers can run.
    const due = Math.min(total, Math.floor(((performance.now() - began) * perSecond) / 1000) + 1);
    for (; sent < due; sent++) {
      const calledAt = performance.now();
      sendLagMs = Math.max(sendLagMs, calledAt - (began + (sent * 1000) / perSecond));
      pending.push(
        appendDecision(database.db, { ...ROW, at: new Date() }).then(() => {
          waits.push(performance.now() - calledAt);
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  const ms = performance.now() - began;
  return {
    offeredPerSecond: perSecond,
    rows: total,
    ms,
    perSecond: (total / ms) * 1000,
    waitP50: percentile(waits, 50),
    waitP99: percentile(waits, 99),
    waitMax: Math.max(...waits),
    sendLagMs,
  };
}

export async function measureDecisionLog(job: DecisionLogJob): Promise<DecisionLogFigures> {
  const file = join(job.dir, 'decision-log.db');
  const database = openDatabase(file);
  try {
    const record = measureRecord(database, job);
    const append: AppendRound[] = [];
    for (let round = 0; round < job.rounds; round++) {
      for (const rate of job.appendRates) append.push(await appendAt(database, rate, job.roundMs));
    }
    return { record, append };
  } finally {
    database.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  }
}

if (process.send) {
  serve((message) => {
    if (message.type === 'decision-log') return measureDecisionLog(message.job as DecisionLogJob);
    throw new Error(`decision-log: unknown message ${message.type}`);
  });
}
