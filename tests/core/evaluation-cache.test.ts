import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEvaluationCache, type EvaluationCacheOutcome } from '../../core/evaluation-cache.ts';
import type { ForecastSettings } from '../../core/forecast.ts';
import type { JudgeOptions, PrometheusPort } from '../../core/ports.ts';
import type { StatusReport } from '../../core/status.ts';
import { decideVerdict, type Trigger, type TriggerResult } from '../../core/triggers.ts';

const LONG = process.env.SCALEBOT_LONG === '1';

const base: Trigger = { id: 't0', name: 'T', severity: 'immediate', query: 'q', op: '>', threshold: 1, forSeconds: 0, unit: 'count' };
/** Four triggers, each in two definitions (a config reload changes the threshold). */
const TRIGGERS: Trigger[][] = [0, 1, 2, 3].map((index) => [
  { ...base, id: `t${index}`, query: `q${index}`, severity: index % 2 === 0 ? 'immediate' : 'soon' },
  { ...base, id: `t${index}`, query: `q${index}`, severity: index % 2 === 0 ? 'immediate' : 'soon', threshold: 2 },
]);
const FORECASTS: ForecastSettings[] = [
  { windowSeconds: 604_800, minHistorySeconds: 86_400, warnWithinSeconds: 1_209_600 },
  { windowSeconds: 604_800, minHistorySeconds: 86_400, warnWithinSeconds: 604_800 },
];

interface Evaluation {
  readonly id: number;
  readonly triggers: readonly Trigger[];
  readonly at: number;
  readonly lookbackSeconds: number | undefined;
  readonly forecast: ForecastSettings | undefined;
  settle(outcome: 'ok' | 'failed' | 'rejected'): void;
  settled: boolean;
}

/**
 * A Prometheus port whose evaluations end when the test says: each result carries its evaluation's id in its
 * labels, so the test can tell which evaluation a served report came from. A trigger's state is fixed by
 * (trigger, evaluation): some are "no data".
 */
function controlledPort() {
  const evaluations: Evaluation[] = [];
  const port: Pick<PrometheusPort, 'judgeTriggers'> = {
    judgeTriggers(triggers, at, lookbackSeconds, options?: JudgeOptions) {
      return new Promise<StatusReport>((resolve, reject) => {
        const id = evaluations.length;
        const evaluation: Evaluation = {
          id,
          triggers,
          at: at.getTime(),
          lookbackSeconds,
          forecast: options?.forecast,
          settled: false,
          settle(outcome) {
            evaluation.settled = true;
            if (outcome === 'rejected') return reject(new Error(`evaluation ${id} was refused`));
            const failed = outcome === 'failed';
            const results: TriggerResult[] = triggers.map((trigger, index) => ({
              trigger,
              labels: { trigger: trigger.id, evaluation: String(id) },
              state: failed || (id + index) % 3 === 0 ? 'no_data' : 'ok',
              value: failed ? null : 0,
              heldSeconds: 0,
              heldWholeWindow: false,
              ...(options?.forecast ? { forecast: null } : {}),
            }));
            resolve({
              verdict: decideVerdict(results),
              evaluatedAt: new Date(at.getTime()),
              results,
              ...(failed ? { failure: 'Prometheus is down' } : {}),
              ...(options?.forecast ? { forecastSettings: options.forecast } : {}),
            });
          },
        };
        evaluations.push(evaluation);
      });
    },
  };
  return { port, evaluations };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

type Step =
  | { kind: 'ask'; subset: number[]; variant: number; forecast: number | null; lookback: number | undefined; pastMs: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'settle'; pick: number; outcome: 'ok' | 'failed' | 'rejected' };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('ask' as const),
      subset: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
      variant: fc.constantFrom(0, 0, 0, 1),
      forecast: fc.constantFrom(null, null, 0, 1),
      lookback: fc.constantFrom(undefined, 1800, 1800, 900),
      pastMs: fc.constantFrom(0, 0, 0, 0, 1000, 4000, 10_000, 60_000),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 20_000 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      pick: fc.nat(),
      outcome: fc.constantFrom('ok' as const, 'ok' as const, 'failed' as const, 'rejected' as const),
    }),
  },
);

function sameDefinition(a: Trigger, b: Trigger): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

