import { existsSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listDecisions } from '../../../db/decision-log.ts';
import { getRun, listRuns } from '../../../db/runbooks.ts';
import { startTestBot, type TestBot } from '../../helpers/bot.ts';
import { buildBlockActionsPayload, checkBlockKitLimits, sendInteraction, sendSlashCommand, startFakeSlack, type FakeSlack } from '../../helpers/slack/index.ts';
import { processesMatching, startSshd, waitProcessesGone, type SshdFixture } from '../../../devkit/sshd/index.ts';

const CHANNEL = 'C0OPS';
const REQUESTER = 'U0REQ';
const LEAD = 'U0LEAD';
const STRANGER = 'U0STRANGER';
const ADMIN = 'U0ADMIN';
const MARK = `scalebot-test-${process.pid}-${Date.now()}`;
const PWNED = `/tmp/${MARK}-pwned`;

let sshd: SshdFixture;
let fake: FakeSlack;
let harness: TestBot;

function config(): string {
  const host = sshd.host;
  const hello = `printf 'hello %s\\\\n' {{label}}; for i in 1 2 3 4; do echo line-$i; sleep 0.6; done`;
  return `admins: [${ADMIN}]
hosts:
  local: { address: 127.0.0.1, port: ${host.port}, user: ${host.user}, private_key_file: "${host.privateKeyFile}", host_key: "${host.hostKey}" }
  liar: { address: 127.0.0.1, port: ${host.port}, user: ${host.user}, private_key_file: "${host.privateKeyFile}", host_key: "${sshd.wrongHostKey}" }
runbooks:
  - id: demo
    title: Demo deploy
    approval: { approvers: [${LEAD}, ${REQUESTER}, "@ops-leads"], required: 1, allow_self: false, expires: 30m }
    params:
      - { name: target, type: host }
      - { name: label, type: string }
      - { name: fail, type: enum, values: ["no", "yes"], default: "no" }
    steps:
      - { id: hello, title: Say hello, host: "{{target}}", run: "${hello}", timeout: 30s }
      - { id: risky, title: Risky step, host: "{{target}}", run: "test {{fail}} = no || { echo boom >&2; exit 3; }", timeout: 30s, confirm: true }
    rollback:
      - { id: undo, title: Undo, host: "{{target}}", run: "echo undone", timeout: 30s }
  - id: long
    title: Long step
    approval: { approvers: [${LEAD}] }
    params:
      - { name: target, type: host }
    steps:
      - { id: wait, title: Wait long, host: "{{target}}", run: "echo started-${MARK}; sleep 121.${process.pid}", timeout: 60s }
  - id: slow
    title: Slow step
    approval: { approvers: [${LEAD}] }
    params:
      - { name: target, type: host }
      - { name: seconds, type: int, min: 1, max: 600 }
    steps:
      - { id: wait, title: Wait, host: "{{target}}", run: "echo started-${MARK}; sleep {{seconds}}.${process.pid}", timeout: 4s }
    rollback:
      - { id: undo, title: Undo, host: "{{target}}", run: "echo undone", timeout: 30s }
`;
}

const topLevel = () => fake.messages(CHANNEL).filter((message) => !message.thread_ts || message.thread_ts === message.ts);
const flat = (value: unknown) => JSON.stringify(value);

async function command(text: string, user = REQUESTER) {
  const responseUrl = fake.newResponseUrl({ channel: CHANNEL, user });
  const answer = await sendSlashCommand(harness.url, harness.secret, { text, user_id: user, channel_id: CHANNEL, response_url: responseUrl });
  expect(answer.status).toBe(200);
  return responseUrl;
}
async function responseAt(url: string) {
  return (await fake.waitFor((f) => f.responses.find((entry) => entry.url === url), { timeoutMs: 15_000 })).body as { text: string; blocks?: unknown[] };
}
async function click(user: string, ts: string, actionId: string) {
  const message = fake.message(CHANNEL, ts)!;
  const responseUrl = fake.newResponseUrl({ channel: CHANNEL, user, messageTs: ts });
  const payload = buildBlockActionsPayload({ user, channel: CHANNEL, message, action: { action_id: actionId }, response_url: responseUrl });
  expect((await sendInteraction(harness.url, harness.secret, payload)).status).toBe(200);
  return responseUrl;
}
async function ephemeralAnswer(url: string) {
  return (await responseAt(url)).text;
}
/** The newest run's plan message. */
async function newestRunMessage(count: number) {
  return fake.waitFor(
    (f) => {
      const messages = f.messages(CHANNEL).filter((message) => !message.thread_ts || message.thread_ts === message.ts);
      return messages.length >= count ? messages[count - 1] : undefined;
    },
    { timeoutMs: 15_000 },
  );
}
async function waitRun(runId: number, status: string, timeoutMs = 30_000) {
  await vi.waitFor(() => expect(getRun(harness.bot.database.db, runId)?.status).toBe(status), { timeout: timeoutMs, interval: 100 });
  await harness.bot.runbooks.idle();
}
const latestRunId = () => listRuns(harness.bot.database.db, { limit: 1 })[0]!.id;

