import type { ForecastSettings } from './forecast.ts';
import type { PrometheusPort } from './ports.ts';
import { citeForecasts, judgeEvidence, type Answers, type Evidence, type EvidenceTriggers } from './advisor.ts';
import type { AdviceStore } from './storage/advice.ts';
import { collectStatus } from './status.ts';
import type { Trigger } from './triggers.ts';

/** What the advice forecasts: the settings, and the triggers beyond the tree's own to forecast (the growing "soon" ones). */
export interface EvidenceForecast {
  readonly settings: ForecastSettings;
  readonly triggers: readonly Trigger[];
}

/**
 * Answers the decision tree's metric questions from Prometheus: one status run (all queries at once, each
 * judged from its history like `/scale status` does) over the "scale immediately" triggers, the advisor's
 * CPU and memory triggers at 80 %, and the database triggers. With `forecast`, its triggers join the run and
 * every trigger with `forecast: true` is forecast: the evidence cites those that cross within warn_within.
 */
export async function gatherEvidence(
  triggers: EvidenceTriggers,
  prometheus: Pick<PrometheusPort, 'judgeTriggers'>,
  at: Date,
  lookbackSeconds?: number,
  forecast?: EvidenceForecast,
): Promise<Evidence> {
  const unique = new Map<string, Trigger>();
  const forecastTriggers = forecast?.triggers.filter((trigger) => trigger.forecast) ?? [];
  for (const trigger of [...triggers.immediate, ...triggers.cpuMemory, ...triggers.database, ...forecastTriggers]) unique.set(trigger.id, trigger);
  const report = await collectStatus([...unique.values()], prometheus, at, lookbackSeconds, forecast ? { forecast: forecast.settings } : {});
  const evidence = judgeEvidence(triggers, report.results, report.evaluatedAt, report.failure);
  return forecast && !report.failure ? { ...evidence, forecasts: citeForecasts(report.results, forecast.settings, report.evaluatedAt) } : evidence;
}

/** What a walk of the decision tree starts from: the metrics now, and the answers people gave before. */
export interface WalkInputs {
  readonly evidence: Evidence;
  readonly answers: Answers;
}

/**
 * The evidence, then the remembered answers: read after Prometheus has answered, so that an answer clicked
 * meanwhile counts for this walk.
 */
export async function gatherWalkInputs(
  triggers: EvidenceTriggers,
  ports: { readonly prometheus: Pick<PrometheusPort, 'judgeTriggers'>; readonly advice: Pick<AdviceStore, 'latestAnswers'> },
  at: Date,
  lookbackSeconds?: number,
  forecast?: EvidenceForecast,
): Promise<WalkInputs> {
  const evidence = await gatherEvidence(triggers, ports.prometheus, at, lookbackSeconds, forecast);
  const answers = await ports.advice.latestAnswers();
  return { evidence, answers };
}
