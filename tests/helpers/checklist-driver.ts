// Drives checklist runs in the real bot the way Slack would: signed slash commands, and signed block_actions
// built from the message as the fake Slack stores it (a stale copy is just an older StoredMessage).
import { expect } from 'vitest';
import type { TestBot } from './bot.ts';
import {
  buildBlockActionsPayload,
  checkBlockKitLimits,
  sendInteraction,
  sendSlashCommand,
  type FakeSlack,
  type RecordedResponse,
  type StoredMessage,
} from './slack/index.ts';

export const CHANNEL = 'C0SCALING1';

type AnyBlock = Record<string, any>;

/** `/scale <text>` from `user` in CHANNEL; resolves once the bot acked. Returns the command's response_url. */
export async function scale(tb: TestBot, text: string, user = 'U0ANA', channel = CHANNEL): Promise<string> {
  const responseUrl = tb.fake.newResponseUrl({ channel, user });
  const answer = await sendSlashCommand(tb.url, tb.secret, { text, user_id: user, channel_id: channel, response_url: responseUrl });
  expect(answer.status).toBe(200);
  return responseUrl;
}

/** The first answer posted to a response_url. */
export function responseTo(fake: FakeSlack, url: string, timeoutMs = 15_000): Promise<RecordedResponse> {
  return fake.waitFor((f) => f.responses.find((response) => response.url === url && response.status === 200), { timeoutMs });
}

/** The top-level message of a checklist run, as the channel shows it now. */
export function runMessage(fake: FakeSlack, runId: number, channel = CHANNEL): StoredMessage | undefined {
  return fake.messages(channel).find((message) => message.metadata?.event_payload.key === `checklist:${runId}`);
}

export function waitForRunMessage(fake: FakeSlack, runId: number, channel = CHANNEL): Promise<StoredMessage> {
  return fake.waitFor((f) => runMessage(f, runId, channel));
}

/** `/scale checklist <args>` and the message it posts. */
export async function startRun(tb: TestBot, args: string, runId: number, user = 'U0ANA'): Promise<StoredMessage> {
  await scale(tb, `checklist ${args}`, user);
  const message = await waitForRunMessage(tb.fake, runId);
  expect(checkBlockKitLimits(message.blocks)).toEqual([]);
  return message;
}

export interface ClickOptions {
  /** Sent instead of the button's own value (a forged or broken payload). */
  value?: string;
  /** Allow an action id the message does not show. */
  strict?: boolean;
  channel?: string;
}

/** Clicks a button of `message` (the copy the clicker sees) as `user`; resolves once the bot acked. Returns the click's response_url. */
export async function click(tb: TestBot, message: StoredMessage, actionId: string, user: string, options: ClickOptions = {}): Promise<string> {
  const channel = options.channel ?? CHANNEL;
  const responseUrl = tb.fake.newResponseUrl({ channel, user, messageTs: message.ts });
  const payload = buildBlockActionsPayload({
    user,
    channel,
    message,
    action: { action_id: actionId, ...(options.value !== undefined ? { value: options.value } : {}) },
    response_url: responseUrl,
    ...(options.strict === false ? { strict: false } : {}),
  });
  const answer = await sendInteraction(tb.url, tb.secret, payload);
  expect(answer.status).toBe(200);
  return responseUrl;
}

/** Waits until the run's message says `n of m done` (the chat.update that follows a change). */
export function waitForProgress(fake: FakeSlack, runId: number, progress: string, channel = CHANNEL): Promise<StoredMessage> {
  return fake.waitFor((f) => {
    const message = runMessage(f, runId, channel);
    return message && JSON.stringify(message.blocks).includes(`${progress} done`) ? message : undefined;
  });
}

export function itemBlock(message: StoredMessage, itemId: string): AnyBlock {
  const block = (message.blocks as AnyBlock[] | undefined)?.find((candidate) => candidate.block_id === `checklist_item_${itemId}`);
  if (!block) throw new Error(`no item ${itemId} in message ${message.ts}`);
  return block;
}

export function buttonsOf(message: StoredMessage): AnyBlock[] {
  return ((message.blocks ?? []) as AnyBlock[])
    .flatMap((block) => [...(block.elements ?? []), ...(block.accessory ? [block.accessory] : [])])
    .filter((element: AnyBlock) => element.type === 'button');
}

/** Thread replies under a message. */
export function repliesTo(fake: FakeSlack, message: StoredMessage, channel = CHANNEL): StoredMessage[] {
  return fake.messages(channel).filter((reply) => reply.thread_ts === message.ts && reply.ts !== message.ts);
}
