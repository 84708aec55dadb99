import { NOT_KNOWN_GLOBAL, type TrafficScope } from './capacity.ts';
import { describeForecast, forecastWarns, type ForecastSettings } from './forecast.ts';
import type { Operator, Trigger, TriggerResult, TriggerState } from './triggers.ts';
import type { Unit } from './units.ts';

/**
 * The guide's "Scaling Decision Tree", walked on evidence. Plain data in, plain data out, the time passed in.
 *
 * The guide asks its questions in this order: degraded? CPU or memory > 80 %? database the bottleneck?
 * global traffic? and only then "have you optimized code first?". Read literally, a team would learn that it
 * should optimize only after being told which servers to buy. We ask "optimized first?" right after
 * "degraded?", before any question that leads to spending money, because the guide's own rule is "Always
 * optimize before scaling!" (optimization "can often double your capacity for $0"). Our order:
 *
 *   1. Is performance degraded?           no  → don't scale yet, monitor
 *   2. Have you optimized first?          no  → optimize first
 *   3. Is CPU or memory above 80 %?       yes → vertical scaling
 *   4. Is the database the bottleneck?    yes → separate database server or read replicas
 *   5. Are you serving global traffic?    yes → multi-region; no → horizontal (load balancer + app servers)
 *
 * Questions 1, 3 and 4 are answered from Prometheus. When Prometheus has no data for one of them, a person
 * is asked instead (their answer counts for a short while only). Questions 2 and 5 are asked with buttons;
 * "optimized" is also yes when the optimization checklist was completed, and "global traffic" is answered by
 * the config when it sets `advisor.global_traffic`. The latest answer wins.
 */

export const QUESTIONS = ['degraded', 'optimized', 'cpu_memory', 'database', 'global_traffic'] as const;
export type QuestionId = (typeof QUESTIONS)[number];
export const METRIC_QUESTIONS = ['degraded', 'cpu_memory', 'database'] as const satisfies readonly QuestionId[];
export type MetricQuestion = (typeof METRIC_QUESTIONS)[number];

export const RECOMMENDATIONS = ['dont_scale', 'optimize_first', 'vertical', 'database', 'horizontal', 'multi_region'] as const;
export type Recommendation = (typeof RECOMMENDATIONS)[number];

export type Answer = 'yes' | 'no';

export function isQuestionId(value: string): value is QuestionId {
  return (QUESTIONS as readonly string[]).includes(value);
}

export function isMetricQuestion(question: QuestionId): question is MetricQuestion {
  return (METRIC_QUESTIONS as readonly string[]).includes(question);
}

/** One series of one trigger as evidence: what was measured, against what, for how long. JSON as it is. */
export interface EvidenceLine {
  readonly trigger: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly state: TriggerState;
  readonly value: number | null;
  readonly unit: Unit;
  readonly op: Operator;
  readonly threshold: number;
  readonly forSeconds: number;
  readonly heldSeconds: number;
  readonly heldWholeWindow: boolean;
  readonly reason?: string;
}

export function toEvidenceLine(result: TriggerResult): EvidenceLine {
  const { trigger } = result;
  return {
    trigger: trigger.id,
    name: trigger.name,
    labels: result.labels,
    state: result.state,
    value: result.value === null || !Number.isFinite(result.value) ? null : result.value,
    unit: trigger.unit,
    op: trigger.op,
    threshold: trigger.threshold,
    forSeconds: trigger.forSeconds,
    heldSeconds: result.heldSeconds,
    heldWholeWindow: result.heldWholeWindow,
    ...(result.reason ? { reason: result.reason } : {}),
  };
}

/** What the metrics say about one question. `unknown`: no data at all, `reason` says why. */
export interface MetricFinding {
  readonly answer: Answer | 'unknown';
  /** The series behind the answer: those over the threshold for a yes, the closest ones for a no. */
  readonly lines: readonly EvidenceLine[];
  /** One sentence for a no, or for an unknown: "none of the 7 "scale immediately" triggers is breached". */
  readonly summary?: string;
}

export interface Evidence {
  readonly evaluatedAt: Date;
  readonly degraded: MetricFinding;
  readonly cpuMemory: MetricFinding;
  readonly database: MetricFinding;
  /** Prometheus could not answer at all. */
  readonly failure?: string;
  /** Triggers forecast to cross within `forecast.warn_within`, soonest first: what a "not yet" answer cites. */
  readonly forecasts?: readonly ForecastCitation[];
}

