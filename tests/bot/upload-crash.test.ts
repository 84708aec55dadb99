import { LogLevel, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCalls, describePoint, exactlyOnceProblems, type CrashPoint, type ExpectedSlackMessage } from '../helpers/crash/index.ts';
import { startFakeSlack, type FakeSlack } from '../helpers/slack/index.ts';
import {
  CHANNEL,
  CHANNEL_CHART,
  EXPECTED_LABELS,
  expectSound,
  liveAnUpload,
  PARENT_KEY,
  reportFigures,
  THREAD_CHART,
  uploadPoints,
} from './upload-crash-life.ts';

// Issue 16: "the upload flow against the local Slack fake, including a 429 and a crash between the three
// calls". The real bot process is killed (SIGKILL) where it awaits Slack during an upload (before or after
// files.getUploadURLExternal, the POST of the bytes, files.completeUploadExternal and the look-up of the share)
// and started again on the same SQLite file: each chart must be shared exactly once, with its bytes. A handful
// of points here; every point, twice, and a second kill in each restart in upload-crash.long.test.ts.

describe('the crash checker on file shares (exactlyOnceProblems)', () => {
  let fake: FakeSlack;
  let web: WebClient;
  beforeAll(async () => {
    fake = await startFakeSlack();
    web = new WebClient('xoxb-upload-checker-token', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
  });
  afterAll(async () => {
    await fake?.close();
  });

  const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5, 6]);
  const payload = { text: 'a chart', file: { filename: 'c.png', title: 'A chart', altText: 'alt', base64: bytes.toString('base64') } };

  async function share(content: Buffer, title = payload.file.title): Promise<{ fileId: string; ts: string }> {
    const reserved = await web.files.getUploadURLExternal({ filename: 'c.png', length: content.length, alt_text: 'alt' });
    const body = new FormData();
    body.append('file', new Blob([content]), 'c.png');
    expect((await fetch(reserved.upload_url!, { method: 'POST', body })).status).toBe(200);
    await web.files.completeUploadExternal({ files: [{ id: reserved.file_id!, title }], channel_id: CHANNEL, initial_comment: payload.text });
    const message = fake.messages(CHANNEL).find((candidate) => candidate.files?.some((file) => file.id === reserved.file_id))!;
    return { fileId: reserved.file_id!, ts: message.ts };
  }

  const row = (fileId: string | null, ts: string | null, status = 'sent'): ExpectedSlackMessage => ({
    id: 1,
    dedupeKey: 'chart:1',
    channel: CHANNEL,
    status,
    ts,
    needsUpdate: false,
    parentId: null,
    fileId,
    payload,
  });

  it('passes one share of the row’s file with its bytes, and matches it by file id, not by metadata', async () => {
    fake.reset();
    const { fileId, ts } = await share(bytes);
    expect(exactlyOnceProblems(fake, [row(fileId, ts)], [CHANNEL])).toEqual([]);
  });

  it('reports a row shared twice (an upload started over and completed again), a share no row accounts for, a sent row with no share', async () => {
    fake.reset();
    const first = await share(bytes);
    const second = await share(bytes);
    const twice = exactlyOnceProblems(fake, [row(second.fileId, second.ts)], [CHANNEL]);
    expect(twice).toContain('chart:1 (row 1) was shared 2 times');
    expect(twice.some((problem) => problem.startsWith('chart:1 (row 1) shows 2 times in Slack'))).toBe(true);

    fake.reset();
    const stranger = await share(Buffer.from('other bytes'));
    expect(exactlyOnceProblems(fake, [], [CHANNEL])).toEqual([
      expect.stringContaining(`a file share no outbox row accounts for: ${stranger.ts} ${stranger.fileId}`),
    ]);

    fake.reset();
    expect(exactlyOnceProblems(fake, [row('F0NEVER', '1700000000.000100')], [CHANNEL])).toEqual([
      'chart:1 (row 1) is marked sent as 1700000000.000100, which Slack does not have',
    ]);
    const shared = await share(bytes);
    expect(exactlyOnceProblems(fake, [row('F0OTHER', shared.ts)], [CHANNEL])).toContain(
      `chart:1 (row 1) is marked sent as ${shared.ts}, which shares ${shared.fileId}, not its file F0OTHER`,
    );
    expect(first.fileId).not.toBe(second.fileId);
  });

  it('reports a share whose bytes or title are not the row’s', async () => {
    fake.reset();
    const altered = await share(Buffer.from([...bytes.subarray(0, -1), 0]), 'Another title');
    const problems = exactlyOnceProblems(fake, [row(altered.fileId, altered.ts)], [CHANNEL]);
    expect(problems).toContain(`chart:1 (row 1): Slack holds ${bytes.length} bytes for ${altered.fileId}, not the row's ${bytes.length}`);
    expect(problems).toContain('chart:1 (row 1): the share is titled "Another title", not "A chart"');
  });
});

