import type { DatabaseTarget, Storage } from '../core/ports.ts';
import type { FenceTokenOf } from '../core/storage/leases.ts';
import { openDatabase, type DatabaseHandle } from './client.ts';
import { flushDecisions } from './decision-log.ts';
import { createSqliteAdviceStore } from './sqlite/advice.ts';
import { createSqliteBreachStore } from './sqlite/breaches.ts';
import { createSqliteChecklistStore } from './sqlite/checklists.ts';
import { createSqliteDecisionStore } from './sqlite/decisions.ts';
import { createSqliteLeaseStore } from './sqlite/leases.ts';
import { createSqliteOutboxStore } from './sqlite/outbox.ts';
import { createSqliteRunbookStore } from './sqlite/runbooks.ts';

/** The storage port over one SQLite file (`:memory:` for tests that need nothing on disk). */
export interface SqliteStorage extends Storage {
  /** The file underneath: tests read rows back through it; the bot itself uses only the stores. */
  readonly handle: DatabaseHandle;
}

export function createSqliteStorage(handle: DatabaseHandle, _options: StorageOptions = {}): SqliteStorage {
  const { db } = handle;
  return {
    handle,
    decisions: createSqliteDecisionStore(db),
    outbox: createSqliteOutboxStore(db),
    breaches: createSqliteBreachStore(db),
    runbooks: createSqliteRunbookStore(db),
    checklists: createSqliteChecklistStore(db),
    advice: createSqliteAdviceStore(db),
    leases: createSqliteLeaseStore(db),
    isOpen: () => handle.sqlite.open,
    async close() {
      if (!handle.sqlite.open) return;
      flushDecisions(db);
      handle.close();
    },
  };
}

export function openSqliteStorage(file: string, options: StorageOptions = {}): SqliteStorage {
  return createSqliteStorage(openDatabase(file), options);
}

export interface StorageOptions {
  /** The fencing token the write being made carries (services/leadership.ts); writes under a stale one are refused. */
  readonly fenceToken?: FenceTokenOf;
}

/**
 * The one place that knows which database is underneath: everything else takes the `Storage` it returns.
 * SQLite for a path, PostgreSQL for a postgres:// URL (core/config/settings.ts has parsed SCALEBOT_DB already).
 */
export async function openStorage(target: DatabaseTarget, options: StorageOptions = {}): Promise<Storage> {
  if (target.kind === 'sqlite') return openSqliteStorage(target.file, options);
  throw new Error('PostgreSQL storage: not yet written');
}
