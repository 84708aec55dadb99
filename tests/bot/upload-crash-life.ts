import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { expect } from 'vitest';
import type { MessagePayload } from '../../core/storage/effects.ts';
import { openDatabase, type DatabaseHandle } from '../../db/client.ts';
import { slackOutbox } from '../../db/schema.ts';
import { openSqliteStorage } from '../../db/storage.ts';
import { postMessage, replyInThread } from '../../services/outbox.ts';
import {
  createBotSupervisor,
  describeCalls,
  describePoint,
  exactlyOnceProblems,
  pointsOf,
  startSlackProxy,
  until,
  type CrashPoint,
  type ProxiedCall,
} from '../helpers/crash/index.ts';
import { startFakeSlack, type InjectedFailure } from '../helpers/slack/index.ts';

// One life of two chart uploads in the real bot process (bin/scalebot.js serve), shared by the quick test
// (upload-crash.test.ts) and the long sweep (upload-crash.long.test.ts). The outbox rows are written to the
// bot's SQLite file before it starts, as a feature's transaction would have queued them, so the life is the
// outbox's alone: no Prometheus, no watcher, nothing else posts.

export const CHANNEL = 'C0CHARTS';
const TOKEN = 'xoxb-upload-crash-0000-token';
const SECRET = 'upload-crash-signing-secret-5c2d';
/** A deadline bounds a failure only: a bot start took 12–16 s on a loaded machine (tests/bot/breach-crash.test.ts). */
const STEP_TIMEOUT_MS = 60_000;

/** The three rows queued: a text message, a chart in its thread (looked up with conversations.replies) and one in the channel (conversations.history). */
export const PARENT_KEY = 'upload-crash:parent';
export const THREAD_CHART = { key: 'upload-crash:parent:chart', filename: 'thread-chart.png', width: 64 };
export const CHANNEL_CHART = { key: 'upload-crash:chart', filename: 'channel-chart.png', width: 96 };

/** A PNG whose width tells the two charts apart, with bytes of every value (base64 and the multipart body see them all). */
function chart(width: number): Buffer {
  const image = new PNG({ width, height: 24 });
  for (let index = 0; index < image.data.length; index += 1) image.data[index] = (index * 31 + width) % 256;
  return PNG.sync.write(image);
}

function chartPayload(text: string, { filename, width }: { filename: string; width: number }): MessagePayload {
  return { text, file: { filename, title: `Chart ${filename}`, altText: `A test chart ${width} pixels wide`, base64: chart(width).toString('base64') } };
}

async function queueCharts(file: string): Promise<void> {
  const storage = openSqliteStorage(file);
  try {
    const at = new Date();
    await storage.outbox.post(postMessage(PARENT_KEY, CHANNEL, { text: 'CPU is above its threshold', blocks: [] }, at));
    await storage.outbox.post(replyInThread(PARENT_KEY, THREAD_CHART.key, CHANNEL, chartPayload('CPU, the last hour', THREAD_CHART), at));
    await storage.outbox.post(postMessage(CHANNEL_CHART.key, CHANNEL, chartPayload('Users, the last day', CHANNEL_CHART), at));
  } finally {
    await storage.close();
  }
}

export interface UploadLifeOptions {
  /** Kill the bot (SIGKILL) at each of these points, then start it again on the same database. */
  points?: readonly CrashPoint[];
  /** Slack answers these first: `[method or 'upload_url', failure]` (a 429 with Retry-After). */
  failures?: ReadonlyArray<readonly [string, InjectedFailure]>;
  /**
   * Kill the bot this long after Slack saw the parent's post (the upload flow follows at once), wherever it is:
   * between two calls, in a write to the database. Reaches the awaits that are not on a socket.
   */
  killAfterParentPostMs?: number;
}

export interface UploadLife {
  /** Every call the proxy saw in front of Slack, in arrival order. */
  calls: ProxiedCall[];
  durationMs: number;
  kills: number;
  starts: number;
  unreached: CrashPoint[];
  /** Everything wrong with the end state; empty when both charts are shared once each, with their bytes. */
  problems: string[];
  /** Shares the fake made (completions it accepted), over both rows: 2 when nothing was shared twice. */
  shares: number;
  /** Files reserved (each upload started afresh reserves another). */
  reserved: number;
  /** Slack's channel at the end, for the report of a failure. */
  slack: string;
}

