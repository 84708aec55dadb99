import { describe, expect, it } from 'vitest';
import { buildChecklistIndex, buildChecklistMessage, buildChecklistSummary, parseChecklistAction, type ChecklistRunView } from '../../blocks/checklist.ts';
import { loadConfig } from '../../bot/config.ts';
import { deriveItemStates, summarizeRun, type Checklist, type ChecklistItem, type TickEvent } from '../../core/checklists.ts';
import { checkBlockKitLimits, findBlockElement } from '../helpers/slack/index.ts';

const T0 = new Date('2026-11-28T10:00:00Z');
const config = loadConfig();

function viewOf(checklist: Pick<Checklist, 'id' | 'title' | 'items'>, events: TickEvent[] = [], extra: Partial<ChecklistRunView> = {}): ChecklistRunView {
  return {
    id: 7,
    checklistId: checklist.id,
    title: checklist.title,
    name: null,
    status: 'open',
    startedBy: 'U0START',
    startedAt: T0,
    states: deriveItemStates(checklist.items, events),
    ...extra,
  };
}

const tickOf = (itemId: string, actor = 'U0ANA', minutes = 5): TickEvent => ({
  itemId,
  action: 'tick',
  actor,
  at: new Date(T0.getTime() + minutes * 60_000),
  source: 'click',
});

type AnyBlock = Record<string, any>;
const blocksOf = (message: { blocks?: readonly unknown[] }) => (message.blocks ?? []) as AnyBlock[];
const buttons = (blocks: AnyBlock[]) =>
  blocks
    .flatMap((block) => [...(block.elements ?? []), ...(block.accessory ? [block.accessory] : [])])
    .filter((element: AnyBlock) => element.type === 'button');

