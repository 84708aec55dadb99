import type { FenceTokenOf } from '../../core/storage/leases.ts';
import type { RunbookStore } from '../../core/storage/runbooks.ts';
import type { PgDb } from './client.ts';

export function createPgRunbookStore(_db: PgDb, _fenceToken: FenceTokenOf | undefined): RunbookStore {
  throw new Error('not yet');
}
