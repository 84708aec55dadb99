import { formatDuration } from '../core/duration.ts';
import type { StatusReport } from '../core/status.ts';
import { rankResults, type Trigger, type TriggerResult, type TriggerState, type Verdict } from '../core/triggers.ts';
import { formatValue } from '../core/units.ts';
import { escapeMrkdwn, SLACK_LIMITS, truncateText, type Block, type Message } from './types.ts';

export const VERDICT_TITLES: Record<Verdict, string> = {
  scale_now: 'Scale now',
  scale_soon: 'Scale soon',
  ok: 'No need to scale',
};
const VERDICT_ICONS: Record<Verdict, string> = { scale_now: ':red_circle:', scale_soon: ':large_yellow_circle:', ok: ':large_green_circle:' };
const STATE_ICONS: Record<TriggerState, string> = {
  breached: ':red_circle:',
  pending: ':large_orange_circle:',
  no_data: ':grey_question:',
  ok: ':white_check_mark:',
};
/** Series listed under one trigger before the rest are summed up, so 100 instances still fit one section. */
const MAX_SERIES_LINES = 8;

export function describeThreshold(trigger: Trigger): string {
  const held = trigger.forSeconds > 0 ? ` for ${formatDuration(trigger.forSeconds)}` : '';
  return `${trigger.op} ${formatValue(trigger.threshold, trigger.unit)}${held}`;
}

export function describeLabels(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels).filter(([name]) => name !== '__name__');
  return entries.map(([name, value]) => `${name}=${value}`).join(', ');
}

/** "breached, held 22 min", "pending, held 11 min of 15 min", "pending, held 20 s of 30 s", "ok", "no data: …". */
export function describeState(result: TriggerResult): string {
  const { trigger } = result;
  switch (result.state) {
    case 'breached': {
      if (trigger.forSeconds === 0 && result.heldSeconds === 0) return 'breached';
      const prefix = result.heldWholeWindow ? '≥ ' : '';
      return `breached, held ${prefix}${formatDuration(result.heldSeconds)}`;
    }
    case 'pending':
      return `pending, held ${formatDuration(result.heldSeconds)} of ${formatDuration(trigger.forSeconds)}`;
    case 'no_data':
      return `no data${result.reason ? `: ${result.reason}` : ''}`;
    case 'ok':
      return 'ok';
  }
}

function worstState(results: readonly TriggerResult[]): TriggerState {
  return rankResults(results)[0]?.state ?? 'no_data';
}

function triggerSection(trigger: Trigger, results: readonly TriggerResult[]): Block {
  const ranked = rankResults(results);
  const state = worstState(ranked);
  const title = `${STATE_ICONS[state]} *${escapeMrkdwn(trigger.name)}*  (${escapeMrkdwn(describeThreshold(trigger))})`;
  const lines: string[] = [title];
  if (ranked.length === 1) {
    const only = ranked[0]!;
    const labels = describeLabels(only.labels);
    lines.push(`${formatValue(only.value, trigger.unit)} · ${escapeMrkdwn(describeState(only))}${labels ? `  \`${escapeMrkdwn(labels)}\`` : ''}`);
  } else {
    const notOk = ranked.filter((result) => result.state !== 'ok');
    for (const result of notOk.slice(0, MAX_SERIES_LINES)) {
      lines.push(
        `• \`${escapeMrkdwn(describeLabels(result.labels) || 'no labels')}\`: ` +
          `${formatValue(result.value, trigger.unit)} · ${escapeMrkdwn(describeState(result))}`,
      );
    }
    if (notOk.length > MAX_SERIES_LINES) lines.push(`• … and ${notOk.length - MAX_SERIES_LINES} more series not ok`);
    const okCount = ranked.length - notOk.length;
    if (okCount > 0) {
      const worstOk = ranked.find((result) => result.state === 'ok')!;
      const summary = okCount === 1 ? formatValue(worstOk.value, trigger.unit) : `worst ${formatValue(worstOk.value, trigger.unit)}`;
      lines.push(`${notOk.length > 0 ? '• ' : ''}${okCount} series ok (${summary})`);
    }
  }
  return { type: 'section', text: { type: 'mrkdwn', text: truncateText(lines.join('\n'), SLACK_LIMITS.sectionText) } };
}

export interface StatusBlocksOptions {
  readonly dashboardUrl?: string | null;
  /** Offer the "Chart…" menu of the triggers (charts on). */
  readonly chartMenu?: boolean;
}

/** The status message's "Chart…" menu: its action id, read back by parseChartMenuChoice. */
export const CHART_MENU_ACTION = 'chart_trigger';

