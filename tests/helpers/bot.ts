import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { startBot, type RunningBot } from '../../bot/main.ts';
import { listDecisions } from '../../db/decision-log.ts';
import { refusingLoopbackUrl } from '../../devkit/ports.ts';
import {
  buildBlockActionsPayload,
  sendInteraction,
  sendSlashCommand,
  startFakeSlack,
  type FakeSlack,
  type RecordedResponse,
  type StoredMessage,
} from './slack/index.ts';

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
  /** Where the bot's log goes (set LOG_LEVEL in env too: the default is silent). */
  logDestination?: DestinationStream;
  checklistCompletedAt?: (checklistId: string) => Date | null;
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
    PROMETHEUS_URL: options.prometheusUrl ?? (await refusingLoopbackUrl()),
    LOG_LEVEL: 'silent',
    ...(options.socketMode ? { SLACK_APP_TOKEN: TEST_APP_TOKEN } : {}),
    ...options.env,
  };
  let bot: RunningBot;
  try {
    bot = await startBot({
      env,
      ...(configFile ? { configFile } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.logDestination ? { logDestination: options.logDestination } : {}),
      ...(options.checklistCompletedAt ? { checklistCompletedAt: options.checklistCompletedAt } : {}),
    });
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

export interface Said {
  /** The bot's answer to the response_url. */
  readonly response: RecordedResponse;
  /** The channel message it posted (in_channel) or replaced (replace_original), if any. */
  readonly message?: StoredMessage;
}

const lastCommandId = (test: TestBot) => listDecisions(test.bot.database.db, { kinds: ['command'], limit: 1 })[0]?.id ?? 0;

/**
 * Types `/scale <text>` as `user` in `channel` and waits for the bot's answer through the response_url, and
 * for the command's row in the decision log (written once the answer is out).
 */
export async function slash(test: TestBot, text: string, { user = 'U0ALICE01', channel = 'C0OPS00001' } = {}): Promise<Said> {
  const { fake } = test;
  const before = new Set(fake.messages(channel).map((message) => message.ts));
  const commandsBefore = lastCommandId(test);
  const responseUrl = fake.newResponseUrl({ channel, user });
  const answer = await sendSlashCommand(test.url, test.secret, { text, user_id: user, channel_id: channel, response_url: responseUrl });
  if (answer.status !== 200) throw new Error(`the bot answered ${answer.status} to /scale ${text}`);
  const response = await fake.waitFor((f) => f.responses.find((r) => r.url === responseUrl), { timeoutMs: 20_000 });
  await fake.waitFor(() => lastCommandId(test) > commandsBefore, { timeoutMs: 20_000 });
  const message = fake.messages(channel).find((candidate) => !before.has(candidate.ts));
  return { response, ...(message ? { message } : {}) };
}

/** Clicks the button `actionId` on a channel message as `user`, and waits for the bot's answer. */
export async function click(
  test: TestBot,
  message: StoredMessage,
  actionId: string,
  { user = 'U0ALICE01', value }: { user?: string; value?: string } = {},
): Promise<Said> {
  const { fake } = test;
  const responseUrl = fake.newResponseUrl({ channel: message.channel, messageTs: message.ts, user });
  const payload = buildBlockActionsPayload({
    user,
    channel: message.channel,
    message,
    action: { action_id: actionId, ...(value !== undefined ? { value } : {}) },
    response_url: responseUrl,
  });
  const answer = await sendInteraction(test.url, test.secret, payload);
  if (answer.status !== 200) throw new Error(`the bot answered ${answer.status} to a click on ${actionId}`);
  const response = await fake.waitFor((f) => f.responses.find((r) => r.url === responseUrl), { timeoutMs: 20_000 });
  const after = fake.message(message.channel, message.ts);
  return { response, ...(after ? { message: after } : {}) };
}
