import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describePoint, sweepConcurrently, type CrashPoint, type ProxiedCall } from '../helpers/crash/index.ts';
import { EXPECTED_LABELS, expectSound, liveAnUpload, reportFigures, uploadPoints, type UploadLife } from './upload-crash-life.ts';

// Issue 16's upload flow with the real bot killed (SIGKILL) at every call of it: every point a life without
// a crash recorded (the parent's post; for each of two charts files.getUploadURLExternal, the bytes' POST,
// files.completeUploadExternal; the look-ups), before and after, each twice; then each again with a second
// kill at the first call the restarted bot makes; then kills at random moments, which land between the calls
// too (in the outbox's writes). Runs in `npm run test:long` (scripts/test-long.sh picks the files that read
// SCALEBOT_LONG); upload-crash.test.ts runs a chain of six kills and a 429 in every `npm test`.

const LONG = process.env.SCALEBOT_LONG === '1';
/** Lives side by side (each its own fake Slack, proxy, database and bot process): one, because test:long runs this file beside
 * the runbook crash sweep, whose bot processes have Slack-sized deadlines of their own on 2 cores. */
const CONCURRENCY = 1;
/** Each point is killed at this many times: what the dying process had written by then varies with timing. */
const REPETITIONS = 2;

/** The first call the bot made after the kill at `point` (its start-up's auth.test aside): where a second kill goes. */
function firstCallAfterKill(calls: readonly ProxiedCall[], point: CrashPoint): Omit<CrashPoint, 'when'> | undefined {
  const killedAt = calls.findIndex((call) => call.label === point.label && call.occurrence === point.occurrence);
  const next = calls.slice(killedAt + 1).find((call) => call.occurrence > 0 && call.label !== 'auth.test');
  return next && { source: next.source, label: next.label, occurrence: next.occurrence };
}

describe.skipIf(!LONG)('chart uploads with the bot killed (SIGKILL) at every point of the upload flow', () => {
  let points: CrashPoint[];
  let baseline: UploadLife;
  const singles: Array<{ point: CrashPoint; life: UploadLife }> = [];

  it('records the points of a life without a crash', async () => {
    baseline = await liveAnUpload();
    expectSound(baseline, 'the life without a crash');
    points = uploadPoints(baseline.calls);
    const labels = new Set(points.map((point) => point.label));
    for (const expected of EXPECTED_LABELS) expect(labels, `${expected} in ${[...labels].join(', ')}`).toContain(expected);
  }, 120_000);

  it(
    'shares each chart once, with its bytes, killed at every recorded point, before and after, each twice',
    async () => {
      const started = Date.now();
      const runs = points.flatMap((point) => Array.from({ length: REPETITIONS }, () => point));
      const lives = await sweepConcurrently(runs, CONCURRENCY, async (point) => {
        const life = await liveAnUpload({ points: [point] });
        expectSound(life, describePoint(point));
        expect(life.kills).toBe(1);
        singles.push({ point, life });
        return life;
      });
      reportFigures(
        `upload crash sweep over ${points.length} points (${new Set(points.map((p) => p.label)).size} calls × before/after) × ${REPETITIONS}`,
        lives,
        started,
      );
    },
    30 * 60_000,
  );

  it(
    'shares each chart once killed at every point and again at the first call the restarted bot makes',
    async () => {
      const started = Date.now();
      const pairs = new Map<string, [CrashPoint, CrashPoint]>();
      for (const { point, life } of singles) {
        const next = firstCallAfterKill(life.calls, point);
        if (!next) continue;
        for (const when of ['before', 'after'] as const) {
          const again = { ...next, when };
          pairs.set(`${describePoint(point)} / ${describePoint(again)}`, [point, again]);
        }
      }
      const lives = await sweepConcurrently([...pairs.values()], CONCURRENCY, async ([first, again]) => {
        const life = await liveAnUpload({ points: [first, again] });
        expectSound(life, `${describePoint(first)}, then ${describePoint(again)}`);
        expect(life.kills).toBe(2);
        return life;
      });
      reportFigures(`upload crash sweep, two kills each (${pairs.size} pairs)`, lives, started);
    },
    30 * 60_000,
  );

  it(
    'shares each chart once killed at a random moment of the upload flow',
    async () => {
      const started = Date.now();
      const parentPost = baseline.calls.find((call) => call.label.startsWith('chat.postMessage'))!.at;
      const flowMs = Math.max(1, baseline.calls.at(-1)!.at - parentPost);
      const lives: UploadLife[] = [];
      await sweepConcurrently([1, 2], CONCURRENCY, (seed) =>
        fc.assert(
          fc.asyncProperty(fc.integer({ min: 0, max: flowMs }), async (killAfterParentPostMs) => {
            const life = await liveAnUpload({ killAfterParentPostMs });
            expect(life.problems, `a kill ${killAfterParentPostMs} ms after the parent's post\n${life.problems.join('\n')}\nSlack:\n${life.slack}`).toEqual([]);
            lives.push(life);
          }),
          { numRuns: 5, endOnFailure: true, seed: Date.now() + seed },
        ),
      );
      reportFigures(`upload crash, random moments within ${flowMs} ms of the flow`, lives, started);
    },
    20 * 60_000,
  );
});
