/**
 * The weekly capacity digest: when it is due (a weekday and a time in an IANA time zone, DST-correct with Intl
 * alone), and what it says (the week's peaks against the thresholds, the forecasts that fall within the next
 * weeks, the open breaches, the week's decisions, the costs). Pure: Prometheus and the storage are read by
 * services/digest.ts, which hands their answers in.
 */
import { priceRecommendation, resolveCurrent, type CapacityTables, type PlanRule, type Price, type ScalingStep } from './capacity.ts';
import { buildChartModel, type ChartModel, type ChartTheme } from './chart.ts';
import type { BreachRecord } from './storage/breaches.ts';
import type { DecisionRecord } from './storage/decisions.ts';
import type { Series, Trigger, TriggerResult } from './triggers.ts';
import { compare } from './triggers.ts';

// --- when ------------------------------------------------------------------------------------------------------

/** `digest:` in the config, the part that says when. */
export interface DigestSchedule {
  /** 1 = Monday … 7 = Sunday (ISO). */
  readonly weekday: number;
  readonly hour: number;
  readonly minute: number;
  /** IANA, like "Europe/Berlin". */
  readonly timezone: string;
}

export interface DigestPeriod {
  /** The latest scheduled moment at or before `now`: the period's start, and the end of the week the digest reports. */
  readonly start: Date;
  /** The scheduled moment before it: the start of the week the digest reports. */
  readonly previous: Date;
}

interface LocalTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The wall-clock time in `timeZone` at `ms` (whole seconds). */
function localFields(ms: number, timeZone: string): LocalTime & { second: number } {
  const fields: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  return { year: fields.year!, month: fields.month!, day: fields.day!, hour: fields.hour! % 24, minute: fields.minute!, second: fields.second! };
}

