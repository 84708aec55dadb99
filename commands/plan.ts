import { buildPlanBlocks } from '../blocks/capacity.ts';
import { largestSingleRegion, planFor, type PlanLoad } from '../core/capacity.ts';
import { takeScopeFlag, trafficScope } from './traffic-scope.ts';
import { UsageError, type Subcommand } from './types.ts';

/** More than any table could mean; beyond it a typo is likelier than a plan. */
const MAX_USERS = 100_000_000;
const HOW =
  'Type `/scale plan <concurrent users>`, like `/scale plan 3000` (or `3,000`, `3k`), or daily active users: `/scale plan dau=12000`; ' +
  'add `--global` or `--not-global` to say whether your traffic is global.';

/** "3000", "3,000", "3k", "2.5k" → a whole number of users; null when it is not one. */
export function parseUserCount(text: string): number | null {
  const compact = text.trim().toLowerCase();
  let value: number;
  if (/^\d{1,3}(,\d{3})+$/.test(compact) || /^\d+$/.test(compact)) value = Number(compact.replace(/,/g, ''));
  else if (/^\d+(\.\d+)?k$/.test(compact)) value = Math.round(Number(compact.slice(0, -1)) * 1000);
  else return null;
  return Number.isSafeInteger(value) ? value : null;
}

/** The words after `/scale plan`: one count, bare or as users=N or dau=N, and perhaps `--global` or `--not-global`. */
export function parsePlanCommand(args: readonly string[]): { load: PlanLoad; global: boolean | undefined } {
  const { rest, global } = takeScopeFlag(args, HOW);
  return { load: parsePlanArguments(rest), global };
}

/** One count, bare or as users=N or dau=N. */
export function parsePlanArguments(args: readonly string[]): PlanLoad {
  if (args.length === 0) throw new UsageError(`\`/scale plan\` needs a number of users. ${HOW}`);
  if (args.length > 1) throw new UsageError(`\`/scale plan\` takes one number, not ${args.length} words (“${args.join(' ')}”). ${HOW}`);
  const word = args[0]!;
  const match = /^(users|dau)=(.*)$/i.exec(word);
  const kind = match ? (match[1]!.toLowerCase() as 'users' | 'dau') : 'users';
  const text = match ? match[2]! : word;
  if (!match && word.includes('=')) throw new UsageError(`\`/scale plan\` knows \`users=\` and \`dau=\`, not “${word.split('=')[0]}=”. ${HOW}`);
  const count = parseUserCount(text);
  if (count === null) throw new UsageError(`“${text || word}” is not a number of users. ${HOW}`);
  if (count < 1) throw new UsageError(`A plan needs at least 1 user. ${HOW}`);
  if (count > MAX_USERS) throw new UsageError(`${count.toLocaleString('en-US')} users is beyond anything the tables describe. ${HOW}`);
  return kind === 'dau' ? { dau: count } : { users: count };
}

export const plan = {
  name: 'plan',
  usage: 'plan <users>',
  summary:
    'Which server tier and which stage carry that many concurrent users (or `dau=<n>` daily active users), and what they cost; ' +
    '`--global` if your traffic is',
  async run({ args, deps, respond }) {
    const { load, global } = parsePlanCommand(args);
    const scope = await trafficScope(deps, global);
    const { capacity } = deps.config;
    const result = planFor(load, capacity, deps.config.advisor.plan, scope);
    const largest = largestSingleRegion(capacity);
    await respond({ ...buildPlanBlocks(result, largest ? { largestSingleRegion: largest } : {}), ephemeral: true });
    const fit = result.horizontal.fit;
    return {
      detail: {
        users: result.users,
        ...(result.dau !== null ? { dau: result.dau } : {}),
        tier: result.vertical.fit?.name ?? null,
        stage: fit?.table === 'stages' ? fit.number : null,
        ...(fit?.table === 'horizontal' ? { horizontal: fit.name } : {}),
        global: scope.global,
        global_source: scope.source,
        recommended: result.recommended,
      },
    };
  },
} as const satisfies Subcommand;
