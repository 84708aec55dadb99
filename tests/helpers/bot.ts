import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBot, type RunningBot } from '../../bot/main.ts';
import { startFakeSlack, type FakeSlack } from './slack/index.ts';

export const TEST_SIGNING_SECRET = 'test-signing-secret-8f2c1e';
export const TEST_BOT_TOKEN = 'xoxb-test-0000-bot-token';
export const TEST_APP_TOKEN = 'xapp-test-0000-app-token';

export interface TestBotOptions {
  /** Prometheus for the bot; default: a loopback port where nothing listens. */
  prometheusUrl?: string;
  /** YAML text of a config file for the bot. */
  config?: string;
  /** Reuse a database file (a restart); default: a fresh one. */
  databaseFile?: string;
  /** Reuse a fake Slack (a restart); default: a new one, closed by stop(). */
  fake?: FakeSlack;
  socketMode?: boolean;
  env?: Record<string, string>;
  clock?: () => Date;
}

export interface TestBot {
  readonly bot: RunningBot;
  readonly fake: FakeSlack;
  /** Where Slack's requests go (HTTP mode) and health and metrics are served. */
  readonly url: string;
  readonly secret: string;
  readonly databaseFile: string;
  /** Stops the bot; closes the fake too unless it was passed in. The database file stays (for restarts). */
  stop(): Promise<void>;
}

/**
 * The real bot (startBot, as `npm start` runs it) on loopback, talking to the fake Slack at SLACK_API_URL,
 * with its own SQLite file. Everything it starts is stopped by stop().
 */
export async function startTestBot(options: TestBotOptions = {}): Promise<TestBot> {
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-bot-'));
  const fake = options.fake ?? (await startFakeSlack());
  const databaseFile = options.databaseFile ?? join(dir, 'scalebot.db');
  let configFile: string | undefined;
  if (options.config !== undefined) {
    configFile = join(dir, 'scalebot.yaml');
    writeFileSync(configFile, options.config);
  }
  const env: Record<string, string> = {
    SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
    SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
    SLACK_API_URL: fake.apiUrl,
    SLACK_API_RETRIES: '0',
    HOST: '127.0.0.1',
    PORT: '0',
    SCALEBOT_DB: databaseFile,
    PROMETHEUS_URL: options.prometheusUrl ?? 'http://127.0.0.1:9',
    LOG_LEVEL: 'silent',
    ...(options.socketMode ? { SLACK_APP_TOKEN: TEST_APP_TOKEN } : {}),
    ...options.env,
  };
  let bot: RunningBot;
  try {
    bot = await startBot({ env, ...(configFile ? { configFile } : {}), ...(options.clock ? { clock: options.clock } : {}) });
  } catch (error) {
    if (!options.fake) await fake.close();
    throw error;
  }
  if (options.socketMode) await fake.socket.connected();
  return {
    bot,
    fake,
    url: bot.url,
    secret: TEST_SIGNING_SECRET,
    databaseFile,
    async stop() {
      await bot.stop();
      if (!options.fake) await fake.close();
    },
  };
}
