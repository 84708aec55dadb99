import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Checklist } from '../../core/checklists.ts';
import {
  appendTick,
  createRun,
  endRun,
  getRun,
  lastCompletedRun,
  listEndedRuns,
  listOpenRuns,
  listOpenRunsWithRunbook,
  listTicks,
} from '../../db/checklists.ts';
import { openDatabase, type DatabaseHandle } from '../../db/client.ts';
import { listDecisions } from '../../db/decision-log.ts';
import { getMessageByKey } from '../../db/outbox.ts';
import { createSqliteChecklistStore } from '../../db/sqlite/checklists.ts';
import { runMessageKey } from '../../core/checklists.ts';
import type { Effects } from '../../core/storage/effects.ts';

const handles: DatabaseHandle[] = [];
afterEach(() => {
  for (const handle of handles.splice(0)) handle.close();
});

function open(file = join(mkdtempSync(join(tmpdir(), 'scalebot-db-')), 'scalebot.db')) {
  const handle = openDatabase(file);
  handles.push(handle);
  return handle;
}

const OPTIMIZE: Checklist = {
  id: 'optimize',
  title: 'Performance optimization before scaling',
  responders: ['U0LEAD'],
  items: [
    { id: 'db_indexes', text: 'Add missing indexes', section: 'Database optimization' },
    { id: 'backup', text: 'Create full backup', action: { kind: 'runbook', runbook: 'backup' } },
  ],
};
const at = (minutes: number) => new Date(Date.UTC(2026, 10, 28, 10, minutes));

