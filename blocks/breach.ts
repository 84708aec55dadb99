import { formatDuration } from '../core/duration.ts';
import type { Severity } from '../core/triggers.ts';
import { formatValue, type Unit } from '../core/units.ts';
import type { BreachRow, BlindPeriodRow } from '../db/breaches.ts';
import { describeLabels } from './status.ts';
import { escapeMrkdwn, SLACK_LIMITS, truncateText, type Block, type Message } from './types.ts';

export const SEVERITY_TITLES: Record<Severity, string> = { immediate: 'Scale now', soon: 'Scale soon' };
const SEVERITY_ICONS: Record<Severity, string> = { immediate: ':red_circle:', soon: ':large_yellow_circle:' };

/** What a breach row's `detail` holds: how to show its value, and what to advise. */
export interface BreachDetail {
  unit?: Unit;
  op?: string;
  threshold?: number;
  forSeconds?: number;
  advice?: string;
  summary?: string;
  description?: string;
  generatorUrl?: string;
}

/** <!date^…> shows each reader the time in their own zone; the fallback is UTC. */
export function slackTime(date: Date, format = '{time}'): string {
  return `<!date^${Math.floor(date.getTime() / 1000)}^${format}|${date.toISOString().slice(11, 16)} UTC>`;
}

export function formatBreachValue(breach: BreachRow): string {
  const detail = breach.detail as BreachDetail;
  if (breach.lastValue === null) return 'no value';
  const value = Number(breach.lastValue);
  if (detail.unit && !Number.isNaN(value)) return formatValue(value, detail.unit);
  return breach.lastValue;
}

function thresholdText(detail: BreachDetail): string {
  if (detail.threshold === undefined || !detail.op || !detail.unit) return '';
  const held = detail.forSeconds ? ` for ${formatDuration(detail.forSeconds)}` : '';
  return ` (threshold ${detail.op} ${formatValue(detail.threshold, detail.unit)}${held})`;
}

/** A user's mention; anything that is not a Slack user id is shown as text, never as markup. */
function mention(user: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(user) ? `<@${user}>` : escapeMrkdwn(user);
}

export interface BreachMessageOptions {
  readonly now: Date;
  readonly snoozeOptionsSeconds: readonly number[];
}

