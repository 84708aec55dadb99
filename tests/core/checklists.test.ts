import { describe, expect, it } from 'vitest';
import {
  closingStatus,
  deriveItemStates,
  groupBySection,
  isComplete,
  itemsForRunbook,
  planToggle,
  progressOf,
  summarizeRun,
  type ChecklistItem,
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
    const all = deriveItemStates(ITEMS, ITEMS.map((item, index) => tick(item.id, 'U1', index)));
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