/** One trigger forecast to cross soon (its soonest series): "Concurrent users: crosses 500 in ~19 days (Dec 23)". */
export interface ForecastCitation {
  readonly trigger: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly crossesAt: Date;
  readonly days: number;
  /** describeForecast's line: "crosses 500 in ~19 days (Dec 23)". */
  readonly summary: string;
}

/** The triggers whose ok series are forecast to cross within warn_within, one citation each, soonest first. */
export function citeForecasts(results: readonly TriggerResult[], settings: Pick<ForecastSettings, 'warnWithinSeconds'>, now: Date): ForecastCitation[] {
  const soonest = new Map<string, ForecastCitation>();
  for (const result of results) {
    const { forecast, trigger } = result;
    if (result.state !== 'ok' || !forecast || !forecastWarns(forecast, settings) || !forecast.crossesAt || forecast.days === null) continue;
    const known = soonest.get(trigger.id);
    if (known && known.days <= forecast.days) continue;
    soonest.set(trigger.id, {
      trigger: trigger.id,
      name: trigger.name,
      labels: result.labels,
      crossesAt: forecast.crossesAt,
      days: forecast.days,
      summary: describeForecast(forecast, trigger, now),
    });
  }
  return [...soonest.values()].sort((a, b) => a.days - b.days);
}

export interface RememberedAnswer {
  readonly answer: Answer;
  /** A Slack user id, or the checklist's id for a completed checklist. */
  readonly by: string;
  readonly at: Date;
  readonly source: 'person' | 'checklist';
}

export type Answers = Partial<Record<QuestionId, RememberedAnswer>>;

/** How long an answer counts, in seconds; null: for ever. */
export interface AnswerMemory {
  readonly globalTraffic: number | null;
  readonly optimized: number | null;
  /** A person's answer to a question the metrics had no data for: what they saw then. */
  readonly metricQuestions: number | null;
}

export interface Step {
  readonly question: QuestionId;
  readonly answer: Answer | 'pending';
  /** Who answered: Prometheus, a person (button), a completed checklist, or the config (`advisor.global_traffic`). */
  readonly source: 'metrics' | 'person' | 'checklist' | 'config';
  readonly evidence: readonly EvidenceLine[];
  /** For a metric answer: the one-line summary. For a pending or person-answered metric question: why the metrics could not say. */
  readonly note?: string;
  readonly by?: string;
  readonly at?: Date;
  /** When a remembered answer stops counting. */
  readonly expiresAt?: Date;
}

export interface Walk {
  /** Absent while a question waits for a person's answer. */
  readonly recommendation?: Recommendation;
  readonly path: readonly Step[];
  readonly pendingQuestion?: QuestionId;
}

export interface WalkOptions {
  readonly now: Date;
  readonly memory: AnswerMemory;
  /** When the optimization checklist was last completed (counts as "optimized: yes" from then). */
  readonly optimizationCompletedAt?: Date | null;
  /** Ask this question again even if an answer is remembered (the "Change" button). */
  readonly ask?: QuestionId;
  /** The question whose answer was just clicked: it decides this walk whatever `memory` says. */
  readonly answered?: QuestionId;
  /** `advisor.global_traffic`: the team's standing answer to "global traffic?"; null or absent: ask. */
  readonly globalTraffic?: boolean | null;
}

const YES_NO: Record<QuestionId, Record<Answer, Recommendation | null>> = {
  degraded: { yes: null, no: 'dont_scale' },
  optimized: { yes: null, no: 'optimize_first' },
  cpu_memory: { yes: 'vertical', no: null },
  database: { yes: 'database', no: null },
  global_traffic: { yes: 'multi_region', no: 'horizontal' },
};

/** The order the tree asks in (see the comment at the top of this file). */
export const TREE_ORDER: readonly QuestionId[] = ['degraded', 'optimized', 'cpu_memory', 'database', 'global_traffic'];

export function walkDecisionTree(evidence: Evidence, answers: Answers, options: WalkOptions): Walk {
  const path: Step[] = [];
  for (const question of TREE_ORDER) {
    const step = isMetricQuestion(question) ? metricStep(question, evidence, answers, options) : personStep(question, answers, options);
    path.push(step);
    if (step.answer === 'pending') return { path, pendingQuestion: question };
    const recommendation = YES_NO[question][step.answer];
    if (recommendation) return { recommendation, path };
  }
  // Unreachable: the last question answers both ways.
  throw new Error('the decision tree ended without a recommendation');
}

function findingFor(question: MetricQuestion, evidence: Evidence): MetricFinding {
  switch (question) {
    case 'degraded':
      return evidence.degraded;
    case 'cpu_memory':
      return evidence.cpuMemory;
    case 'database':
      return evidence.database;
  }
}

