import { formatDuration } from '../core/duration.ts';
import { describeForecast, forecastWarns, type ForecastSettings } from '../core/forecast.ts';
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
/** An ok trigger whose forecast crosses within `forecast.warn_within`: ok now, not for long. */
const FORECAST_WARN_ICON = ':hourglass_flowing_sand:';
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

/** "14 days": warn_within as people say it. */
export function describeWithin(seconds: number): string {
  const days = seconds / 86_400;
  return Number.isInteger(days) ? `${days} day${days === 1 ? '' : 's'}` : formatDuration(seconds);
}

/** The ok results whose forecast crosses within warn_within. */
function warningResults(results: readonly TriggerResult[], settings: ForecastSettings | undefined): TriggerResult[] {
  if (!settings) return [];
  return results.filter((result) => result.state === 'ok' && forecastWarns(result.forecast, settings));
}

function triggerSection(trigger: Trigger, results: readonly TriggerResult[], settings?: ForecastSettings): Block {
  const ranked = rankResults(results);
  const state = worstState(ranked);
  const warnings = warningResults(ranked, settings);
  const icon = state === 'ok' && warnings.length > 0 ? FORECAST_WARN_ICON : STATE_ICONS[state];
  const title = `${icon} *${escapeMrkdwn(trigger.name)}*  (${escapeMrkdwn(describeThreshold(trigger))})`;
  const lines: string[] = [title];
  const within = settings ? describeWithin(settings.warnWithinSeconds) : '';
  if (ranked.length === 1) {
    const only = ranked[0]!;
    const labels = describeLabels(only.labels);
    const described = warnings.length > 0 ? `ok — crosses within ${within}` : describeState(only);
    lines.push(`${formatValue(only.value, trigger.unit)} · ${escapeMrkdwn(described)}${labels ? `  \`${escapeMrkdwn(labels)}\`` : ''}`);
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
      const soon = warnings.length > 0 ? `; ${warnings.length} forecast to cross within ${within}` : '';
      lines.push(`${notOk.length > 0 ? '• ' : ''}${okCount} series ok (${summary}${soon})`);
    }
  }
  return { type: 'section', text: { type: 'mrkdwn', text: truncateText(lines.join('\n'), SLACK_LIMITS.sectionText) } };
}

/**
 * The forecast under a trigger: "📈 crosses 500 in ~19 days (Dec 23)". With many series, the soonest crossing
 * and how many cross; with none crossing, what the forecasts say, most common first.
 */
function forecastContext(trigger: Trigger, results: readonly TriggerResult[], evaluatedAt: Date): Block | null {
  const forecasts = results.filter((result) => result.forecast).map((result) => ({ labels: result.labels, forecast: result.forecast! }));
  if (forecasts.length === 0) return null;
  const crossing = forecasts.filter(({ forecast }) => forecast.outcome === 'crosses').sort((a, b) => a.forecast.days! - b.forecast.days!);
  let text: string;
  if (forecasts.length === 1) {
    text = escapeMrkdwn(describeForecast(forecasts[0]!.forecast, trigger, evaluatedAt));
  } else if (crossing.length > 0) {
    const soonest = crossing[0]!;
    const labels = describeLabels(soonest.labels) || 'no labels';
    const said = escapeMrkdwn(describeForecast(soonest.forecast, trigger, evaluatedAt));
    text = `\`${escapeMrkdwn(labels)}\` ${said} · ${crossing.length} of ${forecasts.length} series forecast to cross`;
  } else {
    const counts = new Map<string, number>();
    for (const { forecast } of forecasts) {
      const said = describeForecast(forecast, trigger, evaluatedAt);
      counts.set(said, (counts.get(said) ?? 0) + 1);
    }
    text = [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([said, count]) => `${escapeMrkdwn(said)} (${count} series)`)
      .join(', ');
  }
  const icon = crossing.length > 0 ? ':chart_with_upwards_trend:' : ':crystal_ball:';
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncateText(`${icon} ${text}`, SLACK_LIMITS.sectionText) }] };
}

