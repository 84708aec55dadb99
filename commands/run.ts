import { describeParams, parseAssignments, PlanError } from '../core/runbooks.ts';
import { ParamError, TemplateError } from '../core/shell-quote.ts';
import { UsageError, type Subcommand } from './types.ts';

export const run = {
  name: 'run',
  usage: 'run <runbook> key=value …',
  summary: 'Plan a runbook; it runs once someone else approves it',
  async run({ args, user, channel, deps, respond }) {
    const [runbookId, ...assignments] = args;
    if (!runbookId) throw new UsageError('Say which runbook: `/scale run <runbook> key=value …` (`/scale runbooks` lists them).');
    const runbook = deps.config.runbooks.find((candidate) => candidate.id === runbookId);
    if (!runbook) throw new UsageError(`There is no runbook \`${runbookId}\`; \`/scale runbooks\` lists them.`);
    // A disabled runbook and a requester not in `requesters` are refused by the runner itself, which the
    // checklists' runbook items reach without this command.
    try {
      const answer = await deps.runbooks.request(runbookId, parseAssignments(assignments), user, channel);
      if (!answer.ok) {
        await respond({ text: `:no_entry: ${answer.message}`, ephemeral: true });
        return { outcome: 'refused', detail: { runbook: runbookId, reason: answer.message } };
      }
      return { outcome: 'planned', detail: { runbook: runbookId } };
    } catch (error) {
      if (error instanceof PlanError || error instanceof ParamError || error instanceof TemplateError) {
        throw new UsageError(`${error.message}. Usage: \`/scale run ${runbook.id} ${describeParams(runbook)}\``);
      }
      throw error;
    }
  },
} as const satisfies Subcommand;
