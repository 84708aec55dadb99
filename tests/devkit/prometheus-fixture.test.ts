import { readFileSync } from 'node:fs';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  buildOpenMetrics,
  p99Fractions,
  scenario,
  SCENARIO_DEFAULTS,
  startExporter,
  startPrometheus,
  startSlowProxy,
  step,
  unusedLoopbackUrl,
  waitForValue,
  type Exporter,
  type PrometheusFixture,
  type VectorSample,
} from '../../devkit/prometheus/index.ts';

interface Trigger {
  id: string;
  query: string;
}
const triggers = (parse(readFileSync(new URL('../../config/triggers.yaml', import.meta.url), 'utf8')) as { triggers: Trigger[] }).triggers;
const queryOf = (id: string) => {
  const trigger = triggers.find((t) => t.id === id);
  if (!trigger) throw new Error(`no trigger ${id} in config/triggers.yaml`);
  return trigger.query;
};

const NOW = Math.floor(Date.now() / 1000);
const STEP = 60;
const RATE_WINDOW = 300;
const CPU_STEP_AT = NOW - 20 * 60;
const MEMORY_STEP_AT = NOW - 30 * 60;
const LABEL_WITH_ESCAPES = 'say "hi" \\ then\nnewline';

const main = scenario({ now: NOW, stepSeconds: STEP })
  .cpu('web-1:9100', step(CPU_STEP_AT, 0.3, 0.9))
  .diskIowait('web-1:9100', step(CPU_STEP_AT, 0.05, 0.25))
  .cpu('web-2:9100', 0.4, { cpus: 3 })
  .diskIowait('web-2:9100', 0.1)
  .memory('web-1:9100', step(MEMORY_STEP_AT, 0.6, 0.9))
  .memory('web-2:9100', 0.5)
  .apiP99(step(NOW - 600, 0.3, 1.7))
  .errorRate(step(NOW - 600, 0.002, 0.03))
  .responseTimeTrend(1.5)
  .dbConnections('db-1:9187', 0.85)
  .dbSize('db-1:9187', 23e9)
  .redisMemory('redis-1:9121', 0.93)
  .cacheHitRate('redis-1:9121', 0.62)
  .concurrentUsers('app-1:3000', 320)
  .concurrentUsers('app-2:3000', 250)
  .dailyActiveUsers('app-1:3000', 2400)
  .dailyActiveUsers('app-2:3000', 2350)
  .gauge('fixture_label_escape', { note: LABEL_WITH_ESCAPES }, 1);

/** What each default trigger query must return at NOW, by `instance` label ('' for none). */
const EXPECTED: Record<string, Record<string, number>> = {
  cpu: { 'web-1:9100': 0.9, 'web-2:9100': 0.4 },
  memory: { 'web-1:9100': 0.9, 'web-2:9100': 0.5 },
  // The share of requests over 1 s (the le="1" bucket) at a P99 of 1.7 s.
  api_p99: { '': 1 - p99Fractions(1.7, SCENARIO_DEFAULTS.buckets)[SCENARIO_DEFAULTS.buckets.indexOf(1)]! },
  db_connections: { 'db-1:9187': 0.85 },
  redis_memory: { 'redis-1:9121': 0.93 },
  disk_iowait: { 'web-1:9100': 0.25, 'web-2:9100': 0.1 },
  error_rate: { '': 0.03 },
  concurrent_users: { '': 570 },
  daily_active_users: { '': 2400 },
  db_size: { 'db-1:9187': 23e9 },
  cache_hit_rate: { 'redis-1:9121': 0.62 },
  response_time_trend: { '': 1.5 },
  replica_lag: {}, // no replica in this scenario
};

// Quiet traffic, no maxmemory, one hour of history: the cases where default queries give 0, NaN or nothing.
const EDGE_QUIET_FROM = NOW - 600;
const edge = scenario({ now: NOW, start: NOW - 3600 })
  .requestRate(step(EDGE_QUIET_FROM, 50, 0))
  .errorRate(0)
  .redisMemory('redis-1:9121', 0.5, { maxBytes: 0 })
  .cacheHitRate('redis-1:9121', 0.9, { opsPerSecond: step(EDGE_QUIET_FROM, 100, 0) });

const byInstance = (vector: VectorSample[]) => Object.fromEntries(vector.map((s) => [s.metric.instance ?? '', s.value]));
const close = (actual: number | undefined, expected: number) => actual !== undefined && Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected));

let prom: PrometheusFixture | undefined;
let edgeProm: PrometheusFixture | undefined;
let liveProm: PrometheusFixture | undefined;
let exporter: Exporter | undefined;

