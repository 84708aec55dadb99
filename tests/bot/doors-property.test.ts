// Long share: with SCALEBOT_LONG=1 (npm run test:long) each door gets 3000 generated requests (LONG in doors-arbitraries.ts).
// The HTTP doors under generated input: whatever a signed (or unsigned) POST to /slack/events holds, the real
// bot answers 2xx/4xx within Slack's 3 seconds, tells the user when it can, never echoes a control sequence or
// a credential, changes nothing but the decision log, and is still serving afterwards.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_UNDERSTOOD } from '../../bot/door-guard.ts';
import { slash, startTestBot, type TestBot } from '../helpers/bot.ts';
import { signSlackRequest } from '../helpers/slack/index.ts';
import {
  blockActions,
  CHANNEL,
  echoProblems,
  interactionPayload,
  LONG,
  slashCommandPayload,
  snapshotState,
  USER,
  type GeneratedPayload,
} from './doors-arbitraries.ts';

const RUNS = LONG ? 3000 : 150;
/** The quick share stays well inside vitest's 30 s; the long one may take minutes. */
const TIMEOUT_MS = LONG ? 30 * 60_000 : 60_000;
const SLACK_DEADLINE_MS = 3000;

let harness: TestBot;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  harness = await startTestBot({});
});

afterAll(async () => {
  process.off('unhandledRejection', onRejection);
  await harness?.stop();
});

type Signing = 'signed' | 'unsigned' | 'bad signature' | 'wrong secret' | 'stale';

async function post(rawBody: string, contentType: string, signing: Signing = 'signed') {
  const now = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'content-type': contentType };
  if (signing !== 'unsigned') {
    const signed = signSlackRequest(signing === 'wrong secret' ? 'not-the-signing-secret' : harness.secret, rawBody, signing === 'stale' ? now - 600 : now);
    Object.assign(headers, signed, signing === 'bad signature' ? { 'X-Slack-Signature': `v0=${'0'.repeat(64)}` } : {});
  }
  const started = Date.now();
  const response = await fetch(`${harness.url}/slack/events`, {
    method: 'POST',
    headers,
    body: rawBody,
    signal: AbortSignal.timeout(SLACK_DEADLINE_MS + 2000),
  });
  const body = await response.text();
  return { status: response.status, body, ms: Date.now() - started };
}

const form = (fields: Record<string, unknown>) => new URLSearchParams(fields as Record<string, string>).toString();
const signing = fc.constantFrom<Signing>('signed', 'signed', 'signed', 'signed', 'signed', 'unsigned', 'bad signature', 'wrong secret', 'stale');
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Replies at a response_url, once there are `atLeast` of them. */
async function responsesTo(url: string, atLeast: number) {
  await harness.fake.waitFor((fake) => fake.responses.filter((entry) => entry.url === url).length >= atLeast, { timeoutMs: 5000 });
  return harness.fake.responses.filter((entry) => entry.url === url);
}

/** response_urls that must never be used (refused quietly, or not signed): checked once the run settled. */
const mustStayUnused = new Set<string>();
async function expectUnusedUrlsUnused() {
  await settle(300);
  expect(harness.fake.responses.filter((entry) => mustStayUnused.has(entry.url)).map((entry) => entry.body)).toEqual([]);
}

const shapes = new Map<string, number>();
const count = (shape: string) => shapes.set(shape, (shapes.get(shape) ?? 0) + 1);

