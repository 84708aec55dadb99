// `/scale chart <trigger> [range]` through the dispatcher, over a real Prometheus with history, the real renderer,
// the real outbox and the fake Slack: what it posts where, what the asker is told, and what it refuses.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBoltLogger } from '../../bot/app.ts';
import { loadConfig } from '../../bot/config.ts';
import type { Reply } from '../../blocks/types.ts';
import { createChartRenderer } from '../../charts/off-thread.ts';
import { parseChartArguments } from '../../commands/chart.ts';
import { dispatchScaleCommand } from '../../commands/dispatch.ts';
import type { CommandDeps } from '../../commands/types.ts';
import type { Config } from '../../core/config/index.ts';
import type { ChartRenderer } from '../../core/ports.ts';
import { UserError } from '../../core/user-error.ts';
import type { PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { createPrometheus } from '../../integrations/prometheus.ts';
import { slackSender } from '../../integrations/slack-upload.ts';
import { createChartPoster } from '../../services/charts.ts';
import { createOutboxDeliverer } from '../../services/outbox.ts';
import { at, BREACH_END, chartScenarioConfig, startChartPrometheus } from '../helpers/chart-scenario.ts';
import { createTestCommandDeps, type TestCommandDeps } from '../helpers/command-deps.ts';
import { startFakeSlack, type FakeSlack } from '../helpers/slack/index.ts';

const OPS = 'C0OPS';
const USER = 'U0ALICE01';
const dir = mkdtempSync(join(tmpdir(), 'scalebot-chart-command-'));
const logger = pino({ level: 'silent' });

function configFrom(yaml: string): Config {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return loadConfig({ file });
}
// Users online grows a user a minute over the scenario's three hours: forecast over that window, its chart shows the trend.
const CONFIG = configFrom(chartScenarioConfig('forecast:\n  window: 3h\n  min_history: 1h\n').replace('unit: count }', 'unit: count, forecast: true }'));

let prometheus: PrometheusFixture;
let fake: FakeSlack;
let renderer: ChartRenderer;
let built: TestCommandDeps;
let deps: CommandDeps;
/** The commands' clock: a minute after the breach ended, moved by the tests. */
let now = at(BREACH_END + 60);

beforeAll(async () => {
  prometheus = await startChartPrometheus();
  fake = await startFakeSlack({ channels: { C0ALERTS: 'alerts', [OPS]: 'ops' } });
  renderer = createChartRenderer();
  const clock = () => now;
  built = await createTestCommandDeps({ config: CONFIG, prometheusUrl: prometheus.url, slackApiUrl: fake.apiUrl, clock });
  const slack = new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logger: toBoltLogger(logger, 'outbox-client') });
  const deliver = createOutboxDeliverer(built.storage, slackSender(slack, { timeoutMs: 10_000 }), clock, logger);
  const charts = createChartPoster({
    storage: built.storage,
    config: CONFIG,
    prometheus: createPrometheus({ url: prometheus.url, timeoutMs: 5000 }),
    renderer,
    deliver,
    clock,
    logger,
  });
  deps = { ...built.deps, charts };
}, 120_000);