beforeAll(async () => {
  exporter = await startExporter();
  exporter.set('scalebot_fixture_value', { instance: 'live-1' }, 1);
  // Started together: the scraping server needs ~6 s before its first sample, the others use that time.
  const results = await Promise.allSettled([
    startPrometheus({ openMetrics: main.toOpenMetrics() }),
    startPrometheus({ openMetrics: edge.toOpenMetrics() }),
    startPrometheus({ scrapeTargets: [exporter.target], scrapeIntervalSeconds: 1 }),
  ]);
  [prom, edgeProm, liveProm] = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
});

afterAll(async () => {
  await Promise.all([prom?.stop(), edgeProm?.stop(), liveProm?.stop(), exporter?.stop()]);
});

describe('buildOpenMetrics', () => {
  it('groups families, sorts samples by time, names counters as OpenMetrics wants', () => {
    const text = buildOpenMetrics([
      {
        name: 'jobs_total',
        type: 'counter',
        help: 'Jobs.',
        labels: { queue: 'b' },
        samples: [
          [20, 2],
          [10, 1],
        ],
      },
      {
        name: 'temp',
        type: 'gauge',
        samples: [
          [10, 1.5e-7],
          [11, NaN],
          [12, Infinity],
        ],
      },
      { name: 'jobs_total', type: 'counter', labels: { queue: 'a' }, samples: [[10.25, 0]] },
    ]);
    expect(text).toBe(
      [
        '# HELP jobs Jobs.',
        '# TYPE jobs counter',
        'jobs_total{queue="b"} 1 10',
        'jobs_total{queue="b"} 2 20',
        'jobs_total{queue="a"} 0 10.250',
        '# TYPE temp gauge',
        'temp 1.5e-7 10',
        'temp NaN 11',
        'temp +Inf 12',
        '# EOF',
        '',
      ].join('\n'),
    );
  });

  it('refuses what promtool would silently mangle', () => {
    expect(() => buildOpenMetrics([{ name: 'jobs', type: 'counter', samples: [] }])).toThrow(/_total/);
    expect(() => buildOpenMetrics([{ name: 'g', type: 'gauge', samples: [[Date.now(), 1]] }])).toThrow(/milliseconds/);
    expect(() =>
      buildOpenMetrics([
        {
          name: 'g',
          type: 'gauge',
          samples: [
            [1, 1],
            [1, 2],
          ],
        },
      ]),
    ).toThrow(/two samples/);
  });

  it('fills histogram buckets so that p99 interpolates to the requested value', () => {
    const buckets = SCENARIO_DEFAULTS.buckets;
    for (const p of [0.00495, 0.005, 0.007, 0.1, 0.3, 1, 1.7, 2.5, 9.99]) {
      const cumulative = [...p99Fractions(p, buckets), 1];
      const bounds = [...buckets, Infinity];
      for (const [i, c] of cumulative.entries()) expect(c).toBeGreaterThanOrEqual(i === 0 ? 0 : cumulative[i - 1]! - 1e-12);
      // Prometheus' bucketQuantile, for a total of 1.
      const b = cumulative.findIndex((c) => c >= 0.99);
      const lo = b === 0 ? 0 : bounds[b - 1]!;
      const below = b === 0 ? 0 : cumulative[b - 1]!;
      expect(lo + (bounds[b]! - lo) * ((0.99 - below) / (cumulative[b]! - below))).toBeCloseTo(p, 9);
    }
    expect(() => p99Fractions(11, buckets)).toThrow();
  });
});

