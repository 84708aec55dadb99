import type { Logger } from 'pino';
import type { Clock, LeaderGate, SlackListedMessage, SlackSender, Storage } from '../core/ports.ts';
import type { MessagePayload } from '../core/storage/effects.ts';
import { LATEST_TIME, type EditWrite, type OutboxMessage, type PostWrite } from '../core/storage/outbox.ts';
import { SOLE_LEADER } from './leadership.ts';

// How every feature changes its messages: it describes them as MessageWrites by outbox key, passed as the
// Effects of its own state change (or to storage.outbox.post on their own), and calls the deliverer.

/** A new top-level message; a second post with the same key queues nothing (the first one stands). */
export function postMessage(key: string, channel: string, payload: MessagePayload, at: Date): PostWrite {
  return { kind: 'post', key, channel, parentKey: null, payload, at };
}

/** A reply in the thread of the message keyed `parentKey` (queued by the same effects or before). */
export function replyInThread(parentKey: string, key: string, channel: string, payload: MessagePayload, at: Date): PostWrite {
  return { kind: 'post', key, channel, parentKey, payload, at };
}

/** What a feature's own message (blocks/) stores: its text and a copy of its blocks (none: an empty list). */
export function payloadOf(message: { readonly text: string; readonly blocks?: readonly unknown[] }): MessagePayload {
  return { text: message.text, blocks: [...(message.blocks ?? [])] };
}

/** What the message keyed `key` says from now on; one already in Slack is edited in place. */
export function editMessage(key: string, payload: MessagePayload): EditWrite {
  return { kind: 'edit', key, payload };
}

export const OUTBOX_EVENT_TYPE = 'scalebot_message';

/** Errors after which Slack has certainly not posted, and posting again will not help. */
const PERMANENT_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_blocks',
  'msg_too_long',
  'no_text',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'missing_scope',
  'thread_not_found',
]);

interface SlackErrorShape {
  code?: string;
  retryAfter?: number;
  data?: { error?: string };
}

export interface DeliveryReport {
  posted: number;
  updated: number;
  recovered: number;
  errors: number;
  rateLimitedUntil: Date | null;
  /** The pass stopped before a Slack call because this replica may no longer call out (it is not, or soon not, the leader). */
  notLeader?: boolean;
}

export interface DeliveryOptions {
  /**
   * Asked right before every Slack call (post, edit, look-up): false stops the pass without making it, so a
   * leader whose lease may run out during the call leaves the row to the next leader (a row left "sending" is
   * looked up before it is posted again, never posted twice).
   */
  readonly mayCallOut?: () => boolean;
  /**
   * Awaited before every Slack call: resolves once no write that must land before the next Slack call is in
   * flight (a step's result, between the host's answer and its transaction). A kill at a Slack call then never
   * finds a step that ended on the host without its result stored (services/runbooks/executor.ts).
   */
  readonly settled?: () => Promise<void>;
}

const emptyReport = (): DeliveryReport => ({ posted: 0, updated: 0, recovered: 0, errors: 0, rateLimitedUntil: null, notLeader: false });

/**
 * Posts and edits what the outbox holds, exactly once each. Every post carries the row's id in Slack
 * message metadata; a row left in "sending" (a crash, a timeout: we cannot know whether Slack posted) is
 * first looked up in the channel or thread by that id, and posted again only if it is not there; a look-up
 * that fails (a 429, an error, a timeout) leaves it "sending", to be looked up again on a later pass. A 429
 * on a post means not posted: the row waits for Retry-After and nothing else is sent until then.
 */
