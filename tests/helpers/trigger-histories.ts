// Generated trigger histories for the incremental evaluator's tests (tests/core/incremental-evaluation.test.ts
// against a model of Prometheus, tests/integrations/incremental-prometheus.test.ts against the real one): a few
// series each, scraped at various intervals, with gaps, series that start late or stop (with a staleness marker
// or without), values flapping around the thresholds, NaN, counter resets, and samples that land late; and a
// sequence of evaluation times that moves by a few seconds, a scrape, past a window, and now and then backwards.
import fc from 'fast-check';

export type QueryKind = 'gauge' | 'filtered' | 'rate';

export const STALE = Symbol('stale');

export interface Sample {
  /** Milliseconds. */
  readonly t: number;
  readonly v: number | typeof STALE;
  /** When it has been ingested (milliseconds): queries before then do not see it. */
  readonly visibleAt: number;
}

export const VALUES = [0.2, 0.5, 0.79, 0.8, 0.81, 0.95, Number.NaN] as const;

export const seriesShape = fc.record({
  intervalSeconds: fc.constantFrom(5, 10, 15, 30, 60),
  /** When it starts and stops, in seconds from the history's start (stop null: runs to the end). */
  startsAfter: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 7000 })),
  stopsAfter: fc.option(fc.integer({ min: 3000, max: 9000 }), { nil: null }),
  staleWhenStopped: fc.boolean(),
  gaps: fc.array(fc.tuple(fc.integer({ min: 3000, max: 9000 }), fc.integer({ min: 1, max: 1800 })), { maxLength: 4 }),
  values: fc.oneof(
    fc.array(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 30 }),
    // Flapping around both thresholds and the filter's 0.3: holes and breaks of a step or two.
    fc.array(fc.constantFrom(0.2, 0.79, 0.95), { minLength: 2, maxLength: 4 }),
  ),
  /** Samples each value holds for. */
  hold: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 40 })),
  /** A counter reset every this many samples (rate queries). */
  resetEvery: fc.option(fc.integer({ min: 3, max: 200 }), { nil: null }),
  maxDelaySeconds: fc.constantFrom(0, 2, 30, 30),
});

/** The histories are this long; evaluations fall after their first hour (the longest window is two). */
export const HISTORY_SECONDS = 9000;

/** The samples of one generated series, from `historyStart` (unix seconds), times in milliseconds. */
export function buildSamples(historyStart: number, index: number, shape: SeriesShape, kind: QueryKind): Sample[] {
  const samples: Sample[] = [];
  const stopAt = shape.stopsAfter === null ? HISTORY_SECONDS : Math.max(shape.startsAfter, shape.stopsAfter);
  let counter = 0;
  let sampleIndex = 0;
  for (let offset = shape.startsAfter; offset <= stopAt; offset += shape.intervalSeconds) {
    if (shape.gaps.some(([from, length]) => offset >= from && offset < from + length)) continue;
    const value = shape.values[Math.floor(sampleIndex / shape.hold) % shape.values.length]!;
    let stored = value;
    if (kind === 'rate') {
      if (shape.resetEvery !== null && sampleIndex % shape.resetEvery === 0) counter = 0;
      counter += Number.isNaN(value) ? 0 : value * shape.intervalSeconds;
      stored = counter;
    }
    const t = (historyStart + offset) * 1000;
    const delay = shape.maxDelaySeconds === 0 ? 0 : ((sampleIndex * 7919 + index * 104_729) % (shape.maxDelaySeconds * 1000 + 1)) | 0;
    samples.push({ t, v: stored, visibleAt: t + delay });
    sampleIndex += 1;
  }
  if (shape.stopsAfter !== null && shape.staleWhenStopped) {
    const t = (historyStart + stopAt) * 1000 + 1;
    samples.push({ t, v: STALE, visibleAt: t });
  }
  return samples;
}
export type SeriesShape = {
  intervalSeconds: number;
  startsAfter: number;
  stopsAfter: number | null;
  staleWhenStopped: boolean;
  gaps: Array<[number, number]>;
  values: number[];
  hold: number;
  resetEvery: number | null;
  maxDelaySeconds: number;
};

export const history = fc.record({
  kind: fc.constantFrom<QueryKind>('gauge', 'filtered', 'rate'),
  series: fc.array(seriesShape, { minLength: 0, maxLength: 5 }),
  forSeconds: fc.constantFrom(0, 30, 60, 300, 900, 3600),
  op: fc.constantFrom('>' as const, '>=' as const, '<' as const, '<=' as const),
  threshold: fc.constantFrom(0.5, 0.8),
  lookbackSeconds: fc.constantFrom(undefined, 600, 1800, 3600),
  /** Seconds into the history of the first evaluation, with milliseconds. */
  firstAt: fc.integer({ min: 0, max: 3_500_000 }).map((ms) => 3700 + ms / 1000),
  /** Seconds from one evaluation to the next: 0, a few steps, a scrape, past a window, and now and then backwards. */
  moves: fc.array(
    fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 1000, max: 120_000 }).map((ms) => ms / 1000) },
      { weight: 2, arbitrary: fc.constantFrom(0, 15, 30, 60, 300) },
      { weight: 1, arbitrary: fc.integer({ min: 120, max: 5000 }) },
      { weight: 1, arbitrary: fc.integer({ min: -600, max: -1 }) },
    ),
    { minLength: 1, maxLength: 25 },
  ),
  /** Evaluations (by index) before which the threshold changes: a config change. */
  changeThresholdAt: fc.option(fc.nat(24), { nil: null }),
});