describe('the checklist message', () => {
  it.each(config.checklists.map((checklist) => [checklist.id, checklist] as const))(
    'posts the default list "%s" within Slack\'s limits, a button per item',
    (_id, checklist) => {
      const message = buildChecklistMessage(viewOf(checklist));
      expect(checkBlockKitLimits(message.blocks)).toEqual([]);
      const itemButtons = buttons(blocksOf(message)).filter((button) => /^checklist_(toggle|snapshot)_/.test(button.action_id));
      expect(itemButtons).toHaveLength(checklist.items.length);
      expect(JSON.stringify(message.blocks)).toContain(`0 of ${checklist.items.length} done`);
      expect(message.text).toBe(`${checklist.title}: 0 of ${checklist.items.length} done`);
    },
  );

  it('groups the optimization list under its four section headings, each with its own progress', () => {
    const optimize = config.checklists.find((checklist) => checklist.id === 'optimize')!;
    const message = buildChecklistMessage(viewOf(optimize, [tickOf('db_indexes'), tickOf('fe_cdn')]));
    const headings = blocksOf(message)
      .filter((block) => block.type === 'section' && !block.accessory)
      .map((block) => block.text.text);
    expect(headings).toEqual([
      '*Database optimization* · 1 of 5',
      '*Application optimization* · 0 of 6',
      '*Frontend optimization* · 1 of 6',
      '*Infrastructure optimization* · 0 of 5',
    ]);
    expect(blocksOf(message).length).toBeLessThanOrEqual(50);
  });

  it('shows who ticked an item and when, and its button then unticks; open items tick', () => {
    const before = config.checklists.find((checklist) => checklist.id === 'before')!;
    const message = buildChecklistMessage(viewOf(before, [tickOf('identify_bottlenecks', 'U0ANA')]));
    const ticked = blocksOf(message).find((block) => block.block_id === 'checklist_item_identify_bottlenecks')!;
    expect(ticked.text.text).toMatch(/^:white_check_mark: Identify bottlenecks/);
    expect(ticked.text.text).toContain('<@U0ANA>');
    expect(ticked.text.text).toContain(`<!date^${Math.floor(T0.getTime() / 1000) + 300}^`);
    expect(ticked.accessory).toMatchObject({
      action_id: 'checklist_toggle_identify_bottlenecks',
      value: '7:identify_bottlenecks:untick',
      text: { text: 'Untick' },
    });
    const open = blocksOf(message).find((block) => block.block_id === 'checklist_item_rollback_plan')!;
    expect(open.accessory).toMatchObject({ value: '7:rollback_plan:tick', text: { text: 'Tick' } });
    expect(open.text.text).toMatch(/^:white_large_square: /);
    const metrics = blocksOf(message).find((block) => block.block_id === 'checklist_item_review_metrics')!;
    expect(metrics.accessory).toMatchObject({ action_id: 'checklist_snapshot_review_metrics', value: '7:review_metrics:snapshot' });
    expect(JSON.stringify(message.blocks)).toContain('1 of 8 done');
  });

  it('offers a runbook only when one with that id is configured', () => {
    const before = config.checklists.find((checklist) => checklist.id === 'before')!;
    expect(buttons(blocksOf(buildChecklistMessage(viewOf(before)))).some((button) => button.action_id.startsWith('checklist_runbook_'))).toBe(false);
    const message = buildChecklistMessage(viewOf(before), { hasRunbook: (id) => id === 'backup' });
    expect(checkBlockKitLimits(message.blocks)).toEqual([]);
    const offered = buttons(blocksOf(message)).filter((button) => button.action_id.startsWith('checklist_runbook_'));
    expect(offered.map((button) => [button.action_id, button.value, button.text.text])).toEqual([
      ['checklist_runbook_full_backup', '7:full_backup:runbook', 'Start runbook backup'],
    ]);
  });

  it('asks before closing with items open, and makes Complete the primary button once all are ticked', () => {
    const items: ChecklistItem[] = [
      { id: 'a', text: 'A' },
      { id: 'b', text: 'B' },
    ];
    const partly = buttons(blocksOf(buildChecklistMessage(viewOf({ id: 'x', title: 'X', items }, [tickOf('a')]))));
    expect(partly.find((button) => button.action_id === 'checklist_close')).toMatchObject({
      text: { text: 'Close run' },
      confirm: { title: { text: 'Close with items open?' } },
    });
    expect(partly.find((button) => button.action_id === 'checklist_abandon')).toMatchObject({ style: 'danger', value: '7' });
    const done = buttons(blocksOf(buildChecklistMessage(viewOf({ id: 'x', title: 'X', items }, [tickOf('a'), tickOf('b')]))));
    expect(done.find((button) => button.action_id === 'checklist_close')).toMatchObject({
      text: { text: 'Complete run' },
      style: 'primary',
      value: '7:complete',
    });
    expect(done.find((button) => button.action_id === 'checklist_close')?.confirm).toBeUndefined();
  });

  it('has no buttons once the run ended, and says how it ended', () => {
    const before = config.checklists.find((checklist) => checklist.id === 'before')!;
    const view = viewOf(before, [tickOf('review_metrics')], {
      status: 'closed',
      endedBy: 'U0BOB',
      endedAt: new Date(T0.getTime() + 3600_000),
      name: 'move to CPX51',
    });
    const message = buildChecklistMessage(view);
    expect(buttons(blocksOf(message))).toEqual([]);
    expect(blocksOf(message)[0]).toMatchObject({ type: 'header', text: { text: 'Before scaling: move to CPX51' } });
    expect(JSON.stringify(message.blocks)).toContain('*Closed* by <@U0BOB>');
    expect(JSON.stringify(message.blocks)).toContain('7 of 8 items open, 1 h after it started');
  });

  it('falls back to numbered lines and rows of buttons for a list too long for one block per item', () => {
    // The worst a config may hold: 100 items of 200 characters that each grow fivefold when escaped, in 30 sections.
    const items: ChecklistItem[] = Array.from({ length: 100 }, (_, index) => ({
      id: `item_${index}`,
      text: '&'.repeat(200),
      section: `Section ${index % 30} ${'<'.repeat(90)}`,
      detail: 'd'.repeat(500),
      ...(index % 7 === 0 ? { action: { kind: 'runbook' as const, runbook: 'backup' } } : {}),
    }));
    const events = items.filter((_, index) => index % 2 === 0).map((item) => tickOf(item.id, 'U0ANA0123456'));
    const message = buildChecklistMessage(viewOf({ id: 'huge', title: 'H'.repeat(100), items }, events, { name: 'N'.repeat(100) }), { hasRunbook: () => true });
    expect(checkBlockKitLimits(message.blocks)).toEqual([]);
    const all = buttons(blocksOf(message));
    const values = new Set(all.map((button) => button.value));
    const expected = items.map((item, index) => `7:${item.id}:${index % 2 === 0 ? 'untick' : 'tick'}`);
    expect(expected.filter((value) => !values.has(value))).toEqual([]);
    // Numbers follow the order shown: section 0 holds items 0, 30, 60 and 90, so item_1 (section 1) is the fifth.
    expect(all.find((button) => button.value === '7:item_30:untick')?.text.text).toBe('✓ 2');
    expect(all.find((button) => button.value === '7:item_1:tick')?.text.text).toBe('5');
    expect(all.find((button) => button.value === '7:item_0:untick')?.text.text).toBe('✓ 1');
    expect(all.find((button) => button.action_id === 'checklist_close')).toBeDefined();
  });

  it('keeps sections as their own groups in the compact layout when they fit', () => {
    const items: ChecklistItem[] = Array.from({ length: 60 }, (_, index) => ({
      id: `i${index}`,
      text: `Item ${index}`,
      section: index < 30 ? 'First' : 'Second',
    }));
    const blocks = blocksOf(buildChecklistMessage(viewOf({ id: 'long', title: 'Long', items })));
    expect(checkBlockKitLimits(blocks)).toEqual([]);
    const kinds = blocks.map((block) => block.type);
    expect(kinds).toEqual(['header', 'context', 'context', 'section', 'actions', 'actions', 'section', 'actions', 'actions', 'actions']);
    expect(blocks[3]!.text.text).toMatch(/^\*First\* · 0 of 30\n`1` :white_large_square: Item 0/);
  });
});