describe('backfilled scenario against real Prometheus', () => {
  it('has an expectation for every default trigger', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(triggers.map((t) => t.id).sort());
  });

  it.each(triggers.map((t) => [t.id, t.query] as const))('default query %s returns the scenario value at now', async (id, query) => {
    const result = await prom!.query(query, NOW);
    const values = byInstance(result);
    expect(result).toHaveLength(Object.keys(EXPECTED[id]!).length);
    for (const [instance, expected] of Object.entries(EXPECTED[id]!)) {
      expect(close(values[instance], expected), `${id} ${instance || '(no instance)'}: got ${values[instance]}, want ${expected}`).toBe(true);
    }
  });

  it('keeps instances apart: web-1 before its step, web-2 unchanged', async () => {
    const before = byInstance(await prom!.query(queryOf('cpu'), CPU_STEP_AT - 60));
    expect(before['web-1:9100']).toBeCloseTo(0.3, 9);
    expect(before['web-2:9100']).toBeCloseTo(0.4, 9);
    // Only the average over CPUs is the usage: the CPUs themselves differ.
    const perCpu = await prom!.query('rate(node_cpu_seconds_total{instance="web-2:9100",mode="idle"}[5m])', NOW);
    expect(perCpu.map((s) => s.value).sort((a, b) => a - b)).toEqual([expect.closeTo(0.55, 9), expect.closeTo(0.6, 9), expect.closeTo(0.65, 9)]);
  });

  it('shows the cpu step in query_range after the 5 m rate window, and a gauge step at once', async () => {
    const from = NOW - 40 * 60;
    const [cpu] = (await prom!.queryRange(queryOf('cpu'), from, NOW, STEP)).filter((s) => s.metric.instance === 'web-1:9100');
    const lastOld = Math.max(...cpu!.values.filter(([, v]) => close(v, 0.3)).map(([t]) => t));
    const firstNew = Math.min(...cpu!.values.filter(([, v]) => close(v, 0.9)).map(([t]) => t));
    expect(Math.abs(lastOld - CPU_STEP_AT)).toBeLessThanOrEqual(STEP);
    expect(Math.abs(firstNew - (CPU_STEP_AT + RATE_WINDOW))).toBeLessThanOrEqual(STEP);
    // In between, a blend that only rises.
    const ramp = cpu!.values.filter(([t]) => t > lastOld && t < firstNew).map(([, v]) => v);
    expect(ramp.length).toBeGreaterThan(0);
    for (const [i, v] of ramp.entries()) expect(v).toBeGreaterThan(i === 0 ? 0.3 : ramp[i - 1]!);

    const [memory] = (await prom!.queryRange(queryOf('memory'), from, NOW, STEP)).filter((s) => s.metric.instance === 'web-1:9100');
    const memoryFirstNew = Math.min(...memory!.values.filter(([, v]) => close(v, 0.9)).map(([t]) => t));
    expect(memoryFirstNew).toBe(MEMORY_STEP_AT);
  });

  it('meets "for: 15m" at now when CPU has been 0.9 since now-20m (min_over_time, not a filtered subquery)', async () => {
    const held = await prom!.query(`min_over_time((${queryOf('cpu')})[15m:1m])`, NOW);
    expect(byInstance(held)['web-1:9100']).toBeCloseTo(0.9, 9);
  });

  it('round-trips awkward label values through promtool', async () => {
    const [sample] = await prom!.query('fixture_label_escape', NOW);
    expect(sample?.metric.note).toBe(LABEL_WITH_ESCAPES);
  });
});

describe('default queries at the edges (documented behaviour, not bugs)', () => {
  it('error_rate is 0 when no 5xx series exist, thanks to `or vector(0)`', async () => {
    const result = await edgeProm!.query(queryOf('error_rate'), EDGE_QUIET_FROM - 60);
    expect(result.map((s) => s.value)).toEqual([0]);
    expect(await edgeProm!.query('http_requests_total{status=~"5.."}', NOW)).toEqual([]);
  });

  it('api_p99, error_rate and cache_hit_rate are NaN after 5 minutes without traffic', async () => {
    for (const id of ['api_p99', 'error_rate', 'cache_hit_rate']) {
      const result = await edgeProm!.query(queryOf(id), NOW);
      expect(
        result.map((s) => s.value),
        id,
      ).toEqual([NaN]);
    }
  });

  it('redis_memory has no result when maxmemory is 0 (Redis default)', async () => {
    expect(await edgeProm!.query(queryOf('redis_memory'), NOW)).toEqual([]);
  });

  it('response_time_trend has no result with under 25 h of history', async () => {
    expect(await edgeProm!.query(queryOf('response_time_trend'), EDGE_QUIET_FROM - 60)).toEqual([]);
  });
});

describe('live exporter scraped every second', () => {
  it('shows a set gauge, its change and its removal', async () => {
    const query = 'scalebot_fixture_value{instance="live-1"}';
    await waitForValue(liveProm!, query, (v) => v === 1, 15_000);
    exporter!.set('scalebot_fixture_value', { instance: 'live-1' }, 2);
    // Within a few scrapes (the wait's 5 s bound), with room for two busy cores.
    const [sample] = await waitForValue(liveProm!, query, (v) => v === 2, 5_000);
    // honor_labels: the exporter's instance label is the one queries see.
    expect(sample?.metric).toMatchObject({ instance: 'live-1', job: 'fixture' });
    exporter!.remove('scalebot_fixture_value', { instance: 'live-1' });
    await waitForValue(liveProm!, query, (v) => v === undefined, 5_000);
  });
});

describe('Prometheus slow or down', () => {
  it('the slow proxy answers like Prometheus, only later', async () => {
    const proxy = await startSlowProxy(prom!.url, 600);
    try {
      const began = Date.now();
      const answer = await axios.get(`${proxy.url}/api/v1/query`, { params: { query: 'sum(app_concurrent_users)', time: NOW } });
      expect(Date.now() - began).toBeGreaterThanOrEqual(600);
      expect(answer.data.data.result[0].value[1]).toBe('570');
      await expect(axios.get(`${proxy.url}/api/v1/query`, { params: { query: '1' }, timeout: 200 })).rejects.toMatchObject({
        code: 'ECONNABORTED',
      });
    } finally {
      await proxy.stop();
    }
  });

  it('the unused URL refuses connections', async () => {
    const url = await unusedLoopbackUrl();
    await expect(axios.get(`${url}/api/v1/query`, { params: { query: '1' } })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
