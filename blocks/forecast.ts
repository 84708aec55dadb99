import { describeForecast, type Forecast } from '../core/forecast.ts';
import type { Trigger } from '../core/triggers.ts';
import { formatValue } from '../core/units.ts';
import { describeLabels } from './status.ts';
import { escapeMrkdwn, SLACK_LIMITS, truncateText, type Block, type Message } from './types.ts';

export interface ForecastMessageInput {
  readonly trigger: Pick<Trigger, 'id' | 'name' | 'op' | 'threshold' | 'unit' | 'advice'>;
  /** The series that crosses first, as the trigger's query returned it. */
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number | null;
  /** A forecast whose outcome is `crosses`. */
  readonly forecast: Forecast;
  /** The ISO week it is posted for ("2026-W49"): the message says when the next one may come. */
  readonly week: string;
  readonly now: Date;
}

/**
 * A heads-up, not a breach: nothing is wrong yet, so there is nothing to acknowledge or snooze and no thread
 * to resolve. Its own look (a chart icon, "forecast" in its title and context) keeps it apart from breaches.
 */
export function buildForecastMessage({ trigger, labels, value, forecast, week, now }: ForecastMessageInput): Message {
  // describeForecast says "crosses 500 in ~9 days (Dec 13)"; here the trigger is the subject of the sentence.
  const crossing = describeForecast(forecast, trigger, now).replace(/^crosses /, 'cross ');
  const series = describeLabels(labels);
  const headline = `${trigger.name} ${series ? `(${series}) ` : ''}is forecast to ${crossing} at the current trend`;
  const text = `📈 ${headline} (${forecast.basis}).`;

  const currently = value === null ? '' : `; now ${escapeMrkdwn(formatValue(value, trigger.unit))}`;
  const threshold = `threshold ${trigger.op} ${escapeMrkdwn(formatValue(trigger.threshold, trigger.unit))}`;
  const advice = trigger.advice ? `${escapeMrkdwn(trigger.advice)} ` : '';
  const lines = [
    `:chart_with_upwards_trend: *Forecast: ${escapeMrkdwn(trigger.name)}*${series ? `  \`${escapeMrkdwn(series)}\`` : ''}`,
    `Forecast to *${escapeMrkdwn(crossing)}* at the current trend${currently} (${threshold}).`,
    `:bulb: ${advice}\`/scale plan\` shows what the next step is and what it costs; \`/scale status\` shows every trigger.`,
  ];
  const context = [
    `Fitted on ${escapeMrkdwn(forecast.basis)}`,
    `scalebot forecast · \`${escapeMrkdwn(trigger.id)}\` · at most once a week per trigger (${week})`,
  ];
  const blocks: Block[] = [
    { type: 'section', text: { type: 'mrkdwn', text: truncateText(lines.join('\n'), SLACK_LIMITS.sectionText) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: truncateText(context.join(' · '), SLACK_LIMITS.sectionText) }] },
  ];
  return { text: truncateText(text, SLACK_LIMITS.sectionText), blocks };
}
