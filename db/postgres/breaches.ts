import { and, asc, eq, gte, isNull } from 'drizzle-orm';
import type { AlertOutcome, BreachStore, NewBreach } from '../../core/storage/breaches.ts';
import type { Effects } from '../../core/storage/effects.ts';
import type { FenceTokenOf } from '../../core/storage/leases.ts';
import { blindMessageKey, breachMessageKey } from '../../core/watch.ts';
import { newBreachValues, readingPatch, resolvedPatch } from '../breach-records.ts';
import { inPgTransaction, type PgDb, type PgTx } from './client.ts';
import { applyPgEffects, messageByKey } from './effects.ts';
import { blindPeriods, breaches } from './schema.ts';

type BreachRow = typeof breaches.$inferSelect;
type BlindPeriodRow = typeof blindPeriods.$inferSelect;
type BreachPatch = Partial<Omit<BreachRow, 'id' | 'key'>>;

const findOpen = async (tx: PgTx | PgDb, key: string) =>
  (
    await tx
      .select()
      .from(breaches)
      .where(and(eq(breaches.key, key), eq(breaches.status, 'open')))
  )[0];

/** Opens a breach; undefined when one is open for its key (the partial unique index settles a race). */
async function insertOpen(tx: PgTx, breach: NewBreach): Promise<BreachRow | undefined> {
  const [row] = await tx
    .insert(breaches)
    .values({ ...newBreachValues(breach), status: 'open' })
    .onConflictDoNothing()
    .returning();
  return row;
}

/** Compare-and-set: changes the breach only while it is open (and, with `unacknowledged`, nobody has acknowledged it). */
async function updateOpen(tx: PgTx, id: number, patch: BreachPatch, { unacknowledged = false } = {}): Promise<BreachRow | undefined> {
  const [row] = await tx
    .update(breaches)
    .set(patch)
    .where(and(eq(breaches.id, id), eq(breaches.status, 'open'), unacknowledged ? isNull(breaches.ackedBy) : undefined))
    .returning();
  return row;
}

/** Applies the effects, then points the breach at its message if they queued it (db/sqlite/breaches.ts says why). */
async function applyBreachEffects(tx: PgTx, breach: BreachRow, effects: Effects): Promise<BreachRow> {
  await applyPgEffects(tx, effects);
  if (breach.messageId !== null) return breach;
  const message = await messageByKey(tx, breachMessageKey(breach.id));
  if (!message) return breach;
  const [row] = await tx.update(breaches).set({ messageId: message.id }).where(eq(breaches.id, breach.id)).returning();
  return row!;
}

async function applyBlindEffects(tx: PgTx, period: BlindPeriodRow, effects: Effects): Promise<BlindPeriodRow> {
  await applyPgEffects(tx, effects);
  if (period.outboxId !== null) return period;
  const message = await messageByKey(tx, blindMessageKey(period.id));
  if (!message) return period;
  const [row] = await tx.update(blindPeriods).set({ outboxId: message.id }).where(eq(blindPeriods.id, period.id)).returning();
  return row!;
}

/**
 * The PostgreSQL breaches store, as db/sqlite/breaches.ts: every write one serializable transaction with its
 * effects, carrying the fencing token. Two replicas opening the same key at once: the second one's insert
 * waits on the partial unique index and its retry finds the breach open, so it opens nothing.
 */
export function createPgBreachStore(db: PgDb, fenceToken: FenceTokenOf | undefined): BreachStore {
  const transaction = <T>(work: (tx: PgTx) => Promise<T>) => inPgTransaction(db, fenceToken, work);
  /** One guarded write and its effects; undefined (nothing written) when the guard fails. */
  const write = (change: (tx: PgTx) => Promise<BreachRow | undefined>, effects: (row: BreachRow) => Effects) =>
    transaction(async (tx) => {
      const row = await change(tx);
      return row ? applyBreachEffects(tx, row, effects(row)) : undefined;
    });

  return {
    get: async (id) => (await db.select().from(breaches).where(eq(breaches.id, id)))[0],
    findOpen: (key) => findOpen(db, key),
    listOpen: () => db.select().from(breaches).where(eq(breaches.status, 'open')).orderBy(asc(breaches.id)),
    listResolvedSince: (at) =>
      db
        .select()
        .from(breaches)
        .where(and(eq(breaches.status, 'resolved'), gte(breaches.resolvedAt, at)))
        .orderBy(asc(breaches.id)),
    open: (breach, effects) => write((tx) => insertOpen(tx, breach), effects),
    refresh: (id, reading, effects) => write((tx) => updateOpen(tx, id, readingPatch(reading)), effects),
    resolve: (id, { at, lastValue }, effects) => write((tx) => updateOpen(tx, id, resolvedPatch(at, lastValue)), effects),
    remind: (id, at, effects) => write((tx) => updateOpen(tx, id, { lastReminderAt: at }), effects),
    acknowledge: (id, user, at, effects) => write((tx) => updateOpen(tx, id, { ackedBy: user, ackedAt: at }, { unacknowledged: true }), effects),
    snooze: (id, user, until, effects) => write((tx) => updateOpen(tx, id, { snoozedBy: user, snoozedUntil: until }), effects),
    applyAlerts: (changes, effects) =>
      transaction(async (tx) => {
        const outcomes: AlertOutcome[] = [];
        for (const change of changes) {
          const existing = await findOpen(tx, change.key);
          let outcome: AlertOutcome;
          if (change.status === 'resolved') {
            if (!existing) {
              outcomes.push({ kind: 'ignored', change });
              continue;
            }
            const row = await updateOpen(tx, existing.id, resolvedPatch(change.at, change.lastValue));
            outcome = { kind: 'resolved', change, breach: row! };
          } else if (existing) {
            outcome = { kind: 'updated', change, breach: (await updateOpen(tx, existing.id, readingPatch(change.refresh)))! };
          } else {
            // Checked open just above, in this transaction: a concurrent opener makes it retry, not skip.
            const row = await insertOpen(tx, change.open);
            if (!row) throw new Error(`breach ${change.key} opened concurrently`);
            outcome = { kind: 'opened', change, breach: row };
          }
          outcomes.push({ ...outcome, breach: await applyBreachEffects(tx, outcome.breach, effects(outcome)) });
        }
        return outcomes;
      }),
    findOpenBlindPeriod: async () => (await db.select().from(blindPeriods).where(isNull(blindPeriods.endedAt)))[0],
    openBlindPeriod: (at, reason, effects) =>
      transaction(async (tx) => {
        // No unique index says "one open": the serializable transaction does (two openers conflict, one retries).
        const [open] = await tx.select().from(blindPeriods).where(isNull(blindPeriods.endedAt));
        if (open) return undefined;
        const [period] = await tx.insert(blindPeriods).values({ startedAt: at, reason }).returning();
        return applyBlindEffects(tx, period!, effects(period!));
      }),
    endBlindPeriod: (id, at, effects) =>
      transaction(async (tx) => {
        const [period] = await tx
          .update(blindPeriods)
          .set({ endedAt: at })
          .where(and(eq(blindPeriods.id, id), isNull(blindPeriods.endedAt)))
          .returning();
        return period ? applyBlindEffects(tx, period, effects(period)) : undefined;
      }),
  };
}
