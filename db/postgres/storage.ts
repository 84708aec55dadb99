import type { Storage } from '../../core/ports.ts';
import type { FenceTokenOf } from '../../core/storage/leases.ts';
import { createPgAdviceStore } from './advice.ts';
import { createPgBreachStore } from './breaches.ts';
import { createPgChecklistStore } from './checklists.ts';
import type { PostgresHandle } from './client.ts';
import { createPgDecisionStore } from './decisions.ts';
import { createPgLeaseStore } from './leases.ts';
import { createPgOutboxStore } from './outbox.ts';
import { createPgRunbookStore } from './runbooks.ts';

/** The storage port over a PostgreSQL pool (db/storage.ts opens it); every write carries `fenceToken` when given. */
export function createPgStorage(handle: PostgresHandle, fenceToken: FenceTokenOf | undefined): Storage {
  const { db } = handle;
  const decisions = createPgDecisionStore(db, fenceToken);
  return {
    decisions,
    outbox: createPgOutboxStore(db, fenceToken),
    breaches: createPgBreachStore(db, fenceToken),
    runbooks: createPgRunbookStore(db, fenceToken),
    checklists: createPgChecklistStore(db, fenceToken),
    advice: createPgAdviceStore(db, fenceToken),
    leases: createPgLeaseStore(db),
    isOpen: () => handle.isOpen(),
    async close() {
      if (!handle.isOpen()) return;
      // The rows still waiting for their commit window are written before the pool goes.
      await decisions.flush();
      await handle.close();
    },
  };
}
