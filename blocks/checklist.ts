import {
  groupBySection,
  progressOf,
  isComplete,
  type Checklist,
  type ItemState,
  type RunStatus,
  type RunSummary,
  type TickAction,
} from '../core/checklists.ts';
import { formatDuration } from '../core/duration.ts';
import { slackTime } from './breach.ts';
import { escapeMrkdwn, SLACK_LIMITS, truncateText, type Block, type Message } from './types.ts';

/** A run as its message shows it: the run's row and its items' state replayed from the history. */
export interface ChecklistRunView {
  readonly id: number;
  readonly checklistId: string;
  readonly title: string;
  readonly description?: string;
  readonly name: string | null;
  readonly status: RunStatus;
  readonly startedBy: string;
  readonly startedAt: Date;
  readonly endedBy?: string | null;
  readonly endedAt?: Date | null;
  readonly states: readonly ItemState[];
}

export interface ChecklistMessageOptions {
  /** Whether a runbook with this id is configured; items naming one offer to start it. Default: none is. */
  readonly hasRunbook?: (runbookId: string) => boolean;
}

// ---- The buttons: every action id starts with checklist_, and its value says what the clicker saw. ----

export type ChecklistAction =
  | { readonly kind: 'toggle'; readonly runId: number; readonly itemId: string; readonly intended: TickAction }
  | { readonly kind: 'snapshot'; readonly runId: number; readonly itemId: string }
  | { readonly kind: 'runbook'; readonly runId: number; readonly itemId: string }
  /** `complete`: the clicker saw every item ticked ("Complete run"); else they confirmed closing with items open. */
  | { readonly kind: 'close'; readonly runId: number; readonly complete: boolean }
  | { readonly kind: 'abandon'; readonly runId: number };

type ItemButtonKind = 'toggle' | 'snapshot' | 'runbook';
type ItemVerb = TickAction | 'snapshot' | 'runbook';

const ITEM_ACTION_ID = /^checklist_(toggle|snapshot|runbook)_([a-z0-9][a-z0-9_-]{0,63})$/;
const ITEM_VALUE = /^([1-9]\d{0,11}):([a-z0-9][a-z0-9_-]{0,63}):(tick|untick|snapshot|runbook)$/;
const VERBS_OF: Record<ItemButtonKind, readonly ItemVerb[]> = {
  toggle: ['tick', 'untick'],
  snapshot: ['snapshot'],
  runbook: ['runbook'],
};
// A run id as the builder writes it: no leading zeros, so that each button has exactly one spelling.
const CLOSE_ACTION_ID = 'checklist_close';
const ABANDON_ACTION_ID = 'checklist_abandon';

/** An item's button: the action id names the item, the value repeats it with the run and what the clicker saw. */
function itemButtonIds(kind: ItemButtonKind, runId: number, itemId: string, verb: ItemVerb): { action_id: string; value: string } {
  return { action_id: `checklist_${kind}_${itemId}`, value: `${runId}:${itemId}:${verb}` };
}

/** Reads a checklist button's action id and value; anything that is not exactly what we put there is null. */
export function parseChecklistAction(actionId: string, value: string | undefined): ChecklistAction | null {
  if (value === undefined) return null;
  if (actionId === CLOSE_ACTION_ID) {
    const close = /^([1-9]\d{0,11})(:complete)?$/.exec(value);
    return close ? { kind: 'close', runId: Number(close[1]), complete: close[2] !== undefined } : null;
  }
  if (actionId === ABANDON_ACTION_ID) return /^[1-9]\d{0,11}$/.test(value) ? { kind: 'abandon', runId: Number(value) } : null;
  const action = ITEM_ACTION_ID.exec(actionId);
  const parts = ITEM_VALUE.exec(value);
  if (!action || !parts) return null;
  const kind = action[1] as ItemButtonKind;
  const [, runText = '', itemId = '', verb = ''] = parts;
  if (itemId !== action[2] || !VERBS_OF[kind].includes(verb as ItemVerb)) return null;
  const runId = Number(runText);
  if (kind === 'toggle') return { kind, runId, itemId, intended: verb as TickAction };
  return { kind, runId, itemId };
}

type Button = {
  type: 'button';
  action_id: string;
  text: { type: 'plain_text'; text: string; emoji?: boolean };
  value: string;
  style?: 'primary' | 'danger';
  confirm?: {
    title: { type: 'plain_text'; text: string };
    text: { type: 'mrkdwn'; text: string };
    confirm: { type: 'plain_text'; text: string };
    deny: { type: 'plain_text'; text: string };
    style?: 'primary' | 'danger';
  };
};

