import { slackTime } from '../blocks/breach.ts';
import { escapeMrkdwn, SLACK_LIMITS, truncateText } from '../blocks/types.ts';
import { listDecisions, type Decision } from '../db/decision-log.ts';
import { listRuns } from '../db/runbooks.ts';
import { UsageError, type Subcommand } from './types.ts';

/** One line of the decision log as people read it. */
export function describeDecision(decision: Decision): string {
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

export const history = {
  name: 'history',
  usage: 'history [count]',
  summary: 'The last runbook runs and decisions of the decision log',
  async run({ args, deps, respond }) {
    if (args.length > 1 || (args[0] !== undefined && !/^\d{1,3}$/.test(args[0]))) {
      throw new UsageError('`/scale history` takes at most a count: `/scale history 30`.');
    }
    const count = Math.min(Math.max(Number(args[0] ?? 15), 1), 100);
    const runs = listRuns(deps.db, { limit: 10 }).map(
      (run) => `• #${run.id} *${escapeMrkdwn(run.title)}* by <@${run.requester}>: ${run.status.replace(/_/g, ' ')} (${slackTime(run.createdAt, '{date_short} {time}')})`,
    );
    const decisions = listDecisions(deps.db, { limit: count }).map((decision) => `• ${describeDecision(decision)}`);
    const blocks = [
      { type: 'section' as const, text: { type: 'mrkdwn' as const, text: truncateText(`*Runbook runs*\n${runs.join('\n') || 'none yet'}`, SLACK_LIMITS.sectionText) } },
      { type: 'section' as const, text: { type: 'mrkdwn' as const, text: truncateText(`*Decision log* (last ${decisions.length})\n${decisions.join('\n') || 'empty'}`, SLACK_LIMITS.sectionText) } },
    ];
    await respond({ text: `Last ${runs.length} runs and ${decisions.length} decisions`, blocks, ephemeral: true });
  },
} as const satisfies Subcommand;
