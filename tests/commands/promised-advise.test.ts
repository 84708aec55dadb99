// README: "the latest answer to a question counts … until it expires … (`advisor.remember`; `null` keeps an
// answer for ever, `0` asks every time)". Through the real bot, on a real Prometheus with CPU at 90 %.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { click, slash, startTestBot, type TestBot } from '../helpers/bot.ts';
import { scenario, startPrometheus, step, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import type { StoredMessage } from '../helpers/slack/index.ts';

const NOW = Math.floor(Date.now() / 1000);
// Time moves between any two readings, as it does for the bot: the click's answer is recorded a moment before
// the walk it answers.
let clockMs = NOW * 1000;
const clock = () => new Date((clockMs += 5));

const CPU_HIGH = scenario({ now: NOW, start: NOW - 3600 })
  .cpu('web-1:9100', step(NOW - 40 * 60, 0.3, 0.9))
  .diskIowait('web-1:9100', 0.02)
  .memory('web-1:9100', 0.5)
  .apiP99(0.25)
  .errorRate(0)
  .dbConnections('db-1:9187', 0.3)
  .redisMemory('redis-1:9121', 0.4)
  .toOpenMetrics();

let prometheus: PrometheusFixture;
const bots: TestBot[] = [];

beforeAll(async () => {
  prometheus = await startPrometheus({ openMetrics: CPU_HIGH });
});
afterAll(async () => {
  for (const bot of bots.splice(0)) await bot.stop();
  await prometheus?.stop();
});

async function advise(bot: TestBot, channel: string, user = 'U0ALICE01'): Promise<StoredMessage> {
  const said = await slash(bot, 'advise', { user, channel });
  expect(said.message, 'advise answers in the channel').toBeDefined();
  return said.message!;
}

describe('advisor.remember', () => {
  it('0 asks every time: the answer clicked decides that advice, and the next /scale advise asks again', async () => {
    const bot = await startTestBot({ prometheusUrl: prometheus.url, clock, config: 'advisor:\n  remember: { optimized: 0 }\n' });
    bots.push(bot);
    const channel = 'C0REMEMB01';
    const asked = await advise(bot, channel);
    expect(asked.text).toBe('Advice: one question first: Have you optimized first?');

    const answered = (await click(bot, asked, 'advise_yes', { user: 'U0BOB0001' })).message!;
    expect(answered.text).toBe('Advice: Vertical scaling: upgrade the VPS (CPX51)');

    clockMs += 1000;
    const again = await advise(bot, channel, 'U0DAVE001');
    expect(again.text).toBe('Advice: one question first: Have you optimized first?');
  });

  it('for comparison, the default (30 days) remembers the same answer for the next /scale advise', async () => {
    const bot = await startTestBot({ prometheusUrl: prometheus.url, clock });
    bots.push(bot);
    const channel = 'C0REMEMB02';
    const asked = await advise(bot, channel);
    const answered = (await click(bot, asked, 'advise_yes', { user: 'U0BOB0001' })).message!;
    expect(answered.text).toBe('Advice: Vertical scaling: upgrade the VPS (CPX51)');
    clockMs += 1000;
    expect((await advise(bot, channel, 'U0DAVE001')).text).toBe('Advice: Vertical scaling: upgrade the VPS (CPX51)');
  });
});
