// /scale checklist and its buttons, through the real bot (startBot over HTTP), Slack's signed requests and the
// fake Slack's record of what the bot posted, edited and answered.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../bot/config.ts';
import { getRun, lastCompletedRun, listTicks } from '../../../db/checklists.ts';
import { listDecisions } from '../../../db/decision-log.ts';
import { startTestBot, type TestBot, type TestBotOptions } from '../../helpers/bot.ts';
import {
  buttonsOf,
  CHANNEL,
  click,
  itemBlock,
  repliesTo,
  responseTo,
  runMessage,
  scale,
  startRun,
  waitForProgress,
  waitForRunMessage,
} from '../../helpers/checklist-driver.ts';
import { buildBlockActionsPayload, checkBlockKitLimits, startFakeSlack, type FakeSlack } from '../../helpers/slack/index.ts';

const running: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const thing of running.splice(0).reverse()) await thing.stop();
});

async function bot(options: TestBotOptions = {}): Promise<TestBot> {
  const tb = await startTestBot(options);
  running.push(tb);
  return tb;
}

async function fakeSlack(options: Parameters<typeof startFakeSlack>[0] = {}): Promise<FakeSlack> {
  const fake = await startFakeSlack(options);
  running.push({ stop: () => fake.close() });
  return fake;
}

const ANA = 'U0ANA';
const BOB = 'U0BOB';
const defaults = loadConfig().checklists;

/** Checklist state the bot stores: what must not move when a click is refused. */
function snapshotState(tb: TestBot, runId: number) {
  return {
    run: getRun(tb.bot.database.db, runId),
    ticks: listTicks(tb.bot.database.db, runId),
    updates: tb.fake.callsTo('chat.update').length,
    posts: tb.fake.callsTo('chat.postMessage').length,
  };
}

