// Forecasts against a real Prometheus with eight days of generated history whose truth is known: when each
// series reaches its threshold is computed from the generating function, and the forecast must say so within
// 10 %. One Prometheus holds every case; each case is a trigger over it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import type { ForecastSettings } from '../../core/forecast.ts';
import { judgeTriggers, statusReportToJson, type StatusReport } from '../../core/status.ts';
import type { Trigger, TriggerResult } from '../../core/triggers.ts';
import { scenario, startPrometheus, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { createOffThreadPrometheus } from '../../integrations/prometheus-off-thread.ts';
import { createPrometheus } from '../../integrations/prometheus.ts';

const DAY = 86_400;
const HOUR = 3_600;
const now = Math.floor(Date.now() / 1000 / 300) * 300;
const at = new Date(now * 1000);
const settings: ForecastSettings = { windowSeconds: 7 * DAY, minHistorySeconds: DAY, warnWithinSeconds: 14 * DAY };
const days = (t: number) => (t - now) / DAY;
const daily = (t: number) => Math.sin((2 * Math.PI * t) / DAY);

// The generating functions, and when each truly reaches 500 (its daily peak, where there is a cycle).
const linear = (t: number) => 200 + 20 * days(t); // 500 in 15 days
const withDailyCycle = (t: number) => 200 + 10 * days(t) + 50 * daily(t); // peaks 250 + 10/day: 500 in 25 days
const flat = (t: number) => 300 + 40 * daily(t);
const falling = (t: number) => 400 - 15 * days(t);
const gapEnd = now - 4 * DAY;
// Before the gap it fell from 900; after it, it grows 30 a day from 230: 500 in 9 days. A fit across the gap
// would see a fall.
const afterGap = (t: number) => (t < gapEnd - 6 * HOUR ? 900 - 50 * (days(t) + 8) : 230 + 30 * days(t));
const shortAfterGapStart = now - 10 * HOUR;
const fleetPerDay: Record<string, number> = { 'app-1': 10, 'app-2': 20, 'app-3': 0 }; // 30 days, 15 days, never

function caseTrigger(id: string, query: string, options: Partial<Trigger> = {}): Trigger {
  return { id, name: id, severity: 'soon', query, op: '>', threshold: 500, forSeconds: 0, unit: 'count', forecast: true, ...options };
}

const concurrentUsers = loadConfig().triggers.find((trigger) => trigger.id === 'concurrent_users')!;
const triggers: Trigger[] = [
  caseTrigger('linear', 'forecast_case{case="linear"}'),
  caseTrigger('daily', 'forecast_case{case="daily"}'),
  caseTrigger('flat', 'forecast_case{case="flat"}'),
  caseTrigger('falling', 'forecast_case{case="falling"}'),
  caseTrigger('gap', 'forecast_case{case="gap"}'),
  caseTrigger('short_after_gap', 'forecast_case{case="short_after_gap"}'),
  caseTrigger('fleet', 'max by (instance) (forecast_fleet)'),
  caseTrigger('missing', 'forecast_case{case="missing"}'),
  caseTrigger('not_forecast', 'forecast_case{case="linear"}', { forecast: false }),
  // The config's own trigger over the scenario's own series: two instances that the query adds.
  concurrentUsers,
];

describe('forecasts from a real Prometheus', () => {
  let prom: PrometheusFixture;
  let report: StatusReport;

  beforeAll(async () => {
    const history = scenario({ now, hours: 24 * 8, stepSeconds: 300 })
      .gauge('forecast_case', { case: 'linear' }, linear)
      .gauge('forecast_case', { case: 'daily' }, withDailyCycle)
      .gauge('forecast_case', { case: 'flat' }, flat)
      .gauge('forecast_case', { case: 'falling' }, falling)
      .gauge('forecast_case', { case: 'gap' }, afterGap, undefined, { gaps: [[gapEnd - 6 * HOUR, gapEnd]] })
      .gauge('forecast_case', { case: 'short_after_gap' }, linear, undefined, { gaps: [[shortAfterGapStart - 3 * HOUR, shortAfterGapStart]] })
      // 150 + 150 users growing 2.5 a day each: 500 in 40 days.
      .concurrentUsers('app-1', (t) => 150 + 2.5 * days(t))
      .concurrentUsers('app-2', (t) => 150 + 2.5 * days(t));
    for (const [instance, perDay] of Object.entries(fleetPerDay)) history.gauge('forecast_fleet', { instance }, (t) => 200 + perDay * days(t));
    prom = await startPrometheus({ openMetrics: history.toOpenMetrics() });
    report = await judgeTriggers(triggers, createPrometheus({ url: prom.url, timeoutMs: 10_000 }), at, undefined, { forecast: settings });
  }, 90_000);
  afterAll(async () => {
    await prom?.stop();
  });

  const resultOf = (id: string, instance?: string): TriggerResult => {
    const result = report.results.find((entry) => entry.trigger.id === id && (instance === undefined || entry.labels.instance === instance));
    if (!result) throw new Error(`no result for ${id} ${instance ?? ''}`);
    return result;
  };
  const expectCrossing = (result: TriggerResult, trueDays: number) => {
    expect(result.state).toBe('ok');
    expect(result.forecast?.outcome, result.forecast?.basis).toBe('crosses');
    expect(Math.abs(result.forecast!.days! - trueDays)).toBeLessThanOrEqual(0.1 * trueDays);
    expect(Math.abs(result.forecast!.crossesAt!.getTime() - (now + trueDays * DAY) * 1000)).toBeLessThanOrEqual(0.1 * trueDays * DAY * 1000);
  };

  it('linear growth: crosses when the line does', () => {
    expectCrossing(resultOf('linear'), 15);
    expect(resultOf('linear').forecast!.slopePerDay).toBeCloseTo(20, 1);
    expect(resultOf('linear').forecast!.basis).toBe('least squares on 7 daily peaks over 7 d');
  });

  it('growth with a daily cycle: crosses when the daily peaks do, not when the trend line does', () => {
    expectCrossing(resultOf('daily'), 25);
  });

  it('a flat series with a daily cycle, and a falling one: no crossing', () => {
    expect(resultOf('flat').forecast!.outcome).toBe('flat_or_falling');
    expect(resultOf('falling').forecast!.outcome).toBe('flat_or_falling');
    expect(resultOf('falling').forecast!.slopePerDay).toBeCloseTo(-15, 1);
  });

  it('a gap: fits only what came after it, and says when too little did', () => {
    const gap = resultOf('gap');
    expectCrossing(gap, 9);
    expect(gap.forecast!.basis).toMatch(/since a gap at/);
    expect(gap.forecast!.historySeconds).toBeLessThanOrEqual(4 * DAY + 300);
    const short = resultOf('short_after_gap');
    expect(short.forecast!.outcome).toBe('not_enough_history');
    expect(short.forecast!.basis).toMatch(/^not enough history: 10 h of the 24 h needed, since a gap at /);
  });

  it('per-instance series: each instance gets its own forecast', () => {
    expectCrossing(resultOf('fleet', 'app-1'), 30);
    expectCrossing(resultOf('fleet', 'app-2'), 15);
    expect(resultOf('fleet', 'app-3').forecast!.outcome).toBe('flat_or_falling');
  });

  it('the config’s concurrent_users over the scenario’s series', () => {
    expectCrossing(resultOf('concurrent_users'), 40);
  });

  it('no data: the trigger is no_data and its forecast says there is no history; a trigger not forecast has null', () => {
    const missing = resultOf('missing');
    expect(missing.state).toBe('no_data');
    expect(missing.forecast!.outcome).toBe('not_enough_history');
    expect(missing.forecast!.basis).toMatch(/^no data in the last 7 d/);
    expect(resultOf('not_forecast').forecast).toBeNull();
    const json = statusReportToJson(report);
    const entry = json.triggers.find((trigger) => trigger.id === 'linear')!;
    expect(entry.forecast).toMatchObject({ days: expect.closeTo(15, 0), outcome: 'crosses', summary: expect.stringMatching(/^crosses 500 in ~15 days \(/) });
    expect(json.triggers.find((trigger) => trigger.id === 'not_forecast')!.forecast).toBeNull();
  });

  it('a failed forecast query costs the forecast, never the trigger’s state', async () => {
    const real = createPrometheus({ url: prom.url, timeoutMs: 10_000 });
    // The real client, refusing every query longer than a day: the forecast's.
    const refusingLong = {
      queryRange: (query: string, start: number, end: number, step: number) =>
        end - start > DAY ? Promise.reject(new Error('Prometheus refused the query: too many samples')) : real.queryRange(query, start, end, step),
    };
    const failed = await judgeTriggers([triggers[0]!], refusingLong, at, undefined, { forecast: settings });
    expect(failed.results[0]!.state).toBe('ok');
    expect(failed.results[0]!.forecast!.outcome).toBe('not_enough_history');
    expect(failed.results[0]!.forecast!.basis).toMatch(/the history query failed \(Prometheus refused the query: too many samples\)/);
    expect(failed.failure).toBeUndefined();
  });

  it('without forecast options, no forecast is asked for', async () => {
    const plain = await judgeTriggers([triggers[0]!], createPrometheus({ url: prom.url, timeoutMs: 10_000 }), at);
    expect(plain.results[0]!.forecast).toBeUndefined();
    expect(plain.forecastSettings).toBeUndefined();
  });

  it('off the event loop: the worker forecasts what this thread does, Dates included', async () => {
    const offThread = createOffThreadPrometheus({ url: prom.url, timeoutMs: 10_000 });
    try {
      const there = await offThread.judgeTriggers(triggers, at, undefined, { forecast: settings });
      expect(offThread.workersStarted()).toBe(1);
      const strip = (results: readonly TriggerResult[]) => results.map(({ trigger, ...rest }) => ({ id: trigger.id, ...rest }));
      expect(strip(there.results)).toEqual(strip(report.results));
      expect(there.results.find((result) => result.trigger.id === 'linear')!.forecast!.crossesAt).toBeInstanceOf(Date);
      expect(there.forecastSettings).toEqual(settings);
    } finally {
      await offThread.close();
    }
  });
  it('a forecast is fitted once per step of its query: within one step a second status asks Prometheus for no week of points', async () => {
    // Prometheus' own count of range queries, read from its /metrics: the real traffic, not a counting stand-in.
    const rangeQueries = async () => {
      const text = await (await fetch(`${prom.url}/metrics`)).text();
      const line = text.split('\n').find((entry) => entry.startsWith('prometheus_http_requests_total{') && entry.includes('handler="/api/v1/query_range"'));
      return Number(line?.split(' ').pop() ?? 0);
    };
    const client = createPrometheus({ url: prom.url, timeoutMs: 10_000 });
    const forecastTriggers = triggers.filter((trigger) => trigger.forecast).length;
    const before = await rangeQueries();
    const first = await client.judgeTriggers(triggers, at, undefined, { forecast: settings });
    const afterFirst = await rangeQueries();
    expect(afterFirst - before).toBe(triggers.length + forecastTriggers);
    // A minute later, in the same 5-minute step: the evaluations again, the forecasts from the memo.
    const later = await client.judgeTriggers(triggers, new Date(at.getTime() + 60_000), undefined, { forecast: settings });
    const afterSecond = await rangeQueries();
    expect(afterSecond - afterFirst).toBe(triggers.length);
    const linearFirst = first.results.find((result) => result.trigger.id === 'linear')!.forecast!;
    const linearLater = later.results.find((result) => result.trigger.id === 'linear')!.forecast!;
    expect(linearLater.crossesAt).toEqual(linearFirst.crossesAt);
    // The days are counted from each evaluation, not from when the forecast was fitted.
    expect(linearFirst.days! - linearLater.days!).toBeCloseTo(60 / DAY, 6);
    // The next step: fitted again.
    await client.judgeTriggers(triggers, new Date(at.getTime() + 300_000), undefined, { forecast: settings });
    expect((await rangeQueries()) - afterSecond).toBe(triggers.length + forecastTriggers);
  });
});
