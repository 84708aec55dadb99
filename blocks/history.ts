import type { DecisionRecord } from '../core/storage/decisions.ts';
import { slackTime } from './breach.ts';
import { escapeMrkdwn, SLACK_LIMITS, truncateText, type Reply } from './types.ts';

/** What `/scale history` shows of a runbook run. */
export interface HistoryRun {
  readonly id: number;
  readonly title: string;
  readonly requester: string;
  readonly status: string;
  readonly createdAt: Date;
}

/** One line of the decision log as people read it. */
export function describeDecision(decision: DecisionRecord): string {
  const who = decision.actor.startsWith('U') || decision.actor.startsWith('W') ? `<@${decision.actor}>` : decision.actor;
  const runId = (decision.detail as { run_id?: number }).run_id;
  const step = (decision.detail as { step?: string }).step;
  const parts = [
    decision.kind.replace(/_/g, ' '),
    decision.subject ? `\`${escapeMrkdwn(decision.subject)}\`` : '',
    runId ? `run #${runId}` : '',
    step ? `step ${escapeMrkdwn(step)}` : '',
    decision.outcome ? `→ ${escapeMrkdwn(decision.outcome)}` : '',
  ].filter(Boolean);
  return `${slackTime(decision.at, '{date_short} {time}')} ${who}: ${parts.join(' ')}`;
}

/** `/scale history`: the last runbook runs and the last rows of the decision log, newest first. */
export function buildHistoryReply(runs: readonly HistoryRun[], decisions: readonly DecisionRecord[]): Reply {
  const runLines = runs.map(
    (run) =>
      `• #${run.id} *${escapeMrkdwn(run.title)}* by <@${run.requester}>: ${run.status.replace(/_/g, ' ')} ` +
      `(${slackTime(run.createdAt, '{date_short} {time}')})`,
  );
  const decisionLines = decisions.map((decision) => `• ${describeDecision(decision)}`);
  const blocks = [
    {
      type: 'section' as const,
      text: { type: 'mrkdwn' as const, text: truncateText(`*Runbook runs*\n${runLines.join('\n') || 'none yet'}`, SLACK_LIMITS.sectionText) },
    },
    {
      type: 'section' as const,
      text: {
        type: 'mrkdwn' as const,
        text: truncateText(`*Decision log* (last ${decisionLines.length})\n${decisionLines.join('\n') || 'empty'}`, SLACK_LIMITS.sectionText),
      },
    },
  ];
  return { text: `Last ${runLines.length} runs and ${decisionLines.length} decisions`, blocks, ephemeral: true };
}
