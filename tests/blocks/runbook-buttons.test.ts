import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildRunMessage, parseRunAction, runActionId, runActionValue, type RunAction } from '../../blocks/runbook.ts';
import { RUN_CLICKS, RUN_STATUSES } from '../../core/run-state.ts';
import type { RunPlan } from '../../core/runbooks.ts';
import type { RunRecord } from '../../core/storage/runbooks.ts';

const step = (id: string) => ({ id, title: `Step ${id}`, host: 'db1', command: `echo ${id}`, timeoutSeconds: 60, confirm: false, output: 'shown' as const });

function runOf(id: number, status: (typeof RUN_STATUSES)[number], phase: 'steps' | 'rollback', stepIndex: number, plan: RunPlan): RunRecord {
  return {
    id,
    runbookId: 'rb',
    title: 'A runbook',
    requester: 'U0REQ',
    channel: 'C1',
    params: {},
    plan: plan as unknown as Record<string, unknown>,
    status,
    phase,
    stepIndex,
    confirmedStep: null,
    createdAt: new Date(0),
    expiresAt: new Date(60_000),
    startedAt: null,
    endedAt: null,
    messageId: 1,
  };
}

interface Button {
  action_id: string;
  value: string;
}

function buttonsOf(run: RunRecord, plan: RunPlan): Button[] {
  const message = buildRunMessage({ run, plan, runbook: undefined, approvals: [], steps: [], checklist: null, now: new Date(0) });
  return (message.blocks ?? []).flatMap((block) => ((block as { type: string }).type === 'actions' ? ((block as { elements: Button[] }).elements ?? []) : []));
}

const runIdArb = fc.integer({ min: 1, max: 999_999_999_999 });
const actionArb: fc.Arbitrary<RunAction> = fc.oneof(
  fc.record({ kind: fc.constantFrom('approve', 'reject', 'cancel', 'start', 'stop', 'rollback', 'abandon' as const), runId: runIdArb }),
  fc.record({
    kind: fc.constantFrom('confirm', 'retry' as const),
    runId: runIdArb,
    phase: fc.constantFrom('steps', 'rollback' as const),
    index: fc.integer({ min: 0, max: 9999 }),
  }),
);

describe("a run's buttons", () => {
  it('every button the message renders parses back to the click it stands for', () => {
    fc.assert(
      fc.property(
        runIdArb,
        fc.constantFrom(...RUN_STATUSES),
        fc.constantFrom('steps', 'rollback' as const),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        (id, status, phase, stepIndex, withRollback) => {
          const plan: RunPlan = {
            runbookId: 'rb',
            params: {},
            steps: [step('a'), step('b'), step('c'), step('d')],
            rollback: withRollback ? [step('undo')] : [],
            hosts: ['db1'],
          };
          const run = runOf(id, status, phase, stepIndex, plan);
          for (const button of buttonsOf(run, plan)) {
            const parsed = parseRunAction(button.action_id, button.value);
            expect(parsed, JSON.stringify(button)).not.toBeNull();
            expect(parsed!.runId).toBe(id);
            expect(runActionId(parsed!.kind)).toBe(button.action_id);
            if ('phase' in parsed!) expect([parsed.phase, parsed.index]).toEqual([phase, stepIndex]);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('every click round-trips through its id and value', () => {
    fc.assert(
      fc.property(actionArb, (action) => {
        expect(parseRunAction(runActionId(action.kind), runActionValue(action))).toEqual(action);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses junk: unknown ids, missing or malformed values, a step value on a run button and the reverse', () => {
    const refused: Array<[string, string | undefined]> = [
      ['run_approve', undefined],
      ['run_approve', ''],
      ['run_approve', '12x'],
      ['run_approve', '-1'],
      ['run_approve', '1234567890123'],
      ['run_approve', '1:steps:0'],
      ['run_confirm', '1'],
      ['run_retry', '1:steps'],
      ['run_retry', '1:other:0'],
      ['run_retry', '1:steps:12345'],
      ['run_retry', '1:steps:0 '],
      ['run_delete', '1'],
      ['run_approvex', '1'],
      ['xrun_approve', '1'],
      ['checklist_tick', '1'],
    ];
    for (const [id, value] of refused) expect(parseRunAction(id, value), `${id} ${value}`).toBeNull();
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...RUN_CLICKS.map(runActionId)), fc.string()),
        fc.option(fc.oneof(fc.string(), fc.stringMatching(/^[0-9]{0,14}(:[a-z]{0,9}(:[0-9]{0,6})?)?$/)), { nil: undefined }),
        (id, value) => {
          const parsed = parseRunAction(id, value);
          if (!parsed) return;
          // Accepted only as the builder writes it: a known id, and the run (and step) in digits.
          expect(RUN_CLICKS.map(runActionId)).toContain(id);
          expect(value).toMatch('phase' in parsed ? /^\d{1,12}:(steps|rollback):\d{1,4}$/ : /^\d{1,12}$/);
          expect(Number(value!.split(':')[0])).toBe(parsed.runId);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('knows every click the state table names', () => {
    for (const kind of RUN_CLICKS) expect(parseRunAction(runActionId(kind), kind === 'confirm' || kind === 'retry' ? '7:steps:0' : '7')?.kind).toBe(kind);
  });
});
