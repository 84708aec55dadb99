import { formatDuration } from './duration.ts';
import type { Trigger } from './triggers.ts';
import { formatValue } from './units.ts';

/**
 * The trigger's `alert` (the guide's monitoring/alerts.yml name: HighCPUUsage, HighAPILatency, …) where it has one,
 * so that this file and the guide's can replace each other; else Scalebot + the id in CamelCase.
 */
export function alertName(trigger: Pick<Trigger, 'id' | 'alert'>): string {
  if (trigger.alert) return trigger.alert;
  return `Scalebot${trigger.id
    .split(/[_-]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}`;
}

function promDuration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/**
 * The triggers as a Prometheus alerting-rules file, for teams that want them in Prometheus itself: the same
 * queries, thresholds and durations, labelled so that the Alertmanager webhook brings them back to the bot.
 */
export function buildAlertingRules(triggers: readonly Trigger[]) {
  return {
    groups: [
      {
        name: 'scalebot',
        rules: triggers.map((trigger) => ({
          alert: alertName(trigger),
          expr: `(${trigger.query.trim()}) ${trigger.op} ${trigger.threshold}`,
          ...(trigger.forSeconds > 0 ? { for: promDuration(trigger.forSeconds) } : {}),
          labels: { severity: trigger.severity === 'immediate' ? 'critical' : 'warning', scalebot_trigger: trigger.id },
          annotations: {
            summary:
              `${trigger.name} ${trigger.op} ${formatValue(trigger.threshold, trigger.unit)}` +
              `${trigger.forSeconds > 0 ? ` for ${formatDuration(trigger.forSeconds)}` : ''}`,
            description: `${trigger.severity === 'immediate' ? 'Scale now' : 'Scale soon'}. ${trigger.advice ?? ''}`.trim(),
          },
        })),
      },
    ],
  };
}
