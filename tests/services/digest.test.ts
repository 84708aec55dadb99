import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogLevel, WebClient } from '@slack/web-api';
import fc from 'fast-check';
import pino from 'pino';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import { renderChart, renderSmallMultiples } from '../../charts/render.ts';
import type { Config } from '../../core/config/index.ts';
import { digestChartKey, digestKey, digestPeriodAt, nextDigestAt } from '../../core/digest.ts';
import type { ChartRenderer, LeaderGate } from '../../core/ports.ts';
import { openDatabase } from '../../db/client.ts';
import { createSqliteStorage, type SqliteStorage } from '../../db/storage.ts';
import { scenario, startPrometheus, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { createPrometheus } from '../../integrations/prometheus.ts';
import { slackSender } from '../../integrations/slack-upload.ts';
import { createDigestScheduler, type DigestScheduler } from '../../services/digest.ts';
import { createLeadership, SOLE_LEADER } from '../../services/leadership.ts';
import { createOutboxDeliverer } from '../../services/outbox.ts';
import { checkBlockKitLimits, startFakeSlack, type FakeSlack } from '../helpers/slack/index.ts';
import { WITHOUT_DEFAULT_TRIGGERS } from '../helpers/watch-config.ts';

// Issue 16: "digest: { channel, schedule, timezone } posts, exactly once per period even across restarts and missed
// runs (a bot that was down posts the missed digest once, marked late) … leader-only like every other post."
// A real Prometheus with nine days of backfilled history, the fake Slack behind the real outbox, SQLite files.

const CHANNEL = 'C0DIGEST';
const ZONE = 'Europe/Berlin';
const HOUR = 3_600_000;
const MINUTE = 60_000;
const logger = pino({ level: 'silent' });
const NOW = Math.floor(Date.now() / 1000 / 60) * 60;
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

let dir: string;
let prometheus: PrometheusFixture;
let fake: FakeSlack;
let config: Config;
/** A scheduled moment about a day ago: the week before it lies inside the backfilled history. */
let period: Date;
/** When the load trigger's peak was. */
let peakAt: number;

/** The schedule "Www HH:MM" of a moment in Berlin. */
function scheduleOf(date: Date): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: ZONE, hourCycle: 'h23', weekday: 'short', hour: '2-digit', minute: '2-digit' })
      .formatToParts(date)
      .map((part) => [part.type, part.value]),
  );
  expect(WEEKDAYS).toContain(parts.weekday);
  return `${parts.weekday} ${parts.hour}:${parts.minute}`;
}

function configWith(digest: string): Config {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `prometheus:
  timeout: 10s
charts:
  theme: dark
digest:
${digest}
triggers:
${WITHOUT_DEFAULT_TRIGGERS}
  - { id: load, name: Load, severity: immediate, query: "max by (instance) (test_load)", op: ">", threshold: 0.7, for: 5m, unit: percent }
  - { id: users, name: Users online, severity: soon, query: "sum(test_users)", op: ">", threshold: 500, unit: count }
  - { id: hits, name: Cache hit rate, severity: soon, query: "min(test_hit_rate)", op: "<", threshold: 0.8, unit: ratio }
  - { id: absent, name: Nothing here, severity: soon, query: "test_absent", op: ">", threshold: 1, unit: count }
`,
  );
  return loadConfig({ file, env: { PROMETHEUS_URL: prometheus.url } });
}

/** The charts/ renderer behind the ChartRenderer port, on this thread. */
const renderer: ChartRenderer = {
  render: async (model) => renderChart(model),
  renderSmallMultiples: async (models, options) => renderSmallMultiples(models, options),
  close: async () => {},
};

interface Process {
  readonly storage: SqliteStorage;
  readonly deliver: () => Promise<unknown>;
  readonly scheduler: DigestScheduler;
  stop(): Promise<void>;
}

