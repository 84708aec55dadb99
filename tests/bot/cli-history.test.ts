import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/client.ts';
import { recordDecision } from '../../db/decision-log.ts';

// `npx scalebot history --json`: the decision log from the command line, through the real entry point
// (bin/scalebot.js, as npx runs it) on a SQLite file written by db/decision-log.ts. Each run pays tsx and the
// bot's imports (2-3 s of CPU), hence the generous timeouts on a busy 2-core machine.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let databaseFile: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function scalebot(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/scalebot.js', ...args],
      // Only what the command needs: no SCALEBOT_DB or SCALEBOT_CONFIG from the caller's environment.
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

interface Row {
  id: number;
  at: string;
  kind: string;
  actor: string;
  channel: string | null;
  subject: string | null;
  outcome: string | null;
  detail: Record<string, unknown>;
}

const parse = (run: Run): Row[] => {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as Row[];
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scalebot-cli-history-'));
  databaseFile = join(dir, 'scalebot.db');
  const database = openDatabase(databaseFile);
  const at = (minute: number) => new Date(Date.UTC(2026, 2, 14, 10, minute, 0));
  try {
    recordDecision(database.db, {
      at: at(0),
      kind: 'run_requested',
      actor: 'U0REQ',
      channel: 'C0OPS',
      subject: 'add-read-replica',
      outcome: 'planned',
      detail: { run_id: 1, params: { replica: 'db-2' } },
    });
    recordDecision(database.db, {
      at: at(1),
      kind: 'approval',
      actor: 'U0LEAD',
      channel: 'C0OPS',
      subject: 'add-read-replica',
      outcome: 'approved',
      detail: { run_id: 1, trigger_snapshot: { verdict: 'scale_soon' } },
    });
    recordDecision(database.db, {
      at: at(2),
      kind: 'step_finished',
      actor: 'scalebot',
      channel: 'C0OPS',
      subject: 'add-read-replica',
      outcome: 'succeeded',
      detail: { run_id: 1, step: 'create-user', exit_code: 0 },
    });
    recordDecision(database.db, {
      at: at(3),
      kind: 'step_finished',
      actor: 'scalebot',
      channel: 'C0OPS',
      subject: 'add-read-replica',
      outcome: 'failed',
      detail: { run_id: 1, step: 'basebackup', exit_code: 1 },
    });
    recordDecision(database.db, { at: at(4), kind: 'unlock', actor: 'U0ADMIN', subject: 'db-2', outcome: 'force_released', detail: { run_id: 1 } });
  } finally {
    database.close();
  }
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('scalebot history --json', () => {
  it('prints the decision log as a JSON array, newest first, with kind, actor, subject, outcome and detail', async () => {
    const rows = parse(await scalebot(['history', '--json'], { SCALEBOT_DB: databaseFile }));
    expect(rows.map((row) => row.kind)).toEqual(['unlock', 'step_finished', 'step_finished', 'approval', 'run_requested']);
    expect(rows.map((row) => row.id)).toEqual([5, 4, 3, 2, 1]);
    expect(rows[0]).toEqual({
      id: 5,
      at: '2026-03-14T10:04:00.000Z',
      kind: 'unlock',
      actor: 'U0ADMIN',
      channel: null,
      subject: 'db-2',
      outcome: 'force_released',
      detail: { run_id: 1 },
    });
    expect(rows[3]).toMatchObject({
      kind: 'approval',
      actor: 'U0LEAD',
      subject: 'add-read-replica',
      outcome: 'approved',
      detail: { run_id: 1, trigger_snapshot: { verdict: 'scale_soon' } },
    });
    expect(rows[4]).toMatchObject({
      at: '2026-03-14T10:00:00.000Z',
      kind: 'run_requested',
      actor: 'U0REQ',
      channel: 'C0OPS',
      detail: { params: { replica: 'db-2' } },
    });
  }, 60_000);

  it('filters by --kind (one or several) and limits with --limit', async () => {
    const [steps, several, limited, both] = await Promise.all([
      scalebot(['history', '--json', '--kind', 'step_finished'], { SCALEBOT_DB: databaseFile }),
      scalebot(['history', '--json', '--kind', 'approval', 'unlock'], { SCALEBOT_DB: databaseFile }),
      scalebot(['history', '--json', '--limit', '2'], { SCALEBOT_DB: databaseFile }),
      scalebot(['history', '--json', '--kind', 'step_finished', '--limit', '1'], { SCALEBOT_DB: databaseFile }),
    ]);
    expect(parse(steps).map((row) => [row.kind, row.outcome, row.detail.step])).toEqual([
      ['step_finished', 'failed', 'basebackup'],
      ['step_finished', 'succeeded', 'create-user'],
    ]);
    expect(parse(several).map((row) => row.kind)).toEqual(['unlock', 'approval']);
    expect(parse(limited).map((row) => row.id)).toEqual([5, 4]);
    expect(parse(both).map((row) => [row.id, row.detail.step])).toEqual([[4, 'basebackup']]);
  }, 90_000);

  it('exits 1 with "no database at" when the database file does not exist, and creates none', async () => {
    const missing = join(dir, 'nowhere', 'scalebot.db');
    const run = await scalebot(['history', '--json'], { SCALEBOT_DB: missing });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`no database at ${missing}`);
    expect(existsSync(missing)).toBe(false);
  }, 60_000);

  it('refuses a --limit that is not a count', async () => {
    const run = await scalebot(['history', '--json', '--limit', 'lots'], { SCALEBOT_DB: databaseFile });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--limit "lots" is not a count');
  }, 60_000);
});
