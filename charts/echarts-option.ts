/**
 * A ChartModel as an ECharts option, laid out for Slack: the picture is shown about 360 px wide in a
 * thread, so an 800 px chart is read at less than half its size. Hence big fonts, thick lines, few ticks,
 * and an opaque background in a palette readable in Slack's light and dark modes alike.
 *
 * The geometry is fixed here, never left to ECharts' automatic layout: the plot area's edges in pixels and
 * the y axis' range (chartGeometry). The tests find the threshold's pixel row from it.
 */
import type { EChartsOption } from 'echarts';
import type { ChartModel, ChartTheme } from '../core/chart.ts';
import { formatDuration } from '../core/duration.ts';
import type { Unit } from '../core/units.ts';

export const DEFAULT_WIDTH = 800;
export const DEFAULT_HEIGHT = 400;
export const FONT_FAMILY = 'DejaVu Sans';

export interface Palette {
  readonly background: string;
  readonly text: string;
  readonly subtext: string;
  readonly axis: string;
  readonly gridLines: string;
  /** The threshold: the strongest colour in the picture, used for nothing else. */
  readonly threshold: string;
  /** The lines, the first (furthest past the threshold) in the most visible colour. None is a red. */
  readonly lines: readonly string[];
  readonly forWindow: string;
}

// Light: Slack's own text colours on white. Dark: a background a shade off Slack's dark mode (#1a1d21), so
// that the picture reads as a card there, with light text and lines bright enough on it. Both are opaque, so
// either reads in either mode.
export const PALETTES: Record<ChartTheme, Palette> = {
  light: {
    background: '#ffffff',
    text: '#1d1c1d',
    subtext: '#4a4a4d',
    axis: '#7a7f85',
    gridLines: '#e3e5e8',
    threshold: '#d92d20',
    lines: ['#1264a3', '#7c3aed', '#0f8a7e', '#b7791f', '#55606e'],
    forWindow: '#64748b',
  },
  dark: {
    background: '#22262b',
    text: '#f2f3f5',
    subtext: '#c3c7cc',
    axis: '#8b929a',
    gridLines: '#3a4047',
    threshold: '#ff5a4e',
    lines: ['#5ab0ff', '#c4a1ff', '#3fd6c4', '#f6c453', '#c8ccd2'],
    forWindow: '#aab4c2',
  },
};

/** Where the plot area sits (pixels from the picture's edges) and the y range it shows. */
export interface ChartGeometry {
  readonly width: number;
  readonly height: number;
  readonly grid: { readonly top: number; readonly right: number; readonly bottom: number; readonly left: number };
  readonly yMin: number;
  readonly yMax: number;
  readonly yInterval: number;
  /** The time axis, unix seconds: the window, and the forecast past its end. */
  readonly xMin: number;
  readonly xMax: number;
  /** A small multiple: no subtitle or legend, smaller fonts. */
  readonly compact: boolean;
}

function allValues(model: ChartModel): number[] {
  const values = [model.threshold];
  for (const line of model.lines) for (const [, value] of line.points) if (Number.isFinite(value)) values.push(value);
  for (const [, value] of model.forecast?.points ?? []) if (Number.isFinite(value)) values.push(value);
  return values;
}

const roundFloat = (value: number) => Number(value.toPrecision(12));

/** A y range in round steps (1, 2, 2.5, 5 × 10ⁿ) holding every value and the threshold, with headroom for the labels. */
export function niceRange(values: readonly number[], unit: Unit): { min: number; max: number; interval: number } {
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (high === low) {
    const pad = Math.abs(high) * 0.1 || 1;
    low -= pad;
    high += pad;
  }
  // Room above the highest value for the current value's label, and a little below the lowest, so that a
  // threshold at the bottom (a `<` trigger's) is not drawn on the axis line.
  const span = high - low;
  high += span * 0.12;
  low -= span * 0.04;
  // From zero when zero is near: usage and counts read best from their floor; a series far from zero (5,000
  // users growing by 50) would be a flat line on such an axis, so it is not forced there.
  if (low >= 0 && low <= high * 0.5) low = 0;
  const rough = (high - low) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const normalised = rough / magnitude;
  const step = (normalised <= 1 ? 1 : normalised <= 2 ? 2 : normalised <= 2.5 ? 2.5 : normalised <= 5 ? 5 : 10) * magnitude;
  const min = roundFloat(Math.floor(low / step) * step);
  let max = roundFloat(Math.ceil(high / step) * step);
  // A percentage axis ends at 100 % when every value is within it.
  if (unit === 'percent' && Math.max(...values) <= 1 && max > 1 && min < 1) max = 1;
  return { min, max, interval: roundFloat(step) };
}

