import { formatDuration } from '../core/duration.ts';
import type { BlindPeriodRecord, BreachRecord } from '../core/storage/breaches.ts';
import type { Severity } from '../core/triggers.ts';
import { formatValue, type Unit } from '../core/units.ts';
import type { BreachClick, BreachClickRefusal } from '../core/watch.ts';
import { describeLabels } from './status.ts';
import { escapeMrkdwn, SLACK_LIMITS, truncateText, type Block, type Message } from './types.ts';

/** The ids of a breach message's buttons: written by buildBreachMessage, read back by parseAlertAction. */
const ACK_ACTION = 'alert_ack';
const STATUS_ACTION = 'alert_status';
const CHART_ACTION = 'alert_chart';
const SNOOZE_ACTION_PREFIX = 'alert_snooze_';

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

/** A link Slack resolves to the message in the user's own workspace. */
export function messageLink(channel: string, ts: string): string {
  return `https://slack.com/archives/${channel}/p${ts.replace('.', '')}`;
}

export function formatBreachValue(breach: BreachRecord): string {
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
  /** Offer a Chart button (charts on; a watcher breach, whose trigger has a query to draw). */
  readonly charts?: boolean;
}

/** The one message of a breach, re-rendered from the database on every change. */
export function buildBreachMessage(breach: BreachRecord, { now, snoozeOptionsSeconds, charts = false }: BreachMessageOptions): Message {
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
    context.push(
      `:zzz: snoozed${breach.snoozedBy ? ` by ${mention(breach.snoozedBy)}` : ''} until ${slackTime(breach.snoozedUntil, '{date_short_pretty} {time}')}`,
    );
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
          : [
              {
                type: 'button' as const,
                action_id: ACK_ACTION,
                style: 'primary' as const,
                text: { type: 'plain_text' as const, text: 'Acknowledge' },
                value: String(breach.id),
              },
            ]),
        ...snoozeOptionsSeconds.map((seconds) => ({
          type: 'button' as const,
          action_id: `${SNOOZE_ACTION_PREFIX}${seconds}`,
          text: { type: 'plain_text' as const, text: `Snooze ${formatDuration(seconds)}` },
          value: `${breach.id}:${seconds}`,
        })),
        { type: 'button' as const, action_id: STATUS_ACTION, text: { type: 'plain_text' as const, text: 'Status' }, value: String(breach.id) },
        ...(charts && breach.source === 'watcher'
          ? [{ type: 'button' as const, action_id: CHART_ACTION, text: { type: 'plain_text' as const, text: 'Chart' }, value: String(breach.id) }]
          : []),
      ],
    });
  }
  // The fallback is mrkdwn too (notifications, clients without blocks): escaped like the blocks, so an alert's
  // name, labels or summary cannot ping the channel or hide a link there either.
  const valueText = breach.lastValue === null ? (detail.summary ?? '') : `${formatBreachValue(breach)}${thresholdText(detail)}`;
  const text = truncateText(escapeMrkdwn(`${title}${labels ? ` (${labels})` : ''}${valueText ? `: ${valueText}` : ''}`), SLACK_LIMITS.sectionText);
  return { text, blocks };
}

export function buildReminderMessage(breach: BreachRecord, now: Date): Message {
  const lasted = formatDuration((now.getTime() - breach.breachedSince.getTime()) / 1000);
  const value = breach.lastValue === null ? '' : ` is ${formatBreachValue(breach)}`;
  const text = `:alarm_clock: Still breached after ${lasted}: ${escapeMrkdwn(`${breach.name}${value}`)}. Acknowledge or snooze to silence reminders.`;
  return { text: truncateText(text, SLACK_LIMITS.sectionText) };
}

export function buildResolvedReply(breach: BreachRecord): Message {
  const lasted = breach.resolvedAt ? formatDuration((breach.resolvedAt.getTime() - breach.breachedSince.getTime()) / 1000) : 'a while';
  const value = breach.lastValue === null ? '' : ` is back at ${formatBreachValue(breach)}`;
  return { text: truncateText(`:white_check_mark: Resolved after ${lasted}: ${escapeMrkdwn(`${breach.name}${value}`)}.`, SLACK_LIMITS.sectionText) };
}