beforeAll(async () => {
  sshd = await startSshd();
  fake = await startFakeSlack({ userGroups: { S0OPS: ['U0OPS2'] }, userGroupHandles: { S0OPS: 'ops-leads' } });
  harness = await startTestBot({ config: config(), fake });
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  await fake?.close();
  await sshd?.stop();
  rmSync(PWNED, { force: true });
});

// One scenario, in order, on one bot and one database: the refusals plan nothing (checked), so the demo plan
// that follows is run #1, and the tests after it approve, confirm, fail, stop and list runs from there on.
describe('runbooks in Slack, one scenario in order', () => {
  it("lists the guide's default runbooks and the configured ones", async () => {
    const text = flat(await responseAt(await command('runbooks')));
    for (const id of [
      'backup',
      'test-restore',
      'vertical-migration',
      'add-read-replica',
      'db-failover',
      'statelessness-check',
      'emergency-quick-fixes',
      'demo',
      'slow',
    ]) {
      expect(text).toContain(`/scale run ${id}`);
    }
    expect(text).toContain('hosts: `local`, `liar`');
  });

  it('refuses parameters that are not of their type, before anything is planned', async () => {
    const cases: Array<[string, RegExp]> = [
      ['demo target=nowhere label=x', /target: .*nowhere/],
      ['demo target=local', /label is missing/],
      ['demo target=local label=x fail=maybe', /fail: /],
      ['demo target=local label=x extra=1', /has no parameter extra/],
      ['demo target=-oProxyCommand=touch label=x', /starts with "-"/],
      ['slow target=local seconds=$(reboot)', /seconds: /],
      ['slow target=local seconds=5;rm', /seconds: /],
      ['nosuch target=local', /no runbook `nosuch`/],
    ];
    for (const [text, expected] of cases) expect(await ephemeralAnswer(await command(`run ${text}`))).toMatch(expected);
    expect(topLevel()).toHaveLength(0);
    expect(listRuns(harness.bot.database.db)).toHaveLength(0);
  });

  let planTs: string;
  it('posts the plan: every step, its host, the exact command with quoted values, timeouts, rollback, approvals awaited', async () => {
    await command(`run demo target=local label="x; touch ${PWNED} \`touch ${PWNED}\` $(touch ${PWNED})"`);
    const plan = await newestRunMessage(1);
    planTs = plan.ts;
    const text = flat(plan.blocks);
    expect(checkBlockKitLimits(plan.blocks ?? [])).toEqual([]);
    expect(text).toContain('Runbook #1: Demo deploy');
    expect(text).toContain("printf 'hello %s\\\\n' 'x; touch");
    expect(text).toContain('on `local`');
    expect(text).toContain('timeout 30 s');
    expect(text).toContain('needs an approver to confirm');
    expect(text).toContain('*Rollback*');
    expect(text).toContain('Approvals: 0 of 1');
    expect(text).toContain('policy: 1 approval from <@U0LEAD>, <@U0REQ>, `@ops-leads`, not the requester');
    for (const action of ['run_approve', 'run_reject', 'run_cancel']) expect(text).toContain(action);
  });

  it("refuses a non-approver's approval and the requester's own, ephemerally and on record", async () => {
    expect(await ephemeralAnswer(await click(STRANGER, planTs, 'run_approve'))).toMatch(/not one of its approvers/);
    expect(await ephemeralAnswer(await click(REQUESTER, planTs, 'run_approve'))).toMatch(/four-eyes/);
    expect(
      listDecisions(harness.bot.database.db, { kinds: ['approval_refused'] })
        .map((row) => row.actor)
        .sort(),
    ).toEqual([REQUESTER, STRANGER]);
    expect(getRun(harness.bot.database.db, 1)?.status).toBe('awaiting_approval');
  });

  it('answers a second /scale run on a locked host with who holds the lock', async () => {
    const answer = await ephemeralAnswer(await command('run slow target=local seconds=1', LEAD));
    expect(answer).toMatch(/`local` is locked by run #1 \(Demo deploy, started by <@U0REQ>, since \d\d:\d\d UTC\)/);
  });

  it("runs after another person's approval, streams each step's output into the thread, waits for a confirm", async () => {
    await click(LEAD, planTs, 'run_approve');
    await waitRun(1, 'awaiting_confirmation');
    const steps = fake.messages(CHANNEL).filter((message) => message.thread_ts === planTs && message.ts !== planTs);
    const hello = steps.find((message) => message.text.includes('Step 1: Say hello'))!;
    expect(hello.text).toContain('line-4');
    expect(hello.text).toMatch(/succeeded\*, exit 0/);
    // the output arrived in several edits, not one
    expect(fake.callsTo('chat.update').filter((call) => call.args.ts === hello.ts).length).toBeGreaterThanOrEqual(2);
    expect(hello.text).toContain(`hello x; touch ${PWNED}`);
    expect(existsSync(PWNED)).toBe(false);
    expect(flat(fake.message(CHANNEL, planTs)?.blocks)).toContain('run_confirm');
    const approval = listDecisions(harness.bot.database.db, { kinds: ['approval'] })[0]!;
    expect(approval).toMatchObject({ actor: LEAD, outcome: 'approved' });
    expect(approval.detail).toHaveProperty('trigger_snapshot');
  });

  it('needs an approver, not the requester, to confirm a confirm step; then finishes and releases the lock', async () => {
    expect(await ephemeralAnswer(await click(REQUESTER, planTs, 'run_confirm'))).toMatch(/needs one of the approvers/);
    await click('U0OPS2', planTs, 'run_confirm');
    await waitRun(1, 'succeeded');
    expect(flat(fake.message(CHANNEL, planTs)?.blocks)).toContain('Succeeded');
    expect(await harness.bot.runbooks.getLock('local')).toBeUndefined();
    const kinds = listDecisions(harness.bot.database.db, { limit: 100 })
      .filter((row) => (row.detail as { run_id?: number }).run_id === 1)
      .map((row) => row.kind)
      .reverse();
    expect(kinds).toEqual([
      'run_requested',
      'lock',
      'approval_refused',
      'approval_refused',
      'approval',
      'run_started',
      'step_started',
      'step_finished',
      'awaiting_confirmation',
      'confirmation_refused',
      'confirmation',
      'step_started',
      'step_finished',
      'run_succeeded',
      'unlock',
    ]);
  });

  it('stops at a failing step, offers Retry, Roll back and Abandon, and rolls back', async () => {
    await command('run demo target=local label=again fail=yes');
    const plan = await newestRunMessage(2);
    await click(LEAD, plan.ts, 'run_approve');
    const runId = latestRunId();
    await waitRun(runId, 'awaiting_confirmation');
    await click(LEAD, plan.ts, 'run_confirm');
    await waitRun(runId, 'failed');
    const text = flat(fake.message(CHANNEL, plan.ts)?.blocks);
    expect(text).toMatch(/Failed\* at step 2/);
    for (const action of ['run_retry', 'run_rollback', 'run_abandon']) expect(text).toContain(action);
    const failed = listDecisions(harness.bot.database.db, { kinds: ['step_finished'], limit: 1 })[0]!;
    expect(failed).toMatchObject({ outcome: 'failed', detail: expect.objectContaining({ exit_code: 3, output_tail: expect.stringContaining('boom') }) });
    await click(REQUESTER, plan.ts, 'run_rollback');
    await waitRun(runId, 'rolled_back');
    expect(
      fake
        .messages(CHANNEL)
        .some((message) => message.thread_ts === plan.ts && message.text.includes('Rollback step 1: Undo') && message.text.includes('undone')),
    ).toBe(true);
    expect(await harness.bot.runbooks.getLock('local')).toBeUndefined();
  });

  it('never connects to a host whose key does not match the pinned one', async () => {
    const logins = (sshd.logs().match(/Accepted publickey/g) ?? []).length;
    await command('run demo target=liar label=keycheck');
    const plan = await newestRunMessage(3);
    await click(LEAD, plan.ts, 'run_approve');
    const runId = latestRunId();
    await waitRun(runId, 'failed');
    const step = listDecisions(harness.bot.database.db, { kinds: ['step_finished'], limit: 1 })[0]!;
    expect(step.outcome).toBe('host_key_mismatch');
    expect(flat(fake.message(CHANNEL, plan.ts)?.blocks)).toMatch(/host key/i);
    expect((sshd.logs().match(/Accepted publickey/g) ?? []).length).toBe(logins);
    await click(REQUESTER, plan.ts, 'run_abandon');
    await waitRun(runId, 'abandoned');
  });

  it("holds a step's timeout, and the remote command is gone after it", async () => {
    await command('run slow target=local seconds=120');
    const plan = await newestRunMessage(4);
    const started = Date.now();
    await click(LEAD, plan.ts, 'run_approve');
    const runId = latestRunId();
    await waitRun(runId, 'failed', 40_000);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(listDecisions(harness.bot.database.db, { kinds: ['step_finished'], limit: 1 })[0]?.outcome).toBe('timed_out');
    expect(await waitProcessesGone(`sleep 120.${process.pid}`, 10_000)).toEqual([]);
    await click(LEAD, plan.ts, 'run_rollback');
    await waitRun(runId, 'rolled_back');
  });

  it('stops a running step on Stop and offers what to do next', async () => {
    await command('run long target=local');
    const plan = await newestRunMessage(5);
    await click(LEAD, plan.ts, 'run_approve');
    const runId = latestRunId();
    await fake.waitFor((f) => f.messages(CHANNEL).find((message) => message.thread_ts === plan.ts && message.text.includes(`\`\`\`started-${MARK}`)), {
      timeoutMs: 20_000,
    });
    expect(processesMatching(`sleep 121.${process.pid}`).length).toBeGreaterThan(0);
    await click(REQUESTER, plan.ts, 'run_stop');
    await waitRun(runId, 'stopped');
    expect(await waitProcessesGone(`sleep 121.${process.pid}`, 10_000)).toEqual([]);
    expect(flat(fake.message(CHANNEL, plan.ts)?.blocks)).toContain('run_retry');
    await click(LEAD, plan.ts, 'run_abandon');
    await waitRun(runId, 'abandoned');
  });

  it('lets only the requester cancel, and only an admin force-release a lock, on record', async () => {
    await command('run slow target=local seconds=120', LEAD);
    const plan = await newestRunMessage(6);
    await click('U0NOBODY', plan.ts, 'run_approve'); // refused: not an approver
    expect(getRun(harness.bot.database.db, latestRunId())?.status).toBe('awaiting_approval');
    await command('unlock local', STRANGER)
      .then(ephemeralAnswer)
      .then((text) => expect(text).toMatch(/Only an admin/));
    // slow's approver is the lead, who also requested it: the four-eyes rule holds for everyone
    expect(await ephemeralAnswer(await click(LEAD, plan.ts, 'run_approve'))).toMatch(/four-eyes/);
    await click(REQUESTER, plan.ts, 'run_cancel')
      .then(ephemeralAnswer)
      .then((text) => expect(text).toMatch(/Only the requester/));
    await command('unlock local', ADMIN)
      .then(ephemeralAnswer)
      .then((text) => expect(text).toMatch(/Released `local` \(it was locked by run #\d+\)/));
    expect(listDecisions(harness.bot.database.db, { kinds: ['unlock'], limit: 1 })[0]).toMatchObject({
      actor: ADMIN,
      subject: 'local',
      outcome: 'force_released',
    });
    await click(LEAD, plan.ts, 'run_cancel');
    await waitRun(latestRunId(), 'cancelled');
  });

  it('shows runs and decisions in /scale history, and keeps no secret in the decision log', async () => {
    const text = flat(await responseAt(await command('history 40')));
    expect(text).toMatch(/#1 \*Demo deploy\* by <@U0REQ>: succeeded/);
    expect(text).toContain('step finished');
    const key = readFileSync(sshd.host.privateKeyFile, 'utf8');
    const keyBody = key
      .split('\n')
      .filter((line) => line && !line.startsWith('-----'))
      .join('');
    const log = JSON.stringify(listDecisions(harness.bot.database.db, { limit: 1000 }));
    for (let index = 0; index + 24 <= keyBody.length; index += 24) expect(log).not.toContain(keyBody.slice(index, index + 24));
    expect(log).not.toContain('xoxb-');
  });
});
