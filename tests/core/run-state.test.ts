import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canApply,
  CLICK_RULES,
  clickApplies,
  completionOf,
  failureOf,
  FINISHED_STATUSES,
  HALTED_STATUSES,
  isExpiryDue,
  isFinished,
  mayExecute,
  RUN_CLICKS,
  RUN_STATUSES,
  STEP_MOVES,
  TRANSITIONS,
  transitionsFrom,
  type RunStatus,
  type TransitionName,
} from '../../core/run-state.ts';

const names = Object.keys(TRANSITIONS) as TransitionName[];

describe('the run state table', () => {
  it('leaves no finished status, and releases locks exactly when a run finishes', () => {
    for (const status of FINISHED_STATUSES) expect(transitionsFrom(status), status).toEqual([]);
    for (const name of names) expect(TRANSITIONS[name].releasesLocks, name).toBe(isFinished(TRANSITIONS[name].to));
  });

  it('reaches every status from a request, and every status can still end (no dead end)', () => {
    const reachable = new Set<RunStatus>(['awaiting_approval']);
    for (let changed = true; changed; ) {
      changed = false;
      for (const name of names) {
        if (TRANSITIONS[name].from.some((status) => reachable.has(status)) && !reachable.has(TRANSITIONS[name].to)) {
          reachable.add(TRANSITIONS[name].to);
          changed = true;
        }
      }
    }
    // "cancelled" is also written directly when a request finds its host locked; everything else is reachable.
    expect([...RUN_STATUSES].filter((status) => !reachable.has(status))).toEqual([]);
    for (const status of RUN_STATUSES) {
      const seen = new Set<RunStatus>([status]);
      const queue = [status];
      while (queue.length > 0) {
        for (const name of transitionsFrom(queue.shift()!)) {
          const next = TRANSITIONS[name].to;
          if (!seen.has(next)) {
            seen.add(next);
            queue.push(next);
          }
        }
      }
      expect([...seen].some(isFinished), `${status} can end`).toBe(true);
    }
  });

  it('lets a step run only through approval, confirmation, retry or rollback', () => {
    const intoRunning = names.filter((name) => TRANSITIONS[name].to === 'running').sort();
    expect(intoRunning).toEqual(['begin', 'confirm', 'retry', 'rollback']);
    expect(TRANSITIONS.begin.from).toEqual(['approved', 'waiting_checklist']);
    expect(TRANSITIONS.confirm.from).toEqual(['awaiting_confirmation']);
    expect([...TRANSITIONS.retry.from].sort()).toEqual([...HALTED_STATUSES].sort());
    // Nothing leaves awaiting_approval towards running without "approve".
    for (const name of names) if (name !== 'approve') expect(canApply(name, 'awaiting_approval') && TRANSITIONS[name].to === 'approved', name).toBe(false);
  });

  it('honours Stop wherever a command may be about to run or running, and nowhere it would hide a halt', () => {
    for (const status of ['approved', 'running', 'awaiting_confirmation'] as const) expect(canApply('stop', status), status).toBe(true);
    for (const status of [...HALTED_STATUSES, ...FINISHED_STATUSES, 'awaiting_approval', 'waiting_checklist'] as const)
      expect(canApply('stop', status), status).toBe(false);
  });

  it('answers every status and transition pair (exhaustive)', () => {
    let pairs = 0;
    for (const status of RUN_STATUSES) {
      for (const name of names) {
        expect(canApply(name, status)).toBe((TRANSITIONS[name].from as readonly string[]).includes(status));
        pairs += 1;
      }
    }
    expect(pairs).toBe(RUN_STATUSES.length * names.length);
  });
});

/**
 * The table as people read it, written out by hand: every status and what may happen to a run in it. Any
 * change to TRANSITIONS must be made here too, on purpose.
 */
const EXPECTED: Record<RunStatus, Partial<Record<TransitionName, RunStatus>>> = {
  awaiting_approval: { approve: 'approved', reject: 'rejected', cancel: 'cancelled', expire: 'expired' },
  approved: { holdForChecklist: 'waiting_checklist', begin: 'running', stop: 'stopped', interrupt: 'interrupted' },
  waiting_checklist: { begin: 'running', cancel: 'cancelled' },
  running: {
    awaitConfirmation: 'awaiting_confirmation',
    stop: 'stopped',
    fail: 'failed',
    failRollback: 'rollback_failed',
    succeed: 'succeeded',
    finishRollback: 'rolled_back',
    interrupt: 'interrupted',
  },
  awaiting_confirmation: { confirm: 'running', stop: 'stopped' },
  failed: { retry: 'running', rollback: 'running', abandon: 'abandoned' },
  stopped: { retry: 'running', rollback: 'running', abandon: 'abandoned' },
  interrupted: { retry: 'running', rollback: 'running', abandon: 'abandoned' },
  rollback_failed: { retry: 'running', abandon: 'abandoned' },
  succeeded: {},
  rolled_back: {},
  rejected: {},
  cancelled: {},
  expired: {},
  abandoned: {},
};

