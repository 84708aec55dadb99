import type { RunbookStore } from '../../core/storage/runbooks.ts';
import type { Db } from '../client.ts';

/** The SQLite implementation of the runbooks store: each method that writes several rows is one transaction. */
export function createSqliteRunbookStore(_db: Db): RunbookStore {
  return {};
}
