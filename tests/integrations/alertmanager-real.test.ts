// The whole chain a team runs when it loads `scalebot rules` into its own Prometheus: a live exporter →
// Debian's Prometheus evaluating those rules → Debian's Alertmanager → its webhook → the real bot → (fake) Slack.
// Nothing here is hand-written JSON: every payload the bot reads is one Alertmanager built.
import { escapeMrkdwn } from '../../blocks/types.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bot/cli.ts';
import { listDecisions } from '../../db/decision-log.ts';
import type { StoredMessage } from '../../devkit/slack-emulator/message-store.ts';
import {
  startAlertingPrometheus,
  startAlertmanager,
  startWebhookRecorder,
  type AlertingPrometheus,
  type AlertmanagerFixture,
  type WebhookRecorder,
} from '../../devkit/alertmanager/index.ts';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { startExporter, waitForValue, type Exporter } from '../../devkit/prometheus/index.ts';
import { watcherTestConfig } from '../helpers/watch-config.ts';

const LONG = process.env.SCALEBOT_LONG === '1';
const CHANNEL = 'C0ALERTS';
const TOKEN = `am-${randomBytes(12).toString('hex')}`;
// Alertmanager re-sends a still-firing group this often; the quick run holds the alerts through two repeats.
const REPEAT_SECONDS = 2;
const REPEATS_WHILE_FIRING = LONG ? 8 : 2;
// The long run adds instances, some with generated names (quotes, backslashes, markup, non-ASCII): more alerts in
// one group, each still to get exactly one message.
const GENERATED_INSTANCES = LONG
  ? fc.sample(fc.stringMatching(/^[a-zA-Z0-9 ."'\\/<>&:=é😀-]{1,24}$/u), { numRuns: 40, seed: 13 }).filter((name) => name.trim() === name)
  : [];
const LOAD_INSTANCES = [...new Set(['web-1', 'web-2', ...(LONG ? ['web-3', 'web-4'] : []), ...GENERATED_INSTANCES])].slice(0, LONG ? 12 : 2);

// Until every group was repeated REPEATS_WHILE_FIRING times (about REPEAT_SECONDS + 1 s apart), with room.
const FIRING_TEST_TIMEOUT_MS = (REPEATS_WHILE_FIRING + 6) * (REPEAT_SECONDS + 1) * 1000 + 20_000;

// The bot's own watcher is off: every breach message below can only have come through the webhook.
const CONFIG = watcherTestConfig('  enabled: false');

let exporter: Exporter;
let bot: TestBot;
let recorder: WebhookRecorder;
let alertmanager: AlertmanagerFixture;
let prometheus: AlertingPrometheus;
let configDir: string;

/** `scalebot rules -c <file>` as the CLI runs it, in this process (the bin's tsx start costs seconds here). */
async function scalebotRules(configText: string): Promise<string> {
  configDir = mkdtempSync(join(tmpdir(), 'scalebot-am-rules-'));
  const file = join(configDir, 'scalebot.yaml');
  writeFileSync(file, configText);
  let stdout = '';
  let stderr = '';
  const code = await runCli(['rules', '-c', file], { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env: {} });
  if (code !== 0) throw new Error(`scalebot rules exited ${code}: ${stderr}`);
  return stdout;
}

const isTopLevel = (message: StoredMessage) => !message.thread_ts || message.thread_ts === message.ts;
const breachMessages = () => bot.fake.messages(CHANNEL).filter(isTopLevel);
const repliesTo = (ts: string) => bot.fake.messages(CHANNEL).filter((message) => message.thread_ts === ts && message.ts !== ts);
const updatesOf = (ts: string) => bot.fake.callsTo('chat.update').filter((call) => call.args.ts === ts && call.response?.status === 200);

/** The breach message for one alert, by the labels the bot shows on it. */
/** The breach message of an alert; labels reach Slack escaped (`&` as `&amp;`), so the instance is matched escaped. */
function messageFor(alertname: string, instance?: string): StoredMessage | undefined {
  return breachMessages().find(
    (message) =>
      message.text.includes(`alertname=${alertname}`) &&
      (instance === undefined || message.text.includes(`instance=${escapeMrkdwn(instance)}, scalebot_trigger=`)),
  );
}
const ALERTS = [...LOAD_INSTANCES.map((instance) => ({ alertname: 'ScalebotLoad', instance })), { alertname: 'ScalebotUsers', instance: undefined }];

/** Deliveries whose alerts are all firing, per group (Alertmanager's groupKey). */
function firingDeliveriesByGroup(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { body } of recorder.deliveries) {
    if (body.alerts.every((alert) => alert.status === 'firing')) counts.set(body.groupKey, (counts.get(body.groupKey) ?? 0) + 1);
  }
  return counts;
}

async function waitUntil<T>(what: string, probe: () => T | Promise<T>, timeoutMs: number): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}\nPrometheus alerts: ${JSON.stringify(await prometheus.alerts())}\n` +
          `Alertmanager alerts: ${JSON.stringify((await alertmanager.alerts()).map((a) => [a.labels, a.status.state]))}\n` +
          `deliveries: ${recorder.deliveries.map((d) => `${d.body.status}[${d.body.alerts.map((a) => a.status).join(',')}]`).join(' ')}\n` +
          `${bot.fake.summary()}\nAlertmanager log:\n${alertmanager.logs().slice(-3000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What the bot answered to each delivery, once none is still in its hands. */
async function botAnswers(): Promise<number[]> {
  await waitUntil('the bot to answer every delivery', () => recorder.deliveries.every((delivery) => delivery.answer !== null), 5_000);
  return recorder.deliveries.map((delivery) => delivery.answer!);
}

const setLoad = (instance: string, value: number) => exporter.set('test_load', { instance }, value);
const setUsers = (value: number) => exporter.set('test_users', { instance: 'app-1' }, value);

beforeAll(async () => {
  exporter = await startExporter();
  for (const instance of LOAD_INSTANCES) setLoad(instance, 0.2);
  setUsers(100);
  const rules = await scalebotRules(CONFIG);
  bot = await startTestBot({ config: CONFIG, env: { ALERTMANAGER_TOKEN: TOKEN } });
  // Stands transparently in front of the bot's route, to count and keep what it was sent and what it answered.
  recorder = await startWebhookRecorder(`${bot.url}/alertmanager`);
  alertmanager = await startAlertmanager({
    webhooks: [{ url: recorder.url, bearerToken: TOKEN }],
    groupWaitSeconds: 1,
    groupIntervalSeconds: 1,
    repeatIntervalSeconds: REPEAT_SECONDS,
  });
  prometheus = await startAlertingPrometheus({
    rules,
    alertmanagers: [alertmanager.target],
    scrapeTargets: [exporter.target],
    intervalSeconds: 1,
    // Prometheus re-sends every active alert to Alertmanager each second: re-sends the bot must not see twice.
    resendDelaySeconds: 1,
  });
  // The first scrape comes 5–6 s after start (target sync).
  await waitForValue(prometheus, 'count(test_load)', (value) => value === LOAD_INSTANCES.length, 20_000);
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await alertmanager?.stop();
  await recorder?.stop();
  await bot?.stop();
  await exporter?.stop();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

describe('a real Alertmanager delivering `scalebot rules` alerts to the bot', () => {
  it('loads the exported rules into Prometheus under the names scalebot gives them, and nothing fires under the thresholds', async () => {
    const rules = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ name: string; rules: Array<{ name: string }> }> };
    };
    expect(rules.data.groups.map((group) => [group.name, group.rules.map((rule) => rule.name)])).toEqual([['scalebot', ['ScalebotLoad', 'ScalebotUsers']]]);
    expect(await prometheus.alerts()).toEqual([]);
    expect(breachMessages()).toEqual([]);
  });

  it(
    "posts one breach message per firing alert, edits it on Alertmanager's repeats and never posts it twice",
    async () => {
      for (const [i, instance] of LOAD_INSTANCES.entries()) setLoad(instance, 0.9 + i / 1000);
      setUsers(600);

      await waitUntil('a message per alert', () => ALERTS.every(({ alertname, instance }) => messageFor(alertname, instance)), 20_000);
      // Hold the alerts firing until Alertmanager has repeated every group, and Prometheus has re-sent each alert.
      await waitUntil(
        `${REPEATS_WHILE_FIRING} repeats of each group`,
        () => {
          const counts = firingDeliveriesByGroup();
          return counts.size === 2 && [...counts.values()].every((count) => count >= 1 + REPEATS_WHILE_FIRING);
        },
        (REPEATS_WHILE_FIRING + 4) * (REPEAT_SECONDS + 1) * 1000,
      );
      const answers = await botAnswers();

      expect(breachMessages()).toHaveLength(ALERTS.length);
      for (const { alertname, instance } of ALERTS) {
        const message = messageFor(alertname, instance)!;
        expect(message.text).toMatch(alertname === 'ScalebotLoad' ? /^Scale now: ScalebotLoad/ : /^Scale soon: ScalebotUsers/);
        expect(JSON.stringify(message.blocks)).toContain('alert_ack');
        // Each repeat re-renders it ("since …, (N s)"), in place.
        expect(updatesOf(message.ts).length, `${alertname} ${instance ?? ''} was never edited`).toBeGreaterThan(0);
        expect(repliesTo(message.ts)).toEqual([]);
      }
      const opened = listDecisions(bot.bot.database.db, { kinds: ['breach_opened'] });
      expect(opened.map((row) => row.actor)).toEqual(ALERTS.map(() => 'alertmanager'));
      expect(bot.fake.callsTo('chat.postMessage')).toHaveLength(ALERTS.length);
      // Every delivery to the bot was accepted: a 4xx/5xx answer counts here.
      expect(await alertmanager.metric('alertmanager_notifications_failed_total', { integration: 'webhook' })).toBe(0);
      expect(answers).toEqual(answers.map(() => 200));
      expect(await alertmanager.metric('alertmanager_notifications_total', { integration: 'webhook' })).toBeGreaterThanOrEqual(2 * (1 + REPEATS_WHILE_FIRING));
      // Prometheus re-sent every firing alert several times meanwhile (resend delay 1 s): Alertmanager folded them.
      expect(await alertmanager.metric('alertmanager_alerts_received_total', { status: 'firing' })).toBeGreaterThanOrEqual(3 * ALERTS.length);
    },
    FIRING_TEST_TIMEOUT_MS,
  );

  it('resolves one alert of a group in its thread while the others keep firing', async () => {
    const [first, ...others] = LOAD_INSTANCES;
    setLoad(first!, 0.3);
    const message = messageFor('ScalebotLoad', first)!;
    await waitUntil('the first instance resolved', () => repliesTo(message.ts).some((reply) => reply.text.includes('Resolved after')), 15_000);

    expect(bot.fake.message(CHANNEL, message.ts)!.text).toMatch(/^Resolved: ScalebotLoad/);
    for (const instance of others) expect(messageFor('ScalebotLoad', instance)!.text).toMatch(/^Scale now: ScalebotLoad/);
    expect(messageFor('ScalebotUsers')!.text).toMatch(/^Scale soon: ScalebotUsers/);
    // Alertmanager said so in a notification whose own status is still "firing": the bot went by each alert's.
    const mixed = recorder.deliveries.find((d) => d.body.status === 'firing' && d.body.alerts.some((alert) => alert.status === 'resolved'));
    expect(mixed, 'no firing notification carrying a resolved alert').toBeDefined();
  });

  it('resolves every alert once when the data goes back under the thresholds, and stays quiet after', async () => {
    for (const instance of LOAD_INSTANCES) setLoad(instance, 0.1);
    setUsers(50);
    await waitUntil(
      'every alert resolved',
      () => ALERTS.every(({ alertname, instance }) => messageFor(alertname, instance)?.text.startsWith('Resolved:')),
      15_000,
    );
    // Long enough for any repeat or re-send of the resolved notifications to arrive.
    await new Promise((resolve) => setTimeout(resolve, (REPEAT_SECONDS + 2) * 1000));

    expect(breachMessages()).toHaveLength(ALERTS.length);
    for (const { alertname, instance } of ALERTS) {
      const message = messageFor(alertname, instance)!;
      expect(JSON.stringify(message.blocks)).not.toContain('alert_ack');
      expect(repliesTo(message.ts).map((reply) => reply.text.replace(/after .*?:/, 'after …:'))).toEqual([
        `:white_check_mark: Resolved after …: ${alertname}.`,
      ]);
    }
    expect(bot.fake.callsTo('chat.postMessage')).toHaveLength(2 * ALERTS.length);
    expect(await alertmanager.metric('alertmanager_notifications_failed_total', { integration: 'webhook' })).toBe(0);
    const answers = await botAnswers();
    expect(answers).toEqual(answers.map(() => 200));
    expect(await prometheus.alerts()).toEqual([]);
  });

  it('was sent what Alertmanager 0.25 sends (webhook version 4, with the token, RFC 3339 times) and accepted all of it', () => {
    expect(recorder.deliveries.length).toBeGreaterThan(0);
    for (const delivery of recorder.deliveries) {
      expect(delivery).toMatchObject({ contentType: 'application/json', authorizationScheme: 'Bearer', answer: 200 });
      expect(delivery.userAgent).toMatch(/^Alertmanager\//);
      const { body } = delivery;
      expect(body).toMatchObject({ version: '4', receiver: alertmanager.receiver, externalURL: alertmanager.url, truncatedAlerts: 0 });
      for (const alert of body.alerts) {
        expect(alert.labels.alertname).toMatch(/^Scalebot(Load|Users)$/);
        expect(alert.fingerprint).toMatch(/^[0-9a-f]{16}$/);
        expect(alert.startsAt).toMatch(RFC3339);
        expect(alert.endsAt).toMatch(RFC3339);
        // Firing alerts carry Go's zero time as endsAt; resolved ones the moment Prometheus saw them end.
        if (alert.status === 'firing') expect(alert.endsAt).toBe('0001-01-01T00:00:00Z');
        else expect(Date.parse(alert.endsAt)).toBeGreaterThan(Date.parse(alert.startsAt));
      }
    }
  });
});

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
