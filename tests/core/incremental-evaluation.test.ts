// The incremental evaluator must say what the whole-window read says: the same series, states, values and
// held_seconds, at every evaluation of a sequence. Both read from an in-memory MODEL of Prometheus's range-query
// semantics (not Prometheus itself; tests/integrations/incremental-prometheus.test.ts runs the real one):
// - a range query evaluates the expression at start + k·step (milliseconds, as Prometheus does);
// - an instant selector takes the latest sample at or before t within the 5-minute lookback delta, and a
//   staleness marker as the latest sample means no value;
// - `m > 0.3` is the instant selector's value where it is above 0.3 and no value elsewhere (a filtering
//   comparison leaves holes of a single step);
// - `rate(m[1m])` takes the samples in (t − 1 m, t], at least two, counting a drop as a counter reset
//   (without Prometheus's extrapolation: both readers see the same function either way);
// - a sample is visible to queries only once it has been ingested (`visibleAt`, up to 30 s after its
//   timestamp, as a slow scrape or a recording rule lands after the time it is stamped with).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEvaluationStore, evaluationGrid, readTrigger, SETTLE_SECONDS } from '../../core/incremental-evaluation.ts';
import type { Series, Trigger, TriggerResult } from '../../core/triggers.ts';
import { buildSamples, history, type QueryKind, type Sample, type SeriesShape, STALE } from '../helpers/trigger-histories.ts';

const HISTORY_START = 1_700_000_000;

const LONG = process.env.SCALEBOT_LONG === '1';
const LOOKBACK_DELTA_MS = 300_000;
const RATE_WINDOW_MS = 60_000;
interface ModelSeries {
  readonly labels: Record<string, string>;
  readonly samples: readonly Sample[];
}

/** The latest index with samples[i].t <= t, or -1. */
function latestAtOrBefore(samples: readonly Sample[], t: number): number {
  let low = 0;
  let high = samples.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (samples[middle]!.t <= t) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}

const QUERIES: Record<QueryKind, string> = { gauge: 'm', filtered: 'm > 0.3', rate: 'rate(m[1m])' };

function modelValue(kind: QueryKind, samples: readonly Sample[], t: number): number | undefined {
  const last = latestAtOrBefore(samples, t);
  if (kind !== 'rate') {
    const sample = samples[last];
    if (!sample || sample.t <= t - LOOKBACK_DELTA_MS || sample.v === STALE) return undefined;
    // NaN > 0.3 is false in PromQL too: the filter drops it.
    if (kind === 'filtered' && !(sample.v > 0.3)) return undefined;
    return sample.v;
  }
  const inWindow: number[] = [];
  let firstT = 0;
  let lastT = 0;
  for (let index = last; index >= 0 && samples[index]!.t > t - RATE_WINDOW_MS; index -= 1) {
    const sample = samples[index]!;
    if (sample.v === STALE) continue;
    if (inWindow.length === 0) lastT = sample.t;
    firstT = sample.t;
    inWindow.unshift(sample.v);
  }
  if (inWindow.length < 2) return undefined;
  let increase = 0;
  for (let index = 1; index < inWindow.length; index += 1) {
    const delta = inWindow[index]! - inWindow[index - 1]!;
    increase += delta < 0 ? inWindow[index]! : delta;
  }
  return increase / ((lastT - firstT) / 1000);
}

/** The model Prometheus: queryRange over what is visible at `now` (seconds). */
function modelPrometheus(series: readonly ModelSeries[]) {
  const state = { now: 0, queries: [] as Array<{ start: number; end: number; step: number }> };
  return {
    state,
    async queryRange(query: string, start: number, end: number, step: number): Promise<Series[]> {
      state.queries.push({ start, end, step });
      const kind = (Object.keys(QUERIES) as QueryKind[]).find((candidate) => QUERIES[candidate] === query)!;
      const nowMs = Math.round(state.now * 1000);
      const [startMs, endMs, stepMs] = [Math.round(start * 1000), Math.round(end * 1000), Math.round(step * 1000)];
      const answer: Series[] = [];
      for (const { labels, samples } of series) {
        const visible = samples.filter((sample) => sample.visibleAt <= nowMs);
        const points: Array<[number, number]> = [];
        for (let t = startMs; t <= endMs; t += stepMs) {
          const value = modelValue(kind, visible, t);
          if (value !== undefined) points.push([t / 1000, value]);
        }
        if (points.length > 0) answer.push({ labels, points });
      }
      return answer;
    },
  };
}