/** One generated request through the HTTP door, and everything the door promises about it. */
async function sendAndCheck(generated: GeneratedPayload & { text?: string }, how: Signing, asSlash: boolean): Promise<void> {
  count(`${how === 'signed' ? '' : `${how}: `}${generated.shape}`);
  const raw = asSlash ? form(generated.payload as Record<string, unknown>) : form({ payload: JSON.stringify(generated.payload) });
  const answer = await post(raw, 'application/x-www-form-urlencoded', how);
  expect(answer.ms).toBeLessThan(SLACK_DEADLINE_MS);
  if (how !== 'signed') {
    expect(answer.status).toBe(401);
    if (generated.responseUrl) mustStayUnused.add(generated.responseUrl);
    return;
  }
  expect(answer.status).toBe(200);
  if (!generated.responseUrl) return;
  if (generated.expect === 'notice') {
    const [reply, ...more] = await responsesTo(generated.responseUrl, 1);
    expect(more).toEqual([]);
    expect(reply!.body).toMatchObject({ response_type: 'ephemeral', text: NOT_UNDERSTOOD });
  } else if (generated.expect === 'silent') {
    mustStayUnused.add(generated.responseUrl);
  } else if (asSlash) {
    // Every /scale answers: ephemeral (only advise shares its answer), saying what to type when it was junk.
    const [reply] = await responsesTo(generated.responseUrl, 1);
    const body = reply!.body as { text?: string; response_type?: string };
    expect(echoProblems(body)).toEqual([]);
    expect(body.text).toBeTruthy();
    const first = (generated.text ?? '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').trim().split(/\s+/)[0] ?? '';
    if (body.response_type !== 'ephemeral') expect(first.toLowerCase()).toBe('advise');
    if (!/^(status|advise|plan|cost|alerts|checklist|runbooks|run|history|unlock|help)$/i.test(first.replace(/["'\u201c\u201d\u2018\u2019]/g, ''))) {
      expect(body.text).toContain('/scale help');
    }
  }
  for (const reply of harness.fake.responses.filter((entry) => entry.url === generated.responseUrl)) {
    expect(echoProblems(reply.body)).toEqual([]);
  }
}

describe('the HTTP doors under generated input', () => {
  it(
    `interaction payloads: known action ids with generated values, unknown ids, missing fields, wrong types, non-objects (${RUNS} runs)`,
    async () => {
      const before = snapshotState(harness.databaseFile);
      await fc.assert(
        fc.asyncProperty(interactionPayload(harness.fake), signing, async (generated, how) => sendAndCheck(generated, how, false)),
        {
          numRuns: RUNS,
          // The two shapes of the issue, every run: `payload=null` ended the process, a click without `user` got a 500.
          examples: [
            [{ payload: null, expect: 'silent', shape: 'not an object (null)' }, 'signed'],
            [withoutUser(harness.fake.newResponseUrl({ channel: CHANNEL, user: USER })), 'signed'],
          ],
        },
      );
      await expectUnusedUrlsUnused();
      for (const reply of harness.fake.responses) expect(echoProblems(reply.body)).toEqual([]);
      expect(snapshotState(harness.databaseFile)).toEqual(before);
      expect(rejections).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it(
    `slash commands: generated text (unicode, control characters, quotes, mentions, links, huge) and broken fields (${RUNS} runs)`,
    async () => {
      const before = snapshotState(harness.databaseFile);
      await fc.assert(
        fc.asyncProperty(slashCommandPayload(harness.fake), signing, async (generated, how) => sendAndCheck(generated, how, true)),
        { numRuns: RUNS },
      );
      await expectUnusedUrlsUnused();
      for (const reply of harness.fake.responses) expect(echoProblems(reply.body)).toEqual([]);
      expect(snapshotState(harness.databaseFile)).toEqual(before);
      expect(rejections).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it(
    `raw bodies: any content type, any JSON, not JSON, signed or not (${RUNS} runs)`,
    async () => {
      const before = snapshotState(harness.databaseFile);
      const rawBody = fc.oneof(
        fc
          .jsonValue({ maxDepth: 3 })
          .map((value) => ({ raw: form({ payload: JSON.stringify(value) }), type: 'application/x-www-form-urlencoded', parsable: true })),
        fc.string({ maxLength: 60 }).map((text) => ({ raw: form({ payload: text }), type: 'application/x-www-form-urlencoded', parsable: isJson(text) })),
        fc.jsonValue({ maxDepth: 3 }).map((value) => ({ raw: JSON.stringify(value), type: 'application/json', parsable: true })),
        fc.string({ maxLength: 60 }).map((text) => ({ raw: text, type: 'application/json', parsable: isJson(text) })),
        fc
          .tuple(fc.string({ maxLength: 60 }), fc.constantFrom('text/plain', 'application/x-www-form-urlencoded; charset=utf-8', 'multipart/form-data', ''))
          .map(([text, type]) => ({ raw: text, type, parsable: isJson(text) })),
        fc
          .dictionary(fc.constantFrom('command', 'text', 'user_id', 'payload', 'ssl_check', 'type', 'challenge', 'response_url'), fc.string({ maxLength: 20 }))
          .map((fields) => ({
            raw: form(fields),
            type: 'application/x-www-form-urlencoded',
            parsable: typeof fields.payload !== 'string' || isJson(fields.payload),
          })),
      );
      await fc.assert(
        fc.asyncProperty(rawBody, signing, async ({ raw, type, parsable }, how) => {
          count(`raw body ${type || '(no type)'}`);
          const answer = await post(raw, type, how);
          expect(answer.ms).toBeLessThan(SLACK_DEADLINE_MS);
          // Slack's SSL check is answered unsigned, as Slack sends it (within the timestamp window, checked first).
          if (type === 'application/x-www-form-urlencoded' && new URLSearchParams(raw).get('ssl_check') === '1') {
            return void expect(answer.status).toBe(how === 'unsigned' || how === 'stale' ? 401 : 200);
          }
          if (how !== 'signed') return void expect(answer.status).toBe(401);
          expect(answer.status).toBe(parsable ? 200 : 400);
        }),
        { numRuns: RUNS },
      );
      expect(snapshotState(harness.databaseFile)).toEqual(before);
      expect(rejections).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it('refuses a body over 4 MB with 413 and keeps serving', async () => {
    const answer = await post(form({ payload: 'x'.repeat(4 * 1024 * 1024 + 10) }), 'application/x-www-form-urlencoded');
    expect(answer.status).toBe(413);
  });

  it('is still up afterwards: a real /scale help gets its answer', async () => {
    const said = await slash(harness, 'help', { user: USER, channel: CHANNEL });
    expect(said.response.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String((said.response.body as { text: string }).text)).toContain('/scale status');
    expect((await fetch(`${harness.url}/health`)).status).toBe(200);
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

function withoutUser(responseUrl: string): GeneratedPayload {
  const { user: _user, ...payload } = blockActions(responseUrl, { action_id: 'run_approve', value: '1' });
  return { payload, expect: 'silent', shape: 'missing user', responseUrl };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