export function chartGeometry(model: ChartModel): ChartGeometry {
  const width = model.width ?? DEFAULT_WIDTH;
  const height = model.height ?? DEFAULT_HEIGHT;
  const compact = width < 560;
  const legend = !compact && (model.lines.length > 1 || model.moreCount > 0);
  const grid = compact ? { top: 48, right: 20, bottom: 34, left: 78 } : { top: 96, right: 34, bottom: legend ? 86 : 46, left: 110 };
  const range = niceRange(allValues(model), model.unit);
  const forecastEnd = Math.max(model.end, ...(model.forecast?.points ?? []).map(([time]) => time));
  return { width, height, grid, yMin: range.min, yMax: range.max, yInterval: range.interval, xMin: model.start, xMax: forecastEnd, compact };
}

/** The pixel row of a value on the y axis (0 at the picture's top). */
export function rowOf(geometry: ChartGeometry, value: number): number {
  const plotHeight = geometry.height - geometry.grid.top - geometry.grid.bottom;
  return geometry.grid.top + ((geometry.yMax - value) / (geometry.yMax - geometry.yMin)) * plotHeight;
}

const BYTE_STEPS = [
  [1e15, 'PB'],
  [1e12, 'TB'],
  [1e9, 'GB'],
  [1e6, 'MB'],
  [1e3, 'kB'],
] as const;

const trim = (value: number, digits: number) => Number(value.toFixed(digits)).toString();

/** Axis labels in the unit, short, and in one scale for the whole axis (0 GB, 5 GB, 10 GB, not 0 B, 5 GB). */
export function axisFormatter(unit: Unit, top: number): (value: number) => string {
  switch (unit) {
    case 'percent':
      return (value) => `${trim(value * 100, top <= 0.1 ? 1 : 0)} %`;
    case 'ratio':
      return (value) => `${trim(value, 2)}×`;
    case 'seconds':
      return top < 1 ? (value) => `${trim(value * 1000, 0)} ms` : (value) => `${trim(value, 1)} s`;
    case 'bytes': {
      const [divisor, name] = BYTE_STEPS.find(([size]) => Math.abs(top) >= size) ?? [1, 'B'];
      return (value) => `${trim(value / divisor, 1)} ${name}`;
    }
    case 'count':
      return (value) => {
        const size = Math.abs(value);
        if (size >= 1e6) return `${trim(value / 1e6, 1)}M`;
        if (size >= 1e4) return `${trim(value / 1e3, 0)}k`;
        if (size >= 1e3) return `${trim(value / 1e3, 1)}k`;
        return trim(value, 1);
      };
  }
}

const toMs = (points: ReadonlyArray<readonly [number, number]>) =>
  points.map(([time, value]) => [time * 1000, Number.isFinite(value) ? value : null] as [number, number | null]);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const twoDigits = (value: number) => String(value).padStart(2, '0');

/**
 * Time labels by what the window spans: hours and minutes within two days, dates beyond; in the bot's time
 * zone. A function, not ECharts' levelled templates: those draw day boundaries in a rich style that ignores
 * the axis' font size.
 */
export function timeLabel(spanSeconds: number): (valueMs: number) => string {
  if (spanSeconds <= 2 * 86400)
    return (valueMs) => {
      const date = new Date(valueMs);
      return `${twoDigits(date.getHours())}:${twoDigits(date.getMinutes())}`;
    };
  return (valueMs) => {
    const date = new Date(valueMs);
    return `${MONTHS[date.getMonth()]} ${date.getDate()}`;
  };
}

// DejaVu Sans averages about 0.6 em a character: enough to share the legend's width out before drawing.
const textWidth = (text: string, fontSize: number) => Math.ceil(text.length * fontSize * 0.6);

/**
 * The legend's names: a port every instance shares (":9100") is left out, it tells no line apart and the
 * legend has about 150 px a line at 800 px.
 */
export function legendNames(labels: readonly string[]): Map<string, string> {
  const port = labels[0]?.match(/^[^\s]*?(:\d+)(?=\s|$)/)?.[1];
  const sharesPort = labels.length > 1 && port !== undefined && labels.every((label) => label.match(/^[^\s]*?(:\d+)(?=\s|$)/)?.[1] === port);
  return new Map(labels.map((label) => [label, sharesPort ? label.replace(port!, '') : label]));
}