afterAll(async () => {
  await built?.close();
  await renderer?.close();
  await fake?.close();
  await prometheus?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function chart(text: string, channel = OPS): Promise<{ replies: Reply[]; outcome: string }> {
  const replies: Reply[] = [];
  const result = await dispatchScaleCommand({ text: `chart ${text}`, user: USER, channel, respond: async (reply) => void replies.push(reply) }, deps);
  return { replies, outcome: result.outcome };
}
const fileMessages = (channel: string) => fake.messages(channel).filter((message) => (message.files ?? []).length > 0);

describe('/scale chart', () => {
  it('posts the chart to the channel it was typed in and tells the asker alone', async () => {
    const { replies, outcome } = await chart('load 6h');
    expect(outcome).toBe('posted');
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ ephemeral: true });
    expect(replies[0]!.text).toBe(`:white_check_mark: Posted the chart of *Load* (last 6 h) to <#${OPS}>.`);
    const [posted] = fileMessages(OPS);
    expect(posted!.text).toContain(`asked for by <@${USER}>`);
    expect(fake.file(posted!.files![0]!.id)!.bytes!.subarray(1, 4).toString('latin1')).toBe('PNG');
  }, 60_000);

  it('continues a growing trigger with its trend, dashed, and says so in the picture’s alt text', async () => {
    const { outcome } = await chart('users 6h');
    expect(outcome).toBe('posted');
    const posted = fileMessages(OPS).find((message) => message.files![0]!.title?.startsWith('Users online'));
    // 181 users now, a user a minute more: 500 in about 5 h 20 min.
    expect((posted!.files![0] as { alt_txt?: string }).alt_txt).toMatch(/trend: crosses 500 in ~5 h/);
    // A trigger not forecast has no trend line.
    await chart('load 6h');
    const load = fileMessages(OPS).find((message) => message.files![0]!.title?.startsWith('Load'));
    expect((load!.files![0] as { alt_txt?: string }).alt_txt).not.toMatch(/trend/);
  }, 60_000);

  it('posts one chart for a double submit within the minute, and another in the next minute', async () => {
    now = at(BREACH_END + 5 * 60);
    const before = fileMessages(OPS).length;
    const [first, second] = await Promise.all([chart('users 24h'), chart('users 24h')]);
    expect([first.outcome, second.outcome].sort()).toEqual(['already', 'posted']);
    expect(fileMessages(OPS)).toHaveLength(before + 1);
    expect((second.outcome === 'already' ? second : first).replies[0]!.text).toContain('a moment ago; it was not posted again');
    now = at(BREACH_END + 6 * 60);
    expect((await chart('users 24h')).outcome).toBe('posted');
    expect(fileMessages(OPS)).toHaveLength(before + 2);
  }, 60_000);

  it('says why when Slack refuses the channel, and nothing is posted', async () => {
    const { replies, outcome } = await chart('load', 'C0NOWHERE');
    expect(outcome).toBe('post_failed');
    expect(replies[0]!.text).toContain('I could not post the chart of *Load* (last 1 h) in <#C0NOWHERE>: Slack said `channel_not_found`');
    expect(fake.messages('C0NOWHERE')).toEqual([]);
  }, 60_000);

  it('answers an unknown trigger with the trigger ids, and a bad range with the ranges it draws', async () => {
    const unknown = await chart('nope');
    expect(unknown.outcome).toBe('usage_error');
    expect(unknown.replies[0]!.text).toContain('`nope` is not a trigger. The triggers are `load`, `users`.');
    const range = await chart('load 3d');
    expect(range.replies[0]!.text).toContain('`3d` is not a range I draw: use `6h`, `24h`, `7d`');
    const missing = await chart('');
    expect(missing.replies[0]!.text).toContain('needs a trigger: one of `load`, `users`');
  });

  it('reads any trigger id (any case) with any allowed range, and refuses every other word as a range', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CONFIG.triggers.map((trigger) => trigger.id)),
        fc.constantFrom('6h', '24h', '7d', '6H', '7D'),
        fc.boolean(),
        (id, range, upper) => {
          const parsed = parseChartArguments([upper ? id.toUpperCase() : id, range], CONFIG.triggers);
          expect(parsed.trigger.id).toBe(id);
          expect(parsed.rangeName).toBe(range.toLowerCase());
        },
      ),
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (range) => {
        fc.pre(!['6h', '24h', '7d'].includes(range.toLowerCase()));
        expect(() => parseChartArguments(['load', range], CONFIG.triggers)).toThrow(UserError);
      }),
    );
  });

  it('says charts are off when they are, and posts nothing', async () => {
    const before = fake.messages(OPS).length;
    const replies: Reply[] = [];
    const off = { ...deps, charts: createChartPoster({ ...deps, renderer: null, deliver: async () => ({}) as never }) };
    await dispatchScaleCommand({ text: 'chart load', user: USER, channel: OPS, respond: async (reply) => void replies.push(reply) }, off);
    expect(replies[0]!.text).toContain('Charts are off');
    expect(fake.messages(OPS)).toHaveLength(before);
  });
});
