// Runbook promises the README makes that no test held: an approval request expires (a click after it is
// refused and nothing runs; the bot's own sweep marks it expired), `required: 2` means two different approvers
// (one is not enough, the same one twice counts once), and **Retry step** runs the failed step again, then the
// steps after it, never the steps that succeeded before it. Through the real bot, Slack clicks, a real sshd.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listDecisions } from '../../db/decision-log.ts';
import { getRun, listRuns } from '../../db/runbooks.ts';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { buildBlockActionsPayload, sendInteraction, sendSlashCommand, startFakeSlack, type FakeSlack } from '../helpers/slack/index.ts';
import { startSshd, type SshdFixture } from '../../devkit/sshd/index.ts';

const CHANNEL = 'C0OPS';
const REQUESTER = 'U0REQ';
const LEAD = 'U0LEAD';
const LEAD2 = 'U0LEAD2';
const MARK = `/tmp/scalebot-promised-runbooks-${process.pid}-${Date.now()}`;
const LOG = `${MARK}.log`;
const FLAG = `${MARK}.flag`;

let sshd: SshdFixture;
let fake: FakeSlack;
let harness: TestBot;

function config(): string {
  const host = sshd.host;
  return `hosts:
  local: { address: 127.0.0.1, port: ${host.port}, user: ${host.user}, private_key_file: "${host.privateKeyFile}", host_key: "${host.hostKey}" }
runbooks:
  - id: brief
    title: Expires quickly
    approval: { approvers: [${LEAD}], required: 1, allow_self: false, expires: 2s }
    params:
      - { name: tag, type: string }
    steps:
      - { id: write, host: local, run: "echo brief-{{tag}} >> ${LOG}", timeout: 30s }
  - id: pair
    title: Needs two
    approval: { approvers: [${LEAD}, ${LEAD2}, ${REQUESTER}], required: 2, allow_self: false, expires: 30m }
    steps:
      - { id: write, host: local, run: "echo pair >> ${LOG}", timeout: 30s }
  - id: thrice
    title: Three steps
    approval: { approvers: [${LEAD}], required: 1, allow_self: false, expires: 30m }
    steps:
      - { id: first, host: local, run: "echo first >> ${LOG}", timeout: 30s }
      - { id: second, host: local, run: "echo second >> ${LOG}; test -e ${FLAG}", timeout: 30s }
      - { id: third, host: local, run: "echo third >> ${LOG}", timeout: 30s }
    rollback:
      - { id: undo, host: local, run: "echo undo >> ${LOG}", timeout: 30s }
`;
}

const logLines = () => (existsSync(LOG) ? readFileSync(LOG, 'utf8').trim().split('\n').filter(Boolean) : []);
const flat = (value: unknown) => JSON.stringify(value);
const db = () => harness.bot.database.db;

async function command(text: string, user = REQUESTER) {
  const responseUrl = fake.newResponseUrl({ channel: CHANNEL, user });
  const answer = await sendSlashCommand(harness.url, harness.secret, { text, user_id: user, channel_id: CHANNEL, response_url: responseUrl });
  expect(answer.status).toBe(200);
  return responseUrl;
}
async function click(user: string, ts: string, actionId: string) {
  const message = fake.message(CHANNEL, ts)!;
  const responseUrl = fake.newResponseUrl({ channel: CHANNEL, user, messageTs: ts });
  const payload = buildBlockActionsPayload({ user, channel: CHANNEL, message, action: { action_id: actionId }, response_url: responseUrl });
  expect((await sendInteraction(harness.url, harness.secret, payload)).status).toBe(200);
  return responseUrl;
}
async function answerAt(url: string): Promise<string> {
  return ((await fake.waitFor((f) => f.responses.find((entry) => entry.url === url), { timeoutMs: 15_000 })).body as { text: string }).text;
}
/** Runs /scale run …, and returns the new run and its plan message once posted. */
async function requestRun(text: string) {
  const before = listRuns(db(), { limit: 1 })[0]?.id ?? 0;
  await command(text);
  const run = await vi.waitFor(
    () => {
      const newest = listRuns(db(), { limit: 1 })[0];
      expect(newest && newest.id > before).toBe(true);
      return newest!;
    },
    { timeout: 15_000, interval: 50 },
  );
  const plan = await fake.waitFor((f) => f.messages(CHANNEL).find((message) => flat(message.blocks).includes(`Runbook #${run.id}:`) && !message.thread_ts), {
    timeoutMs: 15_000,
  });
  return { runId: run.id, plan };
}
/** Waits until the decision log holds `count` rows of `kind` for the run. */
async function waitDecisions(runId: number, kind: string, count: number) {
  await vi.waitFor(
    () => expect(listDecisions(db(), { kinds: [kind], limit: 100 }).filter((row) => (row.detail as { run_id?: number }).run_id === runId)).toHaveLength(count),
    { timeout: 15_000, interval: 50 },
  );
  await harness.bot.runbooks.idle();
}
async function waitRun(runId: number, status: string, timeoutMs = 30_000) {
  await vi.waitFor(() => expect(getRun(db(), runId)?.status).toBe(status), { timeout: timeoutMs, interval: 50 });
  await harness.bot.runbooks.idle();
}

