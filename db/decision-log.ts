import { and, desc, eq, gte, inArray, type SQL } from 'drizzle-orm';
import type { DecisionInput, DecisionQuery } from '../core/storage/decisions.ts';
import { FencedError } from '../core/storage/leases.ts';
import { fenceHolds, inUnfencedTransaction, type Db } from './client.ts';
import { decisionLog } from './schema.ts';
import { decisionRow } from './scrub.ts';

// The decision store's SQLite internals (db/sqlite/decisions.ts); its records are the port's (core/storage/decisions.ts).

export type Decision = typeof decisionLog.$inferSelect;

/**
 * Appends one row; the log has no update or delete (the schema refuses both), so a secret written here
 * stays: subject, outcome and detail are scrubbed first. The detail goes in as JSON carries it (a Date
 * becomes its text, as the column writes it; a BigInt fails the row, as it always did).
 */
export function recordDecision(db: Db, input: DecisionInput): number {
  const row = db.insert(decisionLog).values(decisionRow(input)).returning({ id: decisionLog.id }).get();
  return row.id;
}

interface QueuedDecision {
  readonly input: DecisionInput;
  /** The fencing token the append carried: checked at commit, when the window has passed. */
  readonly token: number | undefined;
  resolve(id: number): void;
  reject(error: unknown): void;
}

const queued = new WeakMap<Db, QueuedDecision[]>();

/** How long a row waits for others to share its commit; PostgreSQL's decision log (db/postgres/decisions.ts) waits as long. */
export const DECISION_COMMIT_WINDOW_MS = 20;

/**
 * Appends a row in one commit with every other row asked for within the next 20 ms, and resolves once it
 * is committed. Each commit is an fsync (synchronous=FULL) that blocks the event loop: with one commit per
 * command, a burst of `/scale status` answers held up the acks of the requests behind them (README,
 * "Benchmarks"); per event-loop turn was not enough, since the answers go out one turn each. A row that
 * cannot be written fails alone, not its batch. Rows still waiting when the bot stops are committed by
 * flushDecisions before the database closes. A row appended under a fencing token that is no longer the
 * lease's by then is refused alone (FencedError).
 */
export function appendDecision(db: Db, input: DecisionInput, token?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let batch = queued.get(db);
    if (!batch) {
      batch = [];
      queued.set(db, batch);
      setTimeout(() => flushDecisions(db), DECISION_COMMIT_WINDOW_MS);
    }
    batch.push({ input, token, resolve, reject });
  });
}

/** Commits the rows still waiting for their window: also before the database closes. */
export function flushDecisions(db: Db): void {
  const waiting = queued.get(db);
  if (!waiting) return;
  queued.delete(db);
  // The batch runs outside any write's context (a timer, the close): each row is fenced by its own token.
  let batch: QueuedDecision[] | undefined;
  let ids: number[];
  try {
    ids = inUnfencedTransaction(db, () => {
      batch = waiting.filter((entry) => {
        if (entry.token === undefined || fenceHolds(db, entry.token)) return true;
        entry.reject(new FencedError(entry.token));
        return false;
      });
      return batch.map(({ input }) => recordDecision(db, input));
    });
  } catch (error) {
    if (!batch) {
      for (const entry of waiting) entry.reject(error);
      return;
    }
    // The transaction is rolled back whole: find the row at fault by writing each alone.
    for (const entry of batch) {
      try {
        entry.resolve(recordDecision(db, entry.input));
      } catch (error) {
        entry.reject(error);
      }
    }
    return;
  }
  for (const [index, entry] of batch!.entries()) entry.resolve(ids[index]!);
}

/** Newest first. */
export function listDecisions(db: Db, { limit = 50, kinds, subject, since }: DecisionQuery = {}): Decision[] {
  const filters: SQL[] = [];
  if (kinds && kinds.length > 0) filters.push(inArray(decisionLog.kind, [...kinds]));
  if (subject) filters.push(eq(decisionLog.subject, subject));
  if (since) filters.push(gte(decisionLog.at, since));
  return db
    .select()
    .from(decisionLog)
    .where(filters.length ? and(...filters) : undefined)
    .orderBy(desc(decisionLog.id))
    .limit(limit)
    .all();
}