describe('checklist runs in SQLite', () => {
  it('keeps the checklist as it was at the start and every tick and untick, in order', () => {
    const { db } = open();
    const run = createRun(db, { checklist: OPTIMIZE, name: 'move to CPX51', channel: 'C1', startedBy: 'U1', startedAt: at(0) });
    expect(run).toMatchObject({ checklistId: 'optimize', name: 'move to CPX51', status: 'open', channel: 'C1' });
    expect(run.definition).toEqual({
      title: 'Performance optimization before scaling',
      responders: ['U0LEAD'],
      items: [
        { id: 'db_indexes', text: 'Add missing indexes', section: 'Database optimization' },
        { id: 'backup', text: 'Create full backup', action: { kind: 'runbook', runbook: 'backup' } },
      ],
    });
    appendTick(db, { runId: run.id, itemId: 'db_indexes', action: 'tick', actor: 'U1', at: at(1), source: 'click' });
    appendTick(db, { runId: run.id, itemId: 'db_indexes', action: 'untick', actor: 'U2', at: at(2), source: 'click' });
    appendTick(db, { runId: run.id, itemId: 'backup', action: 'tick', actor: 'U3', at: at(3), source: 'runbook', detail: { runbook: 'backup' } });
    expect(listTicks(db, run.id)).toEqual([
      { itemId: 'db_indexes', action: 'tick', actor: 'U1', at: at(1), source: 'click' },
      { itemId: 'db_indexes', action: 'untick', actor: 'U2', at: at(2), source: 'click' },
      { itemId: 'backup', action: 'tick', actor: 'U3', at: at(3), source: 'runbook', detail: { runbook: 'backup' } },
    ]);
  });

  it('keeps the history append-only: SQLite itself refuses UPDATE and DELETE', () => {
    const handle = open();
    const run = createRun(handle.db, { checklist: OPTIMIZE, name: null, channel: 'C1', startedBy: 'U1', startedAt: at(0) });
    appendTick(handle.db, { runId: run.id, itemId: 'db_indexes', action: 'tick', actor: 'U1', at: at(1), source: 'click' });
    expect(() => handle.sqlite.prepare("UPDATE checklist_events SET actor = 'U9'").run()).toThrow(/append-only/);
    expect(() => handle.sqlite.prepare('DELETE FROM checklist_events').run()).toThrow(/append-only/);
    expect(() => appendTick(handle.db, { runId: 999, itemId: 'x', action: 'tick', actor: 'U1', at: at(1), source: 'click' })).toThrow(/FOREIGN KEY/);
  });

  it('ends a run once: a second end changes nothing', () => {
    const { db } = open();
    const run = createRun(db, { checklist: OPTIMIZE, name: null, channel: 'C1', startedBy: 'U1', startedAt: at(0) });
    expect(endRun(db, run.id, 'abandoned', 'U2', at(5))).toMatchObject({ status: 'abandoned', endedBy: 'U2', endedAt: at(5) });
    expect(endRun(db, run.id, 'completed', 'U3', at(6))).toBeUndefined();
    expect(getRun(db, run.id)).toMatchObject({ status: 'abandoned', endedBy: 'U2' });
    expect(listOpenRuns(db)).toEqual([]);
    expect(listEndedRuns(db).map((row) => row.id)).toEqual([run.id]);
  });

  it('lastCompletedRun: the latest completed run of a checklist; closed and abandoned runs do not count', () => {
    const { db } = open();
    expect(lastCompletedRun(db, 'optimize')).toBeUndefined();
    const first = createRun(db, { checklist: OPTIMIZE, name: 'first', channel: 'C1', startedBy: 'U1', startedAt: at(0) });
    endRun(db, first.id, 'completed', 'U2', at(10));
    const second = createRun(db, { checklist: OPTIMIZE, name: 'second', channel: 'C2', startedBy: 'U3', startedAt: at(20) });
    endRun(db, second.id, 'completed', 'U4', at(30));
    const closed = createRun(db, { checklist: OPTIMIZE, name: 'closed', channel: 'C1', startedBy: 'U1', startedAt: at(40) });
    endRun(db, closed.id, 'closed', 'U1', at(50));
    const abandoned = createRun(db, { checklist: OPTIMIZE, name: 'abandoned', channel: 'C1', startedBy: 'U1', startedAt: at(41) });
    endRun(db, abandoned.id, 'abandoned', 'U1', at(51));
    createRun(db, { checklist: OPTIMIZE, name: 'open', channel: 'C1', startedBy: 'U1', startedAt: at(55) });
    expect(lastCompletedRun(db, 'optimize')).toEqual({
      runId: second.id,
      checklistId: 'optimize',
      name: 'second',
      title: 'Performance optimization before scaling',
      channel: 'C2',
      startedBy: 'U3',
      startedAt: at(20),
      completedBy: 'U4',
      completedAt: at(30),
    });
    expect(lastCompletedRun(db, 'before')).toBeUndefined();
  });

  it('finds the open runs with an item for a runbook', () => {
    const { db } = open();
    const withBackup = createRun(db, { checklist: OPTIMIZE, name: null, channel: 'C1', startedBy: 'U1', startedAt: at(0) });
    createRun(db, { checklist: { ...OPTIMIZE, id: 'other', items: [{ id: 'a', text: 'A' }] }, name: null, channel: 'C1', startedBy: 'U1', startedAt: at(0) });
    const ended = createRun(db, { checklist: OPTIMIZE, name: null, channel: 'C1', startedBy: 'U1', startedAt: at(0) });
    endRun(db, ended.id, 'abandoned', 'U1', at(1));
    expect(listOpenRunsWithRunbook(db, 'backup').map((run) => run.id)).toEqual([withBackup.id]);
    expect(listOpenRunsWithRunbook(db, 'backup', [ended.id])).toEqual([]);
    expect(listOpenRunsWithRunbook(db, 'restore')).toEqual([]);
  });
});

