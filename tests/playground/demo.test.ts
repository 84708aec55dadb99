import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import { buildPlaygroundConfig, demoDigestSchedule } from '../../playground/config.ts';
import { buildDemoHistory, HISTORY_STEP_SECONDS } from '../../playground/demo/history.ts';
import { startDemoExporter, type DemoExporter } from '../../playground/demo/exporter.ts';
import { findPrometheus, startDemoPrometheus, type DemoPrometheus } from '../../playground/demo/prometheus.ts';
import { CALM, demoMoment, GROWTH_ENDS, GROWTH_STARTS, HISTORY_DAYS, historyValues, latencyFractionAtOrBelow, PEAK } from '../../playground/demo/scenario.ts';
import { CAPACITY_CHANNEL } from '../../playground/workspace.ts';
import { queryInstant } from '../../devkit/prometheus/query.ts';
import { waitForValue } from '../../devkit/prometheus/index.ts';

describe('the demo story', () => {
  it('is calm while warming up and at first, grows, stays high, and calms down when asked', () => {
    expect(demoMoment({})).toMatchObject({ phase: 'warming up', level: 0, values: CALM });
    expect(demoMoment({ elapsedSeconds: GROWTH_STARTS - 1 })).toMatchObject({ phase: 'calm', level: 0 });
    const middle = demoMoment({ elapsedSeconds: (GROWTH_STARTS + GROWTH_ENDS) / 2 });
    expect(middle.phase).toBe('traffic grows');
    expect(middle.values.concurrentUsers).toBe(Math.round((CALM.concurrentUsers + PEAK.concurrentUsers) / 2));
    const high = demoMoment({ elapsedSeconds: GROWTH_ENDS + 100 });
    expect(high.phase).toBe('CPU stays above 70 %');
    expect(high.values.cpu).toBeGreaterThan(0.8);
    expect(demoMoment({ elapsedSeconds: GROWTH_ENDS + 110, calmDownAtSeconds: GROWTH_ENDS + 100 }).phase).toBe('load drops');
    expect(demoMoment({ elapsedSeconds: GROWTH_ENDS + 200, calmDownAtSeconds: GROWTH_ENDS + 100 })).toMatchObject({ phase: 'calm again', level: 0 });
  });

  it("crosses exactly the guide's CPU and concurrent-users thresholds, and no other", () => {
    const triggers = loadConfig().triggers;
    const threshold = (id: string) => triggers.find((trigger) => trigger.id === id)!.threshold;
    expect(PEAK.cpu).toBeGreaterThan(threshold('cpu'));
    expect(PEAK.concurrentUsers).toBeGreaterThan(threshold('concurrent_users'));
    expect(PEAK.memory).toBeLessThan(threshold('memory'));
    expect(PEAK.p99LatencySeconds).toBeLessThan(1); // api_p99 reads "over 1 s" as its 1 s bucket: under 1 % beyond it
    expect(PEAK.dailyActiveUsers).toBeLessThan(threshold('daily_active_users'));
    expect(PEAK.dbConnections).toBeLessThan(threshold('db_connections'));
    expect(PEAK.errorRatio).toBeLessThan(threshold('error_rate'));
    expect(PEAK.cacheHitRate).toBeGreaterThan(threshold('cache_hit_rate'));
  });

  it("draws latencies whose 99th percentile is the story's p99", () => {
    expect(latencyFractionAtOrBelow(PEAK.p99LatencySeconds, PEAK.meanLatencySeconds, PEAK.p99LatencySeconds)).toBeCloseTo(0.99);
    expect(latencyFractionAtOrBelow(0, 0.2, 0.5)).toBe(0);
    expect(latencyFractionAtOrBelow(10, 0.2, 0.5)).toBe(1);
  });
});

