// Issue 12, "Check, then act" and "Stop that misses": conflicting clicks fired at once, many times over, against
// the real bot (real SQLite, a real sshd, Slack user groups read from the fake Web API). fast-check generates
// the waves of clicks (who, what, on which step) and the pauses between them; after each scenario the
// invariants are checked against what really ran on the host (a marker file the steps append to):
// - four eyes: nothing ran without an approval by someone other than the requester, and the confirm step ran
//   only after a confirmation (or a confirming retry) by an approver who is not the requester;
// - never twice: each step ran at most once per recorded attempt (1 + its retries);
// - the final state matches the host: a rejected, cancelled or expired run ran nothing, a succeeded one ran all;
// - locks match live runs; no attempt is left "running"; the Slack message says what the database says.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isFinished } from '../../../core/run-state.ts';
import { listDecisions } from '../../../db/decision-log.ts';
import { getMessage } from '../../../db/outbox.ts';
import { getLock, getRun, listRuns, listSteps, type RunRow } from '../../../db/runbooks.ts';
import type { ClickOrigin } from '../../../services/runbooks/index.ts';
import { startTestBot, type TestBot } from '../../helpers/bot.ts';
import { buildBlockActionsPayload, sendInteraction, startFakeSlack, type FakeSlack } from '../../helpers/slack/index.ts';
import { startSshd, type SshdFixture } from '../../../devkit/sshd/index.ts';

const LONG = process.env.SCALEBOT_LONG === '1';
const CHANNEL = 'C0RACE';
const REQUESTER = 'U0REQ';
const LEAD = 'U0LEAD';
const LEAD2 = 'U0LEAD2';
const STRANGER = 'U0STRANGER';
const ADMIN = 'U0ADMIN';
const USERS = [REQUESTER, LEAD, LEAD2, STRANGER, ADMIN] as const;
const MARKER = `/tmp/scalebot-races-${process.pid}-${Date.now()}.log`;

let sshd: SshdFixture;
let fake: FakeSlack;
let harness: TestBot;
let tag = 0;
const figures = { scenarios: 0, clicks: 0, lostRaces: 0, stepsRun: 0 };

function config(): string {
  const host = sshd.host;
  const step = (id: string, extra = '') =>
    `{ id: ${id}, title: Step ${id}, host: local, run: "echo {{tag}} ${id} >> ${MARKER}; sleep 0.3", timeout: 20s${extra} }`;
  return `admins: [${ADMIN}]
hosts:
  local: { address: 127.0.0.1, port: ${host.port}, user: ${host.user}, private_key_file: "${host.privateKeyFile}", host_key: "${host.hostKey}" }
runbooks:
  - id: race
    title: Race
    approval: { approvers: ["@ops-leads", ${LEAD2}], required: 1, allow_self: false, expires: 30m }
    params: [{ name: tag, type: int }]
    steps:
      - ${step('one')}
      - ${step('two', ', confirm: true')}
    rollback:
      - ${step('undo')}
  - id: stoppable
    title: A step to stop
    approval: { approvers: [${LEAD}] }
    params: [{ name: tag, type: int }]
    steps:
      - { id: one, title: Long step, host: local, run: "echo {{tag}} one >> ${MARKER}; sleep 2", timeout: 20s }
  - id: race2
    title: Race with two approvals
    approval: { approvers: [${LEAD}, ${LEAD2}, ${REQUESTER}], required: 2, allow_self: false, expires: 30m }
    params: [{ name: tag, type: int }]
    steps:
      - ${step('one')}
      - ${step('two', ', confirm: true')}
`;
}

type Kind = 'approve' | 'reject' | 'cancel' | 'start' | 'stop' | 'rollback' | 'abandon' | 'confirm' | 'retry';
const KINDS: readonly Kind[] = ['approve', 'reject', 'cancel', 'start', 'stop', 'rollback', 'abandon', 'confirm', 'retry'];
interface Click {
  user: (typeof USERS)[number];
  kind: Kind;
  /** For confirm and retry: where the click points (0: the run's current step, else an old or future one). */
  offset: number;
}

