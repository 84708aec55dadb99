import { describeIds, describeParams, parseAssignments, PlanError } from '../core/runbooks.ts';
import { ParamError, TemplateError } from '../core/shell-quote.ts';
import { UsageError, type CommandDeps, type Subcommand } from './types.ts';

/** Group membership, as bot/responders.ts checks it for every other allow-list (wired in bot/main.ts). */
type MembershipCheck = (user: string, allowed: readonly string[]) => Promise<boolean>;

export const run = {
  name: 'run',
  usage: 'run <runbook> key=value …',
  summary: 'Plan a runbook; it runs once someone else approves it',
  async run({ args, user, channel, deps, respond }) {
    const [runbookId, ...assignments] = args;
    if (!runbookId) throw new UsageError('Say which runbook: `/scale run <runbook> key=value …` (`/scale runbooks` lists them).');
    if (!deps.runbooks) throw new UsageError('Runbooks are not available in this bot.');
    const runbook = deps.config.runbooks.find((candidate) => candidate.id === runbookId);
    if (!runbook) throw new UsageError(`There is no runbook \`${runbookId}\`; \`/scale runbooks\` lists them.`);
    if (runbook.disabled) {
      await respond({ text: `:no_entry: \`${runbook.id}\` is disabled: ${runbook.disabled}`, ephemeral: true });
      return { outcome: 'refused', detail: { runbook: runbookId, reason: 'disabled' } };
    }
    if (runbook.requesters.length > 0 && !(await mayRequest(deps, user, runbook.requesters))) {
      const message = `Only ${describeIds(runbook.requesters)} may request \`${runbook.id}\`; ask one of them.`;
      await respond({ text: `:no_entry: ${message}`, ephemeral: true });
      return { outcome: 'refused', detail: { runbook: runbookId, reason: 'not a requester' } };
    }
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

/**
 * Whether `user` is one of `allowed` (user ids, or members of the groups named). Without the bot's membership
 * check (deps.isAllowed), only a user named by id counts: a group cannot be read, so it grants nothing.
 */
async function mayRequest(deps: CommandDeps, user: string, allowed: readonly string[]): Promise<boolean> {
  const isAllowed = (deps as CommandDeps & { readonly isAllowed?: MembershipCheck }).isAllowed;
  return isAllowed ? isAllowed(user, allowed) : allowed.includes(user);
}
