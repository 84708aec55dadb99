import type { App, RespondFn } from '@slack/bolt';
import type { Reply } from '../../blocks/types.ts';
import { dispatchScaleCommand } from '../../commands/dispatch.ts';
import type { CommandDeps } from '../../commands/types.ts';
import type { Metrics } from '../metrics.ts';

/** The slash command the bot serves (manifest.yml). */
export const SCALE_COMMAND = '/scale';

export function toResponsePayload(reply: Reply) {
  return {
    response_type: reply.ephemeral === false ? ('in_channel' as const) : ('ephemeral' as const),
    text: reply.text,
    ...(reply.blocks ? { blocks: [...reply.blocks] } : {}),
  };
}

/** `/scale …`: ack at once (Slack gives three seconds), then answer through response_url. */
export function registerCommandListeners(app: App, deps: CommandDeps, metrics: Metrics): void {
  app.command(SCALE_COMMAND, async ({ command, ack, respond }) => {
    const started = process.hrtime.bigint();
    await ack();
    const result = await dispatchScaleCommand(
      {
        text: command.text ?? '',
        user: command.user_id,
        channel: command.channel_id,
        respond: (reply) => sendResponse(respond, reply),
      },
      deps,
    );
    const labels = { subcommand: result.subcommand, outcome: result.outcome };
    metrics.commandsTotal.inc(labels);
    metrics.commandDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
  });
}

async function sendResponse(respond: RespondFn, reply: Reply): Promise<void> {
  await respond(toResponsePayload(reply));
}
