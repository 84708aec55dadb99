import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDecisions } from '../../db/decision-log.ts';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { startExporter, startPrometheus, waitForValue, type Exporter, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { buildBlockActionsPayload, checkBlockKitLimits, sendInteraction, sendSlashCommand, startFakeSlack, type FakeSlack } from '../helpers/slack/index.ts';
import { watcherTestConfig } from '../helpers/watch-config.ts';

const CHANNEL = 'C0ALERTS';
const CONFIG = watcherTestConfig(`  enabled: false
  resolve_after: 3s
  responders: [U0OPS, S0LEADS]`);

let exporter: Exporter;
let prometheus: PrometheusFixture;
let fake: FakeSlack;
let harness: TestBot;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until Prometheus has held `series` at `value` for longer than the trigger's 2 s plus one step: every sample
 * of the last 5 s (four at least, scraped every second) has it, so the oldest of them is 3 s old or more. The step
 * grid is aligned to the epoch (core/incremental-evaluation.ts), so a run starts at the first grid point after its
 * first sample: up to one 1 s step later.
 */
async function heldFor(prom: PrometheusFixture, series: string, value: number) {
  const held = `(min_over_time(${series}[5s]) == bool ${value}) * (max_over_time(${series}[5s]) == bool ${value}) * (count_over_time(${series}[5s]) >= bool 4)`;
  await waitForValue(prom, held, (seen) => seen === 1, 20_000);
}

/** Sets the gauge and waits until Prometheus has held it for longer than the trigger's 2 s. */
async function setLoad(value: number, instance = 'web-1') {
  exporter.set('test_load', { instance }, value);
  await heldFor(prometheus, `test_load{instance="${instance}"}`, value);
}

function topLevel() {
  return fake.messages(CHANNEL).filter((message) => !message.thread_ts || message.thread_ts === message.ts);
}
function replies(ts: string) {
  return fake.messages(CHANNEL).filter((message) => message.thread_ts === ts && message.ts !== ts);
}
function flatText(message: { text: string; blocks?: unknown[] } | undefined): string {
  return JSON.stringify(message?.blocks ?? message?.text ?? '');
}

async function click(user: string, ts: string, actionId: string) {
  const message = fake.message(CHANNEL, ts)!;
  const responseUrl = fake.newResponseUrl({ channel: CHANNEL, user, messageTs: ts });
  const payload = buildBlockActionsPayload({ user, channel: CHANNEL, message, action: { action_id: actionId }, response_url: responseUrl });
  const answer = await sendInteraction(harness.url, harness.secret, payload);
  expect(answer.status).toBe(200);
  return responseUrl;
}

beforeAll(async () => {
  exporter = await startExporter();
  exporter.set('test_load', { instance: 'web-1' }, 0.2);
  exporter.set('test_users', {}, 100);
  prometheus = await startPrometheus({ scrapeTargets: [exporter.target], scrapeIntervalSeconds: 1 });
  fake = await startFakeSlack({ userGroups: { S0LEADS: ['U0LEAD'] } });
  harness = await startTestBot({ prometheusUrl: prometheus.url, config: CONFIG, fake });
  await waitForValue(prometheus, 'test_load', (value) => value === 0.2, 20_000);
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  await fake?.close();
  await prometheus?.stop();
  await exporter?.stop();
});

// One scenario, written as one: each test goes on from where the one before left the breach (opened, edited,
// clicked, restarted, resolved), on one Prometheus and one bot. Run the whole describe; a test run alone fails
// at `theBreach()` saying so.
describe('the breach watcher, one scenario in order', () => {
  let opened: string | undefined;
  const theBreach = (): string => {
    if (!opened) throw new Error('no breach message: this test goes on from the ones before it; run the whole describe');
    return opened;
  };

  it('posts nothing while every trigger is ok', async () => {
    const summary = await harness.bot.watcher.runCycle();
    expect(summary).toMatchObject({ blind: false, opened: 0, open: 0 });
    expect(topLevel()).toHaveLength(0);
  });

  it('posts one message when a series becomes breached, with value, threshold, since, advice and buttons', async () => {
    await setLoad(0.9);
    const summary = await harness.bot.watcher.runCycle();
    expect(summary.opened).toBe(1);
    await harness.bot.watcher.runCycle();
    const messages = topLevel();
    expect(messages).toHaveLength(1);
    opened = messages[0]!.ts;
    const text = flatText(messages[0]);
    expect(text).toContain('Scale now: Load');
    expect(text).toContain('instance=web-1');
    expect(text).toContain('*90 %* (threshold &gt; 70 % for 2 s), since <!date^');
    expect(text).toContain('Consider vertical scaling.');
    expect(checkBlockKitLimits(messages[0]!.blocks ?? [])).toEqual([]);
    for (const action of ['alert_ack', 'alert_snooze_3600', 'alert_snooze_14400', 'alert_snooze_86400', 'alert_status']) expect(text).toContain(action);
    expect(messages[0]!.metadata).toMatchObject({ event_type: 'scalebot_message' });
    expect(listDecisions(harness.bot.database.db, { kinds: ['breach_opened'] })).toHaveLength(1);
  });

  it('edits that same message as the value changes', async () => {
    const postsBefore = fake.callsTo('chat.postMessage').length;
    await setLoad(0.95);
    await harness.bot.watcher.runCycle();
    expect(fake.callsTo('chat.postMessage').length).toBe(postsBefore);
    expect(fake.callsTo('chat.update').some((call) => call.args.ts === theBreach())).toBe(true);
    expect(flatText(fake.message(CHANNEL, theBreach()))).toContain('*95 %*');
  });

  it('lists the open breach with a link under /scale alerts', async () => {
    const responseUrl = fake.newResponseUrl({ channel: CHANNEL, user: 'U0OPS' });
    await sendSlashCommand(harness.url, harness.secret, { text: 'alerts', user_id: 'U0OPS', channel_id: CHANNEL, response_url: responseUrl });
    const response = await fake.waitFor((f) => f.responses.find((entry) => entry.url === responseUrl));
    const text = JSON.stringify(response.body);
    expect(text).toContain('1 open breach');
    expect(text).toContain(`https://slack.com/archives/${CHANNEL}/p${theBreach().replace('.', '')}`);
  });

  it('refuses acknowledge and snooze from someone outside watch.responders, ephemerally, and records it', async () => {
    const responseUrl = await click('U0STRANGER', theBreach(), 'alert_ack');
    const response = await fake.waitFor((f) => f.responses.find((entry) => entry.url === responseUrl));
    expect(JSON.stringify(response.body)).toMatch(/Only <@U0OPS>, <!subteam\^S0LEADS> may acknowledge or snooze/);
    expect((response.body as { response_type: string }).response_type).toBe('ephemeral');
    expect(flatText(fake.message(CHANNEL, theBreach()))).not.toContain('acknowledged by');
    expect(listDecisions(harness.bot.database.db, { kinds: ['breach_click_refused'] })[0]).toMatchObject({ actor: 'U0STRANGER', outcome: 'refused' });
  });

  it('records who acknowledged, shows it on the message, and a second click changes nothing', async () => {
    const staleCopy = structuredClone(fake.message(CHANNEL, theBreach())!);
    await click('U0LEAD', theBreach(), 'alert_ack');
    await fake.waitFor((f) => flatText(f.message(CHANNEL, theBreach())).includes('acknowledged by <@U0LEAD>'));
    expect(flatText(fake.message(CHANNEL, theBreach()))).not.toContain('alert_ack');
    const rows = listDecisions(harness.bot.database.db, { kinds: ['breach_acknowledged'] });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: 'U0LEAD', subject: 'load' });
    // the same button clicked again on a copy of the message from before the first click
    const responseUrl = fake.newResponseUrl({ channel: CHANNEL, user: 'U0OPS', messageTs: theBreach() });
    const again = buildBlockActionsPayload({
      user: 'U0OPS',
      channel: CHANNEL,
      message: staleCopy,
      action: { action_id: 'alert_ack' },
      response_url: responseUrl,
    });
    expect((await sendInteraction(harness.url, harness.secret, again)).status).toBe(200);
    const answer = await fake.waitFor((f) => f.responses.find((entry) => entry.url === responseUrl));
    expect(JSON.stringify(answer.body)).toContain('Already acknowledged by <@U0LEAD>');
    expect(listDecisions(harness.bot.database.db, { kinds: ['breach_acknowledged'] })).toHaveLength(1);
    expect(flatText(fake.message(CHANNEL, theBreach()))).toContain('acknowledged by <@U0LEAD>');
    expect(topLevel()).toHaveLength(1);
  });

  it('snoozes, shows until when, and records it', async () => {
    await click('U0OPS', theBreach(), 'alert_snooze_3600');
    await fake.waitFor((f) => flatText(f.message(CHANNEL, theBreach())).includes('snoozed by <@U0OPS> until'));
    expect(listDecisions(harness.bot.database.db, { kinds: ['breach_snoozed'] })[0]).toMatchObject({
      actor: 'U0OPS',
      detail: expect.objectContaining({ seconds: 3600 }),
    });
  });

  it('posts the full status in the thread on Status, once for a double click', async () => {
    const urls = await Promise.all([click('U0STRANGER', theBreach(), 'alert_status'), click('U0STRANGER', theBreach(), 'alert_status')]);
    const reply = await fake.waitFor((f) =>
      f.messages(CHANNEL).find((message) => message.thread_ts === theBreach() && message.ts !== theBreach() && flatText(message).includes('Scale now')),
    );
    expect(flatText(reply)).toContain('Load');
    // The positive event that both clicks were handled: the later one is told the status is there already.
    const told = await fake.waitFor((f) => f.responses.find((entry) => urls.includes(entry.url) && String(entry.body?.text).includes('already in the thread')));
    expect(told.body?.text).toMatch(/not posted again/);
    expect(replies(theBreach()).filter((message) => flatText(message).includes('Scale immediately if'))).toHaveLength(1);
  });

  it('picks up its own message after a restart instead of posting a second one', async () => {
    await harness.stop();
    harness = await startTestBot({ prometheusUrl: prometheus.url, config: CONFIG, fake, databaseFile: harness.databaseFile });
    const postsBefore = fake.callsTo('chat.postMessage').length;
    await harness.bot.watcher.runCycle();
    expect(fake.callsTo('chat.postMessage').length).toBe(postsBefore);
    expect(topLevel()).toHaveLength(1);
    expect(flatText(fake.message(CHANNEL, theBreach()))).toContain('acknowledged by <@U0LEAD>');
  });

  it('does not resolve a flapping metric before resolve_after', async () => {
    exporter.set('test_load', { instance: 'web-1' }, 0.3);
    await waitForValue(prometheus, 'test_load{instance="web-1"}', (value) => value === 0.3, 15_000);
    await harness.bot.watcher.runCycle();
    expect(flatText(fake.message(CHANNEL, theBreach()))).toContain('Back within the threshold since');
    await setLoad(0.9);
    await harness.bot.watcher.runCycle();
    expect(flatText(fake.message(CHANNEL, theBreach()))).not.toContain('Back within the threshold');
    expect(flatText(fake.message(CHANNEL, theBreach()))).not.toContain('Resolved');
    expect(listDecisions(harness.bot.database.db, { kinds: ['breach_resolved'] })).toHaveLength(0);
  });

  it('resolves once the condition has been false for resolve_after: the message says so and its thread too', async () => {
    exporter.set('test_load', { instance: 'web-1' }, 0.3);
    await waitForValue(prometheus, 'test_load{instance="web-1"}', (value) => value === 0.3, 15_000);
    const first = await harness.bot.watcher.runCycle();
    expect(first.resolved).toBe(0);
    await sleep(3_200);
    const second = await harness.bot.watcher.runCycle();
    expect(second).toMatchObject({ resolved: 1, open: 0 });
    const message = fake.message(CHANNEL, theBreach());
    expect(flatText(message)).toMatch(/Resolved: Load.*Resolved after \d+/);
    expect(flatText(message)).not.toContain('alert_snooze');
    expect(replies(theBreach()).some((reply) => /Resolved after .*Load is back at 30 %/.test(reply.text))).toBe(true);
    expect(listDecisions(harness.bot.database.db, { kinds: ['breach_resolved'] })).toHaveLength(1);
  });

  it('opens a new message for a new breach afterwards', async () => {
    await setLoad(0.88);
    await harness.bot.watcher.runCycle();
    const messages = topLevel();
    expect(messages).toHaveLength(2);
    expect(messages[1]!.ts).not.toBe(theBreach());
  });

  it('posts late rather than twice when Slack answers 429', async () => {
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    exporter.set('test_users', {}, 900);
    await waitForValue(prometheus, 'sum(test_users)', (value) => value === 900, 15_000);
    const before = topLevel().length;
    await harness.bot.watcher.runCycle();
    expect(topLevel()).toHaveLength(before);
    await sleep(1_100);
    await harness.bot.watcher.deliver();
    const after = topLevel();
    expect(after).toHaveLength(before + 1);
    expect(flatText(after.at(-1))).toContain('Scale soon: Users online');
    await harness.bot.watcher.runCycle();
    expect(topLevel()).toHaveLength(before + 1);
    const metrics = await (await fetch(`${harness.url}/metrics`)).text();
    expect(metrics).toMatch(/scalebot_slack_errors_total\{method="chat.postMessage",error="slack_webapi_rate_limited_error"\} 1/);
    expect(metrics).toMatch(/scalebot_watcher_evaluations_total\{outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/scalebot_breaches_opened_total\{severity="soon"\} 1/);
  });
});

