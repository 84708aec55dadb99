import { buildChecklistIndex } from '../blocks/checklist.ts';
import { messageLink } from './alerts.ts';
import { UsageError, type Subcommand } from './types.ts';

const MAX_NAME_LENGTH = 100;

/**
 * `/scale checklist`: the checklists and their runs. `/scale checklist <id> ["operation"]`: posts a run of
 * that checklist in the channel, with a button per item.
 */
export const checklist = {
  name: 'checklist',
  usage: 'checklist [<id> ["operation"]]',
  summary: 'The guide’s checklists and their open runs; with an id (before, load-balancer, emergency, …) posts one to tick off in the channel',
  async run({ args, user, channel, deps, respond }) {
    const lists = deps.config.checklists;
    const runs = deps.checklists;
    if (args.length === 0) {
      const { open, ended } = await runs.listRuns();
      const withLink = (run: (typeof open)[number]) => ({ view: run.view, ...(run.ts ? { link: messageLink(run.channel, run.ts) } : {}) });
      const message = buildChecklistIndex(lists, open.map(withLink), ended.map(withLink));
      await respond({ ...message, ephemeral: true });
      return { outcome: 'ok', detail: { open: open.length } };
    }
    const [id, ...rest] = args;
    const found = lists.find((candidate) => candidate.id === id!.toLowerCase());
    if (!found) {
      const known = lists.map((candidate) => `\`${candidate.id}\``).join(', ') || 'none are configured';
      throw new UsageError(`There is no checklist \`${id}\`. The checklists are: ${known}.`);
    }
    const name = rest.join(' ').trim() || null;
    if (name && name.length > MAX_NAME_LENGTH) {
      throw new UsageError(`A run's name is at most ${MAX_NAME_LENGTH} characters, like \`/scale checklist ${found.id} "move to CPX51"\`.`);
    }
    const started = await runs.start({ checklist: found, name, user, channel });
    if (!started.posted) {
      await respond({ text: `:warning: ${started.problem}`, ephemeral: true });
      return { outcome: started.run.status === 'open' ? 'pending' : 'not_posted', detail: { checklist: found.id, run_id: started.run.id, name } };
    }
    return { outcome: 'posted', detail: { checklist: found.id, run_id: started.run.id, name } };
  },
} as const satisfies Subcommand;
