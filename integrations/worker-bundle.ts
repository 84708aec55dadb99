import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

/**
 * The worker entries that scripts/build.mjs prebuilt, by their path from the root, each to its script (from the
 * root too). Defined only in the compiled bot (esbuild's `define`): under tsx or vitest the name is undeclared.
 */
declare const SCALEBOT_PREBUILT_WORKERS: Readonly<Record<string, string>> | undefined;

/** The repository's root: compiled, import.meta.url is still this source file's (scripts/build.mjs sees to it). */
const ROOT = new URL('../', import.meta.url);

/** What `new Worker(script, { eval })` takes: a prebuilt file, or code bundled in this process. */
export interface WorkerScript {
  readonly script: URL | string;
  readonly eval: boolean;
}

/**
 * A worker thread's script. The compiled bot runs the worker that scripts/build.mjs built beside it; from the
 * sources (tests, `SCALEBOT_FROM_SOURCE=1`) the entry is bundled here by esbuild, which is then imported: never
 * in the compiled bot, which loads neither tsx nor esbuild. An entry with no prebuilt script (a test's) is
 * bundled either way.
 */
export function workerScript(entry: URL, plugins: readonly Plugin[] = []): Promise<WorkerScript> {
  const prebuilt = typeof SCALEBOT_PREBUILT_WORKERS === 'undefined' ? undefined : SCALEBOT_PREBUILT_WORKERS[entry.href.slice(ROOT.href.length)];
  if (prebuilt && entry.href.startsWith(ROOT.href)) return Promise.resolve({ script: new URL(prebuilt, ROOT), eval: false });
  return bundleWorker(entry, plugins).then((code) => ({ script: code, eval: true }));
}

const bundles = new Map<string, Promise<string>>();
/** Bundles being built, by every worker of the process: esbuild is stopped only when none is. */
let bundling = 0;

/**
 * A worker's code, bundled once per process into one CommonJS script by esbuild, which tsx already brings: a
 * worker inherits neither tsx's hooks nor vitest's and Node 20 refuses a .ts entry; registering tsx in the
 * worker worked, but cost a hooks thread and 56 MB of RSS, against 38 MB for the bundle (README, "Benchmarks").
 * esbuild's async API runs in its own process, so the event loop is not held while it bundles; that process
 * holds 54 MB once it has bundled, so it is stopped when no bundle is being built, by any of the process's
 * workers (the Prometheus worker's and the chart worker's share this count: stopping esbuild under the other's
 * build would fail it). A failed bundle is not kept: the next worker tries again.
 */
export function bundleWorker(entry: URL, plugins: readonly Plugin[] = []): Promise<string> {
  let bundle = bundles.get(entry.href);
  if (!bundle) {
    bundling += 1;
    bundle = import('esbuild')
      .then(({ build }) =>
        build({
          entryPoints: [fileURLToPath(entry)],
          bundle: true,
          platform: 'node',
          format: 'cjs',
          target: 'node20',
          write: false,
          logLevel: 'silent',
          plugins: [...plugins],
        }),
      )
      .then((result) => result.outputFiles[0]!.text)
      .finally(async () => {
        bundling -= 1;
        if (bundling === 0) await (await import('esbuild')).stop();
      });
    bundle.catch(() => bundles.delete(entry.href));
    bundles.set(entry.href, bundle);
  }
  return bundle;
}
