import { describe, expect, it } from 'vitest';
import { formatValue } from '../../core/units.ts';

describe('formatValue', () => {
  it.each([
    [0.74, 'percent', '74 %'],
    [0.055, 'percent', '5.5 %'],
    [0.9, 'percent', '90 %'],
    [1.3, 'seconds', '1.3 s'],
    [0.25, 'seconds', '250 ms'],
    [300, 'seconds', '5 min'],
    [21.4e9, 'bytes', '21.4 GB'],
    [1.8e9, 'bytes', '1.8 GB'],
    [512, 'bytes', '512 B'],
    [1.346, 'ratio', '1.35×'],
    [2340.4, 'count', '2,340'],
  ] as const)('%d %s is "%s"', (value, unit, text) => {
    expect(formatValue(value, unit)).toBe(text);
  });

  it('says "no data" rather than a number for null and NaN', () => {
    expect(formatValue(null, 'percent')).toBe('no data');
    expect(formatValue(Number.NaN, 'count')).toBe('no data');
  });
});
