import type { OutboxStore } from '../../core/storage/outbox.ts';
import { inTransaction, type Db } from '../client.ts';
import { deferMessage, getMessage, getMessageByKey, listDeliverable, markNotSent, markSending, markSent, markUpdated, markUploading } from '../outbox.ts';
import { applyEffects } from './effects.ts';

/**
 * The SQLite implementation of the outbox store: each method that writes several rows is one transaction, and
 * every write, a single statement included, goes through one so that a stalled leader's marks are fenced.
 */
export function createSqliteOutboxStore(db: Db): OutboxStore {
  return {
    listDeliverable: async (now) => listDeliverable(db, now),
    get: async (id) => getMessage(db, id),
    getByKey: async (dedupeKey) => getMessageByKey(db, dedupeKey),
    post: async (message) =>
      inTransaction(db, () => {
        if (getMessageByKey(db, message.key)) return false;
        applyEffects(db, { messages: [message] });
        return true;
      }),
    edit: async (message) => inTransaction(db, () => applyEffects(db, { messages: [message] })),
    markSending: async (id) => inTransaction(db, () => markSending(db, id)),
    markSent: async (id, ts, at, payloadSent) => inTransaction(db, () => markSent(db, id, ts, at, payloadSent)),
    markUpdated: async (id, payloadSent) => inTransaction(db, () => markUpdated(db, id, payloadSent)),
    markNotSent: async (id, error, notBefore, failed) => inTransaction(db, () => markNotSent(db, id, error, notBefore, failed)),
    markUploading: async (id, fileId) => inTransaction(db, () => markUploading(db, id, fileId)),
    defer: async (id, error, notBefore) => inTransaction(db, () => deferMessage(db, id, error, notBefore)),
  };
}