describe('the evaluation cache, on generated schedules of calls, clock moves and evaluation ends', () => {
  it('never serves a report older than max_age, a failed one kept, or one for other triggers or options; concurrent calls share', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArbitrary, { maxLength: 40 }), fc.constantFrom(0, 5_000, 15_000), async (steps, maxAgeMs) => {
        const { port, evaluations } = controlledPort();
        let now = 1_800_000_000_000;
        const outcomes: EvaluationCacheOutcome[] = [];
        const cache = createEvaluationCache(port, { clock: () => new Date(now), maxAgeMs: () => maxAgeMs, onOutcome: (outcome) => outcomes.push(outcome) });
        const problems: string[] = [];
        const answers: Promise<void>[] = [];
        for (const step of steps) {
          if (step.kind === 'advance') now += step.ms;
          else if (step.kind === 'settle') {
            const pending = evaluations.filter((evaluation) => !evaluation.settled);
            if (pending.length > 0) pending[step.pick % pending.length]!.settle(step.outcome);
          } else {
            const triggers = step.subset.map((index) => TRIGGERS[index]![step.variant]!);
            const forecast = step.forecast === null ? undefined : FORECASTS[step.forecast]!;
            const at = now - step.pastMs;
            const askedAt = now;
            const before = evaluations.length;
            // What was in flight when asked: the only evaluations whose failure this caller may be given.
            const inFlight = new Set(evaluations.filter((evaluation) => !evaluation.settled).map((evaluation) => evaluation.id));
            // A twin in flight (same triggers, same options, young enough): this call must join it.
            const twin = evaluations.find(
              (evaluation) =>
                !evaluation.settled &&
                evaluation.lookbackSeconds === step.lookback &&
                evaluation.forecast === forecast &&
                evaluation.triggers.length === triggers.length &&
                evaluation.triggers.every((trigger, index) => trigger === triggers[index]) &&
                askedAt - evaluation.at < maxAgeMs &&
                Math.abs(at - evaluation.at) < maxAgeMs &&
                Math.abs(askedAt - at) < maxAgeMs,
            );
            const answer = cache.judgeTriggers(triggers, new Date(at), step.lookback, forecast ? { forecast } : {});
            const started = evaluations.length - before;
            if (twin && started > 0) problems.push(`a call started its own evaluation while its twin #${twin.id} was in flight`);
            answers.push(
              answer.then(
                (report) => {
                  const ids = new Set(report.results.map((result) => Number(result.labels.evaluation)));
                  if (ids.size !== 1) return void problems.push(`results of ${ids.size} evaluations in one report`);
                  const evaluation = evaluations[[...ids][0]!]!;
                  const createdByThisCall = evaluation.id >= before;
                  if (report.evaluatedAt.getTime() !== evaluation.at) problems.push('evaluatedAt is not the evaluation time');
                  if (askedAt - evaluation.at >= Math.max(maxAgeMs, 1) && !createdByThisCall)
                    problems.push(`served #${evaluation.id}, ${askedAt - evaluation.at} ms old`);
                  if (Math.abs(at - evaluation.at) >= Math.max(maxAgeMs, 1) && !createdByThisCall)
                    problems.push(`served #${evaluation.id} for a moment ${at - evaluation.at} ms off`);
                  if (report.failure && !createdByThisCall && !inFlight.has(evaluation.id)) problems.push(`served the failed #${evaluation.id} after it ended`);
                  if (evaluation.lookbackSeconds !== step.lookback) problems.push('served another lookback');
                  const ids2 = report.results.map((result) => result.trigger.id);
                  if (JSON.stringify([...new Set(ids2)]) !== JSON.stringify(triggers.map((trigger) => trigger.id))) {
                    problems.push(`asked for ${triggers.map((t) => t.id)}, served ${ids2}`);
                  }
                  for (const result of report.results) {
                    const asked = triggers.find((trigger) => trigger.id === result.trigger.id)!;
                    const judged = evaluation.triggers.find((trigger) => trigger.id === result.trigger.id);
                    if (!judged || !sameDefinition(asked, judged)) problems.push(`${asked.id} judged in another definition`);
                    if (forecast === undefined && 'forecast' in result) problems.push('forecasts served to a call without them');
                    if (forecast !== undefined && !('forecast' in result)) problems.push('a call with forecasts served none');
                  }
                  if (JSON.stringify(report.forecastSettings) !== JSON.stringify(forecast)) problems.push('served other forecast settings');
                  if (evaluation.forecast !== undefined && forecast !== undefined && evaluation.forecast !== forecast) problems.push('other forecasts');
                  if (evaluation.forecast === undefined && forecast !== undefined) problems.push('a report without forecasts served a call with them');
                  if (report.verdict !== decideVerdict(report.results)) problems.push('the verdict is not that of the results served');
                  // A strict subset whose every result is "no data" may be failed queries: asked anew, never projected.
                  if (
                    !createdByThisCall &&
                    !report.failure &&
                    evaluation.triggers.length > triggers.length &&
                    report.results.every((r) => r.state === 'no_data')
                  ) {
                    problems.push('a subset of nothing but "no data" was served from a larger evaluation');
                  }
                },
                (error: Error) => {
                  const id = Number(/evaluation (\d+)/.exec(error.message)?.[1]);
                  if (!(id >= before) && !inFlight.has(id)) problems.push(`served the refusal of #${id} after it ended`);
                },
              ),
            );
          }
          await flush();
        }
        for (const evaluation of evaluations) if (!evaluation.settled) evaluation.settle('ok');
        // Those who fell back to an evaluation of their own, once theirs is in flight.
        await flush();
        for (const evaluation of evaluations) if (!evaluation.settled) evaluation.settle('ok');
        await Promise.all(answers);
        expect(problems).toEqual([]);
        if (maxAgeMs === 0) expect(outcomes.every((outcome) => outcome === 'bypass')).toBe(true);
      }),
      { numRuns: LONG ? 3000 : 300 },
    );
  });
});

