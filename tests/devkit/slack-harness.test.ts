// The Slack harness proved against Slack's own clients: @slack/web-api's WebClient, Bolt over HTTP, and Bolt
// over Socket Mode. If the fake drifts from what these libraries send or expect, these tests fail.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel, SocketModeReceiver, webApi, type Logger, type types } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildBlockActionsPayload,
  checkBlockKitLimits,
  FAKE_SLACK_DEFAULTS,
  sendInteraction,
  sendSlashCommand,
  signSlackRequest,
  startFakeSlack,
  stopBoltApp,
  type FakeSlack,
} from '../helpers/slack/index.ts';

const { WebClient, ErrorCode } = webApi;
type WebClientInstance = InstanceType<typeof WebClient>;

const SIGNING_SECRET = 'test-signing-secret';
const BOT_TOKEN = 'xoxb-test-bot-token';
const APP_TOKEN = 'xapp-1-test-app-token';
const CHANNEL = 'C0OPS00001';
const USER = 'U0ALICE001';
const TS_SHAPE = /^\d{10}\.\d{6}$/;

/** Collects what Slack's libraries log instead of printing it; `lines` helps when a test fails. */
function quietLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep =
    (level: string) =>
    (...msg: unknown[]) => {
      lines.push(`${level} ${msg.map(String).join(' ')}`);
    };
  return {
    lines,
    debug: () => {},
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}

function section(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function button(actionId: string, label = 'Go', value?: string): types.Button {
  return { type: 'button', action_id: actionId, text: { type: 'plain_text', text: label }, ...(value && { value }) };
}

/** The promise's rejection, so its fields can be checked without the expect-rejects ceremony. */
async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; data?: Record<string, any>; [k: string]: any }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the promise to reject');
}

describe('checkBlockKitLimits', () => {
  it('accepts a well-formed message', () => {
    expect(
      checkBlockKitLimits([
        { type: 'header', text: { type: 'plain_text', text: 'Scale the API?' } },
        { ...section('*CPU* at 82%'), fields: [{ type: 'mrkdwn', text: 'a' }], accessory: button('more') },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'held 15 min' }] },
        { type: 'divider' },
        { type: 'actions', block_id: 'run', elements: [button('run_approve', 'Approve', 'r1'), button('run_reject', 'Reject')] },
      ]),
    ).toEqual([]);
  });

  it('counts blocks per surface: 50 in a message, 100 in a modal', () => {
    const blocks = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    expect(checkBlockKitLimits(blocks)).toEqual(['51 blocks; a message allows at most 50 [json-pointer:/blocks]']);
    expect(checkBlockKitLimits(blocks, { surface: 'modal' })).toEqual([]);
    expect(checkBlockKitLimits('not an array')).toEqual(['blocks must be an array [json-pointer:/blocks]']);
  });

  it('enforces section, header and context limits', () => {
    const violations = checkBlockKitLimits([
      section('x'.repeat(3001)),
      { type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) },
      { type: 'section', fields: [{ type: 'plain_text', text: 'y'.repeat(2001) }] },
      { type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } },
      { type: 'header', text: { type: 'mrkdwn', text: 'bold?' } },
      { type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) },
      { type: 'section' },
    ]);
    expect(violations).toEqual([
      'section text is 3001 characters; at most 3000 allowed [json-pointer:/blocks/0/text/text]',
      '11 section fields; at most 10 allowed [json-pointer:/blocks/1/fields]',
      'section field is 2001 characters; at most 2000 allowed [json-pointer:/blocks/2/fields/0/text]',
      'header text is 151 characters; at most 150 allowed [json-pointer:/blocks/3/text/text]',
      'header text must be a plain_text text object [json-pointer:/blocks/4/text/type]',
      '11 elements in a context block; at most 10 allowed [json-pointer:/blocks/5/elements]',
      'section needs text or fields [json-pointer:/blocks/6]',
    ]);
  });

  it('enforces actions, button and id limits', () => {
    const violations = checkBlockKitLimits([
      { type: 'actions', elements: Array.from({ length: 26 }, (_, i) => button(`b${i}`)) },
      {
        type: 'actions',
        block_id: 'k'.repeat(256),
        elements: [
          button('a'.repeat(256)),
          { ...button('long_label', 'L'.repeat(76)) },
          button('big_value', 'ok', 'v'.repeat(2001)),
          { type: 'button', action_id: 'no_text' },
          { type: 'button', action_id: 'b0', text: { type: 'plain_text', text: '' } },
        ],
      },
      { type: 'sectoin', text: { type: 'mrkdwn', text: 'typo' } },
      { type: 'divider', block_id: 'same' },
      { type: 'divider', block_id: 'same' },
    ]);
    expect(violations).toEqual([
      '26 elements in an actions block; at most 25 allowed [json-pointer:/blocks/0/elements]',
      'block_id is 256 characters; at most 255 allowed [json-pointer:/blocks/1/block_id]',
      'action_id is 256 characters; at most 255 allowed [json-pointer:/blocks/1/elements/0/action_id]',
      'button text is 76 characters; at most 75 allowed [json-pointer:/blocks/1/elements/1/text/text]',
      'button value is 2001 characters; at most 2000 allowed [json-pointer:/blocks/1/elements/2/value]',
      'button text is required [json-pointer:/blocks/1/elements/3/text]',
      'duplicate action_id "b0" (also at /blocks/0/elements/0/action_id) [json-pointer:/blocks/1/elements/4/action_id]',
      'button text must not be empty [json-pointer:/blocks/1/elements/4/text/text]',
      'unknown block type "sectoin" [json-pointer:/blocks/2/type]',
      'duplicate block_id "same" (also at /blocks/3/block_id) [json-pointer:/blocks/4/block_id]',
    ]);
  });
});

