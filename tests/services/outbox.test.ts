import { LogLevel, WebClient } from '@slack/web-api';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOutboxDeliverer, deliverOutbox } from '../../services/outbox.ts';
import { openDatabase, type DatabaseHandle } from '../../db/client.ts';
import { createSqliteStorage, type SqliteStorage } from '../../db/storage.ts';
import { enqueueMessage, getMessage, markSending, setMessagePayload } from '../../db/outbox.ts';
import { registerSecrets } from '../../core/redact.ts';
import { startFakeSlack, type FakeSlack } from '../helpers/slack/index.ts';
import { slackSender } from '../../integrations/slack-upload.ts';

const CHANNEL = 'C0ALERTS';
const logger = pino({ level: 'silent' });
let fake: FakeSlack;
let database: DatabaseHandle;
let storage: SqliteStorage;

function client(timeoutMs = 10_000) {
  const web = new WebClient('xoxb-test-outbox', {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: timeoutMs,
    logLevel: LogLevel.ERROR,
  });
  return slackSender(web, { timeoutMs });
}
const posted = () => fake.messages(CHANNEL).filter((message) => !message.thread_ts || message.thread_ts === message.ts);

beforeEach(async () => {
  fake = await startFakeSlack();
  database = openDatabase(':memory:');
  storage = createSqliteStorage(database);
});
afterEach(async () => {
  database.close();
  await fake.close();
});

