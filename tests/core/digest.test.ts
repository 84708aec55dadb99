import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import {
  buildDigest,
  digestChartModels,
  digestKey,
  digestPeriodAt,
  digestReportToJson,
  dueDigest,
  isLate,
  LATE_AFTER_MS,
  nextDigestAt,
  peakQuery,
  peakStepSeconds,
  summarizePeaks,
  zonedTimeToInstant,
  type DigestInputs,
  type DigestSchedule,
} from '../../core/digest.ts';
import type { Forecast } from '../../core/forecast.ts';
import type { BreachRecord } from '../../core/storage/breaches.ts';
import type { DecisionRecord } from '../../core/storage/decisions.ts';
import type { Trigger, TriggerResult } from '../../core/triggers.ts';

const { capacity: GUIDE, advisor } = loadConfig();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BERLIN = 'Europe/Berlin';
const mondayNine: DigestSchedule = { weekday: 1, hour: 9, minute: 0, timezone: BERLIN };
const iso = (date: Date) => date.toISOString();

/** The wall clock in `timeZone` at `date`: ISO weekday, hour, minute, and the calendar date. */
function wallClock(date: Date, timeZone: string) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    })
      .formatToParts(date)
      .map((part) => [part.type, part.value]),
  );
  return {
    weekday: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(parts.weekday!) + 1,
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
    date: `${parts.year}-${parts.month}-${parts.day}`,
  };
}

describe('digest periods in Europe/Berlin', () => {
  it('starts at the latest Monday 09:00 at or before now, and the period before it a week earlier', () => {
    const period = digestPeriodAt(new Date('2026-12-05T00:00:00Z'), mondayNine);
    expect([iso(period.start), iso(period.previous)]).toEqual(['2026-11-30T08:00:00.000Z', '2026-11-23T08:00:00.000Z']);
    // At the scheduled minute itself the new period has begun; a millisecond before, the old one runs.
    expect(iso(digestPeriodAt(new Date('2026-11-30T08:00:00Z'), mondayNine).start)).toBe('2026-11-30T08:00:00.000Z');
    expect(iso(digestPeriodAt(new Date('2026-11-30T07:59:59.999Z'), mondayNine).start)).toBe('2026-11-23T08:00:00.000Z');
  });

  it('keeps 09:00 local across the March change (a week of 167 h) and the October change (169 h)', () => {
    const march = digestPeriodAt(new Date('2026-03-30T12:00:00Z'), mondayNine);
    expect([iso(march.start), iso(march.previous)]).toEqual(['2026-03-30T07:00:00.000Z', '2026-03-23T08:00:00.000Z']);
    expect(march.start.getTime() - march.previous.getTime()).toBe(7 * DAY - HOUR);
    const october = digestPeriodAt(new Date('2026-10-26T12:00:00Z'), mondayNine);
    expect([iso(october.start), iso(october.previous)]).toEqual(['2026-10-26T08:00:00.000Z', '2026-10-19T07:00:00.000Z']);
    expect(october.start.getTime() - october.previous.getTime()).toBe(7 * DAY + HOUR);
  });

  it('moves a time the March change skips (Sun 02:30) to 03:30 CEST, and takes the first of the two October 02:30s', () => {
    const sundayHalfPastTwo: DigestSchedule = { weekday: 7, hour: 2, minute: 30, timezone: BERLIN };
    expect(iso(zonedTimeToInstant({ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, BERLIN))).toBe('2026-03-29T01:30:00.000Z');
    expect(iso(digestPeriodAt(new Date('2026-03-29T01:29:00Z'), sundayHalfPastTwo).start)).toBe('2026-03-22T01:30:00.000Z');
    expect(iso(digestPeriodAt(new Date('2026-03-29T01:30:00Z'), sundayHalfPastTwo).start)).toBe('2026-03-29T01:30:00.000Z');
    // 02:30 CEST (00:30 UTC) and 02:30 CET (01:30 UTC): one period starts at the first, none at the second.
    expect(iso(zonedTimeToInstant({ year: 2026, month: 10, day: 25, hour: 2, minute: 30 }, BERLIN))).toBe('2026-10-25T00:30:00.000Z');
    for (const now of ['2026-10-25T00:30:00Z', '2026-10-25T01:30:00Z', '2026-10-25T01:45:00Z']) {
      expect(iso(digestPeriodAt(new Date(now), sundayHalfPastTwo).start)).toBe('2026-10-25T00:30:00.000Z');
    }
    expect(iso(nextDigestAt(new Date('2026-10-25T00:30:00Z'), sundayHalfPastTwo))).toBe('2026-11-01T01:30:00.000Z');
  });

  it('is late more than an hour after the scheduled moment', () => {
    const start = new Date('2026-11-30T08:00:00Z');
    expect(isLate(start, new Date(start.getTime() + LATE_AFTER_MS))).toBe(false);
    expect(isLate(start, new Date(start.getTime() + LATE_AFTER_MS + 1))).toBe(true);
    expect(dueDigest(new Date('2026-12-01T08:00:00Z'), mondayNine)).toMatchObject({ key: 'digest:2026-11-30T08:00:00.000Z', late: true });
  });
});

// Zones with the usual DST, a half-hour DST (Lord Howe), southern-hemisphere DST, and none.
const ZONES = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'America/Santiago', 'Asia/Kolkata', 'UTC'];
const scheduleArb = fc.record({
  weekday: fc.integer({ min: 1, max: 7 }),
  hour: fc.integer({ min: 0, max: 23 }),
  minute: fc.constantFrom(0, 15, 30, 45, 59),
  timezone: fc.constantFrom(...ZONES),
});
const FROM = Date.UTC(2025, 0, 1);
const TO = Date.UTC(2028, 0, 1);
const nowArb = fc.integer({ min: FROM, max: TO }).map((ms) => new Date(ms));