/** The "Chart…" menu: one option per trigger (Slack shows at most 100), its value the trigger id. */
function chartMenu(triggers: readonly Trigger[]): Block {
  return {
    type: 'actions',
    block_id: 'status_chart',
    elements: [
      {
        type: 'static_select',
        action_id: CHART_MENU_ACTION,
        placeholder: { type: 'plain_text', text: 'Chart…' },
        options: triggers.slice(0, 100).map((trigger) => ({
          text: { type: 'plain_text' as const, text: truncateText(trigger.name, SLACK_LIMITS.buttonText) },
          value: trigger.id,
        })),
      },
    ],
  };
}

/** The trigger id a choice in the "Chart…" menu names; null for any other action or a value that is no trigger id. */
export function parseChartMenuChoice(actionId: string, value: string | undefined): string | null {
  return actionId === CHART_MENU_ACTION && value && /^[a-z0-9][a-z0-9_-]{0,63}$/.test(value) ? value : null;
}

/** The `/scale status` answer: verdict header, then every trigger grouped by severity. */
export function buildStatusBlocks(report: StatusReport, options: StatusBlocksOptions = {}): Message {
  const byTrigger = new Map<string, { trigger: Trigger; results: TriggerResult[] }>();
  for (const result of report.results) {
    const entry = byTrigger.get(result.trigger.id) ?? { trigger: result.trigger, results: [] };
    entry.results.push(result);
    byTrigger.set(result.trigger.id, entry);
  }
  const groups = [...byTrigger.values()];
  const noDataCount = groups.filter((group) => group.results.some((result) => result.state === 'no_data')).length;
  const title = report.failure ? 'Cannot tell: no metrics' : VERDICT_TITLES[report.verdict];
  const icon = report.failure ? ':warning:' : VERDICT_ICONS[report.verdict];
  const context: string[] = [
    `Evaluated <!date^${Math.floor(report.evaluatedAt.getTime() / 1000)}^{date_short_pretty} {time_secs}|${report.evaluatedAt.toISOString()}>`,
  ];
  if (noDataCount > 0 && !report.failure) context.push(`${noDataCount} trigger${noDataCount === 1 ? ' has' : 's have'} no data`);
  if (options.dashboardUrl) context.push(`<${options.dashboardUrl}|Open the Grafana dashboard>`);

  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: `${title}`, emoji: true } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `${icon} ${context.join(' · ')}` }] },
  ];
  if (report.failure) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncateText(
          `:warning: ${escapeMrkdwn(report.failure)}\nEvery trigger is shown as *no data*: none of them is known to be ok.`,
          SLACK_LIMITS.sectionText,
        ),
      },
    });
  }
  for (const [severity, heading] of [
    ['immediate', '*Scale immediately if*'],
    ['soon', '*Scale soon if*'],
  ] as const) {
    const inGroup = groups.filter((group) => group.trigger.severity === severity);
    if (inGroup.length === 0) continue;
    blocks.push({ type: 'divider' }, { type: 'section', text: { type: 'mrkdwn', text: heading } });
    for (const group of inGroup) blocks.push(triggerSection(group.trigger, group.results));
  }
  const fallback = `${title}: ${summarizeCounts(report.results)}`;
  if (!options.chartMenu || groups.length === 0) return { text: fallback, blocks: fitBlockCount(blocks) };
  // The menu comes last and is never the block cut to fit.
  return { text: fallback, blocks: [...fitBlockCount(blocks, SLACK_LIMITS.blocksPerMessage - 1), chartMenu(groups.map((group) => group.trigger))] };
}

function summarizeCounts(results: readonly TriggerResult[]): string {
  const counts = new Map<TriggerState, number>();
  for (const result of results) counts.set(result.state, (counts.get(result.state) ?? 0) + 1);
  return (['breached', 'pending', 'no_data', 'ok'] as const)
    .filter((state) => counts.has(state))
    .map((state) => `${counts.get(state)} ${state.replace('_', ' ')}`)
    .join(', ');
}

/** A config with very many triggers would pass Slack's 50-block limit: say so instead of failing to post. */
function fitBlockCount(blocks: Block[], limit: number = SLACK_LIMITS.blocksPerMessage): Block[] {
  if (blocks.length <= limit) return blocks;
  const kept = blocks.slice(0, limit - 1);
  kept.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `… ${blocks.length - kept.length} more blocks cut to fit Slack; \`npx scalebot status\` shows all.` }],
  });
  return kept;
}