/** What a destructive item shows under its text: the guide offered some of these as harmless tests. */
export const DESTRUCTIVE_WARNING =
  ':warning: *Destructive: cannot be undone.* Do it only on a scratch copy you can throw away (a scratch replica), never on what production uses.';

/**
 * Slack asks before sending the click. Ticking a destructive item says "done, on a scratch copy"; starting its
 * runbook plans something that cannot be undone (it still waits for approval).
 */
function destructiveConfirm(kind: 'tick' | 'runbook', runbook?: string): NonNullable<Button['confirm']> {
  if (kind === 'tick') {
    return {
      title: { type: 'plain_text', text: 'Tick a destructive item?' },
      text: { type: 'mrkdwn', text: 'It cannot be undone. Tick it only once it was done on a scratch copy (a scratch replica), not on what production uses.' },
      confirm: { type: 'plain_text', text: 'Done on a scratch copy' },
      deny: { type: 'plain_text', text: 'Cancel' },
      style: 'danger',
    };
  }
  return {
    title: { type: 'plain_text', text: 'Start a destructive runbook?' },
    text: {
      type: 'mrkdwn',
      text: truncateText(
        `\`${runbook}\` cannot be undone. Give it a scratch copy (a scratch replica), never what production uses; it still waits for approval.`,
        300,
      ),
    },
    confirm: { type: 'plain_text', text: 'Plan it' },
    deny: { type: 'plain_text', text: 'Cancel' },
    style: 'danger',
  };
}

/** The button an item shows while the run is open: what a click on it means depends on what the clicker sees. */
function itemButton(runId: number, state: ItemState, label?: string): Button {
  const { item } = state;
  if (state.ticked) {
    return { type: 'button', ...itemButtonIds('toggle', runId, item.id, 'untick'), text: { type: 'plain_text', text: label ?? 'Untick' } };
  }
  const confirm = item.destructive ? { confirm: destructiveConfirm('tick') } : {};
  if (item.action?.kind === 'status_snapshot') {
    return {
      type: 'button',
      ...itemButtonIds('snapshot', runId, item.id, 'snapshot'),
      text: { type: 'plain_text', text: label ?? 'Attach status & tick' },
      style: 'primary',
      ...confirm,
    };
  }
  return {
    type: 'button',
    ...itemButtonIds('toggle', runId, item.id, 'tick'),
    text: { type: 'plain_text', text: label ?? 'Tick' },
    style: item.destructive ? 'danger' : 'primary',
    ...confirm,
  };
}

function runbookButton(runId: number, state: ItemState, runbook: string, label?: string): Button {
  return {
    type: 'button',
    ...itemButtonIds('runbook', runId, state.item.id, 'runbook'),
    text: { type: 'plain_text', text: truncateText(label ?? `Start runbook ${runbook}`, SLACK_LIMITS.buttonText) },
    ...(state.item.destructive ? { confirm: destructiveConfirm('runbook', runbook) } : {}),
  };
}

function offeredRunbook(state: ItemState, options: ChecklistMessageOptions): string | undefined {
  const action = state.item.action;
  if (state.ticked || action?.kind !== 'runbook') return undefined;
  return options.hasRunbook?.(action.runbook) ? action.runbook : undefined;
}

// ---- Text pieces ----

export function runTitle(view: Pick<ChecklistRunView, 'title' | 'name'>): string {
  return view.name ? `${view.title}: ${view.name}` : view.title;
}

const ICON_TICKED = ':white_check_mark:';
const ICON_OPEN = ':white_large_square:';

function verdictNote(state: ItemState): string {
  const verdict = state.detail?.verdict_title;
  if (state.source === 'status_snapshot' && typeof verdict === 'string') return ` · status: ${escapeMrkdwn(verdict)}`;
  const runbook = state.detail?.runbook;
  if (state.source === 'runbook' && typeof runbook === 'string') return ` · runbook \`${escapeMrkdwn(runbook)}\` succeeded`;
  return '';
}

/** "_@ana · 14:02 · status: Scale now_": who ticked an item and when. */
function tickedBy(state: ItemState): string {
  if (!state.ticked || !state.by || !state.at) return '';
  return `<@${state.by}> · ${slackTime(state.at, '{date_short} {time}')}${verdictNote(state)}`;
}

function itemText(state: ItemState, withDetail: boolean): string {
  const lines = [`${state.ticked ? ICON_TICKED : ICON_OPEN} ${escapeMrkdwn(state.item.text)}`];
  if (state.item.destructive) lines.push(DESTRUCTIVE_WARNING);
  // `detail` comes from the config and is mrkdwn on purpose (commands in backticks).
  if (withDetail && state.item.detail) lines.push(state.item.detail);
  if (state.ticked) lines.push(`_${tickedBy(state)}_`);
  return lines.join('\n');
}