function memoryFor(question: QuestionId, memory: AnswerMemory): number | null {
  if (question === 'global_traffic') return memory.globalTraffic;
  if (question === 'optimized') return memory.optimized;
  return memory.metricQuestions;
}

/** The remembered answer if it still counts, with when it stops counting. */
function freshAnswer(
  question: QuestionId,
  answer: RememberedAnswer | undefined,
  options: WalkOptions,
): { answer: RememberedAnswer; expiresAt?: Date } | undefined {
  if (!answer || options.ask === question) return undefined;
  const seconds = memoryFor(question, options.memory);
  if (seconds === null) return { answer };
  if (options.answered === question && answer.source === 'person') return { answer, expiresAt: new Date(answer.at.getTime() + seconds * 1000) };
  const expiresAt = new Date(answer.at.getTime() + seconds * 1000);
  return expiresAt.getTime() > options.now.getTime() ? { answer, expiresAt } : undefined;
}

function metricStep(question: MetricQuestion, evidence: Evidence, answers: Answers, options: WalkOptions): Step {
  const finding = findingFor(question, evidence);
  if (finding.answer !== 'unknown') {
    return { question, answer: finding.answer, source: 'metrics', evidence: finding.lines, ...(finding.summary ? { note: finding.summary } : {}) };
  }
  const remembered = freshAnswer(question, answers[question], options);
  const note = finding.summary ?? 'the metrics have no data';
  if (remembered) return personAnswered(question, remembered, finding.lines, note);
  return { question, answer: 'pending', source: 'person', evidence: finding.lines, note };
}

function personStep(question: QuestionId, answers: Answers, options: WalkOptions): Step {
  if (question === 'global_traffic' && typeof options.globalTraffic === 'boolean') {
    return { question, answer: options.globalTraffic ? 'yes' : 'no', source: 'config', evidence: [] };
  }
  let candidate = answers[question];
  if (question === 'optimized' && options.optimizationCompletedAt) {
    const checklist: RememberedAnswer = { answer: 'yes', by: 'checklist', at: options.optimizationCompletedAt, source: 'checklist' };
    // The latest answer wins; a completed checklist is an answer given when it was completed.
    if (!candidate || checklist.at.getTime() > candidate.at.getTime()) candidate = checklist;
  }
  const remembered = freshAnswer(question, candidate, options);
  if (remembered) return personAnswered(question, remembered, [], undefined);
  return { question, answer: 'pending', source: 'person', evidence: [] };
}

/**
 * What /scale plan and /scale cost know of "Are you serving global traffic?": the config's standing answer,
 * else the latest answer given in /scale advise while it counts (`advisor.remember.global_traffic`), else
 * nothing (not global: multi-region is offered only to a team that said so).
 */
export function knownTrafficScope(configured: boolean | null, answers: Answers, memory: AnswerMemory, now: Date): TrafficScope {
  if (configured !== null) return { global: configured, source: 'config' };
  const remembered = freshAnswer('global_traffic', answers.global_traffic, { now, memory });
  if (!remembered) return NOT_KNOWN_GLOBAL;
  return { global: remembered.answer.answer === 'yes', source: 'answer', by: remembered.answer.by, at: remembered.answer.at };
}

function personAnswered(
  question: QuestionId,
  { answer, expiresAt }: { answer: RememberedAnswer; expiresAt?: Date },
  evidence: readonly EvidenceLine[],
  note: string | undefined,
): Step {
  return {
    question,
    answer: answer.answer,
    source: answer.source,
    evidence,
    by: answer.by,
    at: answer.at,
    ...(expiresAt ? { expiresAt } : {}),
    ...(note ? { note } : {}),
  };
}

// --- judging the metrics -------------------------------------------------------------------------------------

export interface EvidenceTriggers {
  /** The "scale immediately" triggers of the config. */
  readonly immediate: readonly Trigger[];
  /** The trigger whose *current* value over its threshold counts as degraded, breached or not yet (P99 latency). */
  readonly latencyTriggerId: string | null;
  /** CPU and memory with the advisor's threshold (80 %), judged over their `for`. */
  readonly cpuMemory: readonly Trigger[];
  /** Connections, I/O wait, slow queries: whichever are configured. */
  readonly database: readonly Trigger[];
}

/**
 * Turns trigger results (one status run over every trigger the advisor needs) into the three metric answers.
 * A question is unknown only when none of its triggers has data; partial data answers it, and the series
 * without data are listed with the answer so nobody mistakes them for fine.
 */
