import type { ChecklistStore } from '../../core/storage/checklists.ts';
import type { Db } from '../client.ts';

/** The SQLite implementation of the checklists store: each method that writes several rows is one transaction. */
export function createSqliteChecklistStore(_db: Db): ChecklistStore {
  return {};
}