describe('the demo exporter scraped by a real Prometheus', () => {
  let exporter: DemoExporter;
  let prometheus: DemoPrometheus;
  const binary = findPrometheus();

  beforeAll(async () => {
    if (!binary) throw new Error('prometheus is not installed: ./scripts/install-test-deps.sh');
    exporter = await startDemoExporter();
    exporter.startStory(GROWTH_ENDS + 5);
    prometheus = await startDemoPrometheus({ binary, scrapeTarget: exporter.target });
  }, 30_000);
  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.stop();
  });

  it("makes the bot's own trigger queries, with the demo's windows, read the story's peak", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scalebot-demo-config-'));
    writeFileSync(join(dir, 'demo.yaml'), buildPlaygroundConfig({ demo: true }));
    const triggers = loadConfig({ file: join(dir, 'demo.yaml') }).triggers;
    rmSync(dir, { recursive: true, force: true });
    const query = (id: string) => triggers.find((trigger) => trigger.id === id)!.query;
    // A rate() over 15 s is right once Prometheus holds 15 s of samples (first scrape after about 6 s).
    await waitForValue(
      { query: (q: string) => queryInstant(prometheus.url, q) },
      'count(count_over_time(node_memory_MemTotal_bytes[20s]) >= 16)',
      (v) => v === 1,
      40_000,
    );
    const value = async (id: string) => (await queryInstant(prometheus.url, query(id)))[0]?.value;
    expect(await value('cpu')).toBeCloseTo(PEAK.cpu, 1);
    expect(await value('concurrent_users')).toBe(PEAK.concurrentUsers);
    expect(await value('memory')).toBeCloseTo(PEAK.memory, 2);
    expect(await value('api_p99')).toBeLessThan(0.01); // the share of requests over 1 s: P99 under 1 s
    expect(await value('error_rate')).toBeCloseTo(PEAK.errorRatio, 3);
    expect(await value('db_connections')).toBeCloseTo(PEAK.dbConnections, 2);
    expect(await value('cache_hit_rate')).toBeCloseTo(PEAK.cacheHitRate, 2);
    // Labelled as a scrape of the real exporters would be: node_exporter on the app server.
    const memory = await queryInstant(prometheus.url, query('memory'));
    expect(memory[0]?.metric).toEqual({ instance: 'app-1:9100', job: 'node' });
  }, 60_000);
});

function demoTriggers(options: { now?: Date } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-demo-config-'));
  try {
    writeFileSync(join(dir, 'demo.yaml'), buildPlaygroundConfig({ demo: true, ...options }));
    return loadConfig({ file: join(dir, 'demo.yaml') });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the week before the demo', () => {
  const DAY = 86_400;
  const end = 1_790_000_000;
  const week = Array.from({ length: (HISTORY_DAYS * DAY) / 600 + 1 }, (_, i) => end - HISTORY_DAYS * DAY + i * 600);
  const valuesOver = (from: number, to: number) => week.filter((t) => t >= from && t < to).map((t) => historyValues(t, end - t));

  it('meets the live story at its calm start, so nothing jumps where the two meet', () => {
    expect(historyValues(end, 0)).toEqual(CALM);
    const minuteBefore = historyValues(end - 60, 60);
    expect(minuteBefore.cpu).toBeCloseTo(CALM.cpu, 2);
    expect(Math.abs(minuteBefore.concurrentUsers - CALM.concurrentUsers)).toBeLessThanOrEqual(1);
  });

  it('grows over the week with a daily cycle, and never crosses a threshold (the only breach is the live one)', () => {
    const { triggers } = loadConfig();
    const threshold = (id: string) => triggers.find((trigger) => trigger.id === id)!.threshold;
    const all = valuesOver(end - HISTORY_DAYS * DAY, end + 1);
    expect(Math.max(...all.map((v) => v.cpu))).toBeLessThan(threshold('cpu'));
    expect(Math.max(...all.map((v) => v.memory))).toBeLessThan(threshold('memory'));
    expect(Math.max(...all.map((v) => v.concurrentUsers))).toBeLessThan(threshold('concurrent_users'));
    expect(Math.max(...all.map((v) => v.dailyActiveUsers))).toBeLessThan(threshold('daily_active_users'));
    expect(Math.max(...all.map((v) => v.dbConnections))).toBeLessThan(threshold('db_connections'));
    expect(Math.min(...all.map((v) => v.cacheHitRate))).toBeGreaterThan(threshold('cache_hit_rate'));
    // Growth: each day's busiest hour is busier than the same a week before; the cycle: a day has a busy and a quiet time.
    const firstDay = valuesOver(end - HISTORY_DAYS * DAY, end - (HISTORY_DAYS - 1) * DAY);
    const lastFullDay = valuesOver(end - 2 * DAY - 3 * 3600, end - DAY - 3 * 3600);
    for (const key of ['memory', 'concurrentUsers', 'requestsPerSecond', 'cpu'] as const) {
      expect(Math.max(...lastFullDay.map((v) => v[key]))).toBeGreaterThan(1.15 * Math.max(...firstDay.map((v) => v[key])));
      expect(Math.max(...lastFullDay.map((v) => v[key]))).toBeGreaterThan(1.1 * Math.min(...lastFullDay.map((v) => v[key])));
    }
  });

  it('is written in chunks of whole 2-hour block windows, and its counters end where the live exporter starts', () => {
    const history = buildDemoHistory({ end, days: 1, stepSeconds: HISTORY_STEP_SECONDS, chunkHours: 6 });
    expect(history.chunks.length).toBeGreaterThanOrEqual(4);
    const stamps = history.chunks.map((chunk) =>
      chunk
        .split('\n')
        .filter((line) => line && !line.startsWith('#'))
        .map((line) => Number(line.split(' ').at(-1))),
    );
    for (const chunk of stamps) expect(new Set(chunk.map((t) => Math.floor(t / (6 * 3600)))).size).toBe(1);
    expect(Math.max(...stamps.flat())).toBe(end);
    const idle = history.counters.find((c) => c.name === 'node_cpu_seconds_total' && c.labels.cpu === '0' && c.labels.mode === 'idle');
    // A day at about 70 % idle per CPU.
    expect(idle!.value).toBeGreaterThan(0.5 * DAY);
    expect(idle!.value).toBeLessThan(0.9 * DAY);
  });
});

