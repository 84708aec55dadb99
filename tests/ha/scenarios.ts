// The failover scenarios of issue 15, each a function of a world and a replica count that returns what went
// wrong (empty: the promise held). Used by failover.test.ts (a few) and failover-matrix.long.test.ts (all).
import { outboxKeyOf, type CrashPoint } from '../helpers/crash/index.ts';
import type { StoredMessage } from '../helpers/slack/index.ts';
import {
  APPROVERS,
  CHANNEL,
  CHECKLIST_ITEMS,
  REQUESTER,
  click,
  command,
  drained,
  messageByKey,
  startScenario,
  step,
  type Scenario,
  type World,
} from './world.ts';

export interface Outcome {
  problems: string[];
  detail: string;
}

const flat = (value: unknown) => JSON.stringify(value);
const postPoint = (key: string, when: 'before' | 'after'): CrashPoint => ({ source: 'slack', label: `chat.postMessage ${key}`, occurrence: 1, when });

async function run(world: World, count: number, body: (scenario: Scenario, problems: string[]) => Promise<void>): Promise<Outcome> {
  const scenario = await startScenario(world, count);
  const problems: string[] = [];
  try {
    await body(scenario, problems);
    // After every failure: exactly one leader among the replicas running, then the common promises.
    await scenario.set.leader();
    problems.push(...(await scenario.commonProblems()));
    return { problems, detail: scenario.detail() };
  } catch (error) {
    return { problems: [...problems, `the scenario did not come to its end: ${(error as Error).message.slice(0, 4000)}`], detail: scenario.detail() };
  } finally {
    await scenario.stop();
  }
}

/** Slack writes replica `i` made at or after `since` (ms epoch). */
const writesSince = (scenario: Scenario, i: number, since: number) =>
  scenario.set
    .slackWrites(i)
    .filter((call) => call.at >= since)
    .map((call) => `${new Date(call.at).toISOString()} ${call.label} (${call.fate})`);

/** The breach's one message shows it resolved, with one "resolved" reply in its thread. */
function resolvedInPlace(scenario: Scenario, breachId: number, problems: string[]) {
  const shown = scenario.set.fake.messages(CHANNEL);
  const keyed = (key: string) => shown.filter((message) => outboxKeyOf(message) === key);
  const top = keyed(`breach:${breachId}`);
  if (top.length !== 1) problems.push(`breach #${breachId} has ${top.length} top-level messages`);
  else if (!top[0]!.text.startsWith('Resolved')) problems.push(`breach #${breachId}'s message was not edited to resolved: ${top[0]!.text}`);
  if (keyed(`breach:${breachId}:resolved`).length !== 1)
    problems.push(`breach #${breachId} has ${keyed(`breach:${breachId}:resolved`).length} resolved replies`);
}

async function breachesResolved(scenario: Scenario, expected: number) {
  await step(`${expected} breaches to resolve`, async () => {
    const rows = await scenario.set.rows<{ status: string }>('SELECT status FROM breaches');
    return rows.length === expected && rows.every((row) => row.status === 'resolved');
  });
  await drained(
    scenario,
    'every resolved reply and edit to reach Slack',
    (rows) => rows.filter((row) => row.dedupeKey.endsWith(':resolved')).length === expected,
  );
}

/**
 * kill -9 the leader right after Slack accepted the breach's post (the answer never reaches it): the new
 * leader must find that message rather than post it again, then edit it and reply in its thread.
 */
export const killMidBreach = (world: World, count: number) =>
  run(world, count, async (scenario, problems) => {
    const { set } = scenario;
    const first = await set.leader();
    set.replicas[first]!.slack.at(postPoint('breach:1', 'after'), () => set.kill9(first));
    scenario.setLoad('web-1', 0.95);
    await step('the leader to be killed after Slack took the breach post', () => set.replicas[first]!.slack.reached.length === 1);
    await set.leader({ not: [first] });
    await drained(scenario, 'the breach message to be delivered', (rows) => rows.some((row) => row.dedupeKey === 'breach:1'));
    scenario.setLoad('web-1', 0.1);
    await breachesResolved(scenario, 1);
    resolvedInPlace(scenario, 1, problems);
    // The killed replica comes back as a follower and posts nothing.
    const restartedAt = Date.now();
    await set.restart(first);
    await step('the restarted replica to follow', async () => (await set.role(first)) === 'follower');
    const late = writesSince(scenario, first, restartedAt);
    if (late.length) problems.push(`the restarted follower #${first} wrote to Slack:\n  ${late.join('\n  ')}`);
  });

/**
 * A runbook requested at a follower, approved by two approvers clicking at two replicas at once (and one of
 * them twice), its step started on the host, then the leader killed: the new leader marks the run
 * "interrupted, outcome unknown" and never starts the step again.
 */
