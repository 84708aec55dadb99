import { formatDelta, formatDollars, type Price } from '../core/capacity.ts';
import type { DigestReport, TriggerPeak } from '../core/digest.ts';
import { formatDuration } from '../core/duration.ts';
import { formatValue } from '../core/units.ts';
import { describeLabels } from './status.ts';
import { escapeMrkdwn, SLACK_LIMITS, truncateText, type Block, type Message } from './types.ts';

/** Lines per section before the rest are counted ("and 12 more"): the message stays one screen. */
const MAX_LINES = 15;

/** How the same lines are written for Slack (mrkdwn) and for the terminal (plain). */
interface Style {
  readonly bold: (text: string) => string;
  readonly text: (text: string) => string;
  readonly user: (id: string) => string;
}
const SLACK: Style = { bold: (text) => `*${text}*`, text: escapeMrkdwn, user: (id) => (/^[UW][A-Z0-9]+$/.test(id) ? `<@${id}>` : escapeMrkdwn(id)) };
const PLAIN: Style = { bold: (text) => text, text: (text) => text, user: (id) => id };

function formatIn(date: Date, timeZone: string, options: Intl.DateTimeFormatOptions): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, ...options }).format(date);
}
const dayOf = (date: Date, zone: string) => formatIn(date, zone, { weekday: 'short', day: 'numeric', month: 'short' });
const momentOf = (date: Date, zone: string) =>
  formatIn(date, zone, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/** "23 Nov – 30 Nov 2026". */
export function describeDigestWeek(report: Pick<DigestReport, 'since' | 'until' | 'timezone'>): string {
  const year = formatIn(report.until, report.timezone, { year: 'numeric' });
  const day = (date: Date) => formatIn(date, report.timezone, { day: 'numeric', month: 'short' });
  return `${day(report.since)} – ${day(report.until)} ${year}`;
}

function limited(lines: readonly string[], empty: string, more: (count: number) => string = (count) => `… and ${count} more`): string[] {
  if (lines.length === 0) return [empty];
  return lines.length > MAX_LINES ? [...lines.slice(0, MAX_LINES - 1), more(lines.length - MAX_LINES + 1)] : [...lines];
}

function peakLine(entry: TriggerPeak, report: DigestReport, style: Style, icons: boolean): string {
  const { trigger, peak } = entry;
  const threshold = `${trigger.op} ${formatValue(trigger.threshold, trigger.unit)}`;
  const icon = !icons ? '' : peak === null ? ':grey_question: ' : entry.over ? ':red_circle: ' : ':large_green_circle: ';
  const name = style.bold(style.text(trigger.name));
  if (peak === null) return `${icon}${name}: no data this week${entry.failure ? ` (${style.text(entry.failure)})` : ''} (threshold ${style.text(threshold)})`;
  const word = trigger.op.startsWith('<') ? 'low' : 'peak';
  const where = describeLabels(peak.labels);
  const series = entry.seriesCount > 1 ? ` of ${entry.seriesCount} series` : '';
  return (
    `${icon}${name}: ${word} ${style.bold(style.text(formatValue(peak.value, trigger.unit)))} against ${style.text(threshold)}, ` +
    `${entry.over ? 'over' : 'under'} · ${momentOf(peak.at, report.timezone)}${where ? ` · ${style.text(where)}${series}` : ''}`
  );
}

function forecastLines(report: DigestReport, style: Style): string[] {
  return report.forecasts.map((forecast) => {
    const where = describeLabels(forecast.labels);
    const slope =
      forecast.slopePerDay === null ? '' : ` · ${forecast.slopePerDay >= 0 ? '+' : ''}${formatValue(forecast.slopePerDay, forecast.trigger.unit)}/day`;
    return (
      `${style.bold(style.text(forecast.trigger.name))}${where ? ` (${style.text(where)})` : ''} crosses ` +
      `${style.text(formatValue(forecast.trigger.threshold, forecast.trigger.unit))} in ~${Math.max(0, Math.round(forecast.days))} days ` +
      `(${dayOf(forecast.crossesAt, report.timezone)})${slope}`
    );
  });
}

function breachLines(report: DigestReport, style: Style): string[] {
  return report.openBreaches.map((breach) => {
    const where = describeLabels(breach.labels);
    const acked = breach.ackedBy ? `, acknowledged by ${style.user(breach.ackedBy)}` : ', not acknowledged';
    return (
      `${style.bold(style.text(breach.name))}${where ? ` (${style.text(where)})` : ''}: open ${formatDuration(breach.openSeconds)} ` +
      `(since ${momentOf(breach.openedAt, report.timezone)})${acked}`
    );
  });
}

const OUTCOME_WORDS: Record<string, string> = { rolled_back: 'rolled back', rollback_failed: 'rollback failed', pending_approval: 'waiting for approval' };
const outcomeWord = (outcome: string) => OUTCOME_WORDS[outcome] ?? outcome.replace(/_/g, ' ');

function decisionLines(report: DigestReport, style: Style): string[] {
  const { decisions } = report;
  const lines: string[] = [];
  const counts = new Map<string, number>();
  for (const run of decisions.runs) counts.set(run.outcome, (counts.get(run.outcome) ?? 0) + 1);
  const outcomes = [...counts].map(([outcome, count]) => `${count} ${outcomeWord(outcome)}`).join(', ');
  lines.push(
    `Runbook runs: ${decisions.runsRequested} requested, ${decisions.runs.length} moved${outcomes ? ` (now ${outcomes})` : ''}` +
      `; checklists completed: ${decisions.checklistsCompleted.length}; advice given: ${decisions.advice.length}; ` +
      `acknowledgements: ${decisions.acknowledgements.length}`,
  );
  // The notable ones: runs that did not simply succeed, completed checklists, the advice.
  const notable = [
    ...decisions.runs
      .filter((run) => run.outcome !== 'succeeded')
      .map((run) => `Run #${run.runId} of ${style.bold(style.text(run.runbookId))}: ${outcomeWord(run.outcome)} (${momentOf(run.at, report.timezone)})`),
    ...decisions.checklistsCompleted.map(
      (entry) =>
        `Checklist ${style.bold(style.text(entry.title ?? entry.subject ?? '?'))} completed by ${style.user(entry.actor)} ` +
        `(${dayOf(entry.at, report.timezone)})`,
    ),
    ...decisions.advice.map(
      (entry) => `Advice: ${style.bold(style.text(outcomeWord(entry.title ?? '?')))} for ${style.user(entry.actor)} (${dayOf(entry.at, report.timezone)})`,
    ),
  ];
  return [...lines, ...limited(notable, '', (count) => `… and ${count} more (\`scalebot history\` lists them)`).filter(Boolean)];
}

function priceLine(price: Price, style: Style): string {
  switch (price.kind) {
    case 'unavailable':
      return `cannot be priced: ${style.text(price.reason)}`;
    case 'tier': {
      const moves = price.upgrades.map((upgrade) => `${upgrade.servers} ${style.text(upgrade.from.name)} → ${style.text(upgrade.to.name)}`).join(', ');
      const total = style.bold(`${formatDollars(price.newTotalWithApis)}/month`);
      return `${moves}: ${formatDollars(price.newMonthly)}/month (${formatDelta(price.delta)}), ${total} with the APIs`;
    }
    case 'stage':
      return (
        `${style.text(price.stage.label)}: ${formatDollars(price.newMonthly)}/month (${formatDelta(price.delta)}), ` +
        `${style.bold(`${formatDollars(price.newTotalWithApis)}/month`)} with the APIs`
      );
  }
}

function costLines(report: DigestReport, style: Style): string[] {
  const { costs } = report;
  const why = costs.nextStepReason === 'advice' ? "the week's latest advice" : "the guide's rule";
  return [
    `Now: ${style.text(costs.currentLabel)} ${formatDollars(costs.currentMonthly)}/month + ${formatDollars(costs.apiMonthly)} APIs = ` +
      style.bold(`${formatDollars(costs.currentMonthly + costs.apiMonthly)}/month`),
    `Next step (${outcomeWord(costs.nextStep)}, ${why}): ${priceLine(costs.nextPrice, style)}`,
  ];
}

function lateNote(report: DigestReport): string {
  const missed = `${momentOf(report.until, report.timezone)} (${report.timezone})`;
  return `late: the bot was not running at ${missed}; posted ${momentOf(report.generatedAt, report.timezone)}`;
}

function horizonWeeks(report: DigestReport): number {
  return Math.round(report.forecastHorizonSeconds / (7 * 86_400));
}

function section(title: string, lines: readonly string[]): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: truncateText(`*${title}*\n${lines.join('\n')}`, SLACK_LIMITS.sectionText) } };
}

