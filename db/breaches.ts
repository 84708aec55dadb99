import { and, asc, eq, gte, isNull } from 'drizzle-orm';
import type { Db } from './client.ts';
import { blindPeriods, breaches } from './schema.ts';

export type BreachRow = typeof breaches.$inferSelect;
export type NewBreach = Omit<typeof breaches.$inferInsert, 'id' | 'status'>;
export type BlindPeriodRow = typeof blindPeriods.$inferSelect;

export function listOpenBreaches(db: Db): BreachRow[] {
  return db.select().from(breaches).where(eq(breaches.status, 'open')).orderBy(asc(breaches.id)).all();
}

export function listBreachesResolvedSince(db: Db, at: Date): BreachRow[] {
  return db
    .select()
    .from(breaches)
    .where(and(eq(breaches.status, 'resolved'), gte(breaches.resolvedAt, at)))
    .orderBy(asc(breaches.id))
    .all();
}

export function getBreach(db: Db, id: number): BreachRow | undefined {
  return db.select().from(breaches).where(eq(breaches.id, id)).get();
}

export function findOpenBreach(db: Db, key: string): BreachRow | undefined {
  return db
    .select()
    .from(breaches)
    .where(and(eq(breaches.key, key), eq(breaches.status, 'open')))
    .get();
}

/** Opens a breach, or returns the one already open for the key (the unique index makes this race-free). */
export function openBreach(db: Db, input: NewBreach): { breach: BreachRow; created: boolean } {
  const inserted = db
    .insert(breaches)
    .values({ ...input, status: 'open' })
    .onConflictDoNothing()
    .returning()
    .get();
  if (inserted) return { breach: inserted, created: true };
  return { breach: findOpenBreach(db, input.key)!, created: false };
}

export function updateBreach(db: Db, id: number, patch: Partial<Omit<BreachRow, 'id' | 'key'>>): BreachRow {
  return db.update(breaches).set(patch).where(eq(breaches.id, id)).returning().get()!;
}

/** Compare-and-set: changes the breach only while it is open (and, with `unacknowledged`, nobody has acknowledged it). */
export function updateOpenBreach(
  db: Db,
  id: number,
  patch: Partial<Omit<BreachRow, 'id' | 'key'>>,
  { unacknowledged = false }: { unacknowledged?: boolean } = {},
): BreachRow | undefined {
  return db
    .update(breaches)
    .set(patch)
    .where(and(eq(breaches.id, id), eq(breaches.status, 'open'), unacknowledged ? isNull(breaches.ackedBy) : undefined))
    .returning()
    .get();
}

export function getOpenBlindPeriod(db: Db): BlindPeriodRow | undefined {
  return db.select().from(blindPeriods).where(isNull(blindPeriods.endedAt)).get();
}

export function openBlindPeriod(db: Db, startedAt: Date, reason: string): BlindPeriodRow {
  return db.insert(blindPeriods).values({ startedAt, reason }).returning().get();
}

/** Compare-and-set: ends the period only if it has not ended yet. */
export function endBlindPeriod(db: Db, id: number, endedAt: Date): BlindPeriodRow | undefined {
  return db
    .update(blindPeriods)
    .set({ endedAt })
    .where(and(eq(blindPeriods.id, id), isNull(blindPeriods.endedAt)))
    .returning()
    .get();
}

export function updateBlindPeriod(db: Db, id: number, patch: Partial<Omit<BlindPeriodRow, 'id'>>): BlindPeriodRow {
  return db.update(blindPeriods).set(patch).where(eq(blindPeriods.id, id)).returning().get()!;
}
