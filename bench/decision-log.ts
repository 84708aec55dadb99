// Decision-log writes per second, as the bot writes them: db/client.ts's openDatabase (WAL, synchronous=FULL)
// on a file, and recordDecision one row at a time, each its own transaction and so its own fsync. Run by
// bench/run.ts as its own process.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../db/client.ts';
import { recordDecision } from '../db/decision-log.ts';
import { serve } from './processes.ts';

export interface DecisionLogJob {
  readonly dir: string;
  readonly rounds: number;
  /** Each round writes for this long (and at most maxWrites rows). */
  readonly roundMs: number;
  readonly maxWrites: number;
}

export interface DecisionLogRound {
  readonly writes: number;
  readonly ms: number;
  readonly perSecond: number;
  readonly synchronous: number;
  readonly journalMode: string;
}

export function measureDecisionLog(job: DecisionLogJob): DecisionLogRound[] {
  const file = join(job.dir, 'decision-log.db');
  const database = openDatabase(file);
  const synchronous = database.sqlite.pragma('synchronous', { simple: true }) as number;
  const journalMode = database.sqlite.pragma('journal_mode', { simple: true }) as string;
  const rounds: DecisionLogRound[] = [];
  try {
    for (let round = 0; round < job.rounds; round++) {
      let writes = 0;
      const began = performance.now();
      while (writes < job.maxWrites && performance.now() - began < job.roundMs) {
        recordDecision(database.db, {
          at: new Date(),
          kind: 'command',
          actor: 'U0BENCH001',
          channel: 'C0BENCH001',
          subject: 'status',
          outcome: 'ok',
          detail: { text: 'status', args: [], duration_ms: 120, verdict: 'ok' },
        });
        writes += 1;
      }
      const ms = performance.now() - began;
      rounds.push({ writes, ms, perSecond: (writes / ms) * 1000, synchronous, journalMode });
    }
  } finally {
    database.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  }
  return rounds;
}

if (process.send) {
  serve((message) => {
    if (message.type === 'decision-log') return measureDecisionLog(message.job as DecisionLogJob);
    throw new Error(`decision-log: unknown message ${message.type}`);
  });
}