export const killMidStep = (world: World, count: number) =>
  run(world, count, async (scenario, problems) => {
    const { set } = scenario;
    const { fake } = set;
    const first = await set.leader();
    const follower = (first + 1) % count;
    await command(scenario, follower, 'run ha-step target=local', REQUESTER);
    const plan = await planMessage(scenario);
    const last = count - 1;
    await Promise.all([
      click(scenario, 0, plan, 'run_approve', APPROVERS[0]),
      click(scenario, 1, plan, 'run_approve', APPROVERS[1]),
      click(scenario, last, plan, 'run_approve', APPROVERS[0]),
    ]);
    await step('the step to start on the host', async () => {
      const runs = await set.rows<{ status: string }>('SELECT status FROM runbook_runs');
      return scenario.stepStarts() === 1 && runs[0]?.status === 'running';
    });
    const runner = await set.leader();
    await set.kill9(runner);
    await set.leader({ not: [runner] });
    await step(
      'the run to be marked interrupted',
      async () => (await set.rows<{ status: string }>('SELECT status FROM runbook_runs'))[0]?.status === 'interrupted',
    );
    await step('the plan message to say so', () => flat(fake.message(CHANNEL, plan.ts)?.blocks).includes('Interrupted'));
    await drained(scenario, 'the outbox to drain');
    const steps = await set.rows<{ step_id: string; status: string }>('SELECT step_id, status FROM run_steps ORDER BY id');
    if (flat(steps) !== flat([{ step_id: 'mark-and-sleep', status: 'interrupted' }])) problems.push(`steps after failover: ${flat(steps)}`);
    if (scenario.stepStarts() !== 1) problems.push(`the step started ${scenario.stepStarts()} times on the host`);
    const approvals = await set.rows<{ approver: string }>('SELECT approver FROM run_approvals ORDER BY approver');
    if (flat(approvals.map((row) => row.approver)) !== flat([APPROVERS[0], APPROVERS[1]])) problems.push(`approvals counted: ${flat(approvals)}`);
    const decisions = await scenario.decisions();
    for (const [kind, expected] of [
      ['run_requested', 1],
      ['approval', 2],
      ['run_started', 1],
      ['step_started', 1],
      ['run_interrupted', 1],
    ] as const)
      if ((decisions.get(kind) ?? 0) !== expected) problems.push(`${decisions.get(kind) ?? 0} ${kind} decisions, expected ${expected}`);
  });

/**
 * The run's plan message once its outbox row is marked sent: a click the replica cannot yet tie to the run's
 * message is refused ("does not belong to this run's message"), and people click what they have seen.
 */
async function planMessage(scenario: Scenario): Promise<StoredMessage> {
  const { set } = scenario;
  return step('the plan message, recorded as sent', async () => {
    const message = set.fake.messages(CHANNEL).find((each) => flat(each.blocks).includes('run_approve'));
    const rows = await set.rows<{ ts: string | null }>(`SELECT ts FROM slack_outbox WHERE dedupe_key = 'run:1'`);
    return message && rows[0]?.ts === message.ts ? message : undefined;
  });
}

/** Ticks every item of a checklist, clicking at every replica at once (one item per click). */
/** Every item ticked at once, spread over the replicas; how long the slowest click took to be acked, ms. */
async function tickEverything(scenario: Scenario, message: StoredMessage): Promise<number> {
  const count = scenario.set.replicas.length;
  const took = await Promise.all(
    CHECKLIST_ITEMS.map(async (item, index) => {
      const started = Date.now();
      await click(scenario, index % count, message, `checklist_toggle_${item}`, APPROVERS[index % APPROVERS.length]!);
      return Date.now() - started;
    }),
  );
  return Math.max(...took);
}

/** A click acked is a tick written (bot/listeners/on-action.ts acks after the write, within its deadline). */
async function clicksCounted(scenario: Scenario, problems: string[], slowestAckMs: number) {
  const events = await scenario.set.rows<{ item_id: string; action: string }>('SELECT item_id, action FROM checklist_events ORDER BY id');
  const ticked = events.filter((event) => event.action === 'tick').map((event) => event.item_id);
  if (ticked.length !== CHECKLIST_ITEMS.length || new Set(ticked).size !== CHECKLIST_ITEMS.length)
    problems.push(`${CHECKLIST_ITEMS.length} ticks clicked and acked (the slowest in ${slowestAckMs} ms), checklist_events holds ${flat(events)}`);
  const decided = (await scenario.decisions()).get('checklist_tick') ?? 0;
  if (decided !== CHECKLIST_ITEMS.length) problems.push(`${CHECKLIST_ITEMS.length} ticks clicked, ${decided} checklist_tick decisions`);
}

/**
 * Many messages queued (a checklist's edits after twelve ticks clicked at every replica at once, eight breaches
 * opened together), the leader killed after Slack took the third breach post: every message exactly once.
 */
