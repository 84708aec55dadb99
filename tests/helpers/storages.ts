// Both storages the bot can run on, for the storage-level tests: each such test file runs its cases against a
// SQLite file and a PostgreSQL database (one throwaway cluster per file, a fresh database per case).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { DatabaseTarget, Storage } from '../../core/ports.ts';
import { openPostgres } from '../../db/postgres/client.ts';
import { openStorage, type StorageOptions } from '../../db/storage.ts';
import { startPostgresCluster, type PostgresCluster } from './postgres/index.ts';

export type Dialect = DatabaseTarget['kind'];
export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

export interface StorageFixture {
  /** A new, empty database of this dialect, migrated; closed by `closeAll`. */
  open(options?: StorageOptions): Promise<Storage>;
  /** Where the last `open` put its data (a second replica opens the same target). */
  target(): DatabaseTarget;
  /** Opens the same database once more, as a second replica would (a second SQLite handle on the same file). */
  reopen(options?: StorageOptions): Promise<Storage>;
  /** PostgreSQL only: runs SQL on the last opened database as the superuser (psql's unaligned, tuples-only output). */
  psql(sql: string): Promise<string>;
  /**
   * Runs raw SQL on the last opened database, beside the stores, for both dialects: PostgreSQL through `psql`,
   * SQLite on a handle of its own on the same file (foreign keys on, as the bot's). Answers the rows the way
   * psql does (columns joined by `|`, one row a line), so an assertion reads the same on both.
   */
  sql(statement: string): Promise<string>;
  closeAll(): Promise<void>;
}

let cluster: PostgresCluster | undefined;
let admin: pg.Client | undefined;
let databases = 0;
const TEMPLATE = 'scalebot_template';

/**
 * One cluster per test file, started on first use; stop it in afterAll with `stopPostgres`. Each database is
 * a copy of one migrated template: a fresh CREATE DATABASE and its migrations cost some 400 ms more a case.
 */
async function postgresUrl(): Promise<string> {
  const url = (name: string) => `postgres://postgres@127.0.0.1:${cluster!.port}/${name}`;
  if (!cluster || !admin) {
    cluster ??= await startPostgresCluster();
    await cluster.psql(`CREATE DATABASE ${TEMPLATE}`);
    await (await openPostgres(url(TEMPLATE))).close();
    admin = new pg.Client(url('postgres'));
    await admin.connect();
  }
  databases += 1;
  const name = `scalebot_${process.pid}_${databases}`;
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
  return url(name);
}

export async function stopPostgres(): Promise<void> {
  await admin?.end();
  admin = undefined;
  await cluster?.destroy();
  cluster = undefined;
}

/** The cluster of this test file, if one was started (for psql in assertions). */
export const postgresCluster = (): PostgresCluster | undefined => cluster;

export function storageFixture(dialect: Dialect): StorageFixture {
  const opened: Storage[] = [];
  const dirs: string[] = [];
  let last: DatabaseTarget | undefined;
  const openTarget = async (target: DatabaseTarget, options?: StorageOptions) => {
    const storage = await openStorage(target, options);
    opened.push(storage);
    return storage;
  };
  const psql = async (sql: string) => {
    if (last?.kind !== 'postgres' || !cluster) throw new Error('psql: open a PostgreSQL storage first');
    return cluster.psql(sql, { database: new URL(last.url).pathname.slice(1) });
  };
  return {
    async open(options) {
      if (dialect === 'sqlite') {
        const dir = mkdtempSync(join(tmpdir(), 'scalebot-storage-'));
        dirs.push(dir);
        last = { kind: 'sqlite', file: join(dir, 'scalebot.db') };
      } else {
        last = { kind: 'postgres', url: await postgresUrl() };
      }
      return openTarget(last, options);
    },
    target() {
      if (!last) throw new Error('open() first');
      return last;
    },
    async reopen(options) {
      if (!last) throw new Error('open() first');
      return openTarget(last, options);
    },
    psql,
    async sql(statement) {
      if (!last) throw new Error('open() first');
      if (last.kind === 'postgres') return psql(statement);
      const sqlite = new Database(last.file);
      try {
        sqlite.pragma('foreign_keys = ON');
        sqlite.pragma('busy_timeout = 5000');
        const prepared = sqlite.prepare(statement);
        if (!prepared.reader) {
          prepared.run();
          return '';
        }
        return (prepared.raw().all() as unknown[][]).map((row) => row.map((value) => (value === null ? '' : String(value))).join('|')).join('\n');
      } finally {
        sqlite.close();
      }
    },
    async closeAll() {
      for (const storage of opened.splice(0)) await storage.close();
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
