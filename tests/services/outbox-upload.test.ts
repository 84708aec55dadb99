// Issue 16: charts are "uploaded with Slack's current upload flow (files.getUploadURLExternal, the upload, then
// files.completeUploadExternal into the channel and thread) … through the outbox: exactly once, restart-safe,
// 429-aware like every other post", and "if … the upload fails, … the failure is said in the thread, once".
// Against the fake Slack through Slack's own WebClient; a crash is a pass that stops for good at a call (the
// call made or not), followed by a fresh pass over the same storage, as a restarted process would make.
import { LogLevel, WebClient } from '@slack/web-api';
import fc from 'fast-check';
import pino from 'pino';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SlackSender, Storage } from '../../core/ports.ts';
import type { MessagePayload } from '../../core/storage/effects.ts';
import { slackSender } from '../../integrations/slack-upload.ts';
import { deliverOutbox, editMessage, postMessage, replyInThread, uploadFailureKey, uploadFailureText } from '../../services/outbox.ts';
import { startFakeSlack, type FakeSlack, type InjectedFailure, type StoredMessage } from '../helpers/slack/index.ts';
import { DIALECTS, storageFixture, stopPostgres, type Dialect } from '../helpers/storages.ts';

const CHANNEL = 'C0CHARTS';
const logger = pino({ level: 'silent' });
// A call "times out" when Slack answers later than the client waits.
const CLIENT_TIMEOUT_MS = 200;
const LATE_MS = 400;

let fake: FakeSlack;
beforeAll(async () => {
  fake = await startFakeSlack();
});
afterAll(async () => {
  await fake?.close();
  await stopPostgres();
});

function client(timeoutMs = 5_000): SlackSender {
  const web = new WebClient('xoxb-test-outbox-upload', {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: timeoutMs,
    logLevel: LogLevel.ERROR,
  });
  return slackSender(web, { timeoutMs });
}

/** A PNG whose size tells the rows apart, so that a share's bytes say which row it is. */
function chart(width: number): Buffer {
  const image = new PNG({ width, height: 20 });
  for (let index = 0; index < image.data.length; index += 1) image.data[index] = (index * 7 + width) % 256;
  return PNG.sync.write(image);
}

function chartPayload(text: string, bytes: Buffer): MessagePayload {
  return { text, file: { filename: 'cpu.png', title: `CPU (${text})`, altText: 'CPU against its threshold', base64: bytes.toString('base64') } };
}

/** Every message sharing a file, with the bytes Slack kept for its first file. */
function shares(): Array<{ message: StoredMessage; bytes: Buffer | undefined }> {
  return fake
    .messages(CHANNEL)
    .filter((message) => message.files?.length)
    .map((message) => ({ message, bytes: fake.file(message.files![0]!.id)?.bytes }));
}
const sharesOf = (bytes: Buffer) => shares().filter((share) => share.bytes?.equals(bytes));

/** Slack's calls of one kind so far (the upload POST as `upload_url`). */
const count = (method: string) => (method === 'upload_url' ? fake.uploads.length : fake.callsTo(method).length);

type Call = 'files.getUploadURLExternal' | 'upload_url' | 'files.completeUploadExternal' | 'conversations.replies' | 'conversations.history';

/**
 * A process that dies at the `occurrence`-th `call`: 'before' never makes it, 'after' makes it (Slack acts and
 * answers) and dies before reading the answer. Either way the pass never goes on and writes nothing more.
 */
function dyingAt(real: SlackSender, call: Call, when: 'before' | 'after', occurrence = 1): { sender: SlackSender; died: () => boolean } {
  let seen = 0;
  let dead = false;
  const never = new Promise<never>(() => {});
  const guard = async <T>(name: Call, make: () => Promise<T>): Promise<T> => {
    if (dead) return never;
    if (name === call) seen += 1;
    if (name !== call || seen !== occurrence) return make();
    dead = true;
    if (when === 'after') await make().catch(() => undefined);
    return never;
  };
  const sender: SlackSender = {
    chat: real.chat,
    conversations: {
      history: (args) => guard('conversations.history', () => real.conversations.history(args)),
      replies: (args) => guard('conversations.replies', () => real.conversations.replies(args)),
    },
    files: {
      getUploadURLExternal: (args) => guard('files.getUploadURLExternal', () => real.files.getUploadURLExternal(args)),
      completeUploadExternal: (args) => guard('files.completeUploadExternal', () => real.files.completeUploadExternal(args)),
    },
    uploadBytes: (url, bytes, filename) => guard('upload_url', () => real.uploadBytes(url, bytes, filename)),
  };
  return { sender, died: () => dead };
}