describe('fake Slack', () => {
  let fake: FakeSlack;
  let logger: ReturnType<typeof quietLogger>;
  const apps: App[] = [];

  beforeEach(async ({ onTestFailed }) => {
    fake = await startFakeSlack({ userGroups: { S0ONCALL01: ['U0ALICE001', 'U0BOB00001'] } });
    logger = quietLogger();
    onTestFailed(() => {
      console.log(`What Slack's libraries logged:\n${logger.lines.join('\n')}\n${fake.summary()}`);
    });
  });

  afterEach(async () => {
    // Apps first: a Socket Mode client whose Slack vanished would try to reconnect.
    for (const app of apps.splice(0)) await stopBoltApp(app);
    await fake.socket.disconnected({ timeoutMs: 1000 });
    await fake.close();
  });

  function client(options: ConstructorParameters<typeof WebClient>[1] = {}, token: string = BOT_TOKEN): WebClientInstance {
    return new WebClient(token, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logger, ...options });
  }

  describe('Web API through a real WebClient', () => {
    it('answers auth.test with the workspace identity', async () => {
      const result = await client().auth.test();
      expect(result).toMatchObject({
        ok: true,
        user_id: FAKE_SLACK_DEFAULTS.botUserId,
        bot_id: FAKE_SLACK_DEFAULTS.botId,
        team_id: FAKE_SLACK_DEFAULTS.teamId,
        team: FAKE_SLACK_DEFAULTS.teamName,
        user: FAKE_SLACK_DEFAULTS.botName,
        url: `https://${FAKE_SLACK_DEFAULTS.teamDomain}.slack.com/`,
      });
      expect(fake.callsTo('auth.test')[0]?.token).toBe(BOT_TOKEN);
    });

    it('posts, threads and updates messages, recording decoded arguments', async () => {
      const web = client();
      const blocks = [section('Scale *api* to 6?'), { type: 'actions', elements: [button('run_approve', 'Approve', 'r1')] }];
      const metadata = { event_type: 'scale_run', event_payload: { run_id: 'r1' } };
      const posted = await web.chat.postMessage({ channel: CHANNEL, text: 'Scale api?', blocks, metadata });
      expect(posted.ts).toMatch(TS_SHAPE);
      expect(posted.channel).toBe(CHANNEL);

      // @slack/web-api form-encodes and JSON-stringifies blocks and metadata: the record has them parsed back.
      const call = fake.callsTo('chat.postMessage')[0];
      expect(call?.args).toMatchObject({ channel: CHANNEL, text: 'Scale api?', blocks, metadata });

      const reply = await web.chat.postMessage({ channel: CHANNEL, text: 'working', thread_ts: posted.ts! });
      expect(Number(reply.ts)).toBeGreaterThan(Number(posted.ts));

      await web.chat.update({ channel: CHANNEL, ts: posted.ts!, text: 'Scaled api to 6', blocks: [section('Done')] });
      const parent = fake.message(CHANNEL, posted.ts!);
      expect(parent).toMatchObject({ text: 'Scaled api to 6', reply_count: 1, thread_ts: posted.ts, metadata });
      // Slack assigns a block_id to blocks that had none.
      expect(parent?.blocks).toEqual([{ ...section('Done'), block_id: expect.any(String) }]);
      expect(fake.messages(CHANNEL).map((m) => m.text)).toEqual(['Scaled api to 6', 'working']);
      expect(fake.messages(CHANNEL)[1]?.thread_ts).toBe(posted.ts);

      const missing = await rejection(web.chat.update({ channel: CHANNEL, ts: '1.000001', text: 'x' }));
      expect(missing.code).toBe(ErrorCode.PlatformError);
      expect(missing.data?.error).toBe('message_not_found');
    });

    it('reads history newest first, with metadata only on request, and thread replies', async () => {
      const web = client();
      const first = await web.chat.postMessage({
        channel: CHANNEL,
        text: 'first',
        metadata: { event_type: 'scale_run', event_payload: { run_id: 'r1' } },
      });
      await web.chat.postMessage({ channel: CHANNEL, text: 'reply', thread_ts: first.ts! });
      await web.chat.postMessage({ channel: CHANNEL, text: 'second' });

      const plain = await web.conversations.history({ channel: CHANNEL });
      expect(plain.messages?.map((m) => m.text)).toEqual(['second', 'first']);
      expect(plain.messages?.[1]?.metadata).toBeUndefined();

      const withMetadata = await web.conversations.history({ channel: CHANNEL, include_all_metadata: true });
      expect(withMetadata.messages?.[1]?.metadata).toEqual({ event_type: 'scale_run', event_payload: { run_id: 'r1' } });

      const paged = await web.conversations.history({ channel: CHANNEL, limit: 1 });
      expect(paged.has_more).toBe(true);
      expect(paged.response_metadata?.next_cursor).not.toBe('');

      const replies = await web.conversations.replies({ channel: CHANNEL, ts: first.ts! });
      expect(replies.messages?.map((m) => m.text)).toEqual(['first', 'reply']);

      const link = await web.chat.getPermalink({ channel: CHANNEL, message_ts: first.ts! });
      expect(link.permalink).toBe(`https://${FAKE_SLACK_DEFAULTS.teamDomain}.slack.com/archives/${CHANNEL}/p${first.ts!.replace('.', '')}`);
    });

    it('answers the lookups and the smaller methods', async () => {
      const web = client();
      expect((await web.users.info({ user: USER })).user).toMatchObject({ id: USER, is_bot: false });
      expect((await web.usergroups.users.list({ usergroup: 'S0ONCALL01' })).users).toEqual(['U0ALICE001', 'U0BOB00001']);
      expect((await rejection(web.usergroups.users.list({ usergroup: 'S0NOPE' }))).data?.error).toBe('no_such_subteam');

      const ephemeral = await web.chat.postEphemeral({ channel: CHANNEL, user: USER, text: 'only you' });
      expect(ephemeral.message_ts).toMatch(TS_SHAPE);
      expect(fake.ephemerals(CHANNEL)).toMatchObject([{ user: USER, text: 'only you', via: 'chat.postEphemeral' }]);
      expect(fake.messages(CHANNEL)).toEqual([]);

      const view = await web.views.open({
        trigger_id: '1.2.abc',
        view: { type: 'modal', title: { type: 'plain_text', text: 'Run' }, blocks: [section('Sure?')] },
      });
      expect(view.view?.id).toMatch(/^V/);

      expect((await rejection(web.apiCall('chat.teleport'))).data?.error).toBe('unknown_method');
    });

    it('refuses what Slack refuses: Block Kit limits, long text, missing content, bad tokens', async () => {
      const web = client();
      const tooMany = await rejection(
        web.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' as const })) }),
      );
      expect(tooMany.code).toBe(ErrorCode.PlatformError);
      expect(tooMany.data).toMatchObject({
        ok: false,
        error: 'invalid_blocks',
        response_metadata: { messages: ['[ERROR] 51 blocks; a message allows at most 50 [json-pointer:/blocks]'] },
      });

      const longButton = await rejection(
        web.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: [{ type: 'actions', elements: [button('b', 'L'.repeat(76))] }] }),
      );
      expect(longButton.data?.errors).toEqual(['button text is 76 characters; at most 75 allowed [json-pointer:/blocks/0/elements/0/text/text]']);

      expect((await rejection(web.chat.postMessage({ channel: CHANNEL, text: 'x'.repeat(40_001) }))).data?.error).toBe('msg_too_long');
      expect((await rejection(web.chat.postMessage({ channel: CHANNEL, text: '' }))).data?.error).toBe('no_text');
      expect(fake.messages()).toEqual([]);

      expect((await rejection(client({}, 'xapp-1-wrong-kind').chat.postMessage({ channel: CHANNEL, text: 'x' }))).data?.error).toBe('not_allowed_token_type');
      expect((await rejection(client({}, 'nonsense').auth.test())).data?.error).toBe('invalid_auth');
      expect((await rejection(new WebClient(undefined, { slackApiUrl: fake.apiUrl, logger }).auth.test())).data?.error).toBe('not_authed');
    });

    it('takes JSON bodies as Slack does', async () => {
      const response = await fetch(`${fake.apiUrl}chat.postMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${BOT_TOKEN}` },
        body: JSON.stringify({ channel: CHANNEL, blocks: [section('json')] }),
      });
      expect(await response.json()).toMatchObject({ ok: true, channel: CHANNEL });
      expect(fake.callsTo('chat.postMessage')[0]?.args.blocks).toEqual([section('json')]);
    });

    it('only accepts the configured tokens when told to', async () => {
      const strict = await startFakeSlack({ tokens: { bot: BOT_TOKEN } });
      try {
        const other = new WebClient('xoxb-someone-else', { slackApiUrl: strict.apiUrl, retryConfig: { retries: 0 }, logger });
        expect((await rejection(other.auth.test())).data?.error).toBe('invalid_auth');
        const mine = new WebClient(BOT_TOKEN, { slackApiUrl: strict.apiUrl, retryConfig: { retries: 0 }, logger });
        expect((await mine.auth.test()).ok).toBe(true);
      } finally {
        await strict.close();
      }
    });
  });

  describe('failure injection', () => {
    it('answers 429 with Retry-After, which the client reports or waits out', async () => {
      fake.failNext('chat.postMessage', { status: 429, retryAfter: 7 });
      const limited = await rejection(client({ rejectRateLimitedCalls: true }).chat.postMessage({ channel: CHANNEL, text: 'x' }));
      expect(limited.code).toBe(ErrorCode.RateLimitedError);
      expect(limited.retryAfter).toBe(7);
      expect(fake.callsTo('chat.postMessage')[0]?.response?.status).toBe(429);

      // With a retry allowed, the client honours Retry-After and the second attempt posts once.
      fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
      const started = Date.now();
      await client({ retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 } }).chat.postMessage({ channel: CHANNEL, text: 'y' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(fake.messages(CHANNEL).map((m) => m.text)).toEqual(['y']);
    });

    it('answers 500, ok:false errors and dropped connections', async () => {
      const web = client();
      fake.failNext('chat.postMessage', { status: 500 });
      fake.failNext('chat.postMessage', { error: 'fatal_error' });
      fake.failNext('chat.postMessage', { dropConnection: true });
      expect((await rejection(web.chat.postMessage({ channel: CHANNEL, text: 'a' }))).code).toBe(ErrorCode.HTTPError);
      expect((await rejection(web.chat.postMessage({ channel: CHANNEL, text: 'b' }))).data?.error).toBe('fatal_error');
      expect((await rejection(web.chat.postMessage({ channel: CHANNEL, text: 'c' }))).code).toBe(ErrorCode.RequestError);
      expect(fake.messages()).toEqual([]);
      await web.chat.postMessage({ channel: CHANNEL, text: 'd' });
      expect(fake.messages().map((m) => m.text)).toEqual(['d']);
    });

    it('can time a client out after Slack has posted (thenSucceed), or before anything happened', async () => {
      // Margins wide enough for a loaded 2-core machine: 1 s timeout against 2 s delays, 50 ms well inside it.
      const impatient = client({ timeout: 1000 });
      fake.failNext('chat.postMessage', { delayMs: 2000, thenSucceed: true });
      expect((await rejection(impatient.chat.postMessage({ channel: CHANNEL, text: 'posted anyway' }))).code).toBe(ErrorCode.RequestError);
      expect(fake.messages(CHANNEL).map((m) => m.text)).toEqual(['posted anyway']);

      fake.reset();
      fake.failNext('chat.postMessage', { delayMs: 2000 });
      expect((await rejection(impatient.chat.postMessage({ channel: CHANNEL, text: 'never posted' }))).code).toBe(ErrorCode.RequestError);
      await fake.waitFor((f) => f.callsTo('chat.postMessage')[0]?.response);
      expect(fake.messages()).toEqual([]);

      fake.failNext('chat.postMessage', { delayMs: 50 });
      await impatient.chat.postMessage({ channel: CHANNEL, text: 'slow but fine' });
      expect(fake.messages().map((m) => m.text)).toEqual(['slow but fine']);
    });

    it('waitFor resolves with the value, and times out with what the fake saw', async () => {
      await client().chat.postMessage({ channel: CHANNEL, text: 'hello there' });
      const found = await fake.waitFor((f) => f.messages(CHANNEL).find((m) => m.text === 'hello there'));
      expect(found.user).toBe(FAKE_SLACK_DEFAULTS.botUserId);
      const error = await rejection(fake.waitFor(() => false, { timeoutMs: 30 }));
      expect(error.message).toMatch(/timed out after 30 ms/);
      expect(error.message).toMatch(/chat\.postMessage\(channel=C0OPS00001, text="hello there"\) → ok/);
    });
  });

  describe('response_url', () => {
    async function post(url: string, body: unknown): Promise<{ status: number; text: string }> {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, text: await response.text() };
    }

    it('records posts, refuses bad blocks with 400, and allows five uses', async () => {
      const url = fake.newResponseUrl({ channel: CHANNEL, user: USER });
      expect(url).toMatch(new RegExp(`^${fake.baseUrl}/response/`));
      expect(await post(url, { text: 'one', blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'no' } }] })).toEqual({
        status: 400,
        text: 'invalid_blocks',
      });
      for (let i = 1; i <= 5; i += 1) expect(await post(url, { text: `reply ${i}` })).toEqual({ status: 200, text: 'ok' });
      expect(await post(url, { text: 'sixth' })).toEqual({ status: 404, text: 'used_url' });
      expect(fake.responses.map((r) => r.status)).toEqual([400, 200, 200, 200, 200, 200, 404]);
      expect(fake.responses[1]).toMatchObject({ body: { text: 'reply 1' }, answer: 'ok' });
      expect(fake.ephemerals(CHANNEL)).toHaveLength(5);
      expect(await post(`${fake.baseUrl}/response/never-issued`, { text: 'x' })).toEqual({ status: 404, text: 'no_service' });
    });

    it('fails on demand like any method, and tells listeners', async () => {
      const seen: number[] = [];
      const unsubscribe = fake.on('response', (r) => seen.push(r.status));
      fake.failNext('response_url', { status: 500 });
      const url = fake.newResponseUrl({ channel: CHANNEL, user: USER });
      expect((await post(url, { text: 'a' })).status).toBe(500);
      expect((await post(url, { text: 'b' })).status).toBe(200);
      unsubscribe();
      expect(await post(url, { text: 'c' })).toEqual({ status: 200, text: 'ok' });
      expect(seen).toEqual([500, 200]);
    });

    it('expires after 30 minutes by the fake clock', async () => {
      let now = new Date('2025-01-01T12:00:00Z');
      const clocked = await startFakeSlack({ now: () => now });
      try {
        const url = clocked.newResponseUrl({ channel: CHANNEL });
        now = new Date('2025-01-01T12:31:00Z');
        expect(await post(url, { text: 'late' })).toEqual({ status: 404, text: 'expired_url' });
      } finally {
        await clocked.close();
      }
    });

    it('posts in the channel, replaces or deletes the original as asked', async () => {
      const posted = await client().chat.postMessage({ channel: CHANNEL, text: 'approve?' });
      const url = fake.newResponseUrl({ channel: CHANNEL, messageTs: posted.ts!, user: USER });
      await post(url, { response_type: 'in_channel', text: 'for everyone' });
      await post(url, { replace_original: true, text: 'approved', blocks: [section('approved by alice')] });
      expect(fake.messages(CHANNEL).map((m) => m.text)).toEqual(['approved', 'for everyone']);
      await post(url, { delete_original: true });
      expect(fake.messages(CHANNEL).map((m) => m.text)).toEqual(['for everyone']);
    });
  });

  describe('a real Bolt app over HTTP', () => {
    async function startHttpApp(): Promise<{ app: App; baseUrl: string }> {
      const app = new App({
        token: BOT_TOKEN,
        signingSecret: SIGNING_SECRET,
        clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
        logger,
      });
      apps.push(app);
      app.command('/scale', async ({ ack, respond, command }) => {
        await ack();
        await respond({ response_type: 'in_channel', text: `status of ${command.text}` });
      });
      app.action('run_approve', async ({ ack, respond }) => {
        await ack();
        await respond({ replace_original: true, text: 'approved' });
      });
      const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
      return { app, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    }

    it('takes a signed slash command, acks it and replies through the response_url', async () => {
      const { baseUrl } = await startHttpApp();
      const responseUrl = fake.newResponseUrl({ channel: CHANNEL, user: USER });
      const answer = await sendSlashCommand(baseUrl, SIGNING_SECRET, {
        text: 'api',
        user_id: USER,
        channel_id: CHANNEL,
        response_url: responseUrl,
      });
      expect(answer.status).toBe(200);
      const reply = await fake.waitFor((f) => f.responses.find((r) => r.status === 200));
      expect(reply.body).toEqual({ response_type: 'in_channel', text: 'status of api' });
      expect(fake.messages(CHANNEL).map((m) => m.text)).toEqual(['status of api']);
      // Bolt checked the token at construction.
      expect(fake.callsTo('auth.test')).toHaveLength(1);
    });

    it('refuses a bad signature and a stale timestamp with 401', async () => {
      const { baseUrl } = await startHttpApp();
      const command = { text: 'api', user_id: USER, channel_id: CHANNEL, response_url: fake.newResponseUrl() };
      expect((await sendSlashCommand(baseUrl, SIGNING_SECRET, command, { signature: 'v0=deadbeef' })).status).toBe(401);
      const sixMinutesAgo = Math.floor(Date.now() / 1000) - 6 * 60;
      expect((await sendSlashCommand(baseUrl, SIGNING_SECRET, command, { timestamp: sixMinutesAgo })).status).toBe(401);
      expect((await sendSlashCommand(baseUrl, 'another-secret', command)).status).toBe(401);
      expect(fake.responses).toEqual([]);
    });

    it('takes a button click built from the stored message and replaces that message', async () => {
      const { app, baseUrl } = await startHttpApp();
      const posted = await app.client.chat.postMessage({
        channel: CHANNEL,
        text: 'approve?',
        blocks: [section('Scale api to 6?'), { type: 'actions', elements: [button('run_approve', 'Approve', 'run-1')] }],
      });
      const message = fake.message(CHANNEL, posted.ts!)!;
      const payload = buildBlockActionsPayload({
        user: USER,
        channel: CHANNEL,
        message,
        action: { action_id: 'run_approve' },
        response_url: fake.newResponseUrl({ channel: CHANNEL, messageTs: message.ts, user: USER }),
      });
      expect(payload.actions[0]).toMatchObject({
        action_id: 'run_approve',
        block_id: (message.blocks![1] as { block_id: string }).block_id,
        value: 'run-1',
        type: 'button',
        text: { type: 'plain_text', text: 'Approve' },
      });
      expect(payload.container).toEqual({ type: 'message', message_ts: message.ts, channel_id: CHANNEL, is_ephemeral: false });
      expect(() => buildBlockActionsPayload({ ...payload, user: USER, channel: CHANNEL, message, action: { action_id: 'nope' } })).toThrow(
        /no element with action_id "nope"/,
      );

      expect((await sendInteraction(baseUrl, SIGNING_SECRET, payload)).status).toBe(200);
      const replaced = await fake.waitFor((f) => f.message(CHANNEL, message.ts)?.text === 'approved' && f.message(CHANNEL, message.ts));
      expect(replaced.blocks).toBeUndefined();
    });

    it('signs as Slack documents', () => {
      // The worked example in https://docs.slack.dev/authentication/verifying-requests-from-slack
      const body =
        'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar' +
        '&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
        '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
        '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
      expect(signSlackRequest('8f742231b10e8888abcd99yyyzzz85a5', body, 1531420618)).toEqual({
        'X-Slack-Request-Timestamp': '1531420618',
        'X-Slack-Signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
      });
    });
  });

  describe('a real Bolt app over Socket Mode', () => {
    it('connects, receives a slash command envelope and acks it over the socket', async () => {
      const app = new App({
        token: BOT_TOKEN,
        appToken: APP_TOKEN,
        socketMode: true,
        clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
        logger,
      });
      apps.push(app);
      app.command('/scale', async ({ ack, client: web, command }) => {
        await ack({ text: 'on it' });
        await web.chat.postMessage({
          channel: command.channel_id,
          text: `scale ${command.text}?`,
          blocks: [section(`Scale ${command.text}?`), { type: 'actions', elements: [button('run_approve', 'Approve', 'run-1')] }],
        });
      });
      app.action('run_approve', async ({ ack, respond }) => {
        await ack();
        await respond({ replace_original: true, text: 'approved' });
      });
      await app.start();
      await fake.socket.connected();
      expect(fake.callsTo('apps.connections.open')[0]?.token).toBe(APP_TOKEN);

      const ack = await fake.socket.sendSlashCommand({
        text: 'api',
        user_id: USER,
        channel_id: CHANNEL,
        response_url: fake.newResponseUrl({ channel: CHANNEL, user: USER }),
      });
      expect(ack).toEqual({ envelope_id: fake.socket.envelopes[0]?.envelope.envelope_id, payload: { text: 'on it' } });
      expect(fake.socket.envelopes[0]?.envelope).toMatchObject({ type: 'slash_commands', accepts_response_payload: true });
      const message = await fake.waitFor((f) => f.messages(CHANNEL).find((m) => m.text === 'scale api?'));

      // The same payload builder as over HTTP, sent as an `interactive` envelope.
      const click = buildBlockActionsPayload({
        user: USER,
        channel: CHANNEL,
        message,
        action: { action_id: 'run_approve' },
        response_url: fake.newResponseUrl({ channel: CHANNEL, messageTs: message.ts, user: USER }),
      });
      expect((await fake.socket.sendInteraction(click)).payload).toEqual({});
      await fake.waitFor((f) => f.message(CHANNEL, message.ts)?.text === 'approved');
    });

    it('reconnects when Slack asks it to, through a fresh apps.connections.open', async () => {
      // A hand-built receiver, because App has no option for clientPingTimeout and the client waits
      // clientPingTimeout × attempts before reconnecting (5 s by default).
      const receiver = new SocketModeReceiver({
        appToken: APP_TOKEN,
        clientPingTimeout: 300,
        installerOptions: { clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } } },
        logger,
      });
      const app = new App({ receiver, token: BOT_TOKEN, clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } }, logger });
      apps.push(app);
      app.command('/scale', async ({ ack }) => ack());
      await app.start();
      await fake.socket.connected();

      fake.socket.requestDisconnect('refresh_requested');
      await fake.waitFor((f) => f.socket.totalConnections === 2 && f.socket.openConnections === 1);
      expect(fake.callsTo('apps.connections.open')).toHaveLength(2);
      const ack = await fake.socket.sendSlashCommand({ text: '', user_id: USER, channel_id: CHANNEL, response_url: fake.newResponseUrl() });
      expect(ack.envelope_id).toBe(fake.socket.envelopes[0]?.envelope.envelope_id);
    });

    it('rejects when the app never acks', async () => {
      const app = new App({
        token: BOT_TOKEN,
        appToken: APP_TOKEN,
        socketMode: true,
        clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
        logger,
      });
      apps.push(app);
      app.command('/scale', async () => {});
      await app.start();
      const error = await rejection(
        fake.socket.sendSlashCommand({ text: '', user_id: USER, channel_id: CHANNEL, response_url: fake.newResponseUrl() }, { timeoutMs: 100 }),
      );
      expect(error.message).toMatch(/no ack for slash_commands envelope .* within 100 ms/);
    });
  });
});
