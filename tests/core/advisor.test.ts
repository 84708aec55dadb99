import { describe, expect, it } from 'vitest';
import {
  deriveThresholdTrigger,
  judgeEvidence,
  walkDecisionTree,
  type AnswerMemory,
  type Answers,
  type Evidence,
  type EvidenceLine,
  type EvidenceTriggers,
  type MetricFinding,
} from '../../core/advisor.ts';
import type { Trigger, TriggerResult, TriggerState } from '../../core/triggers.ts';

const NOW = new Date('2026-03-14T02:00:00Z');
const DAY = 86_400_000;
const MEMORY: AnswerMemory = { globalTraffic: 90 * 86_400, optimized: 30 * 86_400, metricQuestions: 3600 };

function line(trigger: string, state: TriggerState, value: number | null, threshold = 0.8): EvidenceLine {
  return {
    trigger,
    name: trigger,
    labels: {},
    state,
    value,
    unit: 'percent',
    op: '>',
    threshold,
    forSeconds: 900,
    heldSeconds: state === 'breached' ? 1800 : 0,
    heldWholeWindow: false,
  };
}
const yes = (trigger: string): MetricFinding => ({ answer: 'yes', lines: [line(trigger, 'breached', 0.9)] });
const no = (trigger: string): MetricFinding => ({ answer: 'no', lines: [line(trigger, 'ok', 0.4)], summary: 'nothing over' });
const unknown: MetricFinding = { answer: 'unknown', lines: [], summary: 'Prometheus has no data for CPU and memory' };

function evidence(degraded: MetricFinding, cpuMemory: MetricFinding = no('advisor_cpu'), database: MetricFinding = no('db_connections')): Evidence {
  return { evaluatedAt: NOW, degraded, cpuMemory, database };
}
const person = (answer: 'yes' | 'no', daysAgo = 0, by = 'U1') => ({ answer, by, at: new Date(NOW.getTime() - daysAgo * DAY), source: 'person' as const });
const walk = (e: Evidence, answers: Answers = {}, extra: Partial<Parameters<typeof walkDecisionTree>[2]> = {}) =>
  walkDecisionTree(e, answers, { now: NOW, memory: MEMORY, ...extra });

describe('walkDecisionTree: every branch, in our order (optimized is asked before anything that costs money)', () => {
  it('not degraded: do not scale yet, and nothing else is asked', () => {
    const result = walk(evidence(no('cpu')), { optimized: person('no') });
    expect(result.recommendation).toBe('dont_scale');
    expect(result.path.map((step) => [step.question, step.answer, step.source])).toEqual([['degraded', 'no', 'metrics']]);
    expect(result.pendingQuestion).toBeUndefined();
  });

  it('degraded and nobody has said whether they optimized: the question waits for a person', () => {
    const result = walk(evidence(yes('cpu'), yes('advisor_cpu')));
    expect(result.recommendation).toBeUndefined();
    expect(result.pendingQuestion).toBe('optimized');
    expect(result.path.map((step) => [step.question, step.answer])).toEqual([
      ['degraded', 'yes'],
      ['optimized', 'pending'],
    ]);
  });

  it('degraded, not optimized: optimize first, even when CPU says vertical', () => {
    const result = walk(evidence(yes('cpu'), yes('advisor_cpu')), { optimized: person('no') });
    expect(result.recommendation).toBe('optimize_first');
    expect(result.path.at(-1)).toMatchObject({ question: 'optimized', answer: 'no', source: 'person', by: 'U1' });
  });

  it('optimized, CPU or memory over 80 %: vertical', () => {
    const result = walk(evidence(yes('cpu'), yes('advisor_cpu')), { optimized: person('yes') });
    expect(result.recommendation).toBe('vertical');
    expect(result.path.map((step) => step.question)).toEqual(['degraded', 'optimized', 'cpu_memory']);
    expect(result.path[2]!.evidence[0]).toMatchObject({ trigger: 'advisor_cpu', state: 'breached', value: 0.9 });
  });

  it('optimized, CPU and memory fine, the database the bottleneck: separate database or replicas', () => {
    const result = walk(evidence(yes('db_connections'), no('advisor_cpu'), yes('db_connections')), { optimized: person('yes') });
    expect(result.recommendation).toBe('database');
    expect(result.path.map((step) => step.answer)).toEqual(['yes', 'yes', 'no', 'yes']);
  });

  it('nothing the metrics can point at: asks about global traffic', () => {
    const result = walk(evidence(yes('api_p99')), { optimized: person('yes') });
    expect(result.pendingQuestion).toBe('global_traffic');
    expect(result.path).toHaveLength(5);
  });

  it('global traffic: multi-region; local traffic: horizontal with a load balancer', () => {
    const degraded = evidence(yes('api_p99'));
    expect(walk(degraded, { optimized: person('yes'), global_traffic: person('yes') }).recommendation).toBe('multi_region');
    expect(walk(degraded, { optimized: person('yes'), global_traffic: person('no') }).recommendation).toBe('horizontal');
  });
});

