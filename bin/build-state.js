// Where the compiled bot is and whether it is older than its sources. Plain JavaScript with no dependency: the
// bin reads it at every start (a few ms: ~300 stats), and scripts/build.mjs records a build through it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, 'dist');
/** Names the build in use; replaced by a rename, so a reader sees the old build or the new one, never half of one. */
export const CURRENT = join(DIST, 'current.json');
export const BUILD_SCRIPT = join(ROOT, 'scripts', 'build.mjs');

/** The folders whose TypeScript the build compiles (what bot/cli.ts and the worker threads import). */
export const SOURCE_DIRS = ['bot', 'blocks', 'charts', 'commands', 'core', 'db', 'integrations', 'services'];
/** Files that change the output without being imported by it. */
const BUILD_INPUTS = [BUILD_SCRIPT, join(ROOT, 'bin', 'build-state.js')];

/**
 * The build in use: its folder under dist/ and when it started reading the sources (a source changed after
 * that makes it stale, including one saved while it was building). Null when there is none.
 * @returns {{ dir: string, startedAtMs: number } | null}
 */
export function currentBuild() {
  let pointer;
  try {
    pointer = JSON.parse(readFileSync(CURRENT, 'utf8'));
  } catch {
    return null;
  }
  if (typeof pointer?.build !== 'string' || typeof pointer.startedAtMs !== 'number') return null;
  const dir = join(DIST, pointer.build);
  return existsSync(join(dir, 'cli.js')) ? { dir, startedAtMs: pointer.startedAtMs } : null;
}

/**
 * The most recently modified source, or null when there are no sources (an image that ships only dist/).
 * @returns {{ file: string, mtimeMs: number } | null}
 */
export function newestSource() {
  let newest = null;
  const consider = (file, mtimeMs) => {
    if (!newest || mtimeMs > newest.mtimeMs) newest = { file, mtimeMs };
  };
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) consider(path, statSync(path).mtimeMs);
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(ROOT, dir));
  if (newest === null) return null;
  for (const file of BUILD_INPUTS) if (existsSync(file)) consider(file, statSync(file).mtimeMs);
  return newest;
}

/**
 * Why the bot must be built before it runs, or null when the build in use is up to date.
 * @returns {string | null}
 */
export function rebuildReason(build = currentBuild()) {
  if (!build) return 'there is no build in dist/ yet';
  const source = newestSource();
  if (source && source.mtimeMs > build.startedAtMs) return `${source.file.slice(ROOT.length + 1)} changed since the last build`;
  return null;
}
