// A destructive item (one that cannot be undone) is marked in every layout, and Slack asks before its tick or
// its runbook is sent: for any list up to the 100 items a config allows, any mix of ticked items and actions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildChecklistMessage, DESTRUCTIVE_WARNING, type ChecklistRunView } from '../../blocks/checklist.ts';
import { loadConfig } from '../../bot/config.ts';
import { deriveItemStates, groupBySection, type ChecklistItem, type TickEvent } from '../../core/checklists.ts';
import { checkBlockKitLimits } from '../helpers/slack/index.ts';

const LONG = process.env.SCALEBOT_LONG === '1';
const T0 = new Date('2026-11-28T10:00:00Z');
type AnyBlock = Record<string, any>;

function viewOf(items: readonly ChecklistItem[], ticked: ReadonlySet<string>): ChecklistRunView {
  const events: TickEvent[] = [...ticked].map((itemId) => ({ itemId, action: 'tick', actor: 'U0ANA', at: T0, source: 'click' }));
  return {
    id: 3,
    checklistId: 'drill',
    title: 'Drill',
    name: null,
    status: 'open',
    startedBy: 'U0ANA',
    startedAt: T0,
    states: deriveItemStates(items, events),
  };
}

const blocksOf = (view: ChecklistRunView) => (buildChecklistMessage(view, { hasRunbook: () => true }).blocks ?? []) as readonly AnyBlock[];
const buttonsOf = (blocks: readonly AnyBlock[]) =>
  blocks.flatMap((block) => [...(block.elements ?? []), ...(block.accessory ? [block.accessory] : [])]).filter((element) => element.type === 'button');

const generatedItem = (index: number) =>
  fc
    .record({
      // One line each: the compact layout's numbered lines are read back line by line.
      text: fc.string({ minLength: 1, maxLength: 60 }).map((text) => text.replace(/\n/g, ' ')),
      section: fc.option(fc.constantFrom('One', 'Two', 'Three'), { nil: undefined }),
      action: fc.option(fc.constantFrom<ChecklistItem['action']>({ kind: 'status_snapshot' }, { kind: 'runbook', runbook: 'db-failover' }), {
        nil: undefined,
      }),
      destructive: fc.boolean(),
      ticked: fc.boolean(),
    })
    .map(({ text, section, action, destructive, ticked }) => ({
      item: {
        id: `i${index}`,
        text,
        ...(section ? { section } : {}),
        ...(action ? { action } : {}),
        ...(destructive ? { destructive: true } : {}),
      } as ChecklistItem,
      ticked,
    }));

/** Up to 100 items: the full layout, and past ~23 items the compact ones. */
const generatedRun = fc
  .integer({ min: 1, max: 100 })
  .chain((count) => fc.tuple(...Array.from({ length: count }, (_, index) => generatedItem(index))))
  .map((entries) =>
    viewOf(
      entries.map((entry) => entry.item),
      new Set(entries.filter((entry) => entry.ticked).map((entry) => entry.item.id)),
    ),
  );

const FAILOVER_TEXT = 'Database failover test on a SCRATCH replica: promote it, writes still work (cannot be undone)';

describe('destructive items in the checklist message', () => {
  it('marks every destructive item, asks before its tick or runbook is sent, and asks about nothing else', () => {
    fc.assert(
      fc.property(generatedRun, (view) => {
        const blocks = blocksOf(view);
        expect(checkBlockKitLimits(blocks)).toEqual([]);
        const buttons = buttonsOf(blocks);
        const itemBlocks = new Map(blocks.filter((block) => block.block_id?.startsWith('checklist_item_')).map((block) => [block.block_id, block]));
        const compactLines = blocks
          .filter((block) => block.type === 'section' && !block.block_id)
          .flatMap((block) => String(block.text.text).split('\n'))
          .filter((line) => /^`\d+` /.test(line));
        // The compact layouts number items in the order they are shown: section by section.
        const shown = groupBySection(view.states).flatMap((group) => group.states);
        for (const [index, state] of shown.entries()) {
          const destructive = state.item.destructive === true;
          // The mark: the warning line in the full layout, a tag on the numbered line in the compact ones.
          const block = itemBlocks.get(`checklist_item_${state.item.id}`);
          if (block) expect(String(block.text.text).includes(DESTRUCTIVE_WARNING), state.item.id).toBe(destructive);
          else expect(compactLines.find((line) => line.startsWith(`\`${index + 1}\` `))?.includes(':warning: _destructive_'), state.item.id).toBe(destructive);
          // Every button of the item: ticking (or attaching a snapshot) and starting its runbook ask first; unticking never does.
          const own = buttons.filter((button) => button.value.startsWith(`3:${state.item.id}:`));
          expect(own.length).toBeGreaterThan(0);
          for (const button of own) {
            const asks = destructive && !button.value.endsWith(':untick');
            expect(button.confirm !== undefined, `${button.action_id} ${button.value}`).toBe(asks);
            if (asks) expect(button.confirm.style).toBe('danger');
          }
        }
      }),
      { numRuns: LONG ? 1000 : 100 },
    );
  });

  it('shows the warning on the failover test of the default tests list, ticked or not, and its Tick asks first', () => {
    const tests = loadConfig().checklists.find((checklist) => checklist.id === 'tests')!;
    for (const ticked of [new Set<string>(), new Set(['db_failover_test'])]) {
      const blocks = blocksOf(viewOf(tests.items, ticked));
      const failover = blocks.find((block) => block.block_id === 'checklist_item_db_failover_test')!;
      expect(failover.text.text.split('\n').slice(0, 2)).toEqual([
        `${ticked.size ? ':white_check_mark:' : ':white_large_square:'} ${FAILOVER_TEXT}`,
        DESTRUCTIVE_WARNING,
      ]);
      const others = blocks.filter((block) => block.block_id?.startsWith('checklist_item_') && block !== failover);
      expect(others.some((block) => block.text.text.includes(':warning:'))).toBe(false);
      if (ticked.size) continue;
      expect(failover.accessory).toMatchObject({
        value: '3:db_failover_test:tick',
        style: 'danger',
        confirm: { title: { text: 'Tick a destructive item?' }, confirm: { text: 'Done on a scratch copy' }, style: 'danger' },
      });
      const start = buttonsOf(blocks).find((button) => button.action_id === 'checklist_runbook_db_failover_test');
      expect(start?.confirm).toMatchObject({ title: { text: 'Start a destructive runbook?' }, deny: { text: 'Cancel' } });
      expect(start?.confirm.text.text).toContain('`db-failover` cannot be undone');
    }
  });
});
