// `scalebot migrate-db`: a SQLite database written through the real stores, copied into a throwaway PostgreSQL
// cluster, read back through the PostgreSQL side, and checked row by row.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateSqliteToPostgres, MigrationRefused, verifyCopy } from '../../db/migrate-db.ts';
import { openSqliteStorage, type SqliteStorage } from '../../db/storage.ts';
import { startPostgresCluster, type PostgresCluster } from '../helpers/postgres/index.ts';

const scratch = mkdtempSync(join(tmpdir(), 'scalebot-migrate-'));
let cluster: PostgresCluster;
let databases = 0;

beforeAll(async () => {
  cluster = await startPostgresCluster();
});

afterAll(async () => {
  await cluster?.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

async function newDatabase(): Promise<string> {
  databases += 1;
  const name = `migrate_${databases}`;
  await cluster.psql(`CREATE DATABASE ${name}`);
  return `postgres://postgres@127.0.0.1:${cluster.port}/${name}`;
}

const T0 = new Date('2026-03-01T10:00:00.123Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000 + 7);

const CHECKLIST = {
  id: 'db-move',
  title: 'Move the database',
  items: [
    { id: 'backup', text: 'Take a backup' },
    { id: 'switch', text: 'Switch over', section: 'Cut-over', detail: '`make switch`' },
  ],
  responders: [],
};

/** Everything a bot writes, through the stores it writes it with: runs, steps, approvals, ticks, decisions, outbox rows, breaches. */
async function fill(storage: SqliteStorage): Promise<void> {
  const runbooks = storage.runbooks;
  const requested = await runbooks.request({
    run: {
      runbookId: 'restart-api',
      title: 'Restart the API',
      requester: 'U0REQ',
      channel: 'C0OPS',
      params: { service: 'api', note: 'ünïcode “quotes” 🚀' },
      plan: { steps: [{ id: 'restart', host: 'web-1', command: "systemctl restart 'api'" }], rollback: [], nested: { list: [1, 2.5, null, true] } },
      createdAt: at(0),
      expiresAt: at(3600),
    },
    hosts: ['web-1'],
    effects: (written) => ({
      decisions: [{ at: at(0), kind: 'run_requested', actor: 'U0REQ', subject: String(written.run.id), detail: { runbook: 'restart-api' } }],
      messages: [
        {
          kind: 'post',
          key: `run-${written.run.id}`,
          channel: 'C0OPS',
          payload: { text: 'Restart the API', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*hi*' } }] },
          at: at(0),
        },
      ],
    }),
    refused: () => ({}),
  });
  if (!requested.ok) throw new Error('request refused');
  const runId = requested.run.id;
  await runbooks.approve({
    id: runId,
    approver: 'U0LEAD',
    at: at(5),
    suffice: () => true,
    effects: () => ({ decisions: [{ at: at(5), kind: 'approval', actor: 'U0LEAD' }] }),
  });
  await runbooks.transition({ id: runId, name: 'begin', now: at(6), effects: () => ({}) });
  const attempt = await runbooks.startStep({
    runId,
    phase: 'steps',
    stepIndex: 0,
    stepId: 'restart',
    host: 'web-1',
    command: "systemctl restart 'api'",
    startedAt: at(7),
    effects: (written) => ({
      messages: [{ kind: 'post', key: `step-${written.attempt.id}`, channel: 'C0OPS', parentKey: `run-${runId}`, payload: { text: 'step' }, at: at(7) }],
    }),
  });
  await runbooks.finishStep({
    attemptId: attempt!.id,
    end: { status: 'failed', exitCode: 3, endedAt: at(9), output: 'line 1\nline 2 — done\n', message: 'exited with status 3' },
    next: { transition: 'fail' },
    now: at(9),
    effects: () => ({ decisions: [{ at: at(9), kind: 'step_finished', actor: 'scalebot', outcome: 'failed', detail: { exit_code: 3 } }] }),
  });

  const checklist = await storage.checklists.start(
    { checklist: CHECKLIST, name: 'move to CPX51', channel: 'C0OPS', startedBy: 'U0REQ', startedAt: at(10) },
    () => ({}),
  );
  const runChecklist = checklist.run.id;
  await storage.checklists.change(
    {
      runId: runChecklist,
      ticks: [
        { itemId: 'backup', action: 'tick', actor: 'U0REQ', at: at(11), source: 'click' },
        { itemId: 'switch', action: 'tick', actor: 'U0LEAD', at: at(12), source: 'runbook', detail: { run: runId, ok: true } },
        { itemId: 'switch', action: 'untick', actor: 'U0LEAD', at: at(13), source: 'click' },
      ],
    },
    () => ({}),
  );

  const breach = await storage.breaches.open(
    {
      key: 'cpu:web-1',
      source: 'watcher',
      triggerId: 'cpu',
      name: 'CPU',
      severity: 'immediate',
      labels: { instance: 'web-1:9100' },
      openedAt: at(20),
      breachedSince: at(15),
      lastValue: '0.93',
      lastSeenAt: at(20),
      detail: { threshold: 0.9 },
    },
    (written) => ({ messages: [{ kind: 'post', key: `breach-${written.id}`, channel: 'C0ALERTS', payload: { text: 'CPU above 90%' }, at: at(20) }] }),
  );
  await storage.breaches.acknowledge(breach!.id, 'U0LEAD', at(25), () => ({}));
  const blind = await storage.breaches.openBlindPeriod(at(30), 'prometheus down', () => ({}));
  await storage.breaches.endBlindPeriod(blind!.id, at(40), () => ({}));

  const posted = await storage.outbox.getByKey(`run-${runId}`);
  await storage.outbox.markSending(posted!.id);
  await storage.outbox.markSent(posted!.id, '1700000000.000100', at(1), null);
  await storage.outbox.edit({ kind: 'edit', key: `run-${runId}`, payload: { text: 'Restart the API: failed' } });

  await storage.advice.recordAnswer({ at: at(50), actor: 'U0REQ', channel: 'C0OPS', question: 'database', answer: 'yes' } as never);
  await storage.decisions.append({ at: at(60), kind: 'command', actor: 'U0REQ', detail: { text: '/scale status', args: [] } });
  // The bot led (its token goes to the hosts) and stopped cleanly.
  const lease = await storage.leases.acquire('sqlite-replica', 10_000);
  await storage.leases.release('sqlite-replica', lease.token);
}

/**
 * A file the stores filled, plus `extra` decision rows written in one transaction (more than a page of the
 * copy and of the check; through the store each would be a transaction of its own, synced to disk).
 */
async function filledSqlite(extra = 0): Promise<string> {
  const file = join(mkdtempSync(join(scratch, 'db-')), 'scalebot.db');
  const storage = openSqliteStorage(file);
  await fill(storage);
  const insert = storage.handle.sqlite.prepare('INSERT INTO decision_log (at, kind, actor, detail) VALUES (?, ?, ?, ?)');
  storage.handle.sqlite.transaction(() => {
    for (let i = 0; i < extra; i += 1) insert.run(at(100 + i).getTime(), 'command', `U${i}`, JSON.stringify({ i, text: `row ${i}` }));
  })();
  await storage.close();
  return file;
}

async function query<R extends Record<string, unknown>>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

describe('migrate-db', () => {
  it('copies every table with its ids, verifies every row, and moves each identity past the highest id', async () => {
    const file = await filledSqlite(2500);
    const began = performance.now();
    const url = await newDatabase();
    const lines: string[] = [];
    const report = await migrateSqliteToPostgres({ from: file, to: url, progress: (line) => lines.push(line) });
    expect(report.mismatchCount).toBe(0);
    console.info(`migrate-db: ${report.tables.reduce((n, t) => n + t.rows, 0)} rows copied and verified in ${Math.round(performance.now() - began)} ms`);
    const counts = Object.fromEntries(report.tables.map((t) => [t.table, t.rows]));
    const sqlite = new Database(file, { readonly: true });
    for (const [table, rows] of Object.entries(counts)) {
      expect((sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n, table).toBe(rows);
      expect(Number((await query<{ n: string }>(url, `SELECT count(*) AS n FROM ${table}`))[0]!.n), table).toBe(rows);
    }
    expect(counts).toMatchObject({
      runbook_runs: 1,
      run_approvals: 1,
      run_steps: 1,
      host_locks: 1,
      checklist_runs: 1,
      checklist_events: 3,
      breaches: 1,
      blind_periods: 1,
    });
    expect(counts.decision_log).toBeGreaterThan(2500);
    expect(counts.slack_outbox).toBe(3);
    expect(lines).toContain('copied checklist_events: 3 rows');

    // Read back on the PostgreSQL side: types as PostgreSQL has them.
    const [run] = await query<{ params: unknown; plan: unknown; created_at: Date }>(url, 'SELECT params, plan, created_at FROM runbook_runs');
    expect(run!.params).toEqual({ service: 'api', note: 'ünïcode “quotes” 🚀' });
    expect(run!.plan).toMatchObject({ nested: { list: [1, 2.5, null, true] } });
    expect(run!.created_at.getTime()).toBe(at(0).getTime());
    const [step] = await query<{ output: string; exit_code: number; status: string }>(url, 'SELECT output, exit_code, status FROM run_steps');
    expect(step).toEqual({ output: 'line 1\nline 2 — done\n', exit_code: 3, status: 'failed' });
    const outbox = await query<{ dedupe_key: string; needs_update: boolean; payload: { text: string } }>(
      url,
      'SELECT dedupe_key, needs_update, payload FROM slack_outbox ORDER BY id',
    );
    expect(outbox[0]).toMatchObject({ needs_update: true, payload: { text: 'Restart the API: failed' } });
    expect(outbox.map((row) => row.needs_update)).toEqual([true, false, false]);

    // New rows continue after the copied ids, and the lease's token continues after SQLite's.
    const [maxId] = await query<{ max: number }>(url, 'SELECT max(id) AS max FROM decision_log');
    const [inserted] = await query<{ id: number }>(url, `INSERT INTO decision_log (at, kind, actor) VALUES (now(), 'x', 'y') RETURNING id`);
    expect(inserted!.id).toBe(maxId!.max + 1);
    const [checklistRun] = await query<{ id: number }>(
      url,
      `INSERT INTO checklist_runs (checklist_id, definition, channel, status, started_by, started_at) VALUES ('c', '{}', 'C', 'open', 'U', now()) RETURNING id`,
    );
    expect(checklistRun!.id).toBe(2);
    const sqliteToken = (sqlite.prepare('SELECT token FROM leader_lease').get() as { token: number }).token;
    expect(report.fenceToken).toBe(sqliteToken);
    const [lease] = await query<{ token: number; holder: string | null; live: boolean }>(
      url,
      'SELECT token, holder, expires_at > now() AS live FROM leader_lease',
    );
    expect(lease).toEqual({ token: sqliteToken, holder: null, live: false });
    sqlite.close();
  }, 120_000);

  it('refuses a second run into the same database, and says what to do; nothing is changed', async () => {
    const file = await filledSqlite();
    const url = await newDatabase();
    await migrateSqliteToPostgres({ from: file, to: url });
    const before = await query<{ n: string }>(url, 'SELECT count(*) AS n FROM decision_log');
    const again = migrateSqliteToPostgres({ from: file, to: url });
    await expect(again).rejects.toBeInstanceOf(MigrationRefused);
    await expect(again).rejects.toThrow(/already holds rows: decision_log \(\d+ rows\).*Nothing was copied.*new database/);
    expect(await query(url, 'SELECT count(*) AS n FROM decision_log')).toEqual(before);
  }, 60_000);

  it('refuses a missing file, a file that is not SQLite, and an unreachable PostgreSQL, without printing the password', async () => {
    const url = await newDatabase();
    await expect(migrateSqliteToPostgres({ from: join(scratch, 'nope.db'), to: url })).rejects.toThrow(/no SQLite database at .*nope\.db/);
    const text = join(scratch, 'not-sqlite.db');
    writeFileSync(text, 'hello, this is not a database at all'.repeat(100));
    await expect(migrateSqliteToPostgres({ from: text, to: url })).rejects.toThrow(/cannot be read as a SQLite database/);
    const file = await filledSqlite();
    const closed = `postgres://scalebot:s3cr3t-pw@127.0.0.1:1/scalebot`;
    const refused = await migrateSqliteToPostgres({ from: file, to: closed }).catch((error: Error) => error);
    expect(refused).toBeInstanceOf(MigrationRefused);
    expect((refused as Error).message).toMatch(/^cannot open the PostgreSQL database at postgres:\/\/127\.0\.0\.1:1\/scalebot: connection refused/);
    expect((refused as Error).message).not.toContain('s3cr3t');
    const noDatabase = `postgres://postgres@127.0.0.1:${cluster.port}/no_such_db`;
    await expect(migrateSqliteToPostgres({ from: file, to: noDatabase })).rejects.toThrow(/that database does not exist/);
    // A bot still running on the file (its lease is live): what it writes after the copy would be lost.
    const running = openSqliteStorage(file);
    await running.leases.acquire('serve-on-this-file', 60_000);
    await expect(migrateSqliteToPostgres({ from: file, to: url })).rejects.toThrow(/a scalebot process is running on .*: stop it first/);
    await running.close();
  }, 60_000);

  it('the verifier reports a row changed after the copy, value by value, and every row it was not shown', async () => {
    const file = await filledSqlite();
    const url = await newDatabase();
    await migrateSqliteToPostgres({ from: file, to: url });
    const sqlite = new Database(file, { readonly: true });
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      expect((await verifyCopy(sqlite, pool)).mismatchCount).toBe(0);
      await cluster.psql(`UPDATE run_steps SET exit_code = 4, output = 'changed' WHERE id = 1`, { database: url.split('/').pop()! });
      await cluster.psql(`UPDATE slack_outbox SET payload = '{"text":"Restart the API: failed","extra":1}', needs_update = false WHERE id = 1`, {
        database: url.split('/').pop()!,
      });
      await cluster.psql(`UPDATE breaches SET acked_at = acked_at + interval '1 millisecond' WHERE id = 1`, { database: url.split('/').pop()! });
      await cluster.psql(`DELETE FROM host_locks`, { database: url.split('/').pop()! });
      await cluster.psql(`INSERT INTO blind_periods (started_at, reason) VALUES (now(), 'extra')`, { database: url.split('/').pop()! });
      const report = await verifyCopy(sqlite, pool);
      expect(report.mismatchCount).toBe(5);
      expect(report.mismatches).toEqual(
        expect.arrayContaining([
          {
            table: 'run_steps',
            key: 'id=1',
            problem: 'differs',
            columns: [
              { column: 'exit_code', sqlite: 3, postgres: 4 },
              { column: 'output', sqlite: 'line 1\nline 2 — done\n', postgres: 'changed' },
            ],
          },
          {
            table: 'slack_outbox',
            key: 'id=1',
            problem: 'differs',
            columns: [
              { column: 'payload', sqlite: { text: 'Restart the API: failed' }, postgres: { text: 'Restart the API: failed', extra: 1 } },
              { column: 'needs_update', sqlite: true, postgres: false },
            ],
          },
          {
            table: 'breaches',
            key: 'id=1',
            problem: 'differs',
            columns: [{ column: 'acked_at', sqlite: at(25).getTime(), postgres: at(25).getTime() + 1 }],
          },
          { table: 'host_locks', key: 'host=web-1', problem: 'missing in PostgreSQL' },
          { table: 'blind_periods', key: 'id=2', problem: 'only in PostgreSQL' },
        ]),
      );
    } finally {
      sqlite.close();
      await pool.end();
    }
  }, 60_000);

  it('rolls the whole copy back when a row does not survive it, and says which', async () => {
    // A time SQLite holds to a fraction of a millisecond: PostgreSQL keeps milliseconds, so the copy would change it.
    const file = await filledSqlite();
    const raw = new Database(file);
    raw.prepare("INSERT INTO decision_log (at, kind, actor, detail) VALUES (1772359200000.5, 'command', 'U0FRACTION', '{}')").run();
    const id = Number((raw.prepare('SELECT max(id) AS id FROM decision_log').get() as { id: number }).id);
    raw.close();
    const url = await newDatabase();
    const report = await migrateSqliteToPostgres({ from: file, to: url });
    expect(report.mismatchCount).toBe(1);
    expect(report.mismatches).toEqual([
      { table: 'decision_log', key: `id=${id}`, problem: 'differs', columns: [{ column: 'at', sqlite: 1772359200000.5, postgres: 1772359200000 }] },
    ]);
    for (const table of ['decision_log', 'runbook_runs', 'leader_lease']) {
      expect(await query(url, `SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 0 }]);
    }
  }, 60_000);

  it('round-trips any JSON detail, text and time the decision log can hold', async () => {
    const json = fc.jsonValue({ maxDepth: 3 }).filter((value) => value !== null && typeof value === 'object' && !Array.isArray(value));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ ms: fc.integer({ min: 0, max: 4102444800000 }), kind: fc.string({ minLength: 1 }), detail: json }), {
          minLength: 1,
          maxLength: 20,
        }),
        async (rows) => {
          const file = join(mkdtempSync(join(scratch, 'prop-')), 'scalebot.db');
          const storage = openSqliteStorage(file);
          for (const row of rows) {
            // PostgreSQL text cannot hold NUL: the bot never writes one (scrubbed), so neither does this.
            await storage.decisions.append({
              at: new Date(row.ms),
              kind: row.kind.replace(/\0/g, ''),
              actor: 'U',
              detail: row.detail as Record<string, unknown>,
            });
          }
          await storage.close();
          const report = await migrateSqliteToPostgres({ from: file, to: await newDatabase() });
          expect(report.mismatches).toEqual([]);
        },
      ),
      { numRuns: 5 },
    );
  }, 120_000);
});
