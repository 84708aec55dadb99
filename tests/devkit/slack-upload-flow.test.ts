// The fake Slack's upload flow, driven by Slack's own WebClient and the bot's uploadBytes: Slack's argument checks
// and error codes for files.getUploadURLExternal and files.completeUploadExternal, the bytes' POST, the share in
// a thread with its files, and failure injection on each of the three calls.
import { LogLevel, WebClient } from '@slack/web-api';
import { PNG } from 'pngjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { slackSender } from '../../integrations/slack-upload.ts';
import { startFakeSlack, type FakeSlack } from '../helpers/slack/index.ts';

const CHANNEL = 'C0CHARTS01';
let fake: FakeSlack;
let web: WebClient;

function png(width: number, height: number): Buffer {
  const image = new PNG({ width, height });
  image.data.fill(200);
  return PNG.sync.write(image);
}

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; retryAfter?: number; data?: { error?: string }; status?: number }> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error('expected a rejection');
}

beforeEach(async () => {
  fake = await startFakeSlack();
  web = new WebClient('xoxb-upload-flow', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logLevel: LogLevel.ERROR });
});
afterEach(async () => fake.close());

describe('files.getUploadURLExternal', () => {
  it('answers an upload URL on the fake and a file id, and refuses what Slack refuses', async () => {
    const got = await web.files.getUploadURLExternal({ filename: 'cpu.png', length: 10, alt_text: 'CPU over 6 hours' });
    expect(got.upload_url).toBe(`${fake.baseUrl}/upload/${got.file_id}`);
    expect(got.file_id).toMatch(/^F[0-9A-Z]+$/);
    expect(fake.file(got.file_id!)).toMatchObject({ filename: 'cpu.png', length: 10, altTxt: 'CPU over 6 hours', completed: false });
    const error = (args: Record<string, unknown>) => rejection(web.apiCall('files.getUploadURLExternal', args)).then((e) => e.data?.error);
    expect(await error({ length: 10 })).toBe('invalid_arguments');
    expect(await error({ filename: 'a.png' })).toBe('invalid_arguments');
    expect(await error({ filename: 'a.png', length: -3 })).toBe('invalid_arguments');
    expect(await error({ filename: 'a.png', length: 1.5 })).toBe('invalid_arguments');
    expect(await error({ filename: 'a.png', length: 0 })).toBe('missing_argument');
    expect(await error({ filename: 'a.png', length: 3, alt_txt: 'x'.repeat(1001) })).toBe('alt_txt_too_large');
  });
});

