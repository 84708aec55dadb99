// The fake's load mode itself, through Slack's own client: off by default, 429 with Retry-After per tier,
// not_in_channel outside `members`, the same pushback for the same seed, and lost answers that were carried out.
import { WebClient } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack, type SlackLoadOptions } from '../helpers/slack/index.ts';

const TOKEN = 'xoxb-load-test';
const open: FakeSlack[] = [];
afterEach(async () => {
  for (const fake of open.splice(0)) await fake.close();
});

async function fakeWith(load?: SlackLoadOptions) {
  const fake = await startFakeSlack(load ? { load } : {});
  open.push(fake);
  const client = new WebClient(TOKEN, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, timeout: 2_000 });
  return { fake, client };
}

async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (caught) {
    const error = caught as { code?: string; retryAfter?: number; data?: { error?: string }; statusCode?: number };
    if (error.code === 'slack_webapi_rate_limited_error') return `429 retry-after ${error.retryAfter}`;
    return error.data?.error ?? error.statusCode?.toString() ?? error.code ?? 'error';
  }
}

describe('the fake Slack in load mode', () => {
  it('pushes back on nothing when load mode is off', async () => {
    const { fake, client } = await fakeWith();
    for (let i = 0; i < 30; i += 1) expect(await outcome(client.chat.postMessage({ channel: 'C0ANY', text: `m${i}` }))).toBe('ok');
    expect(fake.loadCounts).toEqual({ rateLimited: 0, errors: 0, timeouts: 0, drops: 0, notInChannel: 0 });
  });

  it("answers 429 with Retry-After once a tier's burst is spent, per channel for chat.postMessage", async () => {
    const { fake, client } = await fakeWith({ rateLimits: true });
    const first = [];
    for (let i = 0; i < 6; i += 1) first.push(await outcome(client.chat.postMessage({ channel: 'C0ONE', text: `m${i}` })));
    expect(first).toEqual(['ok', 'ok', 'ok', 'ok', '429 retry-after 1', '429 retry-after 1']);
    expect(await outcome(client.chat.postMessage({ channel: 'C0TWO', text: 'other channel' }))).toBe('ok');
    expect(fake.messages('C0ONE')).toHaveLength(4);
    const groups = [];
    for (let i = 0; i < 6; i += 1) groups.push(await outcome(client.usergroups.list()));
    expect(groups).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', '429 retry-after 3']);
  });

  it('refuses a channel the bot was not invited to with not_in_channel, and what Slack refuses with its errors', async () => {
    const { client } = await fakeWith({ members: ['C0IN'] });
    expect(await outcome(client.chat.postMessage({ channel: 'C0OUT', text: 'hi' }))).toBe('not_in_channel');
    expect(await outcome(client.conversations.history({ channel: 'C0OUT' }))).toBe('not_in_channel');
    expect(await outcome(client.chat.postMessage({ channel: 'C0IN', text: 'x'.repeat(40_001) }))).toBe('msg_too_long');
    expect(
      await outcome(client.chat.postMessage({ channel: 'C0IN', text: 'b', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'y'.repeat(3001) } }] })),
    ).toBe('invalid_blocks');
    expect(await outcome(client.chat.postMessage({ channel: 'C0IN', text: 'fine' }))).toBe('ok');
  });

  it('gives the same pushback for the same seed, and some failed calls were carried out all the same', async () => {
    const run = async (seed: number) => {
      const { fake, client } = await fakeWith({ seed, errorRate: 0.2, dropRate: 0.2 });
      const outcomes = [];
      for (let i = 0; i < 40; i += 1) outcomes.push(await outcome(client.chat.postMessage({ channel: 'C0SEED', text: `m${i}` })));
      const failedButPosted = fake.callsTo('chat.postMessage').filter((call) => call.applied && call.response?.status !== 200).length;
      return { outcomes, failedButPosted, posted: fake.messages('C0SEED').length };
    };
    const a = await run(42);
    expect(await run(42)).toEqual(a);
    expect(await run(43)).not.toEqual(a);
    expect(a.outcomes.filter((o) => o !== 'ok').length).toBeGreaterThan(4);
    expect(a.failedButPosted).toBeGreaterThan(0);
    expect(a.posted).toBe(a.outcomes.filter((o) => o === 'ok').length + a.failedButPosted);
  });
});