/** How far `timeZone`'s wall clock is ahead of UTC at `ms`, in ms. */
function offsetAt(ms: number, timeZone: string): number {
  const local = localFields(ms, timeZone);
  const asUtc = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant a wall-clock time in `timeZone` names. A time that does not exist (skipped when the clocks go
 * forward: 02:30 on the last Sunday of March in Berlin) is moved later by the length of the gap (03:30 CEST);
 * a time that occurs twice (02:30 on the last Sunday of October) is its first occurrence (CEST). This is what
 * Temporal's default ("compatible") disambiguation does, and it keeps one scheduled moment per week, always.
 */
export function zonedTimeToInstant(local: LocalTime, timeZone: string): Date {
  const wall = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
  // Transitions are months apart: the offsets 12 h either side of the wall time are the only candidates.
  const before = offsetAt(wall - 12 * 3_600_000, timeZone);
  const after = offsetAt(wall + 12 * 3_600_000, timeZone);
  // No change of offset within a day of it (nearly always): the wall time exists once.
  if (before === after) return new Date(wall - before);
  const matches = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((instant) => {
      const seen = localFields(instant, timeZone);
      return seen.year === local.year && seen.month === local.month && seen.day === local.day && seen.hour === local.hour && seen.minute === local.minute;
    })
    .sort((a, b) => a - b);
  // No match: the wall time fell in a gap. The offset from before the gap puts it as far past the gap's start.
  return new Date(matches[0] ?? wall - before);
}

/** A calendar date `days` later (or earlier), as a proleptic Gregorian date with no zone. */
function addDays(date: Pick<LocalTime, 'year' | 'month' | 'day'>, days: number) {
  const shifted = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}

function scheduledOn(date: Pick<LocalTime, 'year' | 'month' | 'day'>, schedule: DigestSchedule): Date {
  return zonedTimeToInstant({ ...date, hour: schedule.hour, minute: schedule.minute }, schedule.timezone);
}

/** The latest scheduled moment at or before `now`, and the one before it (a week earlier on the calendar). */
export function digestPeriodAt(now: Date, schedule: DigestSchedule): DigestPeriod {
  const today = localFields(now.getTime(), schedule.timezone);
  const isoWeekday = new Date(Date.UTC(today.year, today.month - 1, today.day)).getUTCDay() || 7;
  let day = addDays(today, -((isoWeekday - schedule.weekday + 7) % 7));
  let start = scheduledOn(day, schedule);
  if (start.getTime() > now.getTime()) {
    day = addDays(day, -7);
    start = scheduledOn(day, schedule);
  }
  return { start, previous: scheduledOn(addDays(day, -7), schedule) };
}

/** The scheduled moment after `periodStart`'s. */
export function nextDigestAt(periodStart: Date, schedule: DigestSchedule): Date {
  const day = localFields(periodStart.getTime(), schedule.timezone);
  // A moment moved past a gap still falls on its own day; a week later on the calendar is the next one.
  return scheduledOn(addDays(day, 7), schedule);
}

/** Posted more than this long after its scheduled moment, a digest says it is late. */
export const LATE_AFTER_MS = 3_600_000;

export function isLate(periodStart: Date, now: Date, lateAfterMs = LATE_AFTER_MS): boolean {
  return now.getTime() - periodStart.getTime() > lateAfterMs;
}

/** The outbox key of a period's digest: one post per key, across restarts and replicas. */
export function digestKey(periodStart: Date): string {
  return `digest:${periodStart.toISOString()}`;
}

export function digestChartKey(key: string): string {
  return `${key}:chart`;
}

/**
 * What a check at `now` should post, by the one rule the scheduler follows: the digest of the period `now` is
 * in (the latest scheduled moment at or before `now`), if it has not been posted; never an older one. So a bot
 * up at any check in a period posts that period's digest once, and a bot that was down over one or more
 * scheduled moments posts only the latest of them when it starts, late when more than LATE_AFTER_MS after it.
 */
export function dueDigest(now: Date, schedule: DigestSchedule): { readonly key: string; readonly period: DigestPeriod; readonly late: boolean } {
  const period = digestPeriodAt(now, schedule);
  return { key: digestKey(period.start), period, late: isLate(period.start, now) };
}

// --- the week's peaks --------------------------------------------------------------------------------------------

/** The resolution the peaks are read at: a spike shorter than this may be missed (as by a 5-minute alert rule). */
export const PEAK_RESOLUTION_SECONDS = 300;
/** Points per series for the picture: one an hour over a week. */
const PEAK_POINTS = 168;

/** Lower is worse for `<` and `<=` triggers: their peak is the week's minimum. */
export function lowerIsWorse(trigger: Pick<Trigger, 'op'>): boolean {
  return trigger.op.startsWith('<');
}

/** The step of the peaks' range query over a window: a whole number of PEAK_RESOLUTION_SECONDS, PEAK_POINTS points at most. */
export function peakStepSeconds(windowSeconds: number): number {
  return Math.max(PEAK_RESOLUTION_SECONDS, Math.ceil(windowSeconds / PEAK_POINTS / PEAK_RESOLUTION_SECONDS) * PEAK_RESOLUTION_SECONDS);
}

/**
 * The query whose range answer (at `stepSeconds`) gives both the peak and the picture: each point is the worst
 * value of the trigger's query over the step before it, read every PEAK_RESOLUTION_SECONDS. One query per trigger
 * gives the week's peak (exact at that resolution, and when, within a step) and an hourly line to draw; an instant
 * `max_over_time(q[7d:5m])` costs Prometheus the same inner evaluations and gives neither the time nor the line.
 */
export function peakQuery(trigger: Pick<Trigger, 'query' | 'op'>, stepSeconds: number): string {
  const fn = lowerIsWorse(trigger) ? 'min_over_time' : 'max_over_time';
  return `${fn}((${trigger.query})[${stepSeconds}s:${PEAK_RESOLUTION_SECONDS}s])`;
}

export interface SeriesPeak {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** The end of the step the peak was in. */
  readonly at: Date;
}

export interface TriggerPeak {
  readonly trigger: Trigger;
  /** The worst series' peak; null: no data over the week. */
  readonly peak: SeriesPeak | null;
  /** The peak is past the threshold (breached at least once at that resolution, `for` aside). */
  readonly over: boolean;
  readonly seriesCount: number;
  /** The series furthest past the threshold first (at most five), for the picture. */
  readonly top: readonly Series[];
  /** Why there is no data: Prometheus' error. */
  readonly failure?: string;
}

const TOP_SERIES = 5;

function worstPoint(trigger: Trigger, series: Series): { value: number; at: number } | null {
  let best: { value: number; at: number } | null = null;
  const lower = lowerIsWorse(trigger);
  for (const [at, value] of series.points) {
    if (!Number.isFinite(value)) continue;
    if (!best || (lower ? value < best.value : value > best.value)) best = { value, at };
  }
  return best;
}

/** A trigger's peak from the answer to its peakQuery: per series its worst point, the worst series first. */
export function summarizePeaks(trigger: Trigger, series: readonly Series[], failure?: string): TriggerPeak {
  const lower = lowerIsWorse(trigger);
  const ranked = series
    .map((entry) => ({ entry, worst: worstPoint(trigger, entry) }))
    .filter((candidate): candidate is { entry: Series; worst: { value: number; at: number } } => candidate.worst !== null)
    .sort((a, b) => (lower ? a.worst.value - b.worst.value : b.worst.value - a.worst.value));
  const first = ranked[0];
  const peak = first ? { labels: first.entry.labels, value: first.worst.value, at: new Date(first.worst.at * 1000) } : null;
  return {
    trigger,
    peak,
    over: peak !== null && compare(peak.value, trigger.op, trigger.threshold),
    seriesCount: ranked.length,
    top: ranked.slice(0, TOP_SERIES).map((candidate) => candidate.entry),
    ...(failure ? { failure } : {}),
  };
}

/**
 * One small chart per trigger with data (buildChartModel, as every chart of the bot): its series with the highest
 * peaks over the window, the threshold line. No `for` window: a quarter of an hour does not show on a week.
 */
export function digestChartModels(peaks: readonly TriggerPeak[], window: { since: Date; until: Date }, theme: ChartTheme): ChartModel[] {
  return peaks
    .filter((entry) => entry.peak !== null)
    .map((entry) => ({
      ...buildChartModel({
        trigger: entry.trigger,
        series: entry.top,
        at: window.until,
        windowSeconds: (window.until.getTime() - window.since.getTime()) / 1000,
        theme,
        title: entry.trigger.name,
      }),
      forWindow: null,
      moreCount: Math.max(0, entry.seriesCount - entry.top.length),
    }));
}

// --- the report ---------------------------------------------------------------------------------------------------

export interface DigestForecast {
  readonly trigger: Trigger;
  readonly labels: Readonly<Record<string, string>>;
  readonly crossesAt: Date;
  readonly days: number;
  readonly slopePerDay: number | null;
  readonly basis: string;
}

export interface DigestBreach {
  readonly id: number;
  readonly triggerId: string;
  readonly name: string;
  readonly severity: BreachRecord['severity'];
  readonly labels: Readonly<Record<string, string>>;
  readonly openedAt: Date;
  readonly openSeconds: number;
  readonly lastValue: string | null;
  readonly ackedBy: string | null;
}

/** A runbook run that moved during the week, at its last status of the week. */
export interface DigestRun {
  readonly runId: number;
  readonly runbookId: string;
  /** The run's status after its last decision of the week (succeeded, failed, rolled_back, …). */
  readonly outcome: string;
  readonly at: Date;
  readonly actor: string;
}

export interface DigestDecisionEntry {
  readonly at: Date;
  readonly actor: string;
  /** The checklist id, the advice's recommendation, the acknowledged trigger. */
  readonly subject: string | null;
  /** A title or name to show, where the row has one. */
  readonly title?: string;
}

export interface DigestDecisions {
  readonly runsRequested: number;
  readonly runs: readonly DigestRun[];
  readonly checklistsCompleted: readonly DigestDecisionEntry[];
  readonly advice: readonly DigestDecisionEntry[];
  readonly acknowledgements: readonly DigestDecisionEntry[];
}

export interface DigestCosts {
  readonly currentLabel: string;
  /** Infrastructure a month, APIs excluded. */
  readonly currentMonthly: number;
  readonly apiMonthly: number;
  readonly nextStep: ScalingStep;
  /** Why that step: the latest advice recommended it, or the guide's rule (vertical until its limit, then horizontal). */
  readonly nextStepReason: 'advice' | 'guide';
  readonly nextPrice: Price;
}

export interface DigestReport {
  /** The week reported: [since, until]. */
  readonly since: Date;
  readonly until: Date;
  readonly generatedAt: Date;
  readonly late: boolean;
  readonly timezone: string;
  readonly peaks: readonly TriggerPeak[];
  /** How far ahead forecasts are listed. */
  readonly forecastHorizonSeconds: number;
  readonly forecasts: readonly DigestForecast[];
  readonly openBreaches: readonly DigestBreach[];
  readonly decisions: DigestDecisions;
  readonly costs: DigestCosts;
  /** Set when Prometheus answered no query at all. */
  readonly failure?: string;
}

/** The kinds of decision rows the digest reads. */
export const DIGEST_DECISION_KINDS = [
  'run_requested',
  'run_started',
  'run_succeeded',
  'run_failed',
  'run_stopped',
  'run_interrupted',
  'run_rolled_back',
  'run_cancelled',
  'run_rejected',
  'run_expired',
  'run_abandoned',
  'checklist_completed',
  'advice',
  'breach_acknowledged',
] as const;

/** Forecasts are listed this far ahead at least (or `forecast.warn_within`, when that is longer). */
export const DIGEST_FORECAST_HORIZON_SECONDS = 28 * 86_400;

export interface DigestInputs {
  readonly since: Date;
  readonly until: Date;
  readonly generatedAt: Date;
  readonly late: boolean;
  readonly timezone: string;
  readonly peaks: readonly TriggerPeak[];
  /** The triggers judged with forecasts (PrometheusPort.judgeTriggers with `forecast`). */
  readonly forecastResults: readonly TriggerResult[];
  readonly forecastHorizonSeconds: number;
  readonly openBreaches: readonly BreachRecord[];
  /** The decision rows of DIGEST_DECISION_KINDS since `since` (any order; rows after `until` are left out here). */
  readonly decisions: readonly DecisionRecord[];
  readonly capacity: CapacityTables;
  readonly plan: PlanRule;
  readonly failure?: string;
}

const SCALING_STEPS: readonly string[] = ['vertical', 'database', 'horizontal', 'multi_region'] satisfies ScalingStep[];

/**
 * The next step to price: what the latest advice recommended when it was a scaling step, else the guide's rule
 * (as `/scale plan` applies it): the next tier while it stays within `vertical_until_users`, else horizontal.
 */
export function nextScalingStep(tables: CapacityTables, rule: PlanRule, latestAdvice: string | null): { step: ScalingStep; reason: 'advice' | 'guide' } {
  if (latestAdvice && SCALING_STEPS.includes(latestAdvice)) return { step: latestAdvice as ScalingStep, reason: 'advice' };
  const vertical = priceRecommendation('vertical', tables);
  const stays = vertical.kind === 'tier' && vertical.upgrades.every((upgrade) => (upgrade.to.capacity.min ?? 0) <= rule.verticalUntilUsers);
  return { step: 'tier' in tables.current && stays ? 'vertical' : 'horizontal', reason: 'guide' };
}

const detailString = (row: DecisionRecord, key: string): string | undefined => (typeof row.detail[key] === 'string' ? (row.detail[key] as string) : undefined);

function summarizeDecisions(rows: readonly DecisionRecord[]): DigestDecisions {
  const oldestFirst = [...rows].sort((a, b) => a.at.getTime() - b.at.getTime() || a.id - b.id);
  const runs = new Map<number, DigestRun>();
  let runsRequested = 0;
  const checklistsCompleted: DigestDecisionEntry[] = [];
  const advice: DigestDecisionEntry[] = [];
  const acknowledgements: DigestDecisionEntry[] = [];
  for (const row of oldestFirst) {
    const entry = (title?: string): DigestDecisionEntry => ({ at: row.at, actor: row.actor, subject: row.subject, ...(title ? { title } : {}) });
    if (row.kind === 'checklist_completed') checklistsCompleted.push(entry(detailString(row, 'title') ?? detailString(row, 'name')));
    else if (row.kind === 'advice') advice.push(entry(row.outcome ?? undefined));
    else if (row.kind === 'breach_acknowledged') acknowledgements.push(entry());
    else if (row.kind.startsWith('run_')) {
      if (row.kind === 'run_requested') runsRequested += 1;
      const runId = row.detail.run_id;
      if (typeof runId !== 'number') continue;
      runs.set(runId, { runId, runbookId: row.subject ?? '?', outcome: row.outcome ?? row.kind.slice(4), at: row.at, actor: row.actor });
    }
  }
  return { runsRequested, runs: [...runs.values()], checklistsCompleted, advice, acknowledgements };
}

export function buildDigest(inputs: DigestInputs): DigestReport {
  const { since, until, generatedAt } = inputs;
  const horizonEnd = generatedAt.getTime() + inputs.forecastHorizonSeconds * 1000;
  const forecasts: DigestForecast[] = [];
  for (const result of inputs.forecastResults) {
    const forecast = result.forecast;
    if (forecast?.outcome !== 'crosses' || !forecast.crossesAt || forecast.days === null) continue;
    if (forecast.crossesAt.getTime() > horizonEnd) continue;
    forecasts.push({
      trigger: result.trigger,
      labels: result.labels,
      crossesAt: forecast.crossesAt,
      days: forecast.days,
      slopePerDay: forecast.slopePerDay,
      basis: forecast.basis,
    });
  }
  forecasts.sort((a, b) => a.crossesAt.getTime() - b.crossesAt.getTime());
  const openBreaches = inputs.openBreaches.map((breach) => ({
    id: breach.id,
    triggerId: breach.triggerId,
    name: breach.name,
    severity: breach.severity,
    labels: breach.labels,
    openedAt: breach.openedAt,
    openSeconds: Math.max(0, (generatedAt.getTime() - breach.openedAt.getTime()) / 1000),
    lastValue: breach.lastValue,
    ackedBy: breach.ackedBy,
  }));
  const inWeek = inputs.decisions.filter((row) => row.at.getTime() >= since.getTime() && row.at.getTime() <= until.getTime());
  const decisions = summarizeDecisions(inWeek);
  const latestAdvice = decisions.advice.at(-1)?.title ?? null;
  const current = resolveCurrent(inputs.capacity);
  const next = nextScalingStep(inputs.capacity, inputs.plan, latestAdvice);
  return {
    since,
    until,
    generatedAt,
    late: inputs.late,
    timezone: inputs.timezone,
    peaks: inputs.peaks,
    forecastHorizonSeconds: inputs.forecastHorizonSeconds,
    forecasts,
    openBreaches,
    decisions,
    costs: {
      currentLabel: current.label,
      currentMonthly: current.monthly,
      apiMonthly: inputs.capacity.apiMonthly,
      nextStep: next.step,
      nextStepReason: next.reason,
      nextPrice: priceRecommendation(next.step, inputs.capacity),
    },
    ...(inputs.failure ? { failure: inputs.failure } : {}),
  };
}

const finiteOrNull = (value: number | null): number | null => (value === null || !Number.isFinite(value) ? null : value);

/** The report as `scalebot digest --json` prints it. */
export function digestReportToJson(report: DigestReport) {
  const price = report.costs.nextPrice;
  return {
    since: report.since.toISOString(),
    until: report.until.toISOString(),
    generated_at: report.generatedAt.toISOString(),
    late: report.late,
    timezone: report.timezone,
    peaks: report.peaks.map((entry) => ({
      id: entry.trigger.id,
      name: entry.trigger.name,
      severity: entry.trigger.severity,
      op: entry.trigger.op,
      threshold: entry.trigger.threshold,
      unit: entry.trigger.unit,
      peak: entry.peak ? { value: finiteOrNull(entry.peak.value), at: entry.peak.at.toISOString(), labels: entry.peak.labels } : null,
      state: entry.peak === null ? 'no_data' : entry.over ? 'over' : 'under',
      series: entry.seriesCount,
      ...(entry.failure ? { failure: entry.failure } : {}),
    })),
    forecast_horizon_seconds: report.forecastHorizonSeconds,
    forecasts: report.forecasts.map((forecast) => ({
      id: forecast.trigger.id,
      name: forecast.trigger.name,
      labels: forecast.labels,
      threshold: forecast.trigger.threshold,
      crosses_at: forecast.crossesAt.toISOString(),
      days: forecast.days,
      slope_per_day: forecast.slopePerDay,
      basis: forecast.basis,
    })),
    open_breaches: report.openBreaches.map((breach) => ({
      id: breach.id,
      trigger: breach.triggerId,
      name: breach.name,
      severity: breach.severity,
      labels: breach.labels,
      opened_at: breach.openedAt.toISOString(),
      open_seconds: Math.round(breach.openSeconds),
      last_value: breach.lastValue,
      acknowledged_by: breach.ackedBy,
    })),
    decisions: {
      runs_requested: report.decisions.runsRequested,
      runs: report.decisions.runs.map((run) => ({
        run_id: run.runId,
        runbook: run.runbookId,
        outcome: run.outcome,
        at: run.at.toISOString(),
        actor: run.actor,
      })),
      checklists_completed: report.decisions.checklistsCompleted.map(entryToJson),
      advice: report.decisions.advice.map(entryToJson),
      acknowledgements: report.decisions.acknowledgements.map(entryToJson),
    },
    costs: {
      current: report.costs.currentLabel,
      current_monthly: report.costs.currentMonthly,
      api_monthly: report.costs.apiMonthly,
      total_monthly: report.costs.currentMonthly + report.costs.apiMonthly,
      next_step: report.costs.nextStep,
      next_step_reason: report.costs.nextStepReason,
      next:
        price.kind === 'unavailable'
          ? { available: false, reason: price.reason }
          : { available: true, monthly: price.newMonthly, delta: price.delta, total_with_apis: price.newTotalWithApis },
    },
    ...(report.failure ? { failure: report.failure } : {}),
  };
}

function entryToJson(entry: DigestDecisionEntry) {
  return { at: entry.at.toISOString(), actor: entry.actor, subject: entry.subject, ...(entry.title ? { title: entry.title } : {}) };
}
