import { describe, expect, it } from 'vitest';
import { statedAgeSeconds } from '../../bench/measure-fresh.ts';
import { describeQueries, parseQueryLogLine, replayUrl } from '../../bench/query-log.ts';

// A line of Prometheus 2.42's query log (global.query_log_file), as it writes a range query.
const RANGE_LINE =
  '{"httpRequest":{"clientIP":"127.0.0.1","method":"GET","path":"/api/v1/query_range"},' +
  '"params":{"end":"2026-12-05T03:30:00.500Z","query":"avg by (instance) (up)","start":"2026-12-05T03:00:00.500Z","step":15},' +
  '"stats":{"timings":{"evalTotalTime":0.01,"execTotalTime":0.012}},"ts":"2026-12-05T03:30:01Z"}';
const INSTANT_LINE =
  '{"httpRequest":{"path":"/api/v1/query"},' +
  '"params":{"end":"2026-12-05T03:30:00.000Z","query":"vector(1)","start":"2026-12-05T03:30:00.000Z","step":0},"ts":"x"}';

describe("Prometheus' query log", () => {
  it('reads a range query with its times in unix seconds (milliseconds kept) and its step', () => {
    const start = Date.parse('2026-12-05T03:00:00.500Z') / 1000;
    expect(parseQueryLogLine(RANGE_LINE)).toEqual({ query: 'avg by (instance) (up)', start, end: start + 1800, step: 15, execSeconds: 0.012 });
  });

  it('asks again exactly what was logged', () => {
    const range = new URL(replayUrl('http://127.0.0.1:9090', parseQueryLogLine(RANGE_LINE)!));
    expect(range.pathname).toBe('/api/v1/query_range');
    expect(Object.fromEntries(range.searchParams)).toEqual({
      query: 'avg by (instance) (up)',
      start: String(Date.parse('2026-12-05T03:00:00.500Z') / 1000),
      end: String(Date.parse('2026-12-05T03:30:00.500Z') / 1000),
      step: '15',
    });
    const instant = new URL(replayUrl('http://127.0.0.1:9090', parseQueryLogLine(INSTANT_LINE)!));
    expect(instant.pathname).toBe('/api/v1/query');
    expect(instant.searchParams.get('time')).toBe(String(Date.parse('2026-12-05T03:30:00.000Z') / 1000));
  });

  it('skips what is not a query: a partial line, an empty one, JSON without params', () => {
    expect(parseQueryLogLine(RANGE_LINE.slice(0, 40))).toBeNull();
    expect(parseQueryLogLine('')).toBeNull();
    expect(parseQueryLogLine('{"ts":"x"}')).toBeNull();
  });

  it('tells range from instant queries and finds the longest range', () => {
    const queries = [parseQueryLogLine(RANGE_LINE)!, parseQueryLogLine(INSTANT_LINE)!];
    expect(describeQueries(queries)).toEqual({ count: 2, ranges: 1, instants: 1, longestRangeSeconds: 1800 });
  });
});

describe('the age a status answer states', () => {
  it('reads "evaluated N s ago" and its variants, wherever it sits in the blocks', () => {
    expect(statedAgeSeconds({ blocks: [{ text: { text: 'Scale now · evaluated 6 s ago' } }] })).toBe(6);
    expect(statedAgeSeconds({ text: 'evaluated 12 seconds ago' })).toBe(12);
    expect(statedAgeSeconds({ text: 'evaluated 1 min ago' })).toBe(60);
    expect(statedAgeSeconds({ text: 'evaluated just now' })).toBe(0);
  });

  it('is null when the answer states no age (a bot without the cache)', () => {
    expect(statedAgeSeconds({ text: 'Scale now: 3 triggers breached' })).toBeNull();
  });
});