export function buildBlindMessage(period: BlindPeriodRecord, now: Date): Message {
  if (period.endedAt) {
    const lasted = formatDuration((period.endedAt.getTime() - period.startedAt.getTime()) / 1000);
    const text = `:eyes: Monitoring was blind from ${slackTime(period.startedAt)} to ${slackTime(period.endedAt)} (${lasted}); Prometheus answers again.`;
    return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
  }
  const lasted = formatDuration((now.getTime() - period.startedAt.getTime()) / 1000);
  const text = truncateText(
    `:see_no_evil: *Monitoring is blind* since ${slackTime(period.startedAt)} (${lasted}): ${escapeMrkdwn(period.reason)}\n` +
      'No breach is opened or resolved until Prometheus answers again.',
    SLACK_LIMITS.sectionText,
  );
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

// The buttons on a breach's message, and what a click on them is told.

/** A click on a breach message's button, as parseAlertAction reads it. */
export type AlertAction = { kind: 'ack' | 'status' | 'chart'; breachId: number } | { kind: 'snooze'; breachId: number; seconds: number };

/** Reads a button's action id and value (as buildBreachMessage writes them); anything else is refused with null. */
export function parseAlertAction(actionId: string, value: string | undefined): AlertAction | null {
  if (!value || !/^\d{1,12}(:\d{1,9})?$/.test(value)) return null;
  const [idText, secondsText] = value.split(':');
  const breachId = Number(idText);
  if (actionId === ACK_ACTION && secondsText === undefined) return { kind: 'ack', breachId };
  if (actionId === STATUS_ACTION && secondsText === undefined) return { kind: 'status', breachId };
  if (actionId === CHART_ACTION && secondsText === undefined) return { kind: 'chart', breachId };
  const snooze = new RegExp(`^${SNOOZE_ACTION_PREFIX}(\\d+)$`).exec(actionId);
  if (snooze && secondsText === snooze[1]) return { kind: 'snooze', breachId, seconds: Number(secondsText) };
  return null;
}

/** Why a click on a breach changed nothing, for the clicker alone. */
export function describeClickRefusal(breachId: number, click: BreachClick, refusal: BreachClickRefusal): string {
  const verb = click.kind === 'acknowledge' ? 'acknowledge' : 'snooze';
  switch (refusal.reason) {
    case 'snooze_not_offered':
      return 'That snooze length is not offered.';
    case 'no_breach':
      return `Breach #${breachId} does not exist.`;
    case 'resolved':
      return `This breach was resolved; nothing to ${verb}.`;
    case 'already_acknowledged':
      return `Already acknowledged by <@${refusal.by}>.`;
  }
}

/** Acknowledge and Snooze are for responders; `allowed` describes who they are. */
export function notAResponder(allowed: string): string {
  return `:no_entry: Only ${allowed} may acknowledge or snooze alerts (\`watch.responders\`). Nothing was changed.`;
}

/** A second Status click within the same half minute. */
export const STATUS_ALREADY_POSTED = ':information_source: The status is already in the thread (asked for in the last half minute); it was not posted again.';

/** One open breach for `/scale alerts`, with its message once Slack has it. */
export interface OpenBreachEntry {
  readonly breach: BreachRecord;
  readonly message?: { readonly channel: string; readonly ts: string | null };
}

/** The `/scale alerts` answer: the open breaches, with links to their messages. */
export function buildOpenBreachesList(entries: readonly OpenBreachEntry[], now: Date, watcherOn: boolean): Message {
  if (entries.length === 0) {
    const watching = watcherOn ? '' : ' (the watcher is off: set `slack.alerts_channel` to turn it on)';
    return { text: `:white_check_mark: No open breaches${watching}.` };
  }
  const lines = entries.map(({ breach, message }) => {
    const labels = describeLabels(breach.labels);
    const link = message?.ts ? ` · <${messageLink(message.channel, message.ts)}|message>` : ' · message not posted yet';
    const state = [
      breach.ackedBy ? `acknowledged by <@${breach.ackedBy}>` : '',
      breach.snoozedUntil && breach.snoozedUntil > now ? `snoozed until ${slackTime(breach.snoozedUntil)}` : '',
    ].filter(Boolean);
    const subject = `${escapeMrkdwn(breach.name)}${labels ? ` \`${escapeMrkdwn(labels)}\`` : ''}`;
    const lasted = formatDuration((now.getTime() - breach.breachedSince.getTime()) / 1000);
    const stateNote = state.length ? ` (${state.join(', ')})` : '';
    return `• *${SEVERITY_TITLES[breach.severity]}*: ${subject}: ${escapeMrkdwn(formatBreachValue(breach))}, for ${lasted}${stateNote}${link}`;
  });
  const text = truncateText(`*${entries.length} open breach${entries.length === 1 ? '' : 'es'}*\n${lines.join('\n')}`, SLACK_LIMITS.sectionText);
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
