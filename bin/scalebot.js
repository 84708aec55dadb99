#!/usr/bin/env node
// Runs the compiled bot (dist/, built by scripts/build.mjs): production loads neither tsx nor esbuild. When the
// build is missing or older than the sources it is rebuilt first, in a child process (esbuild stays out of this
// one), with a line on stderr (stdout is the CLI's: `scalebot status --json` must stay parseable).
// SCALEBOT_FROM_SOURCE=1 runs the TypeScript sources through tsx instead, as the tests do.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { BUILD_SCRIPT, currentBuild, ROOT, rebuildReason } from './build-state.js';

async function compiledCli() {
  let build = currentBuild();
  const reason = rebuildReason(build);
  if (reason && existsSync(BUILD_SCRIPT)) {
    process.stderr.write(`scalebot: building the bot into dist/ first (${reason}); this takes a few seconds…\n`);
    const result = spawnSync(process.execPath, [BUILD_SCRIPT], { cwd: ROOT, stdio: ['ignore', 2, 2] });
    if (result.status !== 0) {
      process.stderr.write(
        `scalebot: could not build dist/ in ${ROOT} (${result.error?.message ?? `exit ${result.status ?? result.signal}`}). ` +
          'Run `npm run build` there as the user who owns the checkout, or `SCALEBOT_FROM_SOURCE=1` to run the sources through tsx.\n',
      );
      process.exit(1);
    }
    build = currentBuild();
  }
  if (!build) {
    // Neither a build nor the build script (an install that copied too little).
    process.stderr.write(`scalebot: there is no build in ${ROOT}/dist and no scripts/build.mjs to make one: run \`npm ci\` in a checkout.\n`);
    process.exit(1);
  }
  return import(pathToFileURL(`${build.dir}/cli.js`).href);
}

async function sourceCli() {
  const { register } = await import('tsx/esm/api');
  register();
  return import('../bot/cli.ts');
}

const { main } = process.env.SCALEBOT_FROM_SOURCE === '1' ? await sourceCli() : await compiledCli();
await main(process.argv.slice(2));
