import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../db/client.ts';
import { listDecisions, recordDecision } from '../../db/decision-log.ts';

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
    recordDecision(handle.db, { at: new Date('2026-11-28T10:00:00Z'), kind: 'command', actor: 'U1', channel: 'C1', subject: 'status', outcome: 'ok', detail: { args: [] } });
    recordDecision(handle.db, { at: new Date('2026-11-28T10:01:00Z'), kind: 'ack', actor: 'U2', subject: 'cpu' });
    expect(listDecisions(handle.db).map((row) => row.kind)).toEqual(['ack', 'command']);
    const [command] = listDecisions(handle.db, { kinds: ['command'] });
    expect(command).toMatchObject({ actor: 'U1', channel: 'C1', subject: 'status', outcome: 'ok', detail: { args: [] } });
    expect(command?.at.toISOString()).toBe('2026-11-28T10:00:00.000Z');
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
});
