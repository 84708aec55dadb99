import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../core/ports.ts';
import type { Checklist } from '../../core/checklists.ts';
import type { Effects, EffectsOf } from '../../core/storage/effects.ts';
import { FencedError } from '../../core/storage/leases.ts';
import { runMessageKey, stepMessageKey, type NewRun, type RunRecord, type RunSnapshot, type StepEnd } from '../../core/storage/runbooks.ts';
import { DIALECTS, stopPostgres, storageFixture } from '../helpers/storages.ts';

// Every method of the runbooks store (core/storage/runbooks.ts) on both dialects, and on PostgreSQL what two
// replicas (two pools on one database) do when their calls meet: the promises of SQLite's single writer kept.

const AT = new Date('2026-11-28T10:00:00.000Z');
const later = (seconds: number) => new Date(AT.getTime() + seconds * 1000);
const CHANNEL = 'C0OPS';
const CHECKLIST: Checklist = { id: 'optimize', title: 'Optimize first', responders: [], items: [{ id: 'a', text: 'A' }] };

const newRun = (overrides: Partial<NewRun> = {}): NewRun => ({
  runbookId: 'restart',
  title: 'Restart the web tier',
  requester: 'U0REQ',
  channel: CHANNEL,
  params: { service: 'web' },
  plan: { steps: [{ host: 'web-1', command: 'systemctl restart web' }] },
  createdAt: AT,
  expiresAt: later(3600),
  ...overrides,
});

const decision = (kind: string, runId: number, detail: Record<string, unknown> = {}): Effects['decisions'] => [
  { at: AT, kind, actor: 'test', subject: String(runId), detail },
];

/** A request's effects: a decision, and the run's message under its key. */
const announce: EffectsOf<RunSnapshot> = ({ run }) => ({
  decisions: decision('runbook_requested', run.id),
  messages: [{ kind: 'post', key: runMessageKey(run.id), channel: run.channel, payload: { text: `run ${run.id}` }, at: AT }],
});
const refusal: EffectsOf<{ run: RunRecord; lock: { host: string; runId: number } }> = ({ run, lock }) => ({
  decisions: decision('runbook_refused', run.id, { host: lock.host, holder: lock.runId }),
});
const nothing = () => ({});
const boom = (): Effects => {
  throw new Error('boom');
};
/** Effects whose decision is written, then whose edit fails: the decision must go with the rest. */
const failingWrite = (): Effects => ({
  decisions: [{ at: AT, kind: 'half_written', actor: 'test' }],
  messages: [{ kind: 'edit', key: 'run:no-such-message', payload: { text: 'x' } }],
});

const END_OK: StepEnd = { status: 'succeeded', exitCode: 0, endedAt: later(60), output: 'done', message: 'ok' };

async function requested(storage: Storage, hosts: readonly string[] = ['web-1'], overrides: Partial<NewRun> = {}) {
  const result = await storage.runbooks.request({ run: newRun(overrides), hosts, effects: announce, refused: refusal });
  if (!result.ok) throw new Error(`request refused: ${result.lock.host} held by run ${result.lock.runId}`);
  return result.run;
}

/** A run approved by one approver and begun: running at its first step. */
async function running(storage: Storage, hosts: readonly string[] = ['web-1']) {
  const run = await requested(storage, hosts);
  await storage.runbooks.approve({ id: run.id, approver: 'U0LEAD', at: later(1), suffice: () => true, effects: nothing });
  const begun = await storage.runbooks.transition({ id: run.id, name: 'begin', patch: { startedAt: later(2) }, now: later(2), effects: nothing });
  if (!begun.ok) throw new Error('begin refused');
  return begun.run;
}

async function started(storage: Storage, run: RunRecord, stepIndex = 0) {
  const attempt = await storage.runbooks.startStep({
    runId: run.id,
    phase: 'steps',
    stepIndex,
    stepId: `step-${stepIndex}`,
    host: 'web-1',
    command: 'systemctl restart web',
    startedAt: later(10),
    effects: () => ({}),
  });
  if (!attempt) throw new Error('startStep refused');
  return attempt;
}

