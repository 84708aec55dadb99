import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBoltLogger } from '../../bot/app.ts';
import { loadConfig } from '../../bot/config.ts';
import { createChartRenderer } from '../../charts/off-thread.ts';
import type { Config } from '../../core/config/index.ts';
import type { ChartRenderer, LeaderGate, Storage } from '../../core/ports.ts';
import type { BreachRecord } from '../../core/storage/breaches.ts';
import { breachMessageKey } from '../../core/watch.ts';
import { openSqliteStorage } from '../../db/storage.ts';
import { unusedLoopbackUrl, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { createPrometheus } from '../../integrations/prometheus.ts';
import { slackSender } from '../../integrations/slack-upload.ts';
import { breachChartKey, createChartPoster, type ChartPoster } from '../../services/charts.ts';
import { createOutboxDeliverer } from '../../services/outbox.ts';
import { createWatcher, UNCOUNTED } from '../../services/watcher.ts';
import { startFakeSlack, type FakeSlack, type StoredMessage } from '../helpers/slack/index.ts';
import { ALERTS_CHANNEL, at, BREACH_END, BREACH_START, chartScenarioConfig, CYCLES, SCENARIO_END, startChartPrometheus } from '../helpers/chart-scenario.ts';

const CHANNEL = ALERTS_CHANNEL;
const NOW = SCENARIO_END;
const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'scalebot-charts-'));

function configFrom(yaml: string): Config {
  const file = join(mkdtempSync(join(dir, 'config-')), 'scalebot.yaml');
  writeFileSync(file, yaml);
  return loadConfig({ file });
}

const CONFIG = configFrom(chartScenarioConfig());

let prometheus: PrometheusFixture;
let fake: FakeSlack;
let renderer: ChartRenderer;

beforeAll(async () => {
  prometheus = await startChartPrometheus();
  fake = await startFakeSlack({ channels: { [CHANNEL]: 'alerts', C0OPS: 'ops' } });
  renderer = createChartRenderer();
}, 120_000);

afterAll(async () => {
  await renderer?.close();
  await fake?.close();
  await prometheus?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** One bot process over a database file: its own storage handle, outbox loop, poster and watcher, on a clock the test moves. */
interface Process {
  readonly storage: Storage;
  readonly poster: ChartPoster;
  readonly watcher: ReturnType<typeof createWatcher>;
  close(): Promise<void>;
}

function startProcess(
  file: string,
  clock: () => Date,
  { charts = true, config = CONFIG, chartRenderer = renderer as ChartRenderer | null, prometheusUrl = prometheus.url, leads = true } = {},
): Process {
  const storage = openSqliteStorage(file);
  const slack = new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logger: toBoltLogger(logger, 'outbox-client') });
  // Two processes over one database are replicas: only the leader's outbox sends (services/leadership.ts).
  const deliver = createOutboxDeliverer(storage, slackSender(slack, { timeoutMs: 10_000 }), clock, logger, () => {}, leads ? {} : { leader: FOLLOWER });
  const judge = createPrometheus({ url: prometheus.url, timeoutMs: 5000 });
  const poster = createChartPoster({
    storage,
    config,
    prometheus: createPrometheus({ url: prometheusUrl, timeoutMs: 5000 }),
    renderer: chartRenderer,
    deliver,
    clock,
    logger,
  });
  const watcher = createWatcher({ storage, config, prometheus: judge, deliver, clock, logger, metrics: UNCOUNTED, ...(charts ? { charts: poster } : {}) });
  return {
    storage,
    poster,
    watcher,
    async close() {
      deliver.stop();
      await storage.close();
    },
  };
}

const FOLLOWER: LeaderGate = { isLeader: () => false, asLeader: () => undefined, mayCallOut: () => false, token: () => undefined };

let files = 0;
const newDatabase = () => join(dir, `scalebot-${(files += 1)}.db`);

