import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { FencedError, type FenceTokenOf } from '../../core/storage/leases.ts';
import * as schema from './schema.ts';

export type PgDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };
/** A transaction's handle: the same query builder, bound to the transaction's connection. */
export type PgTx = Parameters<Parameters<PgDb['transaction']>[0]>[0];

export interface PostgresHandle {
  readonly db: PgDb;
  readonly pool: pg.Pool;
  /** False once closed, or while no connection can be made (the readiness check). */
  isOpen(): boolean;
  close(): Promise<void>;
}

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
/** Two replicas starting at once must not both apply a migration: the first holds this advisory lock. */
const MIGRATION_LOCK = 5_318_008;

export interface OpenPostgresOptions {
  /** Connections in the pool (default 10). */
  readonly max?: number;
  /** How long a query may take before the client gives up (default 10 s). */
  readonly statementTimeoutMs?: number;
}

/**
 * Connects to PostgreSQL (a `postgres://` or `postgresql://` URL) and brings the schema up to date, under an
 * advisory lock so that replicas starting together apply each migration once.
 */
export async function openPostgres(url: string, { max = 10, statementTimeoutMs = 10_000 }: OpenPostgresOptions = {}): Promise<PostgresHandle> {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 5_000,
    statement_timeout: statementTimeoutMs,
    // A connection the server or the network dropped is noticed by the keepalive, not by a hung query.
    keepAlive: true,
    application_name: 'scalebot',
  });
  // An idle client that loses its connection emits 'error' on the pool: without a listener that is a crash.
  pool.on('error', () => {});
  let open = true;
  const db = drizzle(pool, { schema }) as PgDb;
  try {
    const client = await pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await migrate(drizzle(client, { schema }), { migrationsFolder: MIGRATIONS_DIR });
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  return {
    db,
    pool,
    isOpen: () => open,
    async close() {
      if (!open) return;
      open = false;
      await pool.end();
    },
  };
}

/** PostgreSQL's codes for "run it again": a serialization failure and a deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 20;

/**
 * Runs `work` as one SERIALIZABLE transaction, the isolation that makes two replicas' concurrent writes behave
 * as SQLite's one writer does: a conflict is rolled back and `work` runs again from the start (it is pure but
 * for its queries, so running it again is safe). With a fencing token, the transaction first checks that the
 * token is still the live lease's, and refuses the whole write (FencedError) if a newer leader took over.
 */
export async function inPgTransaction<T>(db: PgDb, fenceToken: FenceTokenOf | undefined, work: (tx: PgTx) => Promise<T>): Promise<T> {
  const token = fenceToken?.();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await db.transaction(
        async (tx) => {
          if (token !== undefined) await checkFence(tx, token);
          return work(tx);
        },
        { isolationLevel: 'serializable' },
      );
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !RETRYABLE.has(pgCode(error) ?? '')) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
}

/**
 * The live lease's fencing token, by the database's clock; undefined when no lease is live. FOR SHARE: a renewal
 * or takeover of the lease waits for the transaction that read it, and that transaction for it.
 */
export async function liveLeaseToken(tx: PgTx): Promise<number | undefined> {
  const result = await tx.execute<{ token: number; live: boolean }>(
    sql`SELECT token, expires_at > now() AS live FROM leader_lease WHERE name = 'leader' FOR SHARE`,
  );
  const row = result.rows[0];
  return row?.live ? Number(row.token) : undefined;
}

async function checkFence(tx: PgTx, token: number): Promise<void> {
  if ((await liveLeaseToken(tx)) !== token) throw new FencedError(token);
}

/** The SQLSTATE of a driver error (pg sets `code`; drizzle may wrap it in `cause`). */
export function pgCode(error: unknown): string | undefined {
  for (let current = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; current && depth < 5; depth += 1) {
    if (typeof current.code === 'string' && /^[0-9A-Z]{5}$/.test(current.code)) return current.code;
    current = current.cause as typeof current;
  }
  return undefined;
}
