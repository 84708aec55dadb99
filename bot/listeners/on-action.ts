import { randomBytes } from 'node:crypto';
import type { App, BlockButtonAction, RespondFn } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DecisionStore } from '../../core/storage/decisions.ts';
import { UserError } from '../../core/user-error.ts';
import { UNKNOWN_BUTTON, somethingWentWrong, warning } from '../../blocks/replies.ts';

/** A button click the feature's parser accepted, with where it was clicked (checked against the feature's own message). */
export interface Click<T> {
  readonly action: T;
  readonly user: string;
  readonly channel: string | undefined;
  readonly messageTs: string | undefined;
  readonly actionId: string;
  readonly value: string | undefined;
  /** For a handler that replaces the clicked message, or answers with more than one line of text. */
  readonly respond: RespondFn;
}

export interface OnActionDeps {
  readonly logger: Logger;
  readonly decisions: DecisionStore;
  readonly clock: () => Date;
  /** ACK_DEADLINE_MS unless a test needs it shorter. */
  readonly ackDeadlineMs?: number;
}

/**
 * How long a click may take before it is acked anyway. Slack shows the clicker an error for a click not acked
 * within three seconds; within this, the ack waits for the click's decision to be written.
 */
export const ACK_DEADLINE_MS = 2_000;

/**
 * Every button the bot serves goes through here, so that every click gets the same handling: a button id or
 * value the feature's parser refuses is answered "not one I know"; a UserError becomes its message, shown to
 * the clicker alone; anything else is logged and recorded with a ref the clicker sees. `handle` returns what to
 * tell the clicker (ephemeral), or nothing when the message itself shows it.
 *
 * The ack comes after `handle` has settled, or after ACK_DEADLINE_MS, whichever is first. A click Slack saw
 * acked has therefore been written (a tick, an approval, an acknowledgement) unless it took longer than that:
 * a bot killed between the two leaves the clicker Slack's own "did not respond" on the button, never a click
 * that looked taken and was lost. A command still acks at once: it changes nothing before its answer shows.
 */
export function onAction<T>(
  app: App,
  prefix: string,
  parse: (actionId: string, value: string | undefined) => T | null,
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler with nothing to tell returns nothing at all
  handle: (click: Click<T>) => Promise<string | undefined | void>,
  deps: OnActionDeps,
): void {
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
  app.action<BlockButtonAction>(pattern, async ({ ack, body, action, respond }) => {
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    const user = body.user.id;
    const channel = body.channel?.id ?? body.container?.channel_id;
    // A menu (the status message's "Chart…") sends its choice as selected_option, a button as value.
    const value = action.value ?? (action as { selected_option?: { value?: unknown } }).selected_option?.value;
    const chosen = typeof value === 'string' ? value : undefined;
    const parsed = parse(action.action_id, chosen);
    if (parsed === null) {
      await ack();
      deps.logger.warn({ actionId: action.action_id, user }, 'refused a malformed button click');
      await tell(UNKNOWN_BUTTON);
      return;
    }
    const click: Click<T> = {
      action: parsed,
      user,
      channel,
      messageTs: body.message?.ts ?? body.container?.message_ts,
      actionId: action.action_id,
      value: chosen,
      respond,
    };
    const handled = Promise.resolve(click)
      .then(handle)
      .then(
        (answer) => ({ answer }),
        (error: unknown) => ({ error }),
      );
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([handled, new Promise((resolve) => (deadline = setTimeout(resolve, deps.ackDeadlineMs ?? ACK_DEADLINE_MS)))]);
    clearTimeout(deadline);
    await ack();
    const outcome = await handled;
    try {
      if ('error' in outcome) throw outcome.error;
      if (outcome.answer) await tell(outcome.answer);
    } catch (error) {
      if (error instanceof UserError) {
        await tell(warning(error.message)).catch(() => {});
        return;
      }
      const ref = randomBytes(4).toString('hex');
      deps.logger.error({ err: error, ref, actionId: action.action_id }, 'button click failed');
      await deps.decisions
        .append({
          at: deps.clock(),
          kind: `${prefix}click_failed`,
          actor: user,
          channel: channel ?? null,
          subject: action.action_id,
          outcome: 'error',
          detail: { ref, value: chosen ?? null, error: (error as Error)?.message ?? String(error) },
        })
        .catch((recordError: unknown) => deps.logger.error({ err: recordError, ref }, 'could not record a failed click'));
      await tell(somethingWentWrong(ref)).catch(() => {});
    }
  });
}
