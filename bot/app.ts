import { randomBytes } from 'node:crypto';
import { App, HTTPReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from 'pino';
import type { CommandDeps } from '../commands/types.ts';
import type { Settings } from '../core/config/index.ts';
import {
  createRedactingFetch,
  guardHttpListener,
  guardProcessEvent,
  guardSocketModeClient,
  installProcessSafetyNets,
  markAnswered,
  tellThroughResponseUrl,
} from './door-guard.ts';
import { somethingWentWrong } from '../blocks/replies.ts';
import { LISTENED_ACTION_PREFIXES, registerListeners, SCALE_COMMAND } from './listeners/index.ts';
import type { Metrics } from './metrics.ts';
import type { Watcher } from '../services/watcher.ts';

export interface SlackApp {
  readonly app: App;
  /** HTTP mode only: the receiver whose request listener our HTTP server calls for /slack/events. */
  readonly receiver: HTTPReceiver | null;
}

/** Bolt (and any Slack WebClient) logs through our logger, so its lines are structured, scrubbed and leveled like ours. */
export function toBoltLogger(logger: Logger, component = 'bolt'): BoltLogger {
  const child = logger.child({ component });
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
}

const DEFAULT_SLACK_API_URL = 'https://slack.com/api/';

/**
 * The Bolt app with every listener registered; not started (bot/main.ts decides how it is served). Every
 * request passes the doors first (bot/door-guard.ts): the HTTP receiver's listener and `processEvent` are
 * guarded, so `receiver.requestListener` is already the guarded one.
 */
export function createApp({ settings, deps, metrics, watcher, isAllowed }: CreateAppOptions): SlackApp {
  const logger = toBoltLogger(deps.logger);
  installProcessSafetyNets(deps.logger);
  const clientOptions = {
    ...(settings.slackApiUrl ? { slackApiUrl: settings.slackApiUrl } : {}),
    ...(settings.apiRetries !== null ? { retryConfig: { retries: settings.apiRetries } } : {}),
    // Every respond() goes through this fetch: replies built from input or errors are scrubbed of secrets.
    fetch: createRedactingFetch(settings.slackApiUrl ?? DEFAULT_SLACK_API_URL),
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
      extendedErrorHandler: true,
    });
    guardSocketModeClient((app as unknown as { receiver?: { client?: unknown } }).receiver?.client, deps.logger);
  } else {
    receiver = new HTTPReceiver({
      signingSecret: settings.signingSecret!,
      endpoints: ['/slack/events'],
      logger,
    });
    receiver.requestListener = guardHttpListener(receiver.requestListener, { signingSecret: settings.signingSecret!, logger: deps.logger });
    app = new App({ token: settings.botToken, receiver, clientOptions, logger, deferInitialization: true, extendedErrorHandler: true });
  }
  guardProcessEvent(app, { logger: deps.logger, command: SCALE_COMMAND, actionPrefixes: LISTENED_ACTION_PREFIXES });
  registerListeners(app, { deps, metrics, watcher, isAllowed });
  // A listener that threw: logged under a ref, and the clicker told so, instead of silence.
  // Bolt's ExtendedErrorHandler (the last overload of app.error; the type itself is not exported).
  const onListenerError: Parameters<App['error']>[0] = async ({ error, body }) => {
    const ref = randomBytes(4).toString('hex');
    deps.logger.error({ err: error, ref }, 'unhandled error in a Slack listener');
    const record = (typeof body === 'object' && body !== null ? body : {}) as { response_url?: unknown };
    if (typeof record.response_url === 'string') {
      markAnswered(body);
      await tellThroughResponseUrl(record.response_url, somethingWentWrong(ref), deps.logger);
    }
  };
  app.error(onListenerError);
  return { app, receiver };
}