/** Everything the store holds of these runs and hosts, and the whole decision log. */
async function dump(storage: Storage, hosts: readonly string[]) {
  const runs = await storage.runbooks.listRuns({ limit: 1000 });
  return {
    runs,
    steps: await Promise.all(runs.map((run) => storage.runbooks.listSteps(run.id))),
    approvals: await Promise.all(runs.map((run) => storage.runbooks.listApprovals(run.id))),
    locks: await Promise.all(hosts.map((host) => storage.runbooks.getLock(host))),
    decisions: await storage.decisions.list({ limit: 1000 }),
  };
}

afterAll(stopPostgres);

describe.each(DIALECTS)('the runbook store on %s', (dialect) => {
  const fixture = storageFixture(dialect);
  afterEach(async () => {
    await fixture.closeAll();
  });

  it('request: locks every host for the new run, with its decision and message, and points the run at its message', async () => {
    const storage = await fixture.open();
    const run = await requested(storage, ['web-1', 'web-2']);
    expect(run).toMatchObject({ status: 'awaiting_approval', phase: 'steps', stepIndex: 0, confirmedStep: null, startedAt: null, endedAt: null });
    expect(run.params).toEqual({ service: 'web' });
    expect(run.messageId).toBe((await storage.outbox.getByKey(runMessageKey(run.id)))!.id);
    expect(await storage.runbooks.getRun(run.id)).toEqual(run);
    expect(await storage.runbooks.getLock('web-1')).toEqual({ host: 'web-1', runId: run.id, lockedBy: 'U0REQ', lockedAt: AT });
    expect((await storage.runbooks.getLock('web-2'))?.runId).toBe(run.id);
    expect(await storage.decisions.list({ kinds: ['runbook_requested'] })).toHaveLength(1);
    expect(await storage.runbooks.runMessage(run.id)).toEqual({ ts: null, failed: false, error: null });
  });

  it('request: a host locked by another run cancels the new run at once, locks none of its hosts, and says who holds it', async () => {
    const storage = await fixture.open();
    const holder = await requested(storage, ['web-1']);
    const result = await storage.runbooks.request({ run: newRun({ requester: 'U0OTHER' }), hosts: ['web-2', 'web-1'], effects: announce, refused: refusal });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.run).toMatchObject({ status: 'cancelled', endedAt: AT, messageId: null });
    expect(result.lock).toMatchObject({ host: 'web-1', runId: holder.id });
    expect(result.holder).toEqual(holder);
    expect(await storage.runbooks.getLock('web-2')).toBeUndefined();
    expect(await storage.decisions.list({ kinds: ['runbook_refused'] })).toMatchObject([{ subject: String(result.run.id), detail: { host: 'web-1' } }]);
    expect(await storage.outbox.getByKey(runMessageKey(result.run.id))).toBeUndefined();
    expect(await storage.runbooks.runMessage(result.run.id)).toBeUndefined();
  });

  it('lists runs newest first, by status, up to the limit', async () => {
    const storage = await fixture.open();
    const first = await requested(storage, ['a']);
    const second = await requested(storage, ['b']);
    await storage.runbooks.transition({ id: first.id, name: 'reject', now: later(5), effects: nothing });
    expect((await storage.runbooks.listRuns()).map((run) => run.id)).toEqual([second.id, first.id]);
    expect((await storage.runbooks.listRuns({ limit: 1 })).map((run) => run.id)).toEqual([second.id]);
    expect((await storage.runbooks.listRuns({ statuses: ['rejected'] })).map((run) => run.id)).toEqual([first.id]);
    expect(await storage.runbooks.listRuns({ statuses: [] })).toEqual([]);
  });

  it('transition: a compare-and-set on the status and the step; a finishing one ends the run and releases its locks', async () => {
    const storage = await fixture.open();
    const run = await requested(storage, ['web-1', 'web-2']);
    const seen: unknown[] = [];
    // Not from awaiting_approval: nothing written, the run as it is.
    const refused = await storage.runbooks.transition({ id: run.id, name: 'begin', now: later(1), effects: boom });
    expect(refused).toEqual({ ok: false, why: 'changed', run });
    expect(await storage.runbooks.transition({ id: 999_999, name: 'begin', now: later(1), effects: boom })).toEqual({
      ok: false,
      why: 'changed',
      run: undefined,
    });

    await storage.runbooks.approve({ id: run.id, approver: 'U0LEAD', at: later(1), suffice: () => true, effects: nothing });
    const begun = await storage.runbooks.transition({ id: run.id, name: 'begin', patch: { startedAt: later(2) }, now: later(2), effects: nothing });
    expect(begun).toMatchObject({ ok: true, run: { status: 'running', startedAt: later(2), endedAt: null } });
    // A click naming another step does not apply.
    expect(
      await storage.runbooks.transition({ id: run.id, name: 'awaitConfirmation', at: { phase: 'steps', stepIndex: 1 }, now: later(3), effects: boom }),
    ).toMatchObject({
      ok: false,
      why: 'changed',
    });
    expect(await storage.runbooks.transition({ id: run.id, name: 'awaitConfirmation', at: { phase: 'rollback' }, now: later(3), effects: boom })).toMatchObject(
      {
        ok: false,
      },
    );
    const waiting = await storage.runbooks.transition({
      id: run.id,
      name: 'awaitConfirmation',
      at: { phase: 'steps', stepIndex: 0 },
      now: later(3),
      effects: nothing,
    });
    expect(waiting).toMatchObject({ ok: true, run: { status: 'awaiting_confirmation' } });
    const confirmed = await storage.runbooks.transition({ id: run.id, name: 'confirm', patch: { confirmedStep: 'steps:0' }, now: later(4), effects: nothing });
    expect(confirmed).toMatchObject({ ok: true, run: { status: 'running', confirmedStep: 'steps:0' } });

    const done = await storage.runbooks.transition({
      id: run.id,
      name: 'succeed',
      now: later(9),
      effects: (written) => {
        seen.push({ previous: written.previous, released: [...written.released].sort(), status: written.run.status, approvals: written.approvals.length });
        return { decisions: decision('runbook_succeeded', run.id) };
      },
    });
    expect(done).toMatchObject({ ok: true, run: { status: 'succeeded', endedAt: later(9) } });
    expect(seen).toEqual([{ previous: 'running', released: ['web-1', 'web-2'], status: 'succeeded', approvals: 1 }]);
    expect(await storage.runbooks.getLock('web-1')).toBeUndefined();
    expect(await storage.runbooks.getLock('web-2')).toBeUndefined();
    expect(await storage.decisions.list({ kinds: ['runbook_succeeded'] })).toHaveLength(1);
    // Finished: no transition leaves it.
    expect(await storage.runbooks.transition({ id: run.id, name: 'abandon', now: later(10), effects: boom })).toMatchObject({ ok: false, why: 'changed' });
  });

  it('transition: a Stop that refuses steps in flight leaves the run alone; one that interrupts ends them with the message', async () => {
    const storage = await fixture.open();
    const run = await running(storage);
    const attempt = await started(storage, run);
    const refused = await storage.runbooks.transition({ id: run.id, name: 'stop', now: later(20), stepsInFlight: 'refuse', effects: boom });
    expect(refused).toMatchObject({ ok: false, why: 'step_in_flight', run: { status: 'running' } });
    expect((await storage.runbooks.listSteps(run.id))[0]).toMatchObject({ status: 'running', endedAt: null });

    const interrupted = await storage.runbooks.transition({
      id: run.id,
      name: 'interrupt',
      now: later(30),
      stepsInFlight: { interrupt: 'the bot restarted: outcome unknown' },
      effects: (written) => ({ decisions: decision('runbook_interrupted', run.id, { steps: written.steps.map((step) => step.status) }) }),
    });
    expect(interrupted).toMatchObject({ ok: true, run: { status: 'interrupted', endedAt: null } });
    expect(await storage.runbooks.listSteps(run.id)).toMatchObject([
      { id: attempt.id, status: 'interrupted', endedAt: later(30), message: 'the bot restarted: outcome unknown' },
    ]);
    // The effects saw the attempt as interrupted: it was written before them.
    expect(await storage.decisions.list({ kinds: ['runbook_interrupted'] })).toMatchObject([{ detail: { steps: ['interrupted'] } }]);
    // The host stays locked: the run is halted, not finished.
    expect((await storage.runbooks.getLock('web-1'))?.runId).toBe(run.id);
    // No step in flight any more: a refusing transition applies.
    expect(await storage.runbooks.transition({ id: run.id, name: 'abandon', now: later(40), stepsInFlight: 'refuse', effects: nothing })).toMatchObject({
      ok: true,
      run: { status: 'abandoned', endedAt: later(40) },
    });
    expect(await storage.runbooks.getLock('web-1')).toBeUndefined();
  });

  it('approve: counted, approved by the one that suffices, then changed; duplicate and expired write nothing', async () => {
    const storage = await fixture.open();
    const run = await requested(storage);
    const twoPeople = (approvers: readonly string[]) => approvers.length >= 2;
    const effects: EffectsOf<RunSnapshot & { approved: boolean }> = (written) => ({
      decisions: decision('runbook_approval', run.id, { approved: written.approved, approvers: written.approvals.map((a) => a.approver) }),
    });
    const first = await storage.runbooks.approve({ id: run.id, approver: 'U0A', at: later(1), suffice: twoPeople, effects });
    expect(first).toMatchObject({ outcome: 'counted', run: { status: 'awaiting_approval' } });
    expect(await storage.runbooks.approve({ id: run.id, approver: 'U0A', at: later(2), suffice: twoPeople, effects: boom })).toMatchObject({
      outcome: 'duplicate',
    });
    expect(await storage.runbooks.approve({ id: run.id, approver: 'U0B', at: later(3600), suffice: twoPeople, effects: boom })).toMatchObject({
      outcome: 'expired',
      run: { status: 'awaiting_approval' },
    });
    const second = await storage.runbooks.approve({ id: run.id, approver: 'U0B', at: later(3), suffice: twoPeople, effects });
    expect(second).toMatchObject({ outcome: 'approved', run: { status: 'approved' } });
    expect(await storage.runbooks.approve({ id: run.id, approver: 'U0C', at: later(4), suffice: twoPeople, effects: boom })).toMatchObject({
      outcome: 'changed',
      run: { status: 'approved' },
    });
    expect(await storage.runbooks.approve({ id: 999_999, approver: 'U0C', at: later(4), suffice: twoPeople, effects: boom })).toEqual({
      outcome: 'changed',
      run: undefined,
    });
    expect((await storage.runbooks.listApprovals(run.id)).map((approval) => [approval.approver, approval.at])).toEqual([
      ['U0A', later(1)],
      ['U0B', later(3)],
    ]);
    expect((await storage.decisions.list({ kinds: ['runbook_approval'] })).map((row) => row.detail).reverse()).toEqual([
      { approved: false, approvers: ['U0A'] },
      { approved: true, approvers: ['U0A', 'U0B'] },
    ]);
  });

  it('startStep: only while the run is running at that step; the attempt points at its thread message', async () => {
    const storage = await fixture.open();
    const run = await requested(storage);
    const input = { runId: run.id, phase: 'steps', stepIndex: 0, stepId: 'restart', host: 'web-1', command: 'systemctl restart web', startedAt: later(10) };
    expect(await storage.runbooks.startStep({ ...input, effects: boom })).toBeUndefined();
    await storage.runbooks.approve({ id: run.id, approver: 'U0LEAD', at: later(1), suffice: () => true, effects: nothing });
    await storage.runbooks.transition({ id: run.id, name: 'begin', now: later(2), effects: nothing });
    expect(await storage.runbooks.startStep({ ...input, stepIndex: 1, effects: boom })).toBeUndefined();
    expect(await storage.runbooks.startStep({ ...input, phase: 'rollback', effects: boom })).toBeUndefined();
    expect(await storage.runbooks.startStep({ ...input, runId: 999_999, effects: boom })).toBeUndefined();
    expect(await storage.runbooks.listSteps(run.id)).toEqual([]);

    const attempt = await storage.runbooks.startStep({
      ...input,
      effects: ({ attempt, run: at }) => ({
        decisions: decision('runbook_step_started', at.id, { attempt: attempt.id, status: at.status }),
        messages: [
          { kind: 'post', key: stepMessageKey(at.id, attempt.id), parentKey: runMessageKey(at.id), channel: CHANNEL, payload: { text: 'step' }, at: AT },
        ],
      }),
    });
    expect(attempt).toMatchObject({
      runId: run.id,
      phase: 'steps',
      stepIndex: 0,
      stepId: 'restart',
      status: 'running',
      output: '',
      exitCode: null,
      endedAt: null,
    });
    const message = (await storage.outbox.getByKey(stepMessageKey(run.id, attempt!.id)))!;
    expect(attempt!.messageId).toBe(message.id);
    expect(message.parentId).toBe(run.messageId);
    expect(await storage.runbooks.listSteps(run.id)).toEqual([attempt]);
    // Without a message: no message id.
    expect((await started(storage, run)).messageId).toBeNull();
  });

  it('finishStep: records the end, then advances or transitions at that step; a run that moved on stays as it is', async () => {
    const storage = await fixture.open();
    const run = await running(storage, ['web-1', 'web-2']);
    await storage.runbooks.transition({ id: run.id, name: 'awaitConfirmation', now: later(3), effects: nothing });
    await storage.runbooks.transition({ id: run.id, name: 'confirm', patch: { confirmedStep: 'steps:0' }, now: later(4), effects: nothing });
    const first = await started(storage, run, 0);
    const advanced = await storage.runbooks.finishStep({
      attemptId: first.id,
      end: END_OK,
      next: { move: 'advance' },
      now: later(60),
      effects: (written) => ({ decisions: decision('runbook_step_finished', run.id, { moved: written.moved, step: written.run.stepIndex }) }),
    });
    expect(advanced).toMatchObject({
      moved: true,
      released: [],
      attempt: { status: 'succeeded', exitCode: 0, output: 'done', message: 'ok', endedAt: later(60) },
    });
    expect(advanced.run).toMatchObject({ status: 'running', stepIndex: 1, confirmedStep: null });
    expect(advanced.steps).toEqual([advanced.attempt]);
    expect(await storage.decisions.list({ kinds: ['runbook_step_finished'] })).toMatchObject([{ detail: { moved: true, step: 1 } }]);

    // A Stop came during the second step, too late to stop it: the success still moves the counter.
    const second = await started(storage, run, 1);
    await storage.runbooks.transition({ id: run.id, name: 'stop', now: later(70), effects: nothing });
    const late = await storage.runbooks.finishStep({ attemptId: second.id, end: END_OK, next: { move: 'advance' }, now: later(80), effects: nothing });
    expect(late).toMatchObject({ moved: true, run: { status: 'stopped', stepIndex: 2 } });

    // Asked to fail a run that was stopped: the end is recorded, the run is not moved.
    await storage.runbooks.transition({ id: run.id, name: 'retry', now: later(90), effects: nothing });
    const third = await started(storage, run, 2);
    await storage.runbooks.transition({ id: run.id, name: 'stop', now: later(95), effects: nothing });
    const failed = await storage.runbooks.finishStep({
      attemptId: third.id,
      end: { status: 'stopped', exitCode: null, endedAt: later(96), output: '', message: 'stopped' },
      next: { transition: 'fail' },
      now: later(96),
      effects: nothing,
    });
    expect(failed).toMatchObject({ moved: false, released: [], attempt: { status: 'stopped' }, run: { status: 'stopped', stepIndex: 2 } });

    // The last one succeeds the run: it ends and its hosts are released with it.
    await storage.runbooks.transition({ id: run.id, name: 'retry', now: later(100), effects: nothing });
    const fourth = await started(storage, run, 2);
    const succeeded = await storage.runbooks.finishStep({
      attemptId: fourth.id,
      end: END_OK,
      next: { transition: 'succeed' },
      now: later(110),
      effects: nothing,
    });
    expect(succeeded).toMatchObject({ moved: true, run: { status: 'succeeded', endedAt: later(110) } });
    expect([...succeeded.released].sort()).toEqual(['web-1', 'web-2']);
    expect(await storage.runbooks.getLock('web-1')).toBeUndefined();
    expect(succeeded.steps.map((step) => step.status)).toEqual(['succeeded', 'succeeded', 'stopped', 'succeeded']);
  });

  it('show: writes effects of no change with the snapshots of the runs that exist; releaseLock: any holder, once', async () => {
    const storage = await fixture.open();
    const one = await requested(storage, ['a']);
    const two = await requested(storage, ['b']);
    let shown: RunSnapshot[] = [];
    await storage.runbooks.show([two.id, 999_999, one.id], (snapshots) => {
      shown = [...snapshots];
      return { messages: snapshots.map(({ run }) => ({ kind: 'edit' as const, key: runMessageKey(run.id), payload: { text: `again ${run.id}` } })) };
    });
    expect(shown.map(({ run }) => run.id)).toEqual([two.id, one.id]);
    expect((await storage.outbox.getByKey(runMessageKey(one.id)))!.payload).toEqual({ text: `again ${one.id}` });

    const released = await storage.runbooks.releaseLock('a', (lock) => ({ decisions: decision('lock_released', lock.runId, { host: lock.host }) }));
    expect(released).toMatchObject({ host: 'a', runId: one.id });
    expect(await storage.runbooks.getLock('a')).toBeUndefined();
    expect(await storage.runbooks.releaseLock('a', boom)).toBeUndefined();
    expect(await storage.decisions.list({ kinds: ['lock_released'] })).toMatchObject([{ detail: { host: 'a' } }]);
    // The run itself is untouched: only the lock went.
    expect((await storage.runbooks.getRun(one.id))?.status).toBe('awaiting_approval');
  });

  it.each([
    ['throw', boom],
    ['fail half-way through their writes', failingWrite],
  ])('writes nothing of any method whose effects %s', async (_how, failing) => {
    const storage = await fixture.open();
    const holder = await running(storage, ['web-1']);
    const attempt = await started(storage, holder);
    const waiting = await requested(storage, ['db-1']);
    const hosts = ['web-1', 'db-1', 'new-1'];
    const before = await dump(storage, hosts);
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['request', () => storage.runbooks.request({ run: newRun(), hosts: ['new-1'], effects: failing, refused: refusal })],
      ['request refused', () => storage.runbooks.request({ run: newRun(), hosts: ['new-1', 'web-1'], effects: announce, refused: failing })],
      ['transition', () => storage.runbooks.transition({ id: waiting.id, name: 'reject', now: later(5), effects: failing })],
      [
        'transition interrupting',
        () => storage.runbooks.transition({ id: holder.id, name: 'interrupt', now: later(5), stepsInFlight: { interrupt: 'x' }, effects: failing }),
      ],
      ['approve', () => storage.runbooks.approve({ id: waiting.id, approver: 'U0A', at: later(5), suffice: () => true, effects: failing })],
      [
        'startStep',
        () =>
          storage.runbooks.startStep({
            runId: holder.id,
            phase: 'steps',
            stepIndex: 0,
            stepId: 's',
            host: 'web-1',
            command: 'true',
            startedAt: later(5),
            effects: failing,
          }),
      ],
      [
        'finishStep',
        () => storage.runbooks.finishStep({ attemptId: attempt.id, end: END_OK, next: { transition: 'succeed' }, now: later(5), effects: failing }),
      ],
      ['show', () => storage.runbooks.show([holder.id, waiting.id], failing)],
      ['releaseLock', () => storage.runbooks.releaseLock('web-1', failing)],
    ];
    for (const [name, call] of calls) {
      await expect(call(), name).rejects.toThrow(/boom|no message with key/);
      expect(await dump(storage, hosts), name).toEqual(before);
    }
  });
});

