import { buildOpenBreachesList } from '../blocks/breach.ts';
import { UsageError, type Subcommand } from './types.ts';

export { messageLink } from '../blocks/breach.ts';

export const alerts = {
  name: 'alerts',
  usage: 'alerts',
  summary: 'The open breaches, with links to their messages',
  async run({ args, deps, respond }) {
    if (args.length > 0) throw new UsageError('`/scale alerts` takes no arguments.');
    const now = deps.clock();
    const open = await deps.storage.breaches.listOpen();
    const entries = await Promise.all(
      open.map(async (breach) => {
        const message = breach.messageId ? await deps.storage.outbox.get(breach.messageId) : undefined;
        return { breach, ...(message ? { message } : {}) };
      }),
    );
    const reply = buildOpenBreachesList(entries, now, deps.config.watch.enabled);
    await respond({ ...reply, ephemeral: true });
    return { outcome: 'ok', detail: { open: open.length } };
  },
} as const satisfies Subcommand;