describe('every status × every transition', () => {
  for (const status of RUN_STATUSES) {
    it(`${status}: exactly the transitions the table names, each to its status`, () => {
      for (const name of names) {
        const expected = EXPECTED[status][name];
        expect(canApply(name, status), `${name} from ${status}`).toBe(expected !== undefined);
        if (expected !== undefined) expect(TRANSITIONS[name].to, `${name} from ${status}`).toBe(expected);
      }
      expect(transitionsFrom(status).sort()).toEqual((Object.keys(EXPECTED[status]) as TransitionName[]).sort());
    });
  }
});

const positionArb = fc.record({
  status: fc.constantFrom(...RUN_STATUSES),
  phase: fc.constantFrom('steps', 'rollback'),
  stepIndex: fc.integer({ min: 0, max: 3 }),
});

describe('the clicks and the executor moves', () => {
  it("a click applies only where its transition may leave from, narrowed by the button's own rule", () => {
    fc.assert(
      fc.property(
        positionArb,
        fc.constantFrom(...RUN_CLICKS),
        fc.record({ phase: fc.constantFrom('steps', 'rollback'), index: fc.integer({ min: 0, max: 3 }) }),
        (run, click, step) => {
          const rule = CLICK_RULES[click] as { transition: TransitionName; from?: readonly RunStatus[]; phase?: string; atStep?: boolean };
          const expected =
            canApply(rule.transition, run.status) &&
            (rule.from === undefined || rule.from.includes(run.status)) &&
            (rule.phase === undefined || rule.phase === run.phase) &&
            (!rule.atStep || (step.phase === run.phase && step.index === run.stepIndex));
          expect(clickApplies(click, run, step)).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('Start begins only a run held for its checklist; Roll back only the steps; Confirm and Retry only the step shown', () => {
    const at = (status: RunStatus, phase = 'steps', stepIndex = 1) => ({ status, phase, stepIndex });
    expect(clickApplies('start', at('waiting_checklist'))).toBe(true);
    expect(clickApplies('start', at('approved'))).toBe(false);
    expect(clickApplies('rollback', at('failed'))).toBe(true);
    expect(clickApplies('rollback', at('failed', 'rollback'))).toBe(false);
    expect(clickApplies('rollback', at('rollback_failed', 'steps'))).toBe(false);
    expect(clickApplies('confirm', at('awaiting_confirmation'), { phase: 'steps', index: 1 })).toBe(true);
    expect(clickApplies('confirm', at('awaiting_confirmation'), { phase: 'steps', index: 0 })).toBe(false);
    expect(clickApplies('confirm', at('awaiting_confirmation'))).toBe(false);
    expect(clickApplies('retry', at('interrupted', 'rollback', 0), { phase: 'rollback', index: 0 })).toBe(true);
    expect(clickApplies('retry', at('interrupted', 'rollback', 0), { phase: 'steps', index: 0 })).toBe(false);
  });

  it('the executor takes a step only while running; a step that succeeded moves on also after a late Stop', () => {
    for (const status of RUN_STATUSES) expect(mayExecute(status), status).toBe(status === 'running');
    expect([...STEP_MOVES.startStep]).toEqual(['running']);
    expect([...STEP_MOVES.advance].sort()).toEqual(['running', 'stopped']);
    expect([completionOf('steps'), completionOf('rollback'), failureOf('steps'), failureOf('rollback')]).toEqual([
      'succeed',
      'finishRollback',
      'fail',
      'failRollback',
    ]);
    for (const phase of ['steps', 'rollback']) {
      expect(TRANSITIONS[completionOf(phase)].from).toEqual(['running']);
      expect(TRANSITIONS[failureOf(phase)].from).toEqual(['running']);
    }
  });

  it('a request expires only while it awaits approval, from its deadline on', () => {
    const deadline = new Date('2025-01-01T12:00:00Z');
    fc.assert(
      fc.property(fc.constantFrom(...RUN_STATUSES), fc.integer({ min: -10_000, max: 10_000 }), (status, offset) => {
        const now = new Date(deadline.getTime() + offset);
        expect(isExpiryDue({ status, expiresAt: deadline }, now)).toBe(status === 'awaiting_approval' && offset >= 0);
      }),
    );
  });
});