/** The one message of a breach, re-rendered from the database on every change. */
export function buildBreachMessage(breach: BreachRow, { now, snoozeOptionsSeconds }: BreachMessageOptions): Message {
  const detail = breach.detail as BreachDetail;
  const labels = describeLabels(breach.labels);
  const title = breach.status === 'resolved' ? `Resolved: ${breach.name}` : `${SEVERITY_TITLES[breach.severity]}: ${breach.name}`;
  const icon = breach.status === 'resolved' ? ':white_check_mark:' : SEVERITY_ICONS[breach.severity];
  const lines = [`${icon} *${escapeMrkdwn(title)}*${labels ? `  \`${escapeMrkdwn(labels)}\`` : ''}`];
  if (breach.status === 'resolved' && breach.resolvedAt) {
    const lasted = formatDuration((breach.resolvedAt.getTime() - breach.breachedSince.getTime()) / 1000);
    const last = breach.lastValue === null ? '' : ` Last value ${escapeMrkdwn(formatBreachValue(breach))}${escapeMrkdwn(thresholdText(detail))}.`;
    lines.push(`Resolved after ${lasted}, at ${slackTime(breach.resolvedAt)}.${last}`);
  } else {
    const heldFor = formatDuration((now.getTime() - breach.breachedSince.getTime()) / 1000);
    const value = breach.lastValue === null ? 'Firing' : `*${escapeMrkdwn(formatBreachValue(breach))}*${escapeMrkdwn(thresholdText(detail))}`;
    lines.push(`${value}, since ${slackTime(breach.breachedSince)} (${heldFor})`);
    if (breach.conditionFalseSince) lines.push(`_Back within the threshold since ${slackTime(breach.conditionFalseSince)}; resolves if it stays there._`);
  }
  if (detail.summary) lines.push(escapeMrkdwn(detail.summary));
  if (detail.description && detail.description !== detail.summary) lines.push(escapeMrkdwn(detail.description));
  if (detail.advice && breach.status === 'open') lines.push(`:bulb: ${escapeMrkdwn(detail.advice)}`);

  const context: string[] = [];
  if (breach.ackedBy && breach.ackedAt) context.push(`:eyes: acknowledged by ${mention(breach.ackedBy)} at ${slackTime(breach.ackedAt)}`);
  if (breach.snoozedUntil && breach.snoozedUntil > now && breach.status === 'open') {
    context.push(`:zzz: snoozed${breach.snoozedBy ? ` by ${mention(breach.snoozedBy)}` : ''} until ${slackTime(breach.snoozedUntil, '{date_short_pretty} {time}')}`);
  }
  context.push(`${breach.source === 'alertmanager' ? 'Alertmanager' : 'scalebot watcher'} · breach #${breach.id}`);

  const blocks: Block[] = [
    { type: 'section', text: { type: 'mrkdwn', text: truncateText(lines.join('\n'), SLACK_LIMITS.sectionText) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: truncateText(context.join(' · '), SLACK_LIMITS.sectionText) }] },
  ];
  if (breach.status === 'open') {
    blocks.push({
      type: 'actions',
      block_id: `alert_actions_${breach.id}`,
      elements: [
        ...(breach.ackedAt
          ? []
          : [{ type: 'button' as const, action_id: 'alert_ack', style: 'primary' as const, text: { type: 'plain_text' as const, text: 'Acknowledge' }, value: String(breach.id) }]),
        ...snoozeOptionsSeconds.map((seconds) => ({
          type: 'button' as const,
          action_id: `alert_snooze_${seconds}`,
          text: { type: 'plain_text' as const, text: `Snooze ${formatDuration(seconds)}` },
          value: `${breach.id}:${seconds}`,
        })),
        { type: 'button' as const, action_id: 'alert_status', text: { type: 'plain_text' as const, text: 'Status' }, value: String(breach.id) },
      ],
    });
  }
  // The fallback is mrkdwn too (notifications, clients without blocks): escaped like the blocks, so an alert's
  // name, labels or summary cannot ping the channel or hide a link there either.
  const valueText = breach.lastValue === null ? detail.summary ?? '' : `${formatBreachValue(breach)}${thresholdText(detail)}`;
  const text = truncateText(escapeMrkdwn(`${title}${labels ? ` (${labels})` : ''}${valueText ? `: ${valueText}` : ''}`), SLACK_LIMITS.sectionText);
  return { text, blocks };
}

export function buildReminderMessage(breach: BreachRow, now: Date): Message {
  const lasted = formatDuration((now.getTime() - breach.breachedSince.getTime()) / 1000);
  const value = breach.lastValue === null ? '' : ` is ${formatBreachValue(breach)}`;
  const text = `:alarm_clock: Still breached after ${lasted}: ${escapeMrkdwn(`${breach.name}${value}`)}. Acknowledge or snooze to silence reminders.`;
  return { text: truncateText(text, SLACK_LIMITS.sectionText) };
}

export function buildResolvedReply(breach: BreachRow): Message {
  const lasted = breach.resolvedAt ? formatDuration((breach.resolvedAt.getTime() - breach.breachedSince.getTime()) / 1000) : 'a while';
  const value = breach.lastValue === null ? '' : ` is back at ${formatBreachValue(breach)}`;
  return { text: truncateText(`:white_check_mark: Resolved after ${lasted}: ${escapeMrkdwn(`${breach.name}${value}`)}.`, SLACK_LIMITS.sectionText) };
}

export function buildBlindMessage(period: BlindPeriodRow, now: Date): Message {
  if (period.endedAt) {
    const lasted = formatDuration((period.endedAt.getTime() - period.startedAt.getTime()) / 1000);
    const text = `:eyes: Monitoring was blind from ${slackTime(period.startedAt)} to ${slackTime(period.endedAt)} (${lasted}); Prometheus answers again.`;
    return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
  }
  const lasted = formatDuration((now.getTime() - period.startedAt.getTime()) / 1000);
  const text = truncateText(
    `:see_no_evil: *Monitoring is blind* since ${slackTime(period.startedAt)} (${lasted}): ${escapeMrkdwn(period.reason)}\nNo breach is opened or resolved until Prometheus answers again.`,
    SLACK_LIMITS.sectionText,
  );
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
