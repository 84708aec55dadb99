// README: "If Prometheus cannot be reached: one 'monitoring is blind since …' message, edited when it answers
// again. While blind, no breach is opened or resolved." Here Prometheus goes away and comes back at the same
// address while the bot keeps running on its own schedule (watch.interval), never restarted: the notice is
// edited and the watcher resumes, resolving the breach that ended while it was blind.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { freeLoopbackPort, startExporter, startPrometheus, waitForValue, type Exporter, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import type { FakeSlack } from '../helpers/slack/index.ts';
import { watcherTestConfig } from '../helpers/watch-config.ts';

const CHANNEL = 'C0ALERTS';

/**
 * The address the bot knows Prometheus by: a plain TCP relay to the real Prometheus. `cut()` closes the
 * listener and every connection (the bot sees "connection refused", as when Prometheus is down);
 * `restore()` listens on the same port again.
 */
async function startRelay(target: URL): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void>; stop(): Promise<void> }> {
  const port = await freeLoopbackPort();
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server) return resolve();
      server.close(() => resolve());
      server = null;
    });
  await listen();
  return { url: `http://127.0.0.1:${port}`, cut: close, restore: listen, stop: close };
}

let exporter: Exporter;
let prometheus: PrometheusFixture;
let relay: Awaited<ReturnType<typeof startRelay>>;
let harness: TestBot;
let fake: FakeSlack;

beforeAll(async () => {
  exporter = await startExporter();
  exporter.set('test_load', { instance: 'web-1' }, 0.9);
  exporter.set('test_users', {}, 100);
  prometheus = await startPrometheus({ scrapeTargets: [exporter.target], scrapeIntervalSeconds: 1 });
  relay = await startRelay(new URL(prometheus.url));
  await waitForValue(prometheus, 'test_load', (value) => value === 0.9, 20_000);
  harness = await startTestBot({ prometheusUrl: relay.url, config: watcherTestConfig('  interval: 1s\n  resolve_after: 1s') });
  fake = harness.fake;
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  await relay?.stop();
  await prometheus?.stop();
  await exporter?.stop();
});

const blindNotices = () => fake.messages(CHANNEL).filter((message) => /Monitoring (is|was) blind/.test(message.text));
const breachMessages = () =>
  fake.messages(CHANNEL).filter((message) => (!message.thread_ts || message.thread_ts === message.ts) && !/Monitoring (is|was) blind/.test(message.text));

async function evaluations(outcome: 'ok' | 'blind'): Promise<number> {
  const text = await (await fetch(`${harness.url}/metrics`)).text();
  return Number(new RegExp(`scalebot_watcher_evaluations_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

/** Polls an async condition (the fake's waitFor takes synchronous ones). */
async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Prometheus that comes back while the bot keeps running', () => {
  it('edits the one blind notice, and the watcher resumes: the breach that ended while blind resolves', async () => {
    const breach = await fake.waitFor(() => breachMessages()[0], { timeoutMs: 20_000 });
    expect(breach.text).not.toMatch(/Resolved/);

    await relay.cut();
    const notice = await fake.waitFor(() => blindNotices()[0], { timeoutMs: 15_000 });
    expect(notice.text).toMatch(/Monitoring is blind/);

    // The load drops while the bot cannot see it: Prometheus has the new value, the bot resolves nothing.
    exporter.set('test_load', { instance: 'web-1' }, 0.2);
    await waitForValue(prometheus, 'test_load', (value) => value === 0.2, 20_000);
    const blindSoFar = await evaluations('blind');
    await until(async () => (await evaluations('blind')) >= blindSoFar + 3, 15_000, 'three blind cycles');
    expect(fake.message(CHANNEL, breach.ts)!.text).not.toMatch(/Resolved/);
    expect(blindNotices()).toHaveLength(1);

    const okBefore = await evaluations('ok');
    await relay.restore();
    const edited = await fake.waitFor(
      () =>
        /Monitoring was blind from .* Prometheus answers again/.test(fake.message(CHANNEL, notice.ts)!.text) ? fake.message(CHANNEL, notice.ts) : undefined,
      {
        timeoutMs: 15_000,
      },
    );
    expect(edited!.ts).toBe(notice.ts);
    const resolved = await fake.waitFor(() => (/Resolved/.test(fake.message(CHANNEL, breach.ts)!.text) ? fake.message(CHANNEL, breach.ts) : undefined), {
      timeoutMs: 20_000,
    });
    expect(resolved!.ts).toBe(breach.ts);
    expect(await evaluations('ok')).toBeGreaterThan(okBefore);
    expect(blindNotices()).toHaveLength(1);
    expect(breachMessages()).toHaveLength(1);
    expect(
      fake
        .messages(CHANNEL)
        .filter((message) => message.thread_ts === breach.ts && message.ts !== breach.ts)
        .map((message) => message.text),
    ).toEqual([expect.stringMatching(/Resolved after .*Load/)]);
  }, 90_000);
});
