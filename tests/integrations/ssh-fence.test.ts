// The leader's fencing token on the host (RunOptions.fenceToken) against the real loopback sshd: a replica
// whose token is lower than one the host has recorded starts nothing there, whatever the timing.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSsh, type RunOptions, type StepResult } from '../../integrations/ssh.ts';
import { startSshd, type SshdFixture } from '../../devkit/sshd/index.ts';

const LONG = process.env.SCALEBOT_LONG === '1';
const scratch = mkdtempSync(join(tmpdir(), 'scalebot-ssh-fence-'));
const home = join(scratch, 'home');
const locks = join(home, '.cache/scalebot/locks');
const fenceFile = () => join(locks, `${hostname()}-fence.token`);
const figures: string[] = [];
let sshd: SshdFixture;
const ssh = createSsh({ killAfterSeconds: 1 });

beforeAll(async () => {
  mkdirSync(home, { mode: 0o755 });
  sshd = await startSshd({ env: { HOME: home } });
});

afterAll(async () => {
  if (figures.length) console.info(figures.join('\n'));
  await sshd?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

// Each test starts from a host that has seen no token.
beforeEach(() => rmSync(fenceFile(), { force: true }));

let serial = 0;
function unique(prefix: string): string {
  serial += 1;
  return `${prefix}-${process.pid}-${serial}-${Math.floor(Math.random() * 1e6)}`;
}

function hostname(): string {
  return readFileSync('/proc/sys/kernel/hostname', 'utf8')
    .trim()
    .replace(/[^A-Za-z0-9_.-]/g, '');
}

/** Runs `touch MARKER` with the options; says whether the command ran by whether the marker exists. */
async function touch(options: Partial<RunOptions>): Promise<{ result: StepResult; ran: boolean }> {
  const marker = join(scratch, unique('ran'));
  const result = await ssh.run(sshd.host, `touch '${marker}'`, { timeoutSeconds: 10, ...options });
  return { result, ran: existsSync(marker) };
}

const FENCED = (highest: number, mine: number) =>
  new RegExp(
    `^not started on test-sshd .*: a newer leader \\(token ${highest}\\) has run steps on this host; ` +
      `this replica \\(token ${mine}\\) is no longer the leader, so the step was not started\\.$`,
  );

describe('the host keeps the highest fencing token it has seen', () => {
  it('runs 5, refuses 3 without running it, runs 5 again, 6, and a step with no token', async () => {
    const five = await touch({ fenceToken: 5 });
    expect(five).toMatchObject({ result: { outcome: 'succeeded' }, ran: true });
    expect(readFileSync(fenceFile(), 'utf8')).toBe('5\n');

    const three = await touch({ fenceToken: 3, lockKey: unique('run-1-steps-0') });
    expect(three.ran).toBe(false);
    expect(three.result).toMatchObject({ outcome: 'fenced', exitCode: null, signal: null, mayRunUntil: null, output: '' });
    expect(three.result.message).toMatch(FENCED(5, 3));
    expect(readFileSync(fenceFile(), 'utf8')).toBe('5\n');

    expect(await touch({ fenceToken: 5 })).toMatchObject({ result: { outcome: 'succeeded' }, ran: true });
    expect(await touch({ fenceToken: 6, lockKey: unique('run-1-steps-1') })).toMatchObject({ result: { outcome: 'succeeded' }, ran: true });
    expect(readFileSync(fenceFile(), 'utf8')).toBe('6\n');
    expect((await touch({ fenceToken: 5 })).result.message).toMatch(FENCED(6, 5));
    // No token: as before the fence existed (a step outside any leadership, e.g. SQLite's one replica).
    expect(await touch({})).toMatchObject({ result: { outcome: 'succeeded' }, ran: true });
    expect(readFileSync(fenceFile(), 'utf8')).toBe('6\n');
  });

  it('keeps one record per deployment (fenceScope): another deployment, or this one started afresh, is not refused by tokens it never issued', async () => {
    const scoped = (scope: string) => join(locks, `${hostname()}-fence-${scope}.token`);
    rmSync(scoped('aaaa1111'), { force: true });
    rmSync(scoped('bbbb2222'), { force: true });
    expect(await touch({ fenceToken: 9, fenceScope: 'aaaa1111' })).toMatchObject({ result: { outcome: 'succeeded' }, ran: true });
    expect(await touch({ fenceToken: 1, fenceScope: 'bbbb2222' })).toMatchObject({ result: { outcome: 'succeeded' }, ran: true });
    const stale = await touch({ fenceToken: 8, fenceScope: 'aaaa1111' });
    expect(stale.ran).toBe(false);
    expect(stale.result.message).toMatch(FENCED(9, 8));
    expect(readFileSync(scoped('aaaa1111'), 'utf8')).toBe('9\n');
    expect(readFileSync(scoped('bbbb2222'), 'utf8')).toBe('1\n');
    expect(existsSync(fenceFile())).toBe(false);
    // A scope goes into a file name and shell text: only [a-z0-9].
    await expect(ssh.run(sshd.host, 'true', { timeoutSeconds: 5, fenceToken: 1, fenceScope: '../x' })).rejects.toThrow(/fence scope/);
  });

  it('two steps of two leaders (7 and 8) on different lock keys at once: 8 always runs, 7 only if it was checked before 8 was recorded', async () => {
    let both = 0;
    let sevenFenced = 0;
    const rounds = LONG ? 40 : 8;
    for (let round = 0; round < rounds; round += 1) {
      rmSync(fenceFile(), { force: true });
      const [seven, eight] = await Promise.all([
        touch({ fenceToken: 7, lockKey: unique('run-2-steps-0') }),
        touch({ fenceToken: 8, lockKey: unique('run-3-steps-0') }),
      ]);
      expect(eight).toMatchObject({ result: { outcome: 'succeeded' }, ran: true });
      if (seven.result.outcome === 'fenced') {
        expect(seven.ran).toBe(false);
        expect(seven.result.message).toMatch(FENCED(8, 7));
        sevenFenced += 1;
      } else {
        expect(seven).toMatchObject({ result: { outcome: 'succeeded' }, ran: true });
        both += 1;
      }
      expect(readFileSync(fenceFile(), 'utf8')).toBe('8\n');
    }
    figures.push(`tokens 7 and 8 at once, ${rounds} rounds: both ran ${both}, 7 fenced ${sevenFenced}`);
  }, 60_000);

  it('no command with a token lower than one recorded earlier runs, for any tokens fired together (the checks in lock order)', async () => {
    // A flock that, once it holds the fence's lock (fd 8), notes the token the wrapper carries: the order of
    // those lines is the order in which the host checked and recorded the tokens.
    const order = join(scratch, 'fence-order');
    const shim = join(scratch, 'ordering-flock');
    writeFileSync(
      shim,
      '#!/bin/sh\nflock "$@"; rc=$?\n' +
        `if [ "$rc" -eq 0 ] && [ "$1" = -w ] && [ "$3" = 8 ]; then ` +
        `printf '%s\\n' "$(tr '\\0' ' ' < /proc/$PPID/cmdline | sed -n 's/.*"$sb_top" -gt \\([0-9]*\\).*/\\1/p')" >> '${order}'; fi\n` +
        'exit $rc\n',
      { mode: 0o755 },
    );
    const ordered = createSsh({ killAfterSeconds: 1, remoteFlockCommand: shim });
    let fired = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ token: fc.integer({ min: 1, max: 6 }), delay: fc.integer({ min: 0, max: 150 }), keyed: fc.boolean() }), {
          minLength: 2,
          maxLength: LONG ? 8 : 4,
        }),
        async (steps) => {
          rmSync(fenceFile(), { force: true });
          rmSync(order, { force: true });
          const ran = join(scratch, unique('ran-log'));
          const results = await Promise.all(
            steps.map(async ({ token, delay, keyed }) => {
              await new Promise((resolve) => setTimeout(resolve, delay));
              return ordered.run(sshd.host, `echo ${token} >> '${ran}'`, {
                timeoutSeconds: 10,
                fenceToken: token,
                ...(keyed ? { lockKey: unique('run-4-steps-0') } : {}),
              });
            }),
          );
          fired += steps.length;
          const checks = readFileSync(order, 'utf8').split('\n').filter(Boolean).map(Number);
          expect(checks.slice().sort()).toEqual(steps.map((s) => s.token).sort());
          // Walk the checks in the host's order: each runs iff no higher token was recorded before it.
          let highest = 0;
          const expectedRan: number[] = [];
          const expectedFenced: Array<[number, number]> = [];
          for (const token of checks) {
            if (token < highest) expectedFenced.push([token, highest]);
            else {
              expectedRan.push(token);
              highest = token;
            }
          }
          const ranTokens = existsSync(ran) ? readFileSync(ran, 'utf8').split('\n').filter(Boolean).map(Number) : [];
          expect(ranTokens.sort()).toEqual(expectedRan.slice().sort());
          const fenced = results.filter((r) => r.outcome === 'fenced');
          refused += fenced.length;
          expect(fenced.length).toBe(expectedFenced.length);
          expect(results.filter((r) => r.outcome === 'succeeded').length).toBe(expectedRan.length);
          const said = fenced.map((r) => /token (\d+)\) has run.*\(token (\d+)\)/.exec(r.message)!.slice(1).map(Number).reverse());
          expect(said.sort()).toEqual(expectedFenced.slice().sort());
          expect(readFileSync(fenceFile(), 'utf8')).toBe(`${Math.max(...steps.map((s) => s.token))}\n`);
        },
      ),
      { numRuns: LONG ? 40 : 6 },
    );
    figures.push(`fence property: ${fired} steps fired, ${refused} fenced, none ran after a higher token was recorded`);
  }, 120_000);
});