/** The digest as a Slack message. */
export function buildDigestMessage(report: DigestReport): Message {
  const week = describeDigestWeek(report);
  const title = `Weekly capacity digest · ${week}${report.late ? ' (late)' : ''}`;
  const overCount = report.peaks.filter((entry) => entry.over).length;
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: truncateText(title, SLACK_LIMITS.headerText) } },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: report.late
            ? `:hourglass: ${escapeMrkdwn(lateNote(report))}`
            : `Week ending ${momentOf(report.until, report.timezone)} (${escapeMrkdwn(report.timezone)})`,
        },
      ],
    },
  ];
  if (report.failure) blocks.push(section(':warning: Prometheus', [escapeMrkdwn(report.failure)]));
  blocks.push(
    section(
      `Peaks of the week (${overCount} of ${report.peaks.length} over)`,
      limited(
        report.peaks.map((entry) => peakLine(entry, report, SLACK, true)),
        'No triggers are configured.',
      ),
    ),
    section(`Forecasts (next ${horizonWeeks(report)} weeks)`, limited(forecastLines(report, SLACK), 'No trigger is forecast to cross its threshold.')),
    section(`Open breaches (${report.openBreaches.length})`, limited(breachLines(report, SLACK), 'None.')),
    section("The week's decisions", decisionLines(report, SLACK)),
    section('Costs', costLines(report, SLACK)),
    { type: 'context', elements: [{ type: 'mrkdwn', text: '`npx scalebot digest` prints this for any week; `/scale cost` and `/scale plan` say more.' }] },
  );
  const text =
    `${title}: ${overCount} of ${report.peaks.length} triggers over their threshold, ` +
    `${report.forecasts.length} forecast to cross, ${report.openBreaches.length} open breaches.`;
  return { text, blocks };
}

