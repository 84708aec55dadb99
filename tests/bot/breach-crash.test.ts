import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../db/client.ts';
import { listDecisions } from '../../db/decision-log.ts';
import { blindPeriods, breaches, slackOutbox } from '../../db/schema.ts';
import {
  createBotSupervisor,
  describeCalls,
  describePoint,
  exactlyOnceProblems,
  labelsNotIn,
  outboxKeyOf,
  pointsOf,
  startPointProxy,
  startSlackProxy,
  sweepConcurrently,
  until,
  type CrashPoint,
  type ProxiedCall,
  type SlackCall,
} from '../helpers/crash/index.ts';
import { startExporter, startPrometheus, waitForValue, type Exporter, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { startFakeSlack } from '../helpers/slack/index.ts';
import { WITHOUT_DEFAULT_TRIGGERS } from '../helpers/watch-config.ts';

// Issue 12: a breach's life (posted, edited, reminded, a blind notice, resolved) with the real bot process
// killed by SIGKILL where it awaits Slack or Prometheus, restarted on the same SQLite file, and the life
// carried on to its end. Whatever the crash point, Slack must end up with each message exactly once,
// showing what the database says. The points are found by recording a life without a crash, never listed.

const LONG = process.env.SCALEBOT_LONG === '1';
const CHANNEL = 'C0ALERTS';
const METRIC = 'crash_load';
const TOKEN = 'xoxb-breach-crash-0000-token';
const SECRET = 'breach-crash-signing-secret-7e1a';
/**
 * Per condition of a life. A life takes about 10 s, but with the machine loaded (load 11 on 2 cores, seen)
 * one bot start took 12–16 s; a deadline only bounds a failure, it costs nothing when things go well.
 */
const STEP_TIMEOUT_MS = 60_000;
/** Lives run side by side in the long sweep (each has its own fake, proxies, database and series). */
const SWEEP_CONCURRENCY = 2;

/** One life's config: its trigger reads only its own series, so two lives can run side by side. */
const configFor = (instance: string) => {
  const query = `max by (instance) (${METRIC}{instance=\\"${instance}\\"})`;
  return `prometheus:
  lookback: 30s
  timeout: 2s
slack:
  alerts_channel: ${CHANNEL}
charts:
  enabled: false
watch:
  interval: 1s
  resolve_after: 1s
  repeat: { immediate: 2s }
triggers:
${WITHOUT_DEFAULT_TRIGGERS}
  - { id: load, name: Load, severity: immediate, query: "${query}", op: ">", threshold: 0.7, for: 0s, unit: percent, advice: "Consider vertical scaling." }
`;
};

let exporter: Exporter;
let prometheus: PrometheusFixture;
let runs = 0;

/** Names an edit by what it shows, so "the edit that resolves" is one point in every run. */
function breachPhase({ method, args }: SlackCall, key: string | undefined): string | undefined {
  if (method !== 'chat.update' || !key) return undefined;
  const text = typeof args.text === 'string' ? args.text : '';
  if (key.startsWith('blind:')) return text.includes('answers again') ? 'ended' : 'blind';
  if (/^breach:\d+$/.test(key)) {
    if (text.startsWith('Resolved')) return 'resolved';
    return JSON.stringify(args.blocks ?? '').includes('Back within the threshold') ? 'clearing' : 'open';
  }
  return undefined;
}

interface LifeOptions {
  /** Kill the bot at each of these points (in any order they come). */
  points?: readonly CrashPoint[];
  /** Kill the bot this long after the first start, wherever it is. */
  killAfterMs?: number;
  /** At each of these points the connection is lost (before: Slack never saw the call; after: it did), the bot lives on. */
  lostAnswers?: readonly CrashPoint[];
}

interface Life {
  /** Every call to Slack and to Prometheus, both proxies' records merged in time order. */
  calls: ProxiedCall[];
  durationMs: number;
  kills: number;
  /** Bot processes started. */
  starts: number;
  reached: CrashPoint[];
  unreached: CrashPoint[];
  /** Everything wrong with the end state; empty when the life came out right. */
  problems: string[];
  /** Slack's channel at the end: top-level messages and replies, for the report of a failure. */
  slack: string;
}

/**
 * One breach's life from a fresh database: the load goes over the threshold (the breach is posted, then
 * edited every cycle), a reminder comes due, Prometheus goes blind and comes back (a notice, then its edit),
 * the load drops (the "clearing" edit, then the resolved edit and reply). The test moves to each stage when
 * the database shows the previous one, so a kill anywhere only delays the life; at the end the outbox must
 * be drained and Slack must match it.
 */
async function liveABreach({ points = [], killAfterMs, lostAnswers = [] }: LifeOptions = {}): Promise<Life> {
  runs += 1;
  const instance = `run-${runs}`;
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-breach-crash-'));
  const configFile = join(dir, 'scalebot.yaml');
  writeFileSync(configFile, configFor(instance));
  const fake = await startFakeSlack();
  const slack = await startSlackProxy(fake, breachPhase);
  const prometheusProxy = await startPointProxy({ source: 'prometheus', target: prometheus.url, label: (request) => request.path });
  const bot = createBotSupervisor({
    env: {
      SLACK_BOT_TOKEN: TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      SCALEBOT_DB: join(dir, 'scalebot.db'),
      SCALEBOT_CONFIG: configFile,
      PROMETHEUS_URL: prometheusProxy.url,
    },
  });
  for (const point of points) (point.source === 'slack' ? slack : prometheusProxy).at(point, () => bot.crash());
  for (const point of lostAnswers) (point.source === 'slack' ? slack : prometheusProxy).at(point, () => undefined);
  let database: DatabaseHandle | undefined;
  let timer: NodeJS.Timeout | undefined;
  const calls = () => [...slack.calls, ...prometheusProxy.calls].sort((a, b) => a.at - b.at);
  const startedAt = Date.now();
  const detail = () => `calls:\n${describeCalls(calls(), startedAt)}\n${fake.summary()}\n${bot.logs()}`;
  const step = <T>(what: string, probe: () => T | undefined | null | false) => until(what, probe, { timeoutMs: STEP_TIMEOUT_MS, detail });
  try {
    exporter.set(METRIC, { instance }, 0.9);
    if (killAfterMs !== undefined) timer = setTimeout(() => void bot.crash().catch(() => undefined), killAfterMs);
    await bot.start();
    database = openDatabase(join(dir, 'scalebot.db'));
    const db = database.db;
    const outbox = () => db.select().from(slackOutbox).all();
    const breach = () => db.select().from(breaches).all()[0];

    await step('the breach to open', () => breach());
    await step('a reminder to be queued', () => outbox().some((row) => row.dedupeKey.includes(':reminder:')));
    prometheusProxy.refuse(503);
    await step('monitoring to go blind', () => db.select().from(blindPeriods).all().length > 0);
    prometheusProxy.refuse(null);
    await step('monitoring to see again', () =>
      db
        .select()
        .from(blindPeriods)
        .all()
        .every((period) => period.endedAt),
    );
    exporter.set(METRIC, { instance }, 0.1);
    await step('the breach to resolve', () => breach()?.status === 'resolved');
    await step('everything queued to reach Slack', async () => {
      const current = await bot.ready();
      const rows = outbox();
      return current.ready && rows.some((row) => row.dedupeKey.endsWith(':resolved')) && rows.every((row) => row.status === 'sent' && !row.needsUpdate);
    });
    clearTimeout(timer);

    const problems: string[] = [];
    for (const generation of bot.unexpectedExits) problems.push(`bot process #${generation.index} died by itself`);
    const rows = outbox();
    problems.push(...exactlyOnceProblems(fake, rows, [CHANNEL]));
    const all = db.select().from(breaches).all();
    if (all.length !== 1) problems.push(`${all.length} breaches were opened for one breached series: ${all.map((row) => row.key).join(', ')}`);
    const shown = fake.messages(CHANNEL);
    for (const row of all) {
      const keyed = (pattern: RegExp) => shown.filter((message) => pattern.test(outboxKeyOf(message) ?? ''));
      const top = keyed(new RegExp(`^breach:${row.id}$`));
      if (top.length !== 1) problems.push(`breach #${row.id} has ${top.length} top-level messages`);
      else if (!top[0]!.text.startsWith('Resolved: Load') || JSON.stringify(top[0]!.blocks).includes('alert_ack'))
        problems.push(`breach #${row.id}'s message does not show it resolved: ${top[0]!.text}`);
      const resolvedReplies = keyed(new RegExp(`^breach:${row.id}:resolved$`));
      if (resolvedReplies.length !== 1) problems.push(`breach #${row.id} has ${resolvedReplies.length} "resolved" replies`);
      const reminderRows = rows.filter((entry) => entry.dedupeKey.startsWith(`breach:${row.id}:reminder:`));
      const reminders = keyed(new RegExp(`^breach:${row.id}:reminder:`));
      if (reminderRows.length < 1 || reminders.length !== reminderRows.length)
        problems.push(`breach #${row.id}: ${reminderRows.length} reminders due, ${reminders.length} in its thread`);
    }
    const blind = shown.filter((message) => (outboxKeyOf(message) ?? '').startsWith('blind:'));
    if (blind.length !== 1 || !blind[0]!.text.includes('answers again'))
      problems.push(`the blind notice: ${blind.map((message) => message.text).join(' | ') || 'none'}`);
    for (const [kind, expected] of [
      ['breach_opened', 1],
      ['breach_resolved', 1],
      ['monitoring_blind', 1],
      ['monitoring_recovered', 1],
    ] as const) {
      const count = listDecisions(db, { kinds: [kind] }).length;
      if (count !== expected) problems.push(`${count} ${kind} decisions`);
    }
    return {
      calls: calls(),
      durationMs: Date.now() - startedAt,
      kills: bot.kills,
      starts: bot.generations.length,
      reached: [...slack.reached, ...prometheusProxy.reached],
      unreached: [...slack.armed, ...prometheusProxy.armed],
      problems,
      slack: shown
        .map(
          (message) =>
            `${message.thread_ts && message.thread_ts !== message.ts ? '    ↳ ' : ''}${message.ts} [${outboxKeyOf(message)}] ${message.text.slice(0, 100)}`,
        )
        .join('\n'),
    };
  } finally {
    clearTimeout(timer);
    exporter.remove(METRIC, { instance });
    await bot.stop();
    database?.close();
    await Promise.all([slack.stop(), prometheusProxy.stop()]);
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A failed life tells which points, what the bot awaited and what Slack showed. */
function expectSound(life: Life, what: string) {
  const report = `${what}\nproblems:\n  ${life.problems.join('\n  ')}\nSlack:\n${life.slack}\ncalls:\n${describeCalls(life.calls)}`;
  expect(life.unreached.map(describePoint), `points never reached in ${what}`).toEqual([]);
  expect(life.problems, report).toEqual([]);
}

/** The points swept: the first call of each label; also the second of labels seen three times or more. */
function sweptPoints(calls: readonly ProxiedCall[]): CrashPoint[] {
  return pointsOf(calls, {
    occurrences: (_label, count, source) =>
      source === 'prometheus' ? [...new Set([1, Math.floor(count / 3), Math.floor((2 * count) / 3)])] : count >= 3 ? [1, 2] : [1],
  });
}

beforeAll(async () => {
  exporter = await startExporter();
  exporter.set(METRIC, { instance: 'warm-up' }, 0.1);
  prometheus = await startPrometheus({ scrapeTargets: [exporter.target], scrapeIntervalSeconds: 1 });
  await waitForValue(prometheus, `${METRIC}{instance="warm-up"}`, (value) => value === 0.1, 20_000);
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await exporter?.stop();
});

describe("a breach's life with the bot killed (SIGKILL) where it awaits Slack or Prometheus", () => {
  let baseline: Life;
  let points: CrashPoint[];

  it('records the points a life without a crash awaits, and that life comes out right', async () => {
    baseline = await liveABreach();
    expectSound(baseline, 'the life without a crash');
    expect(baseline.kills).toBe(0);
    points = sweptPoints(baseline.calls);
    const labels = new Set(points.map((point) => point.label));
    // What the recording must have found for the sweep to mean anything (found, not listed: any other
    // call the bot makes is swept as well).
    for (const expected of [
      'chat.postMessage breach:1',
      'chat.update breach:1 open',
      'chat.postMessage breach:1:reminder:*',
      'chat.postMessage blind:1',
      'chat.update blind:1 ended',
      'chat.update breach:1 resolved',
      'chat.postMessage breach:1:resolved',
      '/api/v1/query_range',
    ]) {
      expect(labels, `${expected} in ${[...labels].join(', ')}`).toContain(expected);
    }
  }, 60_000);

  it('posts the breach once when killed after Slack took its first post and before the bot heard', async () => {
    const point = points.find((candidate) => candidate.source === 'slack' && candidate.label.startsWith('chat.postMessage') && candidate.when === 'after')!;
    const life = await liveABreach({ points: [point] });
    expectSound(life, describePoint(point));
    expect(life.kills).toBe(1);
    // The restarted bot looked the post up instead of posting again.
    expect(life.calls.some((call) => call.label === 'conversations.history')).toBe(true);
  }, 150_000);

  it('comes out right killed at a point drawn from the recording', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...points), async (point) => {
        const life = await liveABreach({ points: [point] });
        expectSound(life, describePoint(point));
      }),
      { numRuns: 1, endOnFailure: true },
    );
  }, 150_000);

  // Found by this harness: no crash, Slack posted the notice and the connection broke before the answer. The
  // outbox keeps the row "sending" and looks it up 5 s later; Prometheus answers again in between, so the row's
  // payload becomes "was blind … answers again". The recovery used to take the current payload for the one
  // posted, so no edit followed and Slack said "Monitoring is blind" for good; a found message now gets one edit.
  it('shows the blind notice ended when the answer to its post was lost and Prometheus came back meanwhile', async () => {
    const point = points.find((candidate) => candidate.label === 'chat.postMessage blind:1' && candidate.when === 'after')!;
    const life = await liveABreach({ lostAnswers: [point] });
    expectSound(life, `the answer lost at ${describePoint(point)}`);
    expect(life.starts).toBe(1);
  }, 150_000);

  // The long runs exist only under SCALEBOT_LONG (npm run test:long): not registered at all otherwise, so a
  // quick run counts no skipped test.
  const longIt = LONG ? it : () => undefined;

  longIt(
    'comes out right killed at every recorded point, before and after, then at the look-ups each restart adds',
    async () => {
      const started = Date.now();
      const lives = await sweepConcurrently(points, SWEEP_CONCURRENCY, async (point) => {
        const life = await liveABreach({ points: [point] });
        expectSound(life, describePoint(point));
        expect(life.kills).toBe(1);
        return life;
      });
      const revealed = new Map<string, { first: CrashPoint; source: string; label: string }>();
      lives.forEach((life, index) => {
        for (const fresh of labelsNotIn(baseline.calls, life.calls)) {
          const key = `${fresh.source} "${fresh.label}"`;
          if (!revealed.has(key)) revealed.set(key, { first: points[index]!, ...fresh });
        }
      });
      const pairs = [...revealed.values()].flatMap(({ first, source, label }) =>
        (['before', 'after'] as const).map((when) => [first, { source, label, occurrence: 1, when }] as const),
      );
      await sweepConcurrently(pairs, SWEEP_CONCURRENCY, async ([first, again]) => {
        const life = await liveABreach({ points: [first, again] });
        expectSound(life, `${describePoint(first)}, then ${describePoint(again)}`);
        expect(life.kills).toBe(2);
      });
      const pointNames = [...new Set(points.map((point) => `${point.source} "${point.label}"`))].join(', ');
      console.info(
        `breach crash sweep: ${points.length} points from the recording (${pointNames}); ` +
          `${revealed.size} more revealed by restarts (${[...revealed.keys()].join(', ')}); ${points.length + pairs.length} lives, ` +
          `${points.length + 2 * pairs.length} kills, 0 duplicates, ${Math.round((Date.now() - started) / 1000)} s`,
      );
    },
    15 * 60_000,
  );

  longIt(
    'comes out right killed at a random moment of the life',
    async () => {
      // Two lives at a time, each a property run of its own (fast-check runs one property at a time).
      await sweepConcurrently([1, 2], SWEEP_CONCURRENCY, (seed) =>
        fc.assert(
          fc.asyncProperty(fc.integer({ min: 0, max: Math.max(1, baseline.durationMs) }), async (killAfterMs) => {
            const life = await liveABreach({ killAfterMs });
            expectSound(life, `a kill ${killAfterMs} ms into the life`);
          }),
          { numRuns: 4, endOnFailure: true, seed: Date.now() + seed },
        ),
      );
    },
    10 * 60_000,
  );
});
