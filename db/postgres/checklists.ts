import type { ChecklistStore } from '../../core/storage/checklists.ts';
import type { FenceTokenOf } from '../../core/storage/leases.ts';
import type { PgDb } from './client.ts';

export function createPgChecklistStore(_db: PgDb, _fenceToken: FenceTokenOf | undefined): ChecklistStore {
  throw new Error('not yet');
}
