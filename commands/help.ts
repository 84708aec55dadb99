import type { Message } from '../blocks/types.ts';
import type { Subcommand } from './types.ts';

/** The help text, generated from the registry so it cannot fall behind it. */
export function buildHelp(subcommands: readonly Subcommand[], preface?: string): Message {
  const lines = subcommands.map((sub) => `• \`/scale ${sub.usage}\`: ${sub.summary}`);
  const text = [preface, '*What `/scale` can do*', ...lines].filter(Boolean).join('\n');
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

export function createHelp(list: () => readonly Subcommand[]): Subcommand {
  return {
    name: 'help',
    usage: 'help',
    summary: 'This list',
    async run({ respond }) {
      await respond({ ...buildHelp(list()), ephemeral: true });
    },
  };
}
