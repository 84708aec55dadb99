import { describeForecast, type Forecast, forecastFailed, forecastQueryWindow, forecastSeries, type ForecastSettings } from './forecast.ts';
import type { JudgeOptions, PrometheusPort } from './ports.ts';
import { type EvaluationStore, readTrigger } from './incremental-evaluation.ts';
import { decideVerdict, noData, type Series, type Trigger, type TriggerResult, type Verdict } from './triggers.ts';
import { breachKey } from './watch.ts';

export interface StatusReport {
  readonly verdict: Verdict;
  readonly evaluatedAt: Date;
  readonly results: readonly TriggerResult[];
  /** Set when not one trigger could be evaluated: Prometheus down, every query failing. */
  readonly failure?: string;
  /** The forecast settings the results were forecast with; absent when no forecast was asked for. */
  readonly forecastSettings?: ForecastSettings;
}

/**
 * Evaluates every trigger at `at`, all queries at once: the slowest query, not their sum, sets how long a
 * status takes. A failed query makes its trigger "no data" with the reason; it never makes it ok. The
 * client judges where it reads the answers: the bot's does it in a worker thread
 * (integrations/prometheus-off-thread.ts), since a fleet's answers are megabytes of JSON that would delay
 * the next ack on the event loop (README, "Benchmarks").
 */
export function collectStatus(
  triggers: readonly Trigger[],
  prometheus: Pick<PrometheusPort, 'judgeTriggers'>,
  at: Date,
  lookbackSeconds?: number,
  options?: JudgeOptions,
): Promise<StatusReport> {
  return prometheus.judgeTriggers(triggers, at, lookbackSeconds, options);
}

/**
 * collectStatus on this thread: the queries, the reading of their answers and the judging. With
 * `options.forecast`, each trigger with `forecast: true` also gets one range query over the forecast window,
 * sent with its evaluation query, and each of its results the forecast of the series with the same labels
 * (core/forecast.ts). A failed forecast query costs the forecast only, never the trigger's state.
 */
export async function judgeTriggers(
  triggers: readonly Trigger[],
  prometheus: Pick<PrometheusPort, 'queryRange'>,
  at: Date,
  lookbackSeconds?: number,
  options: JudgeOptions = {},
  /** Where the client keeps forecasts between evaluations (one per Prometheus client); none: each asks anew. */
  memo?: ForecastMemo,
  /**
   * Where the client keeps each trigger's runs between evaluations (one per Prometheus client), so that the
   * next reads only what is new (core/incremental-evaluation.ts); none: each reads the whole window.
   */
  evaluations?: EvaluationStore,
): Promise<StatusReport> {
  // Milliseconds kept: a value scraped a moment ago must not be missed by rounding `now` down.
  const atSeconds = at.getTime() / 1000;
  const settings = options.forecast;
  const perTrigger = await Promise.all(
    triggers.map(async (trigger): Promise<{ results: TriggerResult[]; failed: boolean }> => {
      const history = settings && trigger.forecast ? forecastHistory(trigger, prometheus, atSeconds, settings, memo) : null;
      let judged: { results: TriggerResult[]; failed: boolean };
      try {
        judged = { results: await readTrigger(trigger, prometheus, atSeconds, lookbackSeconds, evaluations), failed: false };
      } catch (error) {
        judged = { results: [noData(trigger, {}, error instanceof Error ? error.message : String(error))], failed: true };
      }
      if (!settings) return judged;
      if (!history) return { ...judged, results: judged.results.map((result) => ({ ...result, forecast: null })) };
      const forecastOf = await history;
      return { ...judged, results: judged.results.map((result) => ({ ...result, forecast: forecastOf(result.labels) })) };
    }),
  );
  const results = perTrigger.flatMap((entry) => entry.results);
  const allFailed = perTrigger.length > 0 && perTrigger.every((entry) => entry.failed);
  return {
    verdict: decideVerdict(results),
    evaluatedAt: at,
    results,
    ...(allFailed ? { failure: results[0]?.reason ?? 'no trigger could be evaluated' } : {}),
    ...(settings ? { forecastSettings: settings } : {}),
  };
}

/**
 * Forecasts computed once per step of the forecast query (5 min at a 7-day window), shared by every status,
 * advice and digest asked for meanwhile. The query's end is aligned to that step, so within one step it would
 * answer the same points: asking again costs Prometheus a week of points per series (about 270 ms of its CPU at
 * 100 series, bench/forecast.ts) and says nothing new. Only the fitted forecasts are kept, never the points.
 */