export interface StatusBlocksOptions {
  readonly dashboardUrl?: string | null;
  /** Offer the "Chart…" menu of the triggers (charts on). */
  readonly chartMenu?: boolean;
  /**
   * When the answer is sent: the context then says how old its figures are ("evaluated 6 s ago"), since an
   * evaluation serves everyone who asks while it is younger than prometheus.max_age. Left out for messages
   * that stay in a channel, where "6 s ago" would soon be wrong: they keep the date alone.
   */
  readonly now?: Date;
}

/** "just now", "6 s ago", "2 min ago": the age of an evaluation at `now`. */
export function describeEvaluationAge(evaluatedAt: Date, now: Date): string {
  const seconds = Math.floor((now.getTime() - evaluatedAt.getTime()) / 1000);
  return seconds < 1 ? 'just now' : `${formatDuration(seconds)} ago`;
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
  const settings = report.forecastSettings;
  const warningCount = groups.filter((group) => warningResults(group.results, settings).length > 0).length;
  const forecastWarning =
    settings && warningCount > 0 && report.verdict === 'ok' && !report.failure
      ? `${warningCount} trigger${warningCount === 1 ? ' is' : 's are'} forecast to cross within ${describeWithin(settings.warnWithinSeconds)}`
      : null;
  const title = report.failure
    ? 'Cannot tell: no metrics'
    : forecastWarning
      ? truncateText(`${VERDICT_TITLES.ok} now; ${forecastWarning}`, SLACK_LIMITS.headerText)
      : VERDICT_TITLES[report.verdict];
  const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: `${title}`, emoji: true } }, statusContext(report, options)];
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
    for (const group of inGroup) {
      blocks.push(triggerSection(group.trigger, group.results, settings));
      const forecast = forecastContext(group.trigger, group.results, report.evaluatedAt);
      if (forecast) blocks.push(forecast);
    }
  }
  const fallback = `${title}: ${summarizeCounts(report.results)}`;
  if (!options.chartMenu || groups.length === 0) return { text: fallback, blocks: fitBlockCount(blocks) };
  // The menu comes last and is never the block cut to fit.
  return { text: fallback, blocks: [...fitBlockCount(blocks, SLACK_LIMITS.blocksPerMessage - 1), chartMenu(groups.map((group) => group.trigger))] };
}

/** The line under the header: when evaluated (and how long ago), how many triggers have no data, the dashboard. */
function statusContext(report: StatusReport, options: StatusBlocksOptions): Block {
  const noDataCount = countNoData(report);
  const icon = report.failure ? ':warning:' : VERDICT_ICONS[report.verdict];
  const date = `<!date^${Math.floor(report.evaluatedAt.getTime() / 1000)}^{date_short_pretty} {time_secs}|${report.evaluatedAt.toISOString()}>`;
  const context: string[] = [options.now ? `Evaluated ${describeEvaluationAge(report.evaluatedAt, options.now)} (${date})` : `Evaluated ${date}`];
  if (noDataCount > 0 && !report.failure) context.push(`${noDataCount} trigger${noDataCount === 1 ? ' has' : 's have'} no data`);
  if (options.dashboardUrl) context.push(`<${options.dashboardUrl}|Open the Grafana dashboard>`);
  return { type: 'context', elements: [{ type: 'mrkdwn', text: `${icon} ${context.join(' · ')}` }] };
}

/**
 * `message` (buildStatusBlocks of `report`, built once however many are served it) with its age as of `now`:
 * only the context line is redone, so that each answer of a crowd costs no rebuilding of a fleet's sections.
 */
export function stampEvaluationAge(message: Message, report: StatusReport, options: StatusBlocksOptions & { readonly now: Date }): Message {
  if (message.blocks?.[1]?.type !== 'context') return message;
  const blocks = message.blocks.slice();
  blocks[1] = statusContext(report, options);
  return { ...message, blocks };
}

/** The triggers with at least one series without data. */
function countNoData(report: StatusReport): number {
  return new Set(report.results.filter((result) => result.state === 'no_data').map((result) => result.trigger.id)).size;
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
