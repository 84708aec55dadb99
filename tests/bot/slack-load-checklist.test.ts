// A checklist ticked fast by several people while Slack pushes back (chat.update rate-limited, 5xx, lost
// answers): every tick is counted once in SQLite, the run's message ends showing all of them, and it is
// posted once.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { getRun, listTicks } from '../../db/checklists.ts';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { CHANNEL, click, itemBlock, responseTo, runMessage, scale } from '../helpers/checklist-driver.ts';
import { startFakeSlack } from '../helpers/slack/index.ts';
import { duplicateKeys, LONG, loadSummary, lostOrStale, outboxBacklog, PRODUCTION_CLIENT_ENV, pushyLoad } from '../helpers/slack-load.ts';

const ITEMS = Array.from({ length: 12 }, (_, i) => `i${i + 1}`);
const USERS = ['U0ANA', 'U0BOB', 'U0CAT'];
const CONFIG = `checklists:
  - id: drill
    title: Load drill
    items:
${ITEMS.map((id) => `      - { id: ${id}, text: Step ${id} }`).join('\n')}
`;

const running: TestBot[] = [];
afterEach(async () => {
  for (const tb of running.splice(0)) await tb.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a checklist when Slack pushes back', () => {
  it(
    'counts every tick once, shows all of them, and posts the run once',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          fc.shuffledSubarray(ITEMS, { minLength: 4 }),
          fc.array(fc.tuple(fc.constantFrom(...USERS), fc.integer({ min: 0, max: 250 })), { minLength: ITEMS.length, maxLength: ITEMS.length }),
          async (seed, toTick, clickers) => {
            const fake = await startFakeSlack({ load: pushyLoad(seed, { members: [CHANNEL] }) });
            const tb = await startTestBot({ fake, config: CONFIG, env: PRODUCTION_CLIENT_ENV });
            running.push(tb);
            try {
              const started = await scale(tb, 'checklist drill');
              await responseTo(fake, started, 10_000).catch(() => undefined);
              const posted = await fake.waitFor((f) => runMessage(f, 1), { timeoutMs: 30_000, intervalMs: 50 });
              // Everyone clicks on the copy they saw when the run was posted: each click ticks its own item.
              for (const [index, itemId] of toTick.entries()) {
                const [user, pause] = clickers[index]!;
                await click(tb, posted, `checklist_toggle_${itemId}`, user);
                await sleep(pause);
              }
              const summary = () => {
                const backlog = outboxBacklog(tb.bot.database.sqlite).map((r) => [r.dedupe_key, r.status, r.needs_update, r.last_error]);
                return `${loadSummary(fake)}\nbacklog ${JSON.stringify(backlog)}`;
              };
              const done = `${toTick.length} of ${ITEMS.length} done`;
              await fake
                .waitFor(() => JSON.stringify(runMessage(fake, 1)?.blocks).includes(done) && outboxBacklog(tb.bot.database.sqlite).length === 0, {
                  timeoutMs: LONG ? 120_000 : 40_000,
                  intervalMs: 100,
                })
                .catch((error: Error) => {
                  throw new Error(`${error.message.split('\n')[0]}: the message never showed "${done}"\n${summary()}`);
                });

              const ticks = listTicks(tb.bot.database.db, 1);
              expect(ticks.map((tick) => tick.itemId).sort(), summary()).toEqual([...toTick].sort());
              expect(ticks.every((tick) => tick.action === 'tick')).toBe(true);
              expect(getRun(tb.bot.database.db, 1)?.status).toBe('open');
              const shown = runMessage(fake, 1)!;
              for (const itemId of ITEMS) {
                expect(!JSON.stringify(itemBlock(shown, itemId)).includes(':white_large_square:'), `${itemId}; ${summary()}`).toBe(toTick.includes(itemId));
              }
              expect(duplicateKeys(fake), summary()).toEqual([]);
              expect(lostOrStale(tb.bot.database.sqlite, fake), summary()).toEqual([]);
              if (LONG) console.info(`slack-load checklist: ${toTick.length} ticks; ${loadSummary(fake)}`);
            } finally {
              running.splice(running.indexOf(tb), 1);
              await tb.stop();
              await fake.close();
            }
          },
        ),
        { numRuns: LONG ? 12 : 2, endOnFailure: true, ...(process.env.SCALEBOT_SEED ? { seed: Number(process.env.SCALEBOT_SEED) } : {}) },
      );
    },
    LONG ? 900_000 : 110_000,
  );
});
