// What happens behind the door when something fails: a listener that throws answers the clicker with a ref
// (not silence), replies built from input are scrubbed of credentials on their way out, and a promise
// rejection nothing handled is logged without its secrets while the process keeps running.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { sendInteraction, sendSlashCommand } from '../helpers/slack/index.ts';
import { blockActions, CHANNEL, PLANTED_TOKEN, USER } from './doors-arbitraries.ts';

let harness: TestBot;

beforeAll(async () => {
  harness = await startTestBot({});
});

afterAll(async () => {
  await harness?.stop();
});

const repliesTo = (url: string) => harness.fake.responses.filter((entry) => entry.url === url);

describe('failures behind the door', () => {
  it.each(['alert_ack', 'run_approve', 'advise_yes'])('a %s listener whose reply fails still tells the clicker, with a ref', async (actionId) => {
    const url = harness.fake.newResponseUrl({ channel: CHANNEL, user: USER });
    // The listener's own answer ("not a button I know") is refused once: respond() throws inside the listener.
    harness.fake.failNext('response_url', { status: 500, error: 'internal_error' });
    const answer = await sendInteraction(harness.url, harness.secret, blockActions(url, { action_id: actionId, value: 'not-a-known-value' }));
    expect(answer.status).toBe(200);
    await harness.fake.waitFor(() => repliesTo(url).some((entry) => entry.status === 200), { timeoutMs: 5000 });
    const delivered = repliesTo(url).filter((entry) => entry.status === 200);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.body).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/^:x: Something went wrong \(ref `[0-9a-f]{8}`\)/) });
  });

  it('scrubs a credential out of a reply that quotes the input', async () => {
    const url = harness.fake.newResponseUrl({ channel: CHANNEL, user: USER });
    await sendSlashCommand(harness.url, harness.secret, { text: `${PLANTED_TOKEN} now`, user_id: USER, channel_id: CHANNEL, response_url: url });
    const reply = await harness.fake.waitFor(() => repliesTo(url)[0], { timeoutMs: 5000 });
    const text = String((reply.body as { text: string }).text);
    expect(text).toContain('is not a command I know');
    expect(text).toContain('xoxb-[redacted]');
    expect(text).not.toContain(PLANTED_TOKEN);
  });

  it('logs a rejection nothing handled, without its secret, and the process keeps running', () => {
    const script = `
      import pino from 'pino';
      import { installProcessSafetyNets } from './bot/door-guard.ts';
      import { createLogger } from './bot/logger.ts';
      installProcessSafetyNets(createLogger({ level: 'info', destination: pino.destination({ dest: 1, sync: true }) }));
      Promise.reject(new Error('boom with ${PLANTED_TOKEN}'));
      setTimeout(() => console.log('still running'), 100);
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.status).toBe(0);
    expect(child.stdout).toContain('a promise rejection nothing handled; the bot keeps running');
    expect(child.stdout).toContain('still running');
    expect(child.stdout).not.toContain(PLANTED_TOKEN);
  });
});
