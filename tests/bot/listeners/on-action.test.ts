// The one button wrapper (bot/listeners/on-action.ts) on a real Bolt app, clicked with signed requests as Slack
// clicks: a button the parser refuses, a UserError, and a fault of ours each get their answer, and the fault is
// on record with the ref the clicker was shown. The ack waits for the click's write, up to a deadline.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App } from '@slack/bolt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { toBoltLogger } from '../../../bot/app.ts';
import { onAction } from '../../../bot/listeners/on-action.ts';
import { UNKNOWN_BUTTON } from '../../../blocks/replies.ts';
import { UserError } from '../../../core/user-error.ts';
import { openSqliteStorage, type SqliteStorage } from '../../../db/storage.ts';
import { buildBlockActionsPayload, sendInteraction, startFakeSlack, stopBoltApp, type FakeSlack } from '../../helpers/slack/index.ts';

const SECRET = 'on-action-test-secret';
const CHANNEL = 'C0PROBE';
const USER = 'U0CLICKER';

type Probe = { kind: 'ok' | 'wrong' | 'fault' | 'slow'; id: number };
const parseProbe = (actionId: string, value: string | undefined): Probe | null => {
  const kind = /^probe_(ok|wrong|fault|slow)$/.exec(actionId)?.[1] as Probe['kind'] | undefined;
  return kind && value && /^\d{1,6}$/.test(value) ? { kind, id: Number(value) } : null;
};

let fake: FakeSlack;
let storage: SqliteStorage;
let app: App;
afterEach(async () => {
  await stopBoltApp(app);
  await fake.close();
  await storage.close();
});

/** How long the `slow` probe takes before it writes its decision. */
const SLOW_MS = 700;

async function start(ackDeadlineMs?: number): Promise<string> {
  fake = await startFakeSlack();
  storage = openSqliteStorage(':memory:');
  const logger = pino({ level: 'silent' });
  app = new App({
    token: 'xoxb-on-action',
    signingSecret: SECRET,
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    logger: toBoltLogger(logger, 'bolt'),
  });
  onAction(
    app,
    'probe_',
    parseProbe,
    async ({ action }) => {
      if (action.kind === 'wrong') throw new UserError(`Item ${action.id} is closed; type \`/scale checklist\` to see the open ones.`);
      if (action.kind === 'fault') throw new Error(`disk on fire under item ${action.id}`);
      if (action.kind === 'slow') {
        await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
        await storage.decisions.append({ at: new Date(), kind: 'probe_written', actor: USER, channel: CHANNEL, subject: String(action.id), outcome: 'ok' });
      }
      return `Done with ${action.id}.`;
    },
    { logger, decisions: storage.decisions, clock: () => new Date('2026-12-04T12:00:00Z'), ...(ackDeadlineMs ? { ackDeadlineMs } : {}) },
  );
  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function click(baseUrl: string, actionId: string, value: string, onAck: () => unknown = () => {}): Promise<string> {
  const posted = await app.client.chat.postMessage({
    channel: CHANNEL,
    text: 'probe',
    blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: actionId, value, text: { type: 'plain_text', text: 'Go' } }] }],
  });
  const message = fake.message(CHANNEL, posted.ts!)!;
  const responseUrl = fake.newResponseUrl({ channel: CHANNEL, messageTs: message.ts, user: USER });
  const payload = buildBlockActionsPayload({ user: USER, channel: CHANNEL, message, action: { action_id: actionId }, response_url: responseUrl });
  expect((await sendInteraction(baseUrl, SECRET, payload)).status).toBe(200);
  await onAck();
  const answer = await fake.waitFor((f) => f.responses.find((entry) => entry.url === responseUrl));
  return (answer.body as { text: string }).text;
}

describe('onAction', () => {
  it("tells the clicker the handler's answer, a refused button, a UserError's message, and a ref for a fault on record", async () => {
    const baseUrl = await start();
    expect(await click(baseUrl, 'probe_ok', '7')).toBe('Done with 7.');
    expect(await click(baseUrl, 'probe_ok', 'seven')).toBe(UNKNOWN_BUTTON);
    expect(await click(baseUrl, 'probe_wrong', '8')).toBe(':warning: Item 8 is closed; type `/scale checklist` to see the open ones.');

    const fault = await click(baseUrl, 'probe_fault', '9');
    const ref = /ref `([0-9a-f]{8})`/.exec(fault)?.[1];
    expect(ref, fault).toBeDefined();
    expect(fault).not.toContain('disk on fire');
    const rows = await storage.decisions.list({ kinds: ['probe_click_failed'] });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: USER, channel: CHANNEL, subject: 'probe_fault', outcome: 'error', detail: { ref, value: '9' } });
    // A refused button and a UserError are answers, not faults: nothing else is on record.
    expect(await storage.decisions.list()).toHaveLength(1);
  });

  it('acks a click once its write is done, so that a click Slack saw acked is never lost to a kill', async () => {
    const baseUrl = await start();
    const started = Date.now();
    let writtenAtAck: number | undefined;
    const answer = await click(baseUrl, 'probe_slow', '11', async () => {
      writtenAtAck = (await storage.decisions.list({ kinds: ['probe_written'] })).length;
    });
    expect(writtenAtAck).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(SLOW_MS);
    expect(answer).toBe('Done with 11.');
  });

  it('acks by the deadline a click that takes longer (Slack allows three seconds), and still answers it', async () => {
    const baseUrl = await start(150);
    let writtenAtAck: number | undefined;
    const answer = await click(baseUrl, 'probe_slow', '12', async () => {
      writtenAtAck = (await storage.decisions.list({ kinds: ['probe_written'] })).length;
    });
    expect(writtenAtAck).toBe(0);
    expect(answer).toBe('Done with 12.');
    expect(await storage.decisions.list({ kinds: ['probe_written'] })).toHaveLength(1);
  });
});
