// bin/scalebot.js builds the bot before it runs it when there is no build or a source is newer than the build, and
// only then; two bots started at once on a checkout with no build both run. On a copy of the checkout (the real
// one's dist/ is shared by every test that spawns the bot), with the real node_modules linked in.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCE_DIRS } from '../../bin/build-state.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
let checkout: string;

beforeAll(() => {
  checkout = mkdtempSync(join(tmpdir(), 'scalebot-rebuild-'));
  for (const path of [...SOURCE_DIRS, 'bin', 'config', 'scripts/build.mjs', 'package.json', 'tsconfig.json'])
    cpSync(join(ROOT, path), join(checkout, path), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
});

afterAll(() => rmSync(checkout, { recursive: true, force: true }));

function rules(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['bin/scalebot.js', 'rules'],
      { cwd: checkout, env: { PATH: process.env.PATH, HOME: process.env.HOME }, timeout: 60_000 },
      (error, stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

const built = () => (JSON.parse(readFileSync(join(checkout, 'dist', 'current.json'), 'utf8')) as { build: string }).build;

describe('bin/scalebot.js', () => {
  it('builds dist/ when there is none, even for two bots started at once, then runs it', async () => {
    const runs = await Promise.all([rules(), rules()]);
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('groups:');
      expect(run.stderr).toMatch(/building the bot into dist\/ first \(there is no build in dist\/ yet\)/);
    }
    expect(built()).toMatch(/^b\d+-\d+$/);
  }, 60_000);

  it('runs the build as it is while no source is newer, and rebuilds, saying which source, once one is', async () => {
    const before = built();
    const again = await rules();
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    expect(built()).toBe(before);

    const future = new Date(Date.now() + 5_000);
    utimesSync(join(checkout, 'core', 'redact.ts'), future, future);
    const rebuilt = await rules();
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toContain('(core/redact.ts changed since the last build)');
    expect(built()).not.toBe(before);
    expect(rebuilt.stdout).toBe(again.stdout);
  }, 60_000);
});
