import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildChartModel, type ChartModelInput, chartWindowSeconds, MAX_CHART_LINES, seriesLabel } from '../../core/chart.ts';
import type { Forecast } from '../../core/forecast.ts';
import { OPERATORS, type Series, type Trigger } from '../../core/triggers.ts';

const AT = new Date('2026-12-04T15:00:00Z');
const END = AT.getTime() / 1000;

const CPU: Trigger = { id: 'cpu', name: 'CPU usage', severity: 'immediate', query: 'q', op: '>', threshold: 0.7, forSeconds: 900, unit: 'percent' };
const USERS: Trigger = { id: 'users', name: 'Concurrent users', severity: 'soon', query: 'q', op: '>', threshold: 500, forSeconds: 0, unit: 'count' };
const FREE_DISK: Trigger = { id: 'disk', name: 'Free disk', severity: 'immediate', query: 'q', op: '<', threshold: 0.2, forSeconds: 300, unit: 'percent' };

/** A series ending at `last` over the hour before AT. */
function series(instance: string, last: number, extra: Record<string, string> = { job: 'node' }): Series {
  return {
    labels: { instance, ...extra },
    points: [
      [END - 3600, last / 2],
      [END - 1800, last * 0.8],
      [END, last],
    ],
  };
}

function model(overrides: Partial<ChartModelInput> = {}) {
  return buildChartModel({ trigger: CPU, series: [series('web-1:9100', 0.8)], at: AT, windowSeconds: 5400, theme: 'light', ...overrides });
}

const crossing = (crossesAt: Date, slopePerDay: number): Forecast => ({
  outcome: 'crosses',
  crossesAt,
  days: (crossesAt.getTime() / 1000 - END) / 86400,
  slopePerDay,
  basis: 'least squares on 7 daily peaks',
  historySeconds: 7 * 86400,
});

describe('chartWindowSeconds', () => {
  it('is the larger of 6 × for and an hour, a day for "scale soon" triggers, or what was asked', () => {
    expect(chartWindowSeconds(CPU)).toBe(5400);
    expect(chartWindowSeconds({ ...CPU, forSeconds: 300 })).toBe(3600);
    expect(chartWindowSeconds({ ...CPU, forSeconds: 0 })).toBe(3600);
    expect(chartWindowSeconds(USERS)).toBe(86400);
    expect(chartWindowSeconds(USERS, 7 * 86400)).toBe(7 * 86400);
    expect(() => chartWindowSeconds(CPU, 0)).toThrow(/positive number of seconds/);
  });
});

