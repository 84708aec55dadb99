// README promises on what the bot serves: `GET /health/ready` answers 503 with the problems when the database
// is not open, and `scalebot_breaches_resolved_total{severity}` counts resolved breaches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { watcherTestConfig } from '../helpers/watch-config.ts';

const TOKEN = 'am-webhook-token-promised';
let harness: TestBot;

function alert(status: 'firing' | 'resolved', alertname: string, severity: string, fingerprint: string) {
  return {
    status,
    labels: { alertname, instance: 'web-1:9100', severity },
    annotations: { summary: `${alertname} is ${status}` },
    startsAt: new Date(Date.now() - 600_000).toISOString(),
    endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
    fingerprint,
  };
}

async function post(status: 'firing' | 'resolved', alerts: ReturnType<typeof alert>[]) {
  const response = await fetch(`${harness.url}/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ version: '4', groupKey: '{}:{}', status, receiver: 'scalebot', alerts }),
  });
  expect(response.status).toBe(200);
}

async function metric(severity: string): Promise<number> {
  const text = await (await fetch(`${harness.url}/metrics`)).text();
  const match = new RegExp(`^scalebot_breaches_resolved_total\\{severity="${severity}"\\} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

beforeAll(async () => {
  harness = await startTestBot({ config: watcherTestConfig('  enabled: false\n  repeat: { immediate: 1s }'), env: { ALERTMANAGER_TOKEN: TOKEN } });
});
afterAll(async () => harness?.stop());

describe('scalebot_breaches_resolved_total', () => {
  it('counts each resolved breach once, by severity; a firing alert or a repeated resolve counts nothing', async () => {
    expect(await metric('immediate')).toBe(0);
    expect(await metric('soon')).toBe(0);
    await post('firing', [
      alert('firing', 'HighCPUUsage', 'page', 'f-cpu'),
      alert('firing', 'HighConcurrentUsers', 'warning', 'f-users'),
      alert('firing', 'HighAPILatency', 'high', 'f-p99'),
    ]);
    expect(await metric('immediate')).toBe(0);
    await post('resolved', [alert('resolved', 'HighCPUUsage', 'page', 'f-cpu'), alert('resolved', 'HighConcurrentUsers', 'warning', 'f-users')]);
    expect(await metric('immediate')).toBe(1);
    expect(await metric('soon')).toBe(1);
    // Alertmanager repeats a resolved notification: the breach is already resolved.
    await post('resolved', [alert('resolved', 'HighCPUUsage', 'page', 'f-cpu')]);
    expect(await metric('immediate')).toBe(1);
    await post('resolved', [alert('resolved', 'HighAPILatency', 'high', 'f-p99')]);
    expect(await metric('immediate')).toBe(2);
  });
});

describe('GET /health/ready', () => {
  it('answers 200 while the database is open, then 503 with the problem once it is closed; /health stays 200', async () => {
    const ready = await fetch(`${harness.url}/health/ready`);
    expect(ready.status).toBe(200);
    // The one replica on its SQLite file leads.
    expect(await ready.json()).toEqual({ status: 'ready', role: 'leader', problems: [] });
    expect(await (await fetch(`${harness.url}/health`)).json()).toEqual({ status: 'alive', role: 'leader' });

    harness.bot.database.sqlite.close();
    const notReady = await fetch(`${harness.url}/health/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'not ready', role: expect.stringMatching(/^(leader|follower)$/), problems: ['the database is closed'] });
    expect((await fetch(`${harness.url}/health`)).status).toBe(200);
  });
});