/** The caption of the small-multiples picture in the digest's thread. */
export function digestChartTitle(report: Pick<DigestReport, 'since' | 'until' | 'timezone'>): string {
  return `The week's triggers · ${describeDigestWeek(report)}`;
}

/** The digest as `scalebot digest` prints it. */
export function formatDigestText(report: DigestReport): string {
  const lines = [`Weekly capacity digest · ${describeDigestWeek(report)}${report.late ? ' (late)' : ''}`];
  lines.push(`${momentOf(report.since, report.timezone)} – ${momentOf(report.until, report.timezone)} (${report.timezone})`);
  if (report.late) lines.push(lateNote(report));
  if (report.failure) lines.push(`Prometheus: ${report.failure}`);
  const part = (title: string, body: readonly string[]) => lines.push('', title, ...body.map((line) => `  ${line}`));
  part(
    'Peaks of the week',
    report.peaks.length === 0
      ? ['No triggers are configured.']
      : report.peaks.map((entry) => `${entry.peak === null ? '?   ' : entry.over ? 'OVER' : 'ok  '} ${peakLine(entry, report, PLAIN, false)}`),
  );
  part(
    `Forecasts (next ${horizonWeeks(report)} weeks)`,
    report.forecasts.length ? forecastLines(report, PLAIN) : ['No trigger is forecast to cross its threshold.'],
  );
  part(`Open breaches (${report.openBreaches.length})`, report.openBreaches.length ? breachLines(report, PLAIN) : ['None.']);
  part("The week's decisions", decisionLines(report, PLAIN));
  part('Costs', costLines(report, PLAIN));
  return `${lines.join('\n')}\n`;
}