describe('the watcher when Prometheus goes away', () => {
  it('posts one "monitoring is blind" message, resolves nothing, and edits it when Prometheus is back', async () => {
    const ownExporter = await startExporter();
    ownExporter.set('test_load', { instance: 'db-1' }, 0.9);
    let ownPrometheus = await startPrometheus({ scrapeTargets: [ownExporter.target], scrapeIntervalSeconds: 1 });
    const ownFake = await startFakeSlack();
    let bot = await startTestBot({ prometheusUrl: ownPrometheus.url, config: watcherTestConfig('  enabled: false\n  resolve_after: 1s'), fake: ownFake });
    try {
      await heldFor(ownPrometheus, 'test_load', 0.9);
      expect((await bot.bot.watcher.runCycle()).opened).toBe(1);
      await ownPrometheus.stop();
      const blind1 = await bot.bot.watcher.runCycle();
      await sleep(1_200);
      const blind2 = await bot.bot.watcher.runCycle();
      expect([blind1.blind, blind2.blind]).toEqual([true, true]);
      expect([blind1.resolved, blind2.resolved]).toEqual([0, 0]);
      const blindMessages = ownFake.messages(CHANNEL).filter((message) => message.text.includes('Monitoring is blind'));
      expect(blindMessages).toHaveLength(1);
      expect(blindMessages[0]!.text).toContain('cannot be reached');
      // Prometheus back: a fresh one (the fixture picks its port), so the bot is restarted to point at it
      await bot.stop();
      ownPrometheus = await startPrometheus({ scrapeTargets: [ownExporter.target], scrapeIntervalSeconds: 1 });
      bot = await startTestBot({
        prometheusUrl: ownPrometheus.url,
        config: watcherTestConfig('  enabled: false\n  resolve_after: 1s'),
        fake: ownFake,
        databaseFile: bot.databaseFile,
      });
      await heldFor(ownPrometheus, 'test_load', 0.9);
      const back = await bot.bot.watcher.runCycle();
      expect(back).toMatchObject({ blind: false, opened: 0, open: 1 });
      expect(ownFake.message(CHANNEL, blindMessages[0]!.ts)!.text).toMatch(/Monitoring was blind from .* Prometheus answers again/);
      // The breach's message (a thread now: its chart is in it) and the blind notice.
      expect(ownFake.messages(CHANNEL).filter((message) => !message.thread_ts || message.thread_ts === message.ts)).toHaveLength(2);
    } finally {
      await bot.stop();
      await ownFake.close();
      await ownPrometheus.stop();
      await ownExporter.stop();
    }
  }, 90_000);
});
