import { and, asc, count, desc, eq, inArray, ne, sql, type AnyColumn } from 'drizzle-orm';
import type { Checklist, RunStatus } from '../../core/checklists.ts';
import type { NewTickRecord, TickRecord } from '../../core/storage/checklists.ts';
import { holdsRunbookItem, snapshotChecklist, tickRecord } from '../checklist-records.ts';
import { checklistEvents, checklistRuns } from './schema.ts';
import type { PgQueryable } from './shared-queries.ts';

// The PostgreSQL twins of db/checklists.ts' queries.

export type PgChecklistRunRow = typeof checklistRuns.$inferSelect;

/** SQLite sorts NULL first, so last when descending; PostgreSQL the other way round unless told. */
const newestFirst = (column: AnyColumn) => sql`${column} desc nulls last`;

export async function createRun(
  q: PgQueryable,
  input: { checklist: Checklist; name: string | null; channel: string; startedBy: string; startedAt: Date },
): Promise<PgChecklistRunRow> {
  const [row] = await q
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
    .returning();
  return row!;
}

export async function getRun(q: PgQueryable, id: number): Promise<PgChecklistRunRow | undefined> {
  const [row] = await q.select().from(checklistRuns).where(eq(checklistRuns.id, id));
  return row;
}

export async function setRunMessage(q: PgQueryable, id: number, messageId: number): Promise<PgChecklistRunRow> {
  const [row] = await q.update(checklistRuns).set({ messageId }).where(eq(checklistRuns.id, id)).returning();
  return row!;
}

/** Ends an open run; undefined (and nothing changed) when it was no longer open. */
export async function endRun(q: PgQueryable, id: number, status: Exclude<RunStatus, 'open'>, by: string, at: Date): Promise<PgChecklistRunRow | undefined> {
  const [row] = await q
    .update(checklistRuns)
    .set({ status, endedBy: by, endedAt: at })
    .where(and(eq(checklistRuns.id, id), eq(checklistRuns.status, 'open')))
    .returning();
  return row;
}

export async function listOpenRuns(q: PgQueryable): Promise<PgChecklistRunRow[]> {
  return q.select().from(checklistRuns).where(eq(checklistRuns.status, 'open')).orderBy(asc(checklistRuns.id));
}

export async function listEndedRuns(q: PgQueryable, limit: number): Promise<PgChecklistRunRow[]> {
  return q
    .select()
    .from(checklistRuns)
    .where(ne(checklistRuns.status, 'open'))
    .orderBy(newestFirst(checklistRuns.endedAt), desc(checklistRuns.id))
    .limit(limit);
}

export async function appendTick(q: PgQueryable, runId: number, tick: NewTickRecord): Promise<number> {
  const [row] = await q
    .insert(checklistEvents)
    .values({ runId, ...tick, detail: tick.detail ?? {} })
    .returning({ id: checklistEvents.id });
  return row!.id;
}

export async function listTickRecords(q: PgQueryable, runId: number): Promise<TickRecord[]> {
  const rows = await q.select().from(checklistEvents).where(eq(checklistEvents.runId, runId)).orderBy(asc(checklistEvents.id));
  return rows.map(tickRecord);
}

export async function countTicks(q: PgQueryable, runId: number): Promise<number> {
  const [row] = await q.select({ count: count() }).from(checklistEvents).where(eq(checklistEvents.runId, runId));
  return row!.count;
}

export async function listOpenRunsWithRunbook(q: PgQueryable, runbookId: string, runIds?: readonly number[]): Promise<PgChecklistRunRow[]> {
  const filter = runIds ? and(eq(checklistRuns.status, 'open'), inArray(checklistRuns.id, [...runIds])) : eq(checklistRuns.status, 'open');
  const rows = await q.select().from(checklistRuns).where(filter).orderBy(asc(checklistRuns.id));
  return rows.filter((run) => holdsRunbookItem(run.definition, runbookId));
}

/** The most recent run of a checklist (by start), abandoned ones left out. */
export async function latestRun(q: PgQueryable, checklistId: string): Promise<PgChecklistRunRow | undefined> {
  const [row] = await q
    .select()
    .from(checklistRuns)
    .where(and(eq(checklistRuns.checklistId, checklistId), ne(checklistRuns.status, 'abandoned')))
    .orderBy(desc(checklistRuns.startedAt), desc(checklistRuns.id))
    .limit(1);
  return row;
}

export async function lastCompletedRun(q: PgQueryable, checklistId: string): Promise<PgChecklistRunRow | undefined> {
  const [row] = await q
    .select()
    .from(checklistRuns)
    .where(and(eq(checklistRuns.checklistId, checklistId), eq(checklistRuns.status, 'completed')))
    .orderBy(newestFirst(checklistRuns.endedAt), desc(checklistRuns.id))
    .limit(1);
  return row;
}
