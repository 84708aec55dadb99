import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import { TRANSITIONS, type RunStatus, type TransitionName } from '../../core/run-state.ts';
import type { AtStep } from '../../core/storage/runbooks.ts';
import { hostLocks, runApprovals, runbookRuns, runSteps } from './schema.ts';
import type { PgQueryable } from './shared-queries.ts';

// The PostgreSQL twins of db/runbooks.ts' queries, each one statement (or a short fixed sequence) on the
// pool or on the caller's transaction.

export type PgRunRow = typeof runbookRuns.$inferSelect;
export type PgStepRow = typeof runSteps.$inferSelect;
export type PgLockRow = typeof hostLocks.$inferSelect;

export async function createRun(q: PgQueryable, input: Omit<typeof runbookRuns.$inferInsert, 'id'>): Promise<PgRunRow> {
  const [row] = await q.insert(runbookRuns).values(input).returning();
  return row!;
}

export async function getRun(q: PgQueryable, id: number): Promise<PgRunRow | undefined> {
  const [row] = await q.select().from(runbookRuns).where(eq(runbookRuns.id, id));
  return row;
}

export async function updateRun(q: PgQueryable, id: number, patch: Partial<Omit<PgRunRow, 'id'>>): Promise<PgRunRow> {
  const [row] = await q.update(runbookRuns).set(patch).where(eq(runbookRuns.id, id)).returning();
  return row!;
}

/**
 * A transition of core/run-state.ts as one compare-and-set (db/runbooks.ts `transitionRun` says why):
 * undefined when the run had moved on; the run's locks go in the same transaction when it finishes.
 */
export async function transitionRun(
  q: PgQueryable,
  id: number,
  name: TransitionName,
  patch: Partial<Omit<PgRunRow, 'id' | 'status'>> = {},
  at: AtStep = {},
): Promise<{ run: PgRunRow; released: string[] } | undefined> {
  const transition = TRANSITIONS[name];
  const conditions = [eq(runbookRuns.id, id), inArray(runbookRuns.status, [...transition.from])];
  if (at.phase !== undefined) conditions.push(eq(runbookRuns.phase, at.phase));
  if (at.stepIndex !== undefined) conditions.push(eq(runbookRuns.stepIndex, at.stepIndex));
  const [changed] = await q
    .update(runbookRuns)
    .set({ ...patch, status: transition.to })
    .where(and(...conditions))
    .returning();
  if (!changed) return undefined;
  return { run: changed, released: transition.releasesLocks ? await releaseLocks(q, id) : [] };
}

/** Moves the step counter past a step that succeeded, only while the run is still at that step. */
export async function advanceStep(q: PgQueryable, id: number, phase: string, stepIndex: number, statuses: readonly RunStatus[]): Promise<PgRunRow | undefined> {
  const [row] = await q
    .update(runbookRuns)
    .set({ stepIndex: stepIndex + 1, confirmedStep: null })
    .where(and(eq(runbookRuns.id, id), eq(runbookRuns.phase, phase), eq(runbookRuns.stepIndex, stepIndex), inArray(runbookRuns.status, [...statuses])))
    .returning();
  return row;
}

export async function listRuns(q: PgQueryable, { limit = 20, statuses }: { limit?: number; statuses?: readonly RunStatus[] } = {}): Promise<PgRunRow[]> {
  return q
    .select()
    .from(runbookRuns)
    .where(statuses ? inArray(runbookRuns.status, [...statuses]) : undefined)
    .orderBy(desc(runbookRuns.id))
    .limit(limit);
}

/**
 * False when this person had approved already (the unique index). Two replicas inserting the same approval at
 * once: the second waits for the first and, under SERIALIZABLE, fails to be retried, then finds it here.
 */
export async function addApproval(q: PgQueryable, runId: number, approver: string, at: Date): Promise<boolean> {
  const inserted = await q.insert(runApprovals).values({ runId, approver, at }).onConflictDoNothing().returning();
  return inserted.length > 0;
}

export async function listApprovals(q: PgQueryable, runId: number) {
  // SQLite returns equal times in insertion order; PostgreSQL has no such order, so the approver settles ties.
  return q.select().from(runApprovals).where(eq(runApprovals.runId, runId)).orderBy(asc(runApprovals.at), asc(runApprovals.approver));
}

export async function insertStep(q: PgQueryable, input: Omit<typeof runSteps.$inferInsert, 'id' | 'status'>): Promise<PgStepRow> {
  const [row] = await q
    .insert(runSteps)
    .values({ ...input, status: 'running' })
    .returning();
  return row!;
}

export async function updateStep(q: PgQueryable, id: number, patch: Partial<Omit<PgStepRow, 'id'>>): Promise<PgStepRow | undefined> {
  const [row] = await q.update(runSteps).set(patch).where(eq(runSteps.id, id)).returning();
  return row;
}

export async function listSteps(q: PgQueryable, runId: number): Promise<PgStepRow[]> {
  return q.select().from(runSteps).where(eq(runSteps.runId, runId)).orderBy(asc(runSteps.id));
}

export async function runningSteps(q: PgQueryable, runId: number): Promise<PgStepRow[]> {
  return q
    .select()
    .from(runSteps)
    .where(and(eq(runSteps.runId, runId), eq(runSteps.status, 'running')))
    .orderBy(asc(runSteps.id));
}

/**
 * Locks every host for the run, or none: the first host held by another run is returned instead. Two replicas
 * locking the same host at once: the later insert conflicts with a row its snapshot cannot see, which
 * SERIALIZABLE turns into a retry, and the retry finds the lock held.
 */
export async function acquireLocks(
  q: PgQueryable,
  hosts: readonly string[],
  runId: number,
  lockedBy: string,
  at: Date,
): Promise<{ ok: true } | { ok: false; lock: PgLockRow }> {
  for (const host of hosts) {
    const held = await getLock(q, host);
    if (held && held.runId !== runId) return { ok: false, lock: held };
  }
  // In one order whatever the plan's: two requests locking the same hosts in opposite orders would deadlock,
  // which PostgreSQL notices only after deadlock_timeout (1 s) before the retry.
  for (const host of [...hosts].sort()) await q.insert(hostLocks).values({ host, runId, lockedBy, lockedAt: at }).onConflictDoNothing();
  return { ok: true };
}

export async function releaseLocks(q: PgQueryable, runId: number): Promise<string[]> {
  const rows = await q.delete(hostLocks).where(eq(hostLocks.runId, runId)).returning();
  return rows.map((row) => row.host);
}

export async function getLock(q: PgQueryable, host: string): Promise<PgLockRow | undefined> {
  const [row] = await q.select().from(hostLocks).where(eq(hostLocks.host, host));
  return row;
}

export async function forceReleaseLock(q: PgQueryable, host: string): Promise<PgLockRow | undefined> {
  const [row] = await q.delete(hostLocks).where(eq(hostLocks.host, host)).returning();
  return row;
}
