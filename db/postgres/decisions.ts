import { and, desc, eq, gte, inArray, type SQL } from 'drizzle-orm';
import type { DecisionStore } from '../../core/storage/decisions.ts';
import { FencedError, type FenceTokenOf } from '../../core/storage/leases.ts';
import { DECISION_COMMIT_WINDOW_MS } from '../decision-log.ts';
import { decisionRow } from '../scrub.ts';
import { inPgTransaction, liveLeaseToken, type PgDb, type PgTx } from './client.ts';
import { decisionLog } from './schema.ts';

interface Queued {
  readonly row: ReturnType<typeof decisionRow>;
  /** The fencing token the append carried, checked at commit: the batch is written outside any job's context. */
  readonly token: number | undefined;
  resolve(id: number): void;
  reject(error: unknown): void;
}

export interface PgDecisionStore extends DecisionStore {
  /** Commits the rows still waiting for their window, and waits for the commits under way: before the pool closes. */
  flush(): Promise<void>;
}

/**
 * The PostgreSQL decision log. Appends share a commit with every row asked for within 20 ms, like SQLite's,
 * so that a burst of commands costs one round of commits, not one each; a row that cannot be written fails
 * alone, and so does a row whose fencing token is no longer the lease's.
 */
export function createPgDecisionStore(db: PgDb, fenceToken: FenceTokenOf | undefined): PgDecisionStore {
  let waiting: Queued[] | undefined;
  let timer: NodeJS.Timeout | undefined;
  const underWay = new Set<Promise<void>>();

  const flushWaiting = (): Promise<void> => {
    const batch = waiting;
    waiting = undefined;
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!batch) return Promise.resolve();
    const commit = commitBatch(db, batch).finally(() => underWay.delete(commit));
    underWay.add(commit);
    return commit;
  };

  return {
    append(input) {
      const token = fenceToken?.();
      return new Promise((resolve, reject) => {
        let row: Queued['row'];
        try {
          row = decisionRow(input);
        } catch (error) {
          // Not even JSON (a BigInt in the detail): this row fails now, and alone.
          reject(error);
          return;
        }
        if (!waiting) {
          waiting = [];
          timer = setTimeout(() => void flushWaiting(), DECISION_COMMIT_WINDOW_MS);
        }
        waiting.push({ row, token, resolve, reject });
      });
    },
    async list({ limit = 50, kinds, subject, since } = {}) {
      const filters: SQL[] = [];
      if (kinds && kinds.length > 0) filters.push(inArray(decisionLog.kind, [...kinds]));
      if (subject) filters.push(eq(decisionLog.subject, subject));
      if (since) filters.push(gte(decisionLog.at, since));
      return db
        .select()
        .from(decisionLog)
        .where(filters.length ? and(...filters) : undefined)
        .orderBy(desc(decisionLog.id))
        .limit(limit);
    },
    async flush() {
      await flushWaiting();
      await Promise.all([...underWay]);
    },
  };
}

/** Never rejects: every row's promise is settled instead. */
async function commitBatch(db: PgDb, batch: readonly Queued[]): Promise<void> {
  try {
    const written = await inPgTransaction(db, undefined, async (tx) => {
      const live = await liveToken(tx, batch);
      const kept = batch.filter((entry) => entry.token === undefined || entry.token === live);
      const ids = kept.length === 0 ? [] : await insertRows(tx, kept);
      return { kept, ids };
    });
    for (const entry of batch) {
      const index = written.kept.indexOf(entry);
      if (index >= 0) entry.resolve(written.ids[index]!);
      else entry.reject(new FencedError(entry.token!));
    }
  } catch {
    // The transaction was rolled back whole: find the row at fault by writing each alone.
    for (const entry of batch) {
      try {
        const [id] = await inPgTransaction(db, entry.token === undefined ? undefined : () => entry.token, (tx) => insertRows(tx, [entry]));
        entry.resolve(id!);
      } catch (error) {
        entry.reject(error);
      }
    }
  }
}

async function insertRows(tx: PgTx, entries: readonly Queued[]): Promise<number[]> {
  const rows = await tx
    .insert(decisionLog)
    .values(entries.map((entry) => entry.row))
    .returning({ id: decisionLog.id });
  // Identity values are drawn in the order of the VALUES list: ascending ids are the rows in the order asked.
  return rows.map((row) => row.id).sort((a, b) => a - b);
}

/** The live lease's token when some row of the batch carries one (FOR SHARE: a takeover waits for this commit). */
async function liveToken(tx: PgTx, batch: readonly Queued[]): Promise<number | undefined> {
  return batch.every((entry) => entry.token === undefined) ? undefined : liveLeaseToken(tx);
}
