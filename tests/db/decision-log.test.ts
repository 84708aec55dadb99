import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../db/client.ts';
import { registerSecrets } from '../../core/redact.ts';
import { appendDecision, flushDecisions, listDecisions, recordDecision } from '../../db/decision-log.ts';

const handles: DatabaseHandle[] = [];
afterEach(() => {
  for (const handle of handles.splice(0)) handle.close();
});

function open(file = join(mkdtempSync(join(tmpdir(), 'scalebot-db-')), 'nested', 'scalebot.db')) {
  const handle = openDatabase(file);
  handles.push(handle);
  return { handle, file };
}

describe('the decision log', () => {
  it('opens a real SQLite file (creating its folder) in WAL mode with synchronous=FULL', () => {
    const { handle } = open();
    expect(handle.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(handle.sqlite.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('records and lists decisions newest first, filtered by kind', () => {
    const { handle } = open();
    recordDecision(handle.db, {
      at: new Date('2026-11-28T10:00:00Z'),
      kind: 'command',
      actor: 'U1',
      channel: 'C1',
      subject: 'status',
      outcome: 'ok',
      detail: { args: [] },
    });
    recordDecision(handle.db, { at: new Date('2026-11-28T10:01:00Z'), kind: 'ack', actor: 'U2', subject: 'cpu' });
    expect(listDecisions(handle.db).map((row) => row.kind)).toEqual(['ack', 'command']);
    const [command] = listDecisions(handle.db, { kinds: ['command'] });
    expect(command).toMatchObject({ actor: 'U1', channel: 'C1', subject: 'status', outcome: 'ok', detail: { args: [] } });
    expect(command?.at.toISOString()).toBe('2026-11-28T10:00:00.000Z');
  });

  it('appends the rows asked for within its window in one commit, resolving once committed', async () => {
    const { handle, file } = open();
    const walBytes = () => statSync(`${file}-wal`).size;
    const before = walBytes();
    // Asked for over several turns of the event loop, as the answers of a burst are sent one a turn.
    const appended: Array<Promise<number>> = [];
    for (let index = 0; index < 50; index += 1) {
      appended.push(appendDecision(handle.db, { at: new Date(), kind: 'command', actor: `U${index}` }));
      if (index % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
    }
    const ids = await Promise.all(appended);
    const batched = walBytes() - before;
    expect(
      listDecisions(handle.db, { limit: 100 })
        .map((row) => row.actor)
        .reverse(),
    ).toEqual(ids.map((_, index) => `U${index}`));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // The same 50 rows a commit each: every commit writes its own WAL frames (a page and a header each).
    const middle = walBytes();
    for (let index = 0; index < 50; index += 1) recordDecision(handle.db, { at: new Date(), kind: 'command', actor: `V${index}` });
    const oneByOne = walBytes() - middle;
    expect(oneByOne).toBeGreaterThanOrEqual(50 * 4096);
    expect(batched).toBeLessThan(oneByOne / 10);
  });

  it('fails a row that cannot be written alone, not the rows committed with it', async () => {
    const { handle } = open();
    const results = await Promise.allSettled([
      appendDecision(handle.db, { at: new Date(), kind: 'command', actor: 'U1' }),
      appendDecision(handle.db, { at: new Date(), kind: 'command', actor: 'U2', detail: { count: 1n } }),
      appendDecision(handle.db, { at: new Date(), kind: 'command', actor: 'U3' }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(listDecisions(handle.db).map((row) => row.actor)).toEqual(['U3', 'U1']);
  });

  it('commits the waiting rows when flushed, before the database closes', async () => {
    const { handle, file } = open();
    const appended = appendDecision(handle.db, { at: new Date(), kind: 'command', actor: 'U1' });
    flushDecisions(handle.db);
    handle.close();
    handles.splice(0);
    await expect(appended).resolves.toBeGreaterThan(0);
    const reopened = open(file).handle;
    expect(listDecisions(reopened.db).map((row) => row.actor)).toEqual(['U1']);
  });

  it('is append-only: SQLite itself refuses UPDATE and DELETE', () => {
    const { handle } = open();
    recordDecision(handle.db, { at: new Date(), kind: 'command', actor: 'U1' });
    expect(() => handle.sqlite.prepare("UPDATE decision_log SET actor = 'U9'").run()).toThrow(/append-only/);
    expect(() => handle.sqlite.prepare('DELETE FROM decision_log').run()).toThrow(/append-only/);
    expect(listDecisions(handle.db)[0]?.actor).toBe('U1');
  });

  it('keeps what was written across a reopen, and migrating twice is harmless', () => {
    const { handle, file } = open();
    recordDecision(handle.db, { at: new Date(), kind: 'command', actor: 'U1' });
    handle.close();
    handles.splice(handles.indexOf(handle), 1);
    const { handle: again } = open(file);
    expect(listDecisions(again.db)).toHaveLength(1);
  });

  it('stores no secret: subject, outcome and detail are scrubbed before the row is written, and stay so', () => {
    const { handle } = open();
    registerSecrets(['decision-known-secret-77']);
    recordDecision(handle.db, {
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
    const [row] = listDecisions(handle.db);
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