describe('remembered answers', () => {
  it('count for their time, then the question is asked again', () => {
    const degraded = evidence(yes('cpu'), yes('advisor_cpu'));
    const fresh = walk(degraded, { optimized: person('yes', 29) });
    expect(fresh.recommendation).toBe('vertical');
    expect(fresh.path[1]!.expiresAt).toEqual(new Date(NOW.getTime() + DAY));
    expect(walk(degraded, { optimized: person('yes', 31) }).pendingQuestion).toBe('optimized');
    expect(walk(degraded, { optimized: person('yes', 3650) }, { memory: { ...MEMORY, optimized: null } }).recommendation).toBe('vertical');
  });

  it('a completed optimization checklist counts as yes; the latest of checklist and answer wins', () => {
    const degraded = evidence(yes('cpu'), yes('advisor_cpu'));
    const viaChecklist = walk(degraded, {}, { optimizationCompletedAt: new Date(NOW.getTime() - 2 * DAY) });
    expect(viaChecklist.recommendation).toBe('vertical');
    expect(viaChecklist.path[1]).toMatchObject({ answer: 'yes', source: 'checklist' });
    // Someone said "no" after the checklist was completed: the "no" is the latest word.
    expect(walk(degraded, { optimized: person('no', 1) }, { optimizationCompletedAt: new Date(NOW.getTime() - 2 * DAY) }).recommendation).toBe(
      'optimize_first',
    );
    // The checklist was completed after someone said "no".
    expect(walk(degraded, { optimized: person('no', 3) }, { optimizationCompletedAt: new Date(NOW.getTime() - 2 * DAY) }).recommendation).toBe('vertical');
    // A checklist completed long ago expires like an answer.
    expect(walk(degraded, {}, { optimizationCompletedAt: new Date(NOW.getTime() - 40 * DAY) }).pendingQuestion).toBe('optimized');
  });

  it('"Change answer" asks a remembered question again', () => {
    const result = walk(evidence(yes('api_p99')), { optimized: person('yes'), global_traffic: person('no') }, { ask: 'global_traffic' });
    expect(result.pendingQuestion).toBe('global_traffic');
    expect(result.recommendation).toBeUndefined();
  });
});

describe('metric questions without data', () => {
  it('are asked with buttons, and a person’s answer counts for an hour', () => {
    const noData = evidence(yes('cpu'), unknown);
    const asked = walk(noData, { optimized: person('yes') });
    expect(asked.pendingQuestion).toBe('cpu_memory');
    expect(asked.path.at(-1)).toMatchObject({ answer: 'pending', note: 'Prometheus has no data for CPU and memory' });

    const answered = walk(noData, { optimized: person('yes'), cpu_memory: { ...person('yes', 0, 'U7'), at: new Date(NOW.getTime() - 30 * 60_000) } });
    expect(answered.recommendation).toBe('vertical');
    expect(answered.path.at(-1)).toMatchObject({ source: 'person', by: 'U7', note: 'Prometheus has no data for CPU and memory' });

    const stale = walk(noData, { optimized: person('yes'), cpu_memory: { ...person('yes'), at: new Date(NOW.getTime() - 2 * 3600_000) } });
    expect(stale.pendingQuestion).toBe('cpu_memory');
  });

  it('metrics with data win over an earlier person’s answer', () => {
    const result = walk(evidence(yes('cpu'), no('advisor_cpu'), yes('disk_iowait')), { optimized: person('yes'), cpu_memory: person('yes') });
    expect(result.recommendation).toBe('database');
    expect(result.path[2]).toMatchObject({ question: 'cpu_memory', answer: 'no', source: 'metrics' });
  });

  it('Prometheus down: even "degraded?" is asked', () => {
    const down = judgeEvidence(TRIGGERS, [], NOW, 'Prometheus at http://127.0.0.1:1 cannot be reached (ECONNREFUSED)');
    const result = walk(down);
    expect(result.pendingQuestion).toBe('degraded');
    expect(result.path[0]!.note).toMatch(/Prometheus could not answer: .*ECONNREFUSED/);
    expect(walk(down, { degraded: person('no') }).recommendation).toBe('dont_scale');
  });
});

// --- judging trigger results -----------------------------------------------------------------------------------

function trigger(id: string, overrides: Partial<Trigger> = {}): Trigger {
  return { id, name: id, severity: 'immediate', query: `${id}_query`, op: '>', threshold: 0.7, forSeconds: 900, unit: 'percent', ...overrides };
}
const cpu = trigger('cpu');
const p99 = trigger('api_p99', { threshold: 1, forSeconds: 300, unit: 'seconds' });
const dbConnections = trigger('db_connections', { threshold: 0.8, forSeconds: 0 });
const iowait = trigger('disk_iowait', { threshold: 0.2, forSeconds: 0 });
const cpu80 = deriveThresholdTrigger(cpu, 'advisor_cpu', 0.8);
const memory80 = deriveThresholdTrigger({ name: 'memory', query: 'mem', forSeconds: 600 }, 'advisor_memory', 0.8);
const TRIGGERS: EvidenceTriggers = {
  immediate: [cpu, p99, dbConnections, iowait],
  latencyTriggerId: 'api_p99',
  cpuMemory: [cpu80, memory80],
  database: [dbConnections, iowait],
};

