import { z } from 'zod';

/** `slack:` where the bot posts what nobody asked for. */

const slackFields = {
  // An id, not a name or a user: the outbox finds a post whose answer was lost by reading the channel's
  // history, which Slack serves by channel id only; a row it cannot look up would wait for ever.
  alerts_channel: z
    .string()
    .regex(/^[CG][A-Z0-9]{2,}$/, 'the channel id (C…), not its name or a user: in Slack, open the channel → its name → About → Channel ID')
    .nullable(),
};

export const slackFile = z.object(slackFields).partial().strict();

export const slackSection = z
  .object(slackFields)
  .strict()
  .transform((slack) => ({ alertsChannel: slack.alerts_channel }))
  .readonly();
