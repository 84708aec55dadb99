import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import { ConfigError } from '../../core/config/index.ts';
import { histogramSelectors, judgeHistogramTrigger, leMatches } from '../../core/histogram-check.ts';
import { alertName, buildAlertingRules } from '../../core/rules.ts';
import { evaluateTrigger, type Series, type Trigger } from '../../core/triggers.ts';

const quantile: Trigger = {
  id: 'p99',
  name: 'P99',
  severity: 'immediate',
  query: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))',
  op: '>',
  threshold: 1,
  forSeconds: 300,
  unit: 'seconds',
};
const defaults = loadConfig();
const shareForm = defaults.triggers.find((trigger) => trigger.id === 'api_p99')!;

/** Bucket bounds as clients write them: "0.5", "1", "1.0", "2.5", and the +Inf bucket. */
const bounds = fc.uniqueArray(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 12 }).map((thousandths) => thousandths.map((n) => n / 1000));
const spelled = (bound: number, python: boolean) => (python && Number.isInteger(bound) ? bound.toFixed(1) : String(bound));

describe('the bucket check', () => {
  it('warns about a quantile trigger exactly when its threshold is at or above the highest finite bucket', () => {
    fc.assert(
      fc.property(
        bounds,
        // Often a threshold on a bucket bound (the highest one included): "at" is where the bug lives.
        fc.oneof(
          fc.integer({ min: 1, max: 4000 }).map((ms) => ({ ms })),
          fc.nat().map((index) => ({ index })),
        ),
        fc.constantFrom('>', '>=', '<', '<=' as const),
        fc.boolean(),
        (buckets, pick, op, python) => {
          const threshold = 'ms' in pick ? pick.ms / 1000 : buckets[pick.index % buckets.length]!;
          const trigger: Trigger = { ...quantile, op, threshold };
          const values = [...buckets.map((bound) => spelled(bound, python)), '+Inf'];
          const { warnings } = judgeHistogramTrigger(trigger, new Map([['http_request_duration_seconds', values]]));
          const neverFires = (op === '>' || op === '>=') && threshold >= Math.max(...buckets);
          expect(warnings.length, `${op} ${threshold} over ${values.join(',')}`).toBe(neverFires ? 1 : 0);
        },
      ),
    );
  });

  it('warns about the default api_p99 exactly when the histogram has no 1 s bucket, in either spelling', () => {
    fc.assert(
      fc.property(bounds, fc.boolean(), (buckets, python) => {
        const values = [...buckets.map((bound) => spelled(bound, python)), '+Inf'];
        const { warnings } = judgeHistogramTrigger(shareForm, new Map([['http_request_duration_seconds', values]]));
        expect(warnings.length).toBe(buckets.includes(1) ? 0 : 1);
      }),
    );
  });

  it('notes, without warning, a histogram that has no series yet', () => {
    expect(judgeHistogramTrigger(quantile, new Map())).toEqual({
      warnings: [],
      notes: ['trigger "p99": http_request_duration_seconds_bucket has no series in Prometheus (yet): its buckets were not checked'],
    });
  });

  it('finds the histograms and le matchers a query reads', () => {
    expect(histogramSelectors(shareForm.query)).toEqual([{ histogram: 'http_request_duration_seconds', le: { op: '=~', value: '1|1\\.0' } }]);
    expect(histogramSelectors('sum(rate(a_bucket{job="x", le="0.5"}[5m])) / sum(rate(b_bucket[5m]))')).toEqual([
      { histogram: 'a', le: { op: '=', value: '0.5' } },
      { histogram: 'b' },
    ]);
    expect(leMatches({ op: '=~', value: '1|1\\.0' }, ['10', '1.05'])).toBe(false);
  });
});

describe('when_present', () => {
  const lag: Trigger = { ...quantile, id: 'replica_lag', whenPresent: true };
  const at = 1_800_000_000;
  it('hides a trigger whose query returns no series, and only then', () => {
    expect(evaluateTrigger(lag, [], at, 15, 1800)).toEqual([]);
    expect(evaluateTrigger({ ...lag, whenPresent: false }, [], at, 15, 1800)).toMatchObject([{ state: 'no_data' }]);
    const series: Series = { labels: { instance: 'db-2' }, points: [[at, 45]] };
    expect(evaluateTrigger(lag, [series], at, 15, 1800)).toMatchObject([{ state: 'pending', value: 45 }]);
  });

  it('is read from the config, default replica_lag has it', () => {
    expect(defaults.triggers.find((trigger) => trigger.id === 'replica_lag')).toMatchObject({ whenPresent: true, threshold: 30, forSeconds: 300 });
    expect(defaults.triggers.filter((trigger) => trigger.whenPresent).map((trigger) => trigger.id)).toEqual(['replica_lag']);
  });
});

describe('alert names', () => {
  it("the guide's monitoring/alerts.yml names where it has one, Scalebot… otherwise; a bad name is refused with an example", () => {
    expect(defaults.triggers.filter((trigger) => trigger.alert).map(alertName)).toEqual([
      'HighCPUUsage',
      'HighMemoryUsage',
      'HighAPILatency',
      'DatabaseConnectionsHigh',
      'HighConcurrentUsers',
    ]);
    expect(alertName({ id: 'queue_depth' })).toBe('ScalebotQueueDepth');
    expect(buildAlertingRules(defaults.triggers).groups[0]!.rules.map((rule) => rule.alert)).toContain('ScalebotReplicaLag');
    const dir = mkdtempSync(join(tmpdir(), 'scalebot-alert-name-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'triggers:\n  - id: cpu\n    alert: "High CPU"\n');
    let problems: readonly string[] = [];
    try {
      loadConfig({ file });
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems;
    }
    expect(problems).toEqual([expect.stringMatching(/:3:\d+: triggers\[0\]\.alert: is not an alert name: .*like HighCPUUsage/)]);
  });
});
