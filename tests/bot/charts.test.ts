// Charts on the full bot (startBot as `npm start` runs it), driven by signed requests: `/scale chart`, the Chart
// button on a breach's message and the Chart… menu under `/scale status`, over a real Prometheus with history.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART_ALREADY_POSTED } from '../../blocks/chart-replies.ts';
import { breachMessageKey } from '../../core/watch.ts';
import type { PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { click, slash, startTestBot, type TestBot } from '../helpers/bot.ts';
import { ALERTS_CHANNEL, at, BREACH_START, chartScenarioConfig, CYCLES, startChartPrometheus } from '../helpers/chart-scenario.ts';
import { buildBlockActionsPayload, sendInteraction, startFakeSlack, type FakeSlack, type StoredMessage } from '../helpers/slack/index.ts';

const OPS = 'C0OPS00001';

let prometheus: PrometheusFixture;
let fake: FakeSlack;
let harness: TestBot;
let now = at(CYCLES[0]!);

beforeAll(async () => {
  prometheus = await startChartPrometheus();
  fake = await startFakeSlack();
  harness = await startTestBot({ prometheusUrl: prometheus.url, config: chartScenarioConfig(), fake, clock: () => now });
}, 120_000);

afterAll(async () => {
  await harness?.stop();
  await fake?.close();
  await prometheus?.stop();
});

const textOf = (said: { response: { body: unknown } }) => (said.response.body as { text: string }).text;
const charts = (messages: readonly StoredMessage[]) => messages.filter((message) => (message.files ?? []).length > 0);

async function breachMessage(): Promise<{ message: StoredMessage; thread: () => StoredMessage[] }> {
  const [breach] = await harness.bot.storage.breaches.listOpen();
  if (!breach) throw new Error('no open breach');
  const row = await harness.bot.storage.outbox.getByKey(breachMessageKey(breach.id));
  const message = fake.message(ALERTS_CHANNEL, row!.ts!)!;
  return { message, thread: () => fake.messages(ALERTS_CHANNEL).filter((reply) => reply.thread_ts === message.ts && reply.ts !== message.ts) };
}

describe('charts on the running bot', () => {
  it('posts `/scale chart load 6h` to the channel it was typed in, once for a double submit', async () => {
    now = at(BREACH_START + 30 * 60);
    const said = await slash(harness, 'chart load 6h', { channel: OPS });
    expect(textOf(said)).toBe(`:white_check_mark: Posted the chart of *Load* (last 6 h) to <#${OPS}>.`);
    expect((said.response.body as { response_type: string }).response_type).toBe('ephemeral');
    const again = await slash(harness, 'chart load 6h', { channel: OPS });
    expect(textOf(again)).toContain('a moment ago; it was not posted again');
    expect(charts(fake.messages(OPS))).toHaveLength(1);
    const unknown = await slash(harness, 'chart disk', { channel: OPS });
    expect(textOf(unknown)).toContain('`disk` is not a trigger. The triggers are `load`, `users`.');
  }, 60_000);

  it('puts a chart in a new breach thread, and the Chart button one more; a double click posts one', async () => {
    for (const minute of CYCLES.slice(0, 8)) {
      now = at(minute);
      await harness.bot.watcher.runCycle();
    }
    const { message, thread } = await breachMessage();
    expect(JSON.stringify(message.blocks)).toContain('alert_chart');
    await fake.waitFor(() => charts(thread()).length === 1);
    const clicked = await click(harness, message, 'alert_chart', { user: 'U0BOB0001' });
    expect(textOf(clicked)).toContain('is on its way to its thread');
    await fake.waitFor(() => charts(thread()).length === 2);
    const twice = await click(harness, message, 'alert_chart', { user: 'U0CAROL01' });
    expect(textOf(twice)).toBe(CHART_ALREADY_POSTED);
    expect(charts(thread())).toHaveLength(2);
  }, 60_000);

  it('offers a Chart… menu under /scale status whose choice posts that chart to the channel', async () => {
    const status = await slash(harness, 'status', { channel: OPS });
    const blocks = (status.response.body as { blocks: StoredMessage['blocks'] }).blocks!;
    expect(JSON.stringify(blocks)).toContain('"action_id":"chart_trigger"');
    const before = charts(fake.messages(OPS)).length;
    const responseUrl = fake.newResponseUrl({ channel: OPS, user: 'U0ALICE01' });
    // The status answer is ephemeral: the click comes from that message as the asker sees it.
    const shown = { type: 'message', channel: OPS, ts: '1700000000.000100', user: 'U0BOT', team: 'T0', text: 'status', blocks } as StoredMessage;
    const payload = buildBlockActionsPayload({
      user: 'U0ALICE01',
      channel: OPS,
      message: shown,
      is_ephemeral: true,
      action: { action_id: 'chart_trigger', type: 'static_select', selected_option: { value: 'users', text: { type: 'plain_text', text: 'Users online' } } },
      response_url: responseUrl,
    });
    expect((await sendInteraction(harness.url, harness.secret, payload)).status).toBe(200);
    const answer = await fake.waitFor((f) => f.responses.find((entry) => entry.url === responseUrl));
    expect(JSON.stringify(answer.body)).toContain(`the chart of *Users online* (last 1 d) to <#${OPS}>`);
    expect(charts(fake.messages(OPS))).toHaveLength(before + 1);

    const forged = fake.newResponseUrl({ channel: OPS, user: 'U0ALICE01' });
    const junk = buildBlockActionsPayload({
      user: 'U0ALICE01',
      channel: OPS,
      message: shown,
      action: { action_id: 'chart_trigger', type: 'static_select', selected_option: { value: '../etc', text: { type: 'plain_text', text: 'x' } } },
      response_url: forged,
    });
    await sendInteraction(harness.url, harness.secret, junk);
    const refused = await fake.waitFor((f) => f.responses.find((entry) => entry.url === forged));
    expect(JSON.stringify(refused.body)).toContain('That button is not one I know');
  }, 60_000);
});
