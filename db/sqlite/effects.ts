import type { Effects } from '../../core/storage/effects.ts';
import type { Db } from '../client.ts';
import { recordDecision } from '../decision-log.ts';
import { enqueueMessage, getMessageByKey, setMessagePayload } from '../outbox.ts';

/**
 * Writes a transaction's effects inside it (the caller holds the transaction): decision rows, then the
 * messages in order, so that a reply may name a parent posted by the same effects.
 */
export function applyEffects(db: Db, effects: Effects): void {
  for (const decision of effects.decisions ?? []) recordDecision(db, decision);
  for (const message of effects.messages ?? []) {
    if (message.kind === 'post') {
      const parentId = message.parentKey == null ? null : (getMessageByKey(db, message.parentKey)?.id ?? null);
      if (message.parentKey != null && parentId === null) throw new Error(`no message with key ${message.parentKey} to reply to`);
      enqueueMessage(db, { dedupeKey: message.key, channel: message.channel, parentId, payload: message.payload, at: message.at });
    } else {
      const row = getMessageByKey(db, message.key);
      if (!row) throw new Error(`no message with key ${message.key} to edit`);
      setMessagePayload(db, row.id, message.payload);
    }
  }
}