export const killMidOutbox = (world: World, count: number) =>
  run(world, count, async (scenario, problems) => {
    const { set } = scenario;
    const first = await set.leader();
    await command(scenario, (first + 1) % count, 'checklist ha-list', REQUESTER);
    const list = await messageByKey(scenario, 'checklist:1');
    const slowestAckMs = await tickEverything(scenario, list);
    set.replicas[first]!.slack.at(postPoint('breach:3', 'after'), () => set.kill9(first));
    for (let i = 1; i <= 8; i++) scenario.setLoad(`web-${i}`, 0.95);
    await step('the leader to be killed after Slack took the third breach post', () => set.replicas[first]!.slack.reached.length === 1);
    await set.leader({ not: [first] });
    await drained(scenario, 'eight breaches and the checklist to reach Slack', (rows) => rows.filter((row) => /^breach:\d+$/.test(row.dedupeKey)).length === 8);
    // The clicks are counted first: a tick missing from storage and a message behind storage are different failures.
    await clicksCounted(scenario, problems, slowestAckMs);
    await step('the checklist to show every tick', () =>
      flat(set.fake.message(CHANNEL, list.ts)?.blocks).includes(`${CHECKLIST_ITEMS.length} of ${CHECKLIST_ITEMS.length} done`),
    );
    for (let i = 1; i <= 8; i++) scenario.setLoad(`web-${i}`, 0.1);
    await breachesResolved(scenario, 8);
  });

/**
 * SIGSTOP the leader as it is about to post a breach (the post never reaches Slack), past its lease: another
 * replica leads and posts it. SIGCONT: the old leader wakes to an error and a due post, and must post, edit
 * and run nothing; it serves as a follower.
 */
export const pauseLeader = (world: World, count: number) =>
  run(world, count, async (scenario, problems) => {
    const { set } = scenario;
    const first = await set.leader();
    set.replicas[first]!.slack.at(postPoint('breach:1', 'before'), () => set.pause(first));
    scenario.setLoad('web-1', 0.95);
    await step('the leader to stall at the breach post', () => set.replicas[first]!.slack.reached.length === 1);
    const next = await set.leader({ not: [first] });
    await drained(scenario, 'the new leader to post the breach', (rows) => rows.some((row) => row.dedupeKey === 'breach:1'));
    // Approved while the old leader sleeps: the step must run once, on the new leader, and never again.
    await command(scenario, next, 'run ha-step target=local', REQUESTER);
    const plan = await planMessage(scenario);
    await Promise.all([click(scenario, next, plan, 'run_approve', APPROVERS[0]), click(scenario, next, plan, 'run_approve', APPROVERS[1])]);
    await step('the step to start on the host', () => scenario.stepStarts() === 1);
    const resumedAt = Date.now();
    set.resume(first);
    await step('the woken replica to say it follows', async () => (await set.role(first)) === 'follower');
    if ((await set.leader()) !== next) problems.push('leadership moved back to the woken replica');
    scenario.setLoad('web-1', 0.1);
    await breachesResolved(scenario, 1);
    resolvedInPlace(scenario, 1, problems);
    const late = writesSince(scenario, first, resumedAt);
    if (late.length) problems.push(`the woken replica #${first} wrote to Slack after SIGCONT:\n  ${late.join('\n  ')}`);
    if (scenario.stepStarts() !== 1) problems.push(`the step started ${scenario.stepStarts()} times on the host`);
  });

/**
 * Cut the leader's connection to PostgreSQL with a breach open: it cannot renew its lease, so it must stop
 * calling Slack before the lease runs out, and another replica leads, resolves the breach and edits its message.
 * Restored, the cut replica follows.
 */
export const cutLeaderDatabase = (world: World, count: number) =>
  run(world, count, async (scenario, problems) => {
    const { set } = scenario;
    const first = await set.leader();
    scenario.setLoad('web-1', 0.95);
    await drained(scenario, 'the breach to be posted', (rows) => rows.some((row) => row.dedupeKey === 'breach:1'));
    const cutAt = Date.now();
    set.cutDatabase(first);
    const next = await set.leader({ not: [first] });
    scenario.setLoad('web-1', 0.1);
    await breachesResolved(scenario, 1);
    resolvedInPlace(scenario, 1, problems);
    const late = writesSince(scenario, first, cutAt + set.leaseMs);
    if (late.length) problems.push(`replica #${first}, cut from the database, wrote to Slack after its lease ran out:\n  ${late.join('\n  ')}`);
    set.restoreDatabase(first);
    await step('the restored replica to follow', async () => (await set.role(first)) === 'follower');
    if ((await set.leader()) !== next) problems.push('leadership moved back to the restored replica');
    const restoredAt = Date.now();
    // One more breach after the restore: posted once, by the leader only.
    scenario.setLoad('web-2', 0.95);
    await drained(scenario, 'a second breach to be posted', (rows) => rows.some((row) => row.dedupeKey === 'breach:2'));
    const restoredWrites = writesSince(scenario, first, restoredAt);
    if (restoredWrites.length) problems.push(`the restored follower #${first} wrote to Slack:\n  ${restoredWrites.join('\n  ')}`);
  });

export const SCENARIOS = {
  'kill -9 the leader mid-breach': killMidBreach,
  'kill -9 the leader mid-step': killMidStep,
  'kill -9 the leader mid-outbox': killMidOutbox,
  'SIGSTOP the leader past its lease, then SIGCONT': pauseLeader,
  "cut the leader's database connection": cutLeaderDatabase,
} as const;
