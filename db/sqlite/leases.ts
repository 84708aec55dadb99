import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { LeaseState, LeaseStore } from '../../core/storage/leases.ts';
import { inUnfencedTransaction, type Db } from '../client.ts';
import { leaderLease } from '../schema.ts';

const NAME = 'leader';
const DEPLOYMENT = 'deployment';

/**
 * The SQLite implementation of the lease. One `serve` process at a time uses a SQLite file (the second is
 * refused), so this replica always leads; the lease still turns over on a stall, which fences the stalled
 * jobs' writes exactly as on PostgreSQL. The clock is this machine's: there is no other.
 */
export function createSqliteLeaseStore(db: Db, now: () => number = Date.now): LeaseStore {
  const read = (): LeaseState => {
    const row = db.select().from(leaderLease).where(eq(leaderLease.name, NAME)).get();
    if (!row) return { holder: null, token: 0, ttlLeftMs: 0 };
    const ttlLeftMs = Math.max(0, row.expiresAt.getTime() - now());
    return { holder: ttlLeftMs > 0 ? row.holder : null, token: row.token, ttlLeftMs };
  };
  return {
    current: async () => read(),
    deployment: async () =>
      inUnfencedTransaction(db, () => {
        const at = new Date(now());
        db.insert(leaderLease)
          .values({ name: DEPLOYMENT, holder: randomBytes(8).toString('hex'), token: 0, acquiredAt: at, expiresAt: at })
          .onConflictDoNothing({ target: leaderLease.name })
          .run();
        return db.select().from(leaderLease).where(eq(leaderLease.name, DEPLOYMENT)).get()!.holder!;
      }),
    acquire: async (holder, ttlMs) =>
      // Never fenced: these writes are how leadership moves.
      inUnfencedTransaction(db, () => {
        const at = now();
        const row = db.select().from(leaderLease).where(eq(leaderLease.name, NAME)).get();
        const live = row && row.holder !== null && row.expiresAt.getTime() > at;
        if (live && row.holder !== holder) return read();
        const expiresAt = new Date(at + ttlMs);
        if (live) {
          db.update(leaderLease).set({ expiresAt }).where(eq(leaderLease.name, NAME)).run();
        } else {
          // Free, run out, or this holder's own lease that lapsed: a new tenure, a new token.
          const token = (row?.token ?? 0) + 1;
          db.insert(leaderLease)
            .values({ name: NAME, holder, token, acquiredAt: new Date(at), expiresAt })
            .onConflictDoUpdate({ target: leaderLease.name, set: { holder, token, acquiredAt: new Date(at), expiresAt } })
            .run();
        }
        return read();
      }),
    release: async (holder, token) => {
      db.update(leaderLease)
        .set({ holder: null, expiresAt: new Date(0) })
        .where(and(eq(leaderLease.name, NAME), eq(leaderLease.holder, holder), eq(leaderLease.token, token)))
        .run();
    },
  };
}

/**
 * Ends the lease of a `serve` process that is gone. Only the holder of the serve lock calls this: the kernel
 * released that lock, so whoever held the lease before is dead (kill -9, a power cut) and waiting its lease
 * out would only delay the recovery of its runs. The token stays, so the next tenure gets a higher one.
 */
export function expireAbandonedLease(db: Db, now: () => number = Date.now): void {
  inUnfencedTransaction(db, () => {
    db.update(leaderLease)
      .set({ holder: null, expiresAt: new Date(now()) })
      .where(eq(leaderLease.name, NAME))
      .run();
  });
}
