import type { App } from '@slack/bolt';
import type { CommandDeps } from '../../commands/types.ts';
import type { Metrics } from '../metrics.ts';
import type { Watcher } from '../../services/watcher.ts';
import { registerAdviseActions } from './advise-actions.ts';
import { registerAlertActions } from './alert-actions.ts';
import { registerChartActions } from './chart-actions.ts';
import { registerChecklistActions } from './checklist-actions.ts';
import { registerCommandListeners } from './commands.ts';
import type { OnActionDeps } from './on-action.ts';

export { SCALE_COMMAND } from './commands.ts';
import { registerRunbookActions } from './runbook-actions.ts';

export interface ListenerDeps {
  readonly deps: CommandDeps;
  readonly metrics: Metrics;
  readonly watcher: Watcher;
  readonly isAllowed: (user: string, allowed: readonly string[]) => Promise<boolean>;
}

/**
 * The action id prefixes the listeners below serve, one per feature; the door (bot/door-guard.ts) refuses a
 * click on any other id before Bolt looks for a listener. A new feature's buttons add their prefix here.
 */
export const LISTENED_ACTION_PREFIXES = ['alert_', 'run_', 'advise_', 'checklist_', 'chart_'] as const;

/** Every Slack surface the bot listens on; each feature registers its own listeners here. */
export function registerListeners(app: App, { deps, metrics, watcher, isAllowed }: ListenerDeps): void {
  // What the one button wrapper (./on-action.ts) needs: every feature's registration gets it.
  const actions: OnActionDeps = { decisions: deps.storage.decisions, logger: deps.logger, clock: deps.clock };
  registerCommandListeners(app, deps, metrics);
  registerAlertActions(app, { ...actions, watcher, isAllowed, config: deps.config, storage: deps.storage, ...(deps.charts ? { charts: deps.charts } : {}) });
  registerRunbookActions(app, deps.runbooks, actions);
  registerAdviseActions(app, { ...actions, commands: deps });
  registerChecklistActions(app, { ...actions, checklists: deps.checklists });
  registerChartActions(app, { ...actions, commands: deps });
}
