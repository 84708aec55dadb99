// The week before the demo, as OpenMetrics text for promtool: the same series the live exporter serves
// (series.ts), one sample every HISTORY_STEP_SECONDS, following scenario.ts `historyValues`. The counters'
// totals at the end are where the live exporter starts, so a rate across the seam reads the calm start.
//
// Why chunks: promtool 2.42 re-reads its whole input for every 2-hour block window, so one file of eight days
// costs 96 readings of all of it. Chunks that each cover whole 2-hour windows are read once per window of their
// own: total work grows with the history's length, not with its square.
import type { SeriesSpec } from '../../devkit/prometheus/index.ts';
import { buildOpenMetrics } from '../../devkit/prometheus/index.ts';
import { historyValues, HISTORY_DAYS } from './scenario.ts';
import { DEMO_METRICS, growCounters, setGauges, type CounterTotal, type Labels } from './series.ts';

/** Coarse enough to backfill in seconds, fine enough that every gauge has a sample within Prometheus' 5-minute lookback. */
export const HISTORY_STEP_SECONDS = 4 * 60;
/** Hours of history per OpenMetrics chunk: a multiple of promtool's 2-hour block windows. */
export const HISTORY_CHUNK_HOURS = 24;

export interface DemoHistory {
  /** OpenMetrics texts, oldest first, each for one `promtool tsdb create-blocks-from openmetrics`. */
  readonly chunks: readonly string[];
  /** Each counter series' total at `end`: the live exporter's starting values. */
  readonly counters: readonly CounterTotal[];
  /** Unix seconds of the first and the last sample. */
  readonly start: number;
  readonly end: number;
  readonly samples: number;
}

export interface DemoHistoryOptions {
  /** Unix seconds: the last sample, where the live story takes over. */
  readonly end: number;
  readonly days?: number;
  readonly stepSeconds?: number;
  readonly chunkHours?: number;
}

export function buildDemoHistory({
  end,
  days = HISTORY_DAYS,
  stepSeconds = HISTORY_STEP_SECONDS,
  chunkHours = HISTORY_CHUNK_HOURS,
}: DemoHistoryOptions): DemoHistory {
  const chunkSeconds = chunkHours * 3600;
  if (!Number.isInteger(chunkHours) || chunkHours <= 0 || chunkHours % 2 !== 0) throw new Error('chunkHours must be a positive multiple of 2');
  const start = end - Math.floor((days * 86_400) / stepSeconds) * stepSeconds;
  const series = new Map<string, { type: SeriesSpec['type']; name: string; labels: Labels; total: number; samples: Array<[number, number]> }>();
  const entry = (name: string, labels: Labels) => {
    const key = `${name}${JSON.stringify(labels)}`;
    let found = series.get(key);
    if (!found) {
      found = { type: typeOf(name), name, labels, total: 0, samples: [] };
      series.set(key, found);
    }
    return found;
  };
  const sink = {
    counter: (name: string, labels: Labels, delta: number) => {
      entry(name, labels).total += delta;
    },
    gauge: (name: string, labels: Labels, value: number) => {
      entry(name, labels).total = value;
    },
  };

  // Counters start at 0 with the history, as an exporter (re)started a week ago would.
  let samples = 0;
  for (let t = start; t <= end; t += stepSeconds) {
    if (t > start) growCounters(sink, historyValues(t - stepSeconds / 2, end - (t - stepSeconds / 2)), stepSeconds);
    setGauges(sink, historyValues(t, end - t));
    for (const s of series.values()) s.samples.push([t, s.total]);
    samples += series.size;
  }

  const chunks: string[] = [];
  const firstWindow = Math.floor(start / chunkSeconds) * chunkSeconds;
  for (let from = firstWindow; from <= end; from += chunkSeconds) {
    const specs: SeriesSpec[] = [];
    for (const s of series.values()) {
      const inChunk = s.samples.filter(([t]) => t >= from && t < from + chunkSeconds);
      if (inChunk.length > 0) specs.push({ name: s.name, type: s.type, labels: { ...s.labels }, help: helpOf(s.name), samples: inChunk });
    }
    if (specs.length > 0) chunks.push(buildOpenMetrics(specs));
  }
  const counters = [...series.values()].filter((s) => s.type !== 'gauge').map((s) => ({ name: s.name, labels: s.labels, value: s.total }));
  return { chunks, counters, start, end, samples };
}

function typeOf(name: string): SeriesSpec['type'] {
  if (name in DEMO_METRICS.gauges) return 'gauge';
  return name.endsWith('_total') ? 'counter' : 'histogram';
}

function helpOf(name: string): string {
  const all: Record<string, { help: string }> = { ...DEMO_METRICS.counters, ...DEMO_METRICS.gauges };
  return all[name]?.help ?? name;
}
