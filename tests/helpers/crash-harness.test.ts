import { WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exactlyOnceProblems, labelsNotIn, pointsOf, startPointProxy, startSlackProxy, type ExpectedSlackMessage, type SlackProxy } from './crash/index.ts';
import { startFakeSlack, type FakeSlack } from './slack/index.ts';

// The crash-point harness itself, through a real WebClient: a kill "before" means Slack never saw the call,
// "after" means Slack acted on it and the caller never heard; calls made while the kill runs go nowhere.

const TOKEN = 'xoxb-crash-harness-0000';
const CHANNEL = 'C0HARNESS';
const silent = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => 'error' as never, setName() {} };

let fake: FakeSlack;
let proxy: SlackProxy;
let client: WebClient;

const post = (key: string, id: number, text = key) =>
  client.chat.postMessage({ channel: CHANNEL, text, metadata: { event_type: 'scalebot_message', event_payload: { outbox_id: id, key } } });

beforeEach(async () => {
  fake = await startFakeSlack();
  proxy = await startSlackProxy(fake);
  client = new WebClient(TOKEN, { slackApiUrl: proxy.apiUrl, retryConfig: { retries: 0 }, logger: silent, timeout: 5000 });
});

afterEach(async () => {
  await proxy.stop();
  await fake.close();
});

