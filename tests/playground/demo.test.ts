import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import { buildPlaygroundConfig } from '../../playground/config.ts';
import { startDemoExporter, type DemoExporter } from '../../playground/demo/exporter.ts';
import { findPrometheus, startDemoPrometheus, type DemoPrometheus } from '../../playground/demo/prometheus.ts';
import { CALM, demoMoment, GROWTH_ENDS, GROWTH_STARTS, latencyFractionAtOrBelow, PEAK } from '../../playground/demo/scenario.ts';
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
    expect(PEAK.p99LatencySeconds).toBeLessThan(threshold('api_p99'));
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
    expect(await value('api_p99')).toBeLessThan(1);
    expect(await value('api_p99')).toBeGreaterThan(0.5);
    expect(await value('error_rate')).toBeCloseTo(PEAK.errorRatio, 3);
    expect(await value('db_connections')).toBeCloseTo(PEAK.dbConnections, 2);
    expect(await value('cache_hit_rate')).toBeCloseTo(PEAK.cacheHitRate, 2);
    // Labelled as a scrape of the real exporters would be: node_exporter on the app server.
    const memory = await queryInstant(prometheus.url, query('memory'));
    expect(memory[0]?.metric).toEqual({ instance: 'app-1:9100', job: 'node' });
  }, 60_000);
});
