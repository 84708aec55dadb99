// The incremental evaluator against a REAL Prometheus: generated histories (tests/helpers/trigger-histories.ts)
// are backfilled at once, each under its own label value, and each trigger is evaluated over a sequence of
// times by a client that keeps its runs (incremental) and by whole-window reads; both must say the same thing
// at every step. The model test (tests/core/incremental-evaluation.test.ts) covers what backfill cannot write:
// staleness markers and samples that land late.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvaluationStore, readTrigger } from '../../core/incremental-evaluation.ts';
import type { Trigger, TriggerResult } from '../../core/triggers.ts';
import { type PrometheusFixture, type SeriesSpec, startPrometheus, buildOpenMetrics } from '../../devkit/prometheus/index.ts';
import { createPrometheus } from '../../integrations/prometheus.ts';
import { buildSamples, HISTORY_SECONDS, history, type QueryKind, type SeriesShape, STALE } from '../helpers/trigger-histories.ts';

const LONG = process.env.SCALEBOT_LONG === '1';
const HISTORIES = LONG ? 60 : 20;
const historyStart = Math.floor(Date.now() / 1000) - HISTORY_SECONDS - 600;
// test:long draws new histories each run; HISTORY_SEED replays a run (its seed is in every failure message).
const seed = Number(process.env.HISTORY_SEED) || (LONG ? Date.now() : 17);
const generated = fc.sample(history, { numRuns: HISTORIES, seed });

function queryOf(kind: QueryKind, index: number): string {
  const selector = `{history="${index}"}`;
  if (kind === 'rate') return `rate(incremental_counter_total${selector}[1m])`;
  return kind === 'filtered' ? `incremental_probe${selector} > 0.3` : `incremental_probe${selector}`;
}

function seriesSpecs(): SeriesSpec[] {
  return generated.flatMap((entry, index) =>
    entry.series.map((shape, seriesIndex): SeriesSpec => {
      // Backfill writes what it is given at once and cannot write a staleness marker: those stay in the model test.
      const samples = buildSamples(historyStart, seriesIndex, shape as SeriesShape, entry.kind).filter((sample) => sample.v !== STALE);
      return {
        name: entry.kind === 'rate' ? 'incremental_counter_total' : 'incremental_probe',
        type: entry.kind === 'rate' ? 'counter' : 'gauge',
        labels: { history: String(index), instance: `host-${seriesIndex}` },
        samples: samples.map((sample) => [sample.t / 1000, sample.v as number]),
      };
    }),
  );
}

const comparable = (results: readonly TriggerResult[]) => results.map(({ trigger, ...rest }) => ({ id: trigger.id, threshold: trigger.threshold, ...rest }));

describe('incremental evaluation against a real Prometheus', () => {
  let prom: PrometheusFixture;

  beforeAll(async () => {
    prom = await startPrometheus({ openMetrics: buildOpenMetrics(seriesSpecs()) });
  }, 120_000);
  afterAll(async () => {
    await prom?.stop();
  });

  it(`says what the whole-window read says at every evaluation, on ${HISTORIES} generated histories at once`, async () => {
    const client = createPrometheus({ url: prom.url, timeoutMs: 10_000 });
    const statesSeen = new Set<string>();
    await Promise.all(
      generated.map(async (entry, index) => {
        const store = createEvaluationStore();
        let trigger: Trigger = {
          id: `history-${index}`,
          name: `History ${index}`,
          severity: 'soon',
          query: queryOf(entry.kind, index),
          op: entry.op,
          threshold: entry.threshold,
          forSeconds: entry.forSeconds,
          unit: 'count',
        };
        let at = historyStart + entry.firstAt;
        // An evaluation that must read incrementally: a short step forward from one that was itself the latest so far,
        // with no change of definition between them. After a step back, the store keeps the later evaluation.
        let incrementalExpected = false;
        let latestAt = Number.NEGATIVE_INFINITY;
        let previousWasLatest = false;
        for (const [step, move] of [0, ...entry.moves].entries()) {
          at += move;
          const thresholdChanges = entry.changeThresholdAt === step;
          if (thresholdChanges) trigger = { ...trigger, threshold: trigger.threshold === 0.5 ? 0.8 : 0.5 };
          if (step > 0 && previousWasLatest && !thresholdChanges && move >= 0 && move <= 240) incrementalExpected = true;
          previousWasLatest = at >= latestAt;
          latestAt = Math.max(latestAt, at);
          const whole = await readTrigger(trigger, client, at, entry.lookbackSeconds);
          const incremental = await readTrigger(trigger, client, at, entry.lookbackSeconds, store);
          expect(comparable(incremental), `history ${index} (seed ${seed}) at ${at}`).toEqual(comparable(whole));
          for (const result of whole) statesSeen.add(result.state);
        }
        if (incrementalExpected) expect(store.counts().incrementalReads, `history ${index} (seed ${seed})`).toBeGreaterThan(0);
      }),
    );
    // The histories put series in every state, so that each comparison could have gone wrong.
    expect([...statesSeen].sort()).toEqual(['breached', 'no_data', 'ok', 'pending']);
  }, 60_000);
});