describe('the evaluation cache', () => {
  const triggers = TRIGGERS.map((variants) => variants[0]!);

  function setup(maxAgeMs = 15_000) {
    const { port, evaluations } = controlledPort();
    let now = 1_800_000_000_000;
    const cache = createEvaluationCache(port, { clock: () => new Date(now), maxAgeMs: () => maxAgeMs });
    return {
      cache,
      evaluations,
      advance: (ms: number) => (now += ms),
      at: () => new Date(now),
    };
  }

  it('serves two asks within max_age from one evaluation, and asks anew once it is max_age old', async () => {
    const { cache, evaluations, advance, at } = setup();
    const first = cache.judgeTriggers(triggers, at(), 1800);
    const second = cache.judgeTriggers(triggers, at(), 1800);
    expect(evaluations).toHaveLength(1);
    evaluations[0]!.settle('ok');
    expect(await second).toBe(await first);
    advance(14_999);
    expect(await cache.judgeTriggers(triggers, at(), 1800)).toBe(await first);
    advance(1);
    void cache.judgeTriggers(triggers, at(), 1800);
    expect(evaluations).toHaveLength(2);
  });

  it('serves a chart of one trigger from the status of all, and the watcher (no forecasts) from a status with them', async () => {
    const { cache, evaluations, at } = setup();
    const status = cache.judgeTriggers(triggers, at(), 1800, { forecast: FORECASTS[0]! });
    evaluations[0]!.settle('ok');
    await status;
    const watcher = await cache.judgeTriggers(triggers, at(), 1800);
    expect(watcher.forecastSettings).toBeUndefined();
    expect(watcher.results.some((result) => 'forecast' in result)).toBe(false);
    const chart = await cache.judgeTriggers([triggers[1]!], at(), 1800, { forecast: FORECASTS[0]! });
    expect(chart.results.map((result) => result.trigger.id)).toEqual(['t1']);
    expect(evaluations).toHaveLength(1);
    // Other forecast settings, another lookback, a trigger defined anew: each asks Prometheus.
    void cache.judgeTriggers(triggers, at(), 1800, { forecast: FORECASTS[1]! });
    void cache.judgeTriggers(triggers, at(), 900);
    void cache.judgeTriggers([TRIGGERS[0]![1]!], at(), 1800);
    expect(evaluations).toHaveLength(4);
  });

  it('keeps no failed evaluation, though those who asked while it ran share it', async () => {
    const { cache, evaluations, at } = setup();
    const first = cache.judgeTriggers(triggers, at(), 1800);
    const second = cache.judgeTriggers(triggers, at(), 1800);
    evaluations[0]!.settle('failed');
    expect((await first).failure).toBe('Prometheus is down');
    expect(await second).toBe(await first);
    void cache.judgeTriggers(triggers, at(), 1800);
    expect(evaluations).toHaveLength(2);
  });

  it('joins no evaluation that has run for max_age already (a slow Prometheus): its answer would be that old', () => {
    const { cache, evaluations, advance, at } = setup();
    void cache.judgeTriggers(triggers, at(), 1800);
    advance(15_000);
    // Asked for a moment a few seconds back, still within max_age of the evaluation's.
    void cache.judgeTriggers(triggers, new Date(at().getTime() - 5_000), 1800);
    expect(evaluations).toHaveLength(2);
  });

  it('asks for a past moment, and with max_age 0 for everything, as if it were not there', () => {
    const { cache, evaluations, at } = setup();
    void cache.judgeTriggers(triggers, new Date(at().getTime() - 60_000), 1800);
    void cache.judgeTriggers(triggers, new Date(at().getTime() - 60_000), 1800);
    expect(evaluations).toHaveLength(2);
    const off = setup(0);
    void off.cache.judgeTriggers(triggers, off.at(), 1800);
    void off.cache.judgeTriggers(triggers, off.at(), 1800);
    expect(off.evaluations).toHaveLength(2);
  });
});
