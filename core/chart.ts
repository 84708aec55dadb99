/**
 * What a chart shows, as plain data: built from a trigger, its history and its forecast by the functions here,
 * drawn by charts/ (ECharts' server-side SVG, rasterised by resvg) in a worker thread.
 */
import type { Operator } from './triggers.ts';
import type { Unit } from './units.ts';

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