describe('digest periods, for any zone, schedule and time', () => {
  it('start at a scheduled moment at or before now with none between it and now, a week (± the DST shift) after the one before', () => {
    fc.assert(
      fc.property(scheduleArb, nowArb, (schedule, now) => {
        const { start, previous } = digestPeriodAt(now, schedule);
        expect(start.getTime()).toBeLessThanOrEqual(now.getTime());
        expect(nextDigestAt(start, schedule).getTime()).toBeGreaterThan(now.getTime());
        expect(digestPeriodAt(start, schedule).start).toEqual(start);
        expect(digestPeriodAt(new Date(start.getTime() - 1), schedule).start).toEqual(previous);
        expect(Math.abs(start.getTime() - previous.getTime() - 7 * DAY)).toBeLessThanOrEqual(HOUR);
        // On the schedule's weekday, at its time; later by at most the gap when the clocks skipped that time.
        const wall = wallClock(start, schedule.timezone);
        const wanted = schedule.hour * 60 + schedule.minute;
        expect(wall.weekday).toBe(schedule.weekday);
        expect(wall.minutes - wanted).toBeGreaterThanOrEqual(0);
        expect(wall.minutes - wanted).toBeLessThanOrEqual(60);
        if (wall.minutes !== wanted) {
          // Only in a gap: a minute before the moment, the wall clock was before the wanted time (it jumped over it).
          expect(wallClock(new Date(start.getTime() - 60_000), schedule.timezone).minutes).toBeLessThan(wanted);
        }
      }),
      { numRuns: 400 },
    );
  });
});

/**
 * The exactly-once rule, checked over process lifetimes. A running bot checks at its start and every `CHECK`
 * after (every minute in the bot; 30 minutes here to keep the simulation small: the rule does not depend on it).
 * Each check posts `dueDigest(now)` unless its key was posted. The rule, stated on its own: the digest of the
 * period [P, next P) is posted iff some check falls in it, exactly once, at the first such check, marked late iff
 * that check is more than an hour after P. No other digest is ever posted (no backlog of missed periods).
 */
