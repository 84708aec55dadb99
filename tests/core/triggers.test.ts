import { describe, expect, it } from 'vitest';
import { decideVerdict, evaluateTrigger, evaluationWindow, type Series, type Trigger } from '../../core/triggers.ts';

const cpu: Trigger = {
  id: 'cpu',
  name: 'CPU usage',
  severity: 'immediate',
  query: 'q',
  op: '>',
  threshold: 0.7,
  forSeconds: 900,
  unit: 'percent',
};
const cacheHit: Trigger = { ...cpu, id: 'cache', severity: 'soon', op: '<', forSeconds: 0 };
const AT = 1_800_000_000;
const STEP = 15;
const WINDOW = 1800;

/** Points every step over the window; `valueAt(secondsAgo)` gives the value. */
function series(valueAt: (secondsAgo: number) => number | undefined, labels: Record<string, string> = {}): Series {
  const points: Array<[number, number]> = [];
  for (let ago = WINDOW; ago >= 0; ago -= STEP) {
    const value = valueAt(ago);
    if (value !== undefined) points.push([AT - ago, value]);
  }
  return { labels, points };
}

describe('evaluateTrigger', () => {
  it('is breached when the condition held over the whole duration, with how long it held', () => {
    const [result] = evaluateTrigger(cpu, [series((ago) => (ago <= 1200 ? 0.9 : 0.3))], AT, STEP, WINDOW);
    expect(result).toMatchObject({ state: 'breached', value: 0.9, heldSeconds: 1200, heldWholeWindow: false });
  });

  it('is pending while over the threshold for less than the duration ("11 of 15 min")', () => {
    const [result] = evaluateTrigger(cpu, [series((ago) => (ago <= 660 ? 0.74 : 0.5))], AT, STEP, WINDOW);
    expect(result).toMatchObject({ state: 'pending', heldSeconds: 660 });
  });

  it('is ok when the current value is within the threshold, whatever came before', () => {
    const [result] = evaluateTrigger(cpu, [series((ago) => (ago === 0 ? 0.5 : 0.95))], AT, STEP, WINDOW);
    expect(result).toMatchObject({ state: 'ok', heldSeconds: 0, value: 0.5 });
  });

  it('does not count a dip under the threshold: the run restarts after it', () => {
    const [result] = evaluateTrigger(cpu, [series((ago) => (ago === 600 ? 0.6 : 0.9))], AT, STEP, WINDOW);
    expect(result).toMatchObject({ state: 'pending', heldSeconds: 585 });
  });

  it('treats a gap in the data as a break in the run', () => {
    const [result] = evaluateTrigger(cpu, [series((ago) => (ago >= 300 && ago <= 400 ? undefined : 0.9))], AT, STEP, WINDOW);
    expect(result?.state).toBe('pending');
    expect(result?.heldSeconds).toBeLessThan(300);
  });

  it('says the condition held at least the whole window when it never broke', () => {
    const [result] = evaluateTrigger(cpu, [series(() => 0.9)], AT, STEP, WINDOW);
    expect(result).toMatchObject({ state: 'breached', heldSeconds: WINDOW, heldWholeWindow: true });
  });

  it('judges a trigger without a duration on the current value alone, "<" included', () => {
    const [low] = evaluateTrigger(cacheHit, [series((ago) => (ago === 0 ? 0.5 : 0.9))], AT, STEP, WINDOW);
    expect(low).toMatchObject({ state: 'breached', heldSeconds: 0 });
    const [high] = evaluateTrigger(cacheHit, [series(() => 0.95)], AT, STEP, WINDOW);
    expect(high?.state).toBe('ok');
  });

  it('gives one result per series, and skips series that ended before now', () => {
    const results = evaluateTrigger(
      cpu,
      [series(() => 0.9, { instance: 'a' }), series(() => 0.2, { instance: 'b' }), series((ago) => (ago > 600 ? 0.99 : undefined), { instance: 'gone' })],
      AT,
      STEP,
      WINDOW,
    );
    expect(results.map((result) => [result.labels.instance, result.state])).toEqual([
      ['a', 'breached'],
      ['b', 'ok'],
    ]);
  });

  it('is "no data", never ok, when nothing is current or the value is NaN', () => {
    expect(evaluateTrigger(cpu, [], AT, STEP, WINDOW)).toMatchObject([{ state: 'no_data', value: null }]);
    expect(evaluateTrigger(cpu, [series(() => Number.NaN)], AT, STEP, WINDOW)).toMatchObject([{ state: 'no_data' }]);
  });
});

describe('evaluationWindow', () => {
  it('looks back at least 30 minutes and twice the duration, at a step that divides the window', () => {
    expect(evaluationWindow(cpu)).toEqual({ windowSeconds: 1800, stepSeconds: 15 });
    const long = evaluationWindow({ ...cpu, forSeconds: 3600 });
    expect(long.windowSeconds).toBeGreaterThanOrEqual(7200);
    expect(long.windowSeconds % long.stepSeconds).toBe(0);
  });
});

describe('decideVerdict', () => {
  const result = (trigger: Trigger, state: 'ok' | 'pending' | 'breached' | 'no_data') =>
    ({ trigger, labels: {}, state, value: 1, heldSeconds: 0, heldWholeWindow: false }) as const;

  it('is scale now when an immediate trigger is breached, scale soon for a soon one, else ok', () => {
    expect(decideVerdict([result(cpu, 'breached'), result(cacheHit, 'breached')])).toBe('scale_now');
    expect(decideVerdict([result(cpu, 'pending'), result(cacheHit, 'breached')])).toBe('scale_soon');
    expect(decideVerdict([result(cpu, 'pending'), result(cacheHit, 'no_data')])).toBe('ok');
  });
});