/** One bot process's digest part over the SQLite file: its storage, outbox deliverer and scheduler, at `clock`. */
function startProcess(
  file: string,
  clock: () => Date,
  options: { leader?: LeaderGate; config?: Config; storage?: SqliteStorage; deliver?: () => Promise<unknown> } = {},
): Process {
  const storage = options.storage ?? createSqliteStorage(openDatabase(file));
  const web = new WebClient('xoxb-test-digest', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
  const outbox = createOutboxDeliverer(storage, slackSender(web, { timeoutMs: 10_000 }), clock, logger);
  const deliver = options.deliver ?? outbox;
  const scheduler = createDigestScheduler({
    storage,
    config: options.config ?? config,
    prometheus: createPrometheus({ url: prometheus.url, timeoutMs: 10_000 }),
    renderer,
    deliver,
    clock,
    logger,
    leader: options.leader ?? SOLE_LEADER,
  });
  return {
    storage,
    deliver,
    scheduler,
    async stop() {
      outbox.stop();
      await storage.close();
    },
  };
}

const digests = () => fake.messages(CHANNEL).filter((message) => !message.thread_ts || message.thread_ts === message.ts);
const flat = (message: { text: string; blocks?: unknown[] } | undefined) => JSON.stringify(message?.blocks ?? message?.text ?? '');
let files = 0;
const newFile = () => join(dir, `digest-${(files += 1)}.db`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scalebot-digest-'));
  const start = NOW - 9 * 24 * 3600;
  peakAt = NOW - 3 * 24 * 3600;
  const s = scenario({ now: NOW, start, stepSeconds: 120 })
    // web-1 stays at 0.4 but for an hour three days ago at 0.95; web-2 at 0.5.
    .gauge('test_load', { instance: 'web-1' }, (t) => (t >= peakAt - HOUR / 1000 && t <= peakAt ? 0.95 : 0.4))
    .gauge('test_load', { instance: 'web-2' }, 0.5)
    .gauge('test_users', {}, (t) => 100 + ((t - start) / (NOW - start)) * 200)
    .gauge('test_hit_rate', {}, (t) => (t >= peakAt - HOUR / 1000 && t <= peakAt ? 0.75 : 0.9));
  [prometheus, fake] = await Promise.all([startPrometheus({ openMetrics: s.toOpenMetrics() }), startFakeSlack()]);
  const aDayAgo = new Date((NOW - 24 * 3600) * 1000);
  config = configWith(`  channel: ${CHANNEL}\n  schedule: "${scheduleOf(aDayAgo)}"\n  timezone: ${ZONE}`);
  period = digestPeriodAt(aDayAgo, config.digest).start;
}, 240_000);

