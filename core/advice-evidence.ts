import type { PrometheusPort } from './ports.ts';
import { judgeEvidence, type Evidence, type EvidenceTriggers } from './advisor.ts';
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
