// The lists made from the guide's prose, walked in Slack: signed slash commands and clicks on the buttons of
// the message as the fake Slack stores it, through the real bot (startBot over HTTP).
import { afterEach, describe, expect, it } from 'vitest';
import { DESTRUCTIVE_WARNING } from '../../../blocks/checklist.ts';
import { loadConfig } from '../../../bot/config.ts';
import { getRun, lastCompletedRun, listTicks } from '../../../db/checklists.ts';
import { startTestBot, type TestBot, type TestBotOptions } from '../../helpers/bot.ts';
import { buttonsOf, click, itemBlock, repliesTo, responseTo, runMessage, startRun, waitForProgress } from '../../helpers/checklist-driver.ts';
import { checkBlockKitLimits } from '../../helpers/slack/index.ts';

const running: TestBot[] = [];
afterEach(async () => {
  for (const tb of running.splice(0).reverse()) await tb.stop();
});

async function bot(options: TestBotOptions = {}): Promise<TestBot> {
  const tb = await startTestBot(options);
  running.push(tb);
  return tb;
}

const ANA = 'U0ANA';
const BOB = 'U0BOB';
const defaults = loadConfig().checklists;

// Another change adds `load-balancer-backends` to config/runbooks.yaml; the walk does not wait for it: the
// test's own file configures one (items offer a runbook only while one with that id is configured).
const WITH_BACKENDS_RUNBOOK = `runbooks:
  - id: load-balancer-backends
    title: The load balancer's backends answer
    params:
      - { name: server, type: host }
    steps:
      - { id: health, title: Health endpoint, host: "{{server}}", run: "curl -fsS http://localhost/health", timeout: 1m }
`;

describe('the load-balancer checklist in Slack', () => {
  it('walks every item by clicks and a runbook success, section by section, to a completed run', async () => {
    const tb = await bot({ config: WITH_BACKENDS_RUNBOOK });
    const items = defaults.find((checklist) => checklist.id === 'load-balancer')!.items;
    let message = await startRun(tb, 'load-balancer "galion-lb"', 1);
    const blocks = message.blocks as Array<Record<string, any>>;
    expect(blocks[0]!.text.text).toBe('Add a load balancer: galion-lb');
    expect(blocks.filter((block) => block.type === 'section' && !block.accessory).map((block) => block.text.text)).toEqual([
      '*Step 1: Hetzner Load Balancer* · 0 of 7',
      '*Step 2: Identical servers* · 0 of 5',
      '*Step 3: Traffic* · 0 of 2',
    ]);
    expect(itemBlock(message, 'lb_health_check').text.text).toContain('path /health, interval 10 s, timeout 5 s, 3 retries');
    expect(itemBlock(message, 'lb_sticky').text.text).toContain('We use `galion_lb`');
    expect(
      buttonsOf(message)
        .filter((button) => button.action_id.startsWith('checklist_runbook_'))
        .map((button) => [button.action_id, button.text.text]),
    ).toEqual([['checklist_runbook_backends_healthy', 'Start runbook load-balancer-backends']]);
    const asked = await click(tb, message, 'checklist_runbook_backends_healthy', ANA);
    expect((await responseTo(tb.fake, asked)).body?.text).toBe(
      'Start it with `/scale run load-balancer-backends server=<host>` (it needs server). When the run succeeds, this item is ticked.',
    );

    // Every other item by hand, Ana and Bob in turn, each click on the copy the last change left.
    const byHand = items.filter((item) => item.id !== 'backends_healthy');
    for (const [index, item] of byHand.entries()) {
      await click(tb, message, `checklist_toggle_${item.id}`, index % 2 === 0 ? ANA : BOB);
      message = await waitForProgress(tb.fake, 1, `${index + 1} of ${items.length}`);
    }
    expect(buttonsOf(message).find((button) => button.action_id === 'checklist_close')?.text.text).toBe('Close run');

    // The runbook's success ticks the last item, as its requester.
    expect(await tb.bot.checklists.tickItemsForRunbook({ runbookId: 'load-balancer-backends', user: BOB, detail: { runbook_run_id: 7 } })).toEqual([
      { runId: 1, itemId: 'backends_healthy' },
    ]);
    message = await waitForProgress(tb.fake, 1, `${items.length} of ${items.length}`);
    expect(itemBlock(message, 'backends_healthy').text.text).toContain('runbook `load-balancer-backends` succeeded');
    expect(buttonsOf(message).find((button) => button.action_id === 'checklist_close')).toMatchObject({ text: { text: 'Complete run' } });

    await click(tb, message, 'checklist_close', ANA);
    const [summary] = await tb.fake.waitFor((f) => {
      const replies = repliesTo(f, message);
      return replies.length > 0 ? replies : undefined;
    });
    expect(summary!.text).toMatch(/^:checkered_flag: Add a load balancer: galion-lb completed by <@U0ANA>: all 14 items in /);
    expect(getRun(tb.bot.database.db, 1)).toMatchObject({ status: 'completed', endedBy: ANA });
    expect(lastCompletedRun(tb.bot.database.db, 'load-balancer')).toMatchObject({ runId: 1, name: 'galion-lb' });
    expect(listTicks(tb.bot.database.db, 1).map((tick) => [tick.itemId, tick.source])).toEqual([
      ...byHand.map((item) => [item.id, 'click']),
      ['backends_healthy', 'runbook'],
    ]);
  });
});

describe('the destructive database failover test in Slack', () => {
  it('shows the warning, asks before its tick, and keeps the warning once ticked', async () => {
    const tb = await bot();
    const message = await startRun(tb, 'tests "scratch replica"', 1);
    const open = itemBlock(message, 'db_failover_test');
    expect(open.text.text.split('\n')[1]).toBe(DESTRUCTIVE_WARNING);
    expect(open.accessory).toMatchObject({ style: 'danger', confirm: { confirm: { text: 'Done on a scratch copy' }, deny: { text: 'Cancel' } } });
    expect(buttonsOf(message).find((button) => button.action_id === 'checklist_runbook_db_failover_test')?.confirm).toMatchObject({
      title: { text: 'Start a destructive runbook?' },
    });
    // Slack sends the click only once the dialog is confirmed; the fake sends it as confirmed.
    await click(tb, message, 'checklist_toggle_db_failover_test', ANA);
    const ticked = await waitForProgress(tb.fake, 1, '1 of 4');
    expect(checkBlockKitLimits(ticked.blocks)).toEqual([]);
    const block = itemBlock(ticked, 'db_failover_test');
    expect(block.text.text).toMatch(/^:white_check_mark: Database failover test on a SCRATCH replica/);
    expect(block.text.text).toContain(DESTRUCTIVE_WARNING);
    expect(block.accessory).toMatchObject({ text: { text: 'Untick' } });
    expect(block.accessory.confirm).toBeUndefined();
    expect(runMessage(tb.fake, 1)!.ts).toBe(message.ts);
  });
});
