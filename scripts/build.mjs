#!/usr/bin/env node
// Builds the JavaScript production runs (`npm run build`; `npm install` and `npm ci` run it as `prepare`, and
// bin/scalebot.js runs it when the sources are newer than the build). Production then loads neither tsx nor esbuild.
//
// One esbuild pass over three entries: the CLI (bot/cli.ts) and the two worker threads' entries, split into shared
// chunks so that a module the bot imports lazily (`await import(...)`) is loaded only when it is used. Packages stay
// external: Node loads them from node_modules as npm installed them (native modules cannot be bundled anyway).
//
// Each build goes into a folder of its own, dist/b<start>-<pid>/, and becomes the one in use by the rename of
// dist/current.json: a bot starting meanwhile runs the old build or the new one, never half of one, and builds
// running in parallel do not trip over each other. A running bot keeps importing its lazy chunks from its own
// folder, so the last few builds are kept.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { CURRENT, DIST, ROOT, rebuildReason } from '../bin/build-state.js';

/** Builds kept besides the new one, for bots still running on them. */
const KEEP_OLDER_BUILDS = 3;

const ENTRIES = {
  cli: 'bot/cli.ts',
  'prometheus-thread': 'integrations/prometheus-thread.ts',
  'chart-thread': 'charts/chart-thread.ts',
};
/** The worker threads' entries as integrations/worker-bundle.ts names them, and their prebuilt scripts, both from the root. */
const WORKERS = ['prometheus-thread', 'chart-thread'];

/**
 * Our modules find files next to their source (config/*.yaml, the migrations, the worker entries) with
 * `import.meta.url`. Compiled, that would be the output file's URL; this gives each module its source file's URL
 * again, relative to the output (every output file is in dist/<build>/, two levels under the root), so the same
 * code finds the same files whether it runs from the sources or from dist/, and the build stays relocatable
 * (a Docker stage that copies the tree elsewhere).
 */
const sourceUrls = {
  name: 'import-meta-url-of-the-source',
  setup(context) {
    context.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'ts' };
      const fromOutput = `../../${relative(ROOT, args.path).split('\\').join('/')}`;
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromOutput)}, import.meta.url).href`), loader: 'ts' };
    });
  },
};

export async function buildBot() {
  const startedAtMs = Date.now();
  const name = `b${startedAtMs}-${process.pid}`;
  const outdir = join(DIST, name);
  mkdirSync(outdir, { recursive: true });
  try {
    await build({
      absWorkingDir: ROOT,
      entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([out, source]) => [out, join(ROOT, source)])),
      outdir,
      entryNames: '[name]',
      // In the entries' folder, not a subfolder: the `../../` above holds for every output file.
      chunkNames: '[name]-[hash]',
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: 'linked',
      logLevel: 'warning',
      define: {
        // The prebuilt worker scripts by their source entry (both from the root): read by integrations/worker-bundle.ts.
        SCALEBOT_PREBUILT_WORKERS: JSON.stringify(Object.fromEntries(WORKERS.map((worker) => [ENTRIES[worker], `dist/${name}/${worker}.js`]))),
      },
      plugins: [sourceUrls],
    });
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    throw error;
  }
  const pointer = `${CURRENT}.${process.pid}.tmp`;
  writeFileSync(pointer, `${JSON.stringify({ build: name, startedAtMs })}\n`);
  renameSync(pointer, CURRENT);
  pruneOlderBuilds(name);
  return { dir: outdir, startedAtMs, ms: Date.now() - startedAtMs };
}

function pruneOlderBuilds(current) {
  const older = readdirSync(DIST, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^b\d+-\d+$/.test(entry.name) && entry.name !== current)
    .map((entry) => ({ name: entry.name, mtimeMs: statSync(join(DIST, entry.name)).mtimeMs }))
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { name } of older.slice(KEEP_OLDER_BUILDS)) rmSync(join(DIST, name), { recursive: true, force: true });
}

// `--if-stale`: only when the build is missing or older than a source (the bench, which times the bot's start).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && !(process.argv.includes('--if-stale') && rebuildReason() === null)) {
  try {
    const { dir, ms } = await buildBot();
    process.stderr.write(`scalebot: built ${relative(ROOT, dir)} in ${ms} ms\n`);
  } catch (error) {
    process.stderr.write(`scalebot: the build failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
