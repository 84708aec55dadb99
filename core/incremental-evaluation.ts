import type { PrometheusPort } from './ports.ts';
import {
  AT_TOLERANCE_SECONDS,
  compare,
  continuesRun,
  evaluateTrigger,
  evaluationWindow,
  judgeSeries,
  noSeries,
  type Series,
  type Trigger,
  type TriggerResult,
} from './triggers.ts';

/**
 * Incremental evaluation. A trigger's judgment needs, per series, its value at `at` and how long its condition
 * has held: the start of the unbroken run of matching points that reaches `at`, at the trigger's step. The
 * first evaluation reads the whole window; it leaves behind, per series, where its run started as of a grid
 * point a little in the past (`settledAt`). The next one asks Prometheus only for the grid points after that
 * one and for the value at `at`, and carries the runs on. Re-reading the window every cycle cost Prometheus
 * 3.3 s of CPU at 1,000 series per trigger (issue 17).
 *
 * Both readers read the same instants: the grid is the multiples of the step since the epoch (not `at` minus
 * k steps, whose points would move with `at`), from `gridEnd` (the last multiple at or before `at`) back one
 * window, plus `at` itself. The answers are what the whole-window read says, to the point: the property test
 * (tests/core/incremental-evaluation.test.ts) and the test against a real Prometheus
 * (tests/integrations/incremental-prometheus.test.ts) compare both on generated histories.
 *
 * It falls back to the whole window when nothing is kept for this trigger as configured (a restart, a new
 * query, threshold, `for`, look-back or step: they are the key), when what is kept is a window or more old
 * (the read since would be as long), and when `at` is earlier than the evaluation that left it.
 */

/**
 * How long after a grid point its value is taken as final. A scrape is stamped with its start and stored when
 * it ends (up to its timeout, 10 s by default); a recording rule's sample lands after its evaluation. A point
 * judged before those samples are in would differ from what a later whole-window read says, so the points of
 * the last minute are read again at the next evaluation rather than kept. At least one step: a series with no
 * point at the kept grid point cannot carry a run on to `at` then (the gap is more than 1.5 steps).
 */
export const SETTLE_SECONDS = 60;

/** Runs kept over all triggers (about 150 bytes each: the series' labels as a key and a number). */
export const MAX_KEPT_RUNS = 200_000;
/** Trigger definitions kept (each look-back a trigger is judged at is one), least recently used dropped first. */
const MAX_KEPT_DEFINITIONS = 500;

export interface EvaluationGrid {
  readonly at: number;
  readonly stepSeconds: number;
  readonly windowSeconds: number;
  /** The first grid point read: `gridEnd` minus the window. */
  readonly gridStart: number;
  /** The last multiple of the step at or before `at`. */
  readonly gridEnd: number;
  /** The last grid point taken as final at `at` (SETTLE_SECONDS): where the kept runs stand. */
  readonly settledAt: number;
}

export function evaluationGrid(trigger: Trigger, at: number, lookbackSeconds?: number): EvaluationGrid {
  const { windowSeconds, stepSeconds } = evaluationWindow(trigger, lookbackSeconds);
  const gridEnd = Math.floor(at / stepSeconds) * stepSeconds;
  const settledAt = Math.floor((at - Math.max(SETTLE_SECONDS, stepSeconds)) / stepSeconds) * stepSeconds;
  return { at, stepSeconds, windowSeconds, gridStart: gridEnd - windowSeconds, gridEnd, settledAt };
}

/** What one evaluation of a trigger leaves for the next. */
interface KeptRuns {
  readonly definition: string;
  readonly at: number;
  readonly windowSeconds: number;
  readonly settledAt: number;
  /** Per series (labelsKey) whose point at `settledAt` matches: the start of its run of matching points. */
  readonly runs: ReadonlyMap<string, number>;
}

export interface EvaluationCounts {
  /** Trigger definitions with runs kept. */
  readonly definitions: number;
  /** Runs kept, one number per series in a matching run, over all definitions. */
  readonly keptRuns: number;
  readonly wholeWindowReads: number;
  readonly incrementalReads: number;
}

/** Where a Prometheus client keeps its triggers' runs between evaluations (one per client, and so per worker). */
export interface EvaluationStore {
  recall(definition: string, grid: EvaluationGrid): KeptRuns | undefined;
  keep(kept: KeptRuns): void;
  noteRead(kind: 'whole' | 'incremental'): void;
  counts(): EvaluationCounts;
}

