import { describe, expect, it } from 'vitest';
import type { StatusReport } from '../../core/status.ts';
import type { Trigger, TriggerResult, TriggerState } from '../../core/triggers.ts';
import { breachKey, isReminderDue, planWatchCycle, type OpenBreach } from '../../core/watch.ts';

const NOW = new Date('2026-11-28T14:00:00Z');
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);
const cpu: Trigger = { id: 'cpu', name: 'CPU', severity: 'immediate', query: 'q', op: '>', threshold: 0.7, forSeconds: 900, unit: 'percent' };
const timing = { resolveAfterSeconds: 300, repeatSeconds: { immediate: 4 * 3600, soon: 24 * 3600 } };

function result(state: TriggerState, labels: Record<string, string>, value: number | null = 0.9, heldSeconds = 1200): TriggerResult {
  return { trigger: cpu, labels, state, value, heldSeconds, heldWholeWindow: false };
}
function report(results: TriggerResult[], failure?: string): StatusReport {
  return { verdict: 'ok', evaluatedAt: NOW, results, ...(failure ? { failure } : {}) };
}
function breach(overrides: Partial<OpenBreach> = {}): OpenBreach {
  return {
    id: 1,
    key: breachKey('cpu', { instance: 'a' }),
    triggerId: 'cpu',
    severity: 'immediate',
    openedAt: minutesAgo(30),
    conditionFalseSince: null,
    ackedAt: null,
    snoozedUntil: null,
    lastReminderAt: null,
    ...overrides,
  };
}

describe('breachKey', () => {
  it('is the same whatever order the labels come in, and ignores __name__', () => {
    expect(breachKey('cpu', { b: '2', a: '1' })).toBe(breachKey('cpu', { a: '1', __name__: 'x', b: '2' }));
    expect(breachKey('cpu', { a: '1' })).not.toBe(breachKey('memory', { a: '1' }));
  });
});

describe('planWatchCycle', () => {
  it('opens a breach for a breached series, since when its condition started to hold', () => {
    const plan = planWatchCycle(report([result('breached', { instance: 'a' }), result('pending', { instance: 'b' })]), [], NOW, timing);
    expect(plan.open).toHaveLength(1);
    expect(plan.open[0]).toMatchObject({ key: 'cpu{instance="a"}', breachedSince: minutesAgo(20) });
  });

  it('keeps an open breach holding while over the threshold, pending included, and does not reopen it', () => {
    const plan = planWatchCycle(report([result('pending', { instance: 'a' }, 0.8, 60)]), [breach({ conditionFalseSince: minutesAgo(1) })], NOW, timing);
    expect(plan.open).toHaveLength(0);
    expect(plan.holding).toHaveLength(1);
  });

  it('resolves only after the condition has been false for resolve_after', () => {
    const ok = [result('ok', { instance: 'a' }, 0.3, 0)];
    expect(planWatchCycle(report(ok), [breach()], NOW, timing).clearing[0]).toMatchObject({ falseSince: NOW });
    expect(planWatchCycle(report(ok), [breach({ conditionFalseSince: minutesAgo(4) })], NOW, timing).resolve).toHaveLength(0);
    expect(planWatchCycle(report(ok), [breach({ conditionFalseSince: minutesAgo(5) })], NOW, timing).resolve).toHaveLength(1);
  });

  it('treats a series that is gone, while its trigger still answers, as over', () => {
    const plan = planWatchCycle(report([result('ok', { instance: 'b' }, 0.3, 0)]), [breach({ conditionFalseSince: minutesAgo(6) })], NOW, timing);
    expect(plan.resolve[0]).toMatchObject({ result: null });
  });

  it('resolves and opens nothing while blind, and leaves breaches of a no-data trigger alone', () => {
    const blind = planWatchCycle(report([], 'Prometheus down'), [breach({ conditionFalseSince: minutesAgo(60) })], NOW, timing);
    expect(blind).toMatchObject({ blind: true, open: [], resolve: [], clearing: [] });
    const noData = planWatchCycle(
      report([{ ...result('no_data', {}, null, 0), reason: 'nothing' }]),
      [breach({ conditionFalseSince: minutesAgo(60) })],
      NOW,
      timing,
    );
    expect(noData.resolve).toHaveLength(0);
    expect(noData.unknown).toHaveLength(1);
  });

  it('clears the breach of a `when_present` trigger whose series are all gone (the replica removed), but not of an unconfigured one', () => {
    const lag = breach({ key: breachKey('lag', { instance: 'replica-1' }), triggerId: 'lag', conditionFalseSince: minutesAgo(6) });
    const gone = planWatchCycle(report([result('ok', { instance: 'a' }, 0.3, 0)]), [lag], NOW, timing, () => true, new Set(['lag']));
    expect(gone.resolve).toEqual([{ breach: lag, result: null, falseSince: minutesAgo(6) }]);
    expect(gone.unknown).toEqual([]);
    const justGone = planWatchCycle(report([]), [{ ...lag, conditionFalseSince: null }], NOW, timing, () => true, new Set(['lag']));
    expect(justGone.clearing).toHaveLength(1);
    // Without when_present, a trigger with no result at all is one no longer configured: nothing can be said.
    expect(planWatchCycle(report([]), [lag], NOW, timing).unknown).toEqual([lag]);
  });

  it('leaves breaches it does not watch (Alertmanager) to their source', () => {
    const plan = planWatchCycle(report([]), [breach({ key: 'alertmanager:abc', triggerId: 'HighCPUUsage' })], NOW, timing, () => false);
    expect(plan).toMatchObject({ resolve: [], clearing: [], holding: [] });
  });
});

describe('reminders', () => {
  it('are due after watch.repeat, unless acknowledged or snoozed', () => {
    expect(isReminderDue(breach({ openedAt: minutesAgo(239) }), NOW, timing)).toBe(false);
    expect(isReminderDue(breach({ openedAt: minutesAgo(240) }), NOW, timing)).toBe(true);
    expect(isReminderDue(breach({ openedAt: minutesAgo(300), ackedAt: minutesAgo(200) }), NOW, timing)).toBe(false);
    expect(isReminderDue(breach({ openedAt: minutesAgo(300), snoozedUntil: minutesAgo(-10) }), NOW, timing)).toBe(false);
    expect(isReminderDue(breach({ openedAt: minutesAgo(300), lastReminderAt: minutesAgo(60) }), NOW, timing)).toBe(false);
    expect(isReminderDue(breach({ severity: 'soon', openedAt: minutesAgo(300) }), NOW, timing)).toBe(false);
  });

  it('come once when a snooze runs out while the breach lasts', () => {
    expect(isReminderDue(breach({ snoozedUntil: minutesAgo(1), lastReminderAt: minutesAgo(30) }), NOW, timing)).toBe(true);
    expect(isReminderDue(breach({ snoozedUntil: minutesAgo(10), lastReminderAt: minutesAgo(5) }), NOW, timing)).toBe(false);
  });
});