function progressText(states: readonly ItemState[]): string {
  const { done, total } = progressOf(states);
  return `${done} of ${total}`;
}

function endedText(view: ChecklistRunView): string {
  if (view.status === 'open' || !view.endedAt) return '';
  const took = formatDuration((view.endedAt.getTime() - view.startedAt.getTime()) / 1000);
  const by = view.endedBy ? ` by <@${view.endedBy}>` : '';
  const when = slackTime(view.endedAt, '{date_short_pretty} {time}');
  switch (view.status) {
    case 'completed':
      return `:checkered_flag: *Completed*${by} ${when}, ${took} after it started.`;
    case 'closed': {
      const { done, total } = progressOf(view.states);
      return `:lock: *Closed*${by} ${when} with ${total - done} of ${total} items open, ${took} after it started.`;
    }
    case 'abandoned':
      return `:x: *Abandoned*${by} ${when}, ${took} after it started.`;
  }
}

function headerBlocks(view: ChecklistRunView): Block[] {
  const context = [
    `Run #${view.id} · \`${view.checklistId}\``,
    `started by <@${view.startedBy}> ${slackTime(view.startedAt, '{date_short_pretty} {time}')}`,
    `*${progressText(view.states)} done*`,
  ].join(' · ');
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: truncateText(runTitle(view), SLACK_LIMITS.headerText), emoji: true } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: context }] },
  ];
  if (view.description && view.status === 'open') {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: truncateText(escapeMrkdwn(view.description), SLACK_LIMITS.sectionText) }] });
  }
  return blocks;
}

function footerBlocks(view: ChecklistRunView): Block[] {
  if (view.status !== 'open') {
    return [{ type: 'context', elements: [{ type: 'mrkdwn', text: endedText(view) }] }];
  }
  const complete = isComplete(view.states);
  const { done, total } = progressOf(view.states);
  const close: Button = {
    type: 'button',
    action_id: CLOSE_ACTION_ID,
    text: { type: 'plain_text', text: complete ? 'Complete run' : 'Close run' },
    // What the clicker saw: a stale "Complete run" must not close a run someone has unticked an item of since.
    value: complete ? `${view.id}:complete` : String(view.id),
    ...(complete
      ? { style: 'primary' as const }
      : {
          confirm: {
            title: { type: 'plain_text' as const, text: 'Close with items open?' },
            text: { type: 'mrkdwn' as const, text: `${total - done} of ${total} items are not ticked. The run will count as closed, not completed.` },
            confirm: { type: 'plain_text' as const, text: 'Close run' },
            deny: { type: 'plain_text' as const, text: 'Keep it open' },
          },
        }),
  };
  const abandon: Button = {
    type: 'button',
    action_id: ABANDON_ACTION_ID,
    text: { type: 'plain_text', text: 'Abandon' },
    value: String(view.id),
    style: 'danger',
    confirm: {
      title: { type: 'plain_text', text: 'Abandon this run?' },
      text: { type: 'mrkdwn', text: 'The scaling operation is called off: the run ends and its items can no longer be ticked.' },
      confirm: { type: 'plain_text', text: 'Abandon' },
      deny: { type: 'plain_text', text: 'Keep it open' },
      style: 'danger',
    },
  };
  return [{ type: 'actions', block_id: `checklist_run_${view.id}`, elements: [close, abandon] }];
}

// ---- Layouts: one block per item when it fits, else numbered lines with rows of numbered buttons. ----

function sectionHeading(section: string, states: readonly ItemState[], maxLength = 100): string {
  return `*${escapeMrkdwn(shorten(section, maxLength))}* · ${progressText(states)}`;
}

/** Cut to `max` characters with an ellipsis: the compact layout keeps every item to about one line. */
function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Compact lines: item text and section headings are cut to these lengths so 100 items fit one message. */
const COMPACT_ITEM_TEXT = 90;
const COMPACT_HEADING = 60;

function fullLayout(view: ChecklistRunView, options: ChecklistMessageOptions): Block[] {
  const open = view.status === 'open';
  const blocks: Block[] = [];
  for (const group of groupBySection(view.states)) {
    if (group.section !== undefined)
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncateText(sectionHeading(group.section, group.states), SLACK_LIMITS.sectionText) } });
    for (const state of group.states) {
      blocks.push({
        type: 'section',
        block_id: `checklist_item_${state.item.id}`,
        text: { type: 'mrkdwn', text: truncateText(itemText(state, true), SLACK_LIMITS.sectionText) },
        ...(open ? { accessory: itemButton(view.id, state) } : {}),
      });
      const runbook = open ? offeredRunbook(state, options) : undefined;
      if (runbook) {
        blocks.push({ type: 'actions', block_id: `checklist_runbook_${state.item.id}`, elements: [runbookButton(view.id, state, runbook)] });
      }
    }
  }
  return blocks;
}

