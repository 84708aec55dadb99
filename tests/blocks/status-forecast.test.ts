// The forecast in `/scale status` (a line under each trigger, a state of its own for an ok trigger that crosses
// soon, the header) and in `scalebot status --json`, and the advice's "soon" citation.
import { describe, expect, it } from 'vitest';
import { buildAdviceBlocks } from '../../blocks/advice.ts';
import { buildStatusBlocks } from '../../blocks/status.ts';
import { formatStatusTable } from '../../blocks/status-table.ts';
import type { Block } from '../../blocks/types.ts';
import { loadConfig } from '../../bot/config.ts';
import { citeForecasts } from '../../core/advisor.ts';
import type { Forecast, ForecastSettings } from '../../core/forecast.ts';
import { statusReportToJson, type StatusReport } from '../../core/status.ts';
import type { Trigger, TriggerResult } from '../../core/triggers.ts';
import { checkBlockKitLimits } from '../helpers/slack/index.ts';

const NOW = new Date('2026-12-04T10:00:00Z');
const DAY = 86_400;
const config = loadConfig();
const settings: ForecastSettings = config.forecast;
const byId = (id: string) => config.triggers.find((trigger) => trigger.id === id)!;

function crossing(days: number, slopePerDay = 12): Forecast {
  return {
    outcome: 'crosses',
    crossesAt: new Date(NOW.getTime() + days * DAY * 1000),
    days,
    slopePerDay,
    basis: 'least squares on 7 daily peaks over 7 d',
    historySeconds: 7 * DAY,
  };
}
const flat: Forecast = {
  outcome: 'flat_or_falling',
  crossesAt: null,
  days: null,
  slopePerDay: -1,
  basis: 'least squares on 7 daily peaks over 7 d',
  historySeconds: 7 * DAY,
};
const short: Forecast = {
  outcome: 'not_enough_history',
  crossesAt: null,
  days: null,
  slopePerDay: null,
  basis: 'not enough history: 9 h of the 24 h needed',
  historySeconds: 9 * 3600,
  why: { kind: 'short', neededSeconds: DAY },
};

function ok(trigger: Trigger, value: number, forecast: Forecast | null | undefined, labels: Record<string, string> = {}): TriggerResult {
  return { trigger, labels, state: 'ok', value, heldSeconds: 0, heldWholeWindow: false, ...(forecast !== undefined ? { forecast } : {}) };
}

function contexts(blocks: readonly Block[]): string[] {
  return blocks.filter((block) => block.type === 'context').map((block) => JSON.stringify(block));
}

describe('status blocks with forecasts', () => {
  const report: StatusReport = {
    verdict: 'ok',
    evaluatedAt: NOW,
    forecastSettings: settings,
    results: [
      ok(byId('concurrent_users'), 272, crossing(12)),
      ok(byId('daily_active_users'), 900, crossing(40)),
      ok(byId('db_size'), 4e9, crossing(10), { instance: 'db-1' }),
      ok(byId('db_size'), 3e9, flat, { instance: 'db-2' }),
      ok(byId('cpu'), 0.3, short, { instance: 'web-1' }),
      ok(byId('api_p99'), 0.2, null),
    ],
  };
  const message = buildStatusBlocks(report);
  const text = JSON.stringify(message.blocks);

  it('says in the header that triggers cross within warn_within while the verdict is ok', () => {
    expect(message.blocks![0]).toMatchObject({ type: 'header', text: { text: 'No need to scale now; 2 triggers are forecast to cross within 14 days' } });
    expect(checkBlockKitLimits([...message.blocks!])).toEqual([]);
  });

  it('a forecast line under each trigger that has one, the soonest series first where there are many', () => {
    const lines = contexts(message.blocks!);
    expect(lines.some((line) => line.includes(':chart_with_upwards_trend: crosses 500 in ~12 days (Dec 16)'))).toBe(true);
    expect(lines.some((line) => line.includes('`instance=db-1` crosses 20 GB in ~10 days (Dec 14) · 1 of 2 series forecast to cross'))).toBe(true);
    expect(lines.some((line) => line.includes(':crystal_ball: not enough history (9 h of 24 h)'))).toBe(true);
    // api_p99 is not forecast (null): no line.
    expect(lines.filter((line) => line.includes('forecast') || line.includes('crosses') || line.includes('history'))).toHaveLength(4);
  });

  it('an ok trigger forecast to cross within warn_within has a state of its own; one that crosses later does not', () => {
    expect(text).toContain(':hourglass_flowing_sand: *Concurrent users*');
    expect(text).toContain('272 · ok — crosses within 14 days');
    expect(text).toContain(':white_check_mark: *Daily active users*');
    expect(text).toContain('2 series ok (worst 4 GB; 1 forecast to cross within 14 days)');
  });

  it('no warning in the header when scaling is due anyway, nor without forecasts', () => {
    const due = buildStatusBlocks({ ...report, verdict: 'scale_soon' });
    expect(due.blocks![0]).toMatchObject({ text: { text: 'Scale soon' } });
    const { forecastSettings: _settings, ...without } = report;
    const plain = buildStatusBlocks({ ...without, results: report.results.map(({ forecast: _forecast, ...rest }) => rest) });
    expect(plain.blocks![0]).toMatchObject({ text: { text: 'No need to scale' } });
    expect(contexts(plain.blocks!)).toHaveLength(1);
  });

  it('stays within Slack limits with twelve triggers of 100 forecast series each', () => {
    const big: StatusReport = {
      verdict: 'ok',
      evaluatedAt: NOW,
      forecastSettings: settings,
      results: config.triggers.flatMap((trigger) =>
        Array.from({ length: 100 }, (_, index) => ok(trigger, 0.1, index % 2 ? crossing(1 + index) : flat, { instance: `web-${index}.example.com:9100` })),
      ),
    };
    expect(checkBlockKitLimits([...buildStatusBlocks(big).blocks!])).toEqual([]);
  });
});

