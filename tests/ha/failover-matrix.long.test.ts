import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS, type Outcome } from './scenarios.ts';
import { startWorld, type World } from './world.ts';

// Issue 15's failover matrix: every failure of the leader (kill -9 mid-breach, mid-step, mid-outbox; SIGSTOP
// past its lease; its database connection cut) with two and three replicas. Runs in `npm run test:long`
// (scripts/test-long.sh picks the files that read SCALEBOT_LONG); about 10 minutes, so skipped otherwise.
// failover.test.ts runs three of these cells in every `npm test`.

const LONG = process.env.SCALEBOT_LONG === '1';

let world: World;

const expectSound = ({ problems, detail }: Outcome) => expect(problems, `problems:\n  ${problems.join('\n  ')}\n${detail}`).toEqual([]);

describe.skipIf(!LONG)('the failover matrix', () => {
  beforeAll(async () => {
    world = await startWorld();
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
  });

  describe.each([2, 3])('%i replicas', (count) => {
    it.each(Object.entries(SCENARIOS))(
      '%s',
      async (_name, scenario) => {
        expectSound(await scenario(world, count));
      },
      300_000,
    );
  });
});
