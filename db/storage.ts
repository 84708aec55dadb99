import type { DatabaseTarget, Storage } from '../core/ports.ts';
import type { FenceTokenOf } from '../core/storage/leases.ts';
import { openDatabase, setWriteFence, type DatabaseHandle } from './client.ts';
import { flushDecisions } from './decision-log.ts';
import { createSqliteAdviceStore } from './sqlite/advice.ts';
import { createSqliteBreachStore } from './sqlite/breaches.ts';
import { createSqliteChecklistStore } from './sqlite/checklists.ts';
import { createSqliteDecisionStore } from './sqlite/decisions.ts';
import { createSqliteOutboxStore } from './sqlite/outbox.ts';
import { createSqliteRunbookStore } from './sqlite/runbooks.ts';
import { acquireServeLock, type ServeLock } from './sqlite/serve-lock.ts';
import { createSqliteLeaseStore, expireAbandonedLease } from './sqlite/leases.ts';

export { ServeLockedError } from './sqlite/serve-lock.ts';

/** The storage port over one SQLite file (`:memory:` for tests that need nothing on disk). */
export interface SqliteStorage extends Storage {
  /** The file underneath: tests read rows back through it; the bot itself uses only the stores. */
  readonly handle: DatabaseHandle;
}

export interface StorageOptions {
  /** The fencing token the write being made carries (services/leadership.ts); writes under a stale one are refused. */
  readonly fenceToken?: FenceTokenOf;
  /**
   * Opened by `serve`: with SQLite, this process takes the file's serve lock and a second `serve` on it is
   * refused (ServeLockedError). Readers (the CLI's status and history) leave it out and open the file anyway.
   */
  readonly serving?: boolean;
}

/** The stores over an open SQLite handle; `serveLock`, when given, is released once the handle is closed. */
export function createSqliteStorage(handle: DatabaseHandle, options: StorageOptions = {}, serveLock?: ServeLock): SqliteStorage {
  const { db } = handle;
  // The runbook and checklist stores' transactions are fenced too: the token is kept with the database (db/client.ts).
  setWriteFence(db, options.fenceToken);
  return {
    handle,
    decisions: createSqliteDecisionStore(db, options.fenceToken),
    outbox: createSqliteOutboxStore(db),
    breaches: createSqliteBreachStore(db),
    runbooks: createSqliteRunbookStore(db),
    checklists: createSqliteChecklistStore(db),
    advice: createSqliteAdviceStore(db),
    leases: createSqliteLeaseStore(db),
    isOpen: () => handle.sqlite.open,
    async close() {
      if (handle.sqlite.open) {
        flushDecisions(db);
        handle.close();
      }
      serveLock?.release();
    },
  };
}

export function openSqliteStorage(file: string, options: StorageOptions = {}): SqliteStorage {
  // Refused before the file is even migrated: the process holding it may be mid-write.
  const serveLock = options.serving && file !== ':memory:' ? acquireServeLock(file) : undefined;
  try {
    const handle = openDatabase(file);
    if (serveLock) expireAbandonedLease(handle.db);
    return createSqliteStorage(handle, options, serveLock);
  } catch (error) {
    serveLock?.release();
    throw error;
  }
}

/**
 * The one place that knows which database is underneath: everything else takes the `Storage` it returns.
 * SQLite for a path, PostgreSQL for a postgres:// URL (core/config/database-target.ts has parsed SCALEBOT_DB already).
 */
export async function openStorage(target: DatabaseTarget, options: StorageOptions = {}): Promise<Storage> {
  if (target.kind === 'sqlite') return openSqliteStorage(target.file, options);
  // Loaded only for PostgreSQL: a bot on SQLite does not carry pg and drizzle's pg dialect (bench/dependency-costs.ts).
  const [{ openPostgres }, { createPgStorage }] = await Promise.all([import('./postgres/client.ts'), import('./postgres/storage.ts')]);
  return createPgStorage(await openPostgres(target.url), options.fenceToken);
}