describe('statusReportToJson forecast', () => {
  it('is { crosses_at, days, slope_per_day, basis, outcome, summary } on every entry, null where there is none', () => {
    const report: StatusReport = {
      verdict: 'ok',
      evaluatedAt: NOW,
      results: [
        ok(byId('concurrent_users'), 272, crossing(19.04, 12.3456789)),
        ok(byId('api_p99'), 0.2, null),
        ok(byId('cpu'), 0.3, undefined),
        ok(byId('memory'), 0.3, short),
      ],
    };
    const entries = statusReportToJson(report).triggers;
    expect(entries[0]!.forecast).toEqual({
      crosses_at: '2026-12-23T10:57:36.000Z',
      days: 19,
      slope_per_day: 12.3457,
      basis: 'least squares on 7 daily peaks over 7 d',
      outcome: 'crosses',
      summary: 'crosses 500 in ~19 days (Dec 23)',
    });
    expect(entries[1]!.forecast).toBeNull();
    expect(entries[2]!.forecast).toBeNull();
    expect(entries[3]!.forecast).toEqual({
      crosses_at: null,
      days: null,
      slope_per_day: null,
      basis: 'not enough history: 9 h of the 24 h needed',
      outcome: 'not_enough_history',
      summary: 'not enough history (9 h of 24 h)',
    });
    expect(JSON.parse(JSON.stringify(statusReportToJson(report)))).toEqual(statusReportToJson(report));
  });
});

describe('the advice cites forecasts', () => {
  const results = [
    ok(byId('concurrent_users'), 272, crossing(19)),
    ok(byId('daily_active_users'), 900, crossing(5)),
    ok(byId('daily_active_users'), 800, crossing(8), { instance: 'b' }),
    ok(byId('db_size'), 4e9, crossing(60)),
    { ...ok(byId('cpu'), 0.95, crossing(1)), state: 'breached' as const },
  ];

  it('one citation per trigger crossing within warn_within, its soonest series, soonest first', () => {
    const cited = citeForecasts(results, { warnWithinSeconds: 21 * DAY }, NOW);
    expect(cited.map((citation) => [citation.trigger, citation.days])).toEqual([
      ['daily_active_users', 5],
      ['concurrent_users', 19],
    ]);
    expect(cited[1]!.summary).toBe('crosses 500 in ~19 days (Dec 23)');
  });

  it('a "not yet" answer says what crosses soon', () => {
    const forecasts = citeForecasts(results, { warnWithinSeconds: 21 * DAY }, NOW);
    const message = buildAdviceBlocks({
      walk: { recommendation: 'dont_scale', path: [{ question: 'degraded', answer: 'no', source: 'metrics', evidence: [] }] },
      evaluatedAt: NOW,
      price: null,
      apiMonthly: 0,
      currentLabel: 'CPX41',
      cpuMemoryThreshold: 0.8,
      optimizationChecklist: 'optimize',
      forecasts,
    });
    const text = JSON.stringify(message.blocks);
    expect(text).toContain('*Not yet, but soon:* the trend says');
    expect(text).toContain('• Concurrent users: crosses 500 in ~19 days (Dec 23)');
    expect(text).toContain('• Daily active users: crosses 2,000 in ~5 days (Dec 9)');
    expect(checkBlockKitLimits([...message.blocks!])).toEqual([]);
  });
});

describe('the scalebot status table with forecasts', () => {
  it('has a FORECAST column, and an ok series crossing within warn_within says so in its state', () => {
    const report: StatusReport = {
      verdict: 'ok',
      evaluatedAt: NOW,
      forecastSettings: settings,
      results: [ok(byId('concurrent_users'), 420, crossing(9)), ok(byId('daily_active_users'), 900, flat), ok(byId('api_p99'), 0.2, null)],
    };
    const lines = formatStatusTable(report).split('\n');
    expect(lines[2]).toMatch(/STATE\s+FORECAST$/);
    const users = lines.find((line) => line.includes('concurrent_users'))!;
    expect(users).toMatch(/ok, crosses within 14 days\s+crosses 500 in ~9 days \(Dec 13\)/);
    expect(lines.find((line) => line.includes('daily_active_users'))).toMatch(/flat or falling/);
    expect(lines.find((line) => line.includes('api_p99'))).toMatch(/ok\s+-$/);
  });

  it('has no FORECAST column when none was asked for', () => {
    const report: StatusReport = { verdict: 'ok', evaluatedAt: NOW, results: [ok(byId('concurrent_users'), 420, undefined)] };
    expect(formatStatusTable(report)).not.toContain('FORECAST');
  });
});
