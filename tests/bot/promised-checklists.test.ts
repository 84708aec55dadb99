// README: "A runbook with `requires_checklist: before` waits until the latest `before` run (abandoned ones left
// out) is completed, within the last seven days", and "A run keeps its checklist as it was when it started, so
// a restart or a config change never breaks the buttons of a message already posted." Through the real bot.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRun as getChecklistRun } from '../../db/checklists.ts';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { click, itemBlock, startRun, waitForProgress } from '../helpers/checklist-driver.ts';
import { startFakeSlack, type FakeSlack } from '../helpers/slack/index.ts';

const ANA = 'U0ANA';
const BOB = 'U0BOB';
const DAY_MS = 86_400_000;

describe('requires_checklist: the latest run, abandoned ones left out, completed within seven days', () => {
  let tb: TestBot;
  beforeAll(async () => {
    tb = await startTestBot({ config: 'checklists:\n  - id: tests\n    items:\n      - { id: load_test, text: Load test }\n' });
  });
  afterAll(async () => tb?.stop());

  it('counts a completed run for seven days, not one minute more, and an abandoned later run changes nothing', async () => {
    const gate = (at: Date) => tb.bot.checklists.gate('tests', at);
    const first = await startRun(tb, 'tests "week one"', 1);
    await click(tb, first, 'checklist_toggle_load_test', ANA);
    const done = await waitForProgress(tb.fake, 1, '1 of 1');
    await click(tb, done, 'checklist_close', BOB);
    await tb.fake.waitFor(() => getChecklistRun(tb.bot.database.db, 1)?.status === 'completed');
    const completedAt = getChecklistRun(tb.bot.database.db, 1)!.endedAt!;

    expect(await gate(new Date(completedAt.getTime() + 7 * DAY_MS - 60_000))).toMatchObject({
      complete: true,
      text: expect.stringMatching(/^run #1 \(week one\) completed /),
    });
    expect(await gate(new Date(completedAt.getTime() + 7 * DAY_MS + 60_000))).toMatchObject({
      complete: false,
      text: expect.stringMatching(/^run #1 \(week one\) was completed .*, more than 7 days ago; start one with \/scale checklist tests$/),
    });

    // A later run, started and then called off: the completed one still counts.
    const second = await startRun(tb, 'tests "called off"', 2);
    expect(await gate(new Date())).toMatchObject({ complete: false, text: 'run #2 (called off) is open, 0 of 1 done' });
    await click(tb, second, 'checklist_abandon', BOB);
    await tb.fake.waitFor(() => getChecklistRun(tb.bot.database.db, 2)?.status === 'abandoned');
    expect(await gate(new Date())).toMatchObject({ complete: true, text: expect.stringMatching(/^run #1 \(week one\) completed /) });
  });
});

describe('checklist buttons after a config change', () => {
  let fake: FakeSlack;
  const bots: TestBot[] = [];
  const databaseFile = join(mkdtempSync(join(tmpdir(), 'scalebot-promised-checklists-')), 'scalebot.db');
  const withItems = (items: string) => `checklists:\n  - id: ops\n    title: Ops drill\n    items:\n${items}`;

  beforeAll(async () => {
    fake = await startFakeSlack();
  });
  afterAll(async () => {
    for (const bot of bots.splice(0)) await bot.stop();
    await fake?.close();
  });

  async function restartWith(config: string): Promise<TestBot> {
    for (const bot of bots.splice(0)) await bot.stop();
    const bot = await startTestBot({ fake, databaseFile, config });
    bots.push(bot);
    return bot;
  }

  it('keep working on a posted message when the list is changed or switched off: the run keeps its items as they were', async () => {
    const first = await restartWith(withItems('      - { id: drain, text: Drain the node }\n      - { id: reboot, text: Reboot the node }\n'));
    const posted = await startRun(first, 'ops', 1);
    await click(first, posted, 'checklist_toggle_drain', ANA);
    const oneDone = await waitForProgress(fake, 1, '1 of 2');

    // `reboot` is gone from the config, `drain` reworded, a new item added.
    const second = await restartWith(withItems('      - { id: drain, text: Cordon and drain }\n      - { id: patch, text: Patch the kernel }\n'));
    await click(second, oneDone, 'checklist_toggle_reboot', BOB);
    const twoDone = await waitForProgress(fake, 1, '2 of 2');
    expect(itemBlock(twoDone, 'drain').text.text).toContain('Drain the node');
    expect(itemBlock(twoDone, 'reboot').text.text).toContain('Reboot the node');
    expect(JSON.stringify(twoDone.blocks)).not.toContain('Patch the kernel');

    // The list switched off altogether: the run's buttons still answer.
    const third = await restartWith('checklists:\n  - { id: ops, enabled: false }\n');
    const url = await click(third, twoDone, 'checklist_toggle_reboot', BOB);
    const unticked = await waitForProgress(fake, 1, '1 of 2');
    expect(itemBlock(unticked, 'reboot').text.text).not.toContain('<@U0BOB>');
    expect(fake.responses.filter((response) => response.url === url)).toEqual([]);
    await click(third, unticked, 'checklist_toggle_reboot', ANA);
    const again = await waitForProgress(fake, 1, '2 of 2');
    expect(itemBlock(again, 'reboot').text.text).toContain('<@U0ANA>');
    expect(fake.callsTo('chat.postMessage')).toHaveLength(1);
  });
});