describe('digests posted over any sequence of process lifetimes', () => {
  const CHECK = 30 * 60_000;
  it('are one per period that had a check in it, at its first check, late iff that check was more than an hour after the schedule', () => {
    const lifetimes = fc.array(fc.tuple(fc.integer({ min: 1, max: 10 * 24 * 60 }), fc.integer({ min: 1, max: 4 * 24 * 60 })), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(scheduleArb, fc.integer({ min: FROM, max: TO - 90 * DAY }), lifetimes, (schedule, origin, spans) => {
        // Alternating: down for `down` minutes, then up for `up` minutes.
        const ups: Array<[number, number]> = [];
        let t = origin;
        for (const [down, up] of spans) {
          t += down * 60_000;
          ups.push([t, t + up * 60_000]);
          t += up * 60_000;
        }
        const posted = new Map<string, { at: number; late: boolean }>();
        const order: string[] = [];
        for (const [from, to] of ups) {
          for (let now = from; now < to; now += CHECK) {
            const due = dueDigest(new Date(now), schedule);
            if (posted.has(due.key)) continue;
            posted.set(due.key, { at: now, late: due.late });
            order.push(due.key);
          }
        }
        const expected = new Map<string, { at: number; late: boolean }>();
        for (let period = digestPeriodAt(new Date(origin), schedule).start; period.getTime() < t; period = nextDigestAt(period, schedule)) {
          const end = nextDigestAt(period, schedule).getTime();
          const first = ups
            .map(([from, to]) => {
              const check = from + Math.ceil(Math.max(0, period.getTime() - from) / CHECK) * CHECK;
              return check < Math.min(to, end) ? check : null;
            })
            .filter((check): check is number => check !== null)
            .sort((a, b) => a - b)[0];
          if (first !== undefined) expected.set(digestKey(period), { at: first, late: first - period.getTime() > LATE_AFTER_MS });
        }
        expect(posted).toEqual(expected);
        // In the order of their periods: an older period is never posted after a newer one.
        expect(order).toEqual([...order].sort());
      }),
      { numRuns: 80 },
    );
  });
});

// --- the report -------------------------------------------------------------------------------------------------

const trigger = (overrides: Partial<Trigger> & Pick<Trigger, 'id'>): Trigger => ({
  name: overrides.id,
  severity: 'immediate',
  query: `test_${overrides.id}`,
  op: '>',
  threshold: 0.7,
  forSeconds: 0,
  unit: 'percent',
  ...overrides,
});
const since = new Date('2026-11-23T08:00:00Z');
const until = new Date('2026-11-30T08:00:00Z');
const unix = (date: Date) => date.getTime() / 1000;

