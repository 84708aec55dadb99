import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * One `serve` process per SQLite file: SQLite is one replica only (its lease cannot fence another process's
 * writes in time, and two watchers would post everything twice). The lock is a second SQLite file beside the
 * database, `FILE.serve-lock`, written once in EXCLUSIVE locking mode: the connection then keeps its
 * exclusive file lock until it closes, and the kernel drops it when the process dies, kill -9 included, so a
 * lock is never left behind. Readers of the database itself (the CLI's status and history) take no part.
 */
export interface ServeLock {
  readonly file: string;
  release(): void;
}

export class ServeLockedError extends Error {
  constructor(
    readonly databaseFile: string,
    readonly pid: number | undefined,
  ) {
    const who = pid === undefined ? 'another scalebot serve process' : `another scalebot serve process (pid ${pid})`;
    super(`${who} is using ${databaseFile}; SQLite is one replica only: stop it, or run replicas on PostgreSQL (SCALEBOT_DB=postgres://…)`);
    this.name = 'ServeLockedError';
  }
}

export const serveLockFile = (databaseFile: string): string => `${databaseFile}.serve-lock`;

/**
 * The connections holding a serve lock. Held here, not only by the storage that asked: a connection that
 * becomes garbage is closed by its finalizer, and the kernel then frees the lock while the process still
 * serves (seen under load, with a caller that kept no reference).
 */
const held = new Set<Database.Database>();

/** Takes the serve lock of `databaseFile`, or throws ServeLockedError naming the process that holds it. */
export function acquireServeLock(databaseFile: string): ServeLock {
  const file = serveLockFile(databaseFile);
  mkdirSync(dirname(file), { recursive: true });
  // No busy wait: a held lock is held for as long as the other process runs.
  const lock = new Database(file, { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    throw new ServeLockedError(databaseFile, holderPid(file));
  }
  try {
    lock.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, started_at TEXT NOT NULL)');
    lock.exec('DELETE FROM holder');
    lock.prepare('INSERT INTO holder (pid, started_at) VALUES (?, ?)').run(process.pid, new Date().toISOString());
    // Committed, so that the next one can read who holds it; the exclusive lock stays (locking_mode).
    lock.exec('COMMIT');
  } catch (error) {
    lock.close();
    throw error;
  }
  held.add(lock);
  return {
    file,
    release: () => {
      held.delete(lock);
      if (lock.open) lock.close();
    },
  };
}

/**
 * The pid the holder wrote. Its exclusive lock keeps every reader out, so a copy of the file is read instead:
 * the holder committed it before it could refuse anyone, and it does not change while the lock is held.
 */
function holderPid(file: string): number | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-serve-lock-'));
  try {
    const copy = join(dir, 'holder.db');
    copyFileSync(file, copy);
    const reader = new Database(copy, { readonly: true, fileMustExist: true });
    try {
      const row = reader.prepare('SELECT pid FROM holder').get() as { pid: number } | undefined;
      return row?.pid;
    } finally {
      reader.close();
    }
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
