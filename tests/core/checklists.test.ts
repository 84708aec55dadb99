import { describe, expect, it } from 'vitest';
import {
  closingStatus,
  deriveItemStates,
  groupBySection,
  isComplete,
  itemsForRunbook,
  judgeChecklistGate,
  planToggle,
  progressOf,
  summarizeRun,
  transition,
  RUN_STATUSES,
  type ChecklistItem,
  type RunCommand,
  type TickEvent,
} from '../../core/checklists.ts';

const ITEMS: ChecklistItem[] = [
  { id: 'metrics', text: 'Review current metrics', action: { kind: 'status_snapshot' } },
  { id: 'backup', text: 'Create full backup', action: { kind: 'runbook', runbook: 'backup' } },
  { id: 'rollback', text: 'Plan rollback strategy' },
];
const T0 = new Date('2026-11-28T10:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const tick = (itemId: string, actor: string, minutes: number, action: 'tick' | 'untick' = 'tick'): TickEvent => ({
  itemId,
  action,
  actor,
  at: at(minutes),
  source: 'click',
});

describe('the checklist state machine', () => {
  it('replays the history: the latest event of an item decides, and a tick keeps who and when', () => {
    const states = deriveItemStates(ITEMS, [tick('metrics', 'U1', 1), tick('backup', 'U2', 2), tick('metrics', 'U1', 3, 'untick'), tick('metrics', 'U3', 4)]);
    expect(states.map((state) => [state.item.id, state.ticked, state.by, state.at?.toISOString()])).toEqual([
      ['metrics', true, 'U3', at(4).toISOString()],
      ['backup', true, 'U2', at(2).toISOString()],
      ['rollback', false, undefined, undefined],
    ]);
    expect(progressOf(states)).toEqual({ done: 2, total: 3 });
    expect(isComplete(states)).toBe(false);
  });

  it('ignores events for items the checklist does not have', () => {
    expect(progressOf(deriveItemStates(ITEMS, [tick('gone', 'U1', 1)]))).toEqual({ done: 0, total: 3 });
  });

  it("reads a click as the action its clicker saw: a stale tick does not undo someone else's tick", () => {
    const states = deriveItemStates(ITEMS, [tick('metrics', 'U2', 1)]);
    expect(planToggle(states, 'metrics', 'tick')).toMatchObject({ kind: 'unchanged', state: { by: 'U2' } });
    expect(planToggle(states, 'metrics', 'untick')).toEqual({ kind: 'apply', action: 'untick' });
    expect(planToggle(states, 'backup', 'tick')).toEqual({ kind: 'apply', action: 'tick' });
    expect(planToggle(states, 'backup', 'untick')).toMatchObject({ kind: 'unchanged' });
    expect(planToggle(states, 'nope', 'tick')).toEqual({ kind: 'unknown_item' });
  });

  it('completes a run only when every item is ticked; otherwise closing only closes it', () => {
    const some = deriveItemStates(ITEMS, [tick('metrics', 'U1', 1)]);
    const all = deriveItemStates(
      ITEMS,
      ITEMS.map((item, index) => tick(item.id, 'U1', index)),
    );
    expect(closingStatus(some)).toBe('closed');
    expect(closingStatus(all)).toBe('completed');
    expect(isComplete(deriveItemStates([], []))).toBe(false);
  });

  it('groups items by section in order of first appearance', () => {
    const items: ChecklistItem[] = [
      { id: 'a', text: 'A', section: 'Database' },
      { id: 'b', text: 'B', section: 'Frontend' },
      { id: 'c', text: 'C', section: 'Database' },
      { id: 'd', text: 'D' },
    ];
    const groups = groupBySection(deriveItemStates(items, []));
    expect(groups.map((group) => [group.section, group.states.map((state) => state.item.id)])).toEqual([
      ['Database', ['a', 'c']],
      ['Frontend', ['b']],
      [undefined, ['d']],
    ]);
  });

  it('summarizes who did what and how long it took', () => {
    const events = [tick('metrics', 'U1', 5), tick('backup', 'U2', 10), tick('backup', 'U2', 11, 'untick'), tick('backup', 'U1', 20)];
    const summary = summarizeRun(deriveItemStates(ITEMS, events), events, T0, at(125));
    expect(summary).toMatchObject({
      done: 2,
      total: 3,
      durationSeconds: 125 * 60,
      byPerson: [{ user: 'U1', items: 2 }],
      open: [{ itemId: 'rollback', text: 'Plan rollback strategy' }],
      changes: 4,
    });
    expect(summary.ticked.map((item) => [item.itemId, item.by, item.at])).toEqual([
      ['metrics', 'U1', at(5).toISOString()],
      ['backup', 'U1', at(20).toISOString()],
    ]);
  });

  it('finds the open items a successful runbook run ticks', () => {
    expect(itemsForRunbook(deriveItemStates(ITEMS, []), 'backup').map((item) => item.id)).toEqual(['backup']);
    expect(itemsForRunbook(deriveItemStates(ITEMS, [tick('backup', 'U1', 1)]), 'backup')).toEqual([]);
    expect(itemsForRunbook(deriveItemStates(ITEMS, []), 'restore')).toEqual([]);
  });
});

