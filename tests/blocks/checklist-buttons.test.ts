// blocks/checklist.ts builds the checklist buttons and parses them back: every button a message shows must
// read back as what it shows, and nothing else may read as a button.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildChecklistMessage, parseChecklistAction, type ChecklistAction, type ChecklistRunView } from '../../blocks/checklist.ts';
import { deriveItemStates, type ChecklistItem, type RunStatus, type TickEvent } from '../../core/checklists.ts';

const T0 = new Date('2026-11-28T10:00:00Z');

/** Item ids as the config allows them (core/config: lower-case letters, digits, "_" and "-", at most 64). */
const itemId = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,63}$/);
/** Run ids as SQLite hands them out, up to the twelve digits a button carries. */
const runId = fc.integer({ min: 1, max: 999_999_999_999 });

const item = (id: string) =>
  fc
    .record({
      text: fc.string({ minLength: 1, maxLength: 40 }),
      section: fc.option(fc.constantFrom('First', 'Second'), { nil: undefined }),
      action: fc.option(fc.constantFrom<ChecklistItem['action']>({ kind: 'status_snapshot' }, { kind: 'runbook', runbook: 'backup' }), { nil: undefined }),
      ticked: fc.boolean(),
    })
    .map(({ text, section, action, ticked }) => ({
      item: { id, text, ...(section ? { section } : {}), ...(action ? { action } : {}) } as ChecklistItem,
      ticked,
    }));

/** An open run of up to 60 items (past 23 the message switches to the compact layouts), some ticked. */
const openRun = fc
  .record({ id: runId, itemIds: fc.uniqueArray(itemId, { minLength: 1, maxLength: 60 }) })
  .chain(({ id, itemIds }) => fc.tuple(fc.constant(id), fc.tuple(...itemIds.map(item))))
  .map(([id, entries]): ChecklistRunView => {
    const items = entries.map((entry) => entry.item);
    const events: TickEvent[] = entries
      .filter((entry) => entry.ticked)
      .map((entry) => ({ itemId: entry.item.id, action: 'tick', actor: 'U0ANA', at: T0, source: 'click' }));
    return {
      id,
      checklistId: 'drill',
      title: 'Drill',
      name: null,
      status: 'open' satisfies RunStatus,
      startedBy: 'U0ANA',
      startedAt: T0,
      states: deriveItemStates(items, events),
    };
  });

type AnyBlock = Record<string, any>;
const buttonsOf = (view: ChecklistRunView, hasRunbook: boolean): AnyBlock[] =>
  ((buildChecklistMessage(view, { hasRunbook: () => hasRunbook }).blocks ?? []) as readonly AnyBlock[])
    .flatMap((block) => [...(block.elements ?? []), ...(block.accessory ? [block.accessory] : [])])
    .filter((element) => element.type === 'button');

/** What a button of this view means, from the view alone: what the clicker sees. */
function meaningOf(view: ChecklistRunView, button: AnyBlock): ChecklistAction {
  if (button.action_id === 'checklist_close') return { kind: 'close', runId: view.id, complete: view.states.every((state) => state.ticked) };
  if (button.action_id === 'checklist_abandon') return { kind: 'abandon', runId: view.id };
  const state = view.states.find(
    (candidate) => button.action_id.endsWith(`_${candidate.item.id}`) && button.value === `${view.id}:${candidate.item.id}:${button.value.split(':')[2]}`,
  );
  if (!state) throw new Error(`a button for no item: ${button.action_id} ${button.value}`);
  const itemId = state.item.id;
  if (button.action_id === `checklist_runbook_${itemId}`) return { kind: 'runbook', runId: view.id, itemId };
  if (!state.ticked && state.item.action?.kind === 'status_snapshot') return { kind: 'snapshot', runId: view.id, itemId };
  return { kind: 'toggle', runId: view.id, itemId, intended: state.ticked ? 'untick' : 'tick' };
}

