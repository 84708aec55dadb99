import { formatDuration } from './duration.ts';
import { compare, type Operator, type Trigger } from './triggers.ts';
import { formatValue } from './units.ts';

/**
 * When a growing trigger will cross its threshold: the trend of its series over `forecast.window`, fitted by
 * least squares on daily peaks (so that a daily cycle is not taken for growth), as Prometheus' predict_linear
 * fits its points. Pure: the history comes from Prometheus through the caller.
 *
 * The method, step by step (README, "Forecasts"):
 * 1. NaN and infinite points are dropped; only the window (`forecast.window` back from the evaluation) counts.
 * 2. Never through a gap: a break between two points longer than max(3 × the series' step, 1 h) is a gap, and
 *    only the unbroken stretch after the last gap is fitted. A series whose last point is that far from the
 *    evaluation is stale: no forecast. A stretch shorter than `forecast.min_history` is "not enough history".
 * 3. The value now already past the threshold: `already_over`.
 * 4. Peaks, not points: with 3 days or more of unbroken history, the stretch is cut into 24 h buckets ending at
 *    the evaluation and each full bucket gives its peak (the maximum for `>`/`>=` triggers, the minimum for
 *    `<`/`<=`: the value that reaches the threshold first), placed at its own time. A daily cycle then shows
 *    up as the same peak every day, not as growth. With less history, hourly peaks are fitted, and the basis
 *    says that a daily cycle cannot be told apart from growth yet.
 * 5. A least-squares line through the peaks, as predict_linear does. It must move toward the threshold, or the
 *    answer is `flat_or_falling` (named by effect: for a `<` trigger that means flat or rising).
 * 6. The guard against weekly patterns and noise: a robust slope (Theil–Sen, the median of the slopes between
 *    every pair of peaks) must agree in direction and be at least half the least-squares slope, and the slope
 *    must stand out of the scatter of the peaks (t ≥ 3); otherwise `no_clear_trend`. A weekend dip at the end
 *    of the window pulls least squares down and leaves the median slope near zero: no crossing is claimed.
 * 7. The crossing is where the fitted line reaches the threshold; one further out than a year is called flat.
 */

/** `forecast:` in the config, parsed. */
export interface ForecastSettings {
  readonly windowSeconds: number;
  readonly minHistorySeconds: number;
  readonly warnWithinSeconds: number;
}

/**
 * What the trend says:
 * - `crosses`: it reaches the threshold at `crossesAt`;
 * - `flat_or_falling`: it never reaches it (or moves away from it);
 * - `not_enough_history`: less than `min_history` of unbroken data;
 * - `already_over`: the series is past the threshold now (the trigger's own state says the rest);
 * - `no_clear_trend`: the fit and a robust check of it disagree (a weekly pattern, say): no crossing is claimed.
 */
export type ForecastOutcome = 'crosses' | 'flat_or_falling' | 'not_enough_history' | 'already_over' | 'no_clear_trend';

export interface Forecast {
  readonly outcome: ForecastOutcome;
  /** With `crosses`: when. */
  readonly crossesAt: Date | null;
  /** With `crosses`: days from the evaluation to the crossing. */
  readonly days: number | null;
  /** The fitted trend in the trigger's unit per day; null when there was too little to fit. */
  readonly slopePerDay: number | null;
  /** How it was fitted, for people: "least squares on 7 daily peaks", "not enough history (9 h of 24 h)". */
  readonly basis: string;
  /** How much unbroken history (since the last gap) the fit saw. */
  readonly historySeconds: number;
  /** Why there is no crossing, where the outcome alone does not say it (for the one-line description). */
  readonly why?: ForecastWhy;
}

/**
 * - `short`: less unbroken history than `min_history` (`neededSeconds`); `no_data`: none in the window;
 *   `stale`: the series stopped; `failed`: the history query failed; `too_few`: too few peaks to fit;
 * - `weekly_pattern`: the robust slope disagrees; `scatter`: the slope does not stand out of the noise;
 * - `beyond_horizon`: the crossing is more than a year out.
 */
export type ForecastWhy =
  | { readonly kind: 'short'; readonly neededSeconds: number }
  | { readonly kind: 'no_data' | 'stale' | 'failed' | 'too_few' | 'weekly_pattern' | 'scatter' | 'beyond_horizon' };

