import type { RespondArguments, RespondFn } from '@slack/bolt';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../bot/config.ts';
import { parseAdviseAction, startTarget } from '../../../bot/listeners/advise-actions.ts';
import type { CommandDeps, Subcommand } from '../../../commands/types.ts';
import { openDatabase, type DatabaseHandle } from '../../../db/client.ts';
import { listDecisions } from '../../../db/decision-log.ts';
import type { PrometheusPort } from '../../../integrations/prometheus.ts';

// The checklist feature lives on another branch: a stand-in `checklist` subcommand shows that the Start button
// runs it through the dispatcher as the clicker once it is registered.
const checklistRuns: Array<{ args: readonly string[]; user: string; channel: string }> = [];
vi.mock('../../../commands/registry.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../commands/registry.ts')>();
  const checklist: Subcommand = {
    name: 'checklist',
    usage: 'checklist <id>',
    summary: 'stand-in',
    async run({ args, user, channel, respond }) {
      checklistRuns.push({ args, user, channel });
      await respond({ text: `checklist ${args.join(' ')} posted`, ephemeral: false });
    },
  };
  const SUBCOMMANDS = [checklist, ...original.SUBCOMMANDS.filter((sub) => sub.name !== 'checklist')];
  return { SUBCOMMANDS, findSubcommand: (name: string) => SUBCOMMANDS.find((sub) => sub.name === name.toLowerCase()) };
});

const handles: DatabaseHandle[] = [];
afterEach(() => {
  for (const handle of handles.splice(0)) handle.close();
  checklistRuns.length = 0;
});

function deps(): CommandDeps {
  const handle = openDatabase(':memory:');
  handles.push(handle);
  const prometheus: PrometheusPort = { url: 'http://unused', queryRange: async () => [], queryInstant: async () => [] };
  return { config: loadConfig(), prometheus, db: handle.db, logger: pino({ level: 'silent' }), clock: () => new Date('2026-03-14T02:00:00Z') };
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
  it('runs `/scale checklist <id>` as the clicker when the bot has checklists, logged like a typed command', async () => {
    const d = deps();
    const { respond, replies } = recorder();
    await startTarget('checklist:before', { user: 'U0BOB0001', channel: 'C0OPS00001', respond, deps: d });
    expect(checklistRuns).toEqual([{ args: ['before'], user: 'U0BOB0001', channel: 'C0OPS00001' }]);
    expect(replies).toEqual([{ response_type: 'in_channel', text: 'checklist before posted', replace_original: false }]);
    expect(listDecisions(d.db).map((row) => [row.kind, row.subject, row.outcome, row.actor])).toEqual([
      ['command', 'checklist', 'ok', 'U0BOB0001'],
      ['advice_start', 'checklist:before', 'started', 'U0BOB0001'],
    ]);
  });

  it('says exactly what to type for a runbook that needs parameters', async () => {
    const d = deps();
    const { respond, replies } = recorder();
    await startTarget('runbook:vertical-migration', { user: 'U0BOB0001', channel: 'C0OPS00001', respond, deps: d });
    expect(replies).toEqual([
      {
        response_type: 'ephemeral',
        replace_original: false,
        text: 'Type `/scale run vertical-migration old=<host> new=<host> new_ip=<ip>` to plan it; it runs once someone else approves it.',
      },
    ]);
    expect(listDecisions(d.db)[0]).toMatchObject({ kind: 'advice_start', outcome: 'started' });
  });
});