/** Runs a pass that dies somewhere: resolves once it has died (or finished, if it never reached that call). */
async function passDyingAt(storage: Storage, at: Date, call: Call, when: 'before' | 'after', occurrence = 1): Promise<boolean> {
  const { sender, died } = dyingAt(client(CLIENT_TIMEOUT_MS), call, when, occurrence);
  const pass = deliverOutbox(storage, sender, () => at, logger).then(() => 'finished' as const);
  for (;;) {
    const state = await Promise.race([pass, new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), 5))]);
    if (state === 'finished') return false;
    if (died()) {
      // The dying call's own request may still be on the wire: let it land before the "restart".
      await new Promise((resolve) => setTimeout(resolve, 30));
      return true;
    }
  }
}

describe.each(DIALECTS)('file uploads through the outbox (%s)', (dialect: Dialect) => {
  const fixture = storageFixture(dialect);
  afterEach(async () => {
    await fixture.closeAll();
    fake.reset();
  });

  it('shares one upload once, in its parent thread, with the bytes intact and the text as its comment; never edits it', async () => {
    const storage = await fixture.open();
    const at = new Date();
    const bytes = chart(40);
    await storage.outbox.post(postMessage('breach:1', CHANNEL, { text: 'CPU above 80 %' }, at));
    await storage.outbox.post(replyInThread('breach:1', 'breach:1:chart', CHANNEL, chartPayload('the breach so far', bytes), at));
    const report = await deliverOutbox(storage, client(), () => at, logger);
    expect(report).toMatchObject({ posted: 2, errors: 0 });
    const parent = (await storage.outbox.getByKey('breach:1'))!;
    const row = (await storage.outbox.getByKey('breach:1:chart'))!;
    const [share, ...more] = shares();
    expect(more).toEqual([]);
    expect(share!.bytes?.equals(bytes)).toBe(true);
    expect(share!.message).toMatchObject({ text: 'the breach so far', thread_ts: parent.ts, ts: row.ts });
    expect(share!.message.files![0]).toMatchObject({
      title: 'CPU (the breach so far)',
      filetype: 'png',
      original_w: 40,
      original_h: 20,
      alt_txt: 'CPU against its threshold',
    });
    expect(row).toMatchObject({ status: 'sent', fileId: share!.message.files![0]!.id, needsUpdate: false });

    await storage.outbox.post(replyInThread('breach:1', 'breach:1:chart', CHANNEL, chartPayload('again', chart(41)), at));
    await storage.outbox.edit(editMessage('breach:1:chart', chartPayload('edited', bytes)));
    await deliverOutbox(storage, client(), () => at, logger);
    expect(shares()).toHaveLength(1);
    expect(fake.callsTo('chat.update')).toEqual([]);
    expect((await storage.outbox.getByKey('breach:1:chart'))!.needsUpdate).toBe(false);
  });

  it('after a crash once Slack completed the upload, finds the share by its file id and does not share it again', async () => {
    const storage = await fixture.open();
    const at = new Date();
    const bytes = chart(42);
    await storage.outbox.post(postMessage('status:chart', CHANNEL, chartPayload('status', bytes), at));
    expect(await passDyingAt(storage, at, 'files.completeUploadExternal', 'after')).toBe(true);
    expect(await storage.outbox.getByKey('status:chart')).toMatchObject({ status: 'sending', fileId: expect.stringMatching(/^F/) });
    const report = await deliverOutbox(storage, client(), () => at, logger);
    expect(report).toMatchObject({ recovered: 1, posted: 0 });
    expect(sharesOf(bytes)).toHaveLength(1);
    expect(count('files.completeUploadExternal')).toBe(1);
    expect((await storage.outbox.getByKey('status:chart'))!.ts).toBe(sharesOf(bytes)[0]!.message.ts);
  });
});