describe('/scale checklist', () => {
  it('posts each default list in the channel: every item with a button, progress, Close and Abandon', async () => {
    const tb = await bot();
    for (const [index, checklist] of defaults.entries()) {
      const message = await startRun(tb, checklist.id, index + 1);
      const blocks = message.blocks as Array<Record<string, any>>;
      expect(blocks[0]).toMatchObject({ type: 'header', text: { text: checklist.title } });
      expect(JSON.stringify(blocks)).toContain(`0 of ${checklist.items.length} done`);
      const itemButtons = buttonsOf(message).filter((button) => /^checklist_(toggle|snapshot)_/.test(button.action_id));
      expect(itemButtons.map((button) => button.value)).toEqual(
        checklist.items.map((item) => `${index + 1}:${item.id}:${item.action?.kind === 'status_snapshot' ? 'snapshot' : 'tick'}`),
      );
      expect(
        buttonsOf(message)
          .map((button) => button.action_id)
          .slice(-2),
      ).toEqual(['checklist_close', 'checklist_abandon']);
      expect(message.user).toBe(tb.fake.identity.botUserId);
    }
    // The optimization list: four section headings and 22 items in one message.
    const optimize = runMessage(tb.fake, 4)!;
    expect(
      (optimize.blocks as Array<Record<string, any>>).filter((block) => block.type === 'section' && !block.accessory).map((block) => block.text.text),
    ).toEqual([
      '*Database optimization* · 0 of 5',
      '*Application optimization* · 0 of 6',
      '*Frontend optimization* · 0 of 6',
      '*Infrastructure optimization* · 0 of 5',
    ]);
    const started = listDecisions(tb.bot.database.db, { kinds: ['checklist_started'] });
    expect(started.map((row) => row.subject).reverse()).toEqual(defaults.map((checklist) => checklist.id));
  });

  it('names a run after its operation and lists the checklists and the open runs', async () => {
    const tb = await bot();
    const message = await startRun(tb, 'before "move to CPX51"', 1);
    expect((message.blocks as Array<Record<string, any>>)[0]!.text.text).toBe('Before scaling: move to CPX51');
    await startRun(tb, 'optimize first pass', 2);
    const listUrl = await scale(tb, 'checklist', BOB);
    const listing = await responseTo(tb.fake, listUrl);
    expect(listing.body).toMatchObject({ response_type: 'ephemeral' });
    expect(checkBlockKitLimits(listing.body!.blocks)).toEqual([]);
    const text = JSON.stringify(listing.body!.blocks);
    for (const checklist of defaults) expect(text).toContain(`/scale checklist ${checklist.id}`);
    expect(text).toContain('*Open runs* (2)');
    expect(text).toContain('#1 *Before scaling: move to CPX51* · 0 of 8 done');
    expect(text).toContain('#2 *Performance optimization before scaling: first pass* · 0 of 22 done');
    expect(text).toContain(`https://slack.com/archives/${CHANNEL}/p${message.ts.replace('.', '')}`);
  });

  it('answers an unknown list with the ones there are, and posts nothing', async () => {
    const tb = await bot();
    const url = await scale(tb, 'checklist nonsense');
    const answer = await responseTo(tb.fake, url);
    expect(answer.body?.text).toContain(
      'There is no checklist `nonsense`. The checklists are: `before`, `during`, `after`, `optimize`, `tests`, `load-balancer`, `stateless`, `emergency`.',
    );
    expect(tb.fake.callsTo('chat.postMessage')).toEqual([]);
  });

  it('posts a list that a config file adds', async () => {
    const tb = await bot({
      config: `checklists:
  - id: release
    title: Release day
    items:
      - { id: freeze, text: Announce the code freeze }
      - { id: smoke, text: Smoke test the new version, section: Checks }
`,
    });
    const message = await startRun(tb, 'release "v2.3"', 1);
    expect((message.blocks as Array<Record<string, any>>)[0]!.text.text).toBe('Release day: v2.3');
    expect(itemBlock(message, 'freeze').text.text).toBe(':white_large_square: Announce the code freeze');
    const url = await click(tb, message, 'checklist_toggle_smoke', ANA);
    await waitForProgress(tb.fake, 1, '1 of 2');
    expect(tb.fake.responses.filter((response) => response.url === url)).toEqual([]);
  });

  it('posts the checklist once Slack takes it, when it was rate limited at first', async () => {
    const tb = await bot();
    tb.fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const url = await scale(tb, 'checklist during');
    expect((await responseTo(tb.fake, url)).body?.text).toBe(
      ':warning: Slack did not take the message yet (rate limited). Run #1 is saved; I keep trying and it appears here once Slack answers.',
    );
    const message = await tb.fake.waitFor((f) => runMessage(f, 1), { timeoutMs: 5000 });
    expect(JSON.stringify(message.blocks)).toContain('0 of 7 done');
    expect(tb.fake.callsTo('chat.postMessage').map((call) => call.response?.status)).toEqual([429, 200]);
  });

  it('tells the user when it cannot post in the channel, and leaves no open run behind', async () => {
    const fake = await fakeSlack({ channels: { C0OTHER: 'other' } });
    const tb = await bot({ fake });
    const url = await scale(tb, 'checklist before');
    const answer = await responseTo(tb.fake, url);
    expect(answer.body?.text).toContain('I cannot post in this channel: invite me first');
    expect(getRun(tb.bot.database.db, 1)).toMatchObject({ status: 'abandoned', endedBy: 'scalebot' });
  });
});