describe('checklist buttons: built and parsed in one place', () => {
  it('reads back every button an open run shows as what the clicker sees', () => {
    fc.assert(
      fc.property(openRun, fc.boolean(), (view, hasRunbook) => {
        const buttons = buttonsOf(view, hasRunbook);
        expect(buttons.length).toBeGreaterThanOrEqual(2);
        for (const button of buttons)
          expect(parseChecklistAction(button.action_id, button.value), `${button.action_id} ${button.value}`).toEqual(meaningOf(view, button));
      }),
      { numRuns: 200 },
    );
  });

  it('shows no buttons once a run has ended', () => {
    fc.assert(
      fc.property(openRun, fc.constantFrom<RunStatus>('completed', 'closed', 'abandoned'), (view, status) => {
        expect(buttonsOf({ ...view, status, endedBy: 'U0BOB', endedAt: T0 }, true)).toEqual([]);
      }),
    );
  });

  const verb = fc.constantFrom('tick', 'untick', 'snapshot', 'runbook');
  const kind = fc.constantFrom('toggle', 'snapshot', 'runbook');

  it('refuses a button whose id and value disagree: another item, another verb, a run id with leading zeros or too long', () => {
    fc.assert(
      fc.property(kind, itemId, itemId, runId, verb, (k, a, b, run, v) => {
        fc.pre(a !== b);
        expect(parseChecklistAction(`checklist_${k}_${a}`, `${run}:${b}:${v}`)).toBeNull();
      }),
    );
    fc.assert(
      fc.property(
        itemId,
        runId,
        fc.constantFrom(
          ['toggle', 'snapshot'],
          ['toggle', 'runbook'],
          ['snapshot', 'tick'],
          ['snapshot', 'untick'],
          ['runbook', 'tick'],
          ['runbook', 'snapshot'],
        ),
        (id, run, [k, v]) => {
          expect(parseChecklistAction(`checklist_${k}_${id}`, `${run}:${id}:${v}`)).toBeNull();
        },
      ),
    );
    fc.assert(
      fc.property(itemId, runId, fc.stringMatching(/^0{1,3}$/), (id, run, zeros) => {
        expect(parseChecklistAction(`checklist_toggle_${id}`, `${zeros}${run}:${id}:tick`)).toBeNull();
        expect(parseChecklistAction('checklist_close', `${zeros}${run}`)).toBeNull();
        expect(parseChecklistAction('checklist_abandon', `${zeros}${run}`)).toBeNull();
        expect(parseChecklistAction('checklist_close', `${run}${'0'.repeat(13 - String(run).length)}`)).toBeNull();
      }),
    );
  });

  it('reads nothing but what it builds: any string it accepts is the canonical form of what it returns', () => {
    const canonical = (action: ChecklistAction): [string, string] => {
      switch (action.kind) {
        case 'close':
          return ['checklist_close', `${action.runId}${action.complete ? ':complete' : ''}`];
        case 'abandon':
          return ['checklist_abandon', String(action.runId)];
        case 'toggle':
          return [`checklist_toggle_${action.itemId}`, `${action.runId}:${action.itemId}:${action.intended}`];
        default:
          return [`checklist_${action.kind}_${action.itemId}`, `${action.runId}:${action.itemId}:${action.kind}`];
      }
    };
    const actionId = fc.oneof(
      fc.string(),
      fc.constantFrom('checklist_close', 'checklist_abandon', 'checklist_', 'checklist_toggle_'),
      fc.tuple(kind, itemId, fc.string({ maxLength: 3 })).map(([k, id, junk]) => `checklist_${k}_${id}${junk}`),
    );
    const value = fc.oneof(
      fc.constant(undefined),
      fc.string(),
      fc
        .tuple(fc.string({ maxLength: 3 }), runId, itemId, verb, fc.string({ maxLength: 3 }))
        .map(([pre, run, id, v, post]) => `${pre}${run}:${id}:${v}${post}`),
      fc.tuple(fc.string({ maxLength: 2 }), runId, fc.constantFrom('', ':complete', ':done')).map(([pre, run, tail]) => `${pre}${run}${tail}`),
    );
    fc.assert(
      fc.property(actionId, value, (id, v) => {
        const parsed = parseChecklistAction(id, v);
        if (parsed) expect(canonical(parsed)).toEqual([id, v]);
      }),
      { numRuns: 2000 },
    );
  });
});
