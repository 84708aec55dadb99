import type { App } from '@slack/bolt';
import type { CommandDeps } from '../../commands/types.ts';
import type { Metrics } from '../metrics.ts';
import type { Watcher } from '../watcher.ts';
import { registerAdviseActions } from './advise-actions.ts';
import { registerAlertActions } from './alert-actions.ts';
import { registerCommandListeners } from './commands.ts';

export interface ListenerDeps {
  readonly deps: CommandDeps;
  readonly metrics: Metrics;
  readonly watcher: Watcher;
  readonly isAllowed: (user: string, allowed: readonly string[]) => Promise<boolean>;
}

/** Every Slack surface the bot listens on; each feature registers its own listeners here. */
export function registerListeners(app: App, { deps, metrics, watcher, isAllowed }: ListenerDeps): void {
  registerCommandListeners(app, deps, metrics);
  registerAlertActions(app, { watcher, isAllowed, config: deps.config, db: deps.db, logger: deps.logger, clock: deps.clock });
  registerAdviseActions(app, deps);
}