// The real bot's lives (a chain of six kills, a 429 on each call then a kill) run in `npm run test:long`, with
// every recorded point, before and after, and kills at random moments (upload-crash.long.test.ts): a minute of
// bot restarts that `npm test` leaves to the long run (it keeps the checker's own tests above, and the outbox's
// crash-and-restart tests of every call in tests/services/outbox-upload.test.ts).
const LONG = process.env.SCALEBOT_LONG === '1';

describe.skipIf(!LONG)('chart uploads with the bot killed (SIGKILL) during the upload flow', () => {
  let points: CrashPoint[];

  it('records the points of a life without a crash, and that life shares each chart once', async () => {
    const baseline = await liveAnUpload();
    expectSound(baseline, 'the life without a crash');
    expect(baseline.kills).toBe(0);
    expect(baseline.reserved).toBe(2);
    points = uploadPoints(baseline.calls);
    const labels = new Set(points.map((point) => point.label));
    for (const expected of EXPECTED_LABELS) expect(labels, `${expected} in ${[...labels].join(', ')}`).toContain(expected);
  }, 90_000);

  it('shares each chart once, with its bytes, killed six times between and during the three calls', async () => {
    const point = (label: string, occurrence: number, when: 'before' | 'after'): CrashPoint => ({ source: 'slack', label, occurrence, when });
    const thread = THREAD_CHART.filename;
    // One life, killed at each in turn; the occurrences follow from what each restart has to do.
    const chain = [
      // The file id is reserved, nothing uploaded: the upload starts afresh under a new id.
      point(`files.getUploadURLExternal ${thread}`, 1, 'after'),
      // The restart's bytes are at Slack, the file id not stored yet: afresh again, that file never shared.
      point(`upload_bytes ${thread}`, 1, 'after'),
      // The file id is stored, the completion never made: looked up (replies #1), not found, completed.
      point(`files.completeUploadExternal ${thread}`, 1, 'before'),
      // Shared; killed during the look-up that would find the share (replies #2): looked up again (#3), found.
      point(`conversations.replies ${PARENT_KEY}`, 2, 'before'),
      // Shared, and the bot never heard: looked up by its file id (history #1) and found, not completed again.
      point(`files.completeUploadExternal ${CHANNEL_CHART.filename}`, 1, 'after'),
      // The look-up found it, and the bot never heard: looked up again (#2).
      point('conversations.history', 1, 'after'),
    ];
    const started = Date.now();
    const life = await liveAnUpload({ points: chain });
    expectSound(life, `killed at ${chain.map(describePoint).join(', then ')}`);
    expect(life.kills).toBe(chain.length);
    const made = (label: string) => life.calls.filter((call) => call.label === label && call.fate !== 'cut before').length;
    // Each chart completed once: a share is looked up by its file id after a restart, never completed again.
    expect(made(`files.completeUploadExternal ${thread}`)).toBe(1);
    expect(made(`files.completeUploadExternal ${CHANNEL_CHART.filename}`)).toBe(1);
    // Three files reserved for the thread's chart (two uploads started afresh), one for the channel's.
    expect(life.reserved).toBe(4);
    reportFigures('quick upload crash chain', [life], started);
  }, 180_000);

  it('waits out a 429 on each of the three calls and still shares once when killed right after the completion that follows', async () => {
    // Which chart meets which 429 depends on the outbox's passes; the second completion of either is killed.
    const completions = [THREAD_CHART, CHANNEL_CHART].map(({ filename }) => `files.completeUploadExternal ${filename}`);
    const life = await liveAnUpload({
      failures: [
        ['files.getUploadURLExternal', { status: 429, retryAfter: 1 }],
        ['upload_url', { status: 429, retryAfter: 1 }],
        ['files.completeUploadExternal', { status: 429, retryAfter: 1 }],
      ],
      points: completions.map((label): CrashPoint => ({ source: 'slack', label, occurrence: 2, when: 'after' })),
    });
    const report = `problems:\n  ${life.problems.join('\n  ')}\nSlack:\n${life.slack}\ncalls:\n${describeCalls(life.calls)}`;
    expect(life.problems, report).toEqual([]);
    const first = (prefix: string) => life.calls.find((call) => call.label.startsWith(prefix))?.status;
    expect(first('files.getUploadURLExternal'), report).toBe(429);
    expect(first('upload_bytes'), report).toBe(429);
    expect(first('files.completeUploadExternal'), report).toBe(429);
    // The chart that met the 429 was completed a second time (and killed right after); the other only once.
    expect(life.kills, report).toBe(1);
    expect(life.unreached, report).toHaveLength(1);
  }, 90_000);
});
