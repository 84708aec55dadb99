import type { App } from '@slack/bolt';
import type { CommandDeps } from '../../commands/types.ts';
import type { Metrics } from '../metrics.ts';
import { registerCommandListeners } from './commands.ts';

/** Every Slack surface the bot listens on; each feature registers its own listeners here. */
export function registerListeners(app: App, deps: CommandDeps, metrics: Metrics): void {
  registerCommandListeners(app, deps, metrics);
}
