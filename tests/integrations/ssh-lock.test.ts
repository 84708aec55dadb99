// The per-run, per-step host lock (RunOptions.lockKey) against the real loopback sshd: never two copies of
// one step on a host, whatever the timing, a half-open link included.
import { spawn } from 'node:child_process';
import { chownSync, existsSync, readdirSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRemoteCommand, createSsh, NO_TIME_BOUND, type RunOptions, type SshHost, type SshPort, type StepResult } from '../../integrations/ssh.ts';
import { killMatching, processesMatching, startSshd, waitProcessesGone, type SshdFixture } from '../../devkit/sshd/index.ts';

const LONG = process.env.SCALEBOT_LONG === '1';
const scratch = mkdtempSync(join(tmpdir(), 'scalebot-ssh-lock-'));
// The sessions' HOME: lock files land in HOME/.cache/scalebot/locks, inside the test's dir.
const home = join(scratch, 'home');
const markers: string[] = [];
const figures: string[] = [];
let sshd: SshdFixture;
const ssh = createSsh({ killAfterSeconds: 1 });

beforeAll(async () => {
  mkdirSync(home, { mode: 0o755 });
  sshd = await startSshd({ env: { HOME: home } });
});

afterAll(async () => {
  if (figures.length) console.info(figures.join('\n'));
  for (const m of markers) killMatching(m);
  await sshd?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

let serial = 0;
function unique(prefix: string): string {
  serial += 1;
  return `${prefix}-${process.pid}-${serial}-${Math.floor(Math.random() * 1e6)}`;
}

/** A unique sleep duration: it shows in the remote processes' command lines, so /proc finds them. */
function marker(): string {
  const m = `60.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}3`;
  markers.push(m);
  return m;
}

/** The command's own processes, without the wrapper's watchdog (whose command line is the whole wrapper). */
function commandProcesses(m: string): Array<{ pid: number; cmdline: string }> {
  return processesMatching(m).filter((p) => !p.cmdline.includes('__scalebot_pgid_'));
}

/** Lines of a counter file: every start of a command appends its holder PID ($PPID is the remote `timeout`). */
function starts(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

function run(port: SshPort, host: SshHost, command: string, options: RunOptions): Promise<StepResult> {
  return port.run(host, command, options);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('one attempt per lockKey on the host', () => {
  it(
    'N attempts fired together with one key: exactly one starts, every other is refused and names it',
    async () => {
      let rounds = 0;
      let fired = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 2, maxLength: LONG ? 10 : 4 }), async (delays) => {
          rounds += 1;
          fired += delays.length;
          const key = unique('run-12-steps-3');
          const counter = join(scratch, `${key}.starts`);
          const release = join(scratch, `${key}.release`);
          // The one that runs waits until the others have been answered: any second start would overlap it.
          const command = `echo "$PPID" >> '${counter}'; while [ ! -e '${release}' ]; do sleep 0.05; done; echo done`;
          const results: StepResult[] = [];
          const attempts = delays.map(async (delay) => {
            await sleep(delay);
            const result = await run(ssh, sshd.host, command, { timeoutSeconds: 30, lockKey: key });
            results.push(result);
            return result;
          });
          const deadline = Date.now() + 15_000;
          while (results.length < delays.length - 1 && Date.now() < deadline) await sleep(50);
          writeFileSync(release, '');
          const all = await Promise.all(attempts);
          const started = starts(counter);
          expect(started).toHaveLength(1);
          const holderPid = Number(started[0]);
          expect(all.filter((r) => r.outcome === 'succeeded')).toHaveLength(1);
          const refused = all.filter((r) => r.outcome === 'already_running');
          expect(refused).toHaveLength(delays.length - 1);
          for (const r of refused) {
            expect(r.lockHolder).toMatchObject({ pid: holderPid, alive: true });
            expect(r.lockHolder!.lockFile).toBe(join(home, '.cache/scalebot/locks', `${hostname()}-${key}.lock`));
            // The holder's bound: 30 s timeout + 1 s kill-after from its start.
            expect(r.lockHolder!.until!.getTime() - r.lockHolder!.since!.getTime()).toBe(31_000);
            expect(r.mayRunUntil).toBeNull();
            expect(r.exitCode).toBeNull();
            expect(r.output).toBe('');
            expect(r.message).toMatch(
              new RegExp(
                `^not started on test-sshd .*: another attempt of this step \\(lock ${key}\\) still runs there: pid ${holderPid}, ` +
                  'running since \\d\\d:\\d\\d:\\d\\d UTC .*; its timeout ends it at the latest at \\d\\d:\\d\\d:\\d\\d UTC\\. The command was NOT started\\.$',
              ),
            );
          }
        }),
        { numRuns: LONG ? 60 : 3 },
      );
      figures.push(`same-key attempts: ${fired} fired in ${rounds} rounds, exactly one start per round`);
    },
    LONG ? 600_000 : 60_000,
  );

  it('frees the key when the holder ends: a normal exit, a stop (killed), a timeout', async () => {
    const key = unique('run-7-steps-1');
    const counter = join(scratch, `${key}.starts`);
    const count = `echo "$PPID" >> '${counter}'; echo started;`;
    const first = await run(ssh, sshd.host, `${count} true`, { timeoutSeconds: 10, lockKey: key });
    expect(first.outcome).toBe('succeeded');
    expect(first.mayRunUntil).toBeNull();

    const m = marker();
    const controller = new AbortController();
    const stopped = await run(ssh, sshd.host, `${count} sleep ${m}`, {
      timeoutSeconds: 30,
      lockKey: key,
      signal: controller.signal,
      onOutput: (text) => {
        if (text.includes('started')) setTimeout(() => controller.abort(), 100);
      },
    });
    expect(stopped.outcome).toBe('stopped');
    expect(stopped.mayRunUntil).toBeNull();

    const m2 = marker();
    const timedOut = await run(ssh, sshd.host, `${count} sleep ${m2}`, { timeoutSeconds: 1, lockKey: key });
    expect(timedOut.outcome).toBe('timed_out');
    expect(timedOut.mayRunUntil).toBeNull();

    const last = await run(ssh, sshd.host, `${count} true`, { timeoutSeconds: 10, lockKey: key });
    expect(last.outcome).toBe('succeeded');
    expect(starts(counter)).toHaveLength(4);
  });

  it('runs attempts with different keys side by side', async () => {
    const [a, b] = [unique('run-8-steps-1'), unique('run-8-steps-2')];
    // Each waits for the other's start: both succeed only if they run at the same time.
    const command = (mine: string, other: string) =>
      `touch '${join(scratch, mine)}'; n=0; while [ ! -e '${join(scratch, other)}' ] && [ "$n" -lt 200 ]; do sleep 0.05; n=$((n+1)); done; ` +
      `[ -e '${join(scratch, other)}' ]`;
    const results = await Promise.all([
      run(ssh, sshd.host, command(a, b), { timeoutSeconds: 20, lockKey: a }),
      run(ssh, sshd.host, command(b, a), { timeoutSeconds: 20, lockKey: b }),
    ]);
    expect(results.map((r) => r.outcome)).toEqual(['succeeded', 'succeeded']);
  });

  it('counts a process the command left running as part of the attempt, and says so', async () => {
    const key = unique('run-9-steps-1');
    const m = marker();
    const left = await run(ssh, sshd.host, `sleep ${m} >/dev/null 2>&1 & echo left`, { timeoutSeconds: 5, lockKey: key });
    expect(left.outcome).toBe('succeeded');
    const refused = await run(ssh, sshd.host, 'true', { timeoutSeconds: 5, lockKey: key });
    expect(refused.outcome).toBe('already_running');
    expect(refused.lockHolder?.alive).toBe(false);
    expect(refused.message).toMatch(
      /pid \d+ has ended, but a process it left running still holds the lock file .*\.lock \(`fuser -v` on it shows which\)\. The command was NOT started\.$/,
    );
    killMatching(m);
    expect(await waitProcessesGone(m, 2000)).toEqual([]);
    const after = await run(ssh, sshd.host, 'true', { timeoutSeconds: 5, lockKey: key });
    expect(after.outcome).toBe('succeeded');
  });

  it('refuses to start when the host has no flock, and runs without a key as before', async () => {
    const noFlock = createSsh({ remoteFlockCommand: 'scalebot-no-such-flock' });
    const touched = join(scratch, unique('no-flock-ran'));
    const refused = await run(noFlock, sshd.host, `touch '${touched}'`, { timeoutSeconds: 5, lockKey: unique('run-10-steps-1') });
    expect(refused).toMatchObject({ outcome: 'failed', exitCode: null, mayRunUntil: null });
    expect(refused.message).toMatch(/the host has no `scalebot-no-such-flock` command .* The command was NOT started/);
    expect(existsSync(touched)).toBe(false);
    const unlocked = await run(noFlock, sshd.host, `touch '${touched}'`, { timeoutSeconds: 5 });
    expect(unlocked.outcome).toBe('succeeded');
    expect(existsSync(touched)).toBe(true);
  });

  it('refuses a lockKey that is not a plain file name', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 120 }), async (key) => {
        const valid = /^[A-Za-z0-9_.-]{1,100}$/.test(key);
        if (valid) return;
        await expect(ssh.run(sshd.host, 'true', { timeoutSeconds: 5, lockKey: key })).rejects.toThrow(/lockKey/);
      }),
      { numRuns: LONG ? 2000 : 200 },
    );
    for (const key of ['', '../x', 'a/b', 'a b', "a'b", 'x'.repeat(101)]) {
      await expect(ssh.run(sshd.host, 'true', { timeoutSeconds: 5, lockKey: key })).rejects.toThrow(/lockKey/);
    }
  });
});

