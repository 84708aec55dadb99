// Long share: with SCALEBOT_LONG=1 (npm run test:long) each door gets 3000 generated requests (LONG in doors-arbitraries.ts).
// The Socket Mode doors under generated input: whatever envelope arrives (slash commands, interactions, Events
// API bodies, envelope types the bot never asked for, payloads that are not objects), the real bot acks it
// within Slack's 3 seconds, tells the user when it can, changes nothing but the decision log, and keeps serving.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_UNDERSTOOD } from '../../bot/door-guard.ts';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { CHANNEL, echoProblems, interactionPayload, LONG, slashCommandPayload, snapshotState, USER, type GeneratedPayload } from './doors-arbitraries.ts';

const RUNS = LONG ? 3000 : 120;
/** The quick share stays well inside vitest's 30 s; the long one may take minutes. */
const TIMEOUT_MS = LONG ? 30 * 60_000 : 60_000;
const SLACK_ACK_DEADLINE_MS = 3000;

let harness: TestBot;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  harness = await startTestBot({ socketMode: true });
});

afterAll(async () => {
  process.off('unhandledRejection', onRejection);
  await harness?.stop();
});

const mustStayUnused = new Set<string>();
const shapes = new Map<string, number>();

/** One envelope through the Socket Mode door, and what the door promises about it. */
async function sendAndCheck(type: string, generated: GeneratedPayload): Promise<void> {
  shapes.set(`${type}: ${generated.shape}`, (shapes.get(`${type}: ${generated.shape}`) ?? 0) + 1);
  const started = Date.now();
  // Rejects when no ack comes within Slack's 3 seconds.
  const ack = await harness.fake.socket.sendEnvelope({ type, payload: generated.payload }, { timeoutMs: SLACK_ACK_DEADLINE_MS });
  expect(ack.envelope_id).toBeTruthy();
  expect(Date.now() - started).toBeLessThan(SLACK_ACK_DEADLINE_MS);
  if (!generated.responseUrl) return;
  // The model of the door speaks of slash commands and clicks; under another envelope type the same payload
  // still reaches processEvent, and the door judges the payload, not the envelope.
  if (generated.expect === 'notice') {
    await harness.fake.waitFor((fake) => fake.responses.some((entry) => entry.url === generated.responseUrl), { timeoutMs: 5000 });
    const replies = harness.fake.responses.filter((entry) => entry.url === generated.responseUrl);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.body).toMatchObject({ response_type: 'ephemeral', text: NOT_UNDERSTOOD });
  } else if (generated.expect === 'silent') {
    mustStayUnused.add(generated.responseUrl);
  }
}

const eventsBody: fc.Arbitrary<GeneratedPayload> = fc
  .oneof(
    fc.constant(null),
    fc.constant({}),
    fc.record({ event: fc.oneof(fc.constant(null), fc.constant({}), fc.jsonValue({ maxDepth: 2 })) }),
    fc.record({
      type: fc.constant('event_callback'),
      event: fc.record({ type: fc.constantFrom('app_mention', 'message', 'reaction_added'), channel: fc.constant(null), item: fc.constant(null) }),
    }),
    fc.jsonValue({ maxDepth: 2 }),
  )
  .map((payload) => ({ payload, expect: 'silent' as const, shape: 'events body' }));

describe('the Socket Mode doors under generated input', () => {
  it(
    `envelopes of every type with generated payloads (${RUNS} runs)`,
    async () => {
      const before = snapshotState(harness.databaseFile);
      const envelope = fc.oneof(
        { weight: 4, arbitrary: fc.tuple(fc.constant('interactive'), interactionPayload(harness.fake)) },
        { weight: 3, arbitrary: fc.tuple(fc.constant('slash_commands'), slashCommandPayload(harness.fake)) },
        { weight: 2, arbitrary: fc.tuple(fc.constant('events_api'), eventsBody) },
        // Envelope types the bot never asked for, carrying anything at all.
        {
          weight: 1,
          arbitrary: fc.tuple(fc.constantFrom('slash_command', 'interactive_message', 'unknown', ''), fc.oneof(eventsBody, interactionPayload(harness.fake))),
        },
      );
      await fc.assert(
        fc.asyncProperty(envelope, async ([type, generated]) => sendAndCheck(type, generated)),
        {
          numRuns: RUNS,
          examples: [
            [['interactive', { payload: null, expect: 'silent', shape: 'not an object (null)' }]],
            [['events_api', { payload: null, expect: 'silent', shape: 'events body' }]],
            [['events_api', { payload: { event: null }, expect: 'silent', shape: 'events body' }]],
          ],
        },
      );
      await settle(300);
      expect(harness.fake.responses.filter((entry) => mustStayUnused.has(entry.url)).map((entry) => entry.body)).toEqual([]);
      for (const reply of harness.fake.responses) expect(echoProblems(reply.body)).toEqual([]);
      expect(harness.fake.socket.envelopes.filter((sent) => !sent.ack)).toEqual([]);
      expect(snapshotState(harness.databaseFile)).toEqual(before);
      expect(rejections).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it('is still connected afterwards: a real /scale help over the socket gets its answer', async () => {
    const url = harness.fake.newResponseUrl({ channel: CHANNEL, user: USER });
    await harness.fake.socket.sendSlashCommand({ text: 'help', user_id: USER, channel_id: CHANNEL, response_url: url });
    const reply = await harness.fake.waitFor((fake) => fake.responses.find((entry) => entry.url === url), { timeoutMs: 5000 });
    expect(reply.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String((reply.body as { text: string }).text)).toContain('/scale status');
    expect(harness.fake.socket.totalConnections).toBe(1);
    expect(rejections).toEqual([]);
    if (LONG || process.env.SCALEBOT_DOORS_REPORT === '1')
      console.log(
        [...shapes]
          .sort((a, b) => b[1] - a[1])
          .map(([shape, n]) => `${n}\t${shape}`)
          .join('\n'),
      );
  });
});