describe('file uploads through the outbox (sqlite)', () => {
  const fixture = storageFixture('sqlite');
  afterEach(async () => {
    await fixture.closeAll();
    fake.reset();
  });

  it.each<[Call, number]>([
    ['files.getUploadURLExternal', 1],
    ['upload_url', 1],
    ['files.completeUploadExternal', 1],
    ['conversations.history', 1],
  ])('a 429 on %s delays the upload as Retry-After says, sends nothing else meanwhile, and never shares twice', async (call) => {
    const storage = await fixture.open();
    const start = new Date();
    const bytes = chart(43);
    await storage.outbox.post(postMessage('chart:1', CHANNEL, chartPayload('chart', bytes), start));
    await storage.outbox.post(postMessage('after', CHANNEL, { text: 'queued after the chart' }, start));
    fake.failNext(call, { status: 429, retryAfter: 30 });
    const limited = await deliverOutbox(storage, client(), () => start, logger);
    expect(limited.rateLimitedUntil?.getTime()).toBe(start.getTime() + 30_000);
    const text = () => fake.messages(CHANNEL).filter((message) => message.text === 'queued after the chart');
    expect(text()).toEqual([]);
    // Before Retry-After has passed the chart is not tried again (the text queued after it may go meanwhile).
    const uploadCalls = () => fake.calls.filter((made) => made.method.startsWith('files.')).length + fake.uploads.length;
    const made = uploadCalls();
    await deliverOutbox(storage, client(), () => new Date(start.getTime() + 10_000), logger);
    expect(uploadCalls()).toBe(made);
    expect(shares()).toHaveLength(call === 'conversations.history' ? 1 : 0);
    await deliverOutbox(storage, client(), () => new Date(start.getTime() + 31_000), logger);
    expect(sharesOf(bytes)).toHaveLength(1);
    expect((await storage.outbox.getByKey('chart:1'))!.status).toBe('sent');
    expect(text()).toHaveLength(1);
  });

  const crashPoints: Array<[Call, 'before' | 'after']> = [
    ['files.getUploadURLExternal', 'before'],
    ['files.getUploadURLExternal', 'after'],
    ['upload_url', 'before'],
    ['upload_url', 'after'],
    ['files.completeUploadExternal', 'before'],
    ['files.completeUploadExternal', 'after'],
    ['conversations.replies', 'before'],
    ['conversations.replies', 'after'],
  ];
  it.each(crashPoints)('a crash at %s (%s it) and a restart: exactly one share in the thread', async (call, when) => {
    const storage = await fixture.open();
    const at = new Date();
    const bytes = chart(44);
    await storage.outbox.post(postMessage('breach:2', CHANNEL, { text: 'memory above 90 %' }, at));
    await storage.outbox.post(replyInThread('breach:2', 'breach:2:chart', CHANNEL, chartPayload('memory', bytes), at));
    expect(await passDyingAt(storage, at, call, when)).toBe(true);
    expect(sharesOf(bytes).length).toBeLessThanOrEqual(1);
    await deliverOutbox(storage, client(), () => at, logger);
    const parent = (await storage.outbox.getByKey('breach:2'))!;
    const row = (await storage.outbox.getByKey('breach:2:chart'))!;
    expect(sharesOf(bytes).map((share) => share.message.thread_ts)).toEqual([parent.ts]);
    expect(row).toMatchObject({ status: 'sent', ts: sharesOf(bytes)[0]!.message.ts });
  });

  it('a crash between storing "sending" and the file id: the upload starts over, nothing was shared', async () => {
    const storage = await fixture.open();
    const at = new Date();
    const bytes = chart(45);
    await storage.outbox.post(postMessage('chart:2', CHANNEL, chartPayload('chart', bytes), at));
    const row = (await storage.outbox.getByKey('chart:2'))!;
    await storage.outbox.markSending(row.id); // the process died right here
    await deliverOutbox(storage, client(), () => at, logger);
    expect(sharesOf(bytes)).toHaveLength(1);
    expect(count('files.getUploadURLExternal')).toBe(1);
  });

  it('alt text over Slack’s 1,000 characters is cut, never the upload refused for it', async () => {
    const storage = await fixture.open();
    const at = new Date();
    const bytes = chart(46);
    const long = { ...chartPayload('many charts', bytes) };
    await storage.outbox.post(postMessage('chart:long-alt', CHANNEL, { ...long, file: { ...long.file!, altText: 'a chart of growth; '.repeat(200) } }, at));
    await deliverOutbox(storage, client(), () => at, logger);
    expect(sharesOf(bytes)).toHaveLength(1);
    expect((await storage.outbox.getByKey('chart:long-alt'))!.status).toBe('sent');
  });

  it('an upload Slack forgot before it was completed (a long outage) is uploaded again, under a new file id', async () => {
    const storage = await fixture.open();
    const at = new Date();
    const bytes = chart(46);
    await storage.outbox.post(postMessage('chart:3', CHANNEL, chartPayload('chart', bytes), at));
    expect(await passDyingAt(storage, at, 'files.completeUploadExternal', 'before')).toBe(true);
    const first = (await storage.outbox.getByKey('chart:3'))!.fileId!;
    fake.expireUpload(first);
    await deliverOutbox(storage, client(), () => at, logger);
    await deliverOutbox(storage, client(), () => new Date(at.getTime() + 2_000), logger);
    const row = (await storage.outbox.getByKey('chart:3'))!;
    expect(row.status).toBe('sent');
    expect(row.fileId).not.toBe(first);
    expect(sharesOf(bytes).map((share) => share.message.files![0]!.id)).toEqual([row.fileId]);
  });

  it('a refusal for good (missing_scope) fails the row and says so once in its thread, with what to do', async () => {
    const storage = await fixture.open();
    const at = new Date();
    await storage.outbox.post(postMessage('breach:3', CHANNEL, { text: 'disk above 85 %' }, at));
    await storage.outbox.post(replyInThread('breach:3', 'breach:3:chart', CHANNEL, chartPayload('disk', chart(47)), at));
    fake.failNext('files.getUploadURLExternal', { error: 'missing_scope' });
    await deliverOutbox(storage, client(), () => at, logger);
    await deliverOutbox(storage, client(), () => at, logger);
    await storage.outbox.post(replyInThread('breach:3', 'breach:3:chart', CHANNEL, chartPayload('disk', chart(47)), at));
    await deliverOutbox(storage, client(), () => at, logger);
    const parent = (await storage.outbox.getByKey('breach:3'))!;
    expect(await storage.outbox.getByKey('breach:3:chart')).toMatchObject({ status: 'failed', lastError: 'missing_scope' });
    const notices = fake.messages(CHANNEL).filter((message) => message.text.startsWith('The chart could not be uploaded'));
    expect(notices.map((message) => [message.text, message.thread_ts])).toEqual([[uploadFailureText('missing_scope'), parent.ts]]);
    expect(notices[0]!.text).toContain('files:write');
    expect((await storage.outbox.getByKey(uploadFailureKey('breach:3:chart')))!.status).toBe('sent');
    expect(shares()).toEqual([]);
  });
});