/** A life from a fresh database: the bot starts with the rows queued and is done when the outbox is drained. */
export async function liveAnUpload({ points = [], failures = [], killAfterParentPostMs }: UploadLifeOptions = {}): Promise<UploadLife> {
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-upload-crash-'));
  const dbFile = join(dir, 'scalebot.db');
  await queueCharts(dbFile);
  const fake = await startFakeSlack();
  const slack = await startSlackProxy(fake);
  for (const [method, failure] of failures) fake.failNext(method, failure);
  const bot = createBotSupervisor({
    env: {
      SLACK_BOT_TOKEN: TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      SCALEBOT_DB: dbFile,
      // Never called: no alerts channel, so the watcher is off. The discard port refuses, should that change.
      PROMETHEUS_URL: 'http://127.0.0.1:9',
    },
  });
  for (const point of points) slack.at(point, () => bot.crash());
  let database: DatabaseHandle | undefined;
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const startedAt = Date.now();
  const detail = () => `calls:\n${describeCalls(slack.calls, startedAt)}\n${fake.summary()}\n${bot.logs()}`;
  try {
    if (killAfterParentPostMs !== undefined) {
      const parentPosted = () => done || slack.calls.some((call) => call.label === `chat.postMessage ${PARENT_KEY}`);
      void until('the parent to be posted', parentPosted, { timeoutMs: STEP_TIMEOUT_MS, intervalMs: 5 })
        .then(() => {
          if (!done) timer = setTimeout(() => void bot.crash().catch(() => undefined), killAfterParentPostMs);
        })
        .catch(() => undefined);
    }
    await bot.start();
    database = openDatabase(dbFile);
    const db = database.db;
    const outbox = () => db.select().from(slackOutbox).all();
    await until(
      'every chart to be shared and every row sent',
      async () => {
        const current = await bot.ready();
        const rows = outbox();
        return current.ready && rows.length === 3 && rows.every((row) => row.status === 'sent' && !row.needsUpdate);
      },
      { timeoutMs: STEP_TIMEOUT_MS, detail },
    );
    done = true;
    clearTimeout(timer);
    const problems: string[] = [];
    for (const generation of bot.unexpectedExits) problems.push(`bot process #${generation.index} died by itself`);
    problems.push(...exactlyOnceProblems(fake, outbox(), [CHANNEL]));
    const shares = fake.files().filter((file) => file.completed).length;
    if (shares !== 2) problems.push(`${shares} files were shared for two charts`);
    return {
      calls: [...slack.calls],
      durationMs: Date.now() - startedAt,
      kills: bot.kills,
      starts: bot.generations.length,
      unreached: [...slack.armed],
      problems,
      shares,
      reserved: fake.files().length,
      slack: fake
        .messages(CHANNEL)
        .map((message) => {
          const files = message.files?.map((file) => ` [${file.id} ${file.name} ${file.size} bytes]`).join('') ?? '';
          return `${message.thread_ts && message.thread_ts !== message.ts ? '    ↳ ' : ''}${message.ts} ${message.text.slice(0, 80)}${files}`;
        })
        .join('\n'),
    };
  } finally {
    done = true;
    clearTimeout(timer);
    await bot.stop();
    database?.close();
    await slack.stop();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A failed life tells which points, what the bot awaited and what Slack showed. */
export function expectSound(life: UploadLife, what: string): void {
  const report = `${what}\nproblems:\n  ${life.problems.join('\n  ')}\nSlack:\n${life.slack}\ncalls:\n${describeCalls(life.calls)}`;
  expect(life.unreached.map(describePoint), `points never reached in ${what}`).toEqual([]);
  expect(life.problems, report).toEqual([]);
}

/** Every call of the upload flow a life without a crash made, as points on both sides (found, never listed). */
export const uploadPoints = (calls: readonly ProxiedCall[]): CrashPoint[] => pointsOf(calls);

/** The labels a life of two charts must show for a sweep over them to mean anything. */
export const EXPECTED_LABELS = [
  `chat.postMessage ${PARENT_KEY}`,
  ...[THREAD_CHART, CHANNEL_CHART].flatMap(({ filename }) => [
    `files.getUploadURLExternal ${filename}`,
    `upload_bytes ${filename}`,
    `files.completeUploadExternal ${filename}`,
  ]),
  `conversations.replies ${PARENT_KEY}`,
  'conversations.history',
];

/** The point of `label`'s first call on one side, from a recording's points. */
export function pointAt(points: readonly CrashPoint[], label: string, when: 'before' | 'after'): CrashPoint {
  const found = points.find((point) => point.label === label && point.when === when && point.occurrence === 1);
  if (!found) throw new Error(`no point "${label}" ${when} among ${points.map(describePoint).join(', ')}`);
  return found;
}

/** The figures of a sweep, one line: lives, kills, duplicate shares (always 0 when it passed), uploads started over, seconds. */
export function reportFigures(what: string, lives: readonly UploadLife[], started: number) {
  const duplicates = lives.reduce((sum, life) => sum + Math.max(0, life.shares - 2), 0);
  console.info(
    `${what}: ${lives.length} lives, ${lives.reduce((sum, life) => sum + life.kills, 0)} kills, ${duplicates} duplicate shares, ` +
      `${lives.reduce((sum, life) => sum + life.reserved - 2, 0)} uploads started over, ${Math.round((Date.now() - started) / 1000)} s`,
  );
}
