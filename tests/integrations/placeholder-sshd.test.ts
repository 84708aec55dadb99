// The placeholder promise over the real path a step takes: rendered by the plan, sent by createSsh to a real
// sshd on loopback, run by the remote shell (dash as sh, and bash). No generated value may create the sentinel.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSsh } from '../../integrations/ssh.ts';
import { batchScripts, CONTEXTS, hostileValue, plan, TYPES, type Attempt } from '../core/placeholder-cases.ts';
import { startSshd, type SshdFixture } from '../../devkit/sshd/index.ts';

const LONG = process.env.SCALEBOT_LONG === '1';
const dir = mkdtempSync(join(tmpdir(), 'scalebot-placeholder-sshd-'));
const sentinel = join(dir, 'SENTINEL');
const ssh = createSsh();
let sshd: SshdFixture;
let executed = 0;

beforeAll(async () => {
  sshd = await startSshd();
}, 30_000);

afterAll(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function runOverSsh(commands: readonly string[]): Promise<void> {
  // Small batches: the script travels as one argument of the remote `sh -c`, under the kernel's 128 KiB limit.
  for (const script of batchScripts(commands, 100)) {
    const result = await ssh.run(sshd.host, script, { timeoutSeconds: 280 });
    expect(result.outcome, `${result.message}\n${result.output.slice(-500)}`).toBe('succeeded');
    expect(result.output.trim().split('\n').at(-1)).toBe('batch-done');
  }
  executed += commands.length * 2;
}

const accepted = (attempts: readonly Attempt[]) => attempts.flatMap((attempt) => ('command' in attempt.outcome ? [attempt.outcome.command] : []));

describe('rendered placeholders run over SSH on the loopback sshd', () => {
  it('sees a value that runs when it is not quoted (the check can fail)', async () => {
    await runOverSsh([`n=a[$(touch ${sentinel})]; (( n = n )) ; true`]);
    expect(existsSync(sentinel)).toBe(true);
    rmSync(sentinel);
  }, 60_000);

  it(
    'no context × type × generated hostile value creates the sentinel',
    async () => {
      const values = fc.sample(hostileValue(sentinel), { numRuns: LONG ? 100 : 10, seed: 7 });
      const attempts = CONTEXTS.flatMap((context) => TYPES.flatMap((type) => values.map((value) => plan(context, type, value, sentinel))));
      const generated = fc.sample(
        fc
          .tuple(fc.constantFrom(...CONTEXTS), fc.constantFrom(...TYPES), hostileValue(sentinel))
          .map(([context, type, value]) => plan(context, type, value, sentinel)),
        { numRuns: LONG ? 5_000 : 600, seed: 8 },
      );
      await runOverSsh(accepted([...attempts, ...generated]));
      expect(existsSync(sentinel)).toBe(false);
      console.info(
        `placeholder-sshd: ${attempts.length + generated.length} plans over ${CONTEXTS.length} contexts × ${TYPES.length} types, ` +
          `${executed / 2} accepted commands, ${executed} shell runs (bash and dash) over SSH`,
      );
    },
    LONG ? 900_000 : 120_000,
  );
});
