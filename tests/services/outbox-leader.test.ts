import { LogLevel, WebClient } from '@slack/web-api';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStorage, type SqliteStorage } from '../../db/storage.ts';
import { openDatabase } from '../../db/client.ts';
import { createLeadership } from '../../services/leadership.ts';
import { createOutboxDeliverer, deliverOutbox, editMessage, postMessage, replyInThread } from '../../services/outbox.ts';
import { startFakeSlack, type FakeSlack } from '../helpers/slack/index.ts';
import { slackSender } from '../../integrations/slack-upload.ts';

// Issue 15: "before each outside call (a Slack post …) the leader checks that its lease still has more time left
// than that call's timeout … So a leader that stalled and lost its lease posts, edits … nothing once a new
// leader took over", and nothing is posted twice when the next leader carries on.

const CHANNEL = 'C0LEADER';
const logger = pino({ level: 'silent' });
let fake: FakeSlack;

beforeAll(async () => {
  fake = await startFakeSlack();
});
afterAll(() => fake?.close());

const client = () =>
  slackSender(new WebClient('xoxb-test-outbox-leader', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR }), {
    timeoutMs: 10_000,
  });
const fresh = (): SqliteStorage => createSqliteStorage(openDatabase(':memory:'));

describe('the outbox under a leader whose lease runs short', () => {
  it('makes no Slack call once the leader may not call out, and the next leader posts and edits each message exactly once', async () => {
    const message = fc.record({ reply: fc.boolean(), edited: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(8), { minLength: 1, maxLength: 3 }), async (messages, budgets) => {
        fake.reset();
        const storage = fresh();
        try {
          const at = new Date();
          const keys = messages.map((_, index) => `m${index}`);
          for (const [index, { reply }] of messages.entries()) {
            await storage.outbox.post(
              reply && index > 0
                ? replyInThread(keys[0]!, keys[index]!, CHANNEL, { text: `reply ${index}` }, at)
                : postMessage(keys[index]!, CHANNEL, { text: `message ${index}` }, at),
            );
          }
          // A first leader: it sends one pass fully, then edits are queued, then its lease runs short part way.
          await deliverOutbox(storage, client(), () => new Date(), logger);
          for (const [index, { edited }] of messages.entries()) if (edited) await storage.outbox.edit(editMessage(keys[index]!, { text: `edited ${index}` }));
          for (const [index] of messages.entries()) {
            await storage.outbox.post(postMessage(`late-${index}`, CHANNEL, { text: `late ${index}` }, at));
          }
          // Leaders whose leases run short part way, one after another: each pass is allowed `budget` calls.
          for (const budget of budgets) {
            let asked = 0;
            let callsWhenRefused: number | null = null;
            const callsBefore = fake.calls.length;
            const report = await deliverOutbox(
              storage,
              client(),
              () => new Date(Date.now() + 60_000),
              logger,
              () => {},
              {
                mayCallOut: () => {
                  asked += 1;
                  if (asked <= budget) return true;
                  callsWhenRefused ??= fake.calls.length;
                  return false;
                },
              },
            );
            // Every call was asked for first: no more calls than "yes" answers, and not one after the first "no".
            expect(fake.calls.length - callsBefore).toBeLessThanOrEqual(Math.min(asked, budget));
            if (callsWhenRefused !== null) {
              expect(report.notLeader).toBe(true);
              expect(fake.calls.length).toBe(callsWhenRefused);
            }
          }
          // The next leader carries on, later (a row left "sending" is looked up first, never posted again).
          await deliverOutbox(storage, client(), () => new Date(Date.now() + 120_000), logger);
          const posts = fake.calls.filter((call) => call.method === 'chat.postMessage').map((call) => call.args.text);
          expect(new Set(posts).size).toBe(posts.length);
          const all = fake.messages(CHANNEL);
          for (const [index, { edited }] of messages.entries()) {
            const row = (await storage.outbox.getByKey(keys[index]!))!;
            expect(row.status).toBe('sent');
            expect(all.filter((each) => each.ts === row.ts).map((each) => each.text)).toEqual([edited ? `edited ${index}` : row.payload.text]);
          }
          for (const [index] of messages.entries()) expect((await storage.outbox.getByKey(`late-${index}`))!.status).toBe('sent');
          expect(all).toHaveLength(messages.length * 2);
        } finally {
          await storage.close();
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  it("a follower's deliverer posts nothing; the leader's poll sends what the follower queued", async () => {
    fake.reset();
    const storage = fresh();
    const other = createLeadership({ leases: storage.leases, holder: 'leader-replica', leaseMs: 2000, logger });
    const me = createLeadership({ leases: storage.leases, holder: 'follower-replica', leaseMs: 2000, logger });
    await other.start();
    await me.start();
    const followerDeliver = createOutboxDeliverer(
      storage,
      client(),
      () => new Date(),
      logger,
      () => {},
      { leader: me, callTimeoutMs: 500 },
    );
    const leaderDeliver = createOutboxDeliverer(
      storage,
      client(),
      () => new Date(),
      logger,
      () => {},
      { leader: other, callTimeoutMs: 500 },
    );
    try {
      await storage.outbox.post(postMessage('queued-on-follower', CHANNEL, { text: 'from a click on a follower' }, new Date()));
      expect(await followerDeliver()).toMatchObject({ posted: 0 });
      expect(fake.calls).toEqual([]);
      other.asLeader(() => leaderDeliver.startPolling(100));
      await fake.waitFor((f) => f.messages(CHANNEL).length === 1, { timeoutMs: 5000 });
      expect(fake.messages(CHANNEL).map((each) => each.text)).toEqual(['from a click on a follower']);
    } finally {
      await leaderDeliver.settle();
      followerDeliver.stop();
      leaderDeliver.stop();
      await me.stop();
      await other.stop();
      await storage.close();
    }
  });
});
