import type { CompletedRunRecord } from '../core/storage/checklists.ts';
import { and, asc, count, desc, eq, inArray, ne } from 'drizzle-orm';
import type { Checklist, RunStatus, TickAction, TickEvent, TickSource } from '../core/checklists.ts';
import { completedRunRecord, holdsRunbookItem, snapshotChecklist, tickRecord } from './checklist-records.ts';
import type { TickRecord } from '../core/storage/checklists.ts';
import type { Db } from './client.ts';
import { checklistEvents, checklistRuns } from './schema.ts';

export type ChecklistRunRow = typeof checklistRuns.$inferSelect;
export type ChecklistEventRow = typeof checklistEvents.$inferSelect;

export interface NewRun {
  checklist: Checklist;
  name: string | null;
  channel: string;
  startedBy: string;
  startedAt: Date;
}

export function createRun(db: Db, input: NewRun): ChecklistRunRow {
  return db
    .insert(checklistRuns)
    .values({
      checklistId: input.checklist.id,
      name: input.name,
      definition: snapshotChecklist(input.checklist),
      channel: input.channel,
      status: 'open',
      startedBy: input.startedBy,
      startedAt: input.startedAt,
    })
    .returning()
    .get();
}

export function getRun(db: Db, id: number): ChecklistRunRow | undefined {
  return db.select().from(checklistRuns).where(eq(checklistRuns.id, id)).get();
}

export function setRunMessage(db: Db, id: number, messageId: number): ChecklistRunRow {
  return db.update(checklistRuns).set({ messageId }).where(eq(checklistRuns.id, id)).returning().get()!;
}

/** Ends an open run; returns undefined (and changes nothing) when it was no longer open. */
export function endRun(db: Db, id: number, status: Exclude<RunStatus, 'open'>, by: string, at: Date): ChecklistRunRow | undefined {
  return db
    .update(checklistRuns)
    .set({ status, endedBy: by, endedAt: at })
    .where(and(eq(checklistRuns.id, id), eq(checklistRuns.status, 'open')))
    .returning()
    .get();
}

/** Open runs, oldest first. */
export function listOpenRuns(db: Db): ChecklistRunRow[] {
  return db.select().from(checklistRuns).where(eq(checklistRuns.status, 'open')).orderBy(asc(checklistRuns.id)).all();
}

/** Runs that ended (completed, closed or abandoned), the most recent first. */
export function listEndedRuns(db: Db, limit = 5): ChecklistRunRow[] {
  return db
    .select()
    .from(checklistRuns)
    .where(ne(checklistRuns.status, 'open'))
    .orderBy(desc(checklistRuns.endedAt), desc(checklistRuns.id))
    .limit(limit)
    .all();
}

export interface NewTick {
  runId: number;
  itemId: string;
  action: TickAction;
  actor: string;
  at: Date;
  source: TickSource;
  detail?: Record<string, unknown>;
}

/** Appends one tick or untick to a run's history. */
export function appendTick(db: Db, input: NewTick): ChecklistEventRow {
  return db
    .insert(checklistEvents)
    .values({ ...input, detail: input.detail ?? {} })
    .returning()
    .get();
}

/** A run's history, oldest first, as the state machine reads it. */
export function listTicks(db: Db, runId: number): TickEvent[] {
  return listTickRecords(db, runId).map(({ id: _id, ...tick }) => tick);
}

/** The same, each tick with its id (its place in the history). */
export function listTickRecords(db: Db, runId: number): TickRecord[] {
  return db.select().from(checklistEvents).where(eq(checklistEvents.runId, runId)).orderBy(asc(checklistEvents.id)).all().map(tickRecord);
}

export function countTicks(db: Db, runId: number): number {
  return db.select({ count: count() }).from(checklistEvents).where(eq(checklistEvents.runId, runId)).get()!.count;
}

/** Open runs holding an item whose action is this runbook (candidates for tickItemsForRunbook). */
export function listOpenRunsWithRunbook(db: Db, runbookId: string, runIds?: readonly number[]): ChecklistRunRow[] {
  const filter = runIds ? and(eq(checklistRuns.status, 'open'), inArray(checklistRuns.id, [...runIds])) : eq(checklistRuns.status, 'open');
  return db
    .select()
    .from(checklistRuns)
    .where(filter)
    .orderBy(asc(checklistRuns.id))
    .all()
    .filter((run) => holdsRunbookItem(run.definition, runbookId));
}

/** The most recent run of a checklist (by start), leaving out abandoned ones: the operation in progress, or the last one done. */
export function latestRun(db: Db, checklistId: string): ChecklistRunRow | undefined {
  return db
    .select()
    .from(checklistRuns)
    .where(and(eq(checklistRuns.checklistId, checklistId), ne(checklistRuns.status, 'abandoned')))
    .orderBy(desc(checklistRuns.startedAt), desc(checklistRuns.id))
    .limit(1)
    .get();
}

/** The port's record (core/storage/checklists.ts), under the name this module has always used. */
export type CompletedRun = CompletedRunRecord;

/**
 * The most recent run of a checklist that was completed (closed with every item ticked), or undefined.
 * The advisor reads this: "optimized first" is yes when the `optimize` checklist was completed. A run closed
 * with items open, or abandoned, does not count.
 */
export function lastCompletedRun(db: Db, checklistId: string): CompletedRun | undefined {
  const row = db
    .select()
    .from(checklistRuns)
    .where(and(eq(checklistRuns.checklistId, checklistId), eq(checklistRuns.status, 'completed')))
    .orderBy(desc(checklistRuns.endedAt), desc(checklistRuns.id))
    .limit(1)
    .get();
  return completedRunRecord(row);
}