export async function deliverOutbox(
  storage: Pick<Storage, 'outbox'>,
  slack: SlackSender,
  clock: Clock,
  logger: Logger,
  onError: (method: string, error: string) => void = () => {},
  { mayCallOut = () => true, settled = async () => {} }: DeliveryOptions = {},
): Promise<DeliveryReport> {
  const { outbox } = storage;
  const report = emptyReport();
  const mayCall = async () => {
    await settled();
    if (mayCallOut()) return true;
    report.notLeader = true;
    return false;
  };
  for (const listed of await outbox.listDeliverable(clock())) {
    const row = (await outbox.get(listed.id))!;
    const parent = row.parentId ? await outbox.get(row.parentId) : undefined;
    if (row.parentId && (parent?.status !== 'sent' || !parent.ts)) continue;
    const threadTs = parent?.ts ?? undefined;
    const method = row.status === 'sent' ? 'chat.update' : 'chat.postMessage';
    try {
      if (row.status === 'sent') {
        const payload = row.payload;
        if (!(await mayCall())) break;
        await slack.chat.update({ channel: row.channel, ts: row.ts!, text: payload.text, blocks: payload.blocks as unknown[] | undefined });
        await outbox.markUpdated(row.id, payload);
        report.updated += 1;
        continue;
      }
      if (row.status === 'sending') {
        let ts: string | null | typeof NOT_LEADER;
        try {
          ts = await findPosted(slack, row, threadTs, mayCall);
        } catch (caught) {
          // Whether Slack has the message is still unknown: the row stays "sending" and is looked up again
          // on a later pass, never posted without a look-up (that would post it twice if Slack had it).
          report.errors += 1;
          const error = caught as SlackErrorShape;
          const code = error.data?.error ?? error.code ?? (caught instanceof Error ? caught.message : 'unknown_error');
          const lookup = threadTs ? 'conversations.replies' : 'conversations.history';
          onError(lookup, code);
          if (error.code === 'slack_webapi_rate_limited_error') {
            const until = new Date(clock().getTime() + (error.retryAfter ?? 1) * 1000);
            await outbox.defer(row.id, `look-up rate limited`, until);
            report.rateLimitedUntil = until;
            logger.warn({ outboxId: row.id, retryAfter: error.retryAfter }, 'Slack rate limit on a look-up: waiting as Retry-After says');
            break;
          }
          const permanent = (error.code === 'slack_webapi_platform_error' && PERMANENT_ERRORS.has(code)) || code === LOOKUP_INCOMPLETE;
          await outbox.defer(row.id, `look-up failed: ${code}`, new Date(clock().getTime() + (permanent ? 600_000 : 5_000)));
          logger[permanent ? 'error' : 'warn'](
            { outboxId: row.id, error: code, method: lookup },
            permanent
              ? 'cannot look up whether a message was posted (the bot may lack a *:history scope for this conversation); ' +
                  'it is not posted again without a look-up'
              : 'looking up whether a message was posted failed; will look again before posting',
          );
          continue;
        }
        if (ts === NOT_LEADER) break;
        if (ts) {
          await outbox.markSent(row.id, ts, clock(), null);
          report.recovered += 1;
          logger.info({ outboxId: row.id, ts }, 'found a message posted before an interruption; not posting it again');
          continue;
        }
      }
      const payload = row.payload;
      if (!(await mayCall())) break;
      await outbox.markSending(row.id);
      // Asked again: the write above may have taken a while. Should this answer no, the row stays "sending" and
      // the next leader looks it up before posting it.
      if (!(await mayCall())) break;
      const response = await slack.chat.postMessage({
        channel: row.channel,
        text: payload.text,
        blocks: payload.blocks as unknown[] | undefined,
        ...(threadTs ? { thread_ts: threadTs } : {}),
        metadata: { event_type: OUTBOX_EVENT_TYPE, event_payload: { outbox_id: row.id, key: row.dedupeKey } },
        unfurl_links: false,
      });
      await outbox.markSent(row.id, response.ts!, clock(), payload);
      report.posted += 1;
    } catch (caught) {
      report.errors += 1;
      const error = caught as SlackErrorShape;
      const code = error.data?.error ?? error.code ?? 'unknown_error';
      onError(method, code);
      if (error.code === 'slack_webapi_rate_limited_error') {
        const until = new Date(clock().getTime() + (error.retryAfter ?? 1) * 1000);
        if (method === 'chat.postMessage') await outbox.markNotSent(row.id, 'rate limited', until);
        else await outbox.defer(row.id, 'rate limited', until);
        report.rateLimitedUntil = until;
        logger.warn({ outboxId: row.id, retryAfter: error.retryAfter }, 'Slack rate limit: waiting as Retry-After says');
        break;
      }
      if (error.code === 'slack_webapi_platform_error') {
        // Slack answered ok:false: nothing was posted.
        const permanent = PERMANENT_ERRORS.has(code);
        if (method === 'chat.postMessage') await outbox.markNotSent(row.id, code, permanent ? null : new Date(clock().getTime() + 30_000), permanent);
        else await outbox.defer(row.id, code, permanent ? null : new Date(clock().getTime() + 30_000));
        logger.error(
          { outboxId: row.id, error: code, method },
          permanent ? 'Slack refused a message; it will not be retried' : 'Slack refused a message; retrying later',
        );
        continue;
      }
      // A transport failure: Slack may or may not have posted. The row stays "sending" and is looked up first.
      logger.warn({ outboxId: row.id, error: code, method }, 'Slack call failed; will check and retry');
      await outbox.defer(row.id, code, new Date(clock().getTime() + 5_000));
    }
  }
  return report;
}

const LOOKUP_INCOMPLETE = 'lookup_incomplete';
const NOT_LEADER = Symbol('not the leader');

async function findPosted(
  slack: SlackSender,
  row: OutboxMessage,
  threadTs: string | undefined,
  mayCall: () => Promise<boolean>,
): Promise<string | null | typeof NOT_LEADER> {
  const oldest = String(Math.floor(row.createdAt.getTime() / 1000) - 60);
  const matches = (message: SlackListedMessage) => message.metadata?.event_type === OUTBOX_EVENT_TYPE && message.metadata.event_payload?.outbox_id === row.id;
  let cursor: string | undefined;
  for (let page = 0; page < 10; page += 1) {
    if (!(await mayCall())) return NOT_LEADER;
    const response = threadTs
      ? await slack.conversations.replies({ channel: row.channel, ts: threadTs, oldest, include_all_metadata: true, limit: 200, ...(cursor ? { cursor } : {}) })
      : await slack.conversations.history({ channel: row.channel, oldest, include_all_metadata: true, limit: 200, ...(cursor ? { cursor } : {}) });
    const found = (response.messages ?? []).find(matches);
    if (found?.ts) return found.ts;
    cursor = response.response_metadata?.next_cursor || undefined;
    if (!cursor) return null;
  }
  // Not found in the pages read, but not all were read: unknown, not "not posted".
  throw new Error(LOOKUP_INCOMPLETE);
}