describe('the checklist store (SQLite)', () => {
  const decision = (kind: string, runId: number): Effects['decisions'] => [{ at: at(1), kind, actor: 'U1', subject: 'optimize', detail: { run_id: runId } }];

  async function started() {
    const handle = open();
    const store = createSqliteChecklistStore(handle.db);
    const state = await store.start({ checklist: OPTIMIZE, name: null, channel: 'C1', startedBy: 'U1', startedAt: at(0) }, (created) => ({
      messages: [{ kind: 'post', key: runMessageKey(created.run.id), channel: 'C1', payload: { text: 'run' }, at: at(0) }],
      decisions: decision('checklist_started', created.run.id),
    }));
    return { handle, store, state };
  }

  it('starts a run with its message and decision in one transaction, and links the message', async () => {
    const { handle, state } = await started();
    expect(state.message).toMatchObject({ key: runMessageKey(state.run.id), status: 'pending', ts: null });
    expect(getRun(handle.db, state.run.id)!.messageId).toBe(getMessageByKey(handle.db, runMessageKey(state.run.id))!.id);
    expect(listDecisions(handle.db, { kinds: ['checklist_started'] })).toHaveLength(1);
  });

  it('applies a change only while the run is open and its history is as seen, with its effects', async () => {
    const { handle, store, state } = await started();
    const tickBy = (actor: string) => ({ itemId: 'db_indexes', action: 'tick' as const, actor, at: at(2), source: 'click' as const });
    const changed = await store.change({ runId: state.run.id, seenTicks: 0, ticks: [tickBy('U1')] }, (written) => ({
      decisions: decision('checklist_tick', written.run.id),
      messages: [{ kind: 'edit', key: runMessageKey(written.run.id), payload: { text: `${written.ticks.length} done` } }],
    }));
    expect(changed?.appended).toMatchObject([{ itemId: 'db_indexes', actor: 'U1' }]);
    expect(getMessageByKey(handle.db, runMessageKey(state.run.id))!.payload).toMatchObject({ text: '1 done' });

    // Decided on the history before that tick: refused, and nothing of it written.
    const effects = () => ({ decisions: decision('checklist_tick', state.run.id) });
    expect(await store.change({ runId: state.run.id, seenTicks: 0, ticks: [tickBy('U2')] }, effects)).toBeUndefined();
    expect(listTicks(handle.db, state.run.id).map((tick) => tick.actor)).toEqual(['U1']);

    const ended = await store.change({ runId: state.run.id, seenTicks: 1, end: { status: 'closed', by: 'U2', at: at(3) } }, () => ({}));
    expect(ended?.run).toMatchObject({ status: 'closed', endedBy: 'U2' });
    // Ended: no change applies any more, guarded or not.
    expect(await store.change({ runId: state.run.id, ticks: [tickBy('U3')] }, effects)).toBeUndefined();
    expect(await store.change({ runId: state.run.id, end: { status: 'abandoned', by: 'U3', at: at(4) } }, effects)).toBeUndefined();
    expect(await store.change({ runId: 999, ticks: [] }, effects)).toBeUndefined();
    expect(listDecisions(handle.db, { kinds: ['checklist_tick'] })).toHaveLength(1);
    expect(getRun(handle.db, state.run.id)).toMatchObject({ status: 'closed', endedBy: 'U2' });
  });

  it('writes nothing of a change whose effects fail', async () => {
    const { handle, store, state } = await started();
    const failing = store.change(
      { runId: state.run.id, seenTicks: 0, ticks: [{ itemId: 'db_indexes', action: 'tick', actor: 'U1', at: at(2), source: 'click' }] },
      () => ({
        messages: [{ kind: 'edit', key: 'checklist:no-such-message', payload: { text: 'x' } }],
      }),
    );
    await expect(failing).rejects.toThrow(/no message with key/);
    expect(listTicks(handle.db, state.run.id)).toEqual([]);
  });

  it('reads the latest run, the open ones with a runbook item, and the last completed one', async () => {
    const { store, state } = await started();
    expect(await store.listOpenWithRunbook('backup')).toEqual([state.run.id]);
    expect((await store.latest('optimize'))?.run.id).toBe(state.run.id);
    expect(await store.lastCompleted('optimize')).toBeUndefined();
    await store.change({ runId: state.run.id, end: { status: 'completed', by: 'U2', at: at(9) } }, () => ({}));
    expect(await store.lastCompleted('optimize')).toMatchObject({ runId: state.run.id, completedBy: 'U2', completedAt: at(9) });
    expect((await store.listEnded(5)).map((ended) => ended.run.id)).toEqual([state.run.id]);
    expect(await store.listOpen()).toEqual([]);
  });
});