describe("the demo's config", () => {
  it('reads rates with irate, so the same query sees the live seconds and the 4-minute history', () => {
    const { triggers } = demoTriggers();
    const cpu = triggers.find((trigger) => trigger.id === 'cpu')!;
    expect(cpu.query).toContain('irate(node_cpu_seconds_total{mode="idle"}[10m])');
    expect(10 * 60).toBeGreaterThan(2 * HISTORY_STEP_SECONDS);
  });

  it('schedules the digest in #capacity for the minute the demo starts, so it posts at once, on time', () => {
    const now = new Date('2026-12-05T00:21:31Z');
    expect(demoDigestSchedule(now)).toBe('Sat 00:21');
    expect(demoDigestSchedule(new Date('2026-12-07T23:59:59.999Z'))).toBe('Mon 23:59');
    const { digest } = demoTriggers({ now });
    expect(digest).toMatchObject({ channel: CAPACITY_CHANNEL.id, weekday: 6, hour: 0, minute: 21, timezone: 'UTC' });
  });
});

describe('the backfilled week and the live exporter, in one real Prometheus', () => {
  let exporter: DemoExporter;
  let prometheus: DemoPrometheus;
  const binary = findPrometheus();
  const end = Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    if (!binary) throw new Error('prometheus is not installed: ./scripts/install-test-deps.sh');
    const history = buildDemoHistory({ end, days: 2 });
    exporter = await startDemoExporter({ continueFrom: history });
    prometheus = await startDemoPrometheus({ binary, scrapeTarget: exporter.target, history });
  }, 60_000);
  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.stop();
  });

  it("answers the demo's trigger queries over the past days and across the seam to live data, without a jump", async () => {
    const { triggers } = demoTriggers();
    const query = (id: string) => triggers.find((trigger) => trigger.id === id)!.query;
    const at = async (id: string, time: number) => (await queryInstant(prometheus.url, query(id), time))[0]?.value;
    const dayAgo = end - 86_400 + 8 * HISTORY_STEP_SECONDS; // on the sample grid
    expect(await at('cpu', dayAgo)).toBeCloseTo(historyValues(dayAgo, end - dayAgo).cpu, 1);
    expect(await at('memory', dayAgo)).toBeCloseTo(historyValues(dayAgo, end - dayAgo).memory, 2);
    expect(await at('concurrent_users', dayAgo)).toBe(historyValues(dayAgo, end - dayAgo).concurrentUsers);
    // Live: a few scrapes on, the counters have gone on from the week's totals: CPU reads the calm start, not a reset.
    await waitForValue(
      { query: (q: string) => queryInstant(prometheus.url, q) },
      'count_over_time(node_memory_MemTotal_bytes[10s])',
      (v) => (v ?? 0) >= 3,
      40_000,
    );
    // irate reads two scrapes 1 s apart: a busy machine's scrape jitter moves it by a few hundredths.
    expect(await at('cpu', Math.floor(Date.now() / 1000))).toBeCloseTo(CALM.cpu, 1);
    expect(await at('error_rate', Math.floor(Date.now() / 1000))).toBeCloseTo(CALM.errorRatio, 3);
    const resets = await queryInstant(prometheus.url, 'sum(resets(node_cpu_seconds_total[1h]))');
    expect(resets[0]?.value).toBe(0);
  }, 90_000);
});
