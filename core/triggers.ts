import type { Forecast } from './forecast.ts';
import type { Unit } from './units.ts';

export const OPERATORS = ['>', '>=', '<', '<='] as const;
export type Operator = (typeof OPERATORS)[number];
export const SEVERITIES = ['immediate', 'soon'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Trigger {
  readonly id: string;
  readonly name: string;
  readonly severity: Severity;
  readonly query: string;
  readonly op: Operator;
  readonly threshold: number;
  /** Seconds the condition must hold before the trigger counts as breached; 0 judges the current value. */
  readonly forSeconds: number;
  readonly unit: Unit;
  /** The guide's advice for when this trigger is breached. */
  readonly advice?: string;
  /** Whether growth means something here (users, sizes, usage): its trend is forecast (core/forecast.ts). */
  readonly forecast?: boolean;
  /** The Prometheus alert name `scalebot rules` gives it (the guide's monitoring/alerts.yml names where it has one). */
  readonly alert?: string;
  /** Hidden while its query returns no series (replica lag before there are replicas), rather than "no data". */
  readonly whenPresent?: boolean;
}

export type TriggerState = 'ok' | 'pending' | 'breached' | 'no_data';

/** One series of a range query: its labels and [unix seconds, value] points in time order. */
export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface TriggerResult {
  readonly trigger: Trigger;
  readonly labels: Readonly<Record<string, string>>;
  readonly state: TriggerState;
  readonly value: number | null;
  /** How long the condition has held without a break, up to the look-back window. */
  readonly heldSeconds: number;
  /** True when the condition held over the whole window we looked at, so it may have held longer. */
  readonly heldWholeWindow: boolean;
  /** Why there is no data: the query returned nothing, or Prometheus failed (its message). */
  readonly reason?: string;
  /**
   * When this series will cross the threshold at its trend (core/forecast.ts). Absent: not asked for (the
   * watcher's cycle); null: the trigger is not forecast (`forecast: false`).
   */
  readonly forecast?: Forecast | null;
}

export type Verdict = 'scale_now' | 'scale_soon' | 'ok';

export function compare(value: number, op: Operator, threshold: number): boolean {
  if (Number.isNaN(value)) return false;
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

/**
 * How far back a trigger is looked at and at what resolution. The window is wider than `for` so that a
 * breach can say how long it has really held ("since 14:02"), and fine enough that "15 min" is judged to
 * within a few percent.
 */
export function evaluationWindow(trigger: Trigger, lookbackSeconds = DEFAULT_LOOKBACK_SECONDS): { windowSeconds: number; stepSeconds: number } {
  const windowSeconds = Math.max(2 * trigger.forSeconds, lookbackSeconds);
  let stepSeconds = Math.max(1, Math.ceil(windowSeconds / 120));
  // A short `for` needs a finer step than the window alone asks for: at least ten points over the duration.
  if (trigger.forSeconds > 0) stepSeconds = Math.max(1, Math.min(stepSeconds, Math.floor(trigger.forSeconds / 10)));
  return { windowSeconds: Math.ceil(windowSeconds / stepSeconds) * stepSeconds, stepSeconds };
}

export const DEFAULT_LOOKBACK_SECONDS = 30 * 60;

/** Prometheus keeps time to the millisecond: a point this close to `at` is the point at `at`. */
export const AT_TOLERANCE_SECONDS = 0.001;

/**
 * Judges a trigger from the history Prometheus returned for [at - window, at]. A series counts only if it
 * has a point at `at`: one that has gone away is not current. The condition has held since the earliest
 * point of the unbroken run of matching points that ends at `at`; a missing point breaks the run.
 */
export function evaluateTrigger(trigger: Trigger, series: readonly Series[], at: number, stepSeconds: number, windowSeconds: number): TriggerResult[] {
  const results: TriggerResult[] = [];
  const windowStart = at - windowSeconds;
  for (const { labels, points } of series) {
    const last = points[points.length - 1];
    if (!last || last[0] < at - AT_TOLERANCE_SECONDS) continue;
    let heldSince = last[0];
    if (compare(last[1], trigger.op, trigger.threshold)) {
      for (let index = points.length - 2; index >= 0; index -= 1) {
        const [time, pointValue] = points[index]!;
        if (!continuesRun(time, heldSince, stepSeconds) || !compare(pointValue, trigger.op, trigger.threshold)) break;
        heldSince = time;
      }
    }
    results.push(judgeSeries(trigger, labels, last[1], heldSince, at, windowStart, stepSeconds));
  }
  if (results.length === 0) return noSeries(trigger);
  return results;
}

/** Whether a point at `later` carries on the run of the point at `earlier`: a missing point between them breaks it. */
export function continuesRun(earlier: number, later: number, stepSeconds: number): boolean {
  return later - earlier <= stepSeconds * 1.5;
}

/**
 * The result for a series whose value at `at` is `value` and whose condition has held since `heldSince` (`at`
 * when it does not hold): evaluateTrigger's last word, and the incremental reader's (core/incremental-evaluation.ts).
 */
export function judgeSeries(
  trigger: Trigger,
  labels: Readonly<Record<string, string>>,
  value: number,
  heldSince: number,
  at: number,
  windowStart: number,
  stepSeconds: number,
): TriggerResult {
  if (Number.isNaN(value)) return noData(trigger, labels, 'the query returned NaN (a division by zero, often: no traffic)');
  const holding = compare(value, trigger.op, trigger.threshold);
  const heldSeconds = holding ? Math.max(0, at - heldSince) : 0;
  const heldWholeWindow = holding && heldSince <= windowStart + stepSeconds / 2;
  let state: TriggerState = 'ok';
  if (holding) state = heldSeconds >= trigger.forSeconds || heldWholeWindow ? 'breached' : 'pending';
  return { trigger, labels, state, value, heldSeconds, heldWholeWindow };
}

/** What a trigger whose query found no series says: "no data", or nothing at all for a `when_present` trigger (replica lag before any replica). */
export function noSeries(trigger: Trigger): TriggerResult[] {
  return trigger.whenPresent ? [] : [noData(trigger, {}, 'the query returned no series at this time')];
}

export function noData(trigger: Trigger, labels: Record<string, string>, reason: string): TriggerResult {
  return { trigger, labels, state: 'no_data', value: null, heldSeconds: 0, heldWholeWindow: false, reason };
}

export function decideVerdict(results: readonly TriggerResult[]): Verdict {
  if (results.some((result) => result.state === 'breached' && result.trigger.severity === 'immediate')) {
    return 'scale_now';
  }
  if (results.some((result) => result.state === 'breached' && result.trigger.severity === 'soon')) {
    return 'scale_soon';
  }
  return 'ok';
}

/** Worst first: breached, pending, no data, ok; within a state the series furthest past its threshold. */
export function rankResults(results: readonly TriggerResult[]): TriggerResult[] {
  const order: Record<TriggerState, number> = { breached: 0, pending: 1, no_data: 2, ok: 3 };
  return [...results].sort((a, b) => {
    const byState = order[a.state] - order[b.state];
    if (byState !== 0) return byState;
    const direction = a.trigger.op.startsWith('<') ? 1 : -1;
    return direction * ((a.value ?? 0) - (b.value ?? 0));
  });
}
