import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../core/duration.ts';

describe('parseDuration', () => {
  it.each([
    ['15m', 900],
    ['90s', 90],
    ['4h', 14400],
    ['1d', 86400],
    ['1h30m', 5400],
    ['0', 0],
    [45, 45],
  ])('%s is %d seconds', (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  it.each(['15', 'fifteen minutes', '15 m', '-5m', '', 'm'])('refuses %j with what to write instead', (input) => {
    expect(() => parseDuration(input)).toThrow(/write it like 90s, 15m/);
  });
});

describe('formatDuration', () => {
  it.each([
    [40, '40 s'],
    [660, '11 min'],
    [2820, '47 min'],
    [7500, '2 h 5 min'],
    [7200, '2 h'],
    [273600, '3 d 4 h'],
  ])('%d seconds reads as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