export interface ForecastMemo {
  /** The forecasts of `trigger` at the aligned `end`, computed by `compute` unless they are known (or being computed). */
  forecasts(trigger: Trigger, settings: ForecastSettings, end: number, compute: () => Promise<ForecastsByKey>): Promise<ForecastsByKey>;
}

export type ForecastsByKey = { readonly byKey: ReadonlyMap<string, Forecast>; readonly none: Forecast; readonly failed?: boolean };

export function createForecastMemo(): ForecastMemo {
  const entries = new Map<string, { end: number; forecasts: Promise<ForecastsByKey> }>();
  return {
    forecasts(trigger, settings, end, compute) {
      const key = JSON.stringify([trigger.id, trigger.query, trigger.op, trigger.threshold, trigger.unit, settings]);
      const known = entries.get(key);
      if (known && known.end === end) return known.forecasts;
      const forecasts = compute();
      entries.set(key, { end, forecasts });
      // A failed query is not remembered: the next status asks again.
      void forecasts.then(
        (entry) => {
          if (entry.failed && entries.get(key)?.forecasts === forecasts) entries.delete(key);
        },
        () => entries.delete(key),
      );
      return forecasts;
    },
  };
}

/**
 * The trigger's history over the forecast window, as a lookup from a result's labels to its forecast (series
 * matched as the watcher matches breaches: by breachKey). Never rejects: a failed query is every series'
 * forecast, said as such. The query ends at `at` rounded down to its step, so that a memo can share it.
 */
async function forecastHistory(
  trigger: Trigger,
  prometheus: Pick<PrometheusPort, 'queryRange'>,
  atSeconds: number,
  settings: ForecastSettings,
  memo: ForecastMemo | undefined,
): Promise<(labels: Readonly<Record<string, string>>) => Forecast> {
  const { startOffset, step } = forecastQueryWindow(settings);
  const end = Math.floor(atSeconds / step) * step;
  const compute = async (): Promise<ForecastsByKey> => {
    let series: Series[];
    try {
      series = await prometheus.queryRange(trigger.query, end - startOffset, end, step);
    } catch (error) {
      return { byKey: new Map(), none: forecastFailed(error instanceof Error ? error.message : String(error)), failed: true };
    }
    const byKey = new Map(series.map((entry) => [breachKey(trigger.id, entry.labels), forecastSeries(trigger, entry.points, end, settings)]));
    return { byKey, none: forecastSeries(trigger, [], end, settings) };
  };
  const { byKey, none } = await (memo ? memo.forecasts(trigger, settings, end, compute) : compute());
  return (labels) => {
    const forecast = byKey.get(breachKey(trigger.id, labels)) ?? none;
    // Fitted at the step's end: the days are counted from the evaluation itself.
    if (!forecast.crossesAt) return forecast;
    return { ...forecast, days: Math.max(0, (forecast.crossesAt.getTime() / 1000 - atSeconds) / 86_400) };
  };
}

/** The report as `scalebot status --json` prints it: one entry per trigger and series. */
export function statusReportToJson(report: StatusReport) {
  return {
    verdict: report.verdict,
    evaluated_at: report.evaluatedAt.toISOString(),
    triggers: report.results.map((result) => ({
      id: result.trigger.id,
      name: result.trigger.name,
      severity: result.trigger.severity,
      labels: result.labels,
      state: result.state,
      value: result.value === null || !Number.isFinite(result.value) ? null : result.value,
      threshold: result.trigger.threshold,
      op: result.trigger.op,
      for_seconds: result.trigger.forSeconds,
      unit: result.trigger.unit,
      held_seconds: result.heldSeconds,
      ...(result.reason ? { reason: result.reason } : {}),
      forecast: result.forecast ? forecastToJson(result.forecast, result.trigger, report.evaluatedAt) : null,
    })),
    ...(report.failure ? { failure: report.failure } : {}),
  };
}

/** The issue's `forecast: { crosses_at, days, slope_per_day, basis }`, with the outcome and the one-line summary. */
export function forecastToJson(forecast: Forecast, trigger: Trigger, evaluatedAt: Date) {
  return {
    crosses_at: forecast.crossesAt ? forecast.crossesAt.toISOString() : null,
    days: forecast.days === null ? null : Math.round(forecast.days * 10) / 10,
    slope_per_day: forecast.slopePerDay === null || !Number.isFinite(forecast.slopePerDay) ? null : Number(forecast.slopePerDay.toPrecision(6)),
    basis: forecast.basis,
    outcome: forecast.outcome,
    summary: describeForecast(forecast, trigger, evaluatedAt),
  };
}
