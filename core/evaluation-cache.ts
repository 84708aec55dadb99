import type { Clock, JudgeOptions, PrometheusPort } from './ports.ts';
import type { StatusReport } from './status.ts';
import { decideVerdict, type Trigger, type TriggerResult } from './triggers.ts';

/**
 * Evaluate once per scrape, share it. Prometheus's data cannot be fresher than its scrape interval, so an
 * evaluation younger than that is as good as a new one: the bot keeps its latest evaluations and serves
 * `/scale status`, the advisor, the snapshot item and the watcher from them while they are younger than
 * `prometheus.max_age`. Callers asking while an evaluation runs wait for it instead of starting their own
 * (single flight): in an incident the whole team types `/scale status` at once. One cache per process: with
 * replicas, each keeps its own. The CLI builds its own client and never passes through here (a CLI is not a crowd).
 *
 * What is served always answers the question asked:
 * - the same lookback and the same trigger definitions (a config reload that changes a trigger misses);
 * - a request for some of the triggers (a chart, the digest, the advisor) may be served from an evaluation
 *   of more of them, their results only;
 * - forecasts: an evaluation without them never serves a request with them; one with them serves a request
 *   without, the forecasts dropped;
 * - a failed evaluation (`report.failure`, or a rejection) is never kept: only those who shared it get it.
 */

/** How a request was answered: from a kept evaluation, by joining one in flight, by a new one, or not cached at all. */
export type EvaluationCacheOutcome = 'hit' | 'shared' | 'miss' | 'bypass';

export interface EvaluationCacheOptions {
  /**
   * How long an evaluation serves, in milliseconds, asked at every request (`auto` follows Prometheus's
   * scrape interval, which may change). 0 or less: no caching and no sharing, every request asks Prometheus.
   */
  readonly maxAgeMs: () => number;
  readonly clock: Clock;
  /** Each request's outcome (the bot counts them in /metrics). */
  readonly onOutcome?: (outcome: EvaluationCacheOutcome) => void;
  /** Evaluations kept at most (different trigger sets and options); default 8. */
  readonly maxEntries?: number;
}

interface Entry {
  /** The triggers evaluated, by id: each with its definition's key. */
  readonly definitions: ReadonlyMap<string, string>;
  readonly triggers: readonly Trigger[];
  readonly lookbackSeconds: number | undefined;
  /** The forecast settings' key; null: evaluated without forecasts. */
  readonly forecastKey: string | null;
  /** The moment evaluated (the report's evaluatedAt). */
  readonly atMs: number;
  readonly evaluation: Promise<StatusReport>;
  /** Set once the evaluation has succeeded; until then it is in flight. */
  report?: StatusReport;
}

interface Request {
  readonly triggers: readonly Trigger[];
  readonly definitions: ReadonlyMap<string, string>;
  readonly lookbackSeconds: number | undefined;
  readonly forecastKey: string | null;
  readonly atMs: number;
}

const DEFAULT_MAX_ENTRIES = 8;

/** `inner` with its judgeTriggers served from the cache; everything else of the port as it is. */
export function withEvaluationCache<P extends Pick<PrometheusPort, 'judgeTriggers'>>(inner: P, options: EvaluationCacheOptions): P {
  const cache = createEvaluationCache(inner, options);
  return new Proxy(inner, {
    get: (target, property, receiver) => (property === 'judgeTriggers' ? cache.judgeTriggers : Reflect.get(target, property, receiver)),
  });
}