beforeAll(async () => {
  sshd = await startSshd();
  fake = await startFakeSlack();
  harness = await startTestBot({ config: config(), fake });
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  await fake?.close();
  await sshd?.stop();
  rmSync(LOG, { force: true });
  rmSync(FLAG, { force: true });
});

describe('runbook approval expiry', () => {
  it('an approval after `expires` is refused, the run is expired and runs nothing; the sweep expires one nobody clicked', async () => {
    rmSync(LOG, { force: true });
    // Waiting on the clock is the point here: the condition is "the expiry time has passed".
    const pastExpiry = async (runId: number) => {
      const run = getRun(db(), runId)!;
      expect(run.expiresAt.getTime() - run.createdAt.getTime()).toBe(2000);
      await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(run.expiresAt.getTime() + 50), { timeout: 10_000, interval: 50 });
    };
    const isExpired = (ts: string) => (f: FakeSlack) => {
      const blocks = flat(f.message(CHANNEL, ts)?.blocks);
      return blocks.includes('Expired: not approved in time') && !blocks.includes('run_approve');
    };

    const late = await requestRun('run brief tag=late');
    await pastExpiry(late.runId);
    expect(await answerAt(await click(LEAD, late.plan.ts, 'run_approve'))).toMatch(/not waiting for approval \(expired\)|expired before your approval/);
    expect(getRun(db(), late.runId)!.status).toBe('expired');
    await fake.waitFor(isExpired(late.plan.ts));

    // The expired run let go of the host: the next request is taken.
    const swept = await requestRun('run brief tag=swept');
    await pastExpiry(swept.runId);
    await harness.bot.runbooks.expireStale();
    expect(getRun(db(), swept.runId)!.status).toBe('expired');
    await fake.waitFor(isExpired(swept.plan.ts));

    const expired = listDecisions(db(), { kinds: ['run_expired'], limit: 10 }).map((row) => (row.detail as { run_id: number }).run_id);
    expect(expired.sort()).toEqual([late.runId, swept.runId].sort());
    await harness.bot.runbooks.idle();
    expect(logLines()).toEqual([]);
  });
});

describe('`required: 2`', () => {
  it('one approval does not start the run, the same approver twice counts once, a second approver starts it', async () => {
    rmSync(LOG, { force: true });
    const { runId, plan } = await requestRun('run pair');
    await click(LEAD, plan.ts, 'run_approve');
    await waitDecisions(runId, 'approval', 1);
    expect(getRun(db(), runId)!.status).toBe('awaiting_approval');
    await fake.waitFor((f) => flat(f.message(CHANNEL, plan.ts)?.blocks).includes('Approvals: 1 of 2'));

    expect(await answerAt(await click(LEAD, plan.ts, 'run_approve'))).toMatch(/approved it already|does not count/);
    await waitDecisions(runId, 'approval', 1);
    expect(getRun(db(), runId)!.status).toBe('awaiting_approval');
    // The requester is an approver too, but not of their own run.
    expect(await answerAt(await click(REQUESTER, plan.ts, 'run_approve'))).toMatch(/does not count/);
    await harness.bot.runbooks.idle();
    expect(getRun(db(), runId)!.status).toBe('awaiting_approval');
    expect(logLines()).toEqual([]);

    await click(LEAD2, plan.ts, 'run_approve');
    await waitRun(runId, 'succeeded');
    expect(logLines()).toEqual(['pair']);
    expect(flat(fake.message(CHANNEL, plan.ts)?.blocks)).toContain('Approvals: 2 of 2');
  });
});

describe('Retry step', () => {
  it('runs the failed step again and then the rest; the steps that succeeded before it do not run again', async () => {
    rmSync(LOG, { force: true });
    rmSync(FLAG, { force: true });
    const { runId, plan } = await requestRun('run thrice');
    await click(LEAD, plan.ts, 'run_approve');
    await waitRun(runId, 'failed');
    expect(logLines()).toEqual(['first', 'second']);
    expect(getRun(db(), runId)).toMatchObject({ phase: 'steps', stepIndex: 1 });
    await fake.waitFor((f) => flat(f.message(CHANNEL, plan.ts)?.blocks).includes('run_retry'));

    // Still failing: a retry runs step 2 alone and stops there again.
    await click(REQUESTER, plan.ts, 'run_retry');
    await vi.waitFor(() => expect(logLines()).toEqual(['first', 'second', 'second']), { timeout: 30_000, interval: 50 });
    await waitRun(runId, 'failed');
    await fake.waitFor((f) => flat(f.message(CHANNEL, plan.ts)?.blocks).includes('run_retry'));

    writeFileSync(FLAG, '');
    await click(REQUESTER, plan.ts, 'run_retry');
    await waitRun(runId, 'succeeded');
    expect(logLines()).toEqual(['first', 'second', 'second', 'second', 'third']);
    const retries = listDecisions(db(), { kinds: ['retry'], limit: 10 }).filter((row) => (row.detail as { run_id: number }).run_id === runId);
    expect(retries.map((row) => [row.actor, (row.detail as { step: string }).step])).toEqual([
      [REQUESTER, 'second'],
      [REQUESTER, 'second'],
    ]);
  });
});
