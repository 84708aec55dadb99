// Checklists and runbooks together, through the real bot and a real sshd: an item starts its runbook, a run
// that succeeds ticks the item, and a runbook that requires a checklist waits until that checklist is done.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getRun as getChecklistRun, listTicks } from '../../../db/checklists.ts';
import { getRun as getRunbookRun, listRuns } from '../../../db/runbooks.ts';
import { startTestBot, type TestBot } from '../../helpers/bot.ts';
import { buttonsOf, CHANNEL, click, itemBlock, responseTo, runMessage, scale, startRun, waitForProgress } from '../../helpers/checklist-driver.ts';
import { startSshd, type SshdFixture } from '../../../devkit/sshd/index.ts';
import type { StoredMessage } from '../../helpers/slack/index.ts';

const ANA = 'U0ANA';
const BOB = 'U0BOB';

let sshd: SshdFixture;
let tb: TestBot;

beforeAll(async () => {
  sshd = await startSshd();
  const host = sshd.host;
  tb = await startTestBot({
    config: `hosts:
  local: { address: 127.0.0.1, port: ${host.port}, user: ${host.user}, private_key_file: "${host.privateKeyFile}", host_key: "${host.hostKey}" }
runbooks:
  - id: backup
    params: []
    approval: { approvers: [${BOB}] }
    steps:
      - { id: backup, title: Full backup, host: local, run: "echo backed-up", timeout: 30s }
  - id: migrate
    title: Migrate
    requires_checklist: tests
    approval: { approvers: [${BOB}] }
    steps:
      - { id: move, title: Move, host: local, run: "echo moved", timeout: 30s }
checklists:
  - id: tests
    items:
      - { id: load_test, text: Load test }
`,
  });
}, 60_000);

afterAll(async () => {
  await tb?.stop();
  await sshd?.stop();
});

/** The runbook run's plan message (the runner posts it with dedupe key run:<id>). */
function planMessage(runId: number): Promise<StoredMessage> {
  return tb.fake.waitFor((f) => f.messages(CHANNEL).find((message) => message.metadata?.event_payload.key === `run:${runId}`), { timeoutMs: 10_000 });
}

async function waitRunbook(runId: number, status: string): Promise<void> {
  await vi.waitFor(() => expect(getRunbookRun(tb.bot.database.db, runId)?.status).toBe(status), { timeout: 30_000, interval: 100 });
  await tb.bot.runbooks.idle();
}

describe('checklist items and runbooks', () => {
  it('starts the runbook from its item, and ticks the item as the requester when the run succeeds', async () => {
    const message = await startRun(tb, 'before "move to CPX51"', 1);
    // backup needs no parameters here; test-restore needs a server.
    expect(
      buttonsOf(message)
        .filter((button) => button.action_id.startsWith('checklist_runbook_'))
        .map((button) => [button.action_id, button.text.text]),
    ).toEqual([
      ['checklist_runbook_full_backup', 'Start runbook backup'],
      ['checklist_runbook_test_restore', 'Start runbook test-restore'],
    ]);
    const url = await click(tb, message, 'checklist_runbook_full_backup', ANA);
    expect((await responseTo(tb.fake, url)).body?.text).toBe(
      'Runbook `backup` is planned in this channel; it runs once approved, and ticks this item when it succeeds.',
    );
    const [planned] = listRuns(tb.bot.database.db, { limit: 1 });
    expect(planned).toMatchObject({ runbookId: 'backup', requester: ANA, status: 'awaiting_approval' });
    expect(listTicks(tb.bot.database.db, 1)).toEqual([]);

    await click(tb, await planMessage(planned!.id), 'run_approve', BOB);
    await waitRunbook(planned!.id, 'succeeded');

    const ticked = await waitForProgress(tb.fake, 1, '1 of 8');
    expect(itemBlock(ticked, 'full_backup').text.text).toMatch(
      /^:white_check_mark: Create full backup\n`\.\/scripts\/backup\.sh`\n_<@U0ANA> · <!date[^>]+> · runbook `backup` succeeded_$/,
    );
    expect(listTicks(tb.bot.database.db, 1)).toMatchObject([
      { itemId: 'full_backup', action: 'tick', actor: ANA, source: 'runbook', detail: { runbook: 'backup', runbook_run_id: planned!.id } },
    ]);
    expect(buttonsOf(ticked).some((button) => button.action_id === 'checklist_runbook_full_backup')).toBe(false);
  });

  it('holds a runbook that requires a checklist until the latest run of that checklist is completed', async () => {
    const gate = () => tb.bot.checklists.gate('tests', new Date());
    expect(await gate()).toEqual({ complete: false, text: 'no run of it yet; start one with /scale checklist tests' });

    const message = await startRun(tb, 'tests "CPX51"', 2);
    expect(await gate()).toEqual({ complete: false, text: 'run #2 (CPX51) is open, 0 of 1 done' });

    await scale(tb, 'run migrate', ANA);
    const runId = await vi.waitFor(() => {
      const [latest] = listRuns(tb.bot.database.db, { limit: 1 });
      expect(latest?.runbookId).toBe('migrate');
      return latest!.id;
    });
    await click(tb, await planMessage(runId), 'run_approve', BOB);
    await waitRunbook(runId, 'waiting_checklist');

    await click(tb, message, 'checklist_toggle_load_test', BOB);
    const done = await waitForProgress(tb.fake, 2, '1 of 1');
    await click(tb, done, 'checklist_close', BOB);
    await tb.fake.waitFor(() => getChecklistRun(tb.bot.database.db, 2)?.status === 'completed');
    expect(await gate()).toMatchObject({ complete: true, text: expect.stringMatching(/^run #2 \(CPX51\) completed \d{4}-\d\d-\d\d \d\d:\d\d UTC$/) });

    // Nobody has pressed anything on the run yet: its message already shows the checklist complete, and its
    // thread says it can start. It does not start by itself.
    const plan = await planMessage(runId);
    await tb.fake.waitFor(() => {
      const current = tb.fake.message(CHANNEL, plan.ts);
      return JSON.stringify(current?.blocks).includes(':white_check_mark: Checklist `tests`: run #2 (CPX51) completed');
    });
    const reply = await tb.fake.waitFor(() =>
      tb.fake.messages(CHANNEL).find((entry) => entry.thread_ts === plan.ts && entry.ts !== plan.ts && entry.text.includes('is complete: press *Start*')),
    );
    expect(reply.text).toBe(':white_check_mark: Checklist `tests` is complete: press *Start* to run.');
    expect(getRunbookRun(tb.bot.database.db, runId)?.status).toBe('waiting_checklist');

    await click(tb, await planMessage(runId), 'run_start', BOB);
    await waitRunbook(runId, 'succeeded');
    expect(runMessage(tb.fake, 2)?.text).toBe('Testing scaled architecture: CPX51: completed');
  });
});
