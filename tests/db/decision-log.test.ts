import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../db/client.ts';
import { registerSecrets } from '../../core/redact.ts';
import { recordDecision } from '../../db/decision-log.ts';
import { DIALECTS, stopPostgres, storageFixture } from '../helpers/storages.ts';

afterAll(stopPostgres);

describe('the SQLite file of the decision log', () => {
  const handles: DatabaseHandle[] = [];
  afterEach(() => {
    for (const handle of handles.splice(0)) handle.close();
  });
  const open = () => {
    const handle = openDatabase(join(mkdtempSync(join(tmpdir(), 'scalebot-db-')), 'nested', 'scalebot.db'));
    handles.push(handle);
    return handle;
  };

  it('opens a real SQLite file (creating its folder) in WAL mode with synchronous=FULL', () => {
    const handle = open();
    expect(handle.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(handle.sqlite.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('is append-only: SQLite itself refuses UPDATE and DELETE (PostgreSQL: tests/db/postgres-schema.test.ts)', () => {
    const handle = open();
    recordDecision(handle.db, { at: new Date(), kind: 'command', actor: 'U1' });
    expect(() => handle.sqlite.prepare("UPDATE decision_log SET actor = 'U9'").run()).toThrow(/append-only/);
    expect(() => handle.sqlite.prepare('DELETE FROM decision_log').run()).toThrow(/append-only/);
    expect(handle.sqlite.prepare('SELECT actor FROM decision_log').pluck().all()).toEqual(['U1']);
  });
});

describe.each(DIALECTS)('the decision log on %s', (dialect) => {
  const fixture = storageFixture(dialect);
  afterEach(() => fixture.closeAll());

  it('records and lists decisions newest first, filtered by kind, subject and time', async () => {
    const { decisions } = await fixture.open();
    await decisions.append({
      at: new Date('2026-11-28T10:00:00Z'),
      kind: 'command',
      actor: 'U1',
      channel: 'C1',
      subject: 'status',
      outcome: 'ok',
      detail: { args: [] },
    });
    await decisions.append({ at: new Date('2026-11-28T10:01:00Z'), kind: 'ack', actor: 'U2', subject: 'cpu' });
    expect((await decisions.list()).map((row) => row.kind)).toEqual(['ack', 'command']);
    const [command] = await decisions.list({ kinds: ['command'] });
    expect(command).toMatchObject({ actor: 'U1', channel: 'C1', subject: 'status', outcome: 'ok', detail: { args: [] } });
    expect(command?.at.toISOString()).toBe('2026-11-28T10:00:00.000Z');
    expect((await decisions.list({ subject: 'cpu' })).map((row) => row.actor)).toEqual(['U2']);
    expect((await decisions.list({ since: new Date('2026-11-28T10:00:30Z') })).map((row) => row.actor)).toEqual(['U2']);
    expect(await decisions.list({ limit: 1 })).toHaveLength(1);
  });

  it('appends the rows asked for within its window in one commit, resolving once committed', async () => {
    const storage = await fixture.open();
    const target = fixture.target();
    /** SQLite: the WAL's growth (every commit writes its own frames); PostgreSQL: the transactions that wrote the rows. */
    const walBytes = () => (target.kind === 'sqlite' ? statSync(`${target.file}-wal`).size : 0);
    const before = walBytes();
    // Asked for over several turns of the event loop, as the answers of a burst are sent one a turn.
    const appended: Array<Promise<number>> = [];
    for (let index = 0; index < 50; index += 1) {
      appended.push(storage.decisions.append({ at: new Date(), kind: 'command', actor: `U${index}` }));
      if (index % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
    }
    const ids = await Promise.all(appended);
    expect((await storage.decisions.list({ limit: 100 })).map((row) => row.actor).reverse()).toEqual(ids.map((_, index) => `U${index}`));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    if (target.kind === 'postgres') {
      // Rows written by one transaction share its xmin.
      expect(Number(await fixture.psql('SELECT count(DISTINCT xmin::text) FROM decision_log'))).toBeLessThanOrEqual(2);
      return;
    }
    const batched = walBytes() - before;
    // The same 50 rows a commit each, written straight to the file.
    const handle = openDatabase(target.file);
    try {
      const middle = walBytes();
      for (let index = 0; index < 50; index += 1) recordDecision(handle.db, { at: new Date(), kind: 'command', actor: `V${index}` });
      const oneByOne = walBytes() - middle;
      expect(oneByOne).toBeGreaterThanOrEqual(50 * 4096);
      expect(batched).toBeLessThan(oneByOne / 10);
    } finally {
      handle.close();
    }
  });

  it('fails a row that cannot be written alone, not the rows committed with it', async () => {
    const { decisions } = await fixture.open();
    const results = await Promise.allSettled([
      decisions.append({ at: new Date(), kind: 'command', actor: 'U1' }),
      // Not JSON at all.
      decisions.append({ at: new Date(), kind: 'command', actor: 'U2', detail: { count: 1n } }),
      decisions.append({ at: new Date(), kind: 'command', actor: 'U3' }),
      // Refused by the database itself, inside the shared commit.
      decisions.append({ at: new Date(), kind: 'command', actor: null as unknown as string }),
      decisions.append({ at: new Date(), kind: 'command', actor: 'U5' }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect((await decisions.list()).map((row) => row.actor)).toEqual(['U5', 'U3', 'U1']);
  });

  it('commits the waiting rows when closed, before the database goes', async () => {
    const storage = await fixture.open();
    const appended = storage.decisions.append({ at: new Date(), kind: 'command', actor: 'U1' });
    await storage.close();
    expect(storage.isOpen()).toBe(false);
    await expect(appended).resolves.toBeGreaterThan(0);
    const reopened = await fixture.reopen();
    expect((await reopened.decisions.list()).map((row) => row.actor)).toEqual(['U1']);
  });

  it('keeps what was written across a reopen, and migrating twice is harmless', async () => {
    const storage = await fixture.open();
    await storage.decisions.append({ at: new Date(), kind: 'command', actor: 'U1' });
    await storage.close();
    const again = await fixture.reopen();
    expect(again.isOpen()).toBe(true);
    expect(await again.decisions.list()).toHaveLength(1);
  });

  it('stores no secret: subject, outcome and detail are scrubbed before the row is written, and stay so', async () => {
    const { decisions } = await fixture.open();
    registerSecrets(['decision-known-secret-77']);
    await decisions.append({
      at: new Date('2026-11-28T10:00:00Z'),
      kind: 'step_finished',
      actor: 'U1',
      subject: 'deploy with token=abc123def',
      outcome: 'failed: decision-known-secret-77',
      detail: {
        output: 'curl -H "Authorization: Bearer eyJhbGciOi.abcdefghijk" https://admin:pa55word@db.example/ && echo password=hunter2',
        nested: { list: ['xoxb-1111-2222-abcdefabcdef', { key: 'AKIAABCDEFGHIJKLMNOP' }] },
        when: new Date('2026-11-28T10:00:00Z'),
        count: 3,
      },
    });
    const [row] = await decisions.list();
    const stored = JSON.stringify(row);
    for (const secret of [
      'abc123def',
      'decision-known-secret-77',
      'eyJhbGciOi.abcdefghijk',
      'pa55word',
      'hunter2',
      'xoxb-1111-2222-abcdefabcdef',
      'AKIAABCDEFGHIJKLMNOP',
    ]) {
      expect(stored).not.toContain(secret);
    }
    expect(row).toMatchObject({ subject: 'deploy with token=[redacted]', detail: { count: 3, when: '2026-11-28T10:00:00.000Z' } });
    expect(String((row!.detail as { output: string }).output)).toContain('https://[redacted]@db.example/');
  });
});