const clickArb: fc.Arbitrary<Click> = fc.record({
  user: fc.oneof(fc.constantFrom(...USERS), fc.constantFrom(REQUESTER, LEAD)),
  kind: fc.oneof(fc.constantFrom(...KINDS), fc.constantFrom<Kind>('approve', 'stop', 'retry', 'confirm')),
  offset: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -1, max: 1 }) }),
});
const scenarioArb = fc.record({
  runbook: fc.constantFrom('race', 'race', 'race2'),
  // The first wave usually holds an approval, so most scenarios get past it; a pause of -1 waits until the
  // executor is idle (the run waits for a confirmation, or has halted), where Stop/Retry/Confirm races matter.
  approver: fc.constantFrom(LEAD, LEAD2, REQUESTER, STRANGER),
  waves: fc.array(fc.record({ clicks: fc.array(clickArb, { minLength: 1, maxLength: 4 }), pauseMs: fc.constantFrom(-1, -1, 0, 0, 50, 150, 400) }), {
    minLength: 2,
    maxLength: 7,
  }),
});

const db = () => harness.bot.database.db;
const runner = () => harness.bot.runbooks;

function originOf(run: RunRow): ClickOrigin {
  const posted = run.messageId ? getMessage(db(), run.messageId) : undefined;
  return { channel: run.channel, messageTs: posted?.ts ?? undefined };
}

async function fire(runId: number, click: Click): Promise<boolean> {
  const run = getRun(db(), runId)!;
  const origin = originOf(run);
  const index = Math.max(0, run.stepIndex + click.offset);
  const answer =
    click.kind === 'confirm' || click.kind === 'retry'
      ? await runner()[click.kind](runId, click.user, run.phase, index, origin)
      : await runner()[click.kind](runId, click.user, origin);
  figures.clicks += 1;
  if (answer.message?.includes('changed meanwhile')) figures.lostRaces += 1;
  return answer.ok;
}

function markerLines(runTag: number): string[] {
  if (!existsSync(MARKER)) return [];
  return readFileSync(MARKER, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith(`${runTag} `))
    .map((line) => line.slice(`${runTag} `.length));
}

async function waitPosted(runId: number): Promise<void> {
  await fake.waitFor(
    () => {
      const run = getRun(db(), runId)!;
      return run.messageId && getMessage(db(), run.messageId)?.ts ? true : undefined;
    },
    { timeoutMs: 10_000 },
  );
}

/** Every invariant of the run against the host, the locks, the decision log and Slack. */
function checkInvariants(runId: number, runTag: number): void {
  const run = getRun(db(), runId)!;
  const lines = markerLines(runTag);
  const count = (id: string) => lines.filter((line) => line === id).length;
  const decisions = listDecisions(db(), { limit: 500, subject: run.runbookId }).filter((row) => (row.detail as { run_id?: number } | null)?.run_id === runId);
  const steps = listSteps(db(), runId);
  const approvers = run.runbookId === 'race' ? [LEAD, LEAD2] : [LEAD, LEAD2, REQUESTER];
  const context = () =>
    JSON.stringify({
      status: run.status,
      phase: run.phase,
      stepIndex: run.stepIndex,
      lines,
      steps: steps.map((s) => [s.phase, s.stepIndex, s.status, s.message]),
      decisions: decisions.map((d) => [d.kind, d.actor, d.outcome]),
    });

  // No attempt left running once everything is idle.
  expect(
    steps.filter((step) => step.status === 'running'),
    context(),
  ).toEqual([]);
  // Four eyes: anything that ran was approved by someone else, by an approver.
  const approvals = decisions.filter((row) => row.kind === 'approval' && row.actor !== run.requester && approvers.includes(row.actor));
  if (lines.length > 0) expect(approvals.length, context()).toBeGreaterThanOrEqual(run.runbookId === 'race2' ? 2 : 1);
  // The confirm step ran only after a confirmation by an approver who is not the requester.
  const confirmations = decisions.filter(
    (row) =>
      (row.kind === 'confirmation' || (row.kind === 'retry' && (row.detail as { confirmed?: boolean }).confirmed)) &&
      row.actor !== run.requester &&
      approvers.includes(row.actor),
  );
  expect(count('two'), context()).toBeLessThanOrEqual(confirmations.length);
  expect(
    decisions.filter(
      (row) =>
        (row.kind === 'confirmation' || row.kind === 'retry') &&
        (row.detail as { confirmed?: boolean; step?: string }).step === 'two' &&
        (row.actor === run.requester || !approvers.includes(row.actor)),
    ),
    context(),
  ).toEqual([]);
  // Never twice: at most one run per attempt the log shows (the first, and each retry of that step).
  for (const [phase, id] of [
    ['steps', 'one'],
    ['steps', 'two'],
    ['rollback', 'undo'],
  ] as const) {
    const retries = decisions.filter(
      (row) => row.kind === 'retry' && (row.detail as { step?: string; phase?: string }).step === id && (row.detail as { phase?: string }).phase === phase,
    ).length;
    const confirmsOf = id === 'two' ? decisions.filter((row) => row.kind === 'confirmation').length : 0;
    expect(count(id), context()).toBeLessThanOrEqual(1 + retries + Math.max(0, confirmsOf - 1));
    const rows = steps.filter((step) => step.phase === phase && step.stepId === id);
    const succeeded = rows.filter((step) => step.status === 'succeeded').length;
    const started = rows.filter((step) => !(step.message ?? '').includes('was not run')).length;
    expect(count(id), context()).toBeGreaterThanOrEqual(succeeded);
    expect(count(id), context()).toBeLessThanOrEqual(started);
    figures.stepsRun += count(id);
  }
  // The final state matches what ran.
  if (['rejected', 'cancelled', 'expired'].includes(run.status)) expect(lines, context()).toEqual([]);
  if (run.status === 'succeeded') expect([count('one') > 0, count('two') > 0], context()).toEqual([true, true]);
  if (run.status === 'rolled_back') expect(count('undo'), context()).toBeGreaterThan(0);
  expect(run.status, context()).not.toBe('running');
  // Locks match live runs.
  const lock = getLock(db(), 'local');
  if (isFinished(run.status)) expect(lock?.runId === runId, context()).toBe(false);
  else expect(lock?.runId, context()).toBe(runId);
  // Slack shows what the database says.
  const posted = getMessage(db(), run.messageId!)!;
  const inSlack = fake.message(CHANNEL, posted.ts!);
  expect(inSlack?.text, context()).toBe(posted.payload.text);
}