export function createEvaluationCache(inner: Pick<PrometheusPort, 'judgeTriggers'>, options: EvaluationCacheOptions): Pick<PrometheusPort, 'judgeTriggers'> {
  const { clock, onOutcome } = options;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  // Newest last.
  let entries: Entry[] = [];

  function judgeTriggers(triggers: readonly Trigger[], at: Date, lookbackSeconds?: number, judgeOptions?: JudgeOptions): Promise<StatusReport> {
    const maxAgeMs = options.maxAgeMs();
    const nowMs = clock().getTime();
    const atMs = at.getTime();
    // A moment other than about now (a chart of a past breach) is not "the latest evaluation": asked as it is.
    if (!(maxAgeMs > 0) || Math.abs(nowMs - atMs) >= maxAgeMs) {
      onOutcome?.('bypass');
      return inner.judgeTriggers(triggers, at, lookbackSeconds, judgeOptions);
    }
    entries = entries.filter((entry) => !entry.report || nowMs - entry.atMs < maxAgeMs);
    const request: Request = {
      triggers,
      definitions: definitionsOf(triggers),
      lookbackSeconds,
      forecastKey: judgeOptions?.forecast ? stableKey(judgeOptions.forecast) : null,
      atMs,
    };
    const usable = entries.filter((entry) => serves(entry, request, nowMs, maxAgeMs));
    // Kept ones first, the newest first; an exact match of the forecasts before one whose forecasts must be dropped.
    usable.sort((a, b) => Number(!a.report) - Number(!b.report) || exactness(b, request) - exactness(a, request) || b.atMs - a.atMs);
    for (const entry of usable) {
      if (!entry.report) continue;
      const projected = project(entry.report, entry, request);
      if (projected) {
        onOutcome?.('hit');
        return Promise.resolve(projected);
      }
    }
    const inFlight = usable.find((entry) => !entry.report);
    if (inFlight) {
      onOutcome?.('shared');
      return inFlight.evaluation.then((report) => project(report, inFlight, request) ?? evaluate(request, at, judgeOptions));
    }
    onOutcome?.('miss');
    return evaluate(request, at, judgeOptions);
  }

  function evaluate(request: Request, at: Date, judgeOptions: JudgeOptions | undefined): Promise<StatusReport> {
    const evaluation = inner.judgeTriggers(request.triggers, at, request.lookbackSeconds, judgeOptions);
    const entry: Entry = {
      definitions: request.definitions,
      triggers: request.triggers,
      lookbackSeconds: request.lookbackSeconds,
      forecastKey: request.forecastKey,
      atMs: request.atMs,
      evaluation,
    };
    entries.push(entry);
    evaluation.then(
      (report) => {
        if (report.failure) forget(entry);
        else entry.report = report;
      },
      () => forget(entry),
    );
    // The oldest kept evaluation makes room; those in flight stay until they end (their sharers wait for them).
    while (entries.length > maxEntries) {
      const oldest = entries.findIndex((candidate) => candidate.report);
      if (oldest < 0) break;
      entries.splice(oldest, 1);
    }
    return evaluation;
  }

  function forget(entry: Entry): void {
    entries = entries.filter((candidate) => candidate !== entry);
  }

  return { judgeTriggers };
}

/** Whether `entry` may answer `request`: young enough, the same lookback, every trigger as defined, forecasts it can give. */
function serves(entry: Entry, request: Request, nowMs: number, maxAgeMs: number): boolean {
  if (nowMs - entry.atMs >= maxAgeMs || Math.abs(request.atMs - entry.atMs) >= maxAgeMs) return false;
  if (entry.lookbackSeconds !== request.lookbackSeconds) return false;
  if (request.forecastKey !== null && entry.forecastKey !== request.forecastKey) return false;
  for (const [id, definition] of request.definitions) if (entry.definitions.get(id) !== definition) return false;
  return true;
}

function exactness(entry: Entry, request: Request): number {
  return entry.forecastKey === request.forecastKey ? 1 : 0;
}

/**
 * The report as the request would have had it: its triggers' results in its order, forecasts dropped when it
 * asked for none. Null when that cannot be told: a subset whose every result is "no data" may be a set of
 * failed queries, which a report of their own would mark as `failure`; it is asked anew instead.
 */
function project(report: StatusReport, entry: Entry, request: Request): StatusReport | null {
  const dropForecasts = request.forecastKey === null && entry.forecastKey !== null;
  if (!dropForecasts && sameTriggers(entry.triggers, request.triggers)) return report;
  const byId = new Map<string, TriggerResult[]>();
  for (const result of report.results) {
    const list = byId.get(result.trigger.id);
    if (list) list.push(result);
    else byId.set(result.trigger.id, [result]);
  }
  const results: TriggerResult[] = [];
  for (const trigger of request.triggers) {
    for (const result of byId.get(trigger.id) ?? []) {
      let projected: TriggerResult = result.trigger === trigger ? result : { ...result, trigger };
      if (dropForecasts) {
        const { forecast: _dropped, ...rest } = projected;
        projected = rest;
      }
      results.push(projected);
    }
  }
  const subset = request.definitions.size < entry.definitions.size;
  if (!report.failure && subset && results.every((result) => result.state === 'no_data')) return null;
  const { forecastSettings: _settings, failure, ...rest } = report;
  return {
    ...rest,
    verdict: decideVerdict(results),
    results,
    ...(failure ? { failure } : {}),
    ...(!dropForecasts && report.forecastSettings ? { forecastSettings: report.forecastSettings } : {}),
  };
}

function sameTriggers(a: readonly Trigger[], b: readonly Trigger[]): boolean {
  return a.length === b.length && a.every((trigger, index) => trigger === b[index]);
}

const definitionKeys = new WeakMap<Trigger, string>();

function definitionsOf(triggers: readonly Trigger[]): Map<string, string> {
  const definitions = new Map<string, string>();
  for (const trigger of triggers) {
    let key = definitionKeys.get(trigger);
    if (key === undefined) {
      key = stableKey(trigger);
      definitionKeys.set(trigger, key);
    }
    definitions.set(trigger.id, key);
  }
  return definitions;
}

/** JSON with the keys sorted: two configs that define a trigger alike give it one key, whatever their order. */
function stableKey(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}
