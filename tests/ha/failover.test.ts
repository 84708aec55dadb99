import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killMidBreach, killMidStep, pauseLeader, type Outcome } from './scenarios.ts';
import { startWorld, type World } from './world.ts';

// Issue 15, "Tests, with real processes": two and three real bot processes (`node bin/scalebot.js serve`) on
// one real PostgreSQL, a real Prometheus, a real sshd and the fake Slack. The leader fails in the ways a
// leader fails (kill -9, a stall past its lease); another replica takes over, and nothing is posted twice,
// no step runs twice, every click counts and the decision log has every change. The tests wait for the new
// leader, they never time it (bench/failover.ts measures that). The whole matrix, every failure with two
// and three replicas, is failover-matrix.long.test.ts (npm run test:long).

let world: World;

const expectSound = ({ problems, detail }: Outcome) => expect(problems, `problems:\n  ${problems.join('\n  ')}\n${detail}`).toEqual([]);

beforeAll(async () => {
  world = await startWorld();
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

describe('replicas on one PostgreSQL', () => {
  it('two replicas: kill -9 the leader right after Slack took a breach post; the new leader finds it, edits it, resolves it', async () => {
    expectSound(await killMidBreach(world, 2));
  }, 240_000);

  it('three replicas: kill -9 the leader mid-step; the run is interrupted, never run again; approvals from two replicas counted once each', async () => {
    expectSound(await killMidStep(world, 3));
  }, 240_000);

  it('two replicas: SIGSTOP the leader past its lease, SIGCONT; it posts, edits and runs nothing after waking', async () => {
    expectSound(await pauseLeader(world, 2));
  }, 240_000);
});