describe('checklist buttons', () => {
  it('reads back every button the message makes', () => {
    const before = config.checklists.find((checklist) => checklist.id === 'before')!;
    const message = buildChecklistMessage(viewOf(before, [tickOf('calculate_costs')]), { hasRunbook: () => true });
    for (const button of buttons(blocksOf(message))) expect(parseChecklistAction(button.action_id, button.value), button.action_id).not.toBeNull();
    expect(parseChecklistAction('checklist_toggle_calculate_costs', '7:calculate_costs:untick')).toEqual({
      kind: 'toggle',
      runId: 7,
      itemId: 'calculate_costs',
      intended: 'untick',
    });
    expect(parseChecklistAction('checklist_snapshot_review_metrics', '7:review_metrics:snapshot')).toEqual({
      kind: 'snapshot',
      runId: 7,
      itemId: 'review_metrics',
    });
    expect(parseChecklistAction('checklist_close', '7')).toEqual({ kind: 'close', runId: 7, complete: false });
    expect(parseChecklistAction('checklist_close', '7:complete')).toEqual({ kind: 'close', runId: 7, complete: true });
    expect(parseChecklistAction('checklist_abandon', '12')).toEqual({ kind: 'abandon', runId: 12 });
    expect(findBlockElement(message.blocks as unknown[], 'checklist_runbook_full_backup')).toBeDefined();
  });

  it.each([
    ['checklist_toggle_a', undefined],
    ['checklist_toggle_a', ''],
    ['checklist_toggle_a', '7:b:tick'],
    ['checklist_toggle_a', '7:a:snapshot'],
    ['checklist_snapshot_a', '7:a:tick'],
    ['checklist_toggle_a', '7:a:delete'],
    ['checklist_toggle_a', 'x:a:tick'],
    ['checklist_toggle_a', '7:a:tick:extra'],
    ['checklist_toggle_A', '7:A:tick'],
    ['checklist_toggle_a', '1234567890123:a:tick'],
    ['checklist_close', '7:a'],
    ['checklist_close', '-1'],
    ['checklist_close', '7:done'],
    ['checklist_abandon', '7:complete'],
    ['checklist_explode', '7'],
    ['checklist_', '7'],
  ])('refuses %s with value %s', (actionId, value) => {
    expect(parseChecklistAction(actionId, value)).toBeNull();
  });
});

describe('the summary and the index', () => {
  it('says who did what and how long it took, within limits even for a long list', () => {
    const items: ChecklistItem[] = Array.from({ length: 100 }, (_, index) => ({ id: `i${index}`, text: `${'&'.repeat(150)} ${index}` }));
    const events = items.map((item, index) => tickOf(item.id, index % 3 === 0 ? 'U0ANA' : 'U0BOB', index));
    const states = deriveItemStates(items, events);
    const endedAt = new Date(T0.getTime() + 2 * 3600_000 + 5 * 60_000);
    const view = viewOf({ id: 'x', title: 'X', items }, events, { status: 'completed', endedBy: 'U0BOB', endedAt, name: 'move to CPX51' });
    const summary = buildChecklistSummary(view, summarizeRun(states, events, T0, endedAt));
    expect(checkBlockKitLimits(summary.blocks)).toEqual([]);
    expect(summary.text).toBe(':checkered_flag: X: move to CPX51 completed by <@U0BOB>: all 100 items in 2 h 5 min.');
    const text = JSON.stringify(summary.blocks);
    expect(text).toContain('• <@U0BOB>: 66 items');
    expect(text).toContain('• <@U0ANA>: 34 items');
  });

  it('lists the checklists, the open runs with their names and links, and the recently ended ones', () => {
    const before = config.checklists.find((checklist) => checklist.id === 'before')!;
    const open = viewOf(before, [tickOf('review_metrics')], { name: 'move to CPX51' });
    const ended = viewOf(before, [], { id: 3, status: 'abandoned', endedBy: 'U0BOB', endedAt: T0 });
    const message = buildChecklistIndex(config.checklists, [{ view: open, link: 'https://slack.com/archives/C1/p1' }], [{ view: ended }]);
    expect(checkBlockKitLimits(message.blocks)).toEqual([]);
    const text = blocksOf(message)
      .map((block) => block.text.text)
      .join('\n');
    expect(text).toContain('`/scale checklist optimize`: Performance optimization before scaling (22 items in 4 sections)');
    expect(text).toContain('#7 *Before scaling: move to CPX51* · 1 of 8 done · started by <@U0START>');
    expect(text).toContain('<https://slack.com/archives/C1/p1|message>');
    expect(text).toContain('#3 *Before scaling* · 0 of 8 done · abandoned');
  });
});
