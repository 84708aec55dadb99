import { formatBreachValue, SEVERITY_TITLES, slackTime } from '../blocks/breach.ts';
import { describeLabels } from '../blocks/status.ts';
import { escapeMrkdwn, SLACK_LIMITS, truncateText } from '../blocks/types.ts';
import { formatDuration } from '../core/duration.ts';
import { listOpenBreaches } from '../db/breaches.ts';
import { getMessage } from '../db/outbox.ts';
import { UsageError, type Subcommand } from './types.ts';

/** A link Slack resolves to the message in the user's own workspace. */
export function messageLink(channel: string, ts: string): string {
  return `https://slack.com/archives/${channel}/p${ts.replace('.', '')}`;
}

export const alerts = {
  name: 'alerts',
  usage: 'alerts',
  summary: 'The open breaches, with links to their messages',
  async run({ args, deps, respond }) {
    if (args.length > 0) throw new UsageError('`/scale alerts` takes no arguments.');
    const now = deps.clock();
    const open = listOpenBreaches(deps.db);
    if (open.length === 0) {
      const watching = deps.config.watch.enabled ? '' : ' (the watcher is off: set `slack.alerts_channel` to turn it on)';
      await respond({ text: `:white_check_mark: No open breaches${watching}.`, ephemeral: true });
      return { outcome: 'ok', detail: { open: 0 } };
    }
    const lines = open.map((breach) => {
      const message = breach.messageId ? getMessage(deps.db, breach.messageId) : undefined;
      const labels = describeLabels(breach.labels);
      const link = message?.ts ? ` · <${messageLink(message.channel, message.ts)}|message>` : ' · message not posted yet';
      const state = [
        breach.ackedBy ? `acknowledged by <@${breach.ackedBy}>` : '',
        breach.snoozedUntil && breach.snoozedUntil > now ? `snoozed until ${slackTime(breach.snoozedUntil)}` : '',
      ].filter(Boolean);
      return `• *${SEVERITY_TITLES[breach.severity]}*: ${escapeMrkdwn(breach.name)}${labels ? ` \`${escapeMrkdwn(labels)}\`` : ''}: ${escapeMrkdwn(formatBreachValue(breach))}, for ${formatDuration((now.getTime() - breach.breachedSince.getTime()) / 1000)}${state.length ? ` (${state.join(', ')})` : ''}${link}`;
    });
    const text = truncateText(`*${open.length} open breach${open.length === 1 ? '' : 'es'}*\n${lines.join('\n')}`, SLACK_LIMITS.sectionText);
    await respond({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }], ephemeral: true });
    return { outcome: 'ok', detail: { open: open.length } };
  },
} as const satisfies Subcommand;
