import { UsageError, type Subcommand } from './types.ts';

export const unlock = {
  name: 'unlock',
  usage: 'unlock <host>',
  summary: "Force-release a host's runbook lock (admins only; recorded)",
  async run({ args, user, deps, respond }) {
    if (args.length !== 1 || !args[0]) throw new UsageError('Say which host: `/scale unlock <host>`.');
    const answer = await deps.runbooks.unlock(args[0], user);
    await respond({ text: answer.ok ? `:unlock: ${answer.message}` : (answer.message ?? 'Nothing was changed.'), ephemeral: true });
    return { outcome: answer.ok ? 'released' : 'refused', detail: { host: args[0] } };
  },
} as const satisfies Subcommand;
