import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Db } from './client.ts';
import { hostLocks, runApprovals, runbookRuns, runSteps } from './schema.ts';
import { TRANSITIONS, type RunStatus, type TransitionName } from '../core/run-state.ts';

export type RunRow = typeof runbookRuns.$inferSelect;
export type StepRow = typeof runSteps.$inferSelect;
export type LockRow = typeof hostLocks.$inferSelect;

export type { RunStatus } from '../core/run-state.ts';
export { FINISHED_STATUSES } from '../core/run-state.ts';

export function createRun(db: Db, input: Omit<typeof runbookRuns.$inferInsert, 'id'>): RunRow {
  return db.insert(runbookRuns).values(input).returning().get();
}

export function getRun(db: Db, id: number): RunRow | undefined {
  return db.select().from(runbookRuns).where(eq(runbookRuns.id, id)).get();
}

export function updateRun(db: Db, id: number, patch: Partial<Omit<RunRow, 'id'>>): RunRow {
  return db.update(runbookRuns).set(patch).where(eq(runbookRuns.id, id)).returning().get()!;
}

/**
 * Applies a transition of core/run-state.ts as one compare-and-set: the row changes only while its status is
 * one the transition leaves from (and, when given, while it is at that phase and step). Undefined when the run
 * had changed meanwhile: the caller changes nothing and says so. Locks are released in the same statement set
 * when the transition ends the run; call it inside the transaction that records why.
 */
export function transitionRun(
  db: Db,
  id: number,
  name: TransitionName,
  patch: Partial<Omit<RunRow, 'id' | 'status'>> = {},
  at: { phase?: string; stepIndex?: number } = {},
): { run: RunRow; released: string[] } | undefined {
  const transition = TRANSITIONS[name];
  const conditions = [eq(runbookRuns.id, id), inArray(runbookRuns.status, [...transition.from])];
  if (at.phase !== undefined) conditions.push(eq(runbookRuns.phase, at.phase));
  if (at.stepIndex !== undefined) conditions.push(eq(runbookRuns.stepIndex, at.stepIndex));
  const changed = db
    .update(runbookRuns)
    .set({ ...patch, status: transition.to })
    .where(and(...conditions))
    .returning()
    .get();
  if (!changed) return undefined;
  return { run: changed, released: transition.releasesLocks ? releaseLocks(db, id) : [] };
}

/** Moves the step counter past a step that succeeded, only while the run is still at that step. */
export function advanceStep(db: Db, id: number, phase: string, stepIndex: number, statuses: readonly RunStatus[]): RunRow | undefined {
  return db
    .update(runbookRuns)
    .set({ stepIndex: stepIndex + 1, confirmedStep: null })
    .where(and(eq(runbookRuns.id, id), eq(runbookRuns.phase, phase), eq(runbookRuns.stepIndex, stepIndex), inArray(runbookRuns.status, [...statuses])))
    .returning()
    .get();
}

export function listRuns(db: Db, { limit = 20, statuses }: { limit?: number; statuses?: readonly RunStatus[] } = {}): RunRow[] {
  return db
    .select()
    .from(runbookRuns)
    .where(statuses ? inArray(runbookRuns.status, [...statuses]) : undefined)
    .orderBy(desc(runbookRuns.id))
    .limit(limit)
    .all();
}

/** False when this person had approved already (one approval per person, enforced by a unique index). */
export function addApproval(db: Db, runId: number, approver: string, at: Date): boolean {
  const inserted = db.insert(runApprovals).values({ runId, approver, at }).onConflictDoNothing().returning().get();
  return Boolean(inserted);
}

export function listApprovals(db: Db, runId: number) {
  return db.select().from(runApprovals).where(eq(runApprovals.runId, runId)).orderBy(runApprovals.at).all();
}

export function startStep(db: Db, input: Omit<typeof runSteps.$inferInsert, 'id' | 'status'>): StepRow {
  return db
    .insert(runSteps)
    .values({ ...input, status: 'running' })
    .returning()
    .get();
}

export function updateStep(db: Db, id: number, patch: Partial<Omit<StepRow, 'id'>>): StepRow {
  return db.update(runSteps).set(patch).where(eq(runSteps.id, id)).returning().get()!;
}

export function listSteps(db: Db, runId: number): StepRow[] {
  return db.select().from(runSteps).where(eq(runSteps.runId, runId)).orderBy(runSteps.id).all();
}

export function runningSteps(db: Db, runId: number): StepRow[] {
  return db
    .select()
    .from(runSteps)
    .where(and(eq(runSteps.runId, runId), eq(runSteps.status, 'running')))
    .all();
}

/** Locks every host for the run, or none: the first host held by another run is returned instead. */
export function acquireLocks(db: Db, hosts: readonly string[], runId: number, lockedBy: string, at: Date): { ok: true } | { ok: false; lock: LockRow } {
  for (const host of hosts) {
    const held = db.select().from(hostLocks).where(eq(hostLocks.host, host)).get();
    if (held && held.runId !== runId) return { ok: false, lock: held };
  }
  for (const host of hosts) db.insert(hostLocks).values({ host, runId, lockedBy, lockedAt: at }).onConflictDoNothing().run();
  return { ok: true };
}

export function releaseLocks(db: Db, runId: number): string[] {
  return db
    .delete(hostLocks)
    .where(eq(hostLocks.runId, runId))
    .returning()
    .all()
    .map((row) => row.host);
}

export function getLock(db: Db, host: string): LockRow | undefined {
  return db.select().from(hostLocks).where(eq(hostLocks.host, host)).get();
}

export function forceReleaseLock(db: Db, host: string): LockRow | undefined {
  return db.delete(hostLocks).where(eq(hostLocks.host, host)).returning().get();
}