export interface DelivererOptions {
  /**
   * Which replica sends (services/leadership.ts): only the leader's passes run, inside its term (their writes
   * carry its fencing token); a follower's call returns at once, and the leader's poll sends what it queued.
   * Default: this process is the only one.
   */
  readonly leader?: LeaderGate;
  /** The Slack client's timeout: a call is made only while the lease has more time left than this. */
  readonly callTimeoutMs?: number;
  /** See DeliveryOptions.settled. */
  readonly settled?: () => Promise<void>;
}

/**
 * One delivery loop per process: the watcher, runbooks and checklists all post through it, and two passes
 * never run at once (two concurrent passes could both see a row as pending and post it twice). A call made
 * while a pass runs waits for one more pass, which sees everything queued before the call. With replicas,
 * only the leader's loop sends; across replicas the leader's fencing token keeps two leaders' passes apart.
 */
export function createOutboxDeliverer(
  storage: Pick<Storage, 'outbox'>,
  slack: SlackSender,
  clock: Clock,
  logger: Logger,
  onError: (method: string, error: string) => void = () => {},
  { leader = SOLE_LEADER, callTimeoutMs = 0, settled }: DelivererOptions = {},
) {
  let current: Promise<DeliveryReport> | null = null;
  let next: Promise<DeliveryReport> | null = null;
  let followUp: { timer: NodeJS.Timeout; at: number } | null = null;
  let poll: NodeJS.Timeout | null = null;
  // A row told to wait (Retry-After, a 5xx, a lost answer) must not depend on some later event to be sent:
  // one timer brings the next pass at the earliest time a waiting row may go. Rows refused for good (no
  // not_before) are left to the next ordinary pass, as before, not retried in a loop.
  const scheduleFollowUp = async () => {
    const now = clock().getTime();
    const due = (await storage.outbox.listDeliverable(LATEST_TIME))
      .map((row) => row.notBefore?.getTime() ?? Infinity)
      .filter((at) => at > now)
      .reduce((earliest, at) => Math.min(earliest, at), Infinity);
    if (stopped || due === Infinity || (followUp && followUp.at <= due)) return;
    if (followUp) clearTimeout(followUp.timer);
    const timer = setTimeout(
      () => {
        followUp = null;
        void deliver().catch((error: unknown) => logger.error({ err: error }, 'outbox: a follow-up delivery failed'));
      },
      Math.max(250, due - now),
    );
    timer.unref?.();
    followUp = { timer, at: due };
  };
  let stopped = false;
  const mayCallOut = () => leader.mayCallOut(callTimeoutMs);
  const pass = (): Promise<DeliveryReport> =>
    leader.asLeader(() =>
      deliverOutbox(storage, slack, clock, logger, onError, { mayCallOut, ...(settled ? { settled } : {}) }).finally(async () => {
        if (!stopped && leader.isLeader()) await scheduleFollowUp();
      }),
    ) ?? Promise.resolve(emptyReport());
  /** Shutdown: no follow-up pass after this (the database is about to close). */
  const stop = () => {
    stopped = true;
    stopPolling();
    if (followUp) clearTimeout(followUp.timer);
    followUp = null;
  };
  /**
   * The leader's job: a pass every `intervalMs`, so that what a follower queued (a click answered there, an
   * Alertmanager webhook) goes out within about that long.
   */
  const startPolling = (intervalMs: number) => {
    stopPolling();
    poll = setInterval(() => {
      if (!current) void deliver().catch((error: unknown) => logger.error({ err: error }, 'outbox: a polling delivery failed'));
    }, intervalMs);
    poll.unref?.();
  };
  function stopPolling() {
    if (poll) clearInterval(poll);
    poll = null;
  }
  /** Deposed or stopping: no more polling, and the pass in flight (which calls Slack no more) has ended. */
  const settle = async () => {
    stopPolling();
    if (followUp) clearTimeout(followUp.timer);
    followUp = null;
    await Promise.allSettled([current, next]);
  };
  return Object.assign(deliver, { stop, startPolling, settle });
  function deliver(): Promise<DeliveryReport> {
    // A follower sends nothing: its calls return at once, the leader's poll sends what it queued.
    if (!leader.isLeader()) return Promise.resolve(emptyReport());
    if (!current) {
      current = pass().finally(() => {
        current = null;
      });
      return current;
    }
    if (!next) {
      next = current
        .catch(() => undefined)
        .then(() => {
          next = null;
          current = pass().finally(() => {
            current = null;
          });
          return current;
        });
    }
    return next;
  }
}

/** What the features call to have the outbox delivered (the loop itself also has stop(), for shutdown). */
export type OutboxDeliverer = () => Promise<DeliveryReport>;
