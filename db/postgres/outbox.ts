import { and, asc, eq, inArray, isNull, lte, or, sql } from 'drizzle-orm';
import type { FenceTokenOf } from '../../core/storage/leases.ts';
import type { OutboxStore } from '../../core/storage/outbox.ts';
import { inPgTransaction, type PgDb, type PgTx } from './client.ts';
import { applyPgEffects, messageByKey } from './effects.ts';
import { slackOutbox } from './schema.ts';

const byId = async (tx: PgTx | PgDb, id: number) => (await tx.select().from(slackOutbox).where(eq(slackOutbox.id, id)))[0];
const samePayload = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The PostgreSQL outbox store, as db/sqlite/outbox.ts with db/outbox.ts. Every write is a transaction carrying
 * the fencing token, a single mark included: a stalled leader's "sent" must not land over its successor's work.
 */
export function createPgOutboxStore(db: PgDb, fenceToken: FenceTokenOf | undefined): OutboxStore {
  const write = <T>(work: (tx: PgTx) => Promise<T>) => inPgTransaction(db, fenceToken, work);
  return {
    listDeliverable: (now) =>
      db
        .select()
        .from(slackOutbox)
        .where(
          and(
            or(inArray(slackOutbox.status, ['pending', 'sending']), and(eq(slackOutbox.status, 'sent'), eq(slackOutbox.needsUpdate, true))),
            or(isNull(slackOutbox.notBefore), lte(slackOutbox.notBefore, now)),
          ),
        )
        .orderBy(asc(slackOutbox.id)),
    get: (id) => byId(db, id),
    getByKey: async (dedupeKey) => (await db.select().from(slackOutbox).where(eq(slackOutbox.dedupeKey, dedupeKey)))[0],
    // Two replicas posting one key at once: the second one's insert waits on the unique index, then fails to
    // serialize, and its retry finds the first one's row.
    post: (message) =>
      write(async (tx) => {
        if (await messageByKey(tx, message.key)) return false;
        await applyPgEffects(tx, { messages: [message] });
        return true;
      }),
    edit: (message) => write((tx) => applyPgEffects(tx, { messages: [message] })),
    markUploading: (id, fileId) =>
      write(async (tx) => {
        await tx.update(slackOutbox).set({ fileId }).where(eq(slackOutbox.id, id));
      }),
    markSending: (id) =>
      write(async (tx) => {
        await tx
          .update(slackOutbox)
          .set({ status: 'sending', attempts: sql`${slackOutbox.attempts} + 1` })
          .where(eq(slackOutbox.id, id));
      }),
    markSent: (id, ts, at, payloadSent) =>
      write(async (tx) => {
        const row = await byId(tx, id);
        if (!row) return;
        // If the payload changed while the post was in flight (or which one Slack shows is unknown), an edit is due.
        const changed = payloadSent === null || !samePayload(row.payload, payloadSent);
        await tx
          .update(slackOutbox)
          .set({ status: 'sent', ts, sentAt: at, needsUpdate: changed, lastError: null, notBefore: null })
          .where(eq(slackOutbox.id, id));
      }),
    markUpdated: (id, payloadSent) =>
      write(async (tx) => {
        const row = await byId(tx, id);
        if (!row) return;
        await tx
          .update(slackOutbox)
          .set({ needsUpdate: !samePayload(row.payload, payloadSent), lastError: null, notBefore: null })
          .where(eq(slackOutbox.id, id));
      }),
    markNotSent: (id, error, notBefore, failed = false) =>
      write(async (tx) => {
        await tx
          .update(slackOutbox)
          .set({ status: failed ? 'failed' : 'pending', lastError: error, notBefore })
          .where(eq(slackOutbox.id, id));
      }),
    defer: (id, error, notBefore) =>
      write(async (tx) => {
        await tx.update(slackOutbox).set({ lastError: error, notBefore }).where(eq(slackOutbox.id, id));
      }),
  };
}