describe.concurrent('a half-open link (each test with its own sshd)', () => {
  it('gives up with connection_lost and mayRunUntil; a Retry is refused while the first runs, and runs after its timeout', async () => {
    // Its own sshd: freezing sessions must not hit other tests' connections.
    const own = await startSshd({ env: { HOME: home } });
    const impatient = createSsh({ killAfterSeconds: 1, keepaliveIntervalMs: 300, keepaliveCountMax: 2 });
    let frozen: ReturnType<SshdFixture['freezeSessions']> | undefined;
    try {
      const key = unique('run-11-steps-2');
      const counter = join(scratch, `${key}.starts`);
      const m = marker();
      const command = `echo "$PPID" >> '${counter}'; echo started; sleep ${m}`;
      let startedAt = 0;
      const first = await run(impatient, own.host, command, {
        timeoutSeconds: 6,
        lockKey: key,
        onOutput: (text) => {
          if (text.includes('started') && !frozen) {
            startedAt = Date.now();
            frozen = own.freezeSessions();
          }
        },
      });
      const gaveUpAt = Date.now();
      expect(frozen!.pids.length).toBeGreaterThan(0);
      expect(first.outcome).toBe('connection_lost');
      expect(first.message).toMatch(/Keepalive/i);
      expect(first.message).toMatch(
        new RegExp(
          'its timeout \\(6\\.0 s\\) ends it at the latest at \\d\\d:\\d\\d:\\d\\d UTC; ' +
            `a Retry before then is refused by the host's lock \\(${key}\\) while it runs, so no second copy can start$`,
        ),
      );
      // Started (by the bot's clock) at most 6 + 1 s before it ends for sure.
      const until = first.mayRunUntil!;
      expect(until).toBeInstanceOf(Date);
      expect(until.getTime()).toBeGreaterThanOrEqual(startedAt + 7000 - 800);
      expect(until.getTime()).toBeLessThanOrEqual(startedAt + 7000 + 800);
      expect(gaveUpAt).toBeLessThan(until.getTime());
      // The command runs on: the host's sshd does not know the bot has gone.
      expect(commandProcesses(m).length).toBeGreaterThan(0);

      const retry = await run(impatient, own.host, command, { timeoutSeconds: 6, lockKey: key });
      expect(retry.outcome).toBe('already_running');
      const holderPid = Number(starts(counter)[0]);
      expect(retry.lockHolder).toMatchObject({ pid: holderPid, alive: true });
      expect(Math.abs(retry.lockHolder!.until!.getTime() - until.getTime())).toBeLessThan(2000);
      expect(retry.message).toContain(`pid ${holderPid}`);
      expect(starts(counter)).toHaveLength(1);

      // After the first one's timeout (TERM at 6 s, KILL at 7 s), the key is free and a Retry runs.
      await sleep(Math.max(0, until.getTime() - Date.now()));
      expect(await waitProcessesGone(m, 2000).then(() => commandProcesses(m))).toEqual([]);
      const later = await run(impatient, own.host, `echo "$PPID" >> '${counter}'`, { timeoutSeconds: 6, lockKey: key });
      expect(later.outcome).toBe('succeeded');
      expect(starts(counter)).toHaveLength(2);
      figures.push(`half-open: gave up ${gaveUpAt - startedAt} ms after the start; mayRunUntil ${until.getTime() - startedAt} ms after it`);
    } finally {
      frozen?.thaw();
      await own.stop();
    }
  }, 40_000);

  it("on the bot's own timer (keepalives too slow to notice): timed_out, and mayRunUntil says the host's timeout has ended it", async () => {
    const own = await startSshd({ env: { HOME: home } });
    const patient = createSsh({ killAfterSeconds: 1, localGraceSeconds: 1, stopGraceSeconds: 0.5, keepaliveIntervalMs: 60_000 });
    let frozen: ReturnType<SshdFixture['freezeSessions']> | undefined;
    try {
      const key = unique('run-14-steps-1');
      const m = marker();
      let startedAt = 0;
      const first = await run(patient, own.host, `echo started; sleep ${m}`, {
        timeoutSeconds: 2,
        lockKey: key,
        onOutput: (text) => {
          if (text.includes('started') && !frozen) {
            startedAt = Date.now();
            frozen = own.freezeSessions();
          }
        },
      });
      expect(first.outcome).toBe('timed_out');
      const until = first.mayRunUntil!;
      expect(Math.abs(until.getTime() - (startedAt + 3000))).toBeLessThanOrEqual(800);
      expect(until.getTime()).toBeLessThanOrEqual(Date.now());
      expect(first.message).toMatch(/its timeout \(2\.0 s\) has ended it by now \(at the latest at \d\d:\d\d:\d\d UTC\), so a Retry can run now$/);
      expect(commandProcesses(m)).toEqual([]);
      const retry = await run(patient, own.host, 'true', { timeoutSeconds: 2, lockKey: key });
      expect(retry.outcome).toBe('succeeded');
    } finally {
      frozen?.thaw();
      await own.stop();
    }
  });

  it('reports no time bound when the host has no `timeout`', async () => {
    const own = await startSshd({ env: { HOME: home } });
    const bare = createSsh({
      killAfterSeconds: 1,
      keepaliveIntervalMs: 300,
      keepaliveCountMax: 2,
      remoteTimeoutCommand: 'scalebot-no-such-timeout',
      onDisconnect: 'leave',
    });
    try {
      const m = marker();
      const result = await run(bare, own.host, `echo started; sleep ${m}`, {
        timeoutSeconds: 30,
        lockKey: unique('run-13-steps-1'),
        onOutput: (text) => {
          if (text.includes('started')) own.killSessions();
        },
      });
      expect(result.outcome).toBe('connection_lost');
      expect(result.mayRunUntil?.getTime()).toBe(NO_TIME_BOUND.getTime());
      const unbounded = /the command may go on running there, and nothing there bounds its time \(the host has no `scalebot-no-such-timeout`\)/;
      const refusedByLock = /; a Retry is refused by the host's lock/;
      expect(result.message).toMatch(new RegExp(unbounded.source + refusedByLock.source));
      killMatching(m);
    } finally {
      await own.stop();
    }
  });
});