describe('the peaks of the week', () => {
  it('asks Prometheus for the worst value per step at a 5-minute resolution, an hour a step over a week', () => {
    expect(peakStepSeconds(7 * 86_400)).toBe(3600);
    expect(peakStepSeconds(86_400)).toBe(600);
    expect(peakStepSeconds(3600)).toBe(300);
    expect(peakQuery(trigger({ id: 'cpu', query: 'up' }), 3600)).toBe('max_over_time((up)[3600s:300s])');
    expect(peakQuery(trigger({ id: 'hits', query: 'hit_rate', op: '<' }), 3600)).toBe('min_over_time((hit_rate)[3600s:300s])');
  });

  it('takes the highest series for > and the lowest for <, says when, and whether it passed the threshold', () => {
    const points = (values: number[]) => values.map((value, index) => [unix(since) + 3600 * (index + 1), value] as const);
    const cpu = trigger({ id: 'cpu' });
    const peaks = summarizePeaks(cpu, [
      { labels: { instance: 'a' }, points: points([0.2, 0.5, Number.NaN]) },
      { labels: { instance: 'b' }, points: points([0.3, 0.75, 0.4]) },
    ]);
    expect(peaks).toMatchObject({ over: true, seriesCount: 2, peak: { labels: { instance: 'b' }, value: 0.75, at: new Date(since.getTime() + 2 * HOUR) } });
    expect(peaks.top.map((series) => series.labels.instance)).toEqual(['b', 'a']);
    const hits = summarizePeaks(trigger({ id: 'hits', op: '<', threshold: 0.8 }), [{ labels: {}, points: points([0.9, 0.85, 0.95]) }]);
    expect(hits).toMatchObject({ over: false, peak: { value: 0.85 } });
    expect(summarizePeaks(cpu, [], 'connection refused')).toMatchObject({ peak: null, over: false, failure: 'connection refused' });
    const models = digestChartModels([peaks, summarizePeaks(cpu, [])], { since, until }, 'dark');
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ title: 'cpu', threshold: 0.7, start: unix(since), end: unix(until), theme: 'dark', moreCount: 0 });
    // The five series with the highest peaks are drawn (in buildChartModel's order: by their last value).
    expect(models[0]!.lines.map((line) => line.label).sort()).toEqual(['a', 'b']);
    expect(models[0]!.forWindow).toBeNull();
  });
});

function decision(id: number, hoursIn: number, kind: string, extra: Partial<DecisionRecord> = {}): DecisionRecord {
  return { id, at: new Date(since.getTime() + hoursIn * HOUR), kind, actor: 'U0OPS', channel: 'C0OPS', subject: null, outcome: null, detail: {}, ...extra };
}

const forecast = (days: number): Forecast => ({
  outcome: 'crosses',
  crossesAt: new Date(until.getTime() + days * DAY),
  days,
  slopePerDay: 10,
  basis: 'least squares on 7 daily peaks',
  historySeconds: 7 * 86_400,
});

function inputs(overrides: Partial<DigestInputs> = {}): DigestInputs {
  const users = trigger({ id: 'users', unit: 'count', threshold: 500, severity: 'soon' });
  const result = (days: number | null): TriggerResult => ({
    trigger: users,
    labels: { instance: `i${days}` },
    state: 'ok',
    value: 300,
    heldSeconds: 0,
    heldWholeWindow: false,
    forecast: days === null ? null : forecast(days),
  });
  const breach = {
    id: 7,
    triggerId: 'cpu',
    name: 'CPU usage',
    severity: 'immediate',
    labels: { instance: 'web-1' },
    openedAt: new Date(until.getTime() - 50 * HOUR),
    lastValue: '0.91',
    ackedBy: 'U0OPS',
  } as unknown as BreachRecord;
  return {
    since,
    until,
    generatedAt: until,
    late: false,
    timezone: BERLIN,
    peaks: [],
    forecastResults: [result(19), result(40), result(3), result(null)],
    forecastHorizonSeconds: 28 * 86_400,
    openBreaches: [breach],
    decisions: [
      decision(1, -2, 'run_requested', { subject: 'restart', detail: { run_id: 1 }, outcome: 'pending_approval' }),
      decision(2, 1, 'run_requested', { subject: 'upgrade', detail: { run_id: 2 }, outcome: 'pending_approval' }),
      decision(3, 2, 'run_started', { subject: 'upgrade', detail: { run_id: 2 }, outcome: 'running' }),
      decision(4, 3, 'run_failed', { subject: 'upgrade', detail: { run_id: 2 }, outcome: 'failed' }),
      decision(5, 4, 'run_rolled_back', { subject: 'upgrade', detail: { run_id: 2 }, outcome: 'rolled_back' }),
      decision(6, 5, 'checklist_completed', { subject: 'optimize', detail: { title: 'Optimization pass' }, outcome: 'completed' }),
      decision(7, 6, 'advice', { subject: 'horizontal', outcome: 'horizontal' }),
      decision(8, 7, 'breach_acknowledged', { subject: 'cpu', detail: { breach_id: 7 } }),
      decision(9, 24 * 8, 'advice', { subject: 'vertical', outcome: 'vertical' }),
    ],
    capacity: GUIDE,
    plan: advisor.plan,
    ...overrides,
  };
}

