import { knownTrafficScope } from '../core/advisor.ts';
import type { TrafficScope } from '../core/capacity.ts';
import { UsageError, type CommandDeps } from './types.ts';

/**
 * "Are you serving global traffic?" for /scale plan and /scale cost: the guide offers multi-region only then.
 * The same answer /scale advise asks for with a button, so the three commands agree.
 */
const SCOPE_FLAGS: Readonly<Record<string, boolean>> = { '--global': true, '--not-global': false };

/**
 * Takes `--global` / `--not-global` out of the words: the team's word on global traffic for this one answer.
 * undefined: not said here. Both, or one twice, is refused.
 */
export function takeScopeFlag(args: readonly string[], how: string): { rest: string[]; global: boolean | undefined } {
  const flags = args.filter((word) => word.toLowerCase() in SCOPE_FLAGS);
  if (flags.length > 1) throw new UsageError(`Say \`--global\` or \`--not-global\` once, not ${flags.join(' and ')}. ${how}`);
  const unknown = args.find((word) => word.startsWith('--') && !(word.toLowerCase() in SCOPE_FLAGS));
  if (unknown) throw new UsageError(`“${unknown}” is not an option: \`--global\` and \`--not-global\` are. ${how}`);
  const flag = flags[0]?.toLowerCase();
  return { rest: args.filter((word) => !(word.toLowerCase() in SCOPE_FLAGS)), global: flag === undefined ? undefined : SCOPE_FLAGS[flag] };
}

/** Whether the traffic is global: the command's flag, else the config's standing answer, else the latest answer in /scale advise. */
export async function trafficScope(deps: CommandDeps, flag: boolean | undefined): Promise<TrafficScope> {
  if (flag !== undefined) return { global: flag, source: 'command' };
  const { advisor } = deps.config;
  if (advisor.globalTraffic !== null) return knownTrafficScope(advisor.globalTraffic, {}, advisor.memory, deps.clock());
  return knownTrafficScope(null, await deps.storage.advice.latestAnswers(), advisor.memory, deps.clock());
}
