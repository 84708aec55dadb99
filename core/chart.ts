/**
 * What a chart shows, as plain data: built from a trigger, its history and its forecast by the functions here,
 * drawn by charts/ (ECharts' server-side SVG, rasterised by resvg) in a worker thread.
 */
import { formatDuration } from './duration.ts';
import type { Forecast } from './forecast.ts';
import { compare, type Operator, type Series, type Trigger } from './triggers.ts';
import { formatValue, type Unit } from './units.ts';

export type ChartTheme = 'light' | 'dark';

export interface ChartLine {
  /** The series' labels as people read them ("web-1:9100"), or the trigger's name for a single series. */
  readonly label: string;
  /** [unix seconds, value] in time order; NaN or a missing point breaks the line. */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface ChartModel {
  /** "CPU usage — web-1:9100". */
  readonly title: string;
  /** A line under the title: "scale now · over 70 % for 15 min · last 1 h 30 min". */
  readonly subtitle?: string;
  readonly unit: Unit;
  readonly op: Operator;
  readonly threshold: number;
  /** The window shown, unix seconds. */
  readonly start: number;
  readonly end: number;
  /** At most five lines, the ones furthest past the threshold (or highest) first. */
  readonly lines: readonly ChartLine[];
  /** How many series were left out ("and 95 more"). */
  readonly moreCount: number;
  /** The trigger's `for` window, ending at `end`, marked on the time axis; null when `for` is 0. */
  readonly forWindow: { readonly start: number; readonly end: number } | null;
  /** The trend continued past `end` as a dashed line (the first line's forecast), to the crossing or the window's edge. */
  readonly forecast: { readonly points: ReadonlyArray<readonly [number, number]>; readonly label: string } | null;
  /** The current value, labelled at the end of the first line. */
  readonly current: { readonly value: number; readonly label: string } | null;
  /** A breach's span, shaded (the whole breach in a resolved one's picture). */
  readonly breachSpan?: { readonly start: number; readonly end: number } | null;
  readonly theme: ChartTheme;
  /** One sentence for people who cannot see the picture (buildChartModel writes it); the title when absent. */
  readonly altText?: string;
  /** Pixels; defaults 800 × 400. */
  readonly width?: number;
  readonly height?: number;
}

/** A PNG and what Slack should say for people who cannot see it. */
export interface RenderedChart {
  readonly png: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** Alt text: what the picture says in one sentence. */
  readonly altText: string;
}

// ---------------------------------------------------------------------------------------------------------
// The builders: a trigger, its series and its forecast → what the chart shows. Pure, no I/O.

/** How many series a chart draws; the rest are counted ("and 95 more"). */
export const MAX_CHART_LINES = 5;

const HOUR = 3600;
const DAY = 24 * HOUR;

/**
 * The window a trigger's chart shows: `override` when given, else 24 h for a "scale soon" trigger (growth is
 * read over a day), else the larger of 6 × `for` and 1 h (the `for` window is a sixth of the picture at most,
 * so that what came before the breach shows too).
 */
export function chartWindowSeconds(trigger: Pick<Trigger, 'severity' | 'forSeconds'>, override?: number): number {
  if (override !== undefined) {
    if (!Number.isFinite(override) || override <= 0) throw new RangeError(`A chart window must be a positive number of seconds, not ${override}.`);
    return override;
  }
  if (trigger.severity === 'soon') return DAY;
  return Math.max(6 * trigger.forSeconds, HOUR);
}

export interface ChartModelInput {
  readonly trigger: Trigger;
  readonly series: readonly Series[];
  /** The right edge of the window: now, or a breach's end. */
  readonly at: Date;
  readonly windowSeconds: number;
  /**
   * The first line's forecast (core/forecast.ts), drawn dashed when it has a trend; or each series' forecast by
   * its labels, of which the first line's is drawn (the caller does not know which series ranks first).
   */
  readonly forecast?: Forecast | null | ((labels: Readonly<Record<string, string>>) => Forecast | null | undefined);
  readonly breachSpan?: { readonly start: number; readonly end: number } | null;
  readonly theme: ChartTheme;
  /** Defaults to the trigger's name (with the series' label when there is only one). */
  readonly title?: string;
  readonly width?: number;
  readonly height?: number;
}

/**
 * A series' labels as people read them: the instance first, then the others ("web-1:9100 job=node"), less
 * those in `shared` (the labels every series has alike: job="node" on all of them tells nothing apart).
 */
export function seriesLabel(labels: Readonly<Record<string, string>>, fallback: string, shared: ReadonlySet<string> = new Set()): string {
  const { instance: instanceLabel, __name__: _name, ...others } = labels;
  const instance = shared.has('instance') ? undefined : instanceLabel;
  const rest = Object.keys(others)
    .filter((key) => !shared.has(key))
    .sort()
    .map((key) => `${key}=${others[key]}`);
  const parts = instance ? [instance, ...rest] : rest;
  return parts.length > 0 ? parts.join(' ') : fallback;
}

function lastFinite(points: ReadonlyArray<readonly [number, number]>): readonly [number, number] | null {
  for (let index = points.length - 1; index >= 0; index -= 1) {
    const point = points[index]!;
    if (Number.isFinite(point[1])) return point;
  }
  return null;
}

/** The labels every series has with the same value; none when there is only one series (its labels are all it has). */
function sharedLabels(series: readonly Series[]): ReadonlySet<string> {
  if (series.length < 2) return new Set();
  const [first, ...others] = series;
  return new Set(Object.keys(first!.labels).filter((key) => others.every((other) => other.labels[key] === first!.labels[key])));
}

const OPERATOR_WORDS: Record<Operator, string> = { '>': 'over', '>=': 'at or over', '<': 'under', '<=': 'at or under' };

/** "~19 days", "~1 day", "~5 h": how far off a crossing is. */
function roughlyIn(seconds: number): string {
  if (seconds < DAY) return `~${Math.max(1, Math.round(seconds / HOUR))} h`;
  const days = Math.round(seconds / DAY);
  return `~${days} day${days === 1 ? '' : 's'}`;
}

/**
 * The dashed continuation of the first line: from its last point toward the crossing, reaching it when the
 * crossing falls within a third of a window past the end, stopping at that edge otherwise (a crossing in 19
 * days would squash a day's chart to nothing). A flat or falling trend is drawn over the same third.
 */
function forecastLine(
  forecast: Forecast | null | undefined,
  last: readonly [number, number] | null,
  input: { threshold: number; unit: Unit; end: number; windowSeconds: number },
): ChartModel['forecast'] {
  if (!forecast || !last || forecast.slopePerDay === null || !Number.isFinite(forecast.slopePerDay)) return null;
  const horizon = input.end + input.windowSeconds / 3;
  const [lastTime, lastValue] = last;
  if (forecast.outcome === 'crosses' && forecast.crossesAt) {
    const crossing = forecast.crossesAt.getTime() / 1000;
    const label = `crosses ${formatValue(input.threshold, input.unit)} in ${roughlyIn(crossing - input.end)}`;
    if (crossing <= lastTime) return null;
    if (crossing <= horizon)
      return {
        points: [
          [lastTime, lastValue],
          [crossing, input.threshold],
        ],
        label,
      };
    const fraction = (horizon - lastTime) / (crossing - lastTime);
    return {
      points: [
        [lastTime, lastValue],
        [horizon, lastValue + (input.threshold - lastValue) * fraction],
      ],
      label,
    };
  }
  if (forecast.outcome === 'flat_or_falling')
    return {
      points: [
        [lastTime, lastValue],
        [horizon, lastValue + (forecast.slopePerDay * (horizon - lastTime)) / DAY],
      ],
      label: 'flat or falling',
    };
  return null;
}

/**
 * What a trigger's chart shows. The series furthest past the threshold come first (the highest for `>`, the
 * lowest for `<`), five at most; the others are counted. Points outside the window are dropped.
 */
export function buildChartModel(input: ChartModelInput): ChartModel {
  const { trigger, theme } = input;
  const end = Math.floor(input.at.getTime() / 1000);
  const start = end - input.windowSeconds;
  const below = trigger.op === '<' || trigger.op === '<=';
  const ranked = input.series
    .map((series) => {
      const points = series.points.filter(([time]) => time >= start && time <= end);
      return { series, points, last: lastFinite(points) };
    })
    .sort((a, b) => {
      // Series with no value in the window go last; among the others, the furthest past the threshold first.
      if (!a.last || !b.last) return (a.last ? 0 : 1) - (b.last ? 0 : 1);
      return below ? a.last[1] - b.last[1] : b.last[1] - a.last[1];
    });
  const shown = ranked.slice(0, MAX_CHART_LINES);
  const shared = sharedLabels(input.series);
  const lines: ChartLine[] = shown.map(({ series, points }) => ({ label: seriesLabel(series.labels, trigger.name, shared), points }));
  const first = shown[0];
  const current = first?.last ? { value: first.last[1], label: formatValue(first.last[1], trigger.unit) } : null;
  const forWindow = trigger.forSeconds > 0 ? { start: end - trigger.forSeconds, end } : null;
  const firstForecast = typeof input.forecast === 'function' ? (first ? input.forecast(first.series.labels) : null) : input.forecast;
  const forecast = forecastLine(firstForecast, first?.last ?? null, {
    threshold: trigger.threshold,
    unit: trigger.unit,
    end,
    windowSeconds: input.windowSeconds,
  });
  const breachSpan = input.breachSpan ? { start: Math.max(start, input.breachSpan.start), end: Math.min(end, input.breachSpan.end) } : null;
  const title = input.title ?? (lines.length === 1 && lines[0]!.label !== trigger.name ? `${trigger.name} — ${lines[0]!.label}` : trigger.name);
  const condition = `${OPERATOR_WORDS[trigger.op]} ${formatValue(trigger.threshold, trigger.unit)}`;
  const subtitle = [
    trigger.severity === 'immediate' ? 'scale now' : 'scale soon',
    trigger.forSeconds > 0 ? `${condition} for ${formatDuration(trigger.forSeconds)}` : condition,
    `last ${formatDuration(input.windowSeconds)}`,
  ].join(' · ');
  const moreCount = ranked.length - shown.length;
  return {
    title,
    subtitle,
    unit: trigger.unit,
    op: trigger.op,
    threshold: trigger.threshold,
    start,
    end,
    lines,
    moreCount,
    forWindow,
    forecast,
    current,
    breachSpan: breachSpan && breachSpan.end > breachSpan.start ? breachSpan : null,
    theme,
    altText: altTextOf({ trigger, lines, moreCount, current, forecast, windowSeconds: input.windowSeconds }),
    ...(input.width !== undefined ? { width: input.width } : {}),
    ...(input.height !== undefined ? { height: input.height } : {}),
  };
}

function altTextOf(input: {
  trigger: Trigger;
  lines: readonly ChartLine[];
  moreCount: number;
  current: ChartModel['current'];
  forecast: ChartModel['forecast'];
  windowSeconds: number;
}): string {
  const { trigger, lines, moreCount, current, forecast } = input;
  const threshold = formatValue(trigger.threshold, trigger.unit);
  if (lines.length === 0) return `Chart of ${trigger.name} over the last ${formatDuration(input.windowSeconds)}: no data (threshold ${threshold}).`;
  const parts = [`Chart of ${trigger.name} over the last ${formatDuration(input.windowSeconds)}`];
  const who = lines.length > 1 || lines[0]!.label !== trigger.name ? `${lines[0]!.label} ` : '';
  if (current) {
    const past = compare(current.value, trigger.op, trigger.threshold);
    parts.push(`${who}now at ${current.label}, ${past ? 'past' : 'within'} the threshold of ${threshold}`);
  } else parts.push(`threshold ${threshold}`);
  if (lines.length > 1 || moreCount > 0) parts.push(`${lines.length + moreCount} series, the ${lines.length} furthest past the threshold drawn`);
  if (forecast) parts.push(`trend: ${forecast.label}`);
  return `${parts.join('; ')}.`;
}