describe('the Slack outbox', () => {
  it('posts each queued message once, and the same dedupe key queues nothing new', async () => {
    const now = new Date();
    enqueueMessage(database.db, { dedupeKey: 'breach:1', channel: CHANNEL, payload: { text: 'first' }, at: now });
    enqueueMessage(database.db, { dedupeKey: 'breach:1', channel: CHANNEL, payload: { text: 'again' }, at: now });
    await deliverOutbox(storage, client(), () => new Date(), logger);
    await deliverOutbox(storage, client(), () => new Date(), logger);
    expect(posted().map((message) => message.text)).toEqual(['first']);
  });

  it('does not post again after a timeout when Slack had in fact posted: it finds the message by its metadata', async () => {
    const row = enqueueMessage(database.db, { dedupeKey: 'breach:2', channel: CHANNEL, payload: { text: 'only once' }, at: new Date() });
    fake.failNext('chat.postMessage', { delayMs: 1500, thenSucceed: true });
    const first = await deliverOutbox(storage, client(300), () => new Date(), logger);
    expect(first.errors).toBe(1);
    expect(getMessage(database.db, row.id)).toMatchObject({ status: 'sending', ts: null });
    const second = await deliverOutbox(storage, client(), () => new Date(Date.now() + 10_000), logger);
    expect(second).toMatchObject({ recovered: 1, posted: 0 });
    expect(posted()).toHaveLength(1);
    expect(getMessage(database.db, row.id)).toMatchObject({ status: 'sent', ts: posted()[0]!.ts });
  });

  it('posts after a crash between "sending" and the post, when Slack never got it', async () => {
    const row = enqueueMessage(database.db, { dedupeKey: 'breach:3', channel: CHANNEL, payload: { text: 'after the crash' }, at: new Date() });
    markSending(database.db, row.id); // the process died right here
    const report = await deliverOutbox(storage, client(), () => new Date(), logger);
    expect(report).toMatchObject({ posted: 1, recovered: 0 });
    expect(posted().map((message) => message.text)).toEqual(['after the crash']);
  });

  it('waits for Retry-After on 429 and sends nothing else meanwhile', async () => {
    enqueueMessage(database.db, { dedupeKey: 'a', channel: CHANNEL, payload: { text: 'a' }, at: new Date() });
    enqueueMessage(database.db, { dedupeKey: 'b', channel: CHANNEL, payload: { text: 'b' }, at: new Date() });
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 30 });
    const limited = await deliverOutbox(storage, client(), () => new Date(), logger);
    expect(limited.rateLimitedUntil).not.toBeNull();
    expect(posted()).toHaveLength(0);
    expect((await deliverOutbox(storage, client(), () => new Date(Date.now() + 5_000), logger)).posted).toBe(1);
    expect((await deliverOutbox(storage, client(), () => new Date(Date.now() + 31_000), logger)).posted).toBe(1);
    expect(
      posted()
        .map((message) => message.text)
        .sort(),
    ).toEqual(['a', 'b']);
  });

  it('edits a sent message when its payload changes, and threads replies under their parent', async () => {
    const parent = enqueueMessage(database.db, { dedupeKey: 'p', channel: CHANNEL, payload: { text: 'v1' }, at: new Date() });
    enqueueMessage(database.db, { dedupeKey: 'p:reply', channel: CHANNEL, parentId: parent.id, payload: { text: 'in the thread' }, at: new Date() });
    await deliverOutbox(storage, client(), () => new Date(), logger);
    setMessagePayload(database.db, parent.id, { text: 'v2' });
    const report = await deliverOutbox(storage, client(), () => new Date(), logger);
    expect(report.updated).toBe(1);
    const ts = getMessage(database.db, parent.id)!.ts!;
    expect(fake.message(CHANNEL, ts)?.text).toBe('v2');
    expect(fake.messages(CHANNEL).find((message) => message.text === 'in the thread')?.thread_ts).toBe(ts);
  });

  it('gives up on a message Slack refuses for good, without blocking the others', async () => {
    enqueueMessage(database.db, { dedupeKey: 'nowhere', channel: 'C0GONE', payload: { text: 'lost' }, at: new Date() });
    enqueueMessage(database.db, { dedupeKey: 'fine', channel: CHANNEL, payload: { text: 'fine' }, at: new Date() });
    fake.failNext('chat.postMessage', { error: 'channel_not_found' });
    await deliverOutbox(storage, client(), () => new Date(), logger);
    await deliverOutbox(storage, client(), () => new Date(), logger);
    expect(posted().map((message) => message.text)).toEqual(['fine']);
  });

  it('never runs two delivery passes at once: concurrent callers post a message once', async () => {
    const deliver = createOutboxDeliverer(storage, client(), () => new Date(), logger);
    enqueueMessage(database.db, { dedupeKey: 'race', channel: CHANNEL, payload: { text: 'once' }, at: new Date() });
    fake.failNext('chat.postMessage', { delayMs: 200, thenSucceed: true });
    const passes = await Promise.all([deliver(), deliver(), deliver()]);
    expect(passes.reduce((sum, pass) => sum + pass.posted, 0)).toBe(1);
    enqueueMessage(database.db, { dedupeKey: 'later', channel: CHANNEL, payload: { text: 'later' }, at: new Date() });
    await deliver();
    expect(posted().map((message) => message.text)).toEqual(['once', 'later']);
  });

  it('does not post again when the look-up after a timeout fails (429, 500, a dropped connection): it looks again later', async () => {
    const row = enqueueMessage(database.db, { dedupeKey: 'breach:lookup', channel: CHANNEL, payload: { text: 'posted, answer lost' }, at: new Date() });
    fake.failNext('chat.postMessage', { delayMs: 800, thenSucceed: true });
    await deliverOutbox(storage, client(200), () => new Date(), logger);
    expect(posted()).toHaveLength(1);
    let at = Date.now();
    const later = () => new Date((at += 60_000));
    fake.failNext('conversations.history', { status: 429, retryAfter: 30 });
    const limited = await deliverOutbox(storage, client(), later, logger);
    expect(limited.rateLimitedUntil).not.toBeNull();
    expect(getMessage(database.db, row.id)).toMatchObject({ status: 'sending', ts: null });
    // Retry-After holds: before it is over, not even a look-up.
    const historyCalls = fake.callsTo('conversations.history').length;
    await deliverOutbox(storage, client(), () => new Date(limited.rateLimitedUntil!.getTime() - 1000), logger);
    expect(fake.callsTo('conversations.history')).toHaveLength(historyCalls);
    fake.failNext('conversations.history', { status: 500 });
    await deliverOutbox(storage, client(), later, logger);
    fake.failNext('conversations.history', { dropConnection: true });
    await deliverOutbox(storage, client(), later, logger);
    fake.failNext('conversations.history', { error: 'internal_error' });
    await deliverOutbox(storage, client(), later, logger);
    expect(getMessage(database.db, row.id)).toMatchObject({ status: 'sending', ts: null });
    expect(fake.callsTo('chat.postMessage')).toHaveLength(1);
    const found = await deliverOutbox(storage, client(), later, logger);
    expect(found).toMatchObject({ recovered: 1, posted: 0 });
    expect(posted()).toHaveLength(1);
    expect(fake.callsTo('chat.postMessage')).toHaveLength(1);
    expect(getMessage(database.db, row.id)).toMatchObject({ status: 'sent', ts: posted()[0]!.ts });
  });

  it('posts exactly once, after a look-up that succeeds, a message Slack never got', async () => {
    const row = enqueueMessage(database.db, { dedupeKey: 'breach:never', channel: CHANNEL, payload: { text: 'never arrived' }, at: new Date() });
    fake.failNext('chat.postMessage', { delayMs: 800 });
    await deliverOutbox(storage, client(200), () => new Date(), logger);
    let at = Date.now();
    const later = () => new Date((at += 60_000));
    fake.failNext('conversations.history', { status: 429, retryAfter: 1 });
    await deliverOutbox(storage, client(), later, logger);
    fake.failNext('conversations.history', { status: 503 });
    await deliverOutbox(storage, client(), later, logger);
    expect(posted()).toHaveLength(0);
    expect(fake.callsTo('chat.postMessage')).toHaveLength(1);
    expect(await deliverOutbox(storage, client(), later, logger)).toMatchObject({ posted: 1, recovered: 0 });
    await deliverOutbox(storage, client(), later, logger);
    expect(posted().map((message) => message.text)).toEqual(['never arrived']);
    expect(getMessage(database.db, row.id)).toMatchObject({ status: 'sent' });
  });

  it('stores a text with a token or a password= value redacted, so that the outbox never posts it', async () => {
    registerSecrets(['outbox-known-secret-42']);
    const row = enqueueMessage(database.db, {
      dedupeKey: 'secrets',
      channel: CHANNEL,
      payload: {
        text: 'step said password=hunter2 and xoxb-1234-5678-abcdef and outbox-known-secret-42',
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: 'DATABASE_URL=postgres://app:s3cret-pw@db:5432/app' } },
          {
            type: 'actions',
            elements: [
              { type: 'button', action_id: 'checklist_toggle_rotate-secret', value: '5:rotate-secret:tick', text: { type: 'plain_text', text: 'Tick' } },
            ],
          },
        ],
      },
      at: new Date(),
    });
    const stored = JSON.stringify(getMessage(database.db, row.id)!.payload);
    for (const secret of ['hunter2', 'xoxb-1234-5678-abcdef', 'outbox-known-secret-42', 's3cret-pw']) expect(stored).not.toContain(secret);
    expect(stored).toContain('password=[redacted]');
    // Identifiers are not cut: the button still says which item it ticks.
    expect(stored).toContain('"value":"5:rotate-secret:tick"');
    setMessagePayload(database.db, row.id, { text: 'now with api_key: AKIAABCDEFGHIJKLMNOP' });
    expect(JSON.stringify(getMessage(database.db, row.id)!.payload)).not.toContain('AKIAABCDEFGHIJKLMNOP');
    await deliverOutbox(storage, client(), () => new Date(), logger);
    const sent = JSON.stringify(fake.messages(CHANNEL));
    for (const secret of ['hunter2', 'xoxb-1234-5678-abcdef', 'outbox-known-secret-42', 's3cret-pw', 'AKIAABCDEFGHIJKLMNOP'])
      expect(sent).not.toContain(secret);
  });
});