const DAY = 86_400;
const HOUR = 3_600;
/** Daily peaks need this many days: fewer cannot tell a daily cycle from growth, nor fit a line worth having. */
const DAYS_FOR_DAILY_PEAKS = 3;
/** The shortest break that counts as a gap, whatever the step. */
const MIN_GAP_SECONDS = HOUR;
/** A crossing further out than this is no plan anyone makes from a week of data: flat, for planning. */
export const FORECAST_HORIZON_SECONDS = 365 * DAY;
/** How far out of the peaks' scatter the slope must stand (slope / its standard error). */
const MIN_T_STATISTIC = 3;
/** Steps that divide a day, so that every daily bucket holds the same times of day. */
const NICE_STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400] as const;
/** Points per series a forecast query asks for at most: a week at 5 min. */
export const MAX_FORECAST_POINTS = 2100;

/** The forecast's range query: [at − startOffset, at] every `step` seconds, at most ~2,000 points a series. */
export function forecastQueryWindow(settings: Pick<ForecastSettings, 'windowSeconds'>): { startOffset: number; step: number } {
  const step =
    NICE_STEPS.find((candidate) => settings.windowSeconds / candidate <= MAX_FORECAST_POINTS) ?? Math.ceil(settings.windowSeconds / MAX_FORECAST_POINTS);
  return { startOffset: settings.windowSeconds, step };
}

/** Whether the trend moves up toward the threshold (`>`/`>=`) or down toward it (`<`/`<=`). */
function risesToward(op: Operator): boolean {
  return op === '>' || op === '>=';
}

export function forecastSeries(
  trigger: Pick<Trigger, 'op' | 'threshold' | 'unit'>,
  points: ReadonlyArray<readonly [number, number]>,
  atSeconds: number,
  settings: ForecastSettings,
): Forecast {
  const windowStart = atSeconds - settings.windowSeconds;
  const usable = points.filter(([time, value]) => Number.isFinite(value) && Number.isFinite(time) && time > windowStart && time <= atSeconds + 1);
  const needed = formatSpan(settings.minHistorySeconds);
  if (usable.length === 0) return noForecast('not_enough_history', `no data in the last ${formatDuration(settings.windowSeconds)}`, 0, { kind: 'no_data' });

  const step = typicalStep(usable);
  const gapSeconds = Math.max(3 * step, MIN_GAP_SECONDS);
  const [lastTime, current] = usable[usable.length - 1]!;
  if (atSeconds - lastTime > gapSeconds) {
    return noForecast('not_enough_history', `no data for ${formatDuration(atSeconds - lastTime)} (since ${formatMoment(lastTime)}): stale, no forecast`, 0, {
      kind: 'stale',
    });
  }
  let first = usable.length - 1;
  while (first > 0 && usable[first]![0] - usable[first - 1]![0] <= gapSeconds) first -= 1;
  const stretch = usable.slice(first);
  const gapAt = first > 0 ? usable[first - 1]![0] : null;
  const since = gapAt === null ? '' : `, since a gap at ${formatMoment(gapAt)}`;
  // A point stands for the step before it: 24 h of 5-minute points ending now is 24 h of history.
  const historySeconds = Math.min(lastTime - stretch[0]![0] + step, atSeconds - windowStart);

  if (compare(current, trigger.op, trigger.threshold)) {
    return noForecast('already_over', `already past ${formatValue(trigger.threshold, trigger.unit)} now`, historySeconds);
  }
  if (historySeconds < settings.minHistorySeconds) {
    return noForecast('not_enough_history', `not enough history: ${formatSpan(historySeconds)} of the ${needed} needed${since}`, historySeconds, {
      kind: 'short',
      neededSeconds: settings.minHistorySeconds,
    });
  }

  const rising = risesToward(trigger.op);
  const daily = historySeconds >= DAYS_FOR_DAILY_PEAKS * DAY;
  const bucketSeconds = daily ? DAY : historySeconds >= 3 * HOUR ? HOUR : 0;
  const peaks = bucketSeconds > 0 ? bucketPeaks(stretch, atSeconds, bucketSeconds, step, rising) : stretch.map(([t, v]) => [t, v] as const);
  const what = bucketSeconds === DAY ? 'daily peaks' : bucketSeconds === HOUR ? 'hourly peaks' : 'points';
  const cycleCaveat = daily ? '' : `; with under ${DAYS_FOR_DAILY_PEAKS} days of history a daily cycle can't be told apart from growth yet`;
  const basis = `least squares on ${peaks.length} ${what} over ${formatDuration(historySeconds)}${since}${cycleCaveat}`;
  if (peaks.length < 3) return noForecast('not_enough_history', `${basis}: too few to fit`, historySeconds, { kind: 'too_few' });

  const fit = leastSquares(peaks);
  const slopePerDay = fit.slope * DAY;
  const toward = rising ? fit.slope : -fit.slope;
  const withSlope = (outcome: ForecastOutcome, text: string, why?: ForecastWhy): Forecast => ({
    outcome,
    crossesAt: null,
    days: null,
    slopePerDay,
    basis: text,
    historySeconds,
    ...(why ? { why } : {}),
  });
  // Parallel, in floating-point terms: a change over the whole fit too small to be anything but rounding.
  const span = peaks[peaks.length - 1]![0] - peaks[0]![0];
  const scale = Math.max(Math.abs(fit.mean), Math.abs(trigger.threshold), Number.MIN_VALUE);
  if (!(toward > 0) || Math.abs(fit.slope * span) <= scale * 1e-9) return withSlope('flat_or_falling', basis);

  const robust = theilSen(peaks);
  const robustToward = rising ? robust : -robust;
  if (robustToward < toward / 2) {
    return withSlope('no_clear_trend', `${basis}; the median slope between peaks (${formatSlope(robust * DAY, trigger)}) disagrees: a weekly pattern?`, {
      kind: 'weekly_pattern',
    });
  }
  if (fit.tStatistic < MIN_T_STATISTIC) return withSlope('no_clear_trend', `${basis}; the trend does not stand out of the peaks' scatter`, { kind: 'scatter' });

  const crossingTime = fit.meanTime + (trigger.threshold - fit.mean) / fit.slope;
  const secondsAhead = Math.max(0, crossingTime - atSeconds);
  if (secondsAhead > FORECAST_HORIZON_SECONDS) return withSlope('flat_or_falling', `${basis}; it would take more than a year`, { kind: 'beyond_horizon' });
  return {
    outcome: 'crosses',
    crossesAt: new Date((atSeconds + secondsAhead) * 1000),
    days: secondsAhead / DAY,
    slopePerDay,
    basis,
    historySeconds,
  };
}

