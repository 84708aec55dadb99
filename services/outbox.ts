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
  const files: FileDelivery = { outbox, slack, clock, logger, onError, mayCall, report };
  // A second round only when a failed upload queued its notice: it goes out in the same pass, not the next one.
  pass: for (let round = 0; ; round += 1) {
    let noticeQueued = false;
    for (const listed of await outbox.listDeliverable(clock())) {
      const row = (await outbox.get(listed.id))!;
      const parent = row.parentId ? await outbox.get(row.parentId) : undefined;
      if (row.parentId && (parent?.status !== 'sent' || !parent.ts)) continue;
      const threadTs = parent?.ts ?? undefined;
      if (row.payload.file) {
        // A file share is never edited: a change to its payload is taken as seen, with no call to Slack.
        if (row.status === 'sent') {
          await outbox.markUpdated(row.id, row.payload);
          continue;
        }
        const next = await deliverFile(files, row, parent, threadTs);
        if (next === 'stop') break pass;
        if (next === 'notice queued') noticeQueued = true;
        continue;
      }
      const method = row.status === 'sent' ? 'chat.update' : 'chat.postMessage';
      try {
        if (row.status === 'sent') {
          const payload = row.payload;
          if (!(await mayCall())) break pass;
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
              break pass;
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
          if (ts === NOT_LEADER) break pass;
          if (ts) {
            await outbox.markSent(row.id, ts, clock(), null);
            report.recovered += 1;
            logger.info({ outboxId: row.id, ts }, 'found a message posted before an interruption; not posting it again');
            continue;
          }
        }
        const payload = row.payload;
        if (!(await mayCall())) break pass;
        await outbox.markSending(row.id);
        // Asked again: the write above may have taken a while. Should this answer no, the row stays "sending" and
        // the next leader looks it up before posting it.
        if (!(await mayCall())) break pass;
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
          break pass;
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
    if (!noticeQueued || round > 0) break;
  }
  return report;
}

// ---- File uploads: Slack's three calls (files.getUploadURLExternal, the bytes' POST, files.completeUploadExternal).

/** Errors after which an upload is refused for good: retrying the same upload will not help until someone acts. */
const PERMANENT_UPLOAD_ERRORS = new Set([
  ...PERMANENT_ERRORS,
  'invalid_arguments',
  'missing_argument',
  'invalid_channel',
  'alt_txt_too_large',
  'file_uploads_disabled',
  'file_uploads_except_images_disabled',
  'file_type_not_allowed',
  'file_upload_size_restricted',
  'posting_to_channel_denied',
  'restricted_action',
  'access_denied',
  'ekm_access_denied',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
]);

/** Slack forgot the uploaded file (never received, wrong length, expired): upload it again under a new id. */
const FILE_GONE_ERRORS = new Set(['file_not_found']);

/** Uploads started over (each one a new file id) before the row is given up, so a file Slack keeps losing cannot loop. */
const MAX_UPLOAD_ATTEMPTS = 5;

/** What the people in the thread are told to do about an upload Slack refused for good. */
function uploadAdvice(code: string): string {
  switch (code) {
    case 'missing_scope':
      return 'add the files:write bot scope to the Slack app (manifest.yml has it) and reinstall the app to the workspace';
    case 'not_in_channel':
    case 'channel_not_found':
    case 'invalid_channel':
      return 'invite the bot to this channel (/invite @scalebot), or check the channel id in the configuration';
    case 'is_archived':
      return 'unarchive the channel, or point the bot at another one';
    case 'file_uploads_disabled':
    case 'file_uploads_except_images_disabled':
    case 'file_type_not_allowed':
    case 'file_upload_size_restricted':
      return 'a workspace admin restricts file uploads; allow PNG images from apps';
    case 'posting_to_channel_denied':
    case 'restricted_action':
      return 'allow apps to post in this channel';
    case 'invalid_auth':
    case 'not_authed':
    case 'account_inactive':
    case 'token_revoked':
    case 'token_expired':
      return 'check SLACK_BOT_TOKEN (the app may have been uninstalled), then restart the bot';
    case 'upload_attempts_exhausted':
      return `Slack lost the upload ${MAX_UPLOAD_ATTEMPTS} times; see the bot's log, and ask for the chart again (/scale chart)`;
    default:
      return "see the bot's log for the details, and ask for the chart again (/scale chart)";
  }
}

/** The text said once in the thread (or channel) of an upload refused for good. */
export function uploadFailureText(code: string): string {
  return `The chart could not be uploaded (${code}): ${uploadAdvice(code)}.`;
}

/** The outbox key of that notice: derived from the file row's key, so it is queued once however often the row fails. */
export const uploadFailureKey = (fileKey: string): string => `${fileKey}:failed`;

interface FileDelivery {
  readonly outbox: Storage['outbox'];
  readonly slack: SlackSender;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onError: (method: string, error: string) => void;
  readonly mayCall: () => Promise<boolean>;
  readonly report: DeliveryReport;
}

type UploadStep = 'files.getUploadURLExternal' | 'upload' | 'files.completeUploadExternal' | 'conversations.history' | 'conversations.replies';

/**
 * Delivers one file row, exactly once: the file id is stored before the completion that shares it, and a row
 * found "sending" with a file id is looked up by that id before it is completed again. Until then nothing is
 * visible in Slack, so a row "sending" without a file id (or one Slack lost) is uploaded afresh.
 * 'stop': the pass ends here (a 429, or this replica may call out no more).
 */
async function deliverFile(
  delivery: FileDelivery,
  row: OutboxMessage,
  parent: OutboxMessage | undefined,
  threadTs: string | undefined,
): Promise<'next' | 'stop' | 'notice queued'> {
  const { outbox, slack, clock, logger, onError, mayCall, report } = delivery;
  const file = row.payload.file!;
  const lookup: UploadStep = threadTs ? 'conversations.replies' : 'conversations.history';
  let fileId = row.status === 'sending' ? row.fileId : null;
  let step: UploadStep = lookup;
  const later = (ms: number) => new Date(clock().getTime() + ms);
  const giveUp = async (code: string): Promise<'notice queued' | 'next'> => {
    await outbox.markNotSent(row.id, code, null, true);
    const notice = { text: uploadFailureText(code) };
    const key = uploadFailureKey(row.dedupeKey);
    const at = clock();
    const queued = await outbox.post(parent ? replyInThread(parent.dedupeKey, key, row.channel, notice, at) : postMessage(key, row.channel, notice, at));
    logger.error({ outboxId: row.id, error: code }, 'Slack refused a file upload; it will not be retried, and the thread is told once');
    return queued ? 'notice queued' : 'next';
  };
  try {
    if (fileId) {
      // Completed or not? Only a look-up by the file id can tell; completing a shared file again is refused at best.
      const found = await findShare(slack, row, threadTs, fileId, mayCall);
      if (found === NOT_LEADER) return 'stop';
      if (found) {
        await outbox.markSent(row.id, found, clock(), row.payload);
        report.recovered += 1;
        logger.info({ outboxId: row.id, ts: found, fileId }, 'found a file shared before an interruption; not sharing it again');
        return 'next';
      }
    } else {
      if (row.attempts >= MAX_UPLOAD_ATTEMPTS) return await giveUp('upload_attempts_exhausted');
      const bytes = Buffer.from(file.base64, 'base64');
      step = 'files.getUploadURLExternal';
      if (!(await mayCall())) return 'stop';
      const reserved = await slack.files.getUploadURLExternal({ filename: file.filename, length: bytes.length, alt_text: altTextWithinLimit(file.altText) });
      if (!reserved.upload_url || !reserved.file_id) throw new Error('files.getUploadURLExternal answered no upload_url or file_id');
      step = 'upload';
      if (!(await mayCall())) return 'stop';
      await slack.uploadBytes(reserved.upload_url, bytes, file.filename);
      await outbox.markSending(row.id);
      await outbox.markUploading(row.id, reserved.file_id);
      fileId = reserved.file_id;
    }
    step = 'files.completeUploadExternal';
    if (!(await mayCall())) return 'stop';
    await slack.files.completeUploadExternal({
      files: [{ id: fileId, title: file.title }],
      channel_id: row.channel,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...(row.payload.text ? { initial_comment: row.payload.text } : {}),
    });
    step = lookup;
    const ts = await findShare(slack, row, threadTs, fileId, mayCall);
    if (ts === NOT_LEADER) return 'stop';
    if (!ts) {
      // Shared, but not listed yet: looked up again shortly (a completion again would be refused, not shared twice).
      await outbox.defer(row.id, 'shared; not listed yet', later(2_000));
      return 'next';
    }
    await outbox.markSent(row.id, ts, clock(), row.payload);
    report.posted += 1;
    return 'next';
  } catch (caught) {
    report.errors += 1;
    const error = caught as SlackErrorShape;
    const code = error.data?.error ?? error.code ?? (caught instanceof Error ? caught.message : 'unknown_error');
    onError(step, code);
    // Before the file id is stored nothing can be visible in Slack: the row goes back to "pending", uploaded afresh.
    const visible = fileId !== null;
    const wait = async (why: string, until: Date) => (visible ? outbox.defer(row.id, why, until) : outbox.markNotSent(row.id, why, until));
    if (error.code === 'slack_webapi_rate_limited_error') {
      const until = later((error.retryAfter ?? 1) * 1000);
      await wait(`${step}: rate limited`, until);
      report.rateLimitedUntil = until;
      logger.warn({ outboxId: row.id, method: step, retryAfter: error.retryAfter }, 'Slack rate limit on an upload: waiting as Retry-After says');
      return 'stop';
    }
    if (step === lookup) {
      const permanent = (error.code === 'slack_webapi_platform_error' && PERMANENT_ERRORS.has(code)) || code === LOOKUP_INCOMPLETE;
      await outbox.defer(row.id, `look-up failed: ${code}`, later(permanent ? 600_000 : 5_000));
      logger[permanent ? 'error' : 'warn'](
        { outboxId: row.id, error: code, method: step },
        permanent
          ? 'cannot look up whether a file was shared (the bot may lack a *:history scope for this conversation); it is not shared again without a look-up'
          : 'looking up whether a file was shared failed; will look again before completing it',
      );
      return 'next';
    }
    if (error.code === 'slack_webapi_platform_error') {
      if (PERMANENT_UPLOAD_ERRORS.has(code)) return await giveUp(code);
      if (step === 'files.completeUploadExternal' && FILE_GONE_ERRORS.has(code)) {
        // The look-up before this completion found no share: Slack lost the file before sharing it. A new upload.
        await outbox.markUploading(row.id, null);
        await outbox.markNotSent(row.id, code, later(1_000));
        logger.warn({ outboxId: row.id, error: code, fileId }, 'Slack lost an uploaded file before sharing it; uploading it again');
        return 'next';
      }
      await wait(code, later(30_000));
      logger.error({ outboxId: row.id, error: code, method: step }, 'Slack refused an upload step; retrying later');
      return 'next';
    }
    // A transport failure or a refused upload POST: before the file id is stored, start over; after it, the
    // completion may or may not have happened, so the row stays "sending" and is looked up first.
    await wait(code, later(5_000));
    logger.warn({ outboxId: row.id, error: code, method: step }, 'an upload step failed; will check and retry');
    return 'next';
  }
}

const LOOKUP_INCOMPLETE = 'lookup_incomplete';
const NOT_LEADER = Symbol('not the leader');

/** The ts of the row's post, found by the outbox id its metadata carries. */
function findPosted(
  slack: SlackSender,
  row: OutboxMessage,
  threadTs: string | undefined,
  mayCall: () => Promise<boolean>,
): Promise<string | null | typeof NOT_LEADER> {
  const matches = (message: SlackListedMessage) => message.metadata?.event_type === OUTBOX_EVENT_TYPE && message.metadata.event_payload?.outbox_id === row.id;
  return findInConversation(slack, row, threadTs, mayCall, matches);
}

/** The ts of the message sharing the file `fileId` (a share carries no metadata of ours, but its files' ids). */
function findShare(
  slack: SlackSender,
  row: OutboxMessage,
  threadTs: string | undefined,
  fileId: string,
  mayCall: () => Promise<boolean>,
): Promise<string | null | typeof NOT_LEADER> {
  return findInConversation(slack, row, threadTs, mayCall, (message) => message.files?.some((file) => file.id === fileId) ?? false);
}

async function findInConversation(
  slack: SlackSender,
  row: OutboxMessage,
  threadTs: string | undefined,
  mayCall: () => Promise<boolean>,
  matches: (message: SlackListedMessage) => boolean,
): Promise<string | null | typeof NOT_LEADER> {
  const oldest = String(Math.floor(row.createdAt.getTime() / 1000) - 60);
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

/** Slack refuses alt text over 1,000 characters (alt_txt_too_large): a longer one is cut, never the upload refused. */
function altTextWithinLimit(text: string): string {
  return text.length <= 1_000 ? text : `${text.slice(0, 999)}…`;
}
