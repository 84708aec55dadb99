import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot } from '../../bot/main.ts';
import { listDecisions } from '../../db/decision-log.ts';
import { enqueueMessage, getMessage } from '../../db/outbox.ts';
import { slash, TEST_BOT_TOKEN, TEST_SIGNING_SECRET, type TestBot } from '../helpers/bot.ts';
import { unusedLoopbackUrl } from '../../devkit/prometheus/index.ts';
import { startFakeSlack } from '../helpers/slack/index.ts';
import { watcherTestConfig } from '../helpers/watch-config.ts';

// A Prometheus behind basic auth, written into its URL: nothing answers there, so the bot goes blind and
// says why, in Slack, in the decision log, in the logs and in /scale status.
const USER = 'scalebot-reader';
const PASSWORD = 'hunter2-Pr0m-pass';
const ALERTMANAGER_TOKEN = 'am-secret-token-0042';
const SECRETS = [PASSWORD, encodeURIComponent(PASSWORD), `${USER}:`, ALERTMANAGER_TOKEN, TEST_BOT_TOKEN, TEST_SIGNING_SECRET];

const lines: string[] = [];
let harness: TestBot;
let shownUrl: string;

beforeAll(async () => {
  const plain = await unusedLoopbackUrl();
  const url = new URL(plain);
  url.username = USER;
  url.password = PASSWORD;
  shownUrl = plain.replace(/\/$/, '');
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-secrets-'));
  const configFile = join(dir, 'scalebot.yaml');
  writeFileSync(configFile, watcherTestConfig('  enabled: false'));
  const fake = await startFakeSlack();
  const bot = await startBot({
    env: {
      SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
      SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
      SLACK_API_RETRIES: '0',
      HOST: '127.0.0.1',
      PORT: '0',
      SCALEBOT_DB: join(dir, 'scalebot.db'),
      PROMETHEUS_URL: url.toString(),
      ALERTMANAGER_TOKEN,
      LOG_LEVEL: 'debug',
    },
    configFile,
    logDestination: new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  });
  harness = {
    bot,
    fake,
    url: bot.url,
    secret: TEST_SIGNING_SECRET,
    databaseFile: join(dir, 'scalebot.db'),
    async stop() {
      await bot.stop();
      await fake.close();
    },
  };
  await bot.watcher.runCycle();
});
afterAll(async () => harness?.stop());

function expectNoSecret(where: string, text: string): void {
  for (const secret of SECRETS) expect(text, `${where} holds ${secret}`).not.toContain(secret);
}

describe('a Prometheus URL with user:password@', () => {
  it('is not in the blind notice, which names Prometheus without its userinfo', async () => {
    const notice = harness.fake.messages('C0ALERTS').find((message) => message.text.includes('Monitoring is blind'));
    expect(notice, harness.fake.summary()).toBeDefined();
    expect(notice!.text).toContain(`Prometheus at ${shownUrl}`);
    expectNoSecret('the blind notice', JSON.stringify(notice));
  });

  it('is not in a /scale status reply', async () => {
    const said = await slash(harness, 'status');
    const reply = JSON.stringify(said.response.body);
    expect(reply).toContain(shownUrl);
    expectNoSecret('the status reply', reply);
  });

  it('is not in the decision log', () => {
    const rows = listDecisions(harness.bot.database.db, { limit: 1000 });
    expect(rows.some((row) => row.kind === 'monitoring_blind')).toBe(true);
    expectNoSecret('the decision log', JSON.stringify(rows));
  });

  it('is not in the logs, which show the URL without it', async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const text = lines.join('');
    expect(text).toContain('scalebot is ready');
    expect(text).toContain(shownUrl);
    expectNoSecret('the logs', text);
  });

  it('is cut from anything queued for Slack, also alone: main registered it as a secret', () => {
    const row = enqueueMessage(harness.bot.database.db, {
      dedupeKey: 'secret-echo',
      channel: 'C0ALERTS',
      payload: { text: `a step printed ${PASSWORD} and ${ALERTMANAGER_TOKEN}` },
      at: new Date(),
    });
    const stored = JSON.stringify(getMessage(harness.bot.database.db, row.id)!.payload);
    expectNoSecret('the outbox', stored);
    expect(stored).toContain('[redacted]');
  });
});