function noForecast(outcome: ForecastOutcome, basis: string, historySeconds: number, why?: ForecastWhy): Forecast {
  return { outcome, crossesAt: null, days: null, slopePerDay: null, basis, historySeconds, ...(why ? { why } : {}) };
}

/** The median distance between neighbouring points: the query's step, whatever a few missing points do. */
function typicalStep(points: ReadonlyArray<readonly [number, number]>): number {
  if (points.length < 2) return 60;
  const gaps = [];
  for (let index = 1; index < points.length; index += 1) gaps.push(points[index]![0] - points[index - 1]![0]);
  return Math.max(1, median(gaps));
}

/**
 * The peak of every full bucket of `bucketSeconds` ending at `at` (buckets are (end − size, end]), at the time
 * it was reached. A bucket the stretch covers only in part is left out: its peak may be a trough of the cycle.
 */
function bucketPeaks(
  stretch: ReadonlyArray<readonly [number, number]>,
  at: number,
  bucketSeconds: number,
  step: number,
  rising: boolean,
): Array<readonly [number, number]> {
  const stretchStart = stretch[0]![0];
  const byBucket = new Map<number, readonly [number, number]>();
  for (const point of stretch) {
    const bucket = Math.max(0, Math.ceil((at - point[0]) / bucketSeconds) - 1);
    const bucketStart = at - (bucket + 1) * bucketSeconds;
    if (stretchStart > bucketStart + step * 1.5) continue;
    const best = byBucket.get(bucket);
    if (!best || (rising ? point[1] > best[1] : point[1] < best[1])) byBucket.set(bucket, point);
  }
  return [...byBucket.values()].sort((a, b) => a[0] - b[0]);
}

interface LineFit {
  readonly slope: number;
  readonly meanTime: number;
  /** The fitted value at meanTime (the mean of the values). */
  readonly mean: number;
  /** |slope| / its standard error; Infinity for a perfect fit. */
  readonly tStatistic: number;
}

