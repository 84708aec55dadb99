import type { Logger } from 'pino';
import { buildForecastMessage } from '../blocks/forecast.ts';
import type { Config } from '../core/config/index.ts';
import { forecastWarns } from '../core/forecast.ts';
import type { Clock, PrometheusPort, Storage } from '../core/ports.ts';
import type { TriggerResult } from '../core/triggers.ts';
import { payloadOf, postMessage, type OutboxDeliverer } from './outbox.ts';

/**
 * How often Prometheus is asked for forecasts: each forecast trigger costs a range query over
 * `forecast.window` (7 days), and a trend measured in days does not change within the hour.
 */
export const FORECAST_ASK_INTERVAL_MS = 60 * 60 * 1000;

export interface ForecastPosterDeps {
  readonly storage: Storage;
  readonly config: Config;
  readonly prometheus: Pick<PrometheusPort, 'judgeTriggers'>;
  readonly deliver: OutboxDeliverer;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface ForecastPostSummary {
  /** Whether Prometheus was asked this time (off, throttled, or all posted this week: not). */
  readonly asked: boolean;
  /** Forecast messages queued (each at most once per trigger per ISO week). */
  readonly posted: number;
}

/** The ISO-8601 week of `date` in UTC, as "2026-W49": weeks start on Monday, week 1 holds the year's first Thursday. */
export function isoWeek(date: Date): string {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  // The Thursday of this week decides the year the week belongs to.
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** The outbox key that makes a trigger's forecast post once per week, across cycles, restarts and leaders. */
export function forecastPostKey(triggerId: string, week: string): string {
  return `forecast:${triggerId}:${week}`;
}

/**
 * Posts "X is forecast to cross its threshold in ~N days" for triggers that are ok now but cross within
 * `forecast.warn_within`: with `watch.forecasts: true` and an alerts channel, once per trigger per ISO week.
 * Called from the watcher's cycle, so only the leader runs it. The outbox's dedupe key is what makes it once
 * (a second post with the key queues nothing, whichever process and whenever); the hourly throttle lives in
 * memory because it only bounds cost: a restart or a new leader asks once more, and posts nothing twice.
 */
export function createForecastPoster({ storage, config, prometheus, deliver, clock, logger }: ForecastPosterDeps) {
  const channel = config.slack.alertsChannel;
  let lastAskedAt: number | null = null;

  async function postDue(now: Date = clock()): Promise<ForecastPostSummary> {
    if (!config.watch.forecasts || !channel) return { asked: false, posted: 0 };
    if (lastAskedAt !== null && now.getTime() - lastAskedAt < FORECAST_ASK_INTERVAL_MS) return { asked: false, posted: 0 };
    const week = isoWeek(now);
    // A trigger posted this week is not asked about again until next week: its 7-day query is saved too.
    const due = [];
    for (const trigger of config.triggers) {
      if (trigger.forecast && !(await storage.outbox.getByKey(forecastPostKey(trigger.id, week)))) due.push(trigger);
    }
    if (due.length === 0) return { asked: false, posted: 0 };
    lastAskedAt = now.getTime();
    const report = await prometheus.judgeTriggers(due, now, config.prometheus.lookbackSeconds, { forecast: config.forecast });
    if (report.failure) {
      logger.warn({ reason: report.failure }, 'no forecasts this hour: Prometheus could not be asked');
      return { asked: true, posted: 0 };
    }
    // A trigger with an open breach is the breach's business (its message, its thread): no forecast beside it.
    const breached = new Set((await storage.breaches.listOpen()).map((breach) => breach.triggerId));
    let posted = 0;
    for (const trigger of due) {
      const results = report.results.filter((result) => result.trigger.id === trigger.id);
      // Only a trigger that is ok on every series: pending, breached or blind ones are not "ok but growing".
      if (breached.has(trigger.id) || results.length === 0 || results.some((result) => result.state !== 'ok')) continue;
      const earliest = earliestWarning(results, config);
      if (!earliest?.forecast) continue;
      const key = forecastPostKey(trigger.id, week);
      const message = buildForecastMessage({ trigger, labels: earliest.labels, value: earliest.value, forecast: earliest.forecast, week, now });
      if (!(await storage.outbox.post(postMessage(key, channel, payloadOf(message), now)))) continue;
      posted += 1;
      // The outbox posts on its own (no Effects beside a post with no state change), so this row follows it: a
      // crash in between loses the row, never the post, and never doubles either.
      await storage.decisions.append({
        at: now,
        kind: 'forecast_posted',
        actor: 'scalebot',
        channel,
        subject: trigger.id,
        outcome: 'crosses',
        detail: {
          week,
          labels: earliest.labels,
          crosses_at: earliest.forecast.crossesAt?.toISOString() ?? null,
          days: earliest.forecast.days,
          slope_per_day: earliest.forecast.slopePerDay,
          basis: earliest.forecast.basis,
        },
      });
    }
    if (posted > 0) await deliver();
    return { asked: true, posted };
  }

  return { postDue };
}

/** Of a trigger's series, the one forecast to cross first within `forecast.warn_within`; none if none does. */
function earliestWarning(results: readonly TriggerResult[], config: Config): TriggerResult | undefined {
  let earliest: TriggerResult | undefined;
  for (const result of results) {
    if (!forecastWarns(result.forecast, config.forecast)) continue;
    const crossesAt = result.forecast?.crossesAt?.getTime() ?? Number.POSITIVE_INFINITY;
    if (!earliest || crossesAt < (earliest.forecast?.crossesAt?.getTime() ?? Number.POSITIVE_INFINITY)) earliest = result;
  }
  return earliest;
}

export type ForecastPoster = ReturnType<typeof createForecastPoster>;
