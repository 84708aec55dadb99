import type { App, BlockButtonAction } from '@slack/bolt';
import { recordDecision } from '../../db/decision-log.ts';
import type { Config } from '../../core/config/index.ts';
import { describeAllowed } from '../../integrations/slack-responders.ts';
import type { Watcher } from '../../services/watcher.ts';
import type { Db } from '../../db/client.ts';
import type { Logger } from 'pino';

export interface AlertActionDeps {
  readonly watcher: Watcher;
  readonly config: Config;
  readonly db: Db;
  readonly logger: Logger;
  readonly clock: () => Date;
  readonly isAllowed: (user: string, allowed: readonly string[]) => Promise<boolean>;
}

type ParsedAction = { kind: 'ack' | 'status'; breachId: number } | { kind: 'snooze'; breachId: number; seconds: number };

/** Reads a button's action id and value; anything not exactly what we put there is refused. */
export function parseAlertAction(actionId: string, value: string | undefined): ParsedAction | null {
  if (!value || !/^\d{1,12}(:\d{1,9})?$/.test(value)) return null;
  const [idText, secondsText] = value.split(':');
  const breachId = Number(idText);
  if (actionId === 'alert_ack' && secondsText === undefined) return { kind: 'ack', breachId };
  if (actionId === 'alert_status' && secondsText === undefined) return { kind: 'status', breachId };
  const snooze = /^alert_snooze_(\d+)$/.exec(actionId);
  if (snooze && secondsText === snooze[1]) return { kind: 'snooze', breachId, seconds: Number(secondsText) };
  return null;
}

/** Acknowledge, Snooze and Status on breach messages. */
export function registerAlertActions(app: App, deps: AlertActionDeps): void {
  app.action<BlockButtonAction>(/^alert_/, async ({ ack, body, action, respond }) => {
    await ack();
    const user = body.user.id;
    const now = deps.clock();
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    const parsed = parseAlertAction(action.action_id, action.value);
    if (!parsed) {
      deps.logger.warn({ actionId: action.action_id, user }, 'refused a malformed alert action');
      await tell(':warning: That button is not one I know; nothing was changed.');
      return;
    }
    if (parsed.kind !== 'status' && !(await deps.isAllowed(user, deps.config.watch.responders))) {
      recordDecision(deps.db, {
        at: now,
        kind: 'breach_click_refused',
        actor: user,
        channel: body.channel?.id ?? null,
        subject: parsed.kind,
        outcome: 'refused',
        detail: { breach_id: parsed.breachId, reason: 'not a responder' },
      });
      await tell(`:no_entry: Only ${describeAllowed(deps.config.watch.responders)} may acknowledge or snooze alerts (\`watch.responders\`). Nothing was changed.`);
      return;
    }
    if (parsed.kind === 'status') {
      const posted = await deps.watcher.postStatusInThread(parsed.breachId, now);
      // A double click (or two people at once) gets one status in the thread; the later click is told so.
      if (posted === 'already') await tell(':information_source: The status is already in the thread (asked for in the last half minute); it was not posted again.');
      return;
    }
    const outcome =
      parsed.kind === 'snooze'
        ? await deps.watcher.snooze(parsed.breachId, user, parsed.seconds, now)
        : await deps.watcher.acknowledge(parsed.breachId, user, now);
    if (!outcome.changed && outcome.message) await tell(outcome.message);
  });
}
