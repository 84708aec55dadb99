import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertmanagerRoute, isLoopbackHost } from '../../bot/alertmanager-route.ts';
import { listDecisions } from '../../db/decision-log.ts';
import { ALERTMANAGER_LIMITS } from '../../integrations/alertmanager.ts';
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

// The bot's clock runs with real time plus what a test skips: "a second later" for the 1 s reminder without a sleep.
let skippedMs = 0;
const skip = (ms: number) => {
  skippedMs += ms;
};

beforeAll(async () => {
  harness = await startTestBot({
    clock: () => new Date(Date.now() + skippedMs),
    config: watcherTestConfig('  enabled: false\n  repeat: { immediate: 1s }'),
    env: { ALERTMANAGER_TOKEN: TOKEN },
  });
});
afterAll(async () => harness?.stop());

// One bot for the file: the firing, repeated and resolved tests are one alert's life, in order; the others
// post their own alerts (their own fingerprints) and count only those.
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

  it("posts one message per firing alert, with the guide's advice and the buttons", async () => {
    const answer = await post(payload('firing'));
    expect(answer).toMatchObject({ status: 200, json: { ok: true, opened: 1 } });
    const [message] = topLevel();
    const text = JSON.stringify(message?.blocks);
    expect(text).toContain('Scale now: DatabaseConnectionsHigh');
    expect(text).toContain('Database connections at 172 of 200');
    expect(text).toContain('Add PgBouncer or scale the database.');
    expect(text).toContain('alert_ack');
    expect(listDecisions(harness.bot.database.db, { kinds: ['breach_opened'] })[0]).toMatchObject({
      actor: 'alertmanager',
      subject: 'DatabaseConnectionsHigh',
    });
  });

  it('edits the same message when Alertmanager repeats the alert, and reminds in its thread', async () => {
    const answer = await post(payload('firing', { summary: 'Database connections at 181 of 200' }));
    expect(answer.json).toMatchObject({ opened: 0, updated: 1 });
    expect(topLevel()).toHaveLength(1);
    const ts = topLevel()[0]!.ts;
    expect(JSON.stringify(harness.fake.message(CHANNEL, ts)?.blocks)).toContain('181 of 200');
    skip(1100);
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

const breachCount = () => (harness.bot.database.sqlite.prepare('SELECT count(*) AS n FROM breaches').get() as { n: number }).n;

function alert(name: string, extra: Record<string, unknown> = {}) {
  return {
    status: 'firing',
    labels: { alertname: name, instance: 'app-1:9100' },
    annotations: {},
    startsAt: new Date(Date.now() - 60_000).toISOString(),
    endsAt: '0001-01-01T00:00:00Z',
    ...extra,
  };
}
const body = (alerts: unknown[]) => ({ ...payload('firing'), alerts });

describe('POST /alertmanager refuses what Alertmanager does not send', () => {
  it("names the alert and the field that is wrong, and opens none of the request's alerts", async () => {
    const before = breachCount();
    const cases: Array<[unknown, string]> = [
      [body([alert('Fine'), { ...alert('NoName'), labels: { instance: 'x' } }]), 'alerts[1].labels: has no alertname'],
      [body([alert('Fine'), alert('Fine2'), alert('BadTime', { startsAt: '2026-11-28 14:00' })]), 'alerts[2].startsAt: not an RFC 3339 time'],
      [body([alert('BadEnd', { endsAt: 'never' })]), 'alerts[0].endsAt: not an RFC 3339 time'],
      [
        body([{ ...alert('Many'), labels: { alertname: 'Many', ...Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`l${i}`, 'v'])) } }]),
        'alerts[0].labels: more than 64 labels',
      ],
      [body([{ ...alert('NotText'), labels: { alertname: 'NotText', port: 9100 } }]), 'alerts[0].labels.port: a label value is not a string'],
      [{ ...body([alert('Old')]), version: '3' }, 'version: is not "4"'],
      [{ ...body([alert('Mixed')]), status: 'resolved' }, 'status: is "resolved" but alerts[0] is firing'],
    ];
    for (const [sent, reason] of cases) {
      const answer = await post(sent);
      expect(answer.status, reason).toBe(400);
      expect(String(answer.json.error)).toContain(reason);
    }
    expect(breachCount()).toBe(before);
    const refusals = listDecisions(harness.bot.database.db, { kinds: ['alertmanager_refused'], limit: 100 });
    expect(refusals.length).toBeGreaterThanOrEqual(cases.length);
    expect(refusals[0]).toMatchObject({ actor: 'alertmanager', outcome: 'refused', detail: { status: 400 } });
  });

  it(`takes ${ALERTMANAGER_LIMITS.firingAlerts} firing alerts in one request and refuses one more with 413, opening nothing`, async () => {
    const before = breachCount();
    const messagesBefore = topLevel().length;
    const tooMany = Array.from({ length: ALERTMANAGER_LIMITS.firingAlerts + 1 }, (_, i) => alert('Flood', { fingerprint: `flood-${i}` }));
    const refused = await post(body(tooMany));
    expect(refused.status).toBe(413);
    expect(String(refused.json.error)).toContain(
      `${ALERTMANAGER_LIMITS.firingAlerts + 1} firing alerts in one request; this receiver takes at most ${ALERTMANAGER_LIMITS.firingAlerts}`,
    );
    expect(String(refused.json.error)).toContain('max_alerts');
    expect(breachCount()).toBe(before);
    expect(topLevel()).toHaveLength(messagesBefore);
    const taken = await post(body(tooMany.slice(1)));
    expect(taken).toMatchObject({ status: 200, json: { opened: ALERTMANAGER_LIMITS.firingAlerts } });
    expect(breachCount()).toBe(before + ALERTMANAGER_LIMITS.firingAlerts);
    // Resolving them all at once is not capped: resolved alerts open nothing.
    const resolved = tooMany.slice(1).map((one) => ({ ...one, status: 'resolved', endsAt: new Date().toISOString() }));
    expect((await post({ ...body(resolved), status: 'resolved' })).json).toMatchObject({ resolved: ALERTMANAGER_LIMITS.firingAlerts });
  }, 60_000);

  it('answers a body over 1 MiB with 413', async () => {
    const answer = await post(JSON.stringify(body([alert('Big', { annotations: { summary: 'x'.repeat(ALERTMANAGER_LIMITS.bodyBytes) } })])));
    expect(answer.status).toBe(413);
    expect(String(answer.json.error)).toContain('larger than 1 MiB');
  });

  it('escapes alert text in the fallback, the reminder and the resolved reply: no broadcast, mention or disguised link', async () => {
    const hostile = {
      ...alert('<!channel> DiskFull <@U0ADMIN01>', { fingerprint: 'hostile-1' }),
      labels: { alertname: '<!channel> DiskFull <@U0ADMIN01>', instance: '<http://evil.example|https://bank.example>' },
      annotations: { summary: 'call <!here> & <mailto:x@evil.example|support>', value: '<!everyone>' },
    };
    expect((await post(body([hostile]))).json).toMatchObject({ opened: 1 });
    skip(1100);
    await harness.bot.watcher.runCycle();
    expect((await post({ ...body([{ ...hostile, status: 'resolved', endsAt: new Date().toISOString() }]), status: 'resolved' })).json).toMatchObject({
      resolved: 1,
    });
    const parent = harness.fake.messages(CHANNEL).find((message) => message.text.includes('DiskFull'))!;
    const thread = harness.fake.messages(CHANNEL).filter((message) => message.thread_ts === parent.ts && message.ts !== parent.ts);
    expect(thread.some((message) => message.text.includes('Still breached'))).toBe(true);
    expect(thread.some((message) => message.text.includes('Resolved after'))).toBe(true);
    for (const message of [parent, ...thread]) {
      const everything = JSON.stringify([message.text, message.blocks ?? []]).replace(/<!date\^[^>]*>/g, '');
      expect(everything).not.toMatch(/<[!@#]|<http|<mailto/);
    }
    expect(parent.text).toContain('&lt;!channel&gt; DiskFull &lt;@U0ADMIN01&gt;');
  });

  it('checks the token in constant time and refuses an empty, a shorter and a longer one', async () => {
    for (const token of ['', TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase()]) {
      const response = await fetch(`${harness.url}/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify(payload('firing')),
      });
      expect(response.status, token).toBe(401);
    }
  });
});

describe('the Alertmanager webhook beyond loopback', () => {
  it('knows loopback hosts from the rest', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '', '10.0.0.5', '192.168.1.2', 'scalebot.example', '128.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
  });

  it('refuses every request with 403 and says to set ALERTMANAGER_TOKEN when none is set', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write: (chunk, _encoding, done) => {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    // The route as main.ts builds it for HOST=0.0.0.0, served here on loopback only.
    const route = createAlertmanagerRoute({ watcher: harness.bot.watcher, logger, clock: () => new Date(), token: null, enabled: true, host: '0.0.0.0' });
    const server: Server = createServer((request, response) => void route(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const before = breachCount();
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body([alert('Open door', { fingerprint: 'open-door' })])),
      });
      expect(response.status).toBe(403);
      const answer = (await response.json()) as { error: string };
      expect(answer.error).toContain('ALERTMANAGER_TOKEN is not set and the bot listens beyond loopback (HOST=0.0.0.0)');
      expect(answer.error).toContain('Set ALERTMANAGER_TOKEN');
      expect(breachCount()).toBe(before);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('takes alerts without a token on loopback', async () => {
    const bot = await startTestBot({ config: watcherTestConfig('  enabled: false') });
    try {
      const response = await fetch(`${bot.url}/alertmanager`, { method: 'POST', body: JSON.stringify(payload('firing')) });
      expect(response.status).toBe(200);
    } finally {
      await bot.stop();
    }
  });
});