export function createEvaluationStore({ maxKeptRuns = MAX_KEPT_RUNS }: { maxKeptRuns?: number } = {}): EvaluationStore {
  const byDefinition = new Map<string, KeptRuns>();
  let keptRuns = 0;
  let wholeWindowReads = 0;
  let incrementalReads = 0;
  const drop = (definition: string) => {
    const known = byDefinition.get(definition);
    if (!known) return;
    keptRuns -= known.runs.size;
    byDefinition.delete(definition);
  };
  return {
    recall(definition, grid) {
      const known = byDefinition.get(definition);
      if (!known || known.at > grid.at || grid.gridEnd - known.settledAt >= grid.windowSeconds) return undefined;
      return known;
    },
    keep(kept) {
      const known = byDefinition.get(kept.definition);
      // Two evaluations in flight at once (the watcher's and a status): the later `at` wins; each is right for its own.
      if (known && known.at > kept.at) return;
      drop(kept.definition);
      // Too old to be read on from: a read since would be as long as the window.
      for (const [definition, other] of byDefinition) if (kept.at - other.settledAt >= 2 * other.windowSeconds) drop(definition);
      if (keptRuns + kept.runs.size > maxKeptRuns) return;
      while (byDefinition.size >= MAX_KEPT_DEFINITIONS) drop(byDefinition.keys().next().value!);
      byDefinition.set(kept.definition, kept);
      keptRuns += kept.runs.size;
    },
    noteRead(kind) {
      if (kind === 'whole') wholeWindowReads += 1;
      else incrementalReads += 1;
    },
    counts: () => ({ definitions: byDefinition.size, keptRuns, wholeWindowReads, incrementalReads }),
  };
}

/** A series' identity across answers: its labels in name order. */
export function labelsKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Everything that decides which points match and at what step: a change to any of them is a new definition. */
function definitionOf(trigger: Trigger, grid: EvaluationGrid): string {
  return JSON.stringify([trigger.id, trigger.query, trigger.op, trigger.threshold, trigger.forSeconds, grid.windowSeconds, grid.stepSeconds]);
}

/**
 * Judges `trigger` at `at` (unix seconds): from what `store` kept of its last evaluation and the points since,
 * or from the whole window when nothing usable is kept. Without a store, always the whole window.
 */
export async function readTrigger(
  trigger: Trigger,
  prometheus: Pick<PrometheusPort, 'queryRange'>,
  at: number,
  lookbackSeconds: number | undefined,
  store?: EvaluationStore,
): Promise<TriggerResult[]> {
  const grid = evaluationGrid(trigger, at, lookbackSeconds);
  const definition = definitionOf(trigger, grid);
  const kept = store?.recall(definition, grid);
  const { results, runs } = kept ? await readSince(trigger, prometheus, grid, kept) : await readWholeWindow(trigger, prometheus, grid);
  if (store) {
    store.noteRead(kept ? 'incremental' : 'whole');
    store.keep({ definition, at, windowSeconds: grid.windowSeconds, settledAt: grid.settledAt, runs });
  }
  return results;
}

const onGrid = (grid: EvaluationGrid) => grid.at - grid.gridEnd < AT_TOLERANCE_SECONDS;

/** The values at `at` alone: a range query of one point, so that the port needs nothing but queryRange. */
function readAt(trigger: Trigger, prometheus: Pick<PrometheusPort, 'queryRange'>, grid: EvaluationGrid): Promise<Series[]> {
  return prometheus.queryRange(trigger.query, grid.at, grid.at, grid.stepSeconds);
}

/** The whole window on the grid, and `at` itself; judged by evaluateTrigger, the reference the incremental reader must match. */
export async function readWholeWindow(
  trigger: Trigger,
  prometheus: Pick<PrometheusPort, 'queryRange'>,
  grid: EvaluationGrid,
): Promise<{ results: TriggerResult[]; runs: Map<string, number> }> {
  const [history, latest] = await Promise.all([
    prometheus.queryRange(trigger.query, grid.gridStart, grid.gridEnd, grid.stepSeconds),
    onGrid(grid) ? null : readAt(trigger, prometheus, grid),
  ]);
  const merged = new Map<string, { labels: Readonly<Record<string, string>>; points: Array<readonly [number, number]> }>();
  for (const { labels, points } of history) merged.set(labelsKey(labels), { labels, points: [...points] });
  for (const { labels, points } of latest ?? []) {
    const value = points[points.length - 1];
    if (!value) continue;
    const key = labelsKey(labels);
    const entry = merged.get(key) ?? { labels, points: [] };
    entry.points.push([grid.at, value[1]]);
    merged.set(key, entry);
  }
  const ordered = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, series]) => series);
  const judged = evaluateTrigger(trigger, ordered, grid.at, grid.stepSeconds, grid.at - grid.gridStart);
  const runs = new Map<string, number>();
  for (const { labels, points } of history) {
    const run = startRun();
    for (const [time, value] of points) {
      if (time > grid.settledAt + AT_TOLERANCE_SECONDS) break;
      extendRun(run, trigger, grid, time, value);
    }
    if (run.start !== null && Math.abs(run.last - grid.settledAt) < AT_TOLERANCE_SECONDS) runs.set(labelsKey(labels), run.start);
  }
  return { results: judged, runs };
}