/** Lines into section blocks of at most 3,000 characters each. */
function textBlocks(lines: readonly string[]): Block[] {
  const blocks: Block[] = [];
  let current = '';
  for (const line of lines) {
    const piece = truncateText(line, SLACK_LIMITS.sectionText);
    if (current && current.length + 1 + piece.length > SLACK_LIMITS.sectionText) {
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: current } });
      current = '';
    }
    current = current ? `${current}\n${piece}` : piece;
  }
  if (current) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: current } });
  return blocks;
}

function buttonRows(buttons: readonly Button[], blockIdPrefix: string): Block[] {
  const rows: Block[] = [];
  for (let start = 0; start < buttons.length; start += SLACK_LIMITS.actionsElements) {
    rows.push({
      type: 'actions',
      block_id: `${blockIdPrefix}_${start / SLACK_LIMITS.actionsElements}`,
      elements: buttons.slice(start, start + SLACK_LIMITS.actionsElements),
    });
  }
  return rows;
}

/**
 * A long list: each item is one numbered line (no detail line), and its button carries its number. `perSection`
 * keeps each section's buttons under its lines; otherwise every line comes first and every button after.
 */
function compactLayout(view: ChecklistRunView, options: ChecklistMessageOptions, perSection: boolean): Block[] {
  const open = view.status === 'open';
  let number = 0;
  const groups = groupBySection(view.states).map((group) => {
    const lines: string[] = group.section !== undefined ? [sectionHeading(group.section, group.states, COMPACT_HEADING)] : [];
    const buttons: Button[] = [];
    for (const state of group.states) {
      number += 1;
      const who = state.ticked ? ` — _${tickedBy(state)}_` : '';
      const mark = state.item.destructive ? ' :warning: _destructive_' : '';
      lines.push(`\`${number}\` ${state.ticked ? ICON_TICKED : ICON_OPEN} ${escapeMrkdwn(shorten(state.item.text, COMPACT_ITEM_TEXT))}${mark}${who}`);
      if (!open) continue;
      const label = state.ticked ? `✓ ${number}` : state.item.action?.kind === 'status_snapshot' ? `${number}: status` : `${number}`;
      buttons.push(itemButton(view.id, state, label));
      const runbook = offeredRunbook(state, options);
      if (runbook) buttons.push(runbookButton(view.id, state, runbook, `${number}: run ${runbook}`));
    }
    return { lines, buttons };
  });
  const legend: Block[] = open
    ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: 'A long list: click an item’s number to tick it, `✓ n` to untick it.' }] }]
    : [];
  if (perSection) {
    return [...legend, ...groups.flatMap((group, index) => [...textBlocks(group.lines), ...buttonRows(group.buttons, `checklist_items_${index}`)])];
  }
  return [
    ...legend,
    ...textBlocks(groups.flatMap((group) => group.lines)),
    ...buttonRows(
      groups.flatMap((group) => group.buttons),
      'checklist_items',
    ),
  ];
}

/** A message that still does not fit keeps its head and footer and says what it cut. */
function fitBlockCount(head: Block[], body: Block[], foot: Block[]): Block[] {
  const room = SLACK_LIMITS.blocksPerMessage - head.length - foot.length;
  if (body.length <= room) return [...head, ...body, ...foot];
  const kept = body.slice(0, room - 1);
  return [
    ...head,
    ...kept,
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `… ${body.length - kept.length} more blocks cut to fit Slack; \`/scale checklist\` lists the run.` }],
    },
    ...foot,
  ];
}

/**
 * The message of a checklist run, re-rendered from the stored state after every change. Every item with a
 * button to tick or untick it, who ticked it and when, progress, and Close / Abandon while the run is open.
 * Sections are headings; a list too long for one block per item (Slack allows 50) gets the compact layout.
 */
