import type { App } from '@slack/bolt';
import type { CommandDeps } from '../../commands/types.ts';
import type { Metrics } from '../metrics.ts';
import type { RunbookRunner } from '../../services/runbooks/index.ts';
import type { Watcher } from '../../services/watcher.ts';
import { registerAdviseActions } from './advise-actions.ts';
import { registerAlertActions } from './alert-actions.ts';
import { registerChecklistActions } from './checklist-actions.ts';
import { registerCommandListeners } from './commands.ts';

export { SCALE_COMMAND } from './commands.ts';
import { registerRunbookActions } from './runbook-actions.ts';

export interface ListenerDeps {
  readonly deps: CommandDeps;
  readonly metrics: Metrics;
  readonly watcher: Watcher;
  readonly isAllowed: (user: string, allowed: readonly string[]) => Promise<boolean>;
  readonly runbooks: RunbookRunner;
}

/**
 * The action id prefixes the listeners below serve, one per feature; the door (bot/door-guard.ts) refuses a
 * click on any other id before Bolt looks for a listener. A new feature's buttons add their prefix here.
 */
export const LISTENED_ACTION_PREFIXES = ['alert_', 'run_', 'advise_', 'checklist_'] as const;

/** Every Slack surface the bot listens on; each feature registers its own listeners here. */
export function registerListeners(app: App, { deps, metrics, watcher, isAllowed, runbooks }: ListenerDeps): void {
  registerCommandListeners(app, deps, metrics);
  registerAlertActions(app, { watcher, isAllowed, config: deps.config, db: deps.db, logger: deps.logger, clock: deps.clock });
  registerRunbookActions(app, runbooks, deps.logger);
  registerAdviseActions(app, deps);
  if (deps.checklists) registerChecklistActions(app, { checklists: deps.checklists, db: deps.db, logger: deps.logger, clock: deps.clock });
}
