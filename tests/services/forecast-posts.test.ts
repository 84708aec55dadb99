import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogLevel, WebClient } from '@slack/web-api';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import type { Config } from '../../core/config/index.ts';
import { openDatabase } from '../../db/client.ts';
import { createSqliteStorage } from '../../db/storage.ts';
import { scenario, startPrometheus, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { createPrometheus } from '../../integrations/prometheus.ts';
import { slackSender } from '../../integrations/slack-upload.ts';
import { createForecastPoster, forecastPostKey, isoWeek } from '../../services/forecast-posts.ts';
import { createOutboxDeliverer } from '../../services/outbox.ts';
import { startFakeSlack, type FakeSlack } from '../helpers/slack/index.ts';

// Forecast posts from the watcher's cycle, against a real Prometheus holding eight days of history (4-minute
// samples, backfilled: closer than the 5 min Prometheus looks back for an instant) and the fake Slack: a
// growing trigger is posted once per ISO week however many cycles, restarts and racing posters there are; a
// flat one, one with a breached series, and a bot with watch.forecasts off post nothing.

const CHANNEL = 'C0ALERTS';
const DAY = 86_400;
/** Monday 2026-11-30 02:00 UTC, two hours into ISO week 49: the history's last sample. */
const NOW = Date.UTC(2026, 10, 30, 2, 0) / 1000;
const FORECAST_TRIGGERS = ['concurrent_users', 'daily_active_users', 'db_size'];
const logger = pino({ level: 'silent' });

let prometheus: PrometheusFixture;
let fake: FakeSlack;
let dir: string;

function configWith(forecasts: boolean): Config {
  const others = loadConfig()
    .triggers.map((trigger) => trigger.id)
    .filter((id) => !FORECAST_TRIGGERS.includes(id));
  const file = join(dir, `config-${forecasts}.yaml`);
  const disabled = others.map((id) => `  - { id: ${id}, enabled: false }`).join('\n');
  writeFileSync(file, `slack:\n  alerts_channel: ${CHANNEL}\nwatch:\n  forecasts: ${forecasts}\ntriggers:\n${disabled}\n`);
  return loadConfig({ file });
}

function slack() {
  const web = new WebClient('xoxb-test-forecast', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
  return slackSender(web, { timeoutMs: 10_000 });
}

/** A bot process's share of it: its own connection to the SQLite file, its own deliverer and poster. */
function startProcess(file: string, config: Config) {
  const database = openDatabase(file);
  const storage = createSqliteStorage(database);
  const clock = () => new Date(NOW * 1000);
  const deliver = createOutboxDeliverer(storage, slack(), clock, logger);
  const poster = createForecastPoster({
    storage,
    config,
    prometheus: createPrometheus({ url: prometheus.url, timeoutMs: 10_000 }),
    deliver,
    clock,
    logger,
  });
  return { storage, poster, close: () => database.close() };
}

const forecastPosts = (channel = CHANNEL) => fake.messages(channel).filter((message) => message.text.startsWith('📈'));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scalebot-forecast-posts-'));
  const history = scenario({ now: NOW, start: NOW - 8 * DAY, stepSeconds: 240 })
    // 400 now, +100 in 9 days, with a daily swing of ±15: crosses 500 within the 14 days of warn_within.
    .concurrentUsers('app-1', (t) => 400 + (100 / 9) * ((t - NOW) / DAY) + 15 * Math.sin((2 * Math.PI * t) / DAY))
    // Flat far below its 2,000.
    .dailyActiveUsers('app-1', 1000)
    // One database already past 20 GB, the other growing toward it: the trigger is breached, not "ok but growing".
    .dbSize('db-1', 21e9)
    .dbSize('db-2', (t) => 19e9 + (1e9 / 5) * ((t - NOW) / DAY));
  prometheus = await startPrometheus({ openMetrics: history.toOpenMetrics() });
  fake = await startFakeSlack();
}, 120_000);

