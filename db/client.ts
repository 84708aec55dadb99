import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { FencedError, type FenceTokenOf } from '../core/storage/leases.ts';
import * as schema from './schema.ts';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export interface DatabaseHandle {
  readonly db: Db;
  readonly sqlite: Database.Database;
  close(): void;
}

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * Opens (creating if needed) the SQLite file and brings its schema up to date. The pragmas live here and
 * nowhere else: WAL so readers never block the writer, synchronous=FULL so a decision that was logged
 * survives a power cut, and a busy timeout so a second process waits instead of failing.
 */
export function openDatabase(file: string): DatabaseHandle {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS_DIR });
  return { db, sqlite, close: () => sqlite.close() };
}

/**
 * The fencing token each database's writes carry (db/storage.ts registers it with the storage). Kept by
 * database rather than passed to every call so that every store's transactions are fenced, those written
 * before the lease existed included.
 */
const fences = new WeakMap<Db, FenceTokenOf>();

export function setWriteFence(db: Db, fenceToken: FenceTokenOf | undefined): void {
  if (fenceToken) fences.set(db, fenceToken);
  else fences.delete(db);
}

const leaseStatements = new WeakMap<Db, Database.Statement>();

/** Whether `token` is the live lease's, by this machine's clock (the SQLite lease's clock, db/sqlite/leases.ts). */
export function fenceHolds(db: Db, token: number): boolean {
  let statement = leaseStatements.get(db);
  if (!statement) {
    statement = db.$client.prepare("SELECT token, expires_at AS expiresAt FROM leader_lease WHERE name = 'leader'");
    leaseStatements.set(db, statement);
  }
  const row = statement.get() as { token: number; expiresAt: number } | undefined;
  return row !== undefined && row.token === token && row.expiresAt > Date.now();
}

/**
 * Runs `work` in one SQLite transaction: a state change and the message that announces it land together.
 * When the write carries a fencing token that is no longer the live lease's, nothing is written (FencedError).
 */
export function inTransaction<T>(db: Db, work: () => T): T {
  const token = fences.get(db)?.();
  return db.$client.transaction(() => {
    if (token !== undefined && !fenceHolds(db, token)) throw new FencedError(token);
    return work();
  })();
}

/** A transaction no fencing token applies to: the lease's own writes, which are how leadership moves. */
export function inUnfencedTransaction<T>(db: Db, work: () => T): T {
  return db.$client.transaction(work)();
}