async function threadOf(storage: Storage, breach: BreachRecord): Promise<StoredMessage[]> {
  const parent = await storage.outbox.getByKey(breachMessageKey(breach.id));
  if (!parent?.ts) throw new Error(`breach #${breach.id} has no message in Slack`);
  return fake.messages(CHANNEL).filter((message) => message.thread_ts === parent.ts && message.ts !== parent.ts);
}
const chartsIn = (thread: readonly StoredMessage[]) => thread.filter((message) => (message.files ?? []).length > 0);
const failuresIn = (thread: readonly StoredMessage[]) => thread.filter((message) => message.text.includes("Couldn't draw the chart"));

async function onlyBreach(storage: Storage): Promise<BreachRecord> {
  const [breach] = await storage.breaches.listResolvedSince(at(NOW - 3 * 3600));
  const open = await storage.breaches.listOpen();
  const found = breach ?? open[0];
  if (!found) throw new Error('no breach was opened');
  return found;
}

describe('charts in a breach thread', () => {
  it('posts one chart when a breach opens and a second, of the whole breach, when it resolves', async () => {
    let now = at(CYCLES[0]!);
    const bot = startProcess(newDatabase(), () => now);
    try {
      for (const minute of CYCLES) {
        now = at(minute);
        await bot.watcher.runCycle();
        const open = await bot.storage.breaches.listOpen();
        if (open.length === 1 && minute < BREACH_END) {
          // Opened: its chart is in the thread at once, before it resolves.
          expect(chartsIn(await threadOf(bot.storage, open[0]!))).toHaveLength(1);
        }
      }
      const breach = await onlyBreach(bot.storage);
      expect(breach.status).toBe('resolved');
      const thread = await threadOf(bot.storage, breach);
      const charts = chartsIn(thread);
      expect(charts).toHaveLength(2);
      expect(charts[0]!.text).toContain('as the breach opened');
      expect(charts[1]!.text).toContain('The whole breach');
      expect(failuresIn(thread)).toEqual([]);
      // The pictures themselves: PNGs, in the thread of the breach's own message.
      for (const message of charts) {
        const file = fake.file(message.files![0]!.id)!;
        expect(file.bytes!.subarray(1, 4).toString('latin1')).toBe('PNG');
      }
      expect((await bot.storage.outbox.getByKey(breachChartKey(breach.id, 'resolved')))?.status).toBe('sent');
    } finally {
      await bot.close();
    }
  }, 120_000);

  it('draws each chart exactly once whatever cycles a crash or restart skipped (generated restart points)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: CYCLES.length - 1, maxLength: CYCLES.length - 1 }), async (drawsCharts) => {
        // false: the process died right after committing that cycle's breach changes, before drawing; the next
        // cycle is a new process (a new storage handle, outbox loop and poster) over the same file.
        const plan = [...drawsCharts, true];
        const file = newDatabase();
        let now = at(CYCLES[0]!);
        let bot = startProcess(file, () => now, { charts: plan[0]! });
        try {
          for (const [index, minute] of CYCLES.entries()) {
            now = at(minute);
            await bot.watcher.runCycle();
            if (!plan[index] || !plan[index + 1]) {
              await bot.close();
              bot = startProcess(file, () => now, { charts: plan[index + 1] ?? true });
            }
          }
          const breach = await onlyBreach(bot.storage);
          const thread = await threadOf(bot.storage, breach);
          expect(chartsIn(thread).map((message) => message.text.split(':')[1])).toHaveLength(2);
          expect(failuresIn(thread)).toEqual([]);
        } finally {
          await bot.close();
        }
      }),
      { numRuns: 6 },
    );
  }, 300_000);

  it('posts one chart when two processes draw the same breach at the same moment', async () => {
    const file = newDatabase();
    let now = at(CYCLES[0]!);
    const first = startProcess(file, () => now, { charts: false });
    const second = startProcess(file, () => now, { leads: false });
    try {
      for (const minute of CYCLES.slice(0, 8)) {
        now = at(minute);
        await first.watcher.runCycle();
      }
      const [breach] = await first.storage.breaches.listOpen();
      expect(breach).toBeDefined();
      const outcomes = await Promise.all([first.poster.chartForBreach(breach!, 'opened'), second.poster.chartForBreach(breach!, 'opened')]);
      expect(outcomes.map((outcome) => outcome.kind).sort()).toEqual(['already', 'queued']);
      await second.poster.catchUp();
      expect(chartsIn(await threadOf(first.storage, breach!))).toHaveLength(1);
    } finally {
      await first.close();
      await second.close();
    }
  }, 120_000);

  it('says once in the thread that a chart could not be drawn, and the breach message goes out as ever', async () => {
    const broken = createChartRenderer();
    await broken.close();
    const file = newDatabase();
    let now = at(CYCLES[0]!);
    let bot = startProcess(file, () => now, { chartRenderer: broken });
    try {
      for (const minute of CYCLES.slice(0, 10)) {
        now = at(minute);
        await bot.watcher.runCycle();
        await bot.poster.catchUp();
      }
      await bot.close();
      bot = startProcess(file, () => now, { chartRenderer: broken });
      await bot.watcher.runCycle();
      const [breach] = await bot.storage.breaches.listOpen();
      const parent = await bot.storage.outbox.getByKey(breachMessageKey(breach!.id));
      expect(parent?.status).toBe('sent');
      const thread = await threadOf(bot.storage, breach!);
      expect(chartsIn(thread)).toEqual([]);
      expect(failuresIn(thread)).toHaveLength(1);
      expect(failuresIn(thread)[0]!.text).toMatch(/^:warning: Couldn't draw the chart: \S/);
    } finally {
      await bot.close();
    }
  }, 120_000);

  it('says so once when Prometheus cannot answer the chart query', async () => {
    let now = at(CYCLES[0]!);
    const bot = startProcess(newDatabase(), () => now, { prometheusUrl: await unusedLoopbackUrl() });
    try {
      for (const minute of CYCLES.slice(0, 10)) {
        now = at(minute);
        await bot.watcher.runCycle();
      }
      const [breach] = await bot.storage.breaches.listOpen();
      const thread = await threadOf(bot.storage, breach!);
      expect(chartsIn(thread)).toEqual([]);
      expect(failuresIn(thread)).toHaveLength(1);
    } finally {
      await bot.close();
    }
  }, 120_000);

  it('draws nothing for an Alertmanager breach, and nothing at all with charts off', async () => {
    const off = configFrom(`slack:\n  alerts_channel: ${CHANNEL}\ncharts:\n  enabled: false\n`);
    let now = at(CYCLES[0]!);
    const bot = startProcess(newDatabase(), () => now);
    const quiet = startProcess(newDatabase(), () => now, { config: { ...CONFIG, charts: off.charts } });
    try {
      now = at(BREACH_START + 5 * 60);
      await bot.watcher.applyAlertmanagerAlerts(
        [
          {
            key: 'fp-1',
            status: 'firing',
            alertname: 'HighLoad',
            severity: 'immediate',
            labels: { alertname: 'HighLoad' },
            startsAt: now,
          } as Parameters<typeof bot.watcher.applyAlertmanagerAlerts>[0][number],
        ],
        now,
      );
      const [alert] = await bot.storage.breaches.listOpen();
      expect(await bot.poster.chartForBreach(alert!, 'opened')).toEqual({ kind: 'off' });
      await bot.poster.catchUp();
      expect(await threadOf(bot.storage, alert!)).toEqual([]);

      expect(quiet.poster.enabled).toBe(false);
      for (const minute of CYCLES.slice(0, 10)) {
        now = at(minute);
        await quiet.watcher.runCycle();
      }
      const [breach] = await quiet.storage.breaches.listOpen();
      expect(await threadOf(quiet.storage, breach!)).toEqual([]);
      expect(JSON.stringify(fake.message(CHANNEL, (await quiet.storage.outbox.getByKey(breachMessageKey(breach!.id)))!.ts!)?.blocks)).not.toContain(
        'alert_chart',
      );
    } finally {
      await bot.close();
      await quiet.close();
    }
  }, 120_000);
});
