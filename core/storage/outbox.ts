import type { MessagePayload, MessageWrite } from './effects.ts';

/** Where a message is on its way to Slack: "sending" is written before the call, so a crash there is looked up before posting again. */
export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed';

/** One message the bot posts on its own, as stored (its payload already scrubbed of secrets). */
export interface OutboxMessage {
  readonly id: number;
  readonly dedupeKey: string;
  readonly channel: string;
  /** A thread reply waits for its parent to be sent. */
  readonly parentId: number | null;
  readonly payload: MessagePayload;
  readonly status: OutboxStatus;
  readonly attempts: number;
  readonly ts: string | null;
  /** The payload changed after the message was sent: chat.update is due. */
  readonly needsUpdate: boolean;
  readonly createdAt: Date;
  readonly sentAt: Date | null;
  readonly notBefore: Date | null;
  readonly lastError: string | null;
  /** A file upload under way: the id files.getUploadURLExternal gave, kept before completing it (its share is looked up by it). */
  readonly fileId: string | null;
}

/**
 * A `now` for listDeliverable that every waiting row is due by: the rows told to wait, whenever they may go.
 * The last moment of year 9999, the latest time both databases read (JavaScript writes later ones as +275760-…).
 */
export const LATEST_TIME: Date = new Date('9999-12-31T23:59:59.999Z');

export type PostWrite = Extract<MessageWrite, { kind: 'post' }>;
export type EditWrite = Extract<MessageWrite, { kind: 'edit' }>;

/**
 * The outbox: what the delivery loop (services/outbox.ts) reads and marks. A feature changes its messages by
 * passing `MessageWrite`s as the Effects of its own state change; only a message that goes with no state change
 * is written here directly (`post`, `edit`).
 */
export interface OutboxStore {
  /** Messages to post or to edit, oldest first; ones told to wait stay out until `now` reaches their notBefore. */
  listDeliverable(now: Date): Promise<OutboxMessage[]>;
  get(id: number): Promise<OutboxMessage | undefined>;
  getByKey(dedupeKey: string): Promise<OutboxMessage | undefined>;
  /**
   * Queues one message that goes with no state change (a status asked for in a thread). False when a message
   * with its key was queued already: of two such calls, exactly one gets true.
   */
  post(message: PostWrite): Promise<boolean>;
  /** Changes what a queued or sent message says, with no state change beside it (a step's streamed output). */
  edit(message: EditWrite): Promise<void>;
  /** Written before the Slack call: if we die now, the next start looks for the message before posting. */
  markSending(id: number): Promise<void>;
  /**
   * Posted (or found posted) as `ts`. `payloadSent` null: found in Slack after an interruption, showing an
   * unknown version of the payload, so it gets one edit to the current one.
   */
  markSent(id: number, ts: string, at: Date, payloadSent: MessagePayload | null): Promise<void>;
  /** Edited to `payloadSent`; another edit is due if the payload changed meanwhile. */
  markUpdated(id: number, payloadSent: MessagePayload): Promise<void>;
  /** Slack said no for sure (not posted): back to pending, optionally not before a time; `failed` for good. */
  markNotSent(id: number, error: string, notBefore: Date | null, failed?: boolean): Promise<void>;
  /**
   * A file's bytes are uploaded as `fileId` and it is about to be completed: the row is "sending" with this id,
   * so after a crash its share is looked up by file id before it is completed again. null: start over.
   */
  markUploading(id: number, fileId: string | null): Promise<void>;
  /** Leaves the status as it is and has the message wait (a rate limit, a failed look-up). */
  defer(id: number, error: string, notBefore: Date | null): Promise<void>;
}
