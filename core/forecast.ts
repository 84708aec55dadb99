/**
 * When a growing trigger will cross its threshold: the trend of its series over `forecast.window`, fitted by
 * least squares on daily peaks (so that a daily cycle is not taken for growth), as Prometheus' predict_linear
 * fits its points. Pure: the history comes from Prometheus through the caller.
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
}
