import type { RespondArguments, RespondFn } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAdviseAction } from '../../../blocks/advice.ts';
import { startTarget } from '../../../bot/listeners/advise-actions.ts';
import type { CommandDeps } from '../../../commands/types.ts';
import { createTestCommandDeps, type TestCommandDeps } from '../../helpers/command-deps.ts';
import { startFakeSlack, type FakeSlack } from '../../helpers/slack/index.ts';

const opened: TestCommandDeps[] = [];
const fakes: FakeSlack[] = [];
afterEach(async () => {
  for (const built of opened.splice(0)) await built.close();
  for (const fake of fakes.splice(0)) await fake.close();
});

/** Never asked: these clicks answer from the config and the database. */
async function deps(): Promise<CommandDeps> {
  const built = await createTestCommandDeps();
  opened.push(built);
  return built.deps;
}

/** The real checklist runs, posting through the real outbox to the fake Slack: what the Start button reaches in the bot. */
async function depsWithChecklists(): Promise<{ deps: CommandDeps; fake: FakeSlack }> {
  const fake = await startFakeSlack();
  fakes.push(fake);
  const built = await createTestCommandDeps({ slackApiUrl: fake.apiUrl });
  opened.push(built);
  return { deps: built.deps, fake };
}

function recorder(): { respond: RespondFn; replies: RespondArguments[] } {
  const replies: RespondArguments[] = [];
  const respond = (async (message: string | RespondArguments) => {
    replies.push(typeof message === 'string' ? { text: message } : message);
  }) as unknown as RespondFn;
  return { respond, replies };
}

describe('parseAdviseAction', () => {
  const targets = ['checklist:before', 'checklist:optimize'];
  it('reads what the advice message shows', () => {
    expect(parseAdviseAction('advise_yes', 'optimized', targets)).toEqual({ kind: 'answer', question: 'optimized', answer: 'yes' });
    expect(parseAdviseAction('advise_no', 'global_traffic', targets)).toEqual({ kind: 'answer', question: 'global_traffic', answer: 'no' });
    expect(parseAdviseAction('advise_change_cpu_memory', 'cpu_memory', targets)).toEqual({ kind: 'change', question: 'cpu_memory' });
    expect(parseAdviseAction('advise_refresh', 'refresh', targets)).toEqual({ kind: 'refresh' });
    expect(parseAdviseAction('advise_start', 'checklist:before', targets)).toEqual({ kind: 'start', target: 'checklist:before' });
  });

  it.each([
    ['advise_yes', 'everything'],
    ['advise_yes', undefined],
    ['advise_change_optimized', 'global_traffic'],
    ['advise_change_nothing', 'nothing'],
    ['advise_refresh', 'now'],
    ['advise_start', 'runbook:rm-rf'],
    ['advise_start', 'checklist:during'],
    ['advise_maybe', 'optimized'],
  ])('refuses %s with %j', (actionId, value) => {
    expect(parseAdviseAction(actionId, value, targets)).toBeNull();
  });
});

describe('the Start button', () => {
  it('runs `/scale checklist <id>` as the clicker, logged like a typed command', async () => {
    const { deps: d, fake } = await depsWithChecklists();
    const { respond } = recorder();
    await startTarget('checklist:before', { user: 'U0BOB0001', channel: 'C0OPS00001', respond, deps: d });
    const posted = fake.messages('C0OPS00001');
    expect(posted).toHaveLength(1);
    expect(posted[0]!.text).toMatch(/^Before scaling: 0 of \d+ done$/);
    expect((await d.storage.decisions.list()).map((row) => [row.kind, row.subject, row.outcome, row.actor])).toEqual([
      ['command', 'checklist', 'posted', 'U0BOB0001'],
      ['checklist_started', 'before', 'open', 'U0BOB0001'],
      ['advice_start', 'checklist:before', 'started', 'U0BOB0001'],
    ]);
  });

  it('says exactly what to type for a runbook that needs parameters', async () => {
    const d = await deps();
    const { respond, replies } = recorder();
    await startTarget('runbook:vertical-migration', { user: 'U0BOB0001', channel: 'C0OPS00001', respond, deps: d });
    expect(replies).toEqual([
      {
        response_type: 'ephemeral',
        replace_original: false,
        text: 'Type `/scale run vertical-migration old=<host> new=<host> new_ip=<ip>` to plan it; it runs once someone else approves it.',
      },
    ]);
    expect((await d.storage.decisions.list())[0]).toMatchObject({ kind: 'advice_start', outcome: 'started' });
  });
});
