// The watcher against a Slack that pushes back (rate limits per tier with Retry-After, 5xx and lost answers,
// some carried out): with the bot's production client settings, every breached series still gets exactly
// one message, its edits and thread replies arrive, and the outbox ends empty.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { startExporter, startPrometheus, waitForValue, type Exporter, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { startFakeSlack, type FakeSlack } from '../helpers/slack/index.ts';
import { duplicateKeys, LONG, loadSummary, lostOrStale, messagesByKey, outboxBacklog, PRODUCTION_CLIENT_ENV, pushyLoad } from '../helpers/slack-load.ts';
import { watcherTestConfig } from '../helpers/watch-config.ts';

const CHANNEL = 'C0ALERTS';
const SERIES = LONG ? 24 : 5;
const SEED = Number(process.env.SCALEBOT_SEED ?? 7);

let exporter: Exporter;
let prometheus: PrometheusFixture;
let fake: FakeSlack;
let harness: TestBot;

const instances = Array.from({ length: SERIES }, (_, i) => `web-${i + 1}`);
const breachRows = () =>
  harness.bot.database.sqlite.prepare("SELECT id, key, status, message_id FROM breaches WHERE trigger_id = 'load' ORDER BY id").all() as Array<{
    id: number;
    key: string;
    status: string;
  }>;

beforeAll(async () => {
  exporter = await startExporter();
  for (const instance of instances) exporter.set('test_load', { instance }, 0.2);
  exporter.set('test_users', {}, 100);
  prometheus = await startPrometheus({ scrapeTargets: [exporter.target], scrapeIntervalSeconds: 1 });
  // The watcher runs every 2 s here, 30 times its default 60 s, and edits each open breach's message every
  // cycle ("held for …"); the per-app tiers are compressed alike. chat.postMessage keeps its real one a
  // second per channel. A timeout costs the outbox its client's 10 s: rare in the
  // quick share.
  fake = await startFakeSlack({
    load: pushyLoad(SEED, {
      members: [CHANNEL],
      timeoutRate: LONG ? 0.02 : 0.01,
      rateScale: 1,
      rateLimits: {
        'chat.update': { perMinute: 50 * 30, burst: 10 },
        'conversations.history': { perMinute: 50 * 30, burst: 10 },
        'conversations.replies': { perMinute: 50 * 30, burst: 10 },
      },
    }),
  });
  harness = await startTestBot({
    prometheusUrl: prometheus.url,
    fake,
    env: PRODUCTION_CLIENT_ENV,
    config: watcherTestConfig(`  enabled: true
  interval: 2s
  resolve_after: 2s
  repeat: { immediate: 5s }`),
  });
  await waitForValue(prometheus, 'count(test_load)', (value) => value === SERIES, 20_000);
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  await fake?.close();
  await prometheus?.stop();
  await exporter?.stop();
});

describe('the watcher when Slack pushes back', () => {
  it(
    `posts one message per breached series (${SERIES}), replies in their threads, resolves them, and loses nothing`,
    async () => {
      for (const instance of instances) exporter.set('test_load', { instance }, 0.9);
      await waitForValue(prometheus, 'min(test_load)', (value) => value === 0.9, 15_000);
      // Every series opens a breach and its message reaches Slack despite the pushback.
      await fake.waitFor(() => breachRows().length === SERIES && breachRows().every((row) => messagesByKey(fake, CHANNEL).has(`breach:${row.id}`)), {
        timeoutMs: LONG ? 240_000 : 45_000,
        intervalMs: 200,
      });
      // Held breached long enough for reminders in the threads, then back under the threshold.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      for (const instance of instances) exporter.set('test_load', { instance }, 0.2);
      await fake
        .waitFor(() => breachRows().every((row) => row.status === 'resolved') && outboxBacklog(harness.bot.database.sqlite).length === 0, {
          timeoutMs: LONG ? 240_000 : 45_000,
          intervalMs: 200,
        })
        .catch((error: Error) => {
          const breaches = breachRows();
          const backlog = outboxBacklog(harness.bot.database.sqlite).map((row) => [row.dedupe_key, row.status, row.needs_update, row.last_error]);
          throw new Error(`${error.message.split('\n')[0]}\nbreaches ${JSON.stringify(breaches)}\nbacklog ${JSON.stringify(backlog)}\n${loadSummary(fake)}`);
        });
      await harness.bot.watcher.stop();

      const summary = loadSummary(fake);
      const breaches = breachRows();
      expect(breaches, summary).toHaveLength(SERIES);
      expect(new Set(breaches.map((row) => row.key)).size).toBe(SERIES);
      const byKey = messagesByKey(fake, CHANNEL);
      for (const breach of breaches) expect(byKey.get(`breach:${breach.id}`), `breach ${breach.id}; ${summary}`).toBe(1);
      expect(duplicateKeys(fake, CHANNEL), summary).toEqual([]);
      expect(lostOrStale(harness.bot.database.sqlite, fake), summary).toEqual([]);
      for (const breach of breaches) {
        const ts = [...fake.messages(CHANNEL)].find((m) => m.metadata?.event_payload?.key === `breach:${breach.id}`)!.ts;
        const thread = fake.messages(CHANNEL).filter((m) => m.thread_ts === ts && m.ts !== ts);
        expect(
          thread.some((m) => m.text.includes('Resolved after')),
          `breach ${breach.id}`,
        ).toBe(true);
      }
      // The pushback really happened, or this test proves nothing.
      const counts = fake.loadCounts;
      expect(counts.rateLimited, summary).toBeGreaterThan(0);
      expect(counts.errors + counts.drops + counts.timeouts, summary).toBeGreaterThan(0);
      if (LONG) console.info(`slack-load watcher: ${SERIES} series, ${summary}`);
    },
    LONG ? 600_000 : 110_000,
  );
});
