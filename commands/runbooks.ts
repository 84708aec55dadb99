import { buildRunbookList } from '../blocks/runbook.ts';
import { UsageError, type Subcommand } from './types.ts';

export const runbooks = {
  name: 'runbooks',
  usage: 'runbooks',
  summary: "The guide's migration steps as runbooks you can run",
  async run({ args, deps, respond }) {
    if (args.length > 0) throw new UsageError('`/scale runbooks` takes no arguments.');
    await respond({ ...buildRunbookList(deps.config.runbooks, [...deps.config.hosts.keys()]), ephemeral: true });
    return { detail: { runbooks: deps.config.runbooks.length, disabled: deps.config.runbooks.filter((runbook) => runbook.disabled).length } };
  },
} as const satisfies Subcommand;