export function judgeEvidence(triggers: EvidenceTriggers, results: readonly TriggerResult[], evaluatedAt: Date, failure?: string): Evidence {
  const resultsOf = (list: readonly Trigger[]) => {
    const ids = new Set(list.map((trigger) => trigger.id));
    return results.filter((result) => ids.has(result.trigger.id));
  };
  const unknown = (summary: string): MetricFinding => ({ answer: 'unknown', lines: [], summary });
  if (failure) {
    const reason = `Prometheus could not answer: ${failure}`;
    return { evaluatedAt, degraded: unknown(reason), cpuMemory: unknown(reason), database: unknown(reason), failure };
  }
  return {
    evaluatedAt,
    degraded: judgeDegraded(triggers, resultsOf(triggers.immediate)),
    cpuMemory: judgeOver(resultsOf(triggers.cpuMemory), triggers.cpuMemory.length, 'no CPU or memory query is configured', 'CPU and memory'),
    database: judgeOver(
      resultsOf(triggers.database),
      triggers.database.length,
      'no database metric is configured (advisor.database_triggers)',
      'the database metrics',
    ),
  };
}

function noDataSummary(lines: readonly EvidenceLine[], what: string): string {
  const reasons = [...new Set(lines.map((line) => line.reason).filter(Boolean))];
  return `Prometheus has no data for ${what}${reasons.length ? ` (${reasons.join('; ')})` : ''}`;
}

function judgeDegraded(triggers: EvidenceTriggers, results: readonly TriggerResult[]): MetricFinding {
  if (triggers.immediate.length === 0) return { answer: 'unknown', lines: [], summary: 'no "scale immediately" trigger is configured' };
  const lines = results.map(toEvidenceLine);
  if (results.every((result) => result.state === 'no_data')) {
    return { answer: 'unknown', lines, summary: noDataSummary(lines, 'any "scale immediately" trigger') };
  }
  const isLatency = (result: TriggerResult) => result.trigger.id === triggers.latencyTriggerId;
  const over = results.filter((result) => result.state === 'breached' || (isLatency(result) && result.state === 'pending'));
  if (over.length > 0) return { answer: 'yes', lines: over.map(toEvidenceLine) };
  const shown = results.filter((result) => isLatency(result) || result.state === 'no_data' || result.state === 'pending');
  const checked = new Set(results.filter((result) => result.state !== 'no_data').map((result) => result.trigger.id)).size;
  return {
    answer: 'no',
    lines: shown.map(toEvidenceLine),
    summary: `none of the ${checked} "scale immediately" trigger${checked === 1 ? '' : 's'} with data is breached`,
  };
}

/** Yes when any series has held over its threshold for its `for`; a series over it for less is shown, not counted. */
function judgeOver(results: readonly TriggerResult[], configured: number, noneConfigured: string, what: string): MetricFinding {
  if (configured === 0) return { answer: 'unknown', lines: [], summary: noneConfigured };
  const lines = results.map(toEvidenceLine);
  if (results.every((result) => result.state === 'no_data')) return { answer: 'unknown', lines, summary: noDataSummary(lines, what) };
  const breached = results.filter((result) => result.state === 'breached');
  if (breached.length > 0) return { answer: 'yes', lines: breached.map(toEvidenceLine) };
  // For a no, each trigger's closest series to its threshold, plus anything pending or without data.
  const shown: TriggerResult[] = [];
  for (const id of new Set(results.map((result) => result.trigger.id))) {
    const ofTrigger = results.filter((result) => result.trigger.id === id);
    const notOk = ofTrigger.filter((result) => result.state !== 'ok');
    const worstOk = closestToThreshold(ofTrigger.filter((result) => result.state === 'ok'));
    shown.push(...notOk, ...(worstOk && notOk.length === 0 ? [worstOk] : []));
  }
  return { answer: 'no', lines: shown.map(toEvidenceLine), summary: `${what}: nothing over its threshold for long enough` };
}

function closestToThreshold(results: readonly TriggerResult[]): TriggerResult | undefined {
  const direction = (result: TriggerResult) => (result.trigger.op.startsWith('<') ? -1 : 1);
  return [...results].sort((a, b) => direction(b) * ((b.value ?? -Infinity) - (a.value ?? -Infinity)))[0];
}

/** The advisor's CPU or memory trigger: the status trigger's query and `for`, the advisor's threshold. */
export function deriveThresholdTrigger(base: Pick<Trigger, 'name' | 'query' | 'forSeconds'>, id: string, threshold: number): Trigger {
  return { id, name: base.name, severity: 'immediate', query: base.query, op: '>', threshold, forSeconds: base.forSeconds, unit: 'percent' };
}
