import { buildHistoryReply } from '../blocks/history.ts';
import { UsageError, type Subcommand } from './types.ts';

export const history = {
  name: 'history',
  usage: 'history [count]',
  summary: 'The last runbook runs and decisions of the decision log',
  async run({ args, deps, respond }) {
    if (args.length > 1 || (args[0] !== undefined && !/^\d{1,3}$/.test(args[0]))) {
      throw new UsageError('`/scale history` takes at most a count: `/scale history 30`.');
    }
    const count = Math.min(Math.max(Number(args[0] ?? 15), 1), 100);
    const runs = await deps.storage.runbooks.listRuns({ limit: 10 });
    const decisions = await deps.storage.decisions.list({ limit: count });
    await respond(buildHistoryReply(runs, decisions));
  },
} as const satisfies Subcommand;
