import { buildCostBlocks } from '../blocks/capacity.ts';
import { takesNoArguments } from '../blocks/replies.ts';
import { projectCosts, resolveCurrent } from '../core/capacity.ts';
import { UsageError, type Subcommand } from './types.ts';

export const cost = {
  name: 'cost',
  usage: 'cost',
  summary: 'What the current setup costs a month, and the year-one projection',
  async run({ args, deps, respond }) {
    if (args.length > 0) throw new UsageError(takesNoArguments('cost', '; `/scale plan <users>` prices a load'));
    const { capacity, advisor } = deps.config;
    const current = resolveCurrent(capacity);
    const projection = projectCosts(advisor.projection, capacity, advisor.plan);
    await respond({ ...buildCostBlocks({ current, apiMonthly: capacity.apiMonthly, projection }), ephemeral: true });
    return { detail: { monthly: current.monthly + capacity.apiMonthly, year_one: projection.total } };
  },
} as const satisfies Subcommand;
