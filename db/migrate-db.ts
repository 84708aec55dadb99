import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { asc, getTableColumns, getTableName, gt, type Column } from 'drizzle-orm';
import { drizzle as drizzlePg, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { displayUrl, redactSecrets, urlSecrets } from '../core/redact.ts';
import { openPostgres, pgCode, type PostgresHandle } from './postgres/client.ts';
import * as pgSchema from './postgres/schema.ts';
import * as sqliteSchema from './schema.ts';

// `scalebot migrate-db`: copies a SQLite database into an empty PostgreSQL one, in one transaction, keeping
// every id, and checks every row of every table value by value before it commits. The copy goes through the
// two drizzle schemas (typed rows); the check reads both databases raw and compares normalised values, so a
// mistake in either mapping shows as a difference instead of hiding itself.

/** The tables copied, each as the two schemas have it, parents before children (checklist_events refers to checklist_runs). */
const TABLES: ReadonlyArray<{ readonly sqlite: SQLiteTable; readonly pg: PgTable }> = [
  { sqlite: sqliteSchema.decisionLog, pg: pgSchema.decisionLog },
  { sqlite: sqliteSchema.breaches, pg: pgSchema.breaches },
  { sqlite: sqliteSchema.slackOutbox, pg: pgSchema.slackOutbox },
  { sqlite: sqliteSchema.blindPeriods, pg: pgSchema.blindPeriods },
  { sqlite: sqliteSchema.runbookRuns, pg: pgSchema.runbookRuns },
  { sqlite: sqliteSchema.runApprovals, pg: pgSchema.runApprovals },
  { sqlite: sqliteSchema.runSteps, pg: pgSchema.runSteps },
  { sqlite: sqliteSchema.hostLocks, pg: pgSchema.hostLocks },
  { sqlite: sqliteSchema.checklistRuns, pg: pgSchema.checklistRuns },
  { sqlite: sqliteSchema.checklistEvents, pg: pgSchema.checklistEvents },
];

/** The names of the tables copied: every table of the schema but leader_lease. */
export const MIGRATED_TABLES: readonly string[] = TABLES.map((table) => getTableConfig(table.pg).name);

/**
 * leader_lease is not copied as it is: nobody leads the new database yet. Only its fencing token goes over,
 * as a lease that has already run out, so the first PostgreSQL leader's token is higher than any the SQLite
 * bot gave the hosts: their fence (integrations/ssh.ts) would otherwise refuse every step of the new leader.
 */
const LEASE_NAME = 'leader';

/** A refusal people can act on: nothing was written. */
export class MigrationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationRefused';
  }
}

/** A row that differs between the two databases after the copy. */
export interface RowMismatch {
  readonly table: string;
  /** The row's key: its id, or its key columns ("run_id=3, approver=U1"). */
  readonly key: string;
  readonly problem: 'missing in PostgreSQL' | 'only in PostgreSQL' | 'differs';
  /** With "differs": the columns whose values differ, each as SQLite and PostgreSQL have it. */
  readonly columns?: ReadonlyArray<{ column: string; sqlite: unknown; postgres: unknown }>;
}

export interface TableCount {
  readonly table: string;
  readonly rows: number;
}

export interface VerifyReport {
  readonly tables: readonly TableCount[];
  /** Every mismatch found, at most `maxMismatches` listed (the count is exact). */
  readonly mismatches: readonly RowMismatch[];
  readonly mismatchCount: number;
}

export interface MigrateOptions {
  /** The SQLite file to copy from; opened read-only. */
  readonly from: string;
  /** The PostgreSQL URL to copy into; its migrations are applied first. */
  readonly to: string;
  /** Progress lines for people (the CLI prints them). */
  readonly progress?: (line: string) => void;
}

export interface MigrateReport extends VerifyReport {
  /** The fencing token carried over (0 when the SQLite bot never led). */
  readonly fenceToken: number;
}

const PAGE = 1000;

/**
 * Copies `from` into `to` and verifies it; commits only when every row matches. Refuses (MigrationRefused,
 * nothing written) when the file is missing or not a scalebot database of this version, or the PostgreSQL
 * tables already hold rows. A verification that fails rolls back and answers with the mismatches.
 */
