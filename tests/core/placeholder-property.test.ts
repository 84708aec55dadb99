// No value a person types into `/scale run` ever runs as code: for every placeholder context and every
// parameter type, generated hostile values are either refused by the plan or, rendered and executed for real
// with bash and dash, never create the sentinel file. (Over SSH: tests/integrations/placeholder-sshd.test.ts.)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { batchScripts, CONTEXTS, hostileValue, plan, TYPES, type Attempt } from './placeholder-cases.ts';

const LONG = process.env.SCALEBOT_LONG === '1';
const dir = mkdtempSync(join(tmpdir(), 'scalebot-placeholder-'));
const sentinel = join(dir, 'SENTINEL');
let executed = 0;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runLocally(attempts: readonly Attempt[]): void {
  const commands = attempts.flatMap((attempt) => ('command' in attempt.outcome ? [attempt.outcome.command] : []));
  if (commands.length === 0) return;
  for (const batch of batchScripts(commands)) {
    const script = join(dir, 'batch.sh');
    writeFileSync(script, batch);
    const out = execFileSync('sh', [script], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    expect(out.trim().split('\n').at(-1)).toBe('batch-done');
  }
  executed += commands.length * 2;
}

function sentinelMade(attempts: readonly Attempt[]): boolean {
  if (!existsSync(sentinel)) return false;
  rmSync(sentinel);
  // Name the culprit for the report: run the accepted ones one by one.
  for (const attempt of attempts) {
    runLocally([attempt]);
    if (existsSync(sentinel))
      throw new Error(`ran as code: ${attempt.context} ${attempt.type} ${JSON.stringify(attempt.value)} → ${JSON.stringify(attempt.outcome)}`);
  }
  return true;
}

describe('placeholders against hostile values, executed with bash and dash', () => {
  it('the sentinel check itself sees a value that runs (unquoted rendering creates it)', () => {
    runLocally([{ context: 'control', type: 'string', value: '', outcome: { command: `x=a[$(touch ${sentinel})]; (( n = x ))` } }]);
    expect(existsSync(sentinel)).toBe(true);
    rmSync(sentinel);
  });

  it('every context × every type × a sample of hostile values: refused, or inert when run', { timeout: LONG ? 600_000 : 180_000 }, () => {
    const attempts: Attempt[] = [];
    const values = fc.sample(hostileValue(sentinel), { numRuns: LONG ? 200 : 16, seed: 12 });
    for (const context of CONTEXTS) for (const type of TYPES) for (const value of values) attempts.push(plan(context, type, value, sentinel));
    runLocally(attempts);
    expect(sentinelMade(attempts)).toBe(false);
    // What the plan let through where bash re-reads text: only int values (and plain words in code contexts).
    const accepted = attempts.filter((attempt) => 'command' in attempt.outcome);
    expect(accepted.length).toBeGreaterThan(100);
    const evaluating = new Set([
      '(( ))',
      '$(( ))',
      '$[ ]',
      'let',
      '[[ -eq ]]',
      '[[ -v ]]',
      'test -v',
      'array subscript assignment',
      'compound array assignment',
      'declare -i',
      'integer variable',
      'variable then $(( ))',
      '$1 then $(( ))',
      'for (( ))',
      'substring offset',
      'indirection',
      'nameref',
      'read',
      'printf -v',
      'declare name',
    ]);
    for (const attempt of accepted.filter((a) => evaluating.has(a.context))) expect(attempt.type).toBe('int');
    const code = new Set(['eval', 'bash -c', 'sh -c', 'trap']);
    for (const attempt of accepted.filter((a) => code.has(a.context))) expect(['int', 'ip', 'hostname', 'host']).toContain(attempt.type);
    console.info(
      `placeholder-property: ${attempts.length} plans (${CONTEXTS.length} contexts × ${TYPES.length} types × ${values.length} values), ` +
        `${accepted.length} accepted, ${executed} shell runs`,
    );
  });

  it('generated batches of (context, type, value) never run as code', { timeout: LONG ? 600_000 : 180_000 }, () => {
    const attempt = fc
      .tuple(fc.constantFrom(...CONTEXTS), fc.constantFrom(...TYPES), hostileValue(sentinel))
      .map(([context, type, value]) => plan(context, type, value, sentinel));
    fc.assert(
      fc.property(fc.array(attempt, { minLength: 20, maxLength: 40 }), (attempts) => {
        runLocally(attempts);
        return !sentinelMade(attempts);
      }),
      { numRuns: LONG ? 300 : 20 },
    );
  });
});
