import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDecisions } from '../../db/decision-log.ts';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { watcherTestConfig } from '../helpers/watch-config.ts';

const CHANNEL = 'C0ALERTS';
const TOKEN = 'am-webhook-token-1234';
let harness: TestBot;

function payload(status: 'firing' | 'resolved', annotations: Record<string, string> = {}) {
  return {
    version: '4',
    groupKey: '{}:{alertname="DatabaseConnectionsHigh"}',
    status,
    receiver: 'scalebot',
    groupLabels: { alertname: 'DatabaseConnectionsHigh' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    alerts: [
      {
        status,
        labels: { alertname: 'DatabaseConnectionsHigh', instance: 'db-1:9187', severity: 'critical' },
        annotations: { summary: 'Database connections at 172 of 200', ...annotations },
        startsAt: new Date(Date.now() - 600_000).toISOString(),
        endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.example:9090/graph',
        fingerprint: 'c0ffee1234',
      },
    ],
  };
}

async function post(body: unknown, token: string | null = TOKEN) {
  const response = await fetch(`${harness.url}/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

// This bot has no Prometheus: its "monitoring is blind" notice is not what these tests count.
const topLevel = () =>
  harness.fake.messages(CHANNEL).filter((message) => (!message.thread_ts || message.thread_ts === message.ts) && !message.text.includes('Monitoring is blind'));

beforeAll(async () => {
  harness = await startTestBot({
    config: watcherTestConfig('  enabled: false\n  repeat: { immediate: 1s }'),
    env: { ALERTMANAGER_TOKEN: TOKEN },
  });
});
afterAll(async () => harness?.stop());

describe('POST /alertmanager', () => {
  it('refuses a missing or wrong token and a body that is not a webhook payload, changing nothing', async () => {
    expect((await post(payload('firing'), null)).status).toBe(401);
    expect((await post(payload('firing'), 'wrong')).status).toBe(401);
    const junk = await post('{"hello": "world"}');
    expect(junk.status).toBe(400);
    expect(String(junk.json.error)).toContain('not an Alertmanager webhook payload');
    expect((await post('not json')).status).toBe(400);
    expect(topLevel()).toHaveLength(0);
  });

  it('posts one message per firing alert, with the guide\'s advice and the buttons', async () => {
    const answer = await post(payload('firing'));
    expect(answer).toMatchObject({ status: 200, json: { ok: true, opened: 1 } });
    const [message] = topLevel();
    const text = JSON.stringify(message?.blocks);
    expect(text).toContain('Scale now: DatabaseConnectionsHigh');
    expect(text).toContain('Database connections at 172 of 200');
    expect(text).toContain('Add PgBouncer or scale the database.');
    expect(text).toContain('alert_ack');
    expect(listDecisions(harness.bot.deps.db, { kinds: ['breach_opened'] })[0]).toMatchObject({ actor: 'alertmanager', subject: 'DatabaseConnectionsHigh' });
  });

  it('edits the same message when Alertmanager repeats the alert, and reminds in its thread', async () => {
    const answer = await post(payload('firing', { summary: 'Database connections at 181 of 200' }));
    expect(answer.json).toMatchObject({ opened: 0, updated: 1 });
    expect(topLevel()).toHaveLength(1);
    const ts = topLevel()[0]!.ts;
    expect(JSON.stringify(harness.fake.message(CHANNEL, ts)?.blocks)).toContain('181 of 200');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await harness.bot.watcher.runCycle();
    expect(harness.fake.messages(CHANNEL).some((message) => message.thread_ts === ts && message.text.includes('Still breached'))).toBe(true);
  });

  it('resolves it in place and in the thread when Alertmanager says resolved', async () => {
    const ts = topLevel()[0]!.ts;
    expect((await post(payload('resolved'))).json).toMatchObject({ resolved: 1 });
    expect(JSON.stringify(harness.fake.message(CHANNEL, ts)?.blocks)).toContain('Resolved: DatabaseConnectionsHigh');
    expect(harness.fake.messages(CHANNEL).some((message) => message.thread_ts === ts && message.text.includes('Resolved after'))).toBe(true);
    // a repeated "resolved" changes nothing
    expect((await post(payload('resolved'))).json).toMatchObject({ resolved: 0, ignored: 1 });
    expect(topLevel(), JSON.stringify(harness.fake.messages(CHANNEL).map((m) => [m.ts, m.thread_ts, m.text]))).toHaveLength(1);
  });
});
