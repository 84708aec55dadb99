import { eq } from 'drizzle-orm';
import type { NodePgQueryResultHKT } from 'drizzle-orm/node-postgres';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import type { PgDb } from './client.ts';
import type * as schema from './schema.ts';
import { slackOutbox } from './schema.ts';

/** Either the pool or a transaction: what a query of the stores runs on. */
export type PgQueryable = PgDatabase<NodePgQueryResultHKT, typeof schema>;

/**
 * Reads several rows as one consistent picture (a run, its history and its message) without blocking anyone
 * and without the fencing check: a follower reads too. Read only, so it never has to be retried.
 */
export async function inPgSnapshot<T>(db: PgDb, work: (tx: PgQueryable) => Promise<T>): Promise<T> {
  return db.transaction(work, { isolationLevel: 'repeatable read', accessMode: 'read only' });
}

export async function messageById(q: PgQueryable, id: number) {
  const [row] = await q.select().from(slackOutbox).where(eq(slackOutbox.id, id));
  return row;
}
