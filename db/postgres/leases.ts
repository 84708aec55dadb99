import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { LeaseState, LeaseStore } from '../../core/storage/leases.ts';
import { inPgTransaction, type PgDb, type PgTx } from './client.ts';

const NAME = 'leader';
const DEPLOYMENT = 'deployment';

type LeaseRow = {
  holder: string | null;
  token: number | string;
  ttl_left_ms: number | string;
};

const state = (row: LeaseRow | undefined): LeaseState => {
  if (!row) return { holder: null, token: 0, ttlLeftMs: 0 };
  const ttlLeftMs = Math.max(0, Number(row.ttl_left_ms));
  return { holder: ttlLeftMs > 0 ? row.holder : null, token: Number(row.token), ttlLeftMs };
};

/** Milliseconds left by the database's clock, whole, never negative. */
const TTL_LEFT = sql.raw(`greatest(0, floor(extract(epoch from (expires_at - now())) * 1000))::bigint AS ttl_left_ms`);

async function read(tx: PgTx | PgDb): Promise<LeaseState> {
  const result = await tx.execute<LeaseRow>(sql`SELECT holder, token, ${TTL_LEFT} FROM leader_lease WHERE name = ${NAME}`);
  return state(result.rows[0]);
}

/**
 * The lease in PostgreSQL: one row, compared with the database's `now()`, so that replicas whose clocks
 * disagree still agree on who leads. Its writes are never fenced (inPgTransaction without a token): they are
 * how leadership moves. The upsert settles two replicas racing for the very first row: one inserts, the
 * other's insert waits on the primary key, fails to serialize and, run again, finds the lease taken.
 */
export function createPgLeaseStore(db: PgDb): LeaseStore {
  return {
    current: () => read(db),
    deployment: () =>
      inPgTransaction(db, undefined, async (tx) => {
        await tx.execute(sql`
          INSERT INTO leader_lease (name, holder, token, acquired_at, expires_at)
          VALUES (${DEPLOYMENT}, ${randomBytes(8).toString('hex')}, 0, now(), now())
          ON CONFLICT (name) DO NOTHING`);
        const result = await tx.execute<{ holder: string }>(sql`SELECT holder FROM leader_lease WHERE name = ${DEPLOYMENT}`);
        return result.rows[0]!.holder;
      }),
    acquire: (holder, ttlMs) =>
      inPgTransaction(db, undefined, async (tx) => {
        const expiresAt = sql`now() + ${Math.max(0, Math.round(ttlMs))} * interval '1 millisecond'`;
        // Renewal: the holder's own live lease keeps its token. Anything else that may be taken (free, run
        // out, or this holder's own lapsed lease) is a new tenure with the next token.
        const renewal = sql`leader_lease.holder = ${holder} AND leader_lease.expires_at > now()`;
        const taken = await tx.execute<LeaseRow>(sql`
          INSERT INTO leader_lease (name, holder, token, acquired_at, expires_at)
          VALUES (${NAME}, ${holder}, 1, now(), ${expiresAt})
          ON CONFLICT (name) DO UPDATE SET
            holder = excluded.holder,
            token = CASE WHEN ${renewal} THEN leader_lease.token ELSE leader_lease.token + 1 END,
            acquired_at = CASE WHEN ${renewal} THEN leader_lease.acquired_at ELSE now() END,
            expires_at = excluded.expires_at
          WHERE leader_lease.holder IS NULL OR leader_lease.expires_at <= now() OR leader_lease.holder = ${holder}
          RETURNING holder, token, ${TTL_LEFT}`);
        // Another holder's live lease: left alone, and named in the answer.
        return taken.rows[0] ? state(taken.rows[0]) : read(tx);
      }),
    release: async (holder, token) => {
      await inPgTransaction(db, undefined, (tx) =>
        tx.execute(sql`UPDATE leader_lease SET holder = NULL, expires_at = to_timestamp(0) WHERE name = ${NAME} AND holder = ${holder} AND token = ${token}`),
      );
    },
  };
}
