import type { RespondArguments, RespondFn } from '@slack/bolt';
import pino from 'pino';
import { WebClient } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createChecklistRuns } from '../../../services/checklists/runs.ts';
import { loadConfig } from '../../../core/config/index.ts';
import { parseAdviseAction, startTarget } from '../../../bot/listeners/advise-actions.ts';
import { createOutboxDeliverer } from '../../../services/outbox.ts';
import type { CommandDeps } from '../../../commands/types.ts';
import { openDatabase, type DatabaseHandle } from '../../../db/client.ts';
import { createSqliteStorage } from '../../../db/storage.ts';
import { listDecisions } from '../../../db/decision-log.ts';
import { createPrometheus, type PrometheusPort } from '../../../integrations/prometheus.ts';
import { startFakeSlack, type FakeSlack } from '../../helpers/slack/index.ts';

const handles: DatabaseHandle[] = [];
const fakes: FakeSlack[] = [];
afterEach(async () => {
  for (const handle of handles.splice(0)) handle.close();
  for (const fake of fakes.splice(0)) await fake.close();
});

function deps(): CommandDeps {
  const handle = openDatabase(':memory:');
  handles.push(handle);
  // Never asked: these clicks answer from the config and the database.
  const prometheus: PrometheusPort = createPrometheus({ url: 'http://127.0.0.1:9', timeoutMs: 1000 });
  return { config: loadConfig(), prometheus, db: handle.db, logger: pino({ level: 'silent' }), clock: () => new Date('2026-03-14T02:00:00Z') };
}

/** The real checklist runs, posting through the real outbox to the fake Slack: what the Start button reaches in the bot. */
async function depsWithChecklists(): Promise<{ deps: CommandDeps; fake: FakeSlack }> {
  const fake = await startFakeSlack();
  fakes.push(fake);
  const base = deps();
  const client = new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
  const deliver = createOutboxDeliverer(base.db, client, base.clock, base.logger);
  const { config, prometheus, logger, clock } = base;
  const checklists = createChecklistRuns({ config, prometheus, storage: createSqliteStorage(handles.at(-1)!), logger, clock, deliver, isAllowed: async () => true });
  return { deps: { ...base, checklists }, fake };
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
    expect(listDecisions(d.db).map((row) => [row.kind, row.subject, row.outcome, row.actor])).toEqual([
      ['command', 'checklist', 'posted', 'U0BOB0001'],
      ['checklist_started', 'before', 'open', 'U0BOB0001'],
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
