import { describe, expect, it } from 'vitest';
import { formatMs, formatRatio, growthExponent, markdownTable, median, percentile } from '../../bench/stats.ts';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('returns observed values, not interpolations', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([3, 1, 2], 50)).toBe(2);
  });

  it('is the largest value for p99 of fewer than 100 samples', () => {
    expect(percentile([5, 1, 9, 3], 99)).toBe(9);
  });

  it('is the smallest value at p0 and NaN without values', () => {
    expect(percentile([4, 2, 8], 0)).toBe(2);
    expect(percentile([], 50)).toBeNaN();
  });

  it('refuses a percentile outside 0–100', () => {
    expect(() => percentile([1], 101)).toThrow(/between 0 and 100/);
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('growthExponent', () => {
  it('is 1 for linear growth, 2 for quadratic, 0 for flat', () => {
    expect(growthExponent([10, 100, 1000], [5, 50, 500])).toBeCloseTo(1, 10);
    expect(growthExponent([10, 100, 1000], [1, 100, 10_000])).toBeCloseTo(2, 10);
    expect(growthExponent([10, 100, 1000], [7, 7, 7])).toBeCloseTo(0, 10);
  });

  it('shows a fixed cost plus a linear part as better than linear', () => {
    const k = growthExponent([10, 100, 1000], [100 + 10, 100 + 100, 100 + 1000]);
    expect(k).toBeGreaterThan(0);
    expect(k).toBeLessThan(1);
  });

  it('needs two points of the same length', () => {
    expect(() => growthExponent([10], [1])).toThrow();
    expect(() => growthExponent([10, 100], [1])).toThrow();
  });
});

describe('formatting', () => {
  it('gives milliseconds a precision that fits their size', () => {
    expect(formatMs(3.12)).toBe('3.1 ms');
    expect(formatMs(312.7)).toBe('313 ms');
    expect(formatMs(12_345)).toBe('12.3 s');
    expect(formatMs(Number.NaN)).toBe('–');
  });

  it('writes ratios with two decimals', () => {
    expect(formatRatio(1.2345)).toBe('1.23×');
    expect(formatRatio(Number.POSITIVE_INFINITY)).toBe('–');
  });

  it('builds a Markdown table and escapes pipes in cells', () => {
    expect(markdownTable(['a', 'b'], [['1', 'x | y']])).toBe('| a | b |\n|---|---|\n| 1 | x \\| y |');
  });
});