interface Run {
  /** The first point of the unbroken run of matching points ending at `last`; null when `last` does not match. */
  start: number | null;
  /** The time of the series' latest point walked. */
  last: number;
}

const startRun = (): Run => ({ start: null, last: Number.NEGATIVE_INFINITY });

/** evaluateTrigger's walk back from `at`, walked forward: the same points, the same test of each gap. */
function extendRun(run: Run, trigger: Trigger, grid: EvaluationGrid, time: number, value: number): void {
  if (!compare(value, trigger.op, trigger.threshold)) run.start = null;
  else if (run.start === null || !continuesRun(run.last, time, grid.stepSeconds)) run.start = time;
  run.last = time;
}

/** The grid points after the kept one, and `at`, carried on from the kept runs. */
async function readSince(
  trigger: Trigger,
  prometheus: Pick<PrometheusPort, 'queryRange'>,
  grid: EvaluationGrid,
  kept: KeptRuns,
): Promise<{ results: TriggerResult[]; runs: Map<string, number> }> {
  const from = kept.settledAt + grid.stepSeconds;
  const rangeReadsAt = from <= grid.gridEnd && onGrid(grid);
  const [recent, latest] = await Promise.all([
    from <= grid.gridEnd ? prometheus.queryRange(trigger.query, from, grid.gridEnd, grid.stepSeconds) : Promise.resolve([]),
    rangeReadsAt ? null : readAt(trigger, prometheus, grid),
  ]);
  const series = new Map<string, { labels: Readonly<Record<string, string>>; points?: Series['points']; atValue?: number }>();
  for (const { labels, points } of recent) series.set(labelsKey(labels), { labels, points });
  for (const { labels, points } of latest ?? []) {
    const value = points[points.length - 1];
    if (!value) continue;
    const key = labelsKey(labels);
    const entry = series.get(key) ?? { labels };
    entry.atValue = value[1];
    series.set(key, entry);
  }
  const windowStart = grid.at - (grid.at - grid.gridStart);
  const runs = new Map<string, number>();
  const judged: Array<[string, TriggerResult]> = [];
  for (const [key, entry] of series) {
    const run = startRun();
    const keptStart = kept.runs.get(key);
    if (keptStart !== undefined) {
      run.start = keptStart;
      run.last = kept.settledAt;
    }
    let settledStart = Math.abs(run.last - grid.settledAt) < AT_TOLERANCE_SECONDS ? run.start : null;
    let atValue = entry.atValue;
    for (const [time, value] of entry.points ?? []) {
      extendRun(run, trigger, grid, time, value);
      if (Math.abs(time - grid.settledAt) < AT_TOLERANCE_SECONDS) settledStart = run.start;
      if (rangeReadsAt && Math.abs(time - grid.at) < AT_TOLERANCE_SECONDS) atValue = value;
    }
    if (settledStart !== null) runs.set(key, settledStart);
    if (atValue === undefined) continue;
    if (!rangeReadsAt) extendRun(run, trigger, grid, grid.at, atValue);
    // The whole-window read starts at gridStart: a run that began before it has held since gridStart there.
    const heldSince = run.start === null ? grid.at : Math.max(run.start, grid.gridStart);
    judged.push([key, judgeSeries(trigger, entry.labels, atValue, heldSince, grid.at, windowStart, grid.stepSeconds)]);
  }
  // A kept run whose series has no point since cannot reach a later grid point; it is kept only while its grid point still is the settled one.
  if (kept.settledAt === grid.settledAt) for (const [key, start] of kept.runs) if (!series.has(key)) runs.set(key, start);
  if (judged.length === 0) return { results: noSeries(trigger), runs };
  judged.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { results: judged.map(([, result]) => result), runs };
}
