import type { PrometheusPort } from './ports.ts';
import { decideVerdict, evaluateTrigger, evaluationWindow, noData, type Trigger, type TriggerResult, type Verdict } from './triggers.ts';

export interface StatusReport {
  readonly verdict: Verdict;
  readonly evaluatedAt: Date;
  readonly results: readonly TriggerResult[];
  /** Set when not one trigger could be evaluated: Prometheus down, every query failing. */
  readonly failure?: string;
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
): Promise<StatusReport> {
  return prometheus.judgeTriggers(triggers, at, lookbackSeconds);
}

/** collectStatus on this thread: the queries, the reading of their answers and the judging. */
export async function judgeTriggers(
  triggers: readonly Trigger[],
  prometheus: Pick<PrometheusPort, 'queryRange'>,
  at: Date,
  lookbackSeconds?: number,
): Promise<StatusReport> {
  // Milliseconds kept: a value scraped a moment ago must not be missed by rounding `now` down.
  const atSeconds = at.getTime() / 1000;
  const perTrigger = await Promise.all(
    triggers.map(async (trigger): Promise<{ results: TriggerResult[]; failed: boolean }> => {
      const { windowSeconds, stepSeconds } = evaluationWindow(trigger, lookbackSeconds);
      try {
        const series = await prometheus.queryRange(trigger.query, atSeconds - windowSeconds, atSeconds, stepSeconds);
        return { results: evaluateTrigger(trigger, series, atSeconds, stepSeconds, windowSeconds), failed: false };
      } catch (error) {
        return { results: [noData(trigger, {}, error instanceof Error ? error.message : String(error))], failed: true };
      }
    }),
  );
  const results = perTrigger.flatMap((entry) => entry.results);
  const allFailed = perTrigger.length > 0 && perTrigger.every((entry) => entry.failed);
  return {
    verdict: decideVerdict(results),
    evaluatedAt: at,
    results,
    ...(allFailed ? { failure: results[0]?.reason ?? 'no trigger could be evaluated' } : {}),
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
    })),
    ...(report.failure ? { failure: report.failure } : {}),
  };
}
