import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStorage, ServeLockedError } from '../../db/storage.ts';

// One `serve` per SQLite file, with real processes: the second is refused while the first lives, and gets the
// file once the first is gone, however it went (kill -9 included). Readers open it all along.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVER = join(ROOT, 'tests', 'db', 'serve-lock-process.ts');

interface Served {
  readonly child: ChildProcess;
  /** "serving PID", or the refusal's message; and the exit code if it exited. */
  readonly outcome: Promise<{ line: string; code: number | null }>;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function databaseFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-serve-lock-'));
  dirs.push(dir);
  return join(dir, 'data', 'scalebot.db');
}

function serve(file: string): Served {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  let errors = '';
  const outcome = new Promise<{ line: string; code: number | null }>((resolvePromise, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.startsWith('serving ') && output.includes('\n')) resolvePromise({ line: output.trim(), code: null });
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.on('exit', (code) => (output ? resolvePromise({ line: output.trim(), code }) : reject(new Error(`exited ${code}: ${errors}`))));
  });
  return { child, outcome };
}

const exited = (child: ChildProcess) =>
  new Promise<void>((done) => (child.exitCode !== null || child.signalCode !== null ? done() : child.on('exit', () => done())));

describe('the SQLite serve lock', () => {
  it('refuses a second serve process on the same file, naming the first; readers still open it; after kill -9 the next one serves', async () => {
    const file = databaseFile();
    const first = serve(file);
    expect((await first.outcome).line).toBe(`serving ${first.child.pid}`);

    const second = serve(file);
    const refused = await second.outcome;
    expect(refused.code).toBe(3);
    expect(refused.line).toBe(
      `another scalebot serve process (pid ${first.child.pid}) is using ${file}; SQLite is one replica only: ` +
        'stop it, or run replicas on PostgreSQL (SCALEBOT_DB=postgres://…)',
    );

    // The CLI's status and history: a reader, no serve lock.
    const reader = openSqliteStorage(file);
    await reader.decisions.append({ at: new Date(), kind: 'command', actor: 'cli' });
    expect(await reader.decisions.list()).toHaveLength(1);
    await reader.close();

    first.child.kill('SIGKILL');
    await exited(first.child);
    const third = serve(file);
    expect((await third.outcome).line).toBe(`serving ${third.child.pid}`);
  });

  it('is given back on close, and refuses a second serving storage within one process too', async () => {
    const file = databaseFile();
    const serving = openSqliteStorage(file, { serving: true });
    expect(() => openSqliteStorage(file, { serving: true })).toThrow(ServeLockedError);
    await serving.close();
    const again = openSqliteStorage(file, { serving: true });
    expect(again.isOpen()).toBe(true);
    await again.close();
  });
});

describe('the lease a dead serve process left', () => {
  it('ends when the next serve process takes the file, keeping the token: the new one need not wait it out', async () => {
    const file = databaseFile();
    const first = openSqliteStorage(file, { serving: true });
    const { token } = await first.leases.acquire('dead-replica', 600_000);
    // A close that releases nothing but the serve lock stands in for kill -9: the lease row stays as it was.
    await first.close();
    const reader = openSqliteStorage(file);
    expect(await reader.leases.current()).toMatchObject({ holder: 'dead-replica', token });
    await reader.close();

    const next = openSqliteStorage(file, { serving: true });
    expect(await next.leases.current()).toMatchObject({ holder: null, token, ttlLeftMs: 0 });
    expect(await next.leases.acquire('next-replica', 10_000)).toMatchObject({ holder: 'next-replica', token: token + 1 });
    await next.close();
  });
});
