// The runbook and checklist stores of both dialects, for tests/db/runbook-store.test.ts and
// tests/db/checklists.test.ts, until openStorage opens PostgreSQL: then those files switch to storageFixture
// (tests/helpers/storages.ts) and this file goes. SQLite is storageFixture already; PostgreSQL composes the
// stores of db/postgres/ over openPostgres, with the two readers the tests need of the decision log and the
// outbox written here as plain queries.
import { desc, eq, inArray } from 'drizzle-orm';
import type { ChecklistStore } from '../../core/storage/checklists.ts';
import type { DecisionStore } from '../../core/storage/decisions.ts';
import type { OutboxStore } from '../../core/storage/outbox.ts';
import type { RunbookStore } from '../../core/storage/runbooks.ts';
import { createPgChecklistStore } from '../../db/postgres/checklists.ts';
import { openPostgres, type PostgresHandle } from '../../db/postgres/client.ts';
import { createPgRunbookStore } from '../../db/postgres/runbooks.ts';
import { decisionLog, slackOutbox } from '../../db/postgres/schema.ts';
import type { SqliteStorage, StorageOptions } from '../../db/storage.ts';
import { startPostgresCluster, type PostgresCluster } from './postgres/index.ts';
import { storageFixture, type Dialect } from './storages.ts';

/** What these tests use of a Storage. */
export interface StoresUnderTest {
  readonly runbooks: RunbookStore;
  readonly checklists: ChecklistStore;
  readonly decisions: Pick<DecisionStore, 'list'>;
  readonly outbox: Pick<OutboxStore, 'getByKey'>;
}

export interface StoresFixture {
  open(options?: StorageOptions): Promise<StoresUnderTest>;
  /** The same database once more: another replica (a second pool; with SQLite a second handle on the file). */
  reopen(options?: StorageOptions): Promise<StoresUnderTest>;
  /** Runs SQL on the database of the last `open` (PostgreSQL: as the superuser, answering psql's output). */
  sql(statement: string): Promise<string>;
  closeAll(): Promise<void>;
}

let cluster: PostgresCluster | undefined;
let databases = 0;

const TEMPLATE = 'scalebot_stores_template';
let template: Promise<PostgresCluster> | undefined;

/** The cluster, with a database migrated once that each case's database is copied from (faster than migrating each). */
function migratedTemplate(): Promise<PostgresCluster> {
  template ??= (async () => {
    cluster = await startPostgresCluster();
    await cluster.psql(`CREATE DATABASE ${TEMPLATE}`);
    const handle = await openPostgres(`postgres://postgres@127.0.0.1:${cluster.port}/${TEMPLATE}`, { max: 1 });
    await handle.close();
    return cluster;
  })();
  return template;
}

export async function stopInterimPostgres(): Promise<void> {
  template = undefined;
  await cluster?.destroy();
  cluster = undefined;
}

function pgStores(handle: PostgresHandle, options: StorageOptions): StoresUnderTest {
  const { db } = handle;
  return {
    runbooks: createPgRunbookStore(db, options.fenceToken),
    checklists: createPgChecklistStore(db, options.fenceToken),
    decisions: {
      async list(query = {}) {
        return db
          .select()
          .from(decisionLog)
          .where(query.kinds ? inArray(decisionLog.kind, [...query.kinds]) : undefined)
          .orderBy(desc(decisionLog.id))
          .limit(query.limit ?? 1000);
      },
    },
    outbox: {
      async getByKey(key) {
        const [row] = await db.select().from(slackOutbox).where(eq(slackOutbox.dedupeKey, key));
        return row;
      },
    },
  };
}

export function storesFixture(dialect: Dialect): StoresFixture {
  if (dialect === 'sqlite') {
    const fixture = storageFixture('sqlite');
    let last: SqliteStorage | undefined;
    return {
      open: async (options) => (last = (await fixture.open(options)) as SqliteStorage),
      reopen: (options) => fixture.reopen(options),
      async sql(statement) {
        if (!last) throw new Error('open() first');
        last.handle.sqlite.exec(statement);
        return '';
      },
      closeAll: () => fixture.closeAll(),
    };
  }
  const handles: PostgresHandle[] = [];
  let url: string | undefined;
  let database: string | undefined;
  const connect = async (options: StorageOptions = {}) => {
    // Two pools of 6 per case, on a fixture cluster of 30 connections.
    const handle = await openPostgres(url!, { max: 6 });
    handles.push(handle);
    return pgStores(handle, options);
  };
  return {
    async open(options) {
      const started = await migratedTemplate();
      databases += 1;
      database = `scalebot_stores_${process.pid}_${databases}`;
      await started.psql(`CREATE DATABASE ${database} TEMPLATE ${TEMPLATE}`);
      url = `postgres://postgres@127.0.0.1:${started.port}/${database}`;
      return connect(options);
    },
    async reopen(options) {
      if (!url) throw new Error('open() first');
      return connect(options);
    },
    async sql(statement) {
      if (!cluster || !database) throw new Error('open() first');
      return cluster.psql(statement, { database });
    },
    async closeAll() {
      for (const handle of handles.splice(0)) await handle.close();
    },
  };
}