/** Ordinary least squares, centred on the mean time (as predict_linear is, on its points) for precision at Unix times. */
function leastSquares(points: ReadonlyArray<readonly [number, number]>): LineFit {
  const n = points.length;
  let meanTime = 0;
  let mean = 0;
  for (const [t, v] of points) {
    meanTime += t / n;
    mean += v / n;
  }
  let sxx = 0;
  let sxy = 0;
  for (const [t, v] of points) {
    sxx += (t - meanTime) ** 2;
    sxy += (t - meanTime) * (v - mean);
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  let residuals = 0;
  let spread = 0;
  for (const [t, v] of points) {
    residuals += (v - mean - slope * (t - meanTime)) ** 2;
    spread += (v - mean) ** 2;
  }
  // Residuals below rounding noise of the values are a perfect fit.
  const perfect = residuals <= spread * 1e-18 || n <= 2;
  const standardError = Math.sqrt(residuals / (n - 2) / sxx);
  const tStatistic = perfect ? Number.POSITIVE_INFINITY : Math.abs(slope) / standardError;
  return { slope, meanTime, mean, tStatistic };
}

/** Theil–Sen: the median of the slopes between every pair of points. */
function theilSen(points: ReadonlyArray<readonly [number, number]>): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i += 1) {
    for (let j = i + 1; j < points.length; j += 1) {
      const dt = points[j]![0] - points[i]![0];
      if (dt > 0) slopes.push((points[j]![1] - points[i]![1]) / dt);
    }
  }
  return slopes.length > 0 ? median(slopes) : 0;
}

function median(values: number[]): number {
  const sorted = values.sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Dec 23" (UTC). */
export function formatDay(date: Date): string {
  return `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}`;
}

/** "Dec 3 14:05 UTC". */
function formatMoment(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000);
  const time = `${String(date.getUTCHours()).padStart(2, '0')}:${String(date.getUTCMinutes()).padStart(2, '0')}`;
  return `${formatDay(date)} ${time} UTC`;
}

/** History as people count it against `min_history`: "9 h of 24 h", not "9 h of 1 d". */
function formatSpan(seconds: number): string {
  if (seconds >= HOUR && seconds <= 48 * HOUR) return `${Math.floor(seconds / HOUR)} h`;
  return formatDuration(seconds);
}

/** "+12 a day", "−0.4 % a day". */
function formatSlope(perDay: number, trigger: Pick<Trigger, 'unit'>): string {
  const sign = perDay > 0 ? '+' : perDay < 0 ? '−' : '';
  return `${sign}${formatValue(Math.abs(perDay), trigger.unit)} a day`;
}

/** "~19 days", "~1 day", "~5 h", "under an hour". */
function formatAhead(days: number): string {
  if (days >= 1.5) return `~${Math.round(days)} days`;
  if (days >= 1) return '~1 day';
  const hours = Math.round(days * 24);
  return hours >= 1 ? `~${hours} h` : 'under an hour';
}

/**
 * One line for people: "crosses 500 in ~19 days (Dec 23)", "not enough history (9 h of 24 h)", "flat or
 * falling", "no clear trend (a weekly pattern?)", "already past 500".
 */
export function describeForecast(forecast: Forecast, trigger: Pick<Trigger, 'op' | 'threshold' | 'unit'>, now: Date): string {
  const threshold = formatValue(trigger.threshold, trigger.unit);
  switch (forecast.outcome) {
    case 'crosses': {
      const crossesAt = forecast.crossesAt ?? now;
      const days = forecast.days ?? (crossesAt.getTime() - now.getTime()) / 1000 / DAY;
      return `crosses ${threshold} in ${formatAhead(days)} (${formatDay(crossesAt)})`;
    }
    case 'already_over':
      return `already past ${threshold}`;
    case 'flat_or_falling':
      return risesToward(trigger.op) ? 'flat or falling' : 'flat or rising';
    case 'no_clear_trend':
      return forecast.why?.kind === 'weekly_pattern' ? 'no clear trend (a weekly pattern?)' : 'no clear trend';
    case 'not_enough_history':
      switch (forecast.why?.kind) {
        case 'short':
          return `not enough history (${formatSpan(forecast.historySeconds)} of ${formatSpan(forecast.why.neededSeconds)})`;
        case 'stale':
          return 'no forecast: no recent data';
        case 'no_data':
          return 'no forecast: no history';
        case 'failed':
          return 'no forecast: the history query failed';
        default:
          return 'not enough history';
      }
  }
}

/** True when the forecast says the threshold is crossed within `forecast.warn_within`. */
export function forecastWarns(forecast: Forecast | null | undefined, settings: Pick<ForecastSettings, 'warnWithinSeconds'>): boolean {
  return forecast?.outcome === 'crosses' && forecast.days !== null && forecast.days * DAY <= settings.warnWithinSeconds;
}

/** A failed forecast query: said, never a trigger without data. */
export function forecastFailed(reason: string): Forecast {
  return noForecast('not_enough_history', `no forecast: the history query failed (${reason})`, 0, { kind: 'failed' });
}