/** What Slack does to one call, as the fake can make it happen. */
const outcomes: Record<string, InjectedFailure> = {
  rateLimited: { status: 429, retryAfter: 2 },
  serverError: { status: 500 },
  refused: { error: 'internal_error' },
  dropped: { dropConnection: true },
  droppedAfterDoingIt: { dropConnection: true, thenSucceed: true },
  late: { delayMs: LATE_MS },
  lateAfterDoingIt: { delayMs: LATE_MS, thenSucceed: true },
};
const CALLS: readonly Call[] = ['files.getUploadURLExternal', 'upload_url', 'files.completeUploadExternal', 'conversations.history', 'conversations.replies'];
const LONG = process.env.SCALEBOT_LONG === '1';

describe('file uploads under any schedule of faults and restarts (sqlite)', () => {
  const fixture = storageFixture('sqlite');
  afterEach(async () => {
    await fixture.closeAll();
    fake.reset();
  });

  it('shares every file row exactly once, never twice, with its bytes, in its thread', async () => {
    const fault = fc.record({ call: fc.constantFrom(...CALLS, 'chat.postMessage'), outcome: fc.constantFrom(...Object.keys(outcomes)) });
    const pass = fc.record({
      faults: fc.array(fault, { maxLength: 3 }),
      crash: fc.option(
        fc.record({ call: fc.constantFrom(...CALLS), when: fc.constantFrom('before' as const, 'after' as const), occurrence: fc.integer({ min: 1, max: 2 }) }),
        {
          nil: null,
        },
      ),
      // A long outage: Slack forgets every upload not completed yet.
      outage: fc.boolean(),
    });
    const rows = fc.array(fc.boolean(), { minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(rows, fc.array(pass, { minLength: 1, maxLength: 5 }), async (inThread, schedule) => {
        fake.reset();
        const storage = await fixture.open();
        try {
          const created = new Date();
          await storage.outbox.post(postMessage('parent', CHANNEL, { text: 'a breach' }, created));
          const files = inThread.map((reply, index) => ({ key: `chart:${index}`, reply, bytes: chart(30 + index) }));
          for (const file of files) {
            const payload = chartPayload(file.key, file.bytes);
            await storage.outbox.post(
              file.reply ? replyInThread('parent', file.key, CHANNEL, payload, created) : postMessage(file.key, CHANNEL, payload, created),
            );
          }
          let now = created.getTime();
          const neverTwice = (when: string) => {
            for (const file of files) expect(sharesOf(file.bytes).length, `${file.key} ${when}: ${fake.summary()}`).toBeLessThanOrEqual(1);
          };
          for (const [index, step] of schedule.entries()) {
            for (const { call, outcome } of step.faults) fake.failNext(call, outcomes[outcome]!);
            if (step.outage) for (const file of fake.files()) fake.expireUpload(file.id);
            if (step.crash) await passDyingAt(storage, new Date(now), step.crash.call, step.crash.when, step.crash.occurrence);
            else await deliverOutbox(storage, client(CLIENT_TIMEOUT_MS), () => new Date(now), logger);
            now += 15 * 60_000;
            neverTwice(`after step ${index}`);
          }
          // Slack answers again: the faults still queued are used up, and every row goes out.
          for (let extra = 0; extra < 40; extra += 1) {
            const states = await Promise.all(files.map(async (file) => (await storage.outbox.getByKey(file.key))!.status));
            if (states.every((status) => status === 'sent')) break;
            await deliverOutbox(storage, client(CLIENT_TIMEOUT_MS), () => new Date(now), logger);
            now += 15 * 60_000;
            neverTwice(`after extra pass ${extra}`);
          }
          // A late answer the client gave up on may still land: let every one arrive, then count.
          await new Promise((resolve) => setTimeout(resolve, LATE_MS + 50));
          const parent = (await storage.outbox.getByKey('parent'))!;
          for (const file of files) {
            const row = (await storage.outbox.getByKey(file.key))!;
            const found = sharesOf(file.bytes);
            expect(found.length, `${file.key}: ${fake.summary()}`).toBe(1);
            expect(row).toMatchObject({ status: 'sent', ts: found[0]!.message.ts });
            expect(found[0]!.message.thread_ts).toBe(file.reply ? parent.ts : undefined);
          }
          expect(fake.messages(CHANNEL).filter((message) => message.text.startsWith('The chart could not'))).toEqual([]);
        } finally {
          await fixture.closeAll();
        }
      }),
      // 10 schedules in every npm test, 100 in npm run test:long.
      { numRuns: LONG ? 100 : 10 },
    );
  }, 300_000);
});
