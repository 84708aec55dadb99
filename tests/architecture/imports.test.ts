// The house rules of the tree (README, "Project structure"), checked over the import graph of every source
// file: a rule broken anywhere fails here, naming the file and the import.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The code that ships or that people run (tests are checked only for what they import of bot/, not at all). */
const SOURCE_FOLDERS = ['bot', 'blocks', 'commands', 'core', 'services', 'integrations', 'charts', 'db', 'devkit', 'playground', 'bench'];

interface Import {
  readonly file: string;
  readonly specifier: string;
  /** The imported file relative to the root, for our own modules; null for packages and node: built-ins. */
  readonly target: string | null;
}

function sourceFiles(folder: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'migrations') walk(path);
      } else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) found.push(relative(ROOT, path));
    }
  };
  walk(join(ROOT, folder));
  return found;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found: Import[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = (match[1] ?? match[2])!;
    const target = specifier.startsWith('.')
      ? relative(ROOT, resolve(ROOT, dirname(file), specifier))
          .split(sep)
          .join('/')
      : null;
    found.push({ file, specifier, target });
  }
  return found;
}

const allImports = SOURCE_FOLDERS.flatMap(sourceFiles).flatMap(importsOf);
const topFolder = (path: string) => path.split('/')[0]!;
const isPackage = (specifier: string, names: readonly string[]) => names.some((name) => specifier === name || specifier.startsWith(`${name}/`));
const describeBroken = (imports: readonly Import[]) => imports.map(({ file, specifier }) => `${file} imports ${specifier}`);

describe('the import rules of the tree', () => {
  it('finds the imports it checks (a scanner that sees nothing would pass every rule)', () => {
    expect(allImports.length).toBeGreaterThan(300);
    expect(allImports).toContainEqual({ file: 'bot/main.ts', specifier: '../services/watcher.ts', target: 'services/watcher.ts' });
  });

  it('core imports nothing of ours outside core, and does no I/O of its own', () => {
    const broken = allImports.filter(
      ({ file, specifier, target }) =>
        topFolder(file) === 'core' &&
        ((target !== null && topFolder(target) !== 'core') ||
          isPackage(specifier, ['node:fs', 'node:child_process', 'node:http', 'node:https', 'node:worker_threads', 'fs', 'axios', 'pino'])),
    );
    expect(describeBroken(broken)).toEqual([]);
  });

  it('nothing but the entry points (bot/, playground/, bench/) imports bot/', () => {
    const broken = allImports.filter(
      ({ file, target }) => target !== null && topFolder(target) === 'bot' && !['bot', 'playground', 'bench'].includes(topFolder(file)),
    );
    expect(describeBroken(broken)).toEqual([]);
  });

  it('only integrations/ imports axios, ssh2 and node-ssh', () => {
    const broken = allImports.filter(({ file, specifier }) => topFolder(file) !== 'integrations' && isPackage(specifier, ['axios', 'ssh2', 'node-ssh']));
    expect(describeBroken(broken)).toEqual([]);
  });

  it('only db/ imports drizzle and the database drivers (better-sqlite3, pg)', () => {
    const broken = allImports.filter(
      ({ file, specifier }) => topFolder(file) !== 'db' && isPackage(specifier, ['drizzle-orm', 'better-sqlite3', 'pg', 'postgres']),
    );
    expect(describeBroken(broken)).toEqual([]);
  });

  it('the presentation (blocks/) and the domain (core/) stay pure: no Slack SDK, no services, no storage', () => {
    const broken = allImports.filter(
      ({ file, specifier, target }) =>
        ['blocks', 'core'].includes(topFolder(file)) &&
        (isPackage(specifier, ['@slack/bolt', '@slack/web-api']) ||
          (target !== null && ['services', 'db', 'integrations', 'commands'].includes(topFolder(target)))),
    );
    expect(describeBroken(broken)).toEqual([]);
  });

  it('services reach storage, Prometheus, SSH and Slack only through the ports', () => {
    const broken = allImports.filter(
      ({ file, specifier, target }) =>
        topFolder(file) === 'services' &&
        ((target !== null && ['db', 'integrations', 'commands'].includes(topFolder(target))) || isPackage(specifier, ['@slack/bolt', '@slack/web-api'])),
    );
    expect(describeBroken(broken)).toEqual([]);
  });
});
