import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { is } from 'drizzle-orm';
import { getTableConfig as getPgTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as getSqliteTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as pgSchema from '../../db/postgres/schema.ts';
import * as sqliteSchema from '../../db/schema.ts';
import { stopPostgres, storageFixture } from '../helpers/storages.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

afterAll(stopPostgres);

describe('the PostgreSQL schema', () => {
  const fixture = storageFixture('postgres');
  afterEach(() => fixture.closeAll());

  it('keeps the decision log and the checklist history append-only: UPDATE, DELETE and TRUNCATE are refused', async () => {
    const storage = await fixture.open();
    await storage.decisions.append({ at: new Date(), kind: 'command', actor: 'U1' });
    await fixture.psql(`
      INSERT INTO checklist_runs (checklist_id, definition, channel, status, started_by, started_at)
        VALUES ('optimize', '{}', 'C1', 'open', 'U1', now());
      INSERT INTO checklist_events (run_id, item_id, action, actor, at, source)
        SELECT id, 'item', 'tick', 'U1', now(), 'click' FROM checklist_runs`);
    for (const table of ['decision_log', 'checklist_events']) {
      for (const statement of [`UPDATE ${table} SET actor = 'U9'`, `DELETE FROM ${table}`, `TRUNCATE ${table} CASCADE`]) {
        await expect(fixture.psql(statement), statement).rejects.toThrow(new RegExp(`${table} is append-only`));
      }
      expect(await fixture.psql(`SELECT string_agg(actor, ',') FROM ${table}`)).toBe('U1');
    }
  });
});

/** What both dialects must agree on, column by column: the name, whether it may be null, and the keys. */
function describeTables(configs: Array<{ name: string; columns: Array<{ name: string; notNull: boolean; primary: boolean; isUnique: boolean }> }>) {
  return Object.fromEntries(
    configs
      .map((config) => [
        config.name,
        Object.fromEntries(
          config.columns
            .map((column) => [column.name, { notNull: column.notNull, primary: column.primary, unique: column.isUnique }] as const)
            .sort(([a], [b]) => a.localeCompare(b)),
        ),
      ])
      .sort(([a], [b]) => String(a).localeCompare(String(b))),
  );
}

describe('the two schemas', () => {
  const sqliteTables = Object.values(sqliteSchema).filter((value) => is(value, SQLiteTable));
  const pgTables = Object.values(pgSchema).filter((value) => is(value, PgTable));

  it('have the same tables, with the same columns, nullability and keys', () => {
    expect(sqliteTables.length).toBeGreaterThanOrEqual(11);
    const sqlite = describeTables(sqliteTables.map((table) => getSqliteTableConfig(table as SQLiteTable)));
    const pg = describeTables(pgTables.map((table) => getPgTableConfig(table as PgTable)));
    expect(pg).toEqual(sqlite);
  });

  it('have the same indexes, partial and unique alike', () => {
    const indexes = (configs: Array<{ name: string; indexes: Array<{ config: { name?: string; unique: boolean; where?: unknown } }> }>) =>
      configs
        .flatMap((config) =>
          config.indexes.map((index) => `${config.name}.${index.config.name}${index.config.unique ? ' unique' : ''}${index.config.where ? ' partial' : ''}`),
        )
        .sort();
    const sqlite = indexes(sqliteTables.map((table) => getSqliteTableConfig(table as SQLiteTable)));
    expect(sqlite).toContain('breaches.breaches_one_open_per_key unique partial');
    expect(indexes(pgTables.map((table) => getPgTableConfig(table as PgTable)))).toEqual(sqlite);
  });

  // drizzle-kit generate on a copy of each migrations folder: a schema change without its migration shows up as
  // a new file there (and drizzle-kit says so), while the real folders are left alone.
  it.each([
    ['sqlite', 'db/schema.ts', 'db/migrations'],
    ['postgresql', 'db/postgres/schema.ts', 'db/postgres/migrations'],
  ])('%s: the migrations are up to date with the schema', async (dialect, schema, migrations) => {
    const dir = mkdtempSync(join(tmpdir(), 'scalebot-drizzle-'));
    try {
      cpSync(join(ROOT, migrations), join(dir, 'out'), { recursive: true });
      const before = readdirSync(join(dir, 'out')).sort();
      // A plain object: the copy's folder cannot resolve drizzle-kit's own defineConfig.
      writeFileSync(join(dir, 'drizzle.config.ts'), `export default ${JSON.stringify({ dialect, schema: join(ROOT, schema), out: './out' })};\n`);
      const { stdout, stderr } = await promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'drizzle-kit'), ['generate', '--config', 'drizzle.config.ts'], {
        cwd: dir,
        timeout: 60_000,
      });
      expect(`${stdout}${stderr}`).toContain('No schema changes');
      expect(readdirSync(join(dir, 'out')).sort()).toEqual(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
