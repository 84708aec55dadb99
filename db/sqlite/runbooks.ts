import { STEP_MOVES } from '../../core/run-state.ts';
import {
  runMessageKey,
  stepMessageKey,
  type RunbookStore,
  type RunRecord,
  type RunSnapshot,
  type TransitionInput,
  type TransitionResult,
} from '../../core/storage/runbooks.ts';
import { inTransaction, type Db } from '../client.ts';
import { getMessage, getMessageByKey } from '../outbox.ts';
import {
  acquireLocks,
  addApproval,
  advanceStep,
  createRun,
  forceReleaseLock,
  getLock,
  getRun,
  listApprovals,
  listRuns,
  listSteps,
  runningSteps,
  startStep,
  transitionRun,
  updateRun,
  updateStep,
} from '../runbooks.ts';
import { awaitsApproval, endPatch, mayStartStep, postedMessage } from '../runbook-records.ts';
import { applyEffects } from './effects.ts';

/** The SQLite implementation of the runbooks store: each method that writes several rows is one transaction. */
export function createSqliteRunbookStore(db: Db): RunbookStore {
  const snapshot = (run: RunRecord): RunSnapshot => ({ run, approvals: listApprovals(db, run.id), steps: listSteps(db, run.id) });

  /** The guarded write of `transition`, inside the caller's transaction. */
  function transition({ id, name, at = {}, patch = {}, now, stepsInFlight, effects }: TransitionInput): TransitionResult {
    const before = getRun(db, id);
    if (!before) return { ok: false, why: 'changed', run: undefined };
    if (stepsInFlight === 'refuse' && runningSteps(db, id).length > 0) return { ok: false, why: 'step_in_flight', run: before };
    if (stepsInFlight !== undefined && stepsInFlight !== 'refuse') {
      for (const step of runningSteps(db, id)) updateStep(db, step.id, { status: 'interrupted', endedAt: now, message: stepsInFlight.interrupt });
    }
    const moved = transitionRun(db, id, name, { ...patch, ...endPatch(name, now) }, at);
    if (!moved) return { ok: false, why: 'changed', run: before };
    applyEffects(db, effects({ ...snapshot(moved.run), previous: before.status, released: moved.released }));
    return { ok: true, run: moved.run };
  }

  return {
    getRun: async (id) => getRun(db, id),
    listRuns: async (query) => listRuns(db, query),
    listSteps: async (runId) => listSteps(db, runId),
    listApprovals: async (runId) => listApprovals(db, runId),
    getLock: async (host) => getLock(db, host),

    async runMessage(runId) {
      const run = getRun(db, runId);
      return postedMessage(run?.messageId ? getMessage(db, run.messageId) : undefined);
    },

    async request({ run: input, hosts, effects, refused }) {
      return inTransaction(db, () => {
        const run = createRun(db, { ...input, status: 'awaiting_approval' });
        const locked = acquireLocks(db, hosts, run.id, input.requester, input.createdAt);
        if (!locked.ok) {
          // The run never existed for anyone: it is recorded as refused, not left waiting.
          const cancelled = transitionRun(db, run.id, 'cancel', { endedAt: input.createdAt })!.run;
          applyEffects(db, refused({ run: cancelled, lock: locked.lock }));
          return { ok: false as const, run: cancelled, lock: locked.lock, holder: getRun(db, locked.lock.runId) };
        }
        applyEffects(db, effects(snapshot(run)));
        const message = getMessageByKey(db, runMessageKey(run.id));
        return { ok: true as const, run: message ? updateRun(db, run.id, { messageId: message.id }) : run };
      });
    },

    transition: async (input) => inTransaction(db, () => transition(input)),

    async approve({ id, approver, at, suffice, effects }) {
      return inTransaction(db, () => {
        const run = getRun(db, id);
        if (!awaitsApproval(run)) return { outcome: 'changed' as const, run };
        if (run.expiresAt <= at) return { outcome: 'expired' as const, run };
        if (!addApproval(db, id, approver, at)) return { outcome: 'duplicate' as const, run };
        // Settled inside the transaction, so a second approval arriving at the same moment cannot start it twice.
        const settles = suffice(listApprovals(db, id).map((approval) => approval.approver));
        const approved = settles ? transitionRun(db, id, 'approve')?.run : undefined;
        if (settles && !approved) throw new Error(`run ${id} left awaiting_approval inside its own transaction`);
        const current = approved ?? run;
        applyEffects(db, effects({ ...snapshot(current), approved: Boolean(approved) }));
        return { outcome: approved ? ('approved' as const) : ('counted' as const), run: current };
      });
    },

    async startStep({ runId, phase, stepIndex, stepId, host, command, startedAt, effects }) {
      return inTransaction(db, () => {
        const run = getRun(db, runId);
        if (!run || !mayStartStep(run, phase, stepIndex)) return undefined;
        const attempt = startStep(db, { runId, phase, stepIndex, stepId, host, command, startedAt });
        applyEffects(db, effects({ ...snapshot(run), attempt }));
        const message = getMessageByKey(db, stepMessageKey(runId, attempt.id));
        return message ? updateStep(db, attempt.id, { messageId: message.id }) : attempt;
      });
    },

    async finishStep({ attemptId, end, next, now, effects }) {
      return inTransaction(db, () => {
        const attempt = updateStep(db, attemptId, end);
        const at = { phase: attempt.phase, stepIndex: attempt.stepIndex };
        let moved: RunRecord | undefined;
        let released: string[] = [];
        if ('move' in next) {
          moved = advanceStep(db, attempt.runId, at.phase, at.stepIndex, STEP_MOVES[next.move]);
        } else {
          const transitioned = transitionRun(db, attempt.runId, next.transition, endPatch(next.transition, now), at);
          moved = transitioned?.run;
          released = transitioned?.released ?? [];
        }
        const run = moved ?? getRun(db, attempt.runId)!;
        const finished = { ...snapshot(run), attempt, moved: Boolean(moved), released };
        applyEffects(db, effects(finished));
        return finished;
      });
    },

    async show(runIds, effects) {
      inTransaction(db, () => {
        const snapshots = runIds
          .map((id) => getRun(db, id))
          .filter((run) => run !== undefined)
          .map(snapshot);
        applyEffects(db, effects(snapshots));
      });
    },

    async releaseLock(host, effects) {
      return inTransaction(db, () => {
        const released = forceReleaseLock(db, host);
        if (released) applyEffects(db, effects(released));
        return released;
      });
    },
  };
}
