import { runMessageKey } from '../../core/checklists.ts';
import type { ChecklistRunState, ChecklistStore } from '../../core/storage/checklists.ts';
import { runMessageRecord } from '../checklist-records.ts';
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
  type ChecklistRunRow,
} from '../checklists.ts';
import { inTransaction, type Db } from '../client.ts';
import { getMessage, getMessageByKey } from '../outbox.ts';
import { applyEffects } from './effects.ts';

/** A run with its history and its message, read as one (inside the caller's transaction, if any). */
export function runState(db: Db, run: ChecklistRunRow): ChecklistRunState {
  const message = runMessageRecord(run.messageId ? getMessage(db, run.messageId) : undefined);
  return { run, ticks: listTickRecords(db, run.id), message };
}

/** The latest run of a checklist, abandoned ones left out, read synchronously (what the runbook runner's gate reads today). */
export function latestRunState(db: Db, checklistId: string): ChecklistRunState | undefined {
  const run = latestRun(db, checklistId);
  return run ? runState(db, run) : undefined;
}

/** The SQLite implementation of the checklists store: each method that writes several rows is one transaction. */
export function createSqliteChecklistStore(db: Db): ChecklistStore {
  return {
    async start(input, effects) {
      return inTransaction(db, () => {
        const created = createRun(db, input);
        applyEffects(db, effects(runState(db, created)));
        const message = getMessageByKey(db, runMessageKey(created.id));
        return runState(db, message ? setRunMessage(db, created.id, message.id) : created);
      });
    },

    async get(runId) {
      const run = getRun(db, runId);
      return run ? runState(db, run) : undefined;
    },

    async change(change, effects) {
      return inTransaction(db, () => {
        const run = getRun(db, change.runId);
        if (run?.status !== 'open') return undefined;
        if (change.seenTicks !== undefined && countTicks(db, run.id) !== change.seenTicks) return undefined;
        const appendedIds = (change.ticks ?? []).map((tick) => appendTick(db, { runId: run.id, ...tick }).id);
        const after = change.end ? endRun(db, run.id, change.end.status, change.end.by, change.end.at)! : run;
        const state = runState(db, after);
        const changed = { ...state, appended: state.ticks.filter((tick) => appendedIds.includes(tick.id)) };
        applyEffects(db, effects(changed));
        return changed;
      });
    },

    async listOpen() {
      return listOpenRuns(db).map((run) => runState(db, run));
    },

    async listEnded(limit) {
      return listEndedRuns(db, limit).map((run) => runState(db, run));
    },

    async listOpenWithRunbook(runbookId, runIds) {
      return listOpenRunsWithRunbook(db, runbookId, runIds).map((run) => run.id);
    },

    async latest(checklistId) {
      return latestRunState(db, checklistId);
    },

    async lastCompleted(checklistId) {
      return lastCompletedRun(db, checklistId);
    },
  };
}
