// The forecast's fit (core/forecast.ts), on generated series whose truth is known: a trend with a daily cycle
// and noise, sampled with holes, must be forecast to cross when it truly does; cycles without a trend must never
// be taken for one; a gap must never be fitted across.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeForecast, forecastQueryWindow, forecastSeries, forecastWarns, type ForecastSettings } from '../../core/forecast.ts';
import type { Operator } from '../../core/triggers.ts';

const DAY = 86_400;
const HOUR = 3_600;
const settings: ForecastSettings = { windowSeconds: 7 * DAY, minHistorySeconds: DAY, warnWithinSeconds: 14 * DAY };
// 2027-01-15 08:00 UTC; a multiple of every step used here, like a real grid's end need not be.
const at = 1_800_000_000;
const now = new Date(at * 1000);
const users = (op: Operator, threshold: number) => ({ op, threshold, unit: 'count' as const });

type Points = Array<[number, number]>;

/** Samples of `value` every `step` back from `at` over `historySeconds`, without the times `skip` says. */
function sample(value: (t: number) => number, historySeconds: number, step: number, skip: (t: number) => boolean = () => false): Points {
  const points: Points = [];
  for (let t = at - Math.floor(historySeconds / step) * step; t <= at; t += step) if (!skip(t)) points.push([t, value(t)]);
  return points;
}

/** A deterministic noise in [-1, 1] from a seed and a time: fast-check shrinks the seed, not 2,000 numbers. */
function noise(seed: number, t: number): number {
  const x = Math.sin(seed * 12.9898 + t * 78.233) * 43758.5453;
  return 2 * (x - Math.floor(x)) - 1;
}

