import type { App, BlockButtonAction } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Answer, ClickOrigin, RunbookRunner } from '../../services/runbooks/runner.ts';

type RunAction =
  | { kind: 'approve' | 'reject' | 'cancel' | 'start' | 'stop' | 'rollback' | 'abandon'; runId: number }
  | { kind: 'confirm' | 'retry'; runId: number; phase: 'steps' | 'rollback'; index: number };

/** Reads a run button's id and value; anything not exactly what the bot put there is refused. */
export function parseRunAction(actionId: string, value: string | undefined): RunAction | null {
  const kind = /^run_(approve|reject|cancel|start|stop|rollback|abandon|confirm|retry)$/.exec(actionId)?.[1];
  if (!kind || !value) return null;
  if (kind === 'confirm' || kind === 'retry') {
    const match = /^(\d{1,12}):(steps|rollback):(\d{1,4})$/.exec(value);
    if (!match) return null;
    return { kind, runId: Number(match[1]), phase: match[2] as 'steps' | 'rollback', index: Number(match[3]) };
  }
  if (!/^\d{1,12}$/.test(value)) return null;
  return { kind: kind as Exclude<RunAction['kind'], 'confirm' | 'retry'>, runId: Number(value) };
}

/** Approve, Reject, Cancel, Start, Confirm, Stop, Retry, Roll back, Abandon on a run's message. */
export function registerRunbookActions(app: App, runner: RunbookRunner, logger: Logger): void {
  app.action<BlockButtonAction>(/^run_/, async ({ ack, body, action, respond }) => {
    await ack();
    const user = body.user.id;
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    const parsed = parseRunAction(action.action_id, action.value);
    if (!parsed) {
      logger.warn({ actionId: action.action_id, user }, 'refused a malformed runbook action');
      await tell(':warning: That button is not one I know; nothing was changed.');
      return;
    }
    // The click counts only on the run's own message: its channel and ts are checked against the run's.
    const origin: ClickOrigin = {
      channel: body.channel?.id ?? body.container?.channel_id,
      messageTs: body.message?.ts ?? body.container?.message_ts,
    };
    const answer: Answer =
      parsed.kind === 'confirm' || parsed.kind === 'retry'
        ? await runner[parsed.kind](parsed.runId, user, parsed.phase, parsed.index, origin)
        : await runner[parsed.kind](parsed.runId, user, origin);
    if (answer.message) await tell(answer.message);
  });
}
