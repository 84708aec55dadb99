import { fileURLToPath } from 'node:url';
import { build, type Plugin, stop as stopEsbuild } from 'esbuild';

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
    bundle = build({
      entryPoints: [fileURLToPath(entry)],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      logLevel: 'silent',
      plugins: [...plugins],
    })
      .then((result) => result.outputFiles[0]!.text)
      .finally(async () => {
        bundling -= 1;
        if (bundling === 0) await stopEsbuild();
      });
    bundle.catch(() => bundles.delete(entry.href));
    bundles.set(entry.href, bundle);
  }
  return bundle;
}