describe('forecastSeries, properties', () => {
  it('a line with a daily cycle and noise, sampled with holes, crosses within 10 % of when its daily peaks truly reach the threshold', () => {
    fc.assert(
      fc.property(
        fc.record({
          perDay: fc.double({ min: 1, max: 50, noNaN: true }),
          daysToCross: fc.double({ min: 3, max: 60, noNaN: true }),
          // The cycle up to five days' growth, the noise up to a twentieth of one day's.
          cycle: fc.double({ min: 0, max: 5, noNaN: true }),
          noiseShare: fc.double({ min: 0, max: 0.05, noNaN: true }),
          phase: fc.double({ min: 0, max: 1, noNaN: true }),
          historyDays: fc.double({ min: 3.2, max: 7, noNaN: true }),
          step: fc.constantFrom(60, 300, 600),
          seed: fc.integer({ min: 1, max: 1_000_000 }),
          // Holes shorter than a gap: a missed scrape here and there, up to 30 min.
          holeEvery: fc.integer({ min: 2 * HOUR, max: 12 * HOUR }),
          holeLength: fc.integer({ min: 0, max: 30 * 60 }),
          rising: fc.boolean(),
        }),
        (c) => {
          const amplitude = c.cycle * c.perDay;
          const sign = c.rising ? 1 : -1;
          const threshold = 1000;
          // The daily peak (level + amplitude) reaches the threshold in exactly daysToCross days.
          const peakNow = threshold - sign * c.perDay * c.daysToCross;
          const value = (t: number) =>
            peakNow -
            sign * amplitude +
            sign * (c.perDay * ((t - at) / DAY) + amplitude * Math.sin(2 * Math.PI * (t / DAY + c.phase))) +
            c.noiseShare * c.perDay * noise(c.seed, t);
          const points = sample(value, c.historyDays * DAY, c.step, (t) => (t - at) % c.holeEvery > -c.holeLength && t < at);
          const forecast = forecastSeries(users(c.rising ? '>' : '<', threshold), points, at, settings);
          expect(forecast.outcome).toBe('crosses');
          expect(Math.abs(forecast.days! - c.daysToCross)).toBeLessThanOrEqual(0.1 * c.daysToCross);
          expect(forecast.crossesAt!.getTime()).toBeCloseTo((at + forecast.days! * DAY) * 1000, -1);
          expect(Math.sign(forecast.slopePerDay!)).toBe(sign);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a flat series with daily and weekly cycles (and a little noise) is never forecast to cross, over a week of history', () => {
    fc.assert(
      fc.property(
        fc.record({
          level: fc.double({ min: 10, max: 10_000, noNaN: true }),
          daily: fc.double({ min: 0, max: 0.5, noNaN: true }),
          weekly: fc.double({ min: 0.02, max: 0.5, noNaN: true }),
          dailyPhase: fc.double({ min: 0, max: 1, noNaN: true }),
          weeklyPhase: fc.double({ min: 0, max: 1, noNaN: true }),
          noiseShare: fc.double({ min: 0, max: 0.01, noNaN: true }),
          margin: fc.double({ min: 0.01, max: 2, noNaN: true }),
          historyDays: fc.double({ min: 7, max: 10, noNaN: true }),
          step: fc.constantFrom(60, 300, 600),
          seed: fc.integer({ min: 1, max: 1_000_000 }),
          rising: fc.boolean(),
        }),
        (c) => {
          const swing = c.level * (c.daily + c.weekly);
          const value = (t: number) =>
            c.level +
            c.level * c.daily * Math.sin(2 * Math.PI * (t / DAY + c.dailyPhase)) +
            c.level * c.weekly * Math.sin(2 * Math.PI * (t / (7 * DAY) + c.weeklyPhase)) +
            c.level * c.weekly * c.noiseShare * noise(c.seed, t);
          const reach = swing * (1 + c.margin) + c.level * c.weekly * c.noiseShare;
          const threshold = c.rising ? c.level + reach : c.level - reach;
          const forecast = forecastSeries(users(c.rising ? '>' : '<', threshold), sample(value, c.historyDays * DAY, c.step), at, settings);
          expect(forecast.outcome).not.toBe('crosses');
          expect(forecast.outcome).not.toBe('already_over');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never fits across a gap: what came before the last gap changes nothing but the words', () => {
    fc.assert(
      fc.property(
        fc.record({
          gapEndsDaysAgo: fc.double({ min: 0.2, max: 5.5, noNaN: true }),
          gapHours: fc.double({ min: 1.2, max: 30, noNaN: true }),
          before: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
          beforeSlope: fc.double({ min: -1e4, max: 1e4, noNaN: true }),
          perDay: fc.double({ min: -20, max: 20, noNaN: true }),
          step: fc.constantFrom(60, 300),
        }),
        (c) => {
          const gapEnd = at - c.gapEndsDaysAgo * DAY;
          const gapStart = gapEnd - c.gapHours * HOUR;
          const value = (t: number) => (t < gapStart ? c.before + c.beforeSlope * ((t - at) / DAY) : 100 + c.perDay * ((t - at) / DAY));
          const all = sample(value, 7 * DAY, c.step, (t) => t >= gapStart && t < gapEnd);
          const after = all.filter(([t]) => t >= gapEnd);
          const trigger = users('>', 400);
          const withGap = forecastSeries(trigger, all, at, settings);
          const alone = forecastSeries(trigger, after, at, settings);
          const { basis: _withGapBasis, ...seen } = withGap;
          const { basis: _aloneBasis, ...expected } = alone;
          expect(seen).toEqual(expected);
          expect(withGap.historySeconds).toBeLessThanOrEqual(at - gapEnd + c.step);
          if (withGap.outcome === 'not_enough_history') expect(withGap.basis).toMatch(/since a gap at/);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('is monotonic: a steeper trend from the same value crosses no later', () => {
    fc.assert(
      fc.property(
        fc.record({
          slower: fc.double({ min: 0.5, max: 40, noNaN: true }),
          faster: fc.double({ min: 0.5, max: 40, noNaN: true }),
          start: fc.double({ min: 0, max: 400, noNaN: true }),
          cycle: fc.double({ min: 0, max: 30, noNaN: true }),
          historyDays: fc.double({ min: 1, max: 7, noNaN: true }),
        }),
        (c) => {
          fc.pre(c.slower < c.faster);
          const trigger = users('>', 500);
          const series = (perDay: number) =>
            sample((t) => c.start + perDay * ((t - at) / DAY) + c.cycle * Math.sin((2 * Math.PI * t) / DAY), c.historyDays * DAY, 300);
          const slow = forecastSeries(trigger, series(c.slower), at, settings);
          const fast = forecastSeries(trigger, series(c.faster), at, settings);
          if (slow.outcome === 'crosses') {
            expect(fast.outcome === 'crosses' || fast.outcome === 'already_over').toBe(true);
            if (fast.outcome === 'crosses') expect(fast.days!).toBeLessThanOrEqual(slow.days! + 1e-9);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('forecastSeries, cases', () => {
  const linear =
    (perDay: number, level = 200) =>
    (t: number) =>
      level + perDay * ((t - at) / DAY);

  it('says how much history it had and how much it needs, and since which gap', () => {
    const short = forecastSeries(users('>', 500), sample(linear(20), 9 * HOUR, 300), at, settings);
    expect(short.outcome).toBe('not_enough_history');
    expect(short.basis).toBe('not enough history: 9 h of the 24 h needed');
    expect(describeForecast(short, users('>', 500), now)).toBe('not enough history (9 h of 24 h)');

    const cut = sample(linear(20), 3 * DAY, 300, (t) => t > at - 12 * HOUR && t < at - 9 * HOUR);
    const afterGap = forecastSeries(users('>', 500), cut, at, settings);
    expect(afterGap.outcome).toBe('not_enough_history');
    expect(afterGap.basis).toMatch(/^not enough history: 9 h of the 24 h needed, since a gap at Jan 14 \d\d:\d\d UTC$/);
  });

  it('gives no forecast for a series that stopped, nor for none at all', () => {
    const stopped = sample(linear(20), 5 * DAY, 300).filter(([t]) => t < at - 2 * HOUR);
    const stale = forecastSeries(users('>', 500), stopped, at, settings);
    expect(stale.outcome).toBe('not_enough_history');
    expect(stale.basis).toMatch(/stale/);
    expect(describeForecast(stale, users('>', 500), now)).toBe('no forecast: no recent data');
    const none = forecastSeries(users('>', 500), [], at, settings);
    expect(describeForecast(none, users('>', 500), now)).toBe('no forecast: no history');
    expect(forecastSeries(users('>', 500), [[at, Number.NaN]], at, settings).outcome).toBe('not_enough_history');
  });

  it('crosses: "crosses 500 in ~15 days (Jan 30)" on daily peaks', () => {
    const forecast = forecastSeries(users('>', 500), sample(linear(20), 7 * DAY, 300), at, settings);
    expect(forecast.outcome).toBe('crosses');
    expect(forecast.days).toBeCloseTo(15, 6);
    expect(forecast.slopePerDay).toBeCloseTo(20, 6);
    expect(forecast.basis).toBe('least squares on 7 daily peaks over 7 d');
    expect(describeForecast(forecast, users('>', 500), now)).toBe('crosses 500 in ~15 days (Jan 30)');
    expect(forecastWarns(forecast, settings)).toBe(false);
    expect(forecastWarns(forecast, { warnWithinSeconds: 15 * DAY })).toBe(true);
  });

  it('fits hourly peaks below three days and says a daily cycle cannot be told apart yet', () => {
    const forecast = forecastSeries(users('>', 500), sample(linear(20), 36 * HOUR, 300), at, settings);
    expect(forecast.outcome).toBe('crosses');
    expect(forecast.basis).toMatch(/^least squares on 36 hourly peaks over 1 d 12 h; with under 3 days of history a daily cycle can't be told apart/);
  });

  it('already over, flat, and moving away, for both directions of trigger', () => {
    expect(forecastSeries(users('>', 150), sample(linear(20), 7 * DAY, 300), at, settings).outcome).toBe('already_over');
    const falling = forecastSeries(users('>', 500), sample(linear(-20), 7 * DAY, 300), at, settings);
    expect(falling.outcome).toBe('flat_or_falling');
    expect(describeForecast(falling, users('>', 500), now)).toBe('flat or falling');
    // For a "< 50" trigger, falling is toward the threshold: 200 − 10/day reaches 50 in 15 days.
    const dropping = forecastSeries(users('<', 50), sample(linear(-10), 7 * DAY, 300), at, settings);
    expect(dropping.outcome).toBe('crosses');
    expect(dropping.days).toBeCloseTo(15, 6);
    const rising = forecastSeries(users('<', 50), sample(linear(10), 7 * DAY, 300), at, settings);
    expect(rising.outcome).toBe('flat_or_falling');
    expect(describeForecast(rising, users('<', 50), now)).toBe('flat or rising');
  });

  it('a weekend dip at the end of the week is no trend: "no clear trend (a weekly pattern?)"', () => {
    // Weekdays peak at 400, the last two days at 300: least squares slopes down, but for a "< 350" trigger
    // (free capacity, say) that is toward the threshold; the median slope between the peaks is 0.
    const weekend = (t: number) => (t > at - 2 * DAY ? 300 : 400) + 10 * Math.sin((2 * Math.PI * t) / DAY);
    const trigger = users('<', 250);
    const forecast = forecastSeries(trigger, sample(weekend, 7 * DAY, 300), at, settings);
    expect(forecast.outcome).toBe('no_clear_trend');
    expect(describeForecast(forecast, trigger, now)).toBe('no clear trend (a weekly pattern?)');
  });

  it('a crossing more than a year out is flat, for planning', () => {
    const forecast = forecastSeries(users('>', 10_000), sample(linear(1), 7 * DAY, 300), at, settings);
    expect(forecast.outcome).toBe('flat_or_falling');
    expect(forecast.slopePerDay).toBeCloseTo(1, 6);
  });
});

describe('forecastQueryWindow', () => {
  it('asks for 5-minute points over a week, and never more than ~2,000 points a series', () => {
    expect(forecastQueryWindow({ windowSeconds: 7 * DAY })).toEqual({ startOffset: 7 * DAY, step: 300 });
    fc.assert(
      fc.property(fc.integer({ min: HOUR, max: 400 * DAY }), (windowSeconds) => {
        const { startOffset, step } = forecastQueryWindow({ windowSeconds });
        expect(startOffset).toBe(windowSeconds);
        expect(windowSeconds / step).toBeLessThanOrEqual(2100);
        if (step <= DAY) expect(DAY % step).toBe(0);
      }),
    );
  });
});
