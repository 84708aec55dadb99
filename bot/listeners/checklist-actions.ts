import { randomBytes } from 'node:crypto';
import type { App, BlockButtonAction } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Db } from '../../db/client.ts';
import { recordDecision } from '../../db/decision-log.ts';
import type { ChecklistRuns } from '../../services/checklists/runs.ts';

export interface ChecklistActionDeps {
  readonly checklists: ChecklistRuns;
  readonly db: Db;
  readonly logger: Logger;
  readonly clock: () => Date;
}

/**
 * Every checklist button (action ids `checklist_…`): ack at once, let the checklist runs decide, and tell the
 * clicker alone when nothing changed. The message itself is re-rendered with chat.update from the stored state.
 */
export function registerChecklistActions(app: App, deps: ChecklistActionDeps): void {
  app.action<BlockButtonAction>(/^checklist_/, async ({ ack, body, action, respond }) => {
    await ack();
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    const channel = body.channel?.id ?? body.container?.channel_id;
    try {
      const outcome = await deps.checklists.click({
        user: body.user.id,
        channel,
        messageTs: body.message?.ts ?? body.container?.message_ts,
        actionId: action.action_id,
        value: action.value,
      });
      if (outcome.message) await tell(outcome.message);
    } catch (error) {
      const ref = randomBytes(4).toString('hex');
      deps.logger.error({ err: error, ref, actionId: action.action_id }, 'checklist click failed');
      recordDecision(deps.db, {
        at: deps.clock(),
        kind: 'checklist_click_failed',
        actor: body.user.id,
        channel: channel ?? null,
        subject: action.action_id,
        outcome: 'error',
        detail: { ref, value: action.value ?? null, error: (error as Error)?.message ?? String(error) },
      });
      await tell(`:x: Something went wrong (ref \`${ref}\`). It is logged under that ref; try again in a moment.`).catch(() => {});
    }
  });
}