afterAll(async () => {
  await fake?.close();
  await prometheus?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the weekly digest', () => {
  it("posts the week's peaks, forecasts, open breaches, decisions and costs once, with the small multiples in its thread", async () => {
    fake.reset();
    const file = newFile();
    const at = new Date(period.getTime() + 2 * MINUTE);
    const bot = startProcess(file, () => at);
    try {
      await bot.storage.decisions.append({
        at: new Date(period.getTime() - HOUR),
        kind: 'advice',
        actor: 'U0OPS',
        channel: 'C0OPS',
        outcome: 'vertical',
        subject: 'vertical',
      });
      const first = await bot.scheduler.check();
      expect(first).toEqual({ kind: 'posted', key: digestKey(period), late: false, chart: 'posted' });
      expect(digests()).toHaveLength(1);
      const message = digests()[0]!;
      const text = flat(message);
      expect(text).toContain('Weekly capacity digest');
      expect(text).not.toContain('(late)');
      expect(text).toContain('*Load*: peak *95 %* against &gt; 70 %, over');
      expect(text).toContain('instance=web-1');
      expect(text).toContain('*Cache hit rate*: low *0.75×* against &lt; 0.8×, over');
      expect(text).toContain('*Users online*: peak');
      expect(text).toContain(', under');
      expect(text).toContain('*Nothing here*: no data this week');
      expect(text).toContain('Advice: *vertical*');
      expect(text).toContain('Now: CPX41 (one server) $35/month + $190 APIs = *$225/month*');
      expect(text).toContain("Next step (vertical, the week's latest advice): the server CPX41 → CPX51: $50/month (+$15)");
      expect(checkBlockKitLimits(message.blocks ?? [])).toEqual([]);
      // The peak is dated within the hour it happened (each point is the worst of the hour before it).
      const [row] = await bot.storage.decisions.list({ kinds: ['digest_posted'] });
      expect(row).toMatchObject({ subject: digestKey(period), outcome: 'on_time', channel: CHANNEL, detail: { over: 2, open_breaches: 0 } });
      // The picture: a reply keyed <digest key>:chart carrying a PNG of three small charts (the trigger with no data has none).
      const chart = await bot.storage.outbox.getByKey(digestChartKey(digestKey(period)));
      expect(chart?.parentId).toBe((await bot.storage.outbox.getByKey(digestKey(period)))!.id);
      const png = PNG.sync.read(Buffer.from(chart!.payload.file!.base64, 'base64'));
      expect([png.width, png.height]).toEqual([1200, 310]);
      expect(chart!.payload.file!.altText).toContain('3 charts');
      // A second check in the same period queues nothing.
      expect(await bot.scheduler.check()).toMatchObject({ kind: 'already_posted', chart: 'none' });
      expect(digests()).toHaveLength(1);
    } finally {
      await bot.stop();
    }
  }, 60_000);

  it('posts each period once across any sequence of restarts and checks, and two replicas checking at once', async () => {
    const next = nextDigestAt(period, config.digest);
    const moment = fc.oneof(
      fc.integer({ min: -90, max: 60 * 24 }).map((minutes) => period.getTime() + minutes * MINUTE),
      fc.constant(next.getTime() + 5 * MINUTE),
    );
    // Each restart: when it starts, how many checks it makes (a minute apart), and whether a second replica checks beside it.
    const restart = fc.record({ at: moment, checks: fc.integer({ min: 1, max: 3 }), twin: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(restart, { minLength: 1, maxLength: 4 }), async (restarts) => {
        fake.reset();
        const file = newFile();
        const seen = new Set<string>();
        const queued: string[] = [];
        for (const { at, checks, twin } of [...restarts].sort((a, b) => a.at - b.at)) {
          let now = at;
          const clock = () => new Date(now);
          const bot = startProcess(file, clock);
          // A second replica checks at the same moment; Slack is the leader's outbox loop's alone (as with replicas).
          const other = twin ? startProcess(file, clock, { deliver: bot.deliver }) : null;
          try {
            for (let index = 0; index < checks; index += 1) {
              const results = await Promise.all([bot.scheduler.check(), ...(other ? [other.scheduler.check()] : [])]);
              for (const result of results) {
                if (!('key' in result)) continue;
                seen.add(result.key);
                if (result.kind === 'posted') queued.push(result.key);
              }
              now += MINUTE;
            }
          } finally {
            await other?.stop();
            await bot.stop();
          }
        }
        // One digest per period that a check fell in: queued by one check, posted once, one decision row each.
        expect(queued.sort()).toEqual([...seen].sort());
        expect(digests()).toHaveLength(seen.size);
        const storage = createSqliteStorage(openDatabase(file));
        try {
          const rows = await storage.decisions.list({ kinds: ['digest_posted'] });
          expect(rows.map((row) => row.subject).sort()).toEqual([...seen].sort());
        } finally {
          await storage.close();
        }
      }),
      { numRuns: 6 },
    );
  }, 240_000);

  it('a bot that was down over the schedule posts the missed digest once when it starts, marked late, and no older one', async () => {
    fake.reset();
    const file = newFile();
    // Up before the schedule (it posts the week before's digest, itself late), down over it, up five hours after.
    const before = startProcess(file, () => new Date(period.getTime() - 30 * MINUTE));
    await before.scheduler.check();
    await before.stop();
    expect(digests()).toHaveLength(1);
    const at = new Date(period.getTime() + 5 * HOUR);
    for (let restart = 0; restart < 2; restart += 1) {
      const after = startProcess(file, () => at);
      try {
        expect(await after.scheduler.check()).toMatchObject({ key: digestKey(period), late: true, kind: restart === 0 ? 'posted' : 'already_posted' });
      } finally {
        await after.stop();
      }
    }
    expect(digests()).toHaveLength(2);
    const late = digests()[1]!;
    expect(flat(late)).toContain('(late)');
    expect(flat(late)).toContain(':hourglass: late: the bot was not running at');
    const storage = createSqliteStorage(openDatabase(file));
    try {
      expect((await storage.decisions.list({ kinds: ['digest_posted'] })).map((row) => row.outcome)).toEqual(['late', 'late']);
    } finally {
      await storage.close();
    }
  }, 60_000);

  it('posts nothing from a follower, and the leader posts it as a leader job', async () => {
    fake.reset();
    const file = newFile();
    const at = () => new Date(period.getTime() + MINUTE);
    const replicas = ['a', 'b'].map((holder) => {
      let leadership: ReturnType<typeof createLeadership> | undefined;
      const storage = createSqliteStorage(openDatabase(file), { fenceToken: () => leadership?.fenceToken() });
      leadership = createLeadership({ leases: storage.leases, leaseMs: 5_000, holder, logger });
      return { leadership, process: startProcess(file, at, { leader: leadership, storage }) };
    });
    const [leader, follower] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    try {
      await leader.leadership.start([leader.process.scheduler.leaderJob]);
      await follower.leadership.start([follower.process.scheduler.leaderJob]);
      expect([leader.leadership.role(), follower.leadership.role()]).toEqual(['leader', 'follower']);
      expect(await follower.process.scheduler.check()).toEqual({ kind: 'not_leader' });
      await expect.poll(() => digests().length, { timeout: 20_000 }).toBe(1);
      expect(await follower.process.storage.outbox.getByKey(digestKey(period))).toBeDefined();
    } finally {
      for (const replica of replicas) {
        await replica.leadership.stop();
        await replica.process.stop();
      }
    }
    expect(digests()).toHaveLength(1);
  }, 60_000);

  it('posts nothing without a channel', async () => {
    fake.reset();
    const silent = configWith(`  channel: null\n  schedule: "${config.digest.schedule}"\n  timezone: ${ZONE}`);
    const bot = startProcess(newFile(), () => new Date(period.getTime() + MINUTE), { config: silent });
    try {
      expect(await bot.scheduler.check()).toEqual({ kind: 'no_channel' });
      expect(await bot.storage.outbox.getByKey(digestKey(period))).toBeUndefined();
    } finally {
      await bot.stop();
    }
    expect(fake.calls).toHaveLength(0);
  });
});