describe('the lock directory, with the wrapper run under dash', () => {
  // As sshd would run it, minus SSH: its own session, stdin a pipe left open (the connection).
  function runWrapper(command: string, key: string, env: Record<string, string>, flockCommand = 'flock') {
    const settings = { killAfterSeconds: 1, remoteTimeoutCommand: 'timeout', stopGraceSeconds: 1, onDisconnect: 'kill' } as const;
    const marker = '__scalebot_pgid_0123456789abcdef__';
    const wrapper = buildRemoteCommand(command, 10, marker, settings, { key, flockCommand });
    const child = spawn('/bin/sh', ['-c', wrapper], { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH!, ...env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  }

  it('uses $HOME/.cache/scalebot/locks, private to the user', async () => {
    const dir = mkdtempSync(join(scratch, 'home-'));
    const result = await runWrapper('true', 'k1', { HOME: dir });
    expect(result.code).toBe(0);
    const locks = join(dir, '.cache/scalebot/locks');
    expect(statSync(locks).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(locks, `${hostname()}-k1.lock`), 'utf8')).toMatch(/^\d+ \d+ \d+\n$/);
  });

  it("falls back to ${TMPDIR}/scalebot-<uid> when HOME is unusable, and refuses a planted symlink or another user's directory there", async () => {
    const tmp = mkdtempSync(join(scratch, 'tmp-'));
    const missingHome = join(scratch, 'no-such-home');
    const ok = await runWrapper('true', 'k2', { HOME: missingHome, TMPDIR: tmp });
    expect(ok.code).toBe(0);
    // A HOME that does not exist is not created (root could): the fallback is used.
    expect(existsSync(missingHome)).toBe(false);
    expect(statSync(join(tmp, 'scalebot-0')).mode & 0o777).toBe(0o700);
    expect(existsSync(join(tmp, 'scalebot-0', `${hostname()}-k2.lock`))).toBe(true);

    const planted = mkdtempSync(join(scratch, 'tmp-'));
    const target = mkdtempSync(join(scratch, 'attacker-'));
    symlinkSync(target, join(planted, 'scalebot-0'));
    const ran = join(scratch, unique('ran'));
    const viaLink = await runWrapper(`touch '${ran}'`, 'k3', { TMPDIR: planted });
    expect(viaLink).toMatchObject({ code: 75, stderr: '__scalebot_pgid_0123456789abcdef__ nolock dir\n' });
    expect(existsSync(ran)).toBe(false);
    expect(readdir(target)).toEqual([]);

    const squatted = mkdtempSync(join(scratch, 'tmp-'));
    mkdirSync(join(squatted, 'scalebot-0'), { mode: 0o777 });
    chownSync(join(squatted, 'scalebot-0'), 101, 104);
    const viaOther = await runWrapper(`touch '${ran}'`, 'k4', { TMPDIR: squatted });
    expect(viaOther).toMatchObject({ code: 75, stderr: '__scalebot_pgid_0123456789abcdef__ nolock dir\n' });
    expect(existsSync(ran)).toBe(false);
  });

  it('notices that its lock file was swept between opening and locking it, and locks the new one', async () => {
    const dir = mkdtempSync(join(scratch, 'home-'));
    const counter = join(dir, 'starts');
    const release = join(dir, 'release');
    // A flock that, the first time the wrapper locks fd 7, first removes the file fd 7 was opened from: what
    // the sweep of an old file does when it wins that race. The wrapper then holds a lock on a dead inode.
    const once = join(dir, 'swept-once');
    const shim = join(dir, 'sweeping-flock');
    writeFileSync(
      shim,
      `#!/bin/sh\nif [ "$1" = -n ] && [ "$2" = 7 ] && [ ! -e '${once}' ]; then touch '${once}'; rm -f "$(readlink /proc/$PPID/fd/7)"; fi\nexec flock "$@"\n`,
      { mode: 0o755 },
    );
    const command = `echo "$PPID" >> '${counter}'; while [ ! -e '${release}' ]; do sleep 0.05; done`;
    const first = runWrapper(command, 'k6', { HOME: dir }, shim);
    const deadline = Date.now() + 5000;
    while (starts(counter).length === 0 && Date.now() < deadline) await sleep(20);
    expect(existsSync(once)).toBe(true);
    const second = await runWrapper(command, 'k6', { HOME: dir });
    writeFileSync(release, '');
    expect((await first).code).toBe(0);
    expect(second.code).toBe(75);
    expect(second.stderr).toMatch(new RegExp(`^__scalebot_pgid_0123456789abcdef__ busy ${starts(counter)[0]} \\d+ \\d+ 1 \\d+ `));
    expect(starts(counter)).toHaveLength(1);
  });

  it('sweeps lock files older than 8 days, but never one that is held', async () => {
    const dir = mkdtempSync(join(scratch, 'home-'));
    const locks = join(dir, '.cache/scalebot/locks');
    mkdirSync(locks, { recursive: true, mode: 0o700 });
    const old = join(locks, 'h-old.lock');
    const heldOld = join(locks, 'h-held-old.lock');
    const fresh = join(locks, 'h-fresh.lock');
    const tenDaysAgo = new Date(Date.now() - 10 * 86400_000);
    for (const file of [old, heldOld, fresh]) writeFileSync(file, '1 2 3\n');
    utimesSync(old, tenDaysAgo, tenDaysAgo);
    utimesSync(heldOld, tenDaysAgo, tenDaysAgo);
    const m = marker();
    const holder = spawn('flock', ['-n', heldOld, 'sleep', m], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 3000;
      while (processesMatching(m).length === 0 && Date.now() < deadline) await sleep(20);
      const result = await runWrapper('true', 'k5', { HOME: dir });
      expect(result.code).toBe(0);
      expect(existsSync(old)).toBe(false);
      expect(existsSync(heldOld)).toBe(true);
      expect(existsSync(fresh)).toBe(true);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

function hostname(): string {
  return readFileSync('/proc/sys/kernel/hostname', 'utf8')
    .trim()
    .replace(/[^A-Za-z0-9_.-]/g, '');
}

function readdir(dir: string): string[] {
  return readdirSync(dir);
}
