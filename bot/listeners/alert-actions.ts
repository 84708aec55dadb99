import type { App } from '@slack/bolt';
import type { Logger } from 'pino';
import { notAResponder, parseAlertAction, STATUS_ALREADY_POSTED, type AlertAction } from '../../blocks/breach.ts';
import type { Config } from '../../core/config/index.ts';
import type { Clock, Storage } from '../../core/ports.ts';
import { describeAllowed } from '../../blocks/replies.ts';
import { CHART_ALREADY_POSTED, CHARTS_OFF, chartFailedReply } from '../../blocks/chart-replies.ts';
import type { ChartPoster } from '../../services/charts.ts';
import type { Watcher } from '../../services/watcher.ts';
import { onAction, type Click } from './on-action.ts';

export interface AlertActionDeps {
  readonly watcher: Watcher;
  readonly config: Config;
  readonly storage: Storage;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly isAllowed: (user: string, allowed: readonly string[]) => Promise<boolean>;
  /** The Chart button's poster; none: charts are off. */
  readonly charts?: ChartPoster;
}

/** A Chart click: the chart as it is now in the breach's thread; whatever else happened is said to the clicker. */
async function chartClick(charts: ChartPoster | undefined, breachId: number, now: Date): Promise<string> {
  if (!charts?.enabled) return CHARTS_OFF;
  const outcome = await charts.chartInBreachThread(breachId, now);
  switch (outcome.kind) {
    case 'queued':
      return `:chart_with_upwards_trend: The chart of breach #${breachId} is on its way to its thread.`;
    case 'already':
      return CHART_ALREADY_POSTED;
    case 'no_breach':
      return `Breach #${breachId} does not exist.`;
    case 'off':
      return CHARTS_OFF;
    case 'failed':
      return chartFailedReply(outcome.reason);
  }
}

/** Acknowledge, Snooze, Status and Chart on breach messages. */
export function registerAlertActions(app: App, deps: AlertActionDeps): void {
  const handle = async ({ action, user, channel }: Click<AlertAction>): Promise<string | undefined> => {
    const now = deps.clock();
    if (action.kind === 'chart') return chartClick(deps.charts, action.breachId, now);
    if (action.kind !== 'status' && !(await deps.isAllowed(user, deps.config.watch.responders))) {
      await deps.storage.decisions.append({
        at: now,
        kind: 'breach_click_refused',
        actor: user,
        channel: channel ?? null,
        subject: action.kind,
        outcome: 'refused',
        detail: { breach_id: action.breachId, reason: 'not a responder' },
      });
      return notAResponder(describeAllowed(deps.config.watch.responders));
    }
    if (action.kind === 'status') {
      const posted = await deps.watcher.postStatusInThread(action.breachId, now);
      // A double click (or two people at once) gets one status in the thread; the later click is told so.
      return posted === 'already' ? STATUS_ALREADY_POSTED : undefined;
    }
    const outcome =
      action.kind === 'snooze'
        ? await deps.watcher.snooze(action.breachId, user, action.seconds, now)
        : await deps.watcher.acknowledge(action.breachId, user, now);
    return outcome.changed ? undefined : outcome.message;
  };
  onAction(app, 'alert_', parseAlertAction, handle, { logger: deps.logger, decisions: deps.storage.decisions, clock: deps.clock });
}
