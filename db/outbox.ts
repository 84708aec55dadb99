import { and, asc, eq, inArray, isNull, lte, or } from 'drizzle-orm';
import type { MessagePayload } from '../core/storage/effects.ts';
import type { Db } from './client.ts';
import { slackOutbox } from './schema.ts';
import { scrubbed } from './scrub.ts';

export type OutboxRow = typeof slackOutbox.$inferSelect;
export type OutboxPayload = MessagePayload;

export interface EnqueueInput {
  dedupeKey: string;
  channel: string;
  parentId?: number | null;
  payload: OutboxPayload;
  at: Date;
}

/** Queues a message; a second call with the same dedupe key returns the first row and queues nothing. */
export function enqueueMessage(db: Db, input: EnqueueInput): OutboxRow {
  db.insert(slackOutbox)
    .values({
      dedupeKey: input.dedupeKey,
      channel: input.channel,
      parentId: input.parentId ?? null,
      payload: scrubbed(input.payload),
      status: 'pending',
      createdAt: input.at,
    })
    .onConflictDoNothing({ target: slackOutbox.dedupeKey })
    .run();
  return db.select().from(slackOutbox).where(eq(slackOutbox.dedupeKey, input.dedupeKey)).get()!;
}

/** Replaces what a message should say; a message already in Slack is marked for chat.update. */
export function setMessagePayload(db: Db, id: number, given: OutboxPayload): void {
  const payload = scrubbed(given);
  const row = getMessage(db, id);
  if (!row || JSON.stringify(row.payload) === JSON.stringify(payload)) return;
  db.update(slackOutbox)
    .set({ payload, needsUpdate: row.status === 'sent' })
    .where(eq(slackOutbox.id, id))
    .run();
}

export function getMessageByKey(db: Db, dedupeKey: string): OutboxRow | undefined {
  return db.select().from(slackOutbox).where(eq(slackOutbox.dedupeKey, dedupeKey)).get();
}

export function getMessage(db: Db, id: number): OutboxRow | undefined {
  return db.select().from(slackOutbox).where(eq(slackOutbox.id, id)).get();
}

/** Messages to post or to edit, oldest first; ones told to wait (rate limit) stay out until then. */
export function listDeliverable(db: Db, now: Date): OutboxRow[] {
  return db
    .select()
    .from(slackOutbox)
    .where(
      and(
        or(inArray(slackOutbox.status, ['pending', 'sending']), and(eq(slackOutbox.status, 'sent'), eq(slackOutbox.needsUpdate, true))),
        or(isNull(slackOutbox.notBefore), lte(slackOutbox.notBefore, now)),
      ),
    )
    .orderBy(asc(slackOutbox.id))
    .all();
}

/** Written before the Slack call: if we die now, the next start looks for the message before posting. */
export function markSending(db: Db, id: number): void {
  const row = getMessage(db, id)!;
  db.update(slackOutbox)
    .set({ status: 'sending', attempts: row.attempts + 1 })
    .where(eq(slackOutbox.id, id))
    .run();
}

/**
 * `payloadSent` null: the message was found in Slack after an interruption, and which version of the payload it
 * shows is unknown (the text may have changed while the answer was lost): it gets one edit to the current one.
 */
export function markSent(db: Db, id: number, ts: string, at: Date, payloadSent: OutboxPayload | null): void {
  const row = getMessage(db, id)!;
  // If the payload changed while the post was in flight, the message still needs an edit.
  const changed = payloadSent === null || JSON.stringify(row.payload) !== JSON.stringify(payloadSent);
  db.update(slackOutbox).set({ status: 'sent', ts, sentAt: at, needsUpdate: changed, lastError: null, notBefore: null }).where(eq(slackOutbox.id, id)).run();
}

export function markUpdated(db: Db, id: number, payloadSent: OutboxPayload): void {
  const row = getMessage(db, id)!;
  const changed = JSON.stringify(row.payload) !== JSON.stringify(payloadSent);
  db.update(slackOutbox).set({ needsUpdate: changed, lastError: null, notBefore: null }).where(eq(slackOutbox.id, id)).run();
}

/** Slack said no for sure (not posted): back to pending, optionally not before a time (Retry-After). */
export function markNotSent(db: Db, id: number, error: string, notBefore: Date | null, failed = false): void {
  db.update(slackOutbox)
    .set({ status: failed ? 'failed' : 'pending', lastError: error, notBefore })
    .where(eq(slackOutbox.id, id))
    .run();
}

/** A file uploaded as `fileId`, about to be completed ("sending"); null forgets it, so that the upload starts over. */
export function markUploading(db: Db, id: number, fileId: string | null): void {
  db.update(slackOutbox).set({ fileId }).where(eq(slackOutbox.id, id)).run();
}

export function deferMessage(db: Db, id: number, error: string, notBefore: Date | null): void {
  db.update(slackOutbox).set({ lastError: error, notBefore }).where(eq(slackOutbox.id, id)).run();
}
