import { formatDuration } from '../core/duration.ts';
import type { BreachRecord } from '../core/storage/breaches.ts';
import type { Trigger } from '../core/triggers.ts';
import { slackTime } from './breach.ts';
import { describeLabels } from './status.ts';
import { escapeMrkdwn, SLACK_LIMITS, truncateText } from './types.ts';

/** The ranges `/scale chart <trigger> [range]` accepts, and the seconds each shows. */
export const CHART_RANGES: Readonly<Record<string, number>> = { '6h': 6 * 3600, '24h': 24 * 3600, '7d': 7 * 24 * 3600 };

/** The chart title of a breach: its trigger and its series. */
export function breachChartTitle(breach: BreachRecord): string {
  const labels = describeLabels(breach.labels);
  return labels ? `${breach.name} — ${labels}` : breach.name;
}

/** The comment under a breach's chart in its thread. */
export function breachChartComment(breach: BreachRecord, moment: 'opened' | 'resolved' | 'now', windowSeconds: number): string {
  const subject = escapeMrkdwn(breachChartTitle(breach));
  if (moment === 'resolved' && breach.resolvedAt) {
    const lasted = formatDuration((breach.resolvedAt.getTime() - breach.breachedSince.getTime()) / 1000);
    const span = `from ${slackTime(breach.breachedSince)} to ${slackTime(breach.resolvedAt)} (${lasted})`;
    return truncateText(`:chart_with_downwards_trend: The whole breach: ${subject}, breached ${span}, shaded.`, SLACK_LIMITS.sectionText);
  }
  const when = moment === 'opened' ? 'as the breach opened' : 'now';
  return truncateText(`:chart_with_upwards_trend: ${subject}: the last ${formatDuration(windowSeconds)}, ${when}.`, SLACK_LIMITS.sectionText);
}

/** The comment under a chart `/scale chart` or the status message's Chart menu posted to a channel. */
export function triggerChartComment(trigger: Trigger, windowSeconds: number, user: string | null): string {
  const asked = user && /^[UW][A-Z0-9]{2,}$/.test(user) ? `, asked for by <@${user}>` : '';
  return `:chart_with_upwards_trend: ${escapeMrkdwn(trigger.name)}: the last ${formatDuration(windowSeconds)}${asked}.`;
}

/** Said once in a breach's thread when its chart could not be drawn; the breach's own message is unaffected. */
export function chartFailedReply(reason: string): string {
  return truncateText(`:warning: Couldn't draw the chart: ${escapeMrkdwn(reason)}`, SLACK_LIMITS.sectionText);
}

/** A click on a Chart button within the same half minute as another. */
export const CHART_ALREADY_POSTED = ':information_source: That chart is already on its way (asked for in the last half minute); it was not posted again.';

/** Charts are off in the config, or this bot runs without a renderer. */
export const CHARTS_OFF = ':information_source: Charts are off (`charts.enabled: false` in the config); nothing was posted.';