async function release(runId: number): Promise<void> {
  // Leave the host free for the next scenario, whatever state this one ended in.
  for (const kind of ['stop', 'cancel', 'abandon'] as const) {
    const run = getRun(db(), runId)!;
    if (isFinished(run.status)) break;
    await runner()[kind](runId, ADMIN, originOf(run));
    await runner().idle();
  }
  if (!isFinished(getRun(db(), runId)!.status)) await runner().unlock('local', ADMIN);
}

beforeAll(async () => {
  rmSync(MARKER, { force: true });
  sshd = await startSshd();
  fake = await startFakeSlack({ userGroups: { S0OPS: [LEAD] }, userGroupHandles: { S0OPS: 'ops-leads' } });
  harness = await startTestBot({ config: config(), fake });
}, 60_000);

afterAll(async () => {
  if (LONG)
    console.info(
      `runbook races: ${figures.scenarios} scenarios, ${figures.clicks} clicks, ${figures.lostRaces} lost races answered "changed meanwhile", ` +
        `${figures.stepsRun} step runs checked`,
    );
  await harness?.stop();
  await fake?.close();
  await sshd?.stop();
  rmSync(MARKER, { force: true });
});

describe('runbook runs under conflicting clicks', () => {
  // Each test starts with the host free, whatever the one before left (a failure mid-round included).
  beforeEach(async () => {
    await runner().idle();
    const lock = getLock(db(), 'local');
    if (lock) await release(lock.runId);
  });

  it(
    'keeps four eyes, never runs a step twice, and ends in a state that matches the host, whatever the clicks and their order',
    async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArb, async (scenario) => {
          tag += 1;
          const runTag = tag;
          const answer = await runner().request(scenario.runbook, { tag: String(runTag) }, REQUESTER, CHANNEL);
          expect(answer, JSON.stringify(answer)).toEqual({ ok: true });
          const runId = listRuns(db(), { limit: 1 })[0]!.id;
          await waitPosted(runId);
          const waves = [
            { clicks: [{ user: scenario.approver, kind: 'approve' as const, offset: 0 }, ...scenario.waves[0]!.clicks], pauseMs: scenario.waves[0]!.pauseMs },
            ...scenario.waves.slice(1),
          ];
          for (const wave of waves) {
            await Promise.all(wave.clicks.map((click) => fire(runId, click)));
            if (wave.pauseMs < 0) await runner().idle();
            else if (wave.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, wave.pauseMs));
          }
          await runner().idle();
          await harness.bot.runbooks.idle();
          checkInvariants(runId, runTag);
          await release(runId);
          figures.scenarios += 1;
        }),
        { numRuns: LONG ? 120 : 15, endOnFailure: true },
      );
    },
    LONG ? 3_600_000 : 240_000,
  );

  it(
    'approve and reject at once: exactly one wins, the loser hears "changed meanwhile", and a rejected run ran nothing',
    async () => {
      for (let round = 0; round < (LONG ? 20 : 5); round += 1) {
        tag += 1;
        const runTag = tag;
        await runner().request('race', { tag: String(runTag) }, REQUESTER, CHANNEL);
        const runId = listRuns(db(), { limit: 1 })[0]!.id;
        await waitPosted(runId);
        const origin = originOf(getRun(db(), runId)!);
        const [approved, rejected] = await Promise.all([runner().approve(runId, LEAD, origin), runner().reject(runId, LEAD2, origin)]);
        expect([approved.ok, rejected.ok].filter(Boolean)).toHaveLength(1);
        const loser = approved.ok ? rejected : approved;
        expect(loser.message).toMatch(/changed meanwhile|not waiting for approval/);
        await runner().idle();
        checkInvariants(runId, runTag);
        await release(runId);
      }
    },
    LONG ? 900_000 : 120_000,
  );

  it(
    'two approvers at once on a run that needs two: it starts exactly once',
    async () => {
      for (let round = 0; round < (LONG ? 20 : 5); round += 1) {
        tag += 1;
        const runTag = tag;
        await runner().request('race2', { tag: String(runTag) }, REQUESTER, CHANNEL);
        const runId = listRuns(db(), { limit: 1 })[0]!.id;
        await waitPosted(runId);
        const origin = originOf(getRun(db(), runId)!);
        await Promise.all([runner().approve(runId, LEAD, origin), runner().approve(runId, LEAD2, origin), runner().approve(runId, LEAD, origin)]);
        await runner().idle();
        const run = getRun(db(), runId)!;
        expect(run.status).toBe('awaiting_confirmation');
        expect(listDecisions(db(), { limit: 500, kinds: ['run_started'] }).filter((row) => (row.detail as { run_id?: number }).run_id === runId)).toHaveLength(
          1,
        );
        expect(markerLines(runTag)).toEqual(['one']);
        checkInvariants(runId, runTag);
        await release(runId);
      }
    },
    LONG ? 900_000 : 120_000,
  );

  it(
    'Stop right after the approval is honoured: the step never starts, or is killed; Stop is never overwritten',
    async () => {
      // Three moments: as soon as the approval is in, as soon as the step is recorded as started (before its
      // command was sent), and a little later (the command runs). The step sleeps 2 s, so a step that ends
      // "succeeded" after a Stop that said OK would be a Stop that missed.
      const moments = ['approved', 'step_started', 'running'] as const;
      for (let round = 0; round < (LONG ? 24 : 9); round += 1) {
        const moment = moments[round % moments.length]!;
        tag += 1;
        const runTag = tag;
        await runner().request('stoppable', { tag: String(runTag) }, REQUESTER, CHANNEL);
        const runId = listRuns(db(), { limit: 1 })[0]!.id;
        await waitPosted(runId);
        const origin = originOf(getRun(db(), runId)!);
        const approval = runner().approve(runId, LEAD, origin);
        await fake.waitFor(
          () => {
            if (moment === 'approved') return ['running', 'approved'].includes(getRun(db(), runId)!.status) || undefined;
            const started = listSteps(db(), runId).length > 0;
            if (moment === 'step_started') return started || undefined;
            return (started && markerLines(runTag).length > 0) || undefined;
          },
          { timeoutMs: 10_000, intervalMs: 1 },
        );
        const stopped = await runner().stop(runId, REQUESTER, origin);
        await approval;
        await runner().idle();
        const run = getRun(db(), runId)!;
        const context = JSON.stringify({ moment, run: [run.status, run.stepIndex], steps: listSteps(db(), runId).map((step) => [step.status, step.message]) });
        expect(stopped.ok, context).toBe(true);
        expect(run.status, context).toBe('stopped');
        expect(
          listSteps(db(), runId).filter((step) => step.status === 'succeeded'),
          context,
        ).toEqual([]);
        expect(
          listDecisions(db(), { limit: 500, kinds: ['run_failed'] }).filter((row) => (row.detail as { run_id?: number }).run_id === runId),
          context,
        ).toEqual([]);
        await release(runId);
      }
    },
    LONG ? 900_000 : 180_000,
  );

  it("a requester cannot get past a confirm step by Stop then Retry; an approver's Retry confirms it", async () => {
    tag += 1;
    const runTag = tag;
    await runner().request('race', { tag: String(runTag) }, REQUESTER, CHANNEL);
    const runId = listRuns(db(), { limit: 1 })[0]!.id;
    await waitPosted(runId);
    const origin = () => originOf(getRun(db(), runId)!);
    expect((await runner().approve(runId, LEAD, origin())).ok).toBe(true);
    await runner().idle();
    expect(getRun(db(), runId)!).toMatchObject({ status: 'awaiting_confirmation', stepIndex: 1 });
    expect((await runner().stop(runId, REQUESTER, origin())).ok).toBe(true);
    const retried = await runner().retry(runId, REQUESTER, 'steps', 1, origin());
    expect(retried.ok).toBe(false);
    expect(retried.message).toMatch(/marked confirm/);
    await runner().idle();
    expect(markerLines(runTag)).toEqual(['one']);
    expect((await runner().retry(runId, LEAD, 'steps', 1, origin())).ok).toBe(true);
    await runner().idle();
    expect(getRun(db(), runId)!.status).toBe('succeeded');
    expect(markerLines(runTag)).toEqual(['one', 'two']);
    checkInvariants(runId, runTag);
  }, 60_000);

  it('a click on a message the bot has not recorded yet is told to click again, and changes nothing', async () => {
    tag += 1;
    // Slack takes the plan only after a 429: until then the bot knows no ts for the run's message.
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 2 });
    await runner().request('race', { tag: String(tag) }, REQUESTER, CHANNEL);
    const runId = listRuns(db(), { limit: 1 })[0]!.id;
    const early = await runner().approve(runId, LEAD, { channel: CHANNEL, messageTs: '1796000000.000100' });
    expect(early).toMatchObject({ ok: false, message: expect.stringMatching(/still being recorded.*Click again/) });
    expect(getRun(db(), runId)!.status).toBe('awaiting_approval');
    await waitPosted(runId);
    const late = await runner().approve(runId, LEAD, { channel: CHANNEL, messageTs: '1796000000.000100' });
    expect(late.message).toMatch(/does not belong to this run/);
    expect((await runner().approve(runId, LEAD, originOf(getRun(db(), runId)!))).ok).toBe(true);
    await runner().idle();
  }, 30_000);

  it('a click carrying another message or channel changes nothing', async () => {
    tag += 1;
    const runTag = tag;
    await runner().request('race', { tag: String(runTag) }, REQUESTER, CHANNEL);
    const runId = listRuns(db(), { limit: 1 })[0]!.id;
    await waitPosted(runId);
    const run = getRun(db(), runId)!;
    const real = originOf(run);
    for (const origin of [
      { channel: 'C0ELSEWHERE', messageTs: real.messageTs },
      { channel: CHANNEL, messageTs: '1.000001' },
      { channel: undefined, messageTs: undefined },
    ]) {
      const answer = await runner().approve(runId, LEAD, origin);
      expect(answer.ok).toBe(false);
      expect(answer.message).toMatch(/does not belong to this run/);
    }
    expect(getRun(db(), runId)!.status).toBe('awaiting_approval');
    // The same through Slack's door: a signed click whose message is another one.
    const other = fake.addMessage(CHANNEL, { user: LEAD, text: 'look at this' });
    const message = { ...fake.message(CHANNEL, real.messageTs!)!, ts: other.ts };
    const payload = buildBlockActionsPayload({
      user: LEAD,
      channel: CHANNEL,
      message,
      action: { action_id: 'run_approve', value: String(runId) },
      strict: false,
      response_url: fake.newResponseUrl({ channel: CHANNEL, user: LEAD, messageTs: other.ts }),
    });
    expect((await sendInteraction(harness.url, harness.secret, payload)).status).toBe(200);
    await runner().idle();
    expect(getRun(db(), runId)!.status).toBe('awaiting_approval');
    await release(runId);
  }, 60_000);
});
