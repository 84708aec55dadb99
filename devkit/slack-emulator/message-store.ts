// The fake workspace's messages: what a channel would show after every post, update, reply and delete.
import type { SharedFile } from './file-store.ts';

/** Slack's `metadata` message argument: https://docs.slack.dev/messaging/message-metadata */
export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

/** A message as `conversations.history` returns it (metadata only with `include_all_metadata`). */
export interface StoredMessage {
  type: 'message';
  channel: string;
  ts: string;
  /** The author: the bot user for the bot's own posts. */
  user: string;
  bot_id?: string;
  app_id?: string;
  team: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  /** Set on replies, and on a parent once it has replies (equal to its own ts), as Slack does. */
  thread_ts?: string;
  reply_count?: number;
  reply_users?: string[];
  latest_reply?: string;
  metadata?: MessageMetadata;
  edited?: { user: string; ts: string };
  /** A file share (files.completeUploadExternal): the files, as history lists them. */
  files?: SharedFile[];
  /** Set on a file share, as Slack does. */
  upload?: boolean;
}

/** An ephemeral message: seen by one user, never in history, and not updatable by `chat.update`. */
export interface EphemeralMessage {
  channel: string;
  /** The one user who sees it. */
  user: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  via: 'chat.postEphemeral' | 'response_url';
}

/**
 * Hands out Slack-shaped timestamps ("1732761234.000100": seconds, six digits of microseconds) that are
 * unique and strictly increasing, even when many messages land in the same microsecond of the clock.
 */
export function createTsClock(now: () => Date): () => string {
  let last = 0;
  return () => {
    const micros = Math.max(now().getTime() * 1000, last + 1);
    last = micros;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  };
}

export class MessageStore {
  private readonly byChannel = new Map<string, StoredMessage[]>();
  private readonly ephemeralList: EphemeralMessage[] = [];

  constructor(private readonly nextTs: () => string) {}

  add(message: Omit<StoredMessage, 'ts' | 'type'>): StoredMessage {
    const stored: StoredMessage = { type: 'message', ...message, ts: this.nextTs() };
    const list = this.byChannel.get(message.channel) ?? [];
    list.push(stored);
    this.byChannel.set(message.channel, list);
    if (stored.thread_ts !== undefined && stored.thread_ts !== stored.ts) {
      const parent = this.get(message.channel, stored.thread_ts);
      if (parent) {
        parent.thread_ts = parent.ts;
        parent.reply_count = (parent.reply_count ?? 0) + 1;
        parent.reply_users = [...new Set([...(parent.reply_users ?? []), stored.user])];
        parent.latest_reply = stored.ts;
      }
    }
    return stored;
  }

  addEphemeral(message: Omit<EphemeralMessage, 'ts'>): EphemeralMessage {
    const stored = { ...message, ts: this.nextTs() };
    this.ephemeralList.push(stored);
    return stored;
  }

  /** The live object (callers inside the fake mutate it); hand copies to tests. */
  get(channel: string, ts: string): StoredMessage | undefined {
    return this.byChannel.get(channel)?.find((m) => m.ts === ts);
  }

  remove(channel: string, ts: string): boolean {
    const list = this.byChannel.get(channel);
    const index = list?.findIndex((m) => m.ts === ts) ?? -1;
    if (!list || index < 0) return false;
    const [removed] = list.splice(index, 1);
    if (removed?.thread_ts !== undefined && removed.thread_ts !== removed.ts) {
      const parent = this.get(channel, removed.thread_ts);
      if (parent?.reply_count !== undefined) parent.reply_count -= 1;
    }
    return true;
  }

  /** Every message, oldest first; one channel's when given. */
  all(channel?: string): StoredMessage[] {
    if (channel !== undefined) return [...(this.byChannel.get(channel) ?? [])];
    return [...this.byChannel.values()].flat().sort((a, b) => compareTs(a.ts, b.ts));
  }

  /** The live ephemeral (a response_url reply to a click on it replaces or deletes it). */
  getEphemeral(ts: string): EphemeralMessage | undefined {
    return this.ephemeralList.find((m) => m.ts === ts);
  }

  removeEphemeral(ts: string): boolean {
    const index = this.ephemeralList.findIndex((m) => m.ts === ts);
    if (index < 0) return false;
    this.ephemeralList.splice(index, 1);
    return true;
  }

  ephemerals(channel?: string): EphemeralMessage[] {
    return this.ephemeralList.filter((m) => channel === undefined || m.channel === channel);
  }

  clear(): void {
    this.byChannel.clear();
    this.ephemeralList.length = 0;
  }
}

/** Orders Slack timestamps numerically without losing the microseconds to floating point. */
export function compareTs(a: string, b: string): number {
  const [as = '0', af = ''] = a.split('.');
  const [bs = '0', bf = ''] = b.split('.');
  const seconds = Number(as) - Number(bs);
  if (seconds !== 0) return seconds;
  return Number(af.padEnd(6, '0')) - Number(bf.padEnd(6, '0'));
}