export async function migrateSqliteToPostgres({ from, to, progress = () => {} }: MigrateOptions): Promise<MigrateReport> {
  const sqlite = openSqliteReadOnly(from);
  let pg: PostgresHandle | undefined;
  try {
    checkSqliteSchema(sqlite, from);
    checkNoBotRunning(sqlite, from);
    pg = await openTarget(to);
    const client = await pg.pool.connect();
    try {
      // The copy is one transaction (not SERIALIZABLE: the tables are locked against every other writer instead).
      await client.query('BEGIN');
      try {
        await client.query(`LOCK TABLE ${[...MIGRATED_TABLES, 'leader_lease'].map(quoteIdent).join(', ')} IN SHARE ROW EXCLUSIVE MODE`);
        const occupied: string[] = [];
        for (const table of [...MIGRATED_TABLES, 'leader_lease']) {
          const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent(table)}`);
          if (Number(rows[0]!.n) > 0) occupied.push(`${table} (${rows[0]!.n} rows)`);
        }
        if (occupied.length > 0) {
          throw new MigrationRefused(
            `the PostgreSQL database already holds rows: ${occupied.join(', ')}. Nothing was copied. ` +
              'migrate-db copies into an empty database only: point --to at a new database (CREATE DATABASE …), ' +
              'or drop this one if its rows are not needed.',
          );
        }
        const target = drizzlePg(client, { schema: pgSchema });
        const source = drizzleSqlite(sqlite, { schema: sqliteSchema });
        for (const table of TABLES) {
          const copied = await copyTable(source, target, table.sqlite, table.pg);
          await resetIdentity(client, table.pg);
          progress(`copied ${getTableConfig(table.pg).name}: ${copied} rows`);
        }
        const fenceToken = carriedToken(sqlite);
        if (fenceToken > 0) {
          await client.query(
            'INSERT INTO leader_lease (name, holder, token, acquired_at, expires_at) ' +
              "VALUES ($1, NULL, $2, now() - interval '1 second', now() - interval '1 second')",
            [LEASE_NAME, fenceToken],
          );
        }
        // The deployment goes over too: the hosts keep this deployment's tokens under its id (LeaseStore.deployment).
        const deployment = sqlite.prepare("SELECT holder FROM leader_lease WHERE name = 'deployment'").get() as { holder: string | null } | undefined;
        if (deployment?.holder) {
          await client.query("INSERT INTO leader_lease (name, holder, token, acquired_at, expires_at) VALUES ('deployment', $1, 0, now(), now())", [
            deployment.holder,
          ]);
        }
        const report = await verifyCopy(sqlite, client);
        if (report.mismatchCount > 0) {
          await client.query('ROLLBACK');
          return { ...report, fenceToken };
        }
        await client.query('COMMIT');
        return { ...report, fenceToken };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    } finally {
      client.release();
    }
  } finally {
    sqlite.close();
    await pg?.close();
  }
}

export function openSqliteReadOnly(file: string): Database.Database {
  if (!existsSync(file)) throw new MigrationRefused(`no SQLite database at ${file}: give --from the bot's SQLite file (SCALEBOT_DB when it ran on SQLite)`);
  try {
    const sqlite = new Database(file, { readonly: true, fileMustExist: true });
    // A file that is not SQLite fails here, not at open.
    sqlite.prepare('SELECT count(*) FROM sqlite_master').get();
    return sqlite;
  } catch (error) {
    throw new MigrationRefused(`${file} cannot be read as a SQLite database: ${(error as Error).message}`);
  }
}

/** Every column of every copied table must be there: a file of an older scalebot is upgraded first. */
function checkSqliteSchema(sqlite: Database.Database, file: string): void {
  const missing: string[] = [];
  for (const table of [...TABLES.map((pair) => pair.sqlite), sqliteSchema.leaderLease]) {
    const tableName = getTableName(table);
    const present = new Set((sqlite.prepare(`PRAGMA table_info(${quoteIdent(tableName)})`).all() as Array<{ name: string }>).map((c) => c.name));
    if (present.size === 0) {
      missing.push(`table ${tableName}`);
      continue;
    }
    for (const column of Object.values(getTableColumns(table)) as Column[]) {
      if (!present.has(column.name)) missing.push(`${tableName}.${column.name}`);
    }
  }
  if (missing.length > 0) {
    throw new MigrationRefused(
      `${file} is not a scalebot database of this version (missing ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}). ` +
        "If it is the bot's file from an older version, run this version once on it " +
        '(e.g. `SCALEBOT_DB=FILE scalebot history -n 1`) to upgrade it, then migrate.',
    );
  }
}

type SqliteDb = ReturnType<typeof drizzleSqlite<typeof sqliteSchema>>;
type PgDb = NodePgDatabase<typeof pgSchema>;

async function copyTable(source: SqliteDb, target: PgDb, from: SQLiteTable, to: PgTable): Promise<number> {
  const columns = getTableColumns(from);
  const id = columns.id;
  let copied = 0;
  // Tables with an id are read a page at a time; the others (run_approvals, host_locks) are small.
  let after = Number.NEGATIVE_INFINITY;
  for (;;) {
    const rows = id
      ? source
          .select()
          .from(from)
          .where(Number.isFinite(after) ? gt(id, after) : undefined)
          .orderBy(asc(id))
          .limit(PAGE)
          .all()
      : source.select().from(from).all();
    if (rows.length === 0) break;
    // Bound parameters per statement: PostgreSQL takes at most 65 535.
    const chunk = Math.max(1, Math.floor(60_000 / Object.keys(columns).length));
    for (let at = 0; at < rows.length; at += chunk) {
      // biome-ignore lint/suspicious/noExplicitAny: the twin tables share their column names; drizzle cannot type a pair picked by name
      await target.insert(to).values(rows.slice(at, at + chunk) as any);
    }
    copied += rows.length;
    if (!id || rows.length < PAGE) break;
    after = (rows[rows.length - 1] as { id: number }).id;
  }
  return copied;
}

/** The identity's next value past the highest id copied (explicit ids do not move it). */
async function resetIdentity(client: Queryable, table: PgTable): Promise<void> {
  const config = getTableConfig(table);
  if (!config.columns.some((column) => column.name === 'id')) return;
  const name = quoteIdent(config.name);
  await client.query(`SELECT setval(pg_get_serial_sequence($1, 'id'), coalesce((SELECT max(id) FROM ${name}), 1), (SELECT max(id) IS NOT NULL FROM ${name}))`, [
    name,
  ]);
}

/** A bot that still runs on the file would go on writing there after the copy: those writes would be lost. */
function checkNoBotRunning(sqlite: Database.Database, file: string): void {
  const lease = sqlite.prepare('SELECT holder, expires_at AS expiresAt FROM leader_lease WHERE name = ?').get(LEASE_NAME) as
    | { holder: string | null; expiresAt: number }
    | undefined;
  if (lease?.holder && Number(lease.expiresAt) > Date.now()) {
    throw new MigrationRefused(
      `a scalebot process is running on ${file} (it holds the lease until ${new Date(Number(lease.expiresAt)).toISOString()}): ` +
        'stop it first, or what it writes after the copy would be lost. Nothing was copied.',
    );
  }
}

function carriedToken(sqlite: Database.Database): number {
  const row = sqlite.prepare('SELECT max(token) AS token FROM leader_lease').get() as { token: number | bigint | null } | undefined;
  return Number(row?.token ?? 0);
}

// ---------------------------------------------------------------------------------------------------------
// Verification

/** What the check needs of PostgreSQL: a pool, or a client inside the copy's transaction. */
export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

type Kind = 'timestamp' | 'json' | 'boolean' | 'integer' | 'text';

interface ColumnSpec {
  readonly name: string;
  readonly kind: Kind;
}

/** What each PostgreSQL column holds, as the check normalises it. */
function columnSpecs(table: PgTable): ColumnSpec[] {
  return getTableConfig(table).columns.map((column) => {
    const kind: Kind =
      column.columnType === 'PgTimestamp'
        ? 'timestamp'
        : column.columnType === 'PgJson' || column.columnType === 'PgJsonb'
          ? 'json'
          : column.columnType === 'PgBoolean'
            ? 'boolean'
            : column.columnType === 'PgInteger' || column.columnType === 'PgBigInt53' || column.columnType === 'PgBigInt64'
              ? 'integer'
              : 'text';
    return { name: column.name, kind };
  });
}

/**
 * Compares every row of every copied table, value by value: timestamps as epoch milliseconds, JSON as the
 * values it parses to, booleans as booleans (SQLite keeps 0/1). Reads both databases raw, not through the
 * schemas the copy used. Rows are matched by id (or by their key columns where a table has no id).
 */
export async function verifyCopy(sqlite: Database.Database, pg: Queryable, { maxMismatches = 50 } = {}): Promise<VerifyReport> {
  const tables: TableCount[] = [];
  const mismatches: RowMismatch[] = [];
  let mismatchCount = 0;
  const report = (mismatch: RowMismatch) => {
    mismatchCount += 1;
    if (mismatches.length < maxMismatches) mismatches.push(mismatch);
  };
  for (const { pg: pgTable } of TABLES) {
    const table = getTableConfig(pgTable).name;
    const specs = columnSpecs(pgTable);
    const hasId = specs.some((spec) => spec.name === 'id');
    const keyColumns = hasId ? ['id'] : keyColumnsOf(pgTable);
    const keyOf = (row: Record<string, unknown>) => keyColumns.map((column) => `${column}=${String(row[column])}`).join(', ');
    const list = specs.map((spec) => quoteIdent(spec.name)).join(', ');
    const compare = (sqliteRows: Record<string, unknown>[], pgRows: Record<string, unknown>[]) => {
      const byKey = new Map(pgRows.map((row) => [keyOf(row), row]));
      for (const left of sqliteRows) {
        const key = keyOf(left);
        const right = byKey.get(key);
        if (!right) {
          report({ table, key, problem: 'missing in PostgreSQL' });
          continue;
        }
        byKey.delete(key);
        const differing = specs.flatMap((spec) => {
          const a = normalise(spec.kind, left[spec.name], 'sqlite');
          const b = normalise(spec.kind, right[spec.name], 'postgres');
          return sameValue(a, b) ? [] : [{ column: spec.name, sqlite: a, postgres: b }];
        });
        if (differing.length > 0) report({ table, key, problem: 'differs', columns: differing });
      }
      for (const key of byKey.keys()) report({ table, key, problem: 'only in PostgreSQL' });
    };
    let rows = 0;
    if (hasId) {
      // Page by id in step: a SQLite page, then PostgreSQL's rows in the same id range (everything left after the last page).
      let after = Number.NEGATIVE_INFINITY;
      for (;;) {
        const left = sqlite
          .prepare(`SELECT ${list} FROM ${quoteIdent(table)} WHERE id > ? ORDER BY id LIMIT ${PAGE}`)
          .all(Number.isFinite(after) ? after : -1) as Record<string, unknown>[];
        const last = left.length === PAGE ? Number(left[left.length - 1]!.id) : null;
        const right = (
          await pg.query(
            `SELECT ${list} FROM ${quoteIdent(table)} WHERE id > $1${last === null ? '' : ' AND id <= $2'} ORDER BY id`,
            last === null ? [Number.isFinite(after) ? after : -1] : [Number.isFinite(after) ? after : -1, last],
          )
        ).rows;
        compare(left, right);
        rows += left.length;
        if (last === null) break;
        after = last;
      }
    } else {
      const left = sqlite.prepare(`SELECT ${list} FROM ${quoteIdent(table)}`).all() as Record<string, unknown>[];
      const right = (await pg.query(`SELECT ${list} FROM ${quoteIdent(table)}`)).rows;
      compare(left, right);
      rows = left.length;
    }
    tables.push({ table, rows });
  }
  return { tables, mismatches, mismatchCount };
}

/** A table without an id is matched by its primary key or, failing that, its first unique index. */
function keyColumnsOf(table: PgTable): string[] {
  const config = getTableConfig(table);
  const primary = config.columns.filter((column) => column.primary).map((column) => column.name);
  if (primary.length > 0) return primary;
  const unique = config.indexes.find((index) => index.config.unique);
  if (unique) return unique.config.columns.map((column) => (column as { name: string }).name);
  return config.columns.map((column) => column.name);
}

function normalise(kind: Kind, value: unknown, side: 'sqlite' | 'postgres'): unknown {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'timestamp':
      if (value instanceof Date) return value.getTime();
      return typeof value === 'bigint' ? Number(value) : value;
    case 'json':
      // SQLite keeps the text; pg parses json columns itself.
      if (side === 'sqlite' && typeof value === 'string') {
        try {
          return JSON.parse(value);
        } catch {
          return { unparsable: value };
        }
      }
      return value;
    case 'boolean':
      return typeof value === 'boolean' ? value : value === 1 || value === 1n;
    case 'integer':
      return typeof value === 'bigint' ? Number(value) : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    default:
      return value;
  }
}

/** Deep equality of plain JSON-like values: objects compared key by key whatever their order. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, index) => sameValue(item, other[index]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((key) => Object.hasOwn(right, key) && sameValue(left[key], right[key]));
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const CONNECT_PROBLEMS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is PostgreSQL running and listening there?)',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve (DNS failure)',
  ETIMEDOUT: 'no answer',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  '3D000': 'that database does not exist (create it first: CREATE DATABASE …)',
  '28P01': 'the user name or password was not accepted',
  '28000': 'the server refused this user (pg_hba.conf)',
  '57P03': 'the server is starting up or shutting down',
};

async function openTarget(url: string): Promise<PostgresHandle> {
  try {
    return await openPostgres(url, { max: 2, statementTimeoutMs: 0 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException)?.code ?? pgCode(error);
    const why = (code && CONNECT_PROBLEMS[code]) ?? (error as Error)?.message ?? String(error);
    throw new MigrationRefused(redactSecrets(`cannot open the PostgreSQL database at ${displayUrl(url)}: ${why}. Nothing was copied.`, urlSecrets(url)));
  }
}