describe('the runbook store on two PostgreSQL replicas at once', () => {
  const fixture = storageFixture('postgres');
  afterEach(async () => {
    await fixture.closeAll();
  });

  const replicas = async () => {
    const one = await fixture.open();
    return [one, await fixture.reopen()] as const;
  };

  it('approvals from both replicas at once: each person counted once, the run approved exactly once', async () => {
    const [one, two] = await replicas();
    const figures = { rounds: 0, approvals: 0 };
    await fc.assert(
      fc.asyncProperty(
        // Each click: who, and which replica it reaches; a person may click twice, on either replica.
        fc.array(fc.record({ approver: fc.constantFrom('U0A', 'U0B', 'U0C', 'U0D', 'U0E'), replica: fc.boolean() }), { minLength: 2, maxLength: 10 }),
        fc.integer({ min: 1, max: 4 }),
        async (clicks, needed) => {
          const run = await requested(one, [`h-${figures.rounds}`]);
          figures.rounds += 1;
          const outcomes = await Promise.all(
            clicks.map(({ approver, replica }) =>
              (replica ? one : two).runbooks.approve({
                id: run.id,
                approver,
                at: later(1),
                suffice: (approvers) => approvers.length >= needed,
                effects: (written) => ({ decisions: decision('race_approval', run.id, { approver, approved: written.approved }) }),
              }),
            ),
          );
          const names = outcomes.map((outcome) => outcome.outcome);
          const people = new Set(clicks.map((click) => click.approver)).size;
          const approvals = await one.runbooks.listApprovals(run.id);
          const rows = (await one.decisions.list({ kinds: ['race_approval'], limit: 10_000 })).filter((row) => row.subject === String(run.id));
          figures.approvals += approvals.length;
          // Each approval that counted is one row and one decision; nobody twice; the policy met once.
          expect(new Set(approvals.map((approval) => approval.approver)).size).toBe(approvals.length);
          expect(names.filter((name) => name === 'counted' || name === 'approved')).toHaveLength(approvals.length);
          expect(rows).toHaveLength(approvals.length);
          expect(names.filter((name) => name === 'approved')).toHaveLength(people >= needed ? 1 : 0);
          expect(approvals.length).toBe(Math.min(people, needed));
          expect(rows.filter((row) => row.detail.approved === true)).toHaveLength(people >= needed ? 1 : 0);
          expect((await one.runbooks.getRun(run.id))?.status).toBe(people >= needed ? 'approved' : 'awaiting_approval');
        },
      ),
      { numRuns: 40 },
    );
    console.info(`two-replica approvals: ${figures.rounds} rounds, ${figures.approvals} approvals counted`);
  });

  it('two requests for one host from both replicas at once: one locks it, the other is refused naming it', async () => {
    const [one, two] = await replicas();
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 3 }), async (names) => {
        round += 1;
        const hosts = names.map((name) => `${name}-${round}`);
        const [first, second] = await Promise.all([
          one.runbooks.request({ run: newRun({ requester: 'U0ONE' }), hosts, effects: announce, refused: refusal }),
          two.runbooks.request({ run: newRun({ requester: 'U0TWO' }), hosts: [...hosts].reverse(), effects: announce, refused: refusal }),
        ]);
        expect([first.ok, second.ok].filter(Boolean)).toHaveLength(1);
        const winner = first.ok ? first : second;
        const loser = first.ok ? second : first;
        if (loser.ok) throw new Error('unreachable');
        expect(loser.run.status).toBe('cancelled');
        expect(loser.lock.runId).toBe(winner.run.id);
        expect(loser.holder?.id).toBe(winner.run.id);
        for (const host of hosts) expect((await one.runbooks.getLock(host))?.runId).toBe(winner.run.id);
        await one.runbooks.transition({ id: winner.run.id, name: 'cancel', now: later(1), effects: nothing });
      }),
      { numRuns: 30 },
    );
  });

  it('a Stop that refuses steps in flight against a step starting on the other replica: exactly one of them happens', async () => {
    const [one, two] = await replicas();
    const tally = { stopped: 0, stepStarted: 0 };
    for (let round = 0; round < 30; round += 1) {
      const run = await running(one, [`stop-${round}`]);
      const [stop, attempt] = await Promise.all([
        one.runbooks.transition({
          id: run.id,
          name: 'stop',
          now: later(5),
          stepsInFlight: 'refuse',
          effects: () => ({ decisions: decision('race_stop', run.id) }),
        }),
        two.runbooks.startStep({
          runId: run.id,
          phase: 'steps',
          stepIndex: 0,
          stepId: 's',
          host: 'h',
          command: 'true',
          startedAt: later(5),
          effects: () => ({ decisions: decision('race_step', run.id) }),
        }),
      ]);
      const steps = await one.runbooks.listSteps(run.id);
      const after = (await one.runbooks.getRun(run.id))!;
      if (stop.ok) {
        tally.stopped += 1;
        expect(attempt).toBeUndefined();
        expect(steps).toEqual([]);
        expect(after.status).toBe('stopped');
      } else {
        tally.stepStarted += 1;
        expect(stop.why).toBe('step_in_flight');
        expect(steps).toEqual([attempt]);
        expect(after.status).toBe('running');
      }
      const rows = (await one.decisions.list({ kinds: ['race_stop', 'race_step'], limit: 10_000 })).filter((row) => row.subject === String(run.id));
      expect(rows).toHaveLength(1);
    }
    console.info(`stop vs startStep on two replicas: ${JSON.stringify(tally)}`);
  });

  it('a write carrying a stale fencing token writes nothing; the live token writes', async () => {
    let token = 1;
    const leader = await fixture.open();
    const fenced = await fixture.reopen({ fenceToken: () => token });
    await fixture.sql("INSERT INTO leader_lease (name, holder, token, acquired_at, expires_at) VALUES ('leader', 'b', 2, now(), now() + interval '1 hour')");
    const run = await requested(leader, ['web-1']);
    const before = await dump(leader, ['web-1', 'web-9']);
    const writes: Array<[string, () => Promise<unknown>]> = [
      ['request', () => fenced.runbooks.request({ run: newRun(), hosts: ['web-9'], effects: announce, refused: refusal })],
      ['transition', () => fenced.runbooks.transition({ id: run.id, name: 'reject', now: later(1), effects: nothing })],
      ['approve', () => fenced.runbooks.approve({ id: run.id, approver: 'U0A', at: later(1), suffice: () => true, effects: nothing })],
      ['show', () => fenced.runbooks.show([run.id], () => ({ decisions: decision('shown', run.id) }))],
      ['releaseLock', () => fenced.runbooks.releaseLock('web-1', nothing)],
      ['checklist start', () => fenced.checklists.start({ checklist: CHECKLIST, name: null, channel: CHANNEL, startedBy: 'U0', startedAt: AT }, nothing)],
    ];
    for (const [name, write] of writes) {
      await expect(write(), name).rejects.toBeInstanceOf(FencedError);
      expect(await dump(leader, ['web-1', 'web-9']), name).toEqual(before);
    }
    expect(await leader.checklists.listOpen()).toEqual([]);
    // The live token writes; the same token past the lease's end does not.
    token = 2;
    expect(await fenced.runbooks.transition({ id: run.id, name: 'reject', now: later(1), effects: nothing })).toMatchObject({ ok: true });
    await fixture.sql("UPDATE leader_lease SET expires_at = now() - interval '1 second'");
    await expect(fenced.runbooks.releaseLock('web-9', nothing)).rejects.toBeInstanceOf(FencedError);
  });
});
