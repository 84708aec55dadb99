import type { AdviceStore } from '../../core/storage/advice.ts';
import type { Db } from '../client.ts';

/** The SQLite implementation of the advice store: each method that writes several rows is one transaction. */
export function createSqliteAdviceStore(_db: Db): AdviceStore {
  return {};
}
