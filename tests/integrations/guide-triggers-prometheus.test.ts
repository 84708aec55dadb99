import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bot/cli.ts';
import { loadConfig } from '../../bot/config.ts';
import { buildStatusBlocks } from '../../blocks/status.ts';
import { checkHistogramBuckets } from '../../core/histogram-check.ts';
import { collectStatus } from '../../core/status.ts';
import type { Trigger } from '../../core/triggers.ts';
import { scenario, startPrometheus, type PrometheusFixture, type Scenario } from '../../devkit/prometheus/index.ts';
import { createPrometheus } from '../../integrations/prometheus.ts';

// The case: prometheus-fastapi-instrumentator's default histogram (buckets 0.1, 0.5, 1, written "1.0" by
// prometheus_client) with 2.3 % of requests slower than 1 s, so that the P99 sits in the +Inf bucket.
const NOW = Math.floor(Date.now() / 1000);
const AT = new Date(NOW * 1000);
const SLOWER_THAN_ONE_SECOND = 0.023;
const dir = mkdtempSync(join(tmpdir(), 'scalebot-guide-triggers-'));

/** A histogram of `requestsPerSecond` requests a second, `shares[le]` of them at or under each bound. */
function histogram(s: Scenario, name: string, labels: Record<string, string>, shares: Record<string, number>, requestsPerSecond = 40): Scenario {
  const counted = (share: number) => s.timestamps.map((t): [number, number] => [t, share * requestsPerSecond * (t - s.start)]);
  for (const [le, share] of Object.entries(shares)) s.series({ name: `${name}_bucket`, type: 'histogram', labels: { ...labels, le }, samples: counted(share) });
  s.series({ name: `${name}_bucket`, type: 'histogram', labels: { ...labels, le: '+Inf' }, samples: counted(1) });
  s.series({ name: `${name}_count`, type: 'histogram', labels, samples: counted(1) });
  s.series({ name: `${name}_sum`, type: 'histogram', labels, samples: counted(0.2) });
  return s;
}

const fastapiShares = { '0.1': 0.8, '0.5': 0.95, '1.0': 1 - SLOWER_THAN_ONE_SECOND };
const fastapi = scenario({ now: NOW, hours: 1 });
for (const handler of ['/items', '/users']) {
  histogram(fastapi, 'http_request_duration_seconds', { instance: 'api-1:8000', job: 'api', handler, method: 'GET' }, fastapiShares);
}
// A replicated database: the primary reports lag 0 (it always does), the replica 45 s; an older postgres_exporter
// on a second pair names the metric pg_replication_lag.
fastapi
  .gauge('pg_replication_lag_seconds', { instance: 'db-1:9187' }, 0)
  .gauge('pg_replication_is_replica', { instance: 'db-1:9187' }, 0)
  .gauge('pg_replication_lag_seconds', { instance: 'db-2:9187' }, 45)
  .gauge('pg_replication_is_replica', { instance: 'db-2:9187' }, 1)
  .gauge('pg_replication_lag', { instance: 'old-2:9187' }, 12)
  .gauge('pg_replication_is_replica', { instance: 'old-2:9187' }, 1);

// prom-client's spelling (le="1") and buckets above 1 s; one database, no replica yet.
const node = scenario({ now: NOW, hours: 1 })
  .apiP99(1.7)
  .gauge('pg_replication_lag_seconds', { instance: 'db-1:9187' }, 0)
  .gauge('pg_replication_is_replica', { instance: 'db-1:9187' }, 0);

// Custom buckets without 1 s: the share form reads nothing there, and check-config must say so.
const odd = histogram(
  scenario({ now: NOW, hours: 1 }),
  'http_request_duration_seconds',
  { instance: 'api-1:8000' },
  { '0.25': 0.9, '0.5': 0.95, '2.5': 0.999 },
);

let fastapiProm: PrometheusFixture;
let nodeProm: PrometheusFixture;
let oddProm: PrometheusFixture;

beforeAll(async () => {
  const started = await Promise.all([fastapi, node, odd].map((s) => startPrometheus({ openMetrics: s.toOpenMetrics() })));
  [fastapiProm, nodeProm, oddProm] = started as [PrometheusFixture, PrometheusFixture, PrometheusFixture];
});

afterAll(async () => {
  await Promise.all([fastapiProm?.stop(), nodeProm?.stop(), oddProm?.stop()]);
});

const defaults = loadConfig();
const byId = (id: string): Trigger => defaults.triggers.find((trigger) => trigger.id === id)!;
const quantileP99: Trigger = {
  ...byId('api_p99'),
  query: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))',
  threshold: 1,
  unit: 'seconds',
};

/** The `/scale status` message as Slack gets it. */
const slackText = (report: Awaited<ReturnType<typeof status>>) => JSON.stringify(buildStatusBlocks(report));

async function status(prometheus: PrometheusFixture, triggers: readonly Trigger[]) {
  return collectStatus(triggers, createPrometheus({ url: prometheus.url, timeoutMs: 5000 }), AT);
}