export function echartsOption(model: ChartModel): EChartsOption {
  const geometry = chartGeometry(model);
  const { compact, width } = geometry;
  const palette = PALETTES[model.theme];
  const size = compact
    ? { title: 19, subtitle: 0, axis: 15, legend: 0, current: 17, note: 13, line: 3, firstLine: 3.5, threshold: 3 }
    : { title: 27, subtitle: 19, axis: 20, legend: 18, current: 23, note: 16, line: 3.5, firstLine: 5, threshold: 4 };
  const below = model.op === '<' || model.op === '<=';
  const formatAxis = axisFormatter(model.unit, Math.max(Math.abs(geometry.yMax), Math.abs(geometry.yMin)));
  const text = { fontFamily: FONT_FAMILY, color: palette.text };

  const lineSeries = model.lines.map((line, index) => {
    const color = palette.lines[index % palette.lines.length]!;
    return {
      type: 'line' as const,
      name: line.label,
      data: toMs(line.points),
      showSymbol: false,
      connectNulls: false,
      color,
      lineStyle: { width: index === 0 ? size.firstLine : size.line, color },
      // The first line is drawn last, on top of the others.
      z: 10 - index,
      silent: true,
    };
  });

  const first = model.lines[0];
  const last = first ? [...first.points].reverse().find(([, value]) => Number.isFinite(value)) : undefined;
  const firstColor = palette.lines[0]!;

  // The shading and the threshold ride on a series of their own, under the lines: no data, only marks.
  const shaded: Array<[Record<string, unknown>, Record<string, unknown>]> = [
    [
      { yAxis: below ? geometry.yMin : model.threshold, itemStyle: { color: palette.threshold, opacity: 0.1 } },
      { yAxis: below ? model.threshold : geometry.yMax },
    ],
  ];
  if (model.breachSpan) {
    // A breach that ends near the right edge gets its label inside its right end: from its left end the word
    // would run off the picture (a breach of a few minutes in an hour's chart is a few pixels wide).
    const nearRightEdge = model.end - model.breachSpan.end < (model.end - model.start) * 0.2;
    shaded.push([
      {
        xAxis: model.breachSpan.start * 1000,
        itemStyle: { color: palette.threshold, opacity: 0.12 },
        label: {
          show: !compact,
          position: nearRightEdge ? 'insideTopRight' : 'insideTopLeft',
          formatter: 'breach',
          color: palette.threshold,
          fontSize: size.note,
          fontWeight: 'bold',
        },
      },
      { xAxis: model.breachSpan.end * 1000 },
    ]);
  }
  if (model.forWindow)
    shaded.push([
      {
        xAxis: model.forWindow.start * 1000,
        itemStyle: { color: palette.forWindow, opacity: 0.16 },
        label: {
          show: !compact,
          // At the bottom: the current value's label is at the top of the same stretch.
          position: 'insideBottom',
          distance: 6,
          formatter: `for ${formatDuration(model.forWindow.end - model.forWindow.start)}`,
          color: palette.subtext,
          fontFamily: FONT_FAMILY,
          fontSize: size.note,
        },
      },
      { xAxis: model.forWindow.end * 1000 },
    ]);

  const marks = {
    type: 'line' as const,
    name: '__marks',
    data: [] as [number, number][],
    silent: true,
    z: 1,
    markArea: { silent: true, data: shaded },
    markLine: {
      silent: true,
      symbol: 'none',
      animation: false,
      lineStyle: { color: palette.threshold, width: size.threshold, type: 'solid' as const },
      label: {
        show: true,
        position: 'insideStartTop',
        formatter: compact ? '' : `threshold ${formatAxis(model.threshold)}`,
        color: palette.threshold,
        fontFamily: FONT_FAMILY,
        fontSize: size.note,
        fontWeight: 'bold',
      },
      data: [{ yAxis: model.threshold }],
    },
  };

  const forecastEnd = model.forecast?.points.at(-1);
  const forecastSeries = model.forecast
    ? [
        {
          type: 'line' as const,
          name: '__forecast',
          silent: true,
          showSymbol: false,
          z: 11,
          lineStyle: { width: size.line, type: [10, 7], color: firstColor, opacity: 0.9 },
          data: toMs(model.forecast.points),
        },
        // Where the trend is headed, and what it says: a line's own labels show only with its symbols.
        {
          type: 'scatter' as const,
          name: '__forecast_end',
          silent: true,
          z: 11,
          symbolSize: compact ? 6 : 9,
          itemStyle: { color: firstColor, opacity: 1 },
          data: [
            {
              value: [forecastEnd![0] * 1000, forecastEnd![1]],
              label: {
                show: !compact,
                // On the side away from the threshold, where the current value's label is not.
                position: below ? 'top' : 'bottom',
                align: 'right',
                distance: 10,
                formatter: model.forecast.label,
                color: palette.subtext,
                fontFamily: FONT_FAMILY,
                fontSize: size.note,
              },
            },
          ],
        },
      ]
    : [];

  const currentSeries =
    model.current && last
      ? [
          {
            type: 'scatter' as const,
            name: '__current',
            silent: true,
            z: 12,
            symbolSize: compact ? 9 : 14,
            itemStyle: { color: firstColor, borderColor: palette.background, borderWidth: 2, opacity: 1 },
            data: [
              {
                value: [last[0] * 1000, last[1]],
                label: {
                  show: true,
                  position: 'top',
                  // At the right edge the label would be cut: it ends at the point instead of centring on it.
                  align: model.forecast ? 'center' : 'right',
                  distance: 8,
                  formatter: model.current.label,
                  color: palette.text,
                  fontFamily: FONT_FAMILY,
                  fontSize: size.current,
                  fontWeight: 'bold',
                  backgroundColor: palette.background,
                  borderColor: firstColor,
                  borderWidth: 2,
                  borderRadius: 4,
                  padding: [3, 6],
                },
              },
            ],
          },
        ]
      : [];

  const moreName = model.moreCount > 0 ? `and ${model.moreCount} more` : null;
  const legendShown = !compact && (model.lines.length > 1 || moreName !== null);
  const names = legendNames(model.lines.map((line) => line.label));
  // Each entry: its icon (20 px), the gap to its text (5 px) and to the next entry (14 px), and its text. When
  // the names do not fit, each is cut to an equal share of what the "and N more" entry leaves.
  const entryChrome = 20 + 5 + 14;
  const moreWidth = moreName ? textWidth(moreName, size.legend) + entryChrome : 0;
  const room = width - 40 - moreWidth;
  const wanted = [...names.values()].reduce((sum, name) => sum + textWidth(name, size.legend) + entryChrome, 0);
  const nameWidth = wanted <= room ? undefined : Math.max(40, Math.floor(room / Math.max(1, model.lines.length)) - entryChrome);

  const option = {
    animation: false,
    backgroundColor: palette.background,
    textStyle: { fontFamily: FONT_FAMILY, color: palette.text },
    title: {
      text: model.title,
      subtext: compact ? '' : (model.subtitle ?? ''),
      left: compact ? 12 : 20,
      top: compact ? 8 : 14,
      itemGap: 12,
      textStyle: { ...text, fontSize: size.title, fontWeight: 'bold', width: width - 40, overflow: 'truncate' },
      subtextStyle: { fontFamily: FONT_FAMILY, color: palette.subtext, fontSize: size.subtitle, width: width - 40, overflow: 'truncate' },
    },
    grid: { ...geometry.grid, outerBoundsMode: 'none', containLabel: false, show: false },
    xAxis: {
      type: 'time',
      min: geometry.xMin * 1000,
      max: geometry.xMax * 1000,
      splitNumber: compact ? 3 : 4,
      axisLine: { lineStyle: { color: palette.axis, width: 2 } },
      axisTick: { show: false },
      splitLine: { show: false },
      axisLabel: {
        color: palette.subtext,
        fontFamily: FONT_FAMILY,
        fontSize: size.axis,
        margin: 10,
        hideOverlap: true,
        formatter: timeLabel(geometry.xMax - geometry.xMin),
      },
    },
    yAxis: {
      type: 'value',
      min: geometry.yMin,
      max: geometry.yMax,
      interval: geometry.yInterval,
      axisLine: { show: false },
      axisTick: { show: false },
      splitLine: { lineStyle: { color: palette.gridLines, width: 1 } },
      axisLabel: { color: palette.subtext, fontFamily: FONT_FAMILY, fontSize: size.axis, margin: 12, formatter: formatAxis },
    },
    legend: {
      show: legendShown,
      bottom: 10,
      left: 'center',
      icon: 'roundRect',
      itemWidth: 20,
      itemHeight: 8,
      itemGap: 14,
      formatter: (name: string) => names.get(name) ?? name,
      textStyle: {
        fontFamily: FONT_FAMILY,
        color: palette.text,
        fontSize: size.legend,
        ...(nameWidth !== undefined ? { width: nameWidth, overflow: 'truncate' } : {}),
      },
      data: [
        ...model.lines.map((line) => line.label),
        ...(moreName ? [{ name: moreName, icon: 'none', textStyle: { color: palette.subtext, width: moreWidth, overflow: 'none' } }] : []),
      ],
    },
    series: [
      marks,
      ...lineSeries,
      ...forecastSeries,
      ...currentSeries,
      // "and 95 more" is a legend entry: a series with nothing to draw.
      ...(moreName ? [{ type: 'line' as const, name: moreName, data: [] }] : []),
    ],
    graphic:
      compact && model.moreCount > 0
        ? [
            {
              type: 'text',
              right: 12,
              top: 12,
              style: { text: `+${model.moreCount} more`, fill: palette.subtext, fontSize: size.note, fontFamily: FONT_FAMILY },
            },
          ]
        : model.lines.length === 0
          ? [
              {
                type: 'text',
                left: 'center',
                top: 'middle',
                style: { text: 'no data', fill: palette.subtext, fontSize: size.current, fontFamily: FONT_FAMILY },
              },
            ]
          : [],
  };
  return option as EChartsOption;
}