describe('transition: what every click and runbook success does to a run', () => {
  const open = (events: TickEvent[] = []) => ({ status: 'open' as const, states: deriveItemStates(ITEMS, events) });
  const everyCommand: RunCommand[] = [
    { kind: 'toggle', itemId: 'rollback', intended: 'tick' },
    { kind: 'toggle', itemId: 'rollback', intended: 'untick' },
    { kind: 'snapshot', itemId: 'metrics', readable: true },
    { kind: 'snapshot', itemId: 'metrics', readable: false },
    { kind: 'end', how: 'complete' },
    { kind: 'end', how: 'close' },
    { kind: 'end', how: 'abandon' },
    { kind: 'runbook_succeeded', runbookId: 'backup' },
  ];

  it('changes nothing on a run that has ended, whatever is asked', () => {
    for (const status of RUN_STATUSES.filter((candidate) => candidate !== 'open')) {
      for (const command of everyCommand)
        expect(transition({ status, states: open().states }, command), `${status} ${command.kind}`).toEqual({ kind: 'ended', status });
    }
  });

  it('ticks and unticks what the clicker saw, and nothing on a stale copy', () => {
    expect(transition(open(), { kind: 'toggle', itemId: 'rollback', intended: 'tick' })).toEqual({
      kind: 'apply',
      ticks: [{ itemId: 'rollback', action: 'tick' }],
    });
    const ticked = open([tick('rollback', 'U1', 1)]);
    expect(transition(ticked, { kind: 'toggle', itemId: 'rollback', intended: 'untick' })).toEqual({
      kind: 'apply',
      ticks: [{ itemId: 'rollback', action: 'untick' }],
    });
    expect(transition(ticked, { kind: 'toggle', itemId: 'rollback', intended: 'tick' })).toMatchObject({
      kind: 'unchanged',
      state: { ticked: true, by: 'U1' },
    });
    expect(transition(open(), { kind: 'toggle', itemId: 'rollback', intended: 'untick' })).toMatchObject({ kind: 'unchanged', state: { ticked: false } });
    expect(transition(open(), { kind: 'toggle', itemId: 'gone', intended: 'tick' })).toEqual({ kind: 'unknown_item' });
  });

  it('ticks a snapshot item only with metrics read; without them it notes the snapshot and ticks nothing', () => {
    expect(transition(open(), { kind: 'snapshot', itemId: 'metrics', readable: true })).toEqual({
      kind: 'apply',
      ticks: [{ itemId: 'metrics', action: 'tick' }],
    });
    expect(transition(open(), { kind: 'snapshot', itemId: 'metrics', readable: false })).toEqual({ kind: 'apply', ticks: [] });
    expect(transition(open([tick('metrics', 'U2', 1)]), { kind: 'snapshot', itemId: 'metrics', readable: true })).toMatchObject({
      kind: 'unchanged',
      state: { by: 'U2' },
    });
    expect(transition(open(), { kind: 'snapshot', itemId: 'gone', readable: true })).toEqual({ kind: 'unknown_item' });
  });

  it('completes a run with every item ticked, closes one with items open, refuses a stale "Complete run"', () => {
    const all = open([tick('metrics', 'U1', 1), tick('backup', 'U1', 2), tick('rollback', 'U1', 3)]);
    expect(transition(all, { kind: 'end', how: 'complete' })).toEqual({ kind: 'apply', ticks: [], end: 'completed' });
    expect(transition(all, { kind: 'end', how: 'close' })).toEqual({ kind: 'apply', ticks: [], end: 'completed' });
    expect(transition(open([tick('metrics', 'U1', 1)]), { kind: 'end', how: 'close' })).toEqual({ kind: 'apply', ticks: [], end: 'closed' });
    const stale = transition(open([tick('metrics', 'U1', 1)]), { kind: 'end', how: 'complete' });
    expect(stale.kind === 'incomplete' && stale.open.map((state) => state.item.id)).toEqual(['backup', 'rollback']);
    expect(transition(all, { kind: 'end', how: 'abandon' })).toEqual({ kind: 'apply', ticks: [], end: 'abandoned' });
  });

  it('ticks the open items of a runbook that succeeded, and says when there are none', () => {
    expect(transition(open(), { kind: 'runbook_succeeded', runbookId: 'backup' })).toEqual({ kind: 'apply', ticks: [{ itemId: 'backup', action: 'tick' }] });
    expect(transition(open([tick('backup', 'U1', 1)]), { kind: 'runbook_succeeded', runbookId: 'backup' })).toEqual({ kind: 'nothing_to_tick' });
    expect(transition(open(), { kind: 'runbook_succeeded', runbookId: 'restore' })).toEqual({ kind: 'nothing_to_tick' });
  });
});

describe('judgeChecklistGate: the latest run, completed within seven days', () => {
  const states = deriveItemStates(ITEMS, [tick('metrics', 'U1', 1)]);
  const DAY = 86_400_000;

  it('holds a runbook back without a run, with an open one, with one closed with items open', () => {
    expect(judgeChecklistGate(undefined, T0)).toEqual({ kind: 'no_run' });
    expect(judgeChecklistGate({ status: 'open', endedAt: null, states }, T0)).toEqual({ kind: 'open', done: 1, total: 3 });
    expect(judgeChecklistGate({ status: 'closed', endedAt: T0, states }, T0)).toEqual({ kind: 'closed' });
  });

  it('lets it run for seven days after the run was completed, not one second more', () => {
    const completed = { status: 'completed' as const, endedAt: T0, states };
    expect(judgeChecklistGate(completed, new Date(T0.getTime() + 7 * DAY))).toEqual({ kind: 'complete', completedAt: T0 });
    expect(judgeChecklistGate(completed, new Date(T0.getTime() + 7 * DAY + 1000))).toEqual({ kind: 'too_old', completedAt: T0 });
  });
});