describe('buildChartModel', () => {
  it('draws the five series furthest past the threshold, the highest first, and counts the rest', () => {
    const values = [0.5, 0.95, 0.3, 0.72, 0.9, 0.1, 0.85, 0.6];
    const built = model({ series: values.map((value, index) => series(`web-${index + 1}:9100`, value)) });
    expect(built.lines.map((line) => line.label)).toEqual(['web-2:9100', 'web-5:9100', 'web-7:9100', 'web-4:9100', 'web-8:9100']);
    expect(built.moreCount).toBe(3);
    expect(built.current).toEqual({ value: 0.95, label: '95 %' });
    expect(built.altText).toMatch(/web-2:9100 now at 95 %, past the threshold of 70 %; 8 series, the 5 furthest past the threshold drawn/);
  });

  it('for a `<` trigger, the lowest first', () => {
    const built = model({ trigger: FREE_DISK, series: [0.5, 0.1, 0.3, 0.05].map((value, index) => series(`db-${index + 1}`, value)) });
    expect(built.lines.map((line) => line.label)).toEqual(['db-4', 'db-2', 'db-3', 'db-1']);
    expect(built.current?.label).toBe('5 %');
    expect(built.moreCount).toBe(0);
  });

  it('labels a series by its instance first, without the labels every series shares', () => {
    expect(seriesLabel({ job: 'node', instance: 'web-1:9100', region: 'eu' }, 'x')).toBe('web-1:9100 job=node region=eu');
    expect(seriesLabel({}, 'CPU usage')).toBe('CPU usage');
    const built = model({ series: [series('web-1', 0.8, { job: 'node', zone: 'a' }), series('web-2', 0.7, { job: 'node', zone: 'b' })] });
    expect(built.lines.map((line) => line.label)).toEqual(['web-1 zone=a', 'web-2 zone=b']);
    expect(built.title).toBe('CPU usage');
    expect(model().title).toBe('CPU usage — web-1:9100 job=node');
    expect(model({ title: 'Breach of CPU usage' }).title).toBe('Breach of CPU usage');
  });

  it('shows the window ending at `at`, drops points outside it, and marks the `for` window when there is one', () => {
    const built = model({ windowSeconds: 2000 });
    expect([built.start, built.end]).toEqual([END - 2000, END]);
    expect(built.lines[0]!.points).toEqual([
      [END - 1800, 0.8 * 0.8],
      [END, 0.8],
    ]);
    expect(built.forWindow).toEqual({ start: END - 900, end: END });
    expect(built.subtitle).toBe('scale now · over 70 % for 15 min · last 33 min');
    expect(model({ trigger: { ...CPU, forSeconds: 0 } }).forWindow).toBeNull();
    expect(model({ breachSpan: { start: END - 99999, end: END - 600 } }).breachSpan).toEqual({ start: END - 5400, end: END - 600 });
  });

  it('continues the first line dashed to a crossing within a third of a window past the end', () => {
    const forecast = model({ trigger: USERS, series: [series('app', 450)], windowSeconds: 86400, forecast: crossing(new Date((END + 6 * 3600) * 1000), 200) });
    expect(forecast.forecast).toEqual({
      points: [
        [END, 450],
        [END + 6 * 3600, 500],
      ],
      label: 'crosses 500 in ~6 h',
    });
  });

  it('takes the forecast of the series that ranks first when given each series’ forecast by its labels', () => {
    const soon = crossing(new Date((END + 6 * 3600) * 1000), 200);
    const forApp = (name: string) => (labels: Readonly<Record<string, string>>) => (labels.instance === name ? soon : null);
    const twoSeries = [series('app-b', 300), series('app-a', 450)];
    const drawn = model({ trigger: USERS, series: twoSeries, windowSeconds: 86400, forecast: forApp('app-a') });
    expect(drawn.forecast?.label).toBe('crosses 500 in ~6 h');
    // Only the second-ranked series has a trend: the first line is not continued with another series' trend.
    expect(model({ trigger: USERS, series: twoSeries, windowSeconds: 86400, forecast: forApp('app-b') }).forecast).toBeNull();
  });

  it('stops a farther crossing at a third of a window past the end, on the way to it', () => {
    const built = model({ trigger: USERS, series: [series('app', 400)], windowSeconds: 86400, forecast: crossing(new Date((END + 10 * 86400) * 1000), 10) });
    const [from, to] = built.forecast!.points;
    expect(from).toEqual([END, 400]);
    expect(to![0]).toBe(END + 86400 / 3);
    expect(to![1]).toBeCloseTo(400 + 100 * (1 / 30), 6);
    expect(built.forecast!.label).toBe('crosses 500 in ~10 days');
    expect(built.altText).toMatch(/trend: crosses 500 in ~10 days\.$/);
  });

  it('draws a flat or falling trend at its slope, and no line where there is no trend to draw', () => {
    const flat: Forecast = { outcome: 'flat_or_falling', crossesAt: null, days: null, slopePerDay: -30, basis: 'x', historySeconds: 86400 * 7 };
    const built = model({ trigger: USERS, series: [series('app', 400)], windowSeconds: 86400, forecast: flat });
    expect(built.forecast).toEqual({
      points: [
        [END, 400],
        [END + 28800, 390],
      ],
      label: 'flat or falling',
    });
    const noHistory: Forecast = { ...flat, outcome: 'not_enough_history', slopePerDay: null };
    expect(model({ forecast: noHistory }).forecast).toBeNull();
    expect(model({ forecast: { ...flat, outcome: 'no_clear_trend' } }).forecast).toBeNull();
    expect(model({ series: [], forecast: flat }).forecast).toBeNull();
  });

  it('says there is no data when there is none', () => {
    const built = model({ series: [] });
    expect([built.lines, built.moreCount, built.current]).toEqual([[], 0, null]);
    expect(built.altText).toBe('Chart of CPU usage over the last 1 h 30 min: no data (threshold 70 %).');
  });

  it('never draws more than five lines, counts every other series, and orders the drawn ones by how far past the threshold they are', () => {
    const value = fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(Number.NaN));
    const anySeries = fc.array(fc.array(value, { minLength: 0, maxLength: 6 }), { maxLength: 40 });
    fc.assert(
      fc.property(anySeries, fc.constantFrom(...OPERATORS), fc.integer({ min: 60, max: 86400 }), (valuesPerSeries, op, windowSeconds) => {
        const all: Series[] = valuesPerSeries.map((values, index) => ({
          labels: { instance: `host-${index}` },
          points: values.map((v, at) => [END - windowSeconds * 2 + at * (windowSeconds / 2), v] as [number, number]),
        }));
        const built = model({ trigger: { ...CPU, op }, series: all, windowSeconds });
        expect(built.lines.length).toBe(Math.min(all.length, MAX_CHART_LINES));
        expect(built.moreCount).toBe(all.length - built.lines.length);
        for (const line of built.lines) for (const [time] of line.points) expect(time >= built.start && time <= built.end).toBe(true);
        const lastValues = built.lines.map((line) => line.points.findLast(([, v]) => Number.isFinite(v))?.[1]);
        const withValues = lastValues.filter((v) => v !== undefined) as number[];
        // Series with a value come before those without one, in order of how far past the threshold.
        expect(lastValues.slice(0, withValues.length)).toEqual(withValues);
        const sorted = [...withValues].sort((a, b) => (op === '<' || op === '<=' ? a - b : b - a));
        expect(withValues).toEqual(sorted);
      }),
    );
  });
});
