import { buildCostBlocks } from '../blocks/capacity.ts';
import { compareWithAws, projectCosts, resolveCurrent } from '../core/capacity.ts';
import { takeScopeFlag, trafficScope } from './traffic-scope.ts';
import { UsageError, type Subcommand } from './types.ts';

const HOW = 'Type `/scale cost`, or `/scale cost --global` (`--not-global`) to say whether your traffic is global; `/scale plan <users>` prices a load.';

export const cost = {
  name: 'cost',
  usage: 'cost',
  summary: "What the current setup costs a month, and the year-one projection beside the guide's own",
  async run({ args, deps, respond }) {
    const { rest, global } = takeScopeFlag(args, HOW);
    if (rest.length > 0) throw new UsageError(`\`/scale cost\` takes no arguments but \`--global\` or \`--not-global\`, not “${rest.join(' ')}”. ${HOW}`);
    const { capacity, advisor } = deps.config;
    const scope = await trafficScope(deps, global);
    const current = resolveCurrent(capacity);
    const projection = projectCosts(advisor.projection, capacity, advisor.plan, scope);
    const aws = compareWithAws(advisor.awsYearOne, projection);
    await respond({ ...buildCostBlocks({ current, apiMonthly: capacity.apiMonthly, projection, aws, scope }), ephemeral: true });
    return {
      detail: {
        monthly: current.monthly + capacity.apiMonthly,
        year_one: projection.total,
        guide_year_one: projection.guideTotal,
        global: scope.global,
        global_source: scope.source,
      },
    };
  },
} as const satisfies Subcommand;