describe('the crash-point proxy in front of the fake Slack', () => {
  it('passes calls through and labels each by method and outbox key, counting occurrences', async () => {
    await client.auth.test();
    const first = await post('breach:1', 1);
    await post('breach:1:reminder:1700000000000', 2);
    await client.chat.update({ channel: CHANNEL, ts: first.ts!, text: 'edited' });
    await post('breach:1:reminder:1700000002000', 3);
    expect(proxy.calls.map((call) => [call.label, call.occurrence, call.fate])).toEqual([
      ['auth.test', 1, 'answered'],
      ['chat.postMessage breach:1', 1, 'answered'],
      ['chat.postMessage breach:1:reminder:*', 1, 'answered'],
      ['chat.update breach:1', 1, 'answered'],
      ['chat.postMessage breach:1:reminder:*', 2, 'answered'],
    ]);
    expect(fake.message(CHANNEL, first.ts!)?.text).toBe('edited');
    const points = pointsOf(proxy.calls, { occurrences: (_label, count) => (count > 1 ? [1, 2] : [1]), sides: ['after'] });
    expect(points.map((point) => `${point.label} #${point.occurrence}`)).toEqual([
      'auth.test #1',
      'chat.postMessage breach:1 #1',
      'chat.postMessage breach:1:reminder:* #1',
      'chat.postMessage breach:1:reminder:* #2',
      'chat.update breach:1 #1',
    ]);
    expect(labelsNotIn(proxy.calls.slice(0, 2), proxy.calls).map((entry) => entry.label)).toEqual([
      'chat.postMessage breach:1:reminder:*',
      'chat.update breach:1',
    ]);
  });

  it('kills before: the action runs while the call is held, Slack never sees it, the caller gets no answer', async () => {
    let postsSeenDuringAction = -1;
    proxy.at({ source: 'slack', label: 'chat.postMessage breach:1', occurrence: 1, when: 'before' }, () => {
      postsSeenDuringAction = fake.callsTo('chat.postMessage').length;
    });
    await expect(post('breach:1', 1)).rejects.toThrow();
    expect(postsSeenDuringAction).toBe(0);
    expect(fake.callsTo('chat.postMessage')).toHaveLength(0);
    expect(fake.messages(CHANNEL)).toHaveLength(0);
    expect(proxy.reached).toHaveLength(1);
    expect(proxy.armed).toHaveLength(0);
    // Only that occurrence: the next post goes through.
    await post('breach:1', 1);
    expect(fake.messages(CHANNEL)).toHaveLength(1);
    expect(proxy.calls.map((call) => call.fate)).toEqual(['cut before', 'answered']);
  });

  it('kills after: Slack has posted, the caller never hears, and calls made while the kill runs are dropped', async () => {
    let release!: () => void;
    const killing = new Promise<void>((resolve) => (release = resolve));
    proxy.at({ source: 'slack', label: 'chat.postMessage breach:1', occurrence: 1, when: 'after' }, () => killing);
    const first = post('breach:1', 1);
    await fake.waitFor((f) => f.messages(CHANNEL).length === 1);
    // The dying process's last call: not passed on.
    const late = post('breach:2', 2);
    await expect(late).rejects.toThrow();
    release();
    await expect(first).rejects.toThrow();
    expect(fake.messages(CHANNEL).map((message) => message.text)).toEqual(['breach:1']);
    expect(proxy.calls.map((call) => [call.label, call.fate, call.status])).toEqual([
      ['chat.postMessage breach:1', 'cut after', 200],
      ['chat.postMessage breach:2', 'dropped', undefined],
    ]);
  });

  it('refuses every call with a status while told to (a server that is down), then passes again', async () => {
    const prometheusLike = await startPointProxy({ source: 'other', target: fake.baseUrl });
    try {
      prometheusLike.refuse(503);
      expect((await fetch(`${prometheusLike.url}/api/auth.test`)).status).toBe(503);
      prometheusLike.refuse(null);
      expect((await fetch(`${prometheusLike.url}/api/auth.test`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      expect(prometheusLike.calls.map((call) => [call.label, call.occurrence, call.fate])).toEqual([
        ['GET /api/auth.test', 1, 'refused'],
        ['GET /api/auth.test', 2, 'answered'],
      ]);
      expect(() => prometheusLike.at({ source: 'slack', label: 'x', occurrence: 1, when: 'before' }, () => {})).toThrow(/not a point of the other proxy/);
    } finally {
      await prometheusLike.stop();
    }
  });
});

describe('exactlyOnceProblems', () => {
  const row = (id: number, dedupeKey: string, ts: string | null, text: string, parentId: number | null = null): ExpectedSlackMessage => ({
    id,
    dedupeKey,
    channel: CHANNEL,
    status: ts ? 'sent' : 'sending',
    ts,
    needsUpdate: false,
    parentId,
    payload: { text },
  });

  it('finds nothing wrong when each row is one message showing its payload, in its thread', async () => {
    const parent = await post('breach:1', 1, 'Scale now');
    const reply = await client.chat.postMessage({
      channel: CHANNEL,
      text: 'Resolved',
      thread_ts: parent.ts!,
      metadata: { event_type: 'scalebot_message', event_payload: { outbox_id: 2, key: 'breach:1:resolved' } },
    });
    expect(exactlyOnceProblems(fake, [row(1, 'breach:1', parent.ts!, 'Scale now'), row(2, 'breach:1:resolved', reply.ts!, 'Resolved', 1)], [CHANNEL])).toEqual(
      [],
    );
  });

  it('names a double post, a lost message, a stale edit and a reply out of its thread', async () => {
    const first = await post('breach:1', 1, 'Scale now');
    await post('breach:1', 1, 'Scale now');
    const reply = await post('breach:1:resolved', 3, 'Resolved');
    const problems = exactlyOnceProblems(
      fake,
      [row(1, 'breach:1', first.ts!, 'Resolved: Load'), row(2, 'blind:1', null, 'blind'), row(3, 'breach:1:resolved', reply.ts!, 'Resolved', 1)],
      [CHANNEL],
    );
    expect(problems).toEqual([
      'breach:1 (row 1) was posted 2 times',
      expect.stringMatching(/^breach:1 \(row 1\) shows 2 times in Slack/),
      'breach:1 (row 1) shows "Scale now" but should say "Resolved: Load"',
      'blind:1 (row 2) is sending, never delivered',
      expect.stringMatching(/^breach:1:resolved \(row 3\) is not in its parent's thread/),
    ]);
  });
});
