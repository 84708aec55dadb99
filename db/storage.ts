import type { Storage } from '../core/ports.ts';
import { openDatabase, type DatabaseHandle } from './client.ts';
import { flushDecisions } from './decision-log.ts';
import { createSqliteAdviceStore } from './sqlite/advice.ts';
import { createSqliteBreachStore } from './sqlite/breaches.ts';
import { createSqliteChecklistStore } from './sqlite/checklists.ts';
import { createSqliteDecisionStore } from './sqlite/decisions.ts';
import { createSqliteOutboxStore } from './sqlite/outbox.ts';
import { createSqliteRunbookStore } from './sqlite/runbooks.ts';

/** The storage port over one SQLite file (`:memory:` for tests that need nothing on disk). */
export interface SqliteStorage extends Storage {
  /** The file underneath: tests read rows back through it; the bot itself uses only the stores. */
  readonly handle: DatabaseHandle;
}

export function createSqliteStorage(handle: DatabaseHandle): SqliteStorage {
  const { db } = handle;
  return {
    handle,
    decisions: createSqliteDecisionStore(db),
    outbox: createSqliteOutboxStore(db),
    breaches: createSqliteBreachStore(db),
    runbooks: createSqliteRunbookStore(db),
    checklists: createSqliteChecklistStore(db),
    advice: createSqliteAdviceStore(db),
    isOpen: () => handle.sqlite.open,
    async close() {
      if (!handle.sqlite.open) return;
      flushDecisions(db);
      handle.close();
    },
  };
}

export function openSqliteStorage(file: string): SqliteStorage {
  return createSqliteStorage(openDatabase(file));
}
