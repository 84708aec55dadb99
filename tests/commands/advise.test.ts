// /scale advise through the real bot: signed slash commands and button clicks from the Slack harness, evidence
// from a real Prometheus backfilled with one scenario per branch of the decision tree.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDecisions } from '../../db/decision-log.ts';
import { click, slash, startTestBot, type TestBot } from '../helpers/bot.ts';
import { scenario, startPrometheus, step, unusedLoopbackUrl, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { buildBlockActionsPayload, sendInteraction, startFakeSlack, type FakeSlack, type StoredMessage } from '../helpers/slack/index.ts';

const NOW = Math.floor(Date.now() / 1000);
const clock = () => new Date(NOW * 1000);

interface Load {
  cpu?: number | ((t: number) => number);
  iowait?: number;
  memory?: number | ((t: number) => number);
  p99?: number | ((t: number) => number);
  db?: number;
}

/** Every "scale immediately" metric, healthy unless the scenario says otherwise; an hour of history (the longest window read is 30 min). */
function load(o: Load = {}): string {
  return scenario({ now: NOW, start: NOW - 3600 })
    .cpu('web-1:9100', o.cpu ?? 0.3)
    .diskIowait('web-1:9100', o.iowait ?? 0.02)
    .memory('web-1:9100', o.memory ?? 0.5)
    .apiP99(o.p99 ?? 0.25)
    .errorRate(0)
    .dbConnections('db-1:9187', o.db ?? 0.3)
    .redisMemory('redis-1:9121', 0.4)
    .toOpenMetrics();
}

const SCENARIOS = {
  healthy: load(),
  // CPU 90 % for the last 40 minutes: the cpu trigger (70 % for 15 min) and the advisor's 80 % both hold.
  cpu: load({ cpu: step(NOW - 40 * 60, 0.3, 0.9) }),
  // Memory 90 % for 30 minutes, everything else fine.
  memory: load({ memory: step(NOW - 30 * 60, 0.5, 0.9) }),
  // Only the P99 latency is over its threshold: nothing for the metrics to point at.
  latency: load({ p99: step(NOW - 30 * 60, 0.25, 1.7), cpu: 0.5 }),
  // Connections at 90 % of max and 25 % I/O wait; CPU 75 %: over the trigger's 70 %, under the advisor's 80 %.
  database: load({ db: 0.9, iowait: 0.25, cpu: step(NOW - 40 * 60, 0.3, 0.75) }),
} as const;
type ScenarioName = keyof typeof SCENARIOS;

let fake: FakeSlack;
const proms = new Map<ScenarioName, PrometheusFixture>();
const bots: TestBot[] = [];

beforeAll(async () => {
  fake = await startFakeSlack();
  const started = await Promise.all(Object.entries(SCENARIOS).map(async ([name, openMetrics]) => [name, await startPrometheus({ openMetrics })] as const));
  for (const [name, prom] of started) proms.set(name as ScenarioName, prom);
});

afterAll(async () => {
  for (const bot of bots.splice(0)) await bot.stop();
  await Promise.all([...proms.values()].map((prom) => prom.stop()));
  await fake?.close();
});

async function botFor(name: ScenarioName | 'down', extra: { config?: string; checklistCompletedAt?: (id: string) => Date | null } = {}): Promise<TestBot> {
  const prometheusUrl = name === 'down' ? await unusedLoopbackUrl() : proms.get(name)!.url;
  const bot = await startTestBot({ prometheusUrl, fake, clock, ...extra });
  bots.push(bot);
  return bot;
}

let channelCounter = 0;
/** A channel of its own for each test, so messages never mix. */
const newChannel = () => `C0ADV${String(++channelCounter).padStart(5, '0')}`;

function textOf(message: StoredMessage | undefined): string {
  return JSON.stringify(message?.blocks ?? []);
}

function stepAnswers(message: StoredMessage | undefined): string[] {
  return (message?.blocks ?? [])
    .map((block) => block as { block_id?: string; text?: { text: string } })
    .filter((block) => block.block_id?.startsWith('advise_step_'))
    .map((block) => `${block.block_id!.slice('advise_step_'.length)}: ${/\*(Yes|No)\*|_waiting for an answer_/.exec(block.text!.text)?.[0]}`);
}

async function advise(bot: TestBot, channel: string, user = 'U0ALICE01'): Promise<StoredMessage> {
  const said = await slash(bot, 'advise', { user, channel });
  expect(said.response.status).toBe(200);
  expect(said.message, 'advise answers in the channel').toBeDefined();
  return said.message!;
}

describe('/scale advise walks the decision tree on real metrics', () => {
  it('healthy: do not scale yet, with the evidence that nothing is degraded, and a decision-log row', async () => {
    const bot = await botFor('healthy');
    const channel = newChannel();
    const message = await advise(bot, channel);
    expect(message.text).toBe("Advice: Don't scale yet: monitor");
    expect(stepAnswers(message)).toEqual(['degraded: *No*']);
    expect(textOf(message)).toContain('API response time P99 (share of requests over 1 s): 0 %, not &gt; 1 %');
    expect(textOf(message)).toContain('none of the 7 \\"scale immediately\\" triggers with data is breached');
    expect(textOf(message)).not.toContain('advise_start');

    const [advice] = listDecisions(bot.bot.database.db, { kinds: ['advice'] });
    expect(advice).toMatchObject({
      actor: 'U0ALICE01',
      channel,
      outcome: 'dont_scale',
      detail: { recommendation: 'dont_scale', trigger: 'command', price: null },
    });
    expect((advice!.detail.path as Array<{ evidence: unknown[] }>)[0]!.evidence).toContainEqual(
      expect.objectContaining({ trigger: 'api_p99', state: 'ok', value: 0 }),
    );
    expect(listDecisions(bot.bot.database.db, { kinds: ['command'] })[0]).toMatchObject({ subject: 'advise', outcome: 'dont_scale' });
  });

  it('CPU at 90 %: asks "optimized?" first; No → optimize first; Change, Yes → vertical with the next tier and its price', async () => {
    const bot = await botFor('cpu');
    const channel = newChannel();
    const asked = await advise(bot, channel);
    expect(asked.text).toBe('Advice: one question first: Have you optimized first?');
    expect(stepAnswers(asked)).toEqual(['degraded: *Yes*', 'optimized: _waiting for an answer_']);
    expect(textOf(asked)).toMatch(/CPU usage `instance=web-1:9100`: 90 % &gt; 70 % for ≥ 30 min \(needs 15 min\)/);

    const optimizeFirst = (await click(bot, asked, 'advise_no', { user: 'U0BOB0001' })).message!;
    expect(optimizeFirst.text).toBe('Advice: Optimize before scaling');
    expect(stepAnswers(optimizeFirst)).toEqual(['degraded: *Yes*', 'optimized: *No*']);
    expect(textOf(optimizeFirst)).toContain('Answered by <@U0BOB0001>');
    expect(textOf(optimizeFirst)).toContain('*Cost:* $0');

    // The Start button posts the optimization checklist in the channel, as if the clicker had typed it.
    const startClick = buildBlockActionsPayload({
      user: 'U0CAROL01',
      channel,
      message: optimizeFirst,
      action: { action_id: 'advise_start' },
      response_url: fake.newResponseUrl({ channel, messageTs: optimizeFirst.ts, user: 'U0CAROL01' }),
    });
    expect((await sendInteraction(bot.url, bot.secret, startClick)).status).toBe(200);
    const checklist = await fake.waitFor((f) =>
      f.messages(channel).find((message) => message.text === 'Performance optimization before scaling: 0 of 22 done'),
    );
    expect(checklist.user).toBe(fake.identity.botUserId);
    expect(listDecisions(bot.bot.database.db, { kinds: ['checklist_started'] })[0]).toMatchObject({ actor: 'U0CAROL01', channel, subject: 'optimize' });
    expect(fake.message(channel, optimizeFirst.ts)?.text).toBe('Advice: Optimize before scaling');

    const changing = (await click(bot, optimizeFirst, 'advise_change_optimized')).message!;
    expect(stepAnswers(changing)).toEqual(['degraded: *Yes*', 'optimized: _waiting for an answer_']);
    const vertical = (await click(bot, changing, 'advise_yes')).message!;
    expect(vertical.text).toBe('Advice: Vertical scaling: upgrade the VPS (CPX51)');
    expect(stepAnswers(vertical)).toEqual(['degraded: *Yes*', 'optimized: *Yes*', 'cpu_memory: *Yes*']);
    expect(textOf(vertical)).toMatch(/CPU usage `instance=web-1:9100`: 90 % &gt; 80 % for ≥ 30 min \(needs 15 min\)/);
    expect(textOf(vertical)).toContain('*Next tier* for the server: CPX51: 32 GB RAM, 16 vCPU, 360 GB storage, $50/month, sized for 2,000-3,000 users');
    expect(textOf(vertical)).toContain('+$15 against CPX41 (one server) at $35; *$240/month* with the APIs ($190)');
    // The migration runbooks the config has, each with the downtime it really costs.
    expect(textOf(vertical)).toContain('• *rsync* (`/scale run vertical-migration`)');
    expect(textOf(vertical)).toContain('(“Migration (1-2 hours)”)');

    // A new /scale advise remembers the answer and who gave it.
    const again = await advise(bot, channel, 'U0DAVE001');
    expect(again.text).toBe('Advice: Vertical scaling: upgrade the VPS (CPX51)');
    expect(textOf(again)).toContain('Answered by <@U0ALICE01>');

    const db = bot.bot.database.db;
    expect(listDecisions(db, { kinds: ['advice_answer'] }).map((row) => [row.actor, row.subject, row.outcome])).toEqual([
      ['U0ALICE01', 'optimized', 'yes'],
      ['U0BOB0001', 'optimized', 'no'],
    ]);
    expect(listDecisions(db, { kinds: ['advice_start'] })).toEqual([
      expect.objectContaining({ actor: 'U0CAROL01', subject: 'checklist:optimize', outcome: 'started' }),
    ]);
    const advice = listDecisions(db, { kinds: ['advice'] });
    expect(advice.map((row) => [row.outcome, row.detail.trigger])).toEqual([
      ['vertical', 'command'],
      ['vertical', 'answer'],
      ['question', 'change'],
      ['optimize_first', 'answer'],
      ['question', 'command'],
    ]);
    expect(advice[0]!.detail).toMatchObject({
      recommendation: 'vertical',
      price: { kind: 'tier', delta: 15, newTotalWithApis: 240, upgrades: [{ from: { name: 'CPX41' }, to: { name: 'CPX51' } }] },
      path: [
        { question: 'degraded', answer: 'yes', source: 'metrics' },
        { question: 'optimized', answer: 'yes', source: 'person', by: 'U0ALICE01' },
        {
          question: 'cpu_memory',
          answer: 'yes',
          source: 'metrics',
          evidence: [expect.objectContaining({ trigger: 'advisor_cpu', threshold: 0.8, value: expect.closeTo(0.9, 6), state: 'breached' })],
        },
      ],
    });
  });

  it('memory at 90 %: vertical too, on the memory evidence', async () => {
    const bot = await botFor('memory');
    const channel = newChannel();
    const vertical = (await click(bot, await advise(bot, channel), 'advise_yes')).message!;
    expect(vertical.text).toBe('Advice: Vertical scaling: upgrade the VPS (CPX51)');
    expect(textOf(vertical)).toMatch(/Memory usage `instance=web-1:9100, job=node`: 90 % &gt; 80 % for (≥ 30|29) min \(needs 10 min\)/);
    // (29 min: the run starts at the first point of the epoch-aligned step grid, up to one step after the window's start.)
  });

  it('the database: connections near max and I/O wait, answered "optimized" by the completed checklist → separate database', async () => {
    const completedAt = new Date((NOW - 3 * 86400) * 1000);
    const asked: string[] = [];
    const bot = await botFor('database', {
      checklistCompletedAt: (id) => {
        asked.push(id);
        return completedAt;
      },
    });
    const message = await advise(bot, newChannel());
    expect(asked).toEqual(['optimize']);
    expect(message.text).toBe('Advice: Separate database server or read replicas (stage 2)');
    expect(stepAnswers(message)).toEqual(['degraded: *Yes*', 'optimized: *Yes*', 'cpu_memory: *No*', 'database: *Yes*']);
    const text = textOf(message);
    expect(text).toContain('The `optimize` checklist was completed');
    expect(text).toMatch(/CPU usage `instance=web-1:9100`: 75 %, not &gt; 80 %/);
    expect(text).toMatch(/Database connections \(of max\) `instance=db-1:9187`: 90 % &gt; 80 %/);
    expect(text).toMatch(/Disk I\/O wait `instance=web-1:9100`: 25 % &gt; 20 %/);
    expect(text).toContain('*Next stage:* 2. Separate database, sized for 1,000-3,000 users');
    expect(text).toContain('*Cost:* $85/month, +$50 against CPX41 (one server) at $35; *$275/month* with the APIs ($190).');
    // No "Change answer" for an answer the checklist gave? It may be changed like any other.
    expect(text).toContain('advise_change_optimized');
  });

  it('latency only: global traffic decides; Yes → multi-region, changed to No → horizontal with a load balancer', async () => {
    const bot = await botFor('latency');
    const channel = newChannel();
    const optimized = (await click(bot, await advise(bot, channel), 'advise_yes')).message!;
    expect(stepAnswers(optimized)).toEqual([
      'degraded: *Yes*',
      'optimized: *Yes*',
      'cpu_memory: *No*',
      'database: *No*',
      'global_traffic: _waiting for an answer_',
    ]);
    expect(textOf(optimized)).toMatch(/API response time P99 \(share of requests over 1 s\): 1\.5 % &gt; 1 % for 2\d min \(needs 5 min\)/);

    const multiRegion = (await click(bot, optimized, 'advise_yes', { user: 'U0BOB0001' })).message!;
    expect(multiRegion.text).toBe('Advice: Multi-region deployment (stage 5)');
    // /scale plan takes the same answer: Bob said the traffic is global, so 12,000 users get the multi-region stage.
    const globalPlan = await slash(bot, 'plan 12000', { channel });
    expect(String(globalPlan.response.body?.text)).toContain('horizontal stage 5 $1,200/month');
    expect(JSON.stringify(globalPlan.response.body?.blocks)).toContain('<@U0BOB0001> answered in `/scale advise`');
    expect(textOf(multiRegion)).toContain('*Cost:* $1,010/month, +$975 against CPX41 (one server) at $35; *$1,200/month* with the APIs ($190).');

    const changing = (await click(bot, multiRegion, 'advise_change_global_traffic')).message!;
    const horizontal = (await click(bot, changing, 'advise_no')).message!;
    expect(horizontal.text).toBe('Advice: Horizontal scaling: load balancer + more app servers (stage 3)');
    expect(stepAnswers(horizontal)).toEqual(['degraded: *Yes*', 'optimized: *Yes*', 'cpu_memory: *No*', 'database: *No*', 'global_traffic: *No*']);
    expect(textOf(horizontal)).toContain('• load balancer: Hetzner LB11, $6');
    expect(textOf(horizontal)).toContain('*Cost:* $126/month, +$91 against CPX41 (one server) at $35; *$316/month* with the APIs ($190).');
    const onePlan = await slash(bot, 'plan 12000', { channel });
    expect(String(onePlan.response.body?.text)).toContain('horizontal 4× App (32GB) + 2× DB (64GB) + LB $596/month');
    expect(JSON.stringify(onePlan.response.body?.blocks)).toMatch(/<@U0\w+> answered in `\/scale advise` on \d{4}-\d\d-\d\d that the traffic is not global/);

    // "Walk the tree again" re-reads the metrics and the remembered answers.
    const again = (await click(bot, horizontal, 'advise_refresh', { user: 'U0CAROL01' })).message!;
    expect(again.text).toBe(horizontal.text);
    expect(listDecisions(bot.bot.database.db, { kinds: ['advice'], limit: 1 })[0]).toMatchObject({
      actor: 'U0CAROL01',
      outcome: 'horizontal',
      detail: { trigger: 'refresh' },
    });
  });

  it('advisor.global_traffic: false answers the last question for the team: horizontal, no button; from stage 4 the 4× app row', async () => {
    const bot = await botFor('latency', { config: 'advisor: { global_traffic: false }\ncurrent: { stage: 4 }\n' });
    const message = (await click(bot, await advise(bot, newChannel()), 'advise_yes')).message!;
    expect(stepAnswers(message)).toEqual(['degraded: *Yes*', 'optimized: *Yes*', 'cpu_memory: *No*', 'database: *No*', 'global_traffic: *No*']);
    expect(message.text).toBe('Advice: Horizontal scaling: load balancer + more app servers (4× App (32GB) + 2× DB (64GB) + LB)');
    expect(textOf(message)).toContain('The config says so: `advisor.global_traffic: false`.');
    expect(textOf(message)).not.toContain('advise_change_global_traffic');
    expect(textOf(message)).toContain("*Next:* 4× App (32GB) + 2× DB (64GB) + LB (the guide's Horizontal Scaling Costs table, past its stages)");
    expect(textOf(message)).toContain('*Cost:* $406/month, +$200 against stage 4: Read replicas at $206; *$596/month* with the APIs ($190).');
  });

  it('Prometheus down: every metric question is asked instead, and the price comes from a custom pricing table', async () => {
    const bot = await botFor('down', {
      config: `
pricing:
  - { name: small, ram_gb: 4, vcpu: 2, storage_gb: 80, monthly: 12, capacity: { min: 0, max: 300 } }
  - { name: large, ram_gb: 16, vcpu: 8, storage_gb: 320, monthly: 48, capacity: { min: 300, max: null } }
stages:
  - { name: One box, servers: [{ role: everything, tier: small }], capacity: { min: 0, max: 300 } }
  - name: Two boxes
    adds: [load_balancer]
    load_balancer: { name: LB, monthly: 10 }
    servers: [{ role: app, tier: small, count: 2 }, { role: database, size: managed Postgres, monthly: 60 }]
    capacity: { min: 300, max: null }
api_costs: { monthly: 40 }
current: { tier: small }
`,
    });
    let message = await advise(bot, newChannel());
    expect(textOf(message)).toContain(':warning: Prometheus could not answer');
    expect(stepAnswers(message)).toEqual(['degraded: _waiting for an answer_']);
    for (const answer of ['advise_yes', 'advise_yes', 'advise_no', 'advise_no', 'advise_no']) message = (await click(bot, message, answer)).message!;
    expect(stepAnswers(message)).toEqual(['degraded: *Yes*', 'optimized: *Yes*', 'cpu_memory: *No*', 'database: *No*', 'global_traffic: *No*']);
    expect(message.text).toBe('Advice: Horizontal scaling: load balancer + more app servers (stage 2)');
    expect(textOf(message)).toContain('The metrics could not answer: Prometheus could not answer');
    expect(textOf(message)).toContain('*Cost:* $94/month, +$82 against small (one server) at $12; *$134/month* with the APIs ($40).');
  });

  it('refuses a forged button and a start target the config does not name, changing nothing', async () => {
    const bot = await botFor('healthy');
    const message = await advise(bot, newChannel());
    const before = listDecisions(bot.bot.database.db).length;
    for (const [actionId, value] of [
      ['advise_refresh', 'checklist:before'],
      ['advise_start', 'runbook:rm-rf'],
    ] as const) {
      const forged = {
        ...message,
        blocks: [
          ...(message.blocks ?? []),
          {
            type: 'actions',
            elements: [{ type: 'button', action_id: actionId === 'advise_start' ? actionId : 'advise_x', text: { type: 'plain_text', text: 'x' }, value }],
          },
        ],
      };
      const said = await click(bot, forged as StoredMessage, actionId === 'advise_start' ? actionId : 'advise_x', { value });
      expect(String(said.response.body?.text)).toContain('That button is not one I know');
    }
    expect(listDecisions(bot.bot.database.db)).toHaveLength(before);
    expect(fake.message(message.channel, message.ts)?.text).toBe(message.text);
  });

  it('/scale advise takes no arguments', async () => {
    const bot = await botFor('healthy');
    const said = await slash(bot, 'advise now please', { channel: newChannel() });
    expect(said.response.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(said.response.body?.text)).toContain('`/scale advise` takes no arguments');
  });
});
