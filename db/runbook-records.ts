import { canApply, mayExecute, TRANSITIONS, type TransitionName } from '../core/run-state.ts';
import type { PostedMessage, RunRecord } from '../core/storage/runbooks.ts';
import type { OutboxStatus } from '../core/storage/outbox.ts';

// The decisions both dialects' runbook stores make on rows they have read (db/sqlite/runbooks.ts,
// db/postgres/runbooks.ts): the queries differ, these do not.

/** What a transition writes besides its status: a run that finishes ends now. */
export function endPatch(name: TransitionName, now: Date): { endedAt?: Date } {
  return TRANSITIONS[name].releasesLocks ? { endedAt: now } : {};
}

/** Whether an approval may be counted: the run still awaits approval (its deadline is checked apart, as `expired`). */
export function awaitsApproval<R extends Pick<RunRecord, 'status'>>(run: R | undefined): run is R {
  return run !== undefined && canApply('approve', run.status);
}

/** Whether the executor may start an attempt of this step: the run is running, at exactly that step. */
export function mayStartStep(run: Pick<RunRecord, 'status' | 'phase' | 'stepIndex'> | undefined, phase: string, stepIndex: number): boolean {
  return run !== undefined && mayExecute(run.status) && run.phase === phase && run.stepIndex === stepIndex;
}

interface OutboxRow {
  readonly status: OutboxStatus;
  readonly ts: string | null;
  readonly lastError: string | null;
}

/** A run's message as the outbox last saw it. */
export function postedMessage(row: OutboxRow | undefined): PostedMessage | undefined {
  return row ? { ts: row.ts ?? null, failed: row.status === 'failed', error: row.lastError ?? null } : undefined;
}
