// Issue 12, item 12: a plan nobody can see must not hold its hosts, and someone just added to an approver
// group is not refused for the five minutes the membership is cached.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDecisions } from '../../../db/decision-log.ts';
import { getLock, getRun, listRuns } from '../../../db/runbooks.ts';
import { getMessage } from '../../../db/outbox.ts';
import { startTestBot, type TestBot } from '../../helpers/bot.ts';
import { startFakeSlack, type FakeSlack } from '../../helpers/slack/index.ts';

const CHANNEL = 'C0OPS';
const REQUESTER = 'U0REQ';
const NEWCOMER = 'U0NEW';
const groups: Record<string, string[]> = { S0LEADS: ['U0LEAD'] };
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

let fake: FakeSlack;
let harness: TestBot;
// The bot's clock, moved on by the test where time matters (the group cache).
let shiftMs = 0;
const clock = () => new Date(Date.now() + shiftMs);

beforeAll(async () => {
  fake = await startFakeSlack({ channels: { [CHANNEL]: 'ops', C0QUIET: 'quiet' }, userGroups: groups, userGroupHandles: { S0LEADS: 'leads' } });
  harness = await startTestBot({
    fake,
    clock,
    // A host nothing listens on: these runs are never approved far enough to connect.
    config: `hosts:
  box: { address: 127.0.0.1, port: 9, user: root, private_key_file: /dev/null, host_key: "${HOST_KEY}" }
runbooks:
  - id: touch
    title: Touch the box
    approval: { approvers: ["@leads"] }
    steps:
      - { id: touch, host: box, run: "true" }
  - id: nobody
    title: Names no approvers
    steps:
      - { id: touch, host: box, run: "true" }
  - id: leads-only
    title: Only leads may ask
    requesters: ["@leads"]
    approval: { approvers: anyone }
    steps:
      - { id: touch, host: box, run: "true" }
`,
  });
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  await fake?.close();
});

const runner = () => harness.bot.runbooks;
const db = () => harness.bot.database.db;

describe('runbook plans and who may act on them', () => {
  it('refuses a runbook that names no approvers, with what to add, and a requester not in its requesters', async () => {
    const disabled = await runner().request('nobody', {}, REQUESTER, CHANNEL);
    expect(disabled.ok).toBe(false);
    expect(disabled.message).toMatch(/`nobody` is disabled: .*approvers/);
    const stranger = await runner().request('leads-only', {}, REQUESTER, CHANNEL);
    expect(stranger.ok).toBe(false);
    expect(stranger.message).toMatch(/Only .* may request `leads-only`/);
    expect(listRuns(db(), { limit: 10 })).toEqual([]);
    expect(
      listDecisions(db(), { kinds: ['run_refused'] })
        .map((row) => row.outcome)
        .sort(),
    ).toEqual(['disabled', 'not_a_requester']);
    // A member of the group may; and anyone (explicitly) but the requester may approve it.
    expect((await runner().request('leads-only', {}, 'U0LEAD', CHANNEL)).ok).toBe(true);
    const run = listRuns(db(), { limit: 1 })[0]!;
    expect((await runner().reject(run.id, 'U0LEAD')).ok).toBe(false);
    expect((await runner().reject(run.id, 'U0ANYONE')).ok).toBe(true);
    expect(getLock(db(), 'box')).toBeUndefined();
  });

  it('cancels a plan Slack refuses to post (a channel the bot is not in) and leaves the host unlocked', async () => {
    for (const [channel, failure] of [
      ['C0GHOST', null],
      ['C0QUIET', 'not_in_channel'],
    ] as const) {
      if (failure) fake.failNext('chat.postMessage', { error: failure });
      const answer = await runner().request('touch', {}, REQUESTER, channel);
      expect(answer.ok).toBe(false);
      expect(answer.message).toMatch(
        /could not post run #\d+'s plan in this channel .*(channel_not_found|not_in_channel).*cancelled and its hosts are not locked/,
      );
      expect(answer.message).toMatch(/invite me/);
      const run = listRuns(db(), { limit: 1 })[0]!;
      expect(run.status).toBe('cancelled');
      expect(getLock(db(), 'box')).toBeUndefined();
      expect(getMessage(db(), run.messageId!)!.status).toBe('failed');
    }
    // The host is free: a request in the right channel locks it.
    expect((await runner().request('touch', {}, REQUESTER, CHANNEL)).ok).toBe(true);
    const run = listRuns(db(), { limit: 1 })[0]!;
    expect(getLock(db(), 'box')?.runId).toBe(run.id);
    expect(listDecisions(db(), { kinds: ['run_cancelled'] }).filter((row) => row.actor === 'scalebot')).toHaveLength(2);
    await runner().cancel(run.id, REQUESTER);
  });

  it('reads an approver group again before refusing someone the cache says is not in it', async () => {
    expect((await runner().request('touch', {}, REQUESTER, CHANNEL)).ok).toBe(true);
    const run = listRuns(db(), { limit: 1 })[0]!;
    await fake.waitFor(() => getMessage(db(), getRun(db(), run.id)!.messageId!)?.ts ?? undefined, { timeoutMs: 10_000 });
    // The newcomer is refused while not in the group; the membership is now cached.
    const refused = await runner().reject(run.id, NEWCOMER);
    expect(refused.ok).toBe(false);
    const listed = () => fake.calls.filter((call) => call.method === 'usergroups.users.list').length;
    // Added to the group in Slack a minute later: the cache (five minutes) still says no, but a refusal is
    // checked against Slack again first, so the click counts.
    groups.S0LEADS!.push(NEWCOMER);
    shiftMs += 60_000;
    const before = listed();
    const rejected = await runner().reject(run.id, NEWCOMER);
    expect(rejected, JSON.stringify(rejected)).toEqual({ ok: true });
    expect(listed()).toBeGreaterThan(before);
    expect(getRun(db(), run.id)!.status).toBe('rejected');
  });
});