export function buildChecklistMessage(view: ChecklistRunView, options: ChecklistMessageOptions = {}): Message {
  const head = headerBlocks(view);
  const foot = footerBlocks(view);
  const room = SLACK_LIMITS.blocksPerMessage - head.length - foot.length;
  let body = fullLayout(view, options);
  if (body.length > room) body = compactLayout(view, options, true);
  if (body.length > room) body = compactLayout(view, options, false);
  const status = view.status === 'open' ? `${progressText(view.states)} done` : view.status;
  // The run name is typed by people (`/scale checklist before "…"`): the fallback text is mrkdwn too.
  return { text: `${escapeMrkdwn(runTitle(view))}: ${status}`, blocks: fitBlockCount(head, body, foot) };
}

// ---- The summary a finished run posts in its thread ----

export function buildChecklistSummary(view: ChecklistRunView, summary: RunSummary): Message {
  const took = formatDuration(summary.durationSeconds);
  const by = view.endedBy ? `<@${view.endedBy}>` : 'someone';
  const title = `*${escapeMrkdwn(runTitle(view))}*`;
  const opening =
    view.status === 'completed'
      ? `:checkered_flag: ${title} completed by ${by}: all ${summary.total} items in ${took}.`
      : view.status === 'closed'
        ? `:lock: ${title} closed by ${by} after ${took}: ${summary.done} of ${summary.total} items done, ${summary.total - summary.done} left open.`
        : `:x: ${title} abandoned by ${by} after ${took}: ${summary.done} of ${summary.total} items were done.`;
  const lines = [
    opening,
    `Started by <@${view.startedBy}> ${slackTime(view.startedAt, '{date_short_pretty} {time}')} · ` +
      `${summary.changes} tick${summary.changes === 1 ? '' : 's'} and unticks in all.`,
  ];
  if (summary.byPerson.length > 0) {
    lines.push('', '*Who did what*', ...summary.byPerson.map((person) => `• <@${person.user}>: ${person.items} item${person.items === 1 ? '' : 's'}`));
  }
  const byId = new Map(view.states.map((state) => [state.item.id, state]));
  lines.push('', '*Items*');
  for (const item of summary.ticked) {
    const state = byId.get(item.itemId);
    lines.push(`${ICON_TICKED} ${escapeMrkdwn(item.text)} — ${state ? tickedBy(state) : `<@${item.by}>`}`);
  }
  for (const item of summary.open) lines.push(`${ICON_OPEN} ${escapeMrkdwn(item.text)} — not done`);
  const blocks = textBlocks(lines);
  const text = opening.replace(/\*/g, '');
  if (blocks.length <= SLACK_LIMITS.blocksPerMessage) return { text, blocks };
  return {
    text,
    blocks: [
      ...blocks.slice(0, SLACK_LIMITS.blocksPerMessage - 1),
      { type: 'context', elements: [{ type: 'mrkdwn', text: '… cut to fit Slack; the decision log has every item.' }] },
    ],
  };
}

// ---- /scale checklist: the lists and the runs ----

export interface RunListing {
  readonly view: ChecklistRunView;
  /** A link to the run's message, once posted. */
  readonly link?: string;
}

function runLine({ view, link }: RunListing): string {
  const parts = [`#${view.id} *${escapeMrkdwn(runTitle(view))}*`, `${progressText(view.states)} done`];
  if (view.status === 'open') parts.push(`started by <@${view.startedBy}> ${slackTime(view.startedAt, '{date_short_pretty} {time}')}`);
  else if (view.endedAt) parts.push(`${view.status} ${slackTime(view.endedAt, '{date_short_pretty} {time}')}${view.endedBy ? ` by <@${view.endedBy}>` : ''}`);
  parts.push(link ? `<${link}|message>` : 'message not posted yet');
  return `• ${parts.join(' · ')}`;
}

export function buildChecklistIndex(checklists: readonly Checklist[], open: readonly RunListing[], ended: readonly RunListing[]): Message {
  const lines = ['*Checklists*'];
  for (const checklist of checklists) {
    const sections = new Set(checklist.items.map((item) => item.section).filter(Boolean)).size;
    const shape = `${checklist.items.length} items${sections > 0 ? ` in ${sections} sections` : ''}`;
    lines.push(`• \`/scale checklist ${checklist.id}\`: ${escapeMrkdwn(checklist.title)} (${shape})`);
  }
  if (checklists.length === 0) lines.push('_None configured: add some under `checklists` in the config._');
  lines.push('', `*Open runs* (${open.length})`);
  if (open.length === 0) lines.push('_None. Start one with `/scale checklist <id> "what it is for"`._');
  lines.push(...open.map(runLine));
  if (ended.length > 0) lines.push('', '*Recently ended*', ...ended.map(runLine));
  const blocks = textBlocks(lines).slice(0, SLACK_LIMITS.blocksPerMessage);
  return { text: `${checklists.length} checklists, ${open.length} open runs`, blocks };
}
