import { STEP_MOVES } from '../../core/run-state.ts';
import type { FenceTokenOf } from '../../core/storage/leases.ts';
import {
  runMessageKey,
  stepMessageKey,
  type RunbookStore,
  type RunRecord,
  type RunSnapshot,
  type TransitionInput,
  type TransitionResult,
} from '../../core/storage/runbooks.ts';
import { awaitsApproval, endPatch, mayStartStep, postedMessage } from '../runbook-records.ts';
import { inPgTransaction, type PgDb, type PgTx } from './client.ts';
import { applyPgEffects, messageByKey } from './effects.ts';
import {
  acquireLocks,
  addApproval,
  advanceStep,
  createRun,
  forceReleaseLock,
  getLock,
  getRun,
  insertStep,
  listApprovals,
  listRuns,
  listSteps,
  runningSteps,
  transitionRun,
  updateRun,
  updateStep,
} from './runbook-queries.ts';
import { inPgSnapshot, messageById, type PgQueryable } from './shared-queries.ts';

const snapshot = async (q: PgQueryable, run: RunRecord): Promise<RunSnapshot> => ({
  run,
  approvals: await listApprovals(q, run.id),
  steps: await listSteps(q, run.id),
});

/**
 * The PostgreSQL implementation of the runbooks store, with db/sqlite/runbooks.ts' behaviour: each method that
 * writes is one SERIALIZABLE transaction carrying the fencing token, its effects written inside it. Two
 * replicas' concurrent calls (two approvals, a Stop and a step's start, two requests for one host) are
 * settled by the isolation: the one that would see a state the other has changed is retried from the start.
 */
export function createPgRunbookStore(db: PgDb, fenceToken: FenceTokenOf | undefined): RunbookStore {
  const write = <T>(work: (tx: PgTx) => Promise<T>): Promise<T> => inPgTransaction(db, fenceToken, work);

  /** The guarded write of `transition`, inside the caller's transaction. */
  async function transition(tx: PgTx, { id, name, at = {}, patch = {}, now, stepsInFlight, effects }: TransitionInput): Promise<TransitionResult> {
    const before = await getRun(tx, id);
    if (!before) return { ok: false, why: 'changed', run: undefined };
    if (stepsInFlight === 'refuse' && (await runningSteps(tx, id)).length > 0) return { ok: false, why: 'step_in_flight', run: before };
    if (stepsInFlight !== undefined && stepsInFlight !== 'refuse') {
      for (const step of await runningSteps(tx, id)) await updateStep(tx, step.id, { status: 'interrupted', endedAt: now, message: stepsInFlight.interrupt });
    }
    const moved = await transitionRun(tx, id, name, { ...patch, ...endPatch(name, now) }, at);
    if (!moved) return { ok: false, why: 'changed', run: before };
    await applyPgEffects(tx, effects({ ...(await snapshot(tx, moved.run)), previous: before.status, released: moved.released }));
    return { ok: true, run: moved.run };
  }

  return {
    getRun: async (id) => getRun(db, id),
    listRuns: async (query) => listRuns(db, query),
    listSteps: async (runId) => listSteps(db, runId),
    listApprovals: async (runId) => listApprovals(db, runId),
    getLock: async (host) => getLock(db, host),

    async runMessage(runId) {
      return inPgSnapshot(db, async (q) => {
        const run = await getRun(q, runId);
        return postedMessage(run?.messageId ? await messageById(q, run.messageId) : undefined);
      });
    },

    async request({ run: input, hosts, effects, refused }) {
      return write(async (tx) => {
        const run = await createRun(tx, { ...input, status: 'awaiting_approval' });
        const locked = await acquireLocks(tx, hosts, run.id, input.requester, input.createdAt);
        if (!locked.ok) {
          // The run never existed for anyone: it is recorded as refused, not left waiting.
          const cancelled = (await transitionRun(tx, run.id, 'cancel', { endedAt: input.createdAt }))!.run;
          await applyPgEffects(tx, refused({ run: cancelled, lock: locked.lock }));
          return { ok: false as const, run: cancelled, lock: locked.lock, holder: await getRun(tx, locked.lock.runId) };
        }
        await applyPgEffects(tx, effects(await snapshot(tx, run)));
        const message = await messageByKey(tx, runMessageKey(run.id));
        return { ok: true as const, run: message ? await updateRun(tx, run.id, { messageId: message.id }) : run };
      });
    },

    transition: async (input) => write((tx) => transition(tx, input)),

    async approve({ id, approver, at, suffice, effects }) {
      return write(async (tx) => {
        const run = await getRun(tx, id);
        if (!awaitsApproval(run)) return { outcome: 'changed' as const, run };
        if (run.expiresAt <= at) return { outcome: 'expired' as const, run };
        if (!(await addApproval(tx, id, approver, at))) return { outcome: 'duplicate' as const, run };
        // Settled inside the transaction: an approval committed meanwhile by another replica makes this one
        // retry (SERIALIZABLE), so the pair is counted in one order and the run is approved exactly once.
        const settles = suffice((await listApprovals(tx, id)).map((approval) => approval.approver));
        const approved = settles ? (await transitionRun(tx, id, 'approve'))?.run : undefined;
        if (settles && !approved) throw new Error(`run ${id} left awaiting_approval inside its own transaction`);
        const current = approved ?? run;
        await applyPgEffects(tx, effects({ ...(await snapshot(tx, current)), approved: Boolean(approved) }));
        return { outcome: approved ? ('approved' as const) : ('counted' as const), run: current };
      });
    },

    async startStep({ runId, phase, stepIndex, stepId, host, command, startedAt, effects }) {
      return write(async (tx) => {
        const run = await getRun(tx, runId);
        if (!run || !mayStartStep(run, phase, stepIndex)) return undefined;
        const attempt = await insertStep(tx, { runId, phase, stepIndex, stepId, host, command, startedAt });
        await applyPgEffects(tx, effects({ ...(await snapshot(tx, run)), attempt }));
        const message = await messageByKey(tx, stepMessageKey(runId, attempt.id));
        return message ? await updateStep(tx, attempt.id, { messageId: message.id }) : attempt;
      });
    },

    async finishStep({ attemptId, end, next, now, effects }) {
      return write(async (tx) => {
        const attempt = await updateStep(tx, attemptId, end);
        if (!attempt) throw new Error(`no step attempt ${attemptId} to finish`);
        const at = { phase: attempt.phase, stepIndex: attempt.stepIndex };
        let moved: RunRecord | undefined;
        let released: string[] = [];
        if ('move' in next) {
          moved = await advanceStep(tx, attempt.runId, at.phase, at.stepIndex, STEP_MOVES[next.move]);
        } else {
          const transitioned = await transitionRun(tx, attempt.runId, next.transition, endPatch(next.transition, now), at);
          moved = transitioned?.run;
          released = transitioned?.released ?? [];
        }
        const run = moved ?? (await getRun(tx, attempt.runId))!;
        const finished = { ...(await snapshot(tx, run)), attempt, moved: Boolean(moved), released };
        await applyPgEffects(tx, effects(finished));
        return finished;
      });
    },

    async show(runIds, effects) {
      await write(async (tx) => {
        const snapshots: RunSnapshot[] = [];
        for (const id of runIds) {
          const run = await getRun(tx, id);
          if (run) snapshots.push(await snapshot(tx, run));
        }
        await applyPgEffects(tx, effects(snapshots));
      });
    },

    async releaseLock(host, effects) {
      return write(async (tx) => {
        const released = await forceReleaseLock(tx, host);
        if (released) await applyPgEffects(tx, effects(released));
        return released;
      });
    },
  };
}