describe('api_p99 on a histogram whose highest finite bucket is the 1 s threshold (P99 in +Inf)', () => {
  it('histogram_quantile answers exactly 1 there, so the quantile form can never fire', async () => {
    const report = await status(fastapiProm, [quantileP99]);
    expect(report.results).toMatchObject([{ state: 'ok', value: 1 }]);
  });

  it('the default trigger reads the share of requests slower than 1 s from the le="1.0" bucket, and fires', async () => {
    const report = await status(fastapiProm, [byId('api_p99')]);
    expect(report.results).toHaveLength(1);
    expect(report.results[0]).toMatchObject({ state: 'breached', value: expect.closeTo(SLOWER_THAN_ONE_SECOND, 9) });
    expect(report.verdict).toBe('scale_now');
    // What a user reads: the P99 statement and the share that makes it true.
    expect(slackText(report)).toMatch(/API response time P99 \(share of requests over 1 s\)\* {2}\(&gt; 1 % for 5 min\)\\n2\.3 % · breached/);
  });

  it('reads prom-client\'s le="1" alike: a P99 of 1.7 s is 1.47 % of requests over 1 s', async () => {
    const report = await status(nodeProm, [byId('api_p99')]);
    expect(report.results).toMatchObject([{ state: 'breached', value: expect.closeTo(0.01 + (0.01 * 0.7) / 1.5, 9) }]);
  });
});

describe('the bucket check (check-config)', () => {
  it('warns that a quantile trigger at the highest finite bucket can never fire, and passes the default', async () => {
    const prometheus = createPrometheus({ url: fastapiProm.url, timeoutMs: 5000 });
    const quantile = await checkHistogramBuckets([quantileP99], prometheus, AT);
    expect(quantile.warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          '^trigger "api_p99" can never fire as it should: histogram_quantile answers at most 1 s, ' +
            'the highest finite bucket of http_request_duration_seconds \\(0\\.1, 0\\.5, 1\\)',
        ),
      ),
    ]);
    expect(await checkHistogramBuckets(defaults.triggers, prometheus, AT)).toEqual({ warnings: [], notes: [] });
    // Buckets above 1 s (prom-client's defaults): the quantile form works there, no warning.
    expect((await checkHistogramBuckets([quantileP99], createPrometheus({ url: nodeProm.url, timeoutMs: 5000 }), AT)).warnings).toEqual([]);
  });

  it('warns that the default reads nothing where the histogram has no 1 s bucket', async () => {
    const check = await checkHistogramBuckets([byId('api_p99')], createPrometheus({ url: oddProm.url, timeoutMs: 5000 }), AT);
    expect(check.warnings).toEqual([
      expect.stringContaining(
        'trigger "api_p99" reads the le=~"1|1\\.0" bucket of http_request_duration_seconds, which has none (its buckets: 0.25, 0.5, 2.5)',
      ),
    ]);
  });

  it('`scalebot check-config` prints the warning and exits 1 for a quantile override; 0 for the defaults', async () => {
    const file = join(dir, 'quantile.yaml');
    writeFileSync(
      file,
      'triggers:\n  - id: api_p99\n    query: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))\n' +
        '    threshold: 1\n    unit: seconds\n',
    );
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text), env: { PROMETHEUS_URL: fastapiProm.url } };
    expect(await runCli(['check-config', file], io)).toBe(1);
    expect(err.join('')).toMatch(/^warning: trigger "api_p99" can never fire as it should: histogram_quantile answers at most 1 s/);
    expect(out.join('')).toMatch(/^not ok: /);
    out.length = 0;
    err.length = 0;
    expect(await runCli(['check-config'], io)).toBe(0);
    expect(err).toEqual([]);
    expect(out.join('')).toMatch(/^ok: /);
  });

  it('check-config with no Prometheus to ask says so and still passes; --no-prometheus does not ask', async () => {
    const err: string[] = [];
    const io = { stdout: () => {}, stderr: (text: string) => err.push(text), env: { PROMETHEUS_URL: 'http://127.0.0.1:1' } };
    expect(await runCli(['check-config'], io)).toBe(0);
    expect(err.join('')).toMatch(/^note: the histograms' buckets were not checked: Prometheus at http:\/\/127\.0\.0\.1:1 cannot be reached/);
    err.length = 0;
    expect(await runCli(['check-config', '--no-prometheus'], io)).toBe(0);
    expect(err).toEqual([]);
  });
});

describe('replica_lag', () => {
  it('is hidden from status while no replica exists (the primary alone reads 0)', async () => {
    const report = await status(nodeProm, defaults.triggers);
    expect(report.results.filter((result) => result.trigger.id === 'replica_lag')).toEqual([]);
    expect(slackText(report)).not.toContain('Replication lag');
  });

  it('appears once replicas exist: only the replicas, by either metric name, the 45 s one breached', async () => {
    const report = await status(fastapiProm, [byId('replica_lag')]);
    const byInstance = Object.fromEntries(report.results.map((result) => [result.labels.instance, [result.state, result.value]]));
    expect(byInstance).toEqual({ 'db-2:9187': ['breached', 45], 'old-2:9187': ['ok', 12] });
    expect(slackText(report)).toContain('Replication lag (our threshold; the guide names none)');
  });
});