describe('the upload and files.completeUploadExternal', () => {
  it('shares the uploaded PNG in the thread with its comment, lists it in replies, and serves its bytes', async () => {
    const parent = await web.chat.postMessage({ channel: CHANNEL, text: 'CPU above 80 %' });
    const bytes = png(64, 48);
    const got = await web.files.getUploadURLExternal({ filename: 'cpu.png', length: bytes.length });
    await slackSender(web, { timeoutMs: 5000 }).uploadBytes(got.upload_url!, bytes, 'cpu.png');
    expect(fake.uploads).toMatchObject([{ fileId: got.file_id, size: bytes.length, status: 200, applied: true }]);
    const done = await web.files.completeUploadExternal({
      files: [{ id: got.file_id!, title: 'CPU, 6 hours' }],
      channel_id: CHANNEL,
      thread_ts: parent.ts!,
      initial_comment: 'The breach so far',
    });
    expect(done.files).toEqual([{ id: got.file_id, title: 'CPU, 6 hours' }]);
    const shared = fake.messages(CHANNEL).find((message) => message.files);
    expect(shared).toMatchObject({ text: 'The breach so far', thread_ts: parent.ts, user: fake.identity.botUserId, upload: true });
    expect(shared!.files).toEqual([
      expect.objectContaining({
        id: got.file_id,
        name: 'cpu.png',
        title: 'CPU, 6 hours',
        mimetype: 'image/png',
        filetype: 'png',
        size: bytes.length,
        url_private: `${fake.baseUrl}/files/${got.file_id}`,
        original_w: 64,
        original_h: 48,
      }),
    ]);
    const replies = await web.conversations.replies({ channel: CHANNEL, ts: parent.ts! });
    expect(replies.messages?.map((message) => message.files?.map((file) => file.id))).toEqual([undefined, [got.file_id]]);
    const served = await fetch(shared!.files![0]!.url_private);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await served.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('takes raw bytes too, answering "OK - <bytes>"; an id it never issued is 404', async () => {
    const got = await web.files.getUploadURLExternal({ filename: 'notes.txt', length: 5 });
    const answer = await fetch(got.upload_url!, { method: 'POST', body: 'hello' });
    expect([answer.status, await answer.text()]).toEqual([200, 'OK - 5']);
    expect((await fetch(`${fake.baseUrl}/upload/F0NOSUCH`, { method: 'POST', body: 'x' })).status).toBe(404);
    await web.files.completeUploadExternal({ files: [{ id: got.file_id! }], channel_id: CHANNEL });
    expect(fake.messages(CHANNEL)[0]!.files![0]).toMatchObject({ filetype: 'txt', mimetype: 'text/plain', title: 'notes.txt' });
  });

  it('refuses a file never uploaded, uploaded in another length, forgotten, or completed twice', async () => {
    const complete = (id: string) => rejection(web.files.completeUploadExternal({ files: [{ id }], channel_id: CHANNEL })).then((e) => e.data?.error);
    expect(await complete('F0NOSUCH')).toBe('file_not_found');
    const never = await web.files.getUploadURLExternal({ filename: 'a.png', length: 3 });
    expect(await complete(never.file_id!)).toBe('file_not_found');
    const short = await web.files.getUploadURLExternal({ filename: 'b.png', length: 3 });
    await fetch(short.upload_url!, { method: 'POST', body: 'ab' });
    expect(await complete(short.file_id!)).toBe('file_not_found');
    const forgotten = await web.files.getUploadURLExternal({ filename: 'c.png', length: 3 });
    await fetch(forgotten.upload_url!, { method: 'POST', body: 'abc' });
    fake.expireUpload(forgotten.file_id!);
    expect(await complete(forgotten.file_id!)).toBe('file_not_found');
    const twice = await web.files.getUploadURLExternal({ filename: 'd.png', length: 3 });
    await fetch(twice.upload_url!, { method: 'POST', body: 'abc' });
    await web.files.completeUploadExternal({ files: [{ id: twice.file_id! }], channel_id: CHANNEL });
    expect(await complete(twice.file_id!)).toBe('file_update_failed');
    expect(fake.messages(CHANNEL)).toHaveLength(1);
    const fenced = await startFakeSlack({ channels: { C0ONLY: 'only' } });
    try {
      const other = new WebClient('xoxb-upload-flow', { slackApiUrl: fenced.apiUrl, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
      const reserved = await other.files.getUploadURLExternal({ filename: 'e.png', length: 3 });
      await fetch(reserved.upload_url!, { method: 'POST', body: 'abc' });
      const refused = await rejection(other.files.completeUploadExternal({ files: [{ id: reserved.file_id! }], channel_id: 'C0GONE' }));
      expect(refused.data?.error).toBe('channel_not_found');
    } finally {
      await fenced.close();
    }
  });

  it('injects failures into each call: 429 with Retry-After on the methods and on the upload POST, a lost answer after the bytes were kept', async () => {
    fake.failNext('files.getUploadURLExternal', { status: 429, retryAfter: 3 });
    expect(await rejection(web.files.getUploadURLExternal({ filename: 'a.png', length: 3 }))).toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      retryAfter: 3,
    });
    const got = await web.files.getUploadURLExternal({ filename: 'a.png', length: 3 });
    const sender = slackSender(web, { timeoutMs: 5000 });
    fake.failNext('upload_url', { status: 429, retryAfter: 7 });
    expect(await rejection(sender.uploadBytes(got.upload_url!, Buffer.from('abc'), 'a.png'))).toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      retryAfter: 7,
    });
    expect(fake.file(got.file_id!)?.bytes).toBeUndefined();
    fake.failNext('upload_url', { status: 500 });
    expect(await rejection(sender.uploadBytes(got.upload_url!, Buffer.from('abc'), 'a.png'))).toMatchObject({ code: 'slack_upload_refused', status: 500 });
    fake.failNext('upload_url', { dropConnection: true, thenSucceed: true });
    await rejection(sender.uploadBytes(got.upload_url!, Buffer.from('abc'), 'a.png'));
    expect(fake.file(got.file_id!)?.bytes?.toString()).toBe('abc');
    fake.failNext('files.completeUploadExternal', { status: 429, retryAfter: 2 });
    expect(await rejection(web.files.completeUploadExternal({ files: [{ id: got.file_id! }], channel_id: CHANNEL }))).toMatchObject({ retryAfter: 2 });
    expect(fake.messages(CHANNEL)).toHaveLength(0);
    fake.failNext('files.completeUploadExternal', { dropConnection: true, thenSucceed: true });
    await rejection(web.files.completeUploadExternal({ files: [{ id: got.file_id! }], channel_id: CHANNEL }));
    expect(fake.messages(CHANNEL)).toHaveLength(1);
    expect(fake.callsTo('files.completeUploadExternal').map((call) => call.applied ?? false)).toEqual([false, true]);
  });
});
