import { describe, expect, it } from 'vitest';
import { canApply, FINISHED_STATUSES, HALTED_STATUSES, isFinished, RUN_STATUSES, TRANSITIONS, transitionsFrom, type RunStatus, type TransitionName } from '../../core/run-state.ts';

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
    for (const status of [...HALTED_STATUSES, ...FINISHED_STATUSES, 'awaiting_approval', 'waiting_checklist'] as const) expect(canApply('stop', status), status).toBe(false);
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
