import type { OutboxStore } from '../../core/storage/outbox.ts';
import type { Db } from '../client.ts';

/** The SQLite implementation of the outbox store: each method that writes several rows is one transaction. */
export function createSqliteOutboxStore(_db: Db): OutboxStore {
  return {};
}
