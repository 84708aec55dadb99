// The real bot (bot/main.ts startBot) in HTTP mode against the fake Slack, for tests that go through Slack's
// signed requests: slash commands in, response_url replies and Web API calls out.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBot, type RunningBot } from '../../bot/main.ts';
import { listDecisions } from '../../db/decision-log.ts';
import {
  buildBlockActionsPayload,
  sendInteraction,
  sendSlashCommand,
  startFakeSlack,
  type FakeSlack,
  type RecordedResponse,
  type StoredMessage,
} from './slack/index.ts';

export interface TestBotOptions {
  /** Where the bot's Prometheus is (a fixture's url, or an unused port for "Prometheus is down"). */
  readonly prometheusUrl: string;
  /** YAML written to a temp file and passed as the config file. */
  readonly config?: string;
  readonly clock?: () => Date;
  readonly checklistCompletedAt?: (checklistId: string) => Date | null;
  /** Share one fake Slack between bots; the default starts one (and stops it with the bot). */
  readonly fake?: FakeSlack;
}

export interface TestBot {
  readonly bot: RunningBot;
  readonly fake: FakeSlack;
  /** The bot's base URL (its /slack/events takes the signed requests). */
  readonly url: string;
  readonly secret: string;
  stop(): Promise<void>;
}

export async function startTestBot(options: TestBotOptions): Promise<TestBot> {
  const ownFake = !options.fake;
  const fake = options.fake ?? (await startFakeSlack());
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-test-bot-'));
  const secret = `test-signing-secret-${Math.random().toString(36).slice(2)}`;
  let configFile: string | undefined;
  if (options.config !== undefined) {
    configFile = join(dir, 'scalebot.yaml');
    writeFileSync(configFile, options.config);
  }
  let bot: RunningBot;
  try {
    bot = await startBot({
      env: {
        SLACK_BOT_TOKEN: 'xoxb-test-bot-token',
        SLACK_SIGNING_SECRET: secret,
        SLACK_API_URL: fake.apiUrl,
        SLACK_API_RETRIES: '0',
        PORT: '0',
        HOST: '127.0.0.1',
        SCALEBOT_DB: join(dir, 'scalebot.db'),
        PROMETHEUS_URL: options.prometheusUrl,
        LOG_LEVEL: 'silent',
      },
      ...(configFile ? { configFile } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.checklistCompletedAt ? { checklistCompletedAt: options.checklistCompletedAt } : {}),
    });
  } catch (error) {
    if (ownFake) await fake.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    bot,
    fake,
    url: bot.url,
    secret,
    async stop() {
      await bot.stop();
      if (ownFake) await fake.close();
      rmSync(dir, { recursive: true, force: true });
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
  const response = await fake.waitFor((f) => f.responses.find((r) => r.url === responseUrl), { timeoutMs: 10_000 });
  await fake.waitFor(() => lastCommandId(test) > commandsBefore, { timeoutMs: 10_000 });
  const message = fake.messages(channel).find((candidate) => !before.has(candidate.ts));
  return { response, ...(message ? { message } : {}) };
}

/** Clicks the button `actionId` on a channel message as `user`, and waits for the bot's answer. */
export async function click(test: TestBot, message: StoredMessage, actionId: string, { user = 'U0ALICE01', value }: { user?: string; value?: string } = {}): Promise<Said> {
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
  const response = await fake.waitFor((f) => f.responses.find((r) => r.url === responseUrl), { timeoutMs: 10_000 });
  const after = fake.message(message.channel, message.ts);
  return { response, ...(after ? { message: after } : {}) };
}