function result(t: Trigger, state: TriggerState, value: number | null, labels: Record<string, string> = {}): TriggerResult {
  return {
    trigger: t,
    labels,
    state,
    value,
    heldSeconds: state === 'breached' ? t.forSeconds : state === 'pending' ? 60 : 0,
    heldWholeWindow: false,
    ...(state === 'no_data' ? { reason: 'the query returned no series at this time' } : {}),
  };
}

describe('judgeEvidence', () => {
  it('degraded: a breached "scale immediately" trigger, or P99 over its threshold before its `for` has passed', () => {
    const breached = judgeEvidence(
      TRIGGERS,
      [result(cpu, 'breached', 0.75), result(p99, 'ok', 0.3), result(dbConnections, 'ok', 0.2), result(iowait, 'ok', 0.01)],
      NOW,
    );
    expect(breached.degraded).toMatchObject({ answer: 'yes', lines: [{ trigger: 'cpu', value: 0.75 }] });
    const latency = judgeEvidence(TRIGGERS, [result(cpu, 'ok', 0.3), result(p99, 'pending', 1.7)], NOW);
    expect(latency.degraded).toMatchObject({ answer: 'yes', lines: [{ trigger: 'api_p99', state: 'pending' }] });
    // CPU over 70 % for only a minute is not degraded yet; it is shown with the no.
    const pendingCpu = judgeEvidence(TRIGGERS, [result(cpu, 'pending', 0.75), result(p99, 'ok', 0.3)], NOW);
    expect(pendingCpu.degraded.answer).toBe('no');
    expect(pendingCpu.degraded.lines.map((l) => l.trigger)).toEqual(['cpu', 'api_p99']);
    expect(pendingCpu.degraded.summary).toBe('none of the 2 "scale immediately" triggers with data is breached');
  });

  it('unknown only when not one trigger of a question has data; partial data answers and lists the gaps', () => {
    const allMissing = judgeEvidence(TRIGGERS, [result(cpu, 'no_data', null), result(p99, 'no_data', null)], NOW);
    expect(allMissing.degraded.answer).toBe('unknown');
    expect(allMissing.degraded.summary).toMatch(/no data .*no series/);
    const partial = judgeEvidence(TRIGGERS, [result(cpu80, 'ok', 0.5), result(memory80, 'no_data', null)], NOW);
    expect(partial.cpuMemory.answer).toBe('no');
    expect(partial.cpuMemory.lines.map((l) => [l.trigger, l.state])).toEqual([
      ['advisor_cpu', 'ok'],
      ['advisor_memory', 'no_data'],
    ]);
  });

  it('CPU or memory over 80 %: held for its `for` (breached) counts, pending does not', () => {
    const held = judgeEvidence(
      TRIGGERS,
      [result(cpu80, 'breached', 0.83, { instance: 'web-1' }), result(cpu80, 'ok', 0.4, { instance: 'web-2' }), result(memory80, 'ok', 0.6)],
      NOW,
    );
    expect(held.cpuMemory).toMatchObject({
      answer: 'yes',
      lines: [{ trigger: 'advisor_cpu', labels: { instance: 'web-1' }, value: 0.83, threshold: 0.8, forSeconds: 900 }],
    });
    const notYet = judgeEvidence(TRIGGERS, [result(cpu80, 'pending', 0.83), result(memory80, 'ok', 0.6)], NOW);
    expect(notYet.cpuMemory.answer).toBe('no');
    // The closest series of each trigger is the evidence for a no.
    const closest = judgeEvidence(
      TRIGGERS,
      [result(cpu80, 'ok', 0.4, { instance: 'a' }), result(cpu80, 'ok', 0.7, { instance: 'b' }), result(memory80, 'ok', 0.6)],
      NOW,
    );
    expect(closest.cpuMemory.lines.map((l) => l.value)).toEqual([0.7, 0.6]);
  });

  it('the database: whichever of its triggers is breached; none configured is unknown', () => {
    const io = judgeEvidence(TRIGGERS, [result(dbConnections, 'ok', 0.3), result(iowait, 'breached', 0.25)], NOW);
    expect(io.database).toMatchObject({ answer: 'yes', lines: [{ trigger: 'disk_iowait', value: 0.25 }] });
    const none = judgeEvidence({ ...TRIGGERS, database: [] }, [], NOW);
    expect(none.database).toMatchObject({ answer: 'unknown', summary: expect.stringMatching(/database_triggers/) });
  });

  it('the derived CPU trigger keeps the status trigger’s query and `for`, with the advisor’s threshold', () => {
    expect(cpu80).toMatchObject({ id: 'advisor_cpu', query: 'cpu_query', forSeconds: 900, threshold: 0.8, op: '>', unit: 'percent' });
  });
});
