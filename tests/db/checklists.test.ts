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
