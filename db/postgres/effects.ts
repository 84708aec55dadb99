import { eq } from 'drizzle-orm';
import type { Effects } from '../../core/storage/effects.ts';
import { decisionRow, scrubbed } from '../scrub.ts';
import type { PgTx } from './client.ts';
import { decisionLog, slackOutbox } from './schema.ts';

/**
 * Writes a transaction's effects inside it (the caller holds the transaction), as db/sqlite/effects.ts does:
 * decision rows, then the messages in order, so that a reply may name a parent posted by the same effects.
 */
export async function applyPgEffects(tx: PgTx, effects: Effects): Promise<void> {
  if (effects.decisions && effects.decisions.length > 0) await tx.insert(decisionLog).values(effects.decisions.map(decisionRow));
  for (const message of effects.messages ?? []) {
    if (message.kind === 'post') {
      const parentId = message.parentKey == null ? null : ((await messageByKey(tx, message.parentKey))?.id ?? null);
      if (message.parentKey != null && parentId === null) throw new Error(`no message with key ${message.parentKey} to reply to`);
      await tx
        .insert(slackOutbox)
        .values({
          dedupeKey: message.key,
          channel: message.channel,
          parentId,
          payload: scrubbed(message.payload),
          status: 'pending',
          createdAt: message.at,
        })
        .onConflictDoNothing({ target: slackOutbox.dedupeKey });
    } else {
      const row = await messageByKey(tx, message.key);
      if (!row) throw new Error(`no message with key ${message.key} to edit`);
      const payload = scrubbed(message.payload);
      // The same comparison as SQLite's setMessagePayload: an unchanged payload is no edit.
      if (JSON.stringify(row.payload) === JSON.stringify(payload)) continue;
      await tx
        .update(slackOutbox)
        .set({ payload, needsUpdate: row.status === 'sent' })
        .where(eq(slackOutbox.id, row.id));
    }
  }
}

export async function messageByKey(tx: PgTx, dedupeKey: string) {
  const [row] = await tx.select().from(slackOutbox).where(eq(slackOutbox.dedupeKey, dedupeKey));
  return row;
}