describe('buildDigest', () => {
  it('lists the forecasts within the horizon soonest first, the open breaches with how long, the week’s decisions and the costs', () => {
    const report = buildDigest(inputs());
    expect(report.forecasts.map((entry) => entry.days)).toEqual([3, 19]);
    expect(report.openBreaches).toMatchObject([{ id: 7, openSeconds: 50 * 3600, ackedBy: 'U0OPS' }]);
    // Rows outside [since, until] are left out: run 1 was requested before the week, the last advice after it.
    expect(report.decisions.runsRequested).toBe(1);
    expect(report.decisions.runs).toMatchObject([{ runId: 2, runbookId: 'upgrade', outcome: 'rolled_back' }]);
    expect(report.decisions.checklistsCompleted).toMatchObject([{ subject: 'optimize', title: 'Optimization pass' }]);
    expect(report.decisions.advice.map((entry) => entry.title)).toEqual(['horizontal']);
    expect(report.decisions.acknowledgements).toMatchObject([{ subject: 'cpu', actor: 'U0OPS' }]);
    // The week's advice said horizontal: the next step priced is the one it named, from CPX41 (stage 1) to stage 3.
    expect(report.costs).toMatchObject({
      currentLabel: 'CPX41 (one server)',
      currentMonthly: 35,
      apiMonthly: 190,
      nextStep: 'horizontal',
      nextStepReason: 'advice',
    });
    expect(report.costs.nextPrice).toMatchObject({ kind: 'stage', stage: { number: 3 } });
  });

  it("prices the guide's next step when no advice named one: the next tier while it stays vertical", () => {
    const report = buildDigest(inputs({ decisions: [] }));
    expect(report.costs).toMatchObject({ nextStep: 'vertical', nextStepReason: 'guide', nextPrice: { kind: 'tier', newMonthly: 50, delta: 15 } });
    const onStage = buildDigest(inputs({ decisions: [], capacity: { ...GUIDE, current: { stage: 2 } } }));
    expect(onStage.costs).toMatchObject({ nextStep: 'horizontal', nextPrice: { kind: 'stage', stage: { number: 3 } } });
  });

  it('prints as JSON with ISO times and snake_case fields', () => {
    const cpu = trigger({ id: 'cpu' });
    const peaks = [summarizePeaks(cpu, [{ labels: { instance: 'a' }, points: [[unix(until), 0.9]] }]), summarizePeaks(trigger({ id: 'mem' }), [])];
    const json = digestReportToJson(buildDigest(inputs({ peaks, late: true })));
    expect(json).toMatchObject({
      since: '2026-11-23T08:00:00.000Z',
      until: '2026-11-30T08:00:00.000Z',
      late: true,
      timezone: BERLIN,
      peaks: [
        { id: 'cpu', state: 'over', peak: { value: 0.9, at: '2026-11-30T08:00:00.000Z', labels: { instance: 'a' } }, threshold: 0.7, op: '>' },
        { id: 'mem', state: 'no_data', peak: null },
      ],
      forecasts: [{ id: 'users', days: 3, crosses_at: '2026-12-03T08:00:00.000Z', slope_per_day: 10 }, { days: 19 }],
      open_breaches: [{ id: 7, open_seconds: 180_000, acknowledged_by: 'U0OPS', opened_at: '2026-11-28T06:00:00.000Z' }],
      decisions: { runs_requested: 1, runs: [{ run_id: 2, outcome: 'rolled_back' }] },
      costs: { current: 'CPX41 (one server)', total_monthly: 225, next_step: 'horizontal', next: { available: true } },
    });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