const comparable = (results: readonly TriggerResult[]) => results.map(({ trigger, ...rest }) => ({ id: trigger.id, threshold: trigger.threshold, ...rest }));

describe('incremental evaluation (against a model of Prometheus range queries)', () => {
  it('says what the whole-window read says, at every evaluation of a sequence, while reading only what is new', async () => {
    await fc.assert(
      fc.asyncProperty(history, async (generated) => {
        const model = modelPrometheus(
          generated.series.map((shape, index) => ({
            labels: { instance: `host-${index}` },
            samples: buildSamples(HISTORY_START, index, shape as SeriesShape, generated.kind),
          })),
        );
        const store = createEvaluationStore();
        let trigger: Trigger = {
          id: 't',
          name: 'T',
          severity: 'immediate',
          query: QUERIES[generated.kind],
          op: generated.op,
          threshold: generated.threshold,
          forSeconds: generated.forSeconds,
          unit: 'count',
        };
        let at = HISTORY_START + generated.firstAt;
        let latestAt = Number.NEGATIVE_INFINITY;
        let previous: { at: number; trigger: Trigger } | null = null;
        for (const [index, move] of [0, ...generated.moves].entries()) {
          at += move;
          if (generated.changeThresholdAt === index) {
            trigger = { ...trigger, threshold: trigger.threshold === 0.5 ? 0.8 : 0.5 };
            // A new definition: what was kept for the old one says nothing about it.
            latestAt = Number.NEGATIVE_INFINITY;
          }
          model.state.now = at;
          const whole = await readTrigger(trigger, model, at, generated.lookbackSeconds);
          model.state.queries = [];
          const before = store.counts();
          const incremental = await readTrigger(trigger, model, at, generated.lookbackSeconds, store);
          expect(comparable(incremental)).toEqual(comparable(whole));
          const { windowSeconds, stepSeconds } = evaluationGrid(trigger, at, generated.lookbackSeconds);
          const readOn = previous !== null && previous.trigger === trigger && at >= latestAt && at - latestAt <= windowSeconds / 2;
          if (readOn) {
            // Only what is new: the points since the last evaluation, the settling margin, and the value at `at`.
            expect(store.counts().incrementalReads).toBe(before.incrementalReads + 1);
            for (const query of model.state.queries) {
              expect(query.end - query.start).toBeLessThanOrEqual(at - latestAt + Math.max(SETTLE_SECONDS, stepSeconds) + stepSeconds);
            }
          }
          if (at < latestAt) expect(store.counts().wholeWindowReads).toBe(before.wholeWindowReads + 1);
          latestAt = Math.max(latestAt, at);
          previous = { at, trigger };
        }
      }),
      { numRuns: LONG ? 3000 : 200 },
    );
  }, 60_000);

  it('keeps one run per series in a matching run, per definition, and nothing past its bound', async () => {
    const at = HISTORY_START + 10_000;
    const series: ModelSeries[] = Array.from({ length: 1000 }, (_, index) => ({
      labels: { instance: `host-${index}` },
      samples: Array.from({ length: 200 }, (_, k) => {
        const t = (HISTORY_START + 10_000 - 3000 + k * 15) * 1000;
        return { t, v: index % 4 === 0 ? 0.9 : 0.1, visibleAt: t };
      }),
    }));
    const model = modelPrometheus(series);
    model.state.now = at;
    const store = createEvaluationStore();
    const trigger: Trigger = { id: 'm', name: 'M', severity: 'soon', query: 'm', op: '>', threshold: 0.5, forSeconds: 300, unit: 'count' };
    await readTrigger(trigger, model, at, undefined, store);
    expect(store.counts()).toMatchObject({ definitions: 1, keptRuns: 250 });
    await readTrigger({ ...trigger, threshold: 0.05 }, model, at, undefined, store);
    expect(store.counts()).toMatchObject({ definitions: 2, keptRuns: 1250, wholeWindowReads: 2 });
    const capped = createEvaluationStore({ maxKeptRuns: 500 });
    await readTrigger({ ...trigger, threshold: 0.05 }, model, at, undefined, capped);
    expect(capped.counts()).toMatchObject({ definitions: 0, keptRuns: 0 });
  });
});
