import type { PrometheusPort } from './ports.ts';
import { judgeEvidence, type Answers, type Evidence, type EvidenceTriggers } from './advisor.ts';
import type { AdviceStore } from './storage/advice.ts';
import { collectStatus } from './status.ts';
import type { Trigger } from './triggers.ts';

/**
 * Answers the decision tree's metric questions from Prometheus: one status run (all queries at once, each
 * judged from its history like `/scale status` does) over the "scale immediately" triggers, the advisor's
 * CPU and memory triggers at 80 %, and the database triggers.
 */
export async function gatherEvidence(
  triggers: EvidenceTriggers,
  prometheus: Pick<PrometheusPort, 'judgeTriggers'>,
  at: Date,
  lookbackSeconds?: number,
): Promise<Evidence> {
  const unique = new Map<string, Trigger>();
  for (const trigger of [...triggers.immediate, ...triggers.cpuMemory, ...triggers.database]) unique.set(trigger.id, trigger);
  const report = await collectStatus([...unique.values()], prometheus, at, lookbackSeconds);
  return judgeEvidence(triggers, report.results, report.evaluatedAt, report.failure);
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
): Promise<WalkInputs> {
  const evidence = await gatherEvidence(triggers, ports.prometheus, at, lookbackSeconds);
  const answers = await ports.advice.latestAnswers();
  return { evidence, answers };
}