afterAll(async () => {
  await fake?.close();
  await prometheus?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('isoWeek', () => {
  it('numbers weeks as ISO 8601 does, across year ends', () => {
    expect(isoWeek(new Date('2026-11-29T23:59:59Z'))).toBe('2026-W48'); // a Sunday
    expect(isoWeek(new Date('2026-11-30T00:00:00Z'))).toBe('2026-W49'); // the Monday after
    expect(isoWeek(new Date('2026-12-31T12:00:00Z'))).toBe('2026-W53'); // 2026 has 53 weeks (it starts on a Thursday)
    expect(isoWeek(new Date('2027-01-03T12:00:00Z'))).toBe('2026-W53');
    expect(isoWeek(new Date('2027-01-04T00:00:00Z'))).toBe('2027-W01');
    expect(isoWeek(new Date('2024-12-30T00:00:00Z'))).toBe('2025-W01');
  });
});

describe('forecast posts', () => {
  it('posts a growing trigger once per ISO week across cycles and restarts; never the flat or the breached one', async () => {
    const config = configWith(true);
    const file = join(dir, 'weeks.db');
    const at = (hoursBeforeNow: number) => new Date((NOW - hoursBeforeNow * 3600) * 1000);
    let process = startProcess(file, config);
    const summaries = [];
    // Sunday evening (week 48) into Monday (week 49), a cycle every half hour, restarting twice.
    for (const hours of [6, 5.5, 5, 4, 3.5, 3, 2.5, 2, 1.5, 1, 0.5, 0]) {
      if (hours === 3 || hours === 1) {
        process.close();
        process = startProcess(file, config);
      }
      summaries.push(await process.poster.postDue(at(hours)));
    }
    expect(summaries.filter((summary) => summary.posted > 0)).toHaveLength(2);
    // Within the hour after an ask it does not ask again (a restart forgets that, and asks once more).
    expect(summaries[1]).toEqual({ asked: false, posted: 0 });

    const posts = forecastPosts();
    expect(posts.map((post) => post.text)).toEqual([
      expect.stringMatching(/^📈 Concurrent users is forecast to cross 500 in ~\d+ days \(Dec \d+\) at the current trend \(.+\)\.$/),
      expect.stringMatching(/^📈 Concurrent users is forecast to cross 500 in ~\d+ days \(Dec \d+\) at the current trend \(.+\)\.$/),
    ]);
    for (const post of posts) {
      const blocks = JSON.stringify(post.blocks);
      expect(blocks).toContain('Forecast: Concurrent users');
      expect(blocks).toContain('/scale plan');
      // Not a breach: no Acknowledge or Snooze, no buttons at all.
      expect(blocks).not.toContain('"actions"');
      expect(blocks).not.toContain('Acknowledge');
    }
    for (const week of ['2026-W48', '2026-W49']) {
      expect(await process.storage.outbox.getByKey(forecastPostKey('concurrent_users', week))).toMatchObject({ status: 'sent' });
    }
    for (const quiet of ['daily_active_users', 'db_size']) {
      expect(await process.storage.outbox.getByKey(forecastPostKey(quiet, '2026-W49'))).toBeUndefined();
    }
    const decisions = await process.storage.decisions.list({ kinds: ['forecast_posted'] });
    expect(decisions.map((decision) => [decision.subject, decision.detail.week])).toEqual([
      ['concurrent_users', '2026-W49'],
      ['concurrent_users', '2026-W48'],
    ]);
    process.close();
  }, 120_000);

  it('posts at most once per trigger per week whatever the cycles, restarts and racing posters (generated)', async () => {
    const config = configWith(true);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        // Cycles over the last 30 hours (both weeks), in order; some start a new process, some race a second poster.
        fc.array(fc.record({ minutesBeforeNow: fc.integer({ min: 0, max: 30 * 60 }), restart: fc.boolean(), race: fc.boolean() }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (cycles) => {
          run += 1;
          const file = join(dir, `generated-${run}.db`);
          const before = new Set(forecastPosts().map((post) => post.ts));
          let process = startProcess(file, config);
          const extra: Array<ReturnType<typeof startProcess>> = [];
          const times = cycles.map((cycle) => cycle.minutesBeforeNow).sort((a, b) => b - a);
          let lastAskedAt: number | null = null;
          const weeksAsked = new Set<string>();
          for (const [index, minutes] of times.entries()) {
            const now = new Date((NOW - minutes * 60) * 1000);
            if (cycles[index]!.restart) {
              process.close();
              process = startProcess(file, config);
              lastAskedAt = null;
            }
            if (cycles[index]!.race) {
              const rival = startProcess(file, config);
              extra.push(rival);
              await Promise.all([process.poster.postDue(now), rival.poster.postDue(now)]);
            } else {
              const summary = await process.poster.postDue(now);
              if (summary.asked) lastAskedAt = now.getTime();
            }
            if (lastAskedAt === now.getTime() || cycles[index]!.race) weeksAsked.add(isoWeek(now));
          }
          const posted = forecastPosts().filter((post) => !before.has(post.ts));
          const rows = await Promise.all(['2026-W48', '2026-W49'].map((week) => process.storage.outbox.getByKey(forecastPostKey('concurrent_users', week))));
          // Never twice: one message per week in Slack, and only for weeks with a queued row.
          expect(posted.length).toBe(rows.filter(Boolean).length);
          expect(posted.length).toBeLessThanOrEqual(2);
          // And never none: a week in which Prometheus was asked has its post.
          for (const week of weeksAsked) expect(rows[week === '2026-W48' ? 0 : 1], week).toBeDefined();
          process.close();
          for (const rival of extra) rival.close();
        },
      ),
      { numRuns: 12 },
    );
  }, 300_000);

  it('posts nothing with watch.forecasts off', async () => {
    const before = forecastPosts().length;
    const process = startProcess(join(dir, 'off.db'), configWith(false));
    expect(await process.poster.postDue(new Date(NOW * 1000))).toEqual({ asked: false, posted: 0 });
    expect(forecastPosts()).toHaveLength(before);
    process.close();
  });
});
