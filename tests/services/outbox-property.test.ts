import { LogLevel, WebClient } from '@slack/web-api';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverOutbox, OUTBOX_EVENT_TYPE } from '../../services/outbox.ts';
import { openDatabase } from '../../db/client.ts';
import { createSqliteStorage } from '../../db/storage.ts';
import { enqueueMessage, getMessage, type OutboxRow } from '../../db/outbox.ts';
import { startFakeSlack, type FakeSlack, type InjectedFailure } from '../helpers/slack/index.ts';
import { slackSender } from '../../integrations/slack-upload.ts';
import type { SlackSender } from '../../core/ports.ts';

const LONG = process.env.SCALEBOT_LONG === '1';
const CHANNEL = 'C0OUTBOX1';
const logger = pino({ level: 'silent' });
// A call "times out" when Slack answers later than the client waits: the client gives up at CLIENT_TIMEOUT_MS.
const CLIENT_TIMEOUT_MS = 150;
const LATE_MS = 350;

/** What Slack does to one call, as the fake can make it happen. */
const postOutcomes: Record<string, InjectedFailure> = {
  ok: {},
  rateLimited: { status: 429, retryAfter: 2 },
  serverError: { status: 500 },
  refused: { error: 'internal_error' },
  timeoutPosted: { delayMs: LATE_MS, thenSucceed: true },
  timeoutNotPosted: { delayMs: LATE_MS },
  droppedPosted: { dropConnection: true, thenSucceed: true },
  dropped: { dropConnection: true },
};
const lookupOutcomes: Record<string, InjectedFailure> = {
  ok: {},
  rateLimited: { status: 429, retryAfter: 2 },
  serverError: { status: 500 },
  unavailable: { status: 503 },
  refused: { error: 'internal_error' },
  timeout: { delayMs: LATE_MS },
  dropped: { dropConnection: true },
};
const outcome = (table: Record<string, InjectedFailure>) => fc.constantFrom(...Object.keys(table));

let fake: FakeSlack;
let client: SlackSender;
beforeAll(async () => {
  fake = await startFakeSlack();
  const web = new WebClient('xoxb-test-outbox-property', {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: CLIENT_TIMEOUT_MS,
    logLevel: LogLevel.ERROR,
  });
  client = slackSender(web, { timeoutMs: CLIENT_TIMEOUT_MS });
});
afterAll(async () => fake?.close());

function copiesOf(row: OutboxRow): number {
  return fake.messages(CHANNEL).filter((message) => message.metadata?.event_type === OUTBOX_EVENT_TYPE && message.metadata.event_payload?.outbox_id === row.id)
    .length;
}

const figures = { sequences: 0, slackCalls: 0 };

describe('the outbox under any sequence of Slack failures', () => {
  it(
    'never posts a row twice, and posts every row exactly once once Slack answers again',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3 }),
          fc.boolean(),
          fc.array(outcome(postOutcomes), { maxLength: 6 }),
          fc.array(outcome(lookupOutcomes), { maxLength: 6 }),
          fc.array(outcome(lookupOutcomes), { maxLength: 3 }),
          async (rowCount, withReply, posts, lookups, replyLookups) => {
            fake.reset();
            const database = openDatabase(':memory:');
            try {
              const rows: OutboxRow[] = [];
              for (let index = 0; index < rowCount; index += 1) {
                rows.push(enqueueMessage(database.db, { dedupeKey: `row:${index}`, channel: CHANNEL, payload: { text: `message ${index}` }, at: new Date() }));
              }
              if (withReply) {
                rows.push(
                  enqueueMessage(database.db, {
                    dedupeKey: 'reply',
                    channel: CHANNEL,
                    parentId: rows[0]!.id,
                    payload: { text: 'in the thread' },
                    at: new Date(),
                  }),
                );
              }
              for (const name of posts) fake.failNext('chat.postMessage', postOutcomes[name]!);
              for (const name of lookups) fake.failNext('conversations.history', lookupOutcomes[name]!);
              for (const name of replyLookups) fake.failNext('conversations.replies', lookupOutcomes[name]!);
              // Time moves a quarter of an hour a pass: past every Retry-After and every wait the outbox sets.
              let now = Date.now();
              const clock = () => new Date(now);
              const budget = posts.length + lookups.length + replyLookups.length + 4;
              for (let pass = 0; pass < budget; pass += 1) {
                await deliverOutbox(createSqliteStorage(database), client, clock, logger);
                now += 15 * 60_000;
                for (const row of rows) expect(copiesOf(row), `row ${row.id} after pass ${pass}`).toBeLessThanOrEqual(1);
                if (rows.every((row) => getMessage(database.db, row.id)?.status === 'sent')) break;
              }
              // A late answer the client gave up on may still land: let every one of them arrive, then count.
              if (posts.some((name) => postOutcomes[name]!.delayMs)) await new Promise((resolve) => setTimeout(resolve, LATE_MS + 50));
              for (const row of rows) {
                expect(copiesOf(row), `row ${row.id}: ${fake.summary()}`).toBe(1);
                const stored = getMessage(database.db, row.id)!;
                expect(stored.status).toBe('sent');
                expect(fake.message(CHANNEL, stored.ts!)?.metadata?.event_payload?.outbox_id).toBe(row.id);
              }
              figures.sequences += 1;
              figures.slackCalls += fake.calls.length;
            } finally {
              database.close();
            }
          },
        ),
        { numRuns: LONG ? 300 : 25 },
      );
      if (process.env.SCALEBOT_FIGURES === '1') process.stdout.write(`outbox sequences: ${JSON.stringify(figures)}\n`);
    },
    LONG ? 900_000 : 120_000,
  );
});
