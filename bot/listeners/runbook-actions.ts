import type { App } from '@slack/bolt';
import { parseRunAction, type RunAction } from '../../blocks/runbook.ts';
import type { ClickOrigin, RunbookRunner } from '../../services/runbooks/index.ts';
import { onAction, type Click, type OnActionDeps } from './on-action.ts';

/** Approve, Reject, Cancel, Start, Confirm, Stop, Retry, Roll back, Abandon on a run's message. */
export function registerRunbookActions(app: App, runner: RunbookRunner, actions: OnActionDeps): void {
  const handle = async ({ action, user, channel, messageTs }: Click<RunAction>) => {
    // The click counts only on the run's own message: its channel and ts are checked against the run's.
    const origin: ClickOrigin = { channel, messageTs };
    const answer =
      action.kind === 'confirm' || action.kind === 'retry'
        ? await runner[action.kind](action.runId, user, action.phase, action.index, origin)
        : await runner[action.kind](action.runId, user, origin);
    return answer.message;
  };
  onAction(app, 'run_', parseRunAction, handle, actions);
}