describe('what the fence refuses to guess', () => {
  it('takes only a plain whole number as the token', async () => {
    for (const fenceToken of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '5; touch /tmp/x' as unknown as number]) {
      await expect(ssh.run(sshd.host, 'true', { timeoutSeconds: 5, fenceToken })).rejects.toThrow(/fenceToken/);
    }
  });

  it('refuses to start when the recorded token is unreadable, or the host has no flock: it fails closed', async () => {
    mkdirSync(locks, { recursive: true, mode: 0o700 });
    writeFileSync(fenceFile(), 'garbage\n');
    const corrupt = await touch({ fenceToken: 9 });
    expect(corrupt.ran).toBe(false);
    expect(corrupt.result.outcome).toBe('failed');
    expect(corrupt.result.message).toMatch(/fencing file holds something other than a token.*\(.*-fence\.token\)\. The command was NOT started\.$/);
    writeFileSync(fenceFile(), `${'9'.repeat(17)}\n`);
    expect((await touch({ fenceToken: 9 })).ran).toBe(false);

    rmSync(fenceFile(), { force: true });
    const noFlock = createSsh({ remoteFlockCommand: 'scalebot-no-such-flock' });
    const marker = join(scratch, unique('ran'));
    const refused = await noFlock.run(sshd.host, `touch '${marker}'`, { timeoutSeconds: 5, fenceToken: 9 });
    expect(refused.outcome).toBe('failed');
    expect(refused.message).toMatch(/no `scalebot-no-such-flock` command .*fencing token there\. The command was NOT started\.$/);
    expect(existsSync(marker)).toBe(false);
  });

  it('keeps the record when old lock files are swept', async () => {
    await touch({ fenceToken: 12 });
    // Older than the sweep's 8 days: a slot file would go, the fence must not.
    const old = new Date(Date.now() - 30 * 86400_000);
    utimesSync(fenceFile(), old, old);
    utimesSync(`${fenceFile().replace(/\.token$/, '.flock')}`, old, old);
    await touch({ fenceToken: 12, lockKey: unique('run-5-steps-0') });
    expect(readFileSync(fenceFile(), 'utf8')).toBe('12\n');
    expect((await touch({ fenceToken: 11 })).result.outcome).toBe('fenced');
  });
});
