// Builds the compiled bot once before any test file runs, when it is missing or older than the sources: tests that
// spawn `node bin/scalebot.js` (as production runs it) then find it ready, rather than each building it at once.
import { spawnSync } from 'node:child_process';
import { BUILD_SCRIPT, rebuildReason, ROOT } from '../../bin/build-state.js';

export default function buildTheBotOnce(): void {
  const reason = rebuildReason();
  if (!reason) return;
  process.stderr.write(`building the bot into dist/ before the tests (${reason})\n`);
  const result = spawnSync(process.execPath, [BUILD_SCRIPT], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0)
    throw new Error(`scripts/build.mjs failed (${result.error?.message ?? `exit ${result.status}`}): the tests that run the bot would fail`);
}
