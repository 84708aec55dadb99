import { runMessageKey } from '../../core/checklists.ts';
import type { ChecklistRunState, ChecklistStore } from '../../core/storage/checklists.ts';
import type { FenceTokenOf } from '../../core/storage/leases.ts';
import { completedRunRecord, runMessageRecord } from '../checklist-records.ts';
import { inPgTransaction, type PgDb } from './client.ts';
import {
  appendTick,
  countTicks,
  createRun,
  endRun,
  getRun,
  lastCompletedRun,
  latestRun,
  listEndedRuns,
  listOpenRuns,
  listOpenRunsWithRunbook,
  listTickRecords,
  setRunMessage,
  type PgChecklistRunRow,
} from './checklist-queries.ts';
import { applyPgEffects, messageByKey } from './effects.ts';
import { inPgSnapshot, messageById, type PgQueryable } from './shared-queries.ts';

/** A run with its history and its message, read on `q` (the caller's transaction or snapshot). */
async function runState(q: PgQueryable, run: PgChecklistRunRow): Promise<ChecklistRunState> {
  const message = runMessageRecord(run.messageId ? await messageById(q, run.messageId) : undefined);
  return { run, ticks: await listTickRecords(q, run.id), message };
}

async function runStates(q: PgQueryable, runs: readonly PgChecklistRunRow[]): Promise<ChecklistRunState[]> {
  const states: ChecklistRunState[] = [];
  for (const run of runs) states.push(await runState(q, run));
  return states;
}

/**
 * The PostgreSQL implementation of the checklists store, with db/sqlite/checklists.ts' behaviour: `start` and
 * `change` are each one SERIALIZABLE transaction carrying the fencing token. Two replicas ticking the same run
 * on the same history at once: one commits, the other is retried, finds the history moved on and writes nothing.
 */
export function createPgChecklistStore(db: PgDb, fenceToken: FenceTokenOf | undefined): ChecklistStore {
  return {
    async start(input, effects) {
      return inPgTransaction(db, fenceToken, async (tx) => {
        const created = await createRun(tx, input);
        await applyPgEffects(tx, effects(await runState(tx, created)));
        const message = await messageByKey(tx, runMessageKey(created.id));
        return runState(tx, message ? await setRunMessage(tx, created.id, message.id) : created);
      });
    },

    async get(runId) {
      return inPgSnapshot(db, async (q) => {
        const run = await getRun(q, runId);
        return run ? runState(q, run) : undefined;
      });
    },

    async change(change, effects) {
      return inPgTransaction(db, fenceToken, async (tx) => {
        const run = await getRun(tx, change.runId);
        if (run?.status !== 'open') return undefined;
        if (change.seenTicks !== undefined && (await countTicks(tx, run.id)) !== change.seenTicks) return undefined;
        const appendedIds: number[] = [];
        for (const tick of change.ticks ?? []) appendedIds.push(await appendTick(tx, run.id, tick));
        const after = change.end ? (await endRun(tx, run.id, change.end.status, change.end.by, change.end.at))! : run;
        const state = await runState(tx, after);
        const changed = { ...state, appended: state.ticks.filter((tick) => appendedIds.includes(tick.id)) };
        await applyPgEffects(tx, effects(changed));
        return changed;
      });
    },

    listOpen: async () => inPgSnapshot(db, async (q) => runStates(q, await listOpenRuns(q))),
    listEnded: async (limit) => inPgSnapshot(db, async (q) => runStates(q, await listEndedRuns(q, limit))),
    listOpenWithRunbook: async (runbookId, runIds) => (await listOpenRunsWithRunbook(db, runbookId, runIds)).map((run) => run.id),

    async latest(checklistId) {
      return inPgSnapshot(db, async (q) => {
        const run = await latestRun(q, checklistId);
        return run ? runState(q, run) : undefined;
      });
    },

    lastCompleted: async (checklistId) => completedRunRecord(await lastCompletedRun(db, checklistId)),
  };
}
