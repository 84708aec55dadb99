import { App, HTTPReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from 'pino';
import type { CommandDeps } from '../commands/types.ts';
import type { Settings } from './config.ts';
import { registerListeners } from './listeners/index.ts';
import type { Metrics } from './metrics.ts';
import type { RunbookRunner } from './runbook-runner.ts';
import type { Watcher } from './watcher.ts';

export interface SlackApp {
  readonly app: App;
  /** HTTP mode only: the receiver whose request listener our HTTP server calls for /slack/events. */
  readonly receiver: HTTPReceiver | null;
}

/** Bolt logs through our logger, so its lines are structured and scrubbed like ours. */
function toBoltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'bolt' });
  return {
    debug: (...message) => child.debug(message.map(String).join(' ')),
    info: (...message) => child.info(message.map(String).join(' ')),
    warn: (...message) => child.warn(message.map(String).join(' ')),
    error: (...message) => child.error(message.map(String).join(' ')),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}

export interface CreateAppOptions {
  readonly settings: Settings;
  readonly deps: CommandDeps;
  readonly metrics: Metrics;
  readonly watcher: Watcher;
  readonly isAllowed: (user: string, allowed: readonly string[]) => Promise<boolean>;
  readonly runbooks: RunbookRunner;
}

/** The Bolt app with every listener registered; not started (bot/main.ts decides how it is served). */
export function createApp({ settings, deps, metrics, watcher, isAllowed, runbooks }: CreateAppOptions): SlackApp {
  const logger = toBoltLogger(deps.logger);
  const clientOptions = {
    ...(settings.slackApiUrl ? { slackApiUrl: settings.slackApiUrl } : {}),
    ...(settings.apiRetries !== null ? { retryConfig: { retries: settings.apiRetries } } : {}),
  };
  let receiver: HTTPReceiver | null = null;
  let app: App;
  if (settings.mode === 'socket') {
    app = new App({
      token: settings.botToken,
      appToken: settings.appToken!,
      socketMode: true,
      // Bolt hands these to Socket Mode's client too, so apps.connections.open goes to the same API URL.
      clientOptions,
      logger,
      deferInitialization: true,
    });
  } else {
    receiver = new HTTPReceiver({
      signingSecret: settings.signingSecret!,
      endpoints: ['/slack/events'],
      logger,
    });
    app = new App({ token: settings.botToken, receiver, clientOptions, logger, deferInitialization: true });
  }
  registerListeners(app, { deps, metrics, watcher, isAllowed, runbooks });
  app.error(async (error) => {
    deps.logger.error({ err: error }, 'unhandled error in a Slack listener');
  });
  return { app, receiver };
}