describe('checklist buttons', () => {
  it('ticks and unticks: the message is re-rendered from the stored state with who and when; the history keeps both', async () => {
    const tb = await bot();
    const first = await startRun(tb, 'before', 1);
    await click(tb, first, 'checklist_toggle_identify_bottlenecks', ANA);
    const ticked = await waitForProgress(tb.fake, 1, '1 of 8');
    expect(ticked.ts).toBe(first.ts);
    const block = itemBlock(ticked, 'identify_bottlenecks');
    expect(block.text.text).toMatch(/^:white_check_mark: Identify bottlenecks \(CPU, memory, DB, network\)\n_<@U0ANA> · <!date\^\d+\^/);
    expect(block.accessory).toMatchObject({ text: { text: 'Untick' }, value: '1:identify_bottlenecks:untick' });
    const update = tb.fake.callsTo('chat.update').at(-1)!;
    expect(update.args).toMatchObject({ channel: CHANNEL, ts: first.ts });

    await click(tb, ticked, 'checklist_toggle_identify_bottlenecks', BOB);
    const unticked = await waitForProgress(tb.fake, 1, '0 of 8');
    expect(itemBlock(unticked, 'identify_bottlenecks').text.text).toBe(':white_large_square: Identify bottlenecks (CPU, memory, DB, network)');

    const ticks = listTicks(tb.bot.database.db, 1);
    expect(ticks.map((tick) => [tick.itemId, tick.action, tick.actor, tick.source])).toEqual([
      ['identify_bottlenecks', 'tick', ANA, 'click'],
      ['identify_bottlenecks', 'untick', BOB, 'click'],
    ]);
    expect(ticks.every((tick) => tick.at instanceof Date)).toBe(true);
    const decisions = listDecisions(tb.bot.database.db, { kinds: ['checklist_tick', 'checklist_untick'] });
    expect(decisions.map((row) => [row.kind, row.actor, row.detail.item_id]).reverse()).toEqual([
      ['checklist_tick', ANA, 'identify_bottlenecks'],
      ['checklist_untick', BOB, 'identify_bottlenecks'],
    ]);
  });

  it("does not let a click on a stale copy undo someone else's tick", async () => {
    const tb = await bot();
    const stale = await startRun(tb, 'before', 1);
    await click(tb, stale, 'checklist_toggle_document_config', ANA);
    const fresh = await waitForProgress(tb.fake, 1, '1 of 8');
    const before = snapshotState(tb, 1);

    // Bob still sees the item open and clicks "Tick": it stays ticked by Ana.
    const url = await click(tb, stale, 'checklist_toggle_document_config', BOB);
    const answer = await responseTo(tb.fake, url);
    expect(answer.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(answer.body?.text).toMatch(/^Already ticked by <@U0ANA> <!date/);
    expect(listTicks(tb.bot.database.db, 1)).toEqual(before.ticks);
    expect(itemBlock(runMessage(tb.fake, 1)!, 'document_config').text.text).toContain('<@U0ANA>');

    // And the other way round: Ana unticks; Bob's "Untick" on the copy that showed it ticked changes nothing.
    await click(tb, fresh, 'checklist_toggle_document_config', ANA);
    await waitForProgress(tb.fake, 1, '0 of 8');
    const second = await click(tb, fresh, 'checklist_toggle_document_config', BOB);
    expect((await responseTo(tb.fake, second)).body?.text).toContain('nothing was changed');
    expect(listTicks(tb.bot.database.db, 1).map((tick) => [tick.action, tick.actor])).toEqual([
      ['tick', ANA],
      ['untick', ANA],
    ]);
  });

  it('counts clicks from two people on different items at the same moment', async () => {
    const tb = await bot();
    const message = await startRun(tb, 'during', 1);
    const items = defaults.find((checklist) => checklist.id === 'during')!.items.map((item) => item.id);
    // Every item at once, alternating users, all from the same copy of the message.
    await Promise.all(items.map((itemId, index) => click(tb, message, `checklist_toggle_${itemId}`, index % 2 === 0 ? ANA : BOB)));
    const done = await waitForProgress(tb.fake, 1, `${items.length} of ${items.length}`);
    for (const [index, itemId] of items.entries()) expect(itemBlock(done, itemId).text.text).toContain(`<@${index % 2 === 0 ? ANA : BOB}>`);
    const ticks = listTicks(tb.bot.database.db, 1);
    expect(new Set(ticks.map((tick) => tick.itemId))).toEqual(new Set(items));
    expect(ticks).toHaveLength(items.length);
    expect(tb.fake.responses).toEqual([]);
    // Slack ends with the latest rendering: every later update was sent after the earlier ones.
    await tb.fake.waitFor((f) => f.callsTo('chat.update').every((call) => call.response));
    expect(JSON.stringify(tb.fake.callsTo('chat.update').at(-1)!.args.blocks)).toContain(`${items.length} of ${items.length} done`);
  });

  it('keeps working on a message posted before a restart', async () => {
    const fake = await fakeSlack();
    const databaseFile = join(mkdtempSync(join(tmpdir(), 'scalebot-restart-')), 'scalebot.db');
    const first = await startTestBot({ fake, databaseFile });
    const posted = await startRun(first, 'after "CPX51 week"', 1);
    await click(first, posted, 'checklist_toggle_verify_health', ANA);
    const beforeRestart = await waitForProgress(fake, 1, '1 of 6');
    await first.stop();

    const second = await bot({ fake, databaseFile });
    await click(second, beforeRestart, 'checklist_toggle_test_user_paths', BOB);
    const after = await waitForProgress(fake, 1, '2 of 6');
    expect(after.ts).toBe(posted.ts);
    expect(itemBlock(after, 'verify_health').text.text).toContain('<@U0ANA>');
    expect(itemBlock(after, 'test_user_paths').text.text).toContain('<@U0BOB>');
    expect(fake.callsTo('chat.postMessage')).toHaveLength(1);
    // A stale copy from before the restart still cannot undo a tick.
    const url = await click(second, posted, 'checklist_toggle_verify_health', BOB);
    expect((await responseTo(fake, url)).body?.text).toMatch(/^Already ticked by <@U0ANA>/);
  });

  it('refuses a user who may not tick, and lets responders and members of a responder group', async () => {
    const fake = await fakeSlack({ userGroups: { S0OPS: ['U0GROUPIE'] } });
    const tb = await bot({ fake, config: 'checklists:\n  - id: tests\n    responders: [U0LEAD, S0OPS]\n' });
    const message = await startRun(tb, 'tests', 1);
    const before = snapshotState(tb, 1);
    for (const actionId of ['checklist_toggle_load_test', 'checklist_close', 'checklist_abandon']) {
      const url = await click(tb, message, actionId, 'U0STRANGER');
      const answer = await responseTo(tb.fake, url);
      expect(answer.body?.text).toBe(
        ':no_entry: Only <@U0LEAD>, <!subteam^S0OPS> may tick this checklist (`checklists.tests.responders`). Nothing was changed.',
      );
    }
    expect(snapshotState(tb, 1)).toEqual(before);
    expect(listDecisions(tb.bot.database.db, { kinds: ['checklist_click_refused'] })).toHaveLength(3);

    await click(tb, message, 'checklist_toggle_load_test', 'U0LEAD');
    await waitForProgress(tb.fake, 1, '1 of 4');
    await click(tb, message, 'checklist_toggle_stress_test', 'U0GROUPIE');
    const done = await waitForProgress(tb.fake, 1, '2 of 4');
    expect(itemBlock(done, 'stress_test').text.text).toContain('<@U0GROUPIE>');
  });

  it('completes a run whose items are all ticked: a summary in the thread, a decision log row, no more buttons', async () => {
    // The bot's clock moves on with each click; by less than Slack's five minutes of allowed skew, since the
    // HTTP server checks request timestamps against that same clock.
    let now = Date.now();
    const tb = await bot({ clock: () => new Date(now) });
    const message = await startRun(tb, 'tests "CPX51"', 1, BOB);
    const items = ['load_test', 'stress_test', 'failover_test', 'db_failover_test'];
    for (const [index, itemId] of items.entries()) {
      now += 60_000;
      await click(tb, message, `checklist_toggle_${itemId}`, index < 3 ? ANA : BOB);
      await waitForProgress(tb.fake, 1, `${index + 1} of 4`);
    }
    now += 30_000;
    const full = runMessage(tb.fake, 1)!;
    expect(buttonsOf(full).find((button) => button.action_id === 'checklist_close')).toMatchObject({ text: { text: 'Complete run' }, style: 'primary' });

    // Ana unticks one; Bob's copy still says "Complete run": his click completes nothing.
    await click(tb, full, 'checklist_toggle_stress_test', ANA);
    await waitForProgress(tb.fake, 1, '3 of 4');
    const stale = await click(tb, full, 'checklist_close', BOB);
    expect((await responseTo(tb.fake, stale)).body?.text).toBe(
      'Not every item is ticked any more (“Stress test” is open); the run stays open. Use Close run to close it with items open.',
    );
    expect(getRun(tb.bot.database.db, 1)).toMatchObject({ status: 'open' });
    await click(tb, runMessage(tb.fake, 1)!, 'checklist_toggle_stress_test', ANA);
    await waitForProgress(tb.fake, 1, '4 of 4');
    await click(tb, runMessage(tb.fake, 1)!, 'checklist_close', BOB);

    const [summary] = await tb.fake.waitFor((f) => {
      const replies = repliesTo(f, message);
      return replies.length > 0 ? replies : undefined;
    });
    expect(summary!.text).toBe(':checkered_flag: Testing scaled architecture: CPX51 completed by <@U0BOB>: all 4 items in 4 min.');
    const summaryText = JSON.stringify(summary!.blocks);
    expect(summaryText).toContain('• <@U0ANA>: 3 items');
    expect(summaryText).toContain('• <@U0BOB>: 1 item');
    expect(checkBlockKitLimits(summary!.blocks)).toEqual([]);

    const ended = await tb.fake.waitFor((f) => {
      const current = runMessage(f, 1)!;
      return buttonsOf(current).length === 0 ? current : undefined;
    });
    expect(JSON.stringify(ended.blocks)).toContain('*Completed* by <@U0BOB>');
    expect(getRun(tb.bot.database.db, 1)).toMatchObject({ status: 'completed', endedBy: BOB });
    const [row] = listDecisions(tb.bot.database.db, { kinds: ['checklist_completed'] });
    expect(row).toMatchObject({ actor: BOB, subject: 'tests', outcome: 'completed', detail: { run_id: 1, name: 'CPX51' } });
    expect(row!.detail.summary).toMatchObject({
      done: 4,
      total: 4,
      durationSeconds: 270,
      byPerson: [
        { user: ANA, items: 3 },
        { user: BOB, items: 1 },
      ],
    });
    expect(lastCompletedRun(tb.bot.database.db, 'tests')).toMatchObject({ runId: 1, name: 'CPX51', completedBy: BOB });
  });

  it('answers a click on a closed or abandoned run ephemerally and changes nothing', async () => {
    const tb = await bot();
    const message = await startRun(tb, 'before', 1);
    await click(tb, message, 'checklist_toggle_calculate_costs', ANA);
    const ticked = await waitForProgress(tb.fake, 1, '1 of 8');
    await click(tb, ticked, 'checklist_close', BOB);
    const [summary] = await tb.fake.waitFor((f) => {
      const replies = repliesTo(f, message);
      return replies.length > 0 ? replies : undefined;
    });
    expect(summary!.text).toMatch(/^:lock: Before scaling closed by <@U0BOB> after \d+ s: 1 of 8 items done, 7 left open\.$/);
    expect(getRun(tb.bot.database.db, 1)).toMatchObject({ status: 'closed' });
    expect(lastCompletedRun(tb.bot.database.db, 'before')).toBeUndefined();
    await tb.fake.waitFor((f) => buttonsOf(runMessage(f, 1)!).length === 0);

    const before = snapshotState(tb, 1);
    for (const [actionId, copy] of [
      ['checklist_toggle_calculate_costs', ticked],
      ['checklist_toggle_rollback_plan', ticked],
      ['checklist_snapshot_review_metrics', message],
      ['checklist_close', ticked],
      ['checklist_abandon', ticked],
    ] as const) {
      const url = await click(tb, copy, actionId, ANA);
      const answer = await responseTo(tb.fake, url);
      expect(answer.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
      expect(answer.body?.text).toMatch(/^This checklist run was closed by <@U0BOB> <!date.*; nothing was changed\.$/);
    }
    expect(snapshotState(tb, 1)).toEqual(before);

    const other = await startRun(tb, 'during', 2);
    await click(tb, other, 'checklist_abandon', ANA);
    await tb.fake.waitFor((f) => getRun(tb.bot.database.db, 2)?.status === 'abandoned' && repliesTo(f, other).length === 1);
    expect(repliesTo(tb.fake, other)[0]!.text).toMatch(/^:x: During scaling abandoned by <@U0ANA>/);
    const url = await click(tb, other, 'checklist_toggle_provision', BOB);
    expect((await responseTo(tb.fake, url)).body?.text).toMatch(/^This checklist run was abandoned by <@U0ANA>/);
    expect(listTicks(tb.bot.database.db, 2)).toEqual([]);
    expect(listDecisions(tb.bot.database.db, { kinds: ['checklist_closed', 'checklist_abandoned'] }).map((row) => row.kind)).toEqual([
      'checklist_abandoned',
      'checklist_closed',
    ]);
  });

  it('refuses malformed payloads (unknown run, unknown item, junk, another channel) without changing anything', async () => {
    const tb = await bot();
    const message = await startRun(tb, 'before', 1);
    const before = snapshotState(tb, 1);
    const forged: Array<[string, string, string | undefined, RegExp]> = [
      ['checklist_toggle_rollback_plan', '99:rollback_plan:tick', undefined, /^Checklist run #99 does not exist/],
      ['checklist_close', '99', undefined, /^Checklist run #99 does not exist/],
      ['checklist_toggle_nope', '1:nope:tick', undefined, /^Run #1 has no item "nope"/],
      ['checklist_toggle_rollback_plan', '1:rollback_plan:explode', undefined, /That button is not one I know/],
      ['checklist_toggle_rollback_plan', '1:document_config:tick', undefined, /That button is not one I know/],
      ['checklist_frobnicate', '1', undefined, /That button is not one I know/],
      ['checklist_toggle_rollback_plan', '1:rollback_plan:tick', 'C0ELSEWHERE', /does not belong to this checklist run/],
    ];
    for (const [actionId, value, channel, expected] of forged) {
      const url = await click(tb, message, actionId, ANA, { value, strict: false, ...(channel ? { channel } : {}) });
      const answer = await responseTo(tb.fake, url);
      expect(answer.body?.text, `${actionId} ${value}`).toMatch(expected);
    }
    expect(snapshotState(tb, 1)).toEqual(before);
  });

  it('ticks the items of a runbook when the runbook feature reports a successful run', async () => {
    const tb = await bot();
    const message = await startRun(tb, 'before', 1);
    await startRun(tb, 'during', 2);
    const ticked = await tb.bot.checklists.tickItemsForRunbook({ runbookId: 'backup', user: ANA, detail: { runbook_run_id: 42 } });
    expect(ticked).toEqual([
      { runId: 1, itemId: 'full_backup' },
      { runId: 2, itemId: 'create_backups' },
    ]);
    const updated = await waitForProgress(tb.fake, 1, '1 of 8');
    expect(updated.ts).toBe(message.ts);
    expect(itemBlock(updated, 'full_backup').text.text).toContain('runbook `backup` succeeded');
    expect(listTicks(tb.bot.database.db, 1)).toMatchObject([
      { itemId: 'full_backup', source: 'runbook', actor: ANA, detail: { runbook: 'backup', runbook_run_id: 42 } },
    ]);
    // Again: nothing left to tick. Only the named run: nothing there either.
    expect(await tb.bot.checklists.tickItemsForRunbook({ runbookId: 'backup', user: ANA })).toEqual([]);
    expect(await tb.bot.checklists.tickItemsForRunbook({ runbookId: 'test-restore', checklistRunId: 2, user: ANA })).toEqual([]);
    // The default runbooks exist, so open items naming one offer it; this one needs a server to run on.
    expect(
      buttonsOf(updated)
        .filter((button) => button.action_id.startsWith('checklist_runbook_'))
        .map((button) => button.text.text),
    ).toEqual(['Start runbook test-restore']);
    const url = await click(tb, updated, 'checklist_runbook_test_restore', ANA);
    expect((await responseTo(tb.fake, url)).body?.text).toBe(
      'Start it with `/scale run test-restore server=<host>` (it needs server). When the run succeeds, this item is ticked.',
    );
  });

  it('offers no runbook that is not configured, and refuses a forged click on one', async () => {
    const tb = await bot({
      config: 'checklists:\n  - id: release\n    title: Release\n    items:\n      - { id: dump, text: Dump the database, action: { runbook: pg-dump } }\n',
    });
    const message = await startRun(tb, 'release', 1);
    expect(buttonsOf(message).some((button) => button.action_id.startsWith('checklist_runbook_'))).toBe(false);
    const url = await click(tb, message, 'checklist_runbook_dump', ANA, { value: '1:dump:runbook', strict: false });
    expect((await responseTo(tb.fake, url)).body?.text).toBe('No runbook `pg-dump` is configured; tick the item by hand once it is done.');
    expect(listTicks(tb.bot.database.db, 1)).toEqual([]);
  });

  it('works the same over Socket Mode (how the bot runs by default)', async () => {
    const tb = await bot({ socketMode: true });
    await tb.fake.socket.sendSlashCommand({
      text: 'checklist after',
      user_id: ANA,
      channel_id: CHANNEL,
      response_url: tb.fake.newResponseUrl({ channel: CHANNEL, user: ANA }),
    });
    const message = await waitForRunMessage(tb.fake, 1);
    const payload = buildBlockActionsPayload({
      user: BOB,
      channel: CHANNEL,
      message,
      action: { action_id: 'checklist_toggle_update_docs' },
      response_url: tb.fake.newResponseUrl({ channel: CHANNEL, messageTs: message.ts, user: BOB }),
    });
    expect((await tb.fake.socket.sendInteraction(payload)).payload).toEqual({});
    const ticked = await waitForProgress(tb.fake, 1, '1 of 6');
    expect(itemBlock(ticked, 'update_docs').text.text).toContain('<@U0BOB>');
  });

  it('leaves "Review current metrics" open when Prometheus cannot be read, with the snapshot in the thread', async () => {
    const tb = await bot();
    const message = await startRun(tb, 'before', 1);
    const url = await click(tb, message, 'checklist_snapshot_review_metrics', ANA);
    const answer = await responseTo(tb.fake, url);
    expect(answer.body?.text).toMatch(/^:warning: Prometheus could not be read \(.+\); the snapshot is in the thread and the item stays open\.$/);
    const [reply] = await tb.fake.waitFor((f) => {
      const replies = repliesTo(f, message);
      return replies.length > 0 ? replies : undefined;
    });
    expect(reply!.text).toContain('Cannot tell: no metrics');
    expect(listTicks(tb.bot.database.db, 1)).toEqual([]);
    expect(JSON.stringify(runMessage(tb.fake, 1)!.blocks)).toContain('0 of 8 done');
  });
});
