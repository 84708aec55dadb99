import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderCommand, validateParam } from '../../core/shell-quote.ts';
import {
  buildRemoteCommand,
  createSsh,
  fingerprintSha256,
  parseHostKey,
  type RunOptions,
  type SshHost,
  type SshPort,
  type StepResult,
} from '../../integrations/ssh.ts';
import { refusingLoopbackPort } from '../../devkit/ports.ts';
import { killMatching, processesMatching, startSshd, waitProcessesGone, type SshdFixture } from '../../devkit/sshd/index.ts';

// Every result of the file, checked at the end for key material.
const results: StepResult[] = [];
const timings: string[] = [];
const markers: string[] = [];
let rootSshd: SshdFixture;
let userSshd: SshdFixture;
const ssh = createSsh();
const remoteGuardOnly = createSsh({ localGraceSeconds: 60 });
const scratch = mkdtempSync(join(tmpdir(), 'scalebot-ssh-test-'));

async function run(port: SshPort, host: SshHost, command: string, options: RunOptions): Promise<StepResult> {
  const result = await port.run(host, command, options);
  results.push(result);
  return result;
}

/** A unique sleep duration: it appears in the command lines of the remote processes, so /proc finds them. */
function marker(): string {
  const m = `60.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}1`;
  markers.push(m);
  return m;
}

/** The command's own processes, without the wrapper shell's watchdog (whose command line is the wrapper). */
function commandProcesses(m: string): Array<{ pid: number; cmdline: string }> {
  return processesMatching(m).filter((p) => !p.cmdline.includes('__scalebot_pgid_'));
}

beforeAll(async () => {
  [rootSshd, userSshd] = await Promise.all([startSshd(), startSshd({ user: 'postgres' })]);
});

afterAll(async () => {
  if (timings.length) console.info(timings.join('\n'));
  for (const m of markers) killMatching(m);
  await Promise.all([rootSshd?.stop(), userSshd?.stop()]);
  rmSync(scratch, { recursive: true, force: true });
});

// Independent commands: run side by side to save the login shells' start-up time.
describe.concurrent('running a command', () => {
  it('streams output as it is written, both streams merged in order, and succeeds', async () => {
    const chunks: Array<{ at: number; stream: string; text: string }> = [];
    const began = performance.now();
    const result = await run(ssh, rootSshd.host, 'for i in 1 2 3 4; do echo "out $i"; echo "err $i" >&2; sleep 0.3; done', {
      timeoutSeconds: 20,
      onOutput: (text, stream) => chunks.push({ at: performance.now() - began, stream, text }),
    });
    expect(result).toMatchObject({ outcome: 'succeeded', exitCode: 0, signal: null });
    expect(result.output).toBe('out 1\nerr 1\nout 2\nerr 2\nout 3\nerr 3\nout 4\nerr 4\n');
    expect(result.stdoutTail).toBe('out 1\nout 2\nout 3\nout 4\n');
    expect(result.stderrTail).toBe('err 1\nerr 2\nerr 3\nerr 4\n');
    // Streamed, not delivered at the end: the first line came about a second before the last.
    expect(chunks.length).toBeGreaterThanOrEqual(8);
    expect(chunks.at(-1)!.at - chunks[0]!.at).toBeGreaterThan(700);
    expect(chunks.map((c) => `${c.stream}:${c.text}`).join('')).toBe(
      'stdout:out 1\nstderr:err 1\nstdout:out 2\nstderr:err 2\nstdout:out 3\nstderr:err 3\nstdout:out 4\nstderr:err 4\n',
    );
    expect(result.message).toMatch(/^exited 0 after/);
    expect(result.mayRunUntil).toBeNull();
  });

  it('reports a non-zero exit as failed, with the status and stderr', async () => {
    const result = await run(ssh, rootSshd.host, 'echo "disk full" >&2; exit 3', { timeoutSeconds: 20 });
    expect(result).toMatchObject({ outcome: 'failed', exitCode: 3, stderrTail: 'disk full\n', stdoutTail: '' });
    expect(result.message).toMatch(/exited with status 3/);
  });

  it('reports a command killed by a signal as failed', async () => {
    const result = await run(ssh, rootSshd.host, 'kill -s SEGV $$', { timeoutSeconds: 20 });
    expect(result).toMatchObject({ outcome: 'failed', exitCode: null, signal: 'SEGV' });
  });

  it('gives a command end-of-file on stdin instead of letting it wait', async () => {
    const result = await run(ssh, rootSshd.host, 'cat; echo read-done', { timeoutSeconds: 20 });
    expect(result).toMatchObject({ outcome: 'succeeded', stdoutTail: 'read-done\n' });
  });

  it('carries an injection attempt through SSH and two shells as one literal argument', async () => {
    const pwned = join(scratch, 'pwned');
    const value = validateParam('string', `x'; touch ${pwned}; echo '$(touch ${pwned})\`touch ${pwned}\`\ntouch ${pwned}`, {});
    const result = await run(ssh, rootSshd.host, renderCommand('printf %s {{title}}', { title: value }), { timeoutSeconds: 20 });
    expect(result.outcome).toBe('succeeded');
    expect(result.output).toBe(value);
    expect(existsSync(pwned)).toBe(false);
  });

  it('does not wait for a background job that keeps the output open', async () => {
    const m = marker();
    const result = await run(ssh, rootSshd.host, `sleep ${m} & echo started`, { timeoutSeconds: 20 });
    expect(result).toMatchObject({ outcome: 'succeeded', stdoutTail: 'started\n' });
    expect(result.message).toMatch(/background/);
    killMatching(m);
  });

  it('caps the stored output and says so, keeping the tail', async () => {
    const small = createSsh({ maxOutputBytes: 1000 });
    const result = await run(small, rootSshd.host, "head -c 5000 /dev/zero | tr '\\0' x; echo; echo the-end", { timeoutSeconds: 20 });
    expect(result.outcome).toBe('succeeded');
    expect(result.outputTruncated).toBe(true);
    expect(result.output).toMatch(/^x{1000}\n\[scalebot: output truncated: 4009 more bytes/);
    expect(result.stdoutTail.endsWith('the-end\n')).toBe(true);
  });
});

describe('time limits and stop, as root and as a non-root user', () => {
  // Each test runs a command that ignores TERM (`trap '' TERM`, set before "started" is printed: a stop sent on
  // seeing it must not find TERM still deadly; the ignored disposition is inherited by sleep).
  const stubborn = (m: string) => `trap '' TERM; echo started; sleep ${m}`;
  const users = () =>
    [
      ['root', rootSshd],
      ['postgres', userSshd],
    ] as const;

  describe.concurrent.each(['root', 'postgres'])('as %s', (user) => {
    const sshd = () => users().find(([u]) => u === user)![1];

    it('times out a command that ignores TERM: remote timeout sends KILL 5 s later, nothing is left', async () => {
      const m = marker();
      let seenRunning = 0;
      let startedAt = 0;
      const began = performance.now();
      // A long local grace: this test is about the remote guard, whatever the login shell's start-up costs.
      const result = await run(remoteGuardOnly, sshd().host, stubborn(m), {
        timeoutSeconds: 2,
        onOutput: (text) => {
          if (!text.includes('started')) return;
          startedAt = performance.now();
          seenRunning = processesMatching(m).length;
        },
      });
      const afterStart = performance.now() - startedAt;
      expect(seenRunning).toBeGreaterThan(0);
      expect(result).toMatchObject({ outcome: 'timed_out', signal: 'KILL' });
      expect(result.message).toMatch(/timed out after 2\.0 s .*ignored TERM and was killed/);
      // From the command's start: 2 s, TERM ignored, KILL at 2 + 5 s. The login shell's start-up comes before
      // that (root's .bashrc on this machine runs `pyenv init`: 1 s, more when the CPUs are busy).
      // (The "started" line itself may reach us late when the CPUs are busy, so the lower bound is loose: it
      // still shows the command outlived its 2 s, i.e. TERM was ignored and KILL ended it.)
      expect(afterStart).toBeGreaterThan(5000);
      // Upper bounds here are far from the other way it could end (the 60 s local grace), not tight around the
      // expected time: two busy cores stretch every figure, and the message above already names the KILL.
      expect(afterStart).toBeLessThan(2000 + 5000 + 10_000);
      // The whole run adds the login shell's start-up, several seconds for root here when the CPUs are busy.
      expect(result.durationMs).toBeLessThan(2000 + 5000 + 12_000);
      expect(await waitProcessesGone(m, 2000)).toEqual([]);
      timings.push(`timeout (${user}): ${Math.round(afterStart)} ms from start, ${Math.round(performance.now() - began)} ms in all`);
    });

    it('stops on abort: the watchdog sends TERM to the process group, KILL after the grace, nothing is left', async () => {
      const m = marker();
      const controller = new AbortController();
      let seenRunning = 0;
      let abortedAt = 0;
      const result = await run(ssh, sshd().host, stubborn(m), {
        timeoutSeconds: 30,
        signal: controller.signal,
        onOutput: (text) => {
          if (text.includes('started')) {
            seenRunning = processesMatching(m).length;
            setTimeout(() => {
              abortedAt = performance.now();
              controller.abort();
            }, 200);
          }
        },
      });
      const stopMs = performance.now() - abortedAt;
      expect(seenRunning).toBeGreaterThan(0);
      expect(result.outcome).toBe('stopped');
      expect(result.message).toMatch(/: the command ignored TERM for 3\.0 s and was killed$/);
      expect(result.signal).toBe('KILL');
      expect(await waitProcessesGone(m, 2000)).toEqual([]);
      // TERM at once, KILL after the 3 s grace; no second SSH session (and no second login shell) involved.
      expect(stopMs).toBeGreaterThan(3000);
      // Well short of the 30 s timeout, the other way it could end.
      expect(stopMs).toBeLessThan(3000 + 10_000);
      timings.push(`stop, TERM ignored (${user}): result ${Math.round(stopMs)} ms after abort`);
    });

    it('stops a command that honours TERM at once', async () => {
      const m = marker();
      const controller = new AbortController();
      let abortedAt = 0;
      const result = await run(ssh, sshd().host, `echo started; sleep ${m}`, {
        timeoutSeconds: 30,
        signal: controller.signal,
        onOutput: (text) => {
          if (text.includes('started')) {
            setTimeout(() => {
              abortedAt = performance.now();
              controller.abort();
            }, 200);
          }
        },
      });
      const stopMs = performance.now() - abortedAt;
      expect(result).toMatchObject({ outcome: 'stopped', signal: 'TERM' });
      expect(result.message).toMatch(/: the command ended on TERM after \d\.\d s$/);
      // Before the 3 s grace would have sent KILL (the signal above says TERM ended it).
      expect(stopMs).toBeLessThan(3000);
      expect(await waitProcessesGone(m, 1000)).toEqual([]);
      timings.push(`stop, TERM honoured (${user}): result ${Math.round(stopMs)} ms after abort`);
    });
  });

  describe.concurrent('when the remote guard is missing or the connection goes', () => {
    it("times out on the bot's own timer when the host has no `timeout`, and still kills the command", async () => {
      const noRemoteTimeout = createSsh({ remoteTimeoutCommand: 'scalebot-no-such-timeout', killAfterSeconds: 1, localGraceSeconds: 1 });
      const m = marker();
      // As postgres: root's slow .bashrc on this machine could eat the whole 3 s before the command starts.
      const result = await run(noRemoteTimeout, userSshd.host, `echo started; sleep ${m}`, { timeoutSeconds: 1 });
      expect(result.outcome).toBe('timed_out');
      expect(result.output).toMatch(/no scalebot-no-such-timeout command on this host/);
      expect(result.message).toMatch(/so the bot stopped waiting \(the host has no `timeout` command\): the command ended on TERM/);
      // Local deadline 1 + 1 + 1 s from the exec request, then the stop through the watchdog.
      expect(result.durationMs).toBeGreaterThanOrEqual(3000);
      // Far from the minute the command would sleep on if nothing stopped it.
      expect(result.durationMs).toBeLessThan(3000 + 15_000);
      expect(await waitProcessesGone(m, 2000)).toEqual([]);
    });

    it.each(['kill', 'leave'] as const)('reports a connection lost mid-command (onDisconnect: %s)', async (onDisconnect) => {
      // Its own sshd: killing sessions must not hit the other tests' connections.
      const own = await startSshd();
      try {
        const m = marker();
        const result = await run(createSsh({ onDisconnect }), own.host, `echo started; sleep ${m}`, {
          timeoutSeconds: 4,
          onOutput: (text) => {
            if (text.includes('started')) setTimeout(() => own.killSessions(), 200);
          },
        });
        const lostAt = Date.now();
        expect(result.outcome).toBe('connection_lost');
        expect(result.exitCode).toBeNull();
        expect(result.output).toBe('started\n');
        if (onDisconnect === 'kill') {
          // Like a pty's SIGHUP: the watchdog sees stdin end while the command runs and ends the group.
          expect(result.message).toMatch(/lost the connection to test-sshd .*the host stops the command once its sshd notices/);
          // The command goes at once. The watchdog (a fork of the wrapper shell) lingers up to the 3 s grace
          // here: the orphaned `timeout` stays a zombie (this machine's PID 1 reaps slowly), so `kill -0`
          // still finds it until the watchdog's KILL ends the group.
          const deadline = Date.now() + 1500;
          while (commandProcesses(m).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
          expect(commandProcesses(m)).toEqual([]);
          expect(await waitProcessesGone(m, 3000 + 1500)).toEqual([]);
        } else {
          // Nobody is connected any more, the command runs on, and its remote timeout still ends it.
          const timeoutBound = /the command may go on running there, and its timeout \(4\.0 s\) ends it at the latest at \d\d:\d\d:\d\d UTC/;
          const secondCopy = /; a Retry before then could start a second copy$/;
          expect(result.message).toMatch(new RegExp(timeoutBound.source + secondCopy.source));
          expect(result.mayRunUntil!.getTime()).toBeGreaterThan(Date.now());
          expect(processesMatching(m).length).toBeGreaterThan(0);
          // It goes when its 4 s timeout ends it (it lost the connection about 0.2 s after starting), not when
          // the connection went: a lower bound, which busy cores only make easier to meet.
          expect(await waitProcessesGone(m, 8000)).toEqual([]);
          expect(Date.now() - lostAt).toBeGreaterThan(2500);
        }
        timings.push(`connection lost (${onDisconnect}): remote command gone ${Date.now() - lostAt} ms after the result`);
      } finally {
        await own.stop();
      }
    });
  });
});

describe.concurrent('connecting', () => {
  it('refuses a host whose key does not match the pinned one, before authenticating', async () => {
    const sshd = await startSshd();
    try {
      const touched = join(scratch, 'mismatch-ran');
      const result = await run(ssh, { ...sshd.host, hostKey: sshd.wrongHostKey }, `touch ${touched}`, { timeoutSeconds: 5 });
      expect(result.outcome).toBe('host_key_mismatch');
      const offered = keygenFingerprint(`${sshd.hostKeyFile}.pub`);
      const pinned = parseHostKey(sshd.wrongHostKey).fingerprint;
      expect(result.message).toContain(`the server offered ssh-ed25519 ${offered}`);
      expect(result.message).toContain(`the pinned key is ssh-ed25519 ${pinned}`);
      expect(existsSync(touched)).toBe(false);
      // The server saw a client that hung up during key exchange: no key was ever offered or accepted.
      // Reason 3 is SSH_DISCONNECT_KEY_EXCHANGE_FAILED, sent by ssh2 when hostVerifier says no; sshd logs it
      // when it reads the disconnect, after which nothing can be authenticated on that connection.
      await vi.waitFor(() => expect(sshd.logs()).toMatch(/Received disconnect from 127\.0\.0\.1 port \d+:3: .*\[preauth\]/), { timeout: 5000 });
      expect(sshd.logs()).not.toMatch(/Accepted publickey|Postponed publickey|Failed publickey/);
    } finally {
      await sshd.stop();
    }
  });

  it('refuses a server that has no host key of the pinned type', async () => {
    const rsa = join(scratch, 'rsa_host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', rsa], { stdio: 'ignore' });
    const pinnedRsa = readFileSync(`${rsa}.pub`, 'utf8').trim();
    const result = await run(ssh, { ...rootSshd.host, hostKey: pinnedRsa }, 'true', { timeoutSeconds: 5 });
    expect(result.outcome).toBe('host_key_mismatch');
    expect(result.message).toMatch(/the server offers no ssh-rsa host key \(pinned SHA256:/);
  });

  it('accepts a pinned key written as a known_hosts line, and the right key connects', async () => {
    const host = { ...rootSshd.host, hostKey: `[127.0.0.1]:${rootSshd.host.port} ${rootSshd.host.hostKey} comment` };
    const result = await run(ssh, host, 'echo ok', { timeoutSeconds: 20 });
    expect(result.outcome).toBe('succeeded');
  });

  it('says which key file cannot be read, and nothing about its contents', async () => {
    const missing = join(scratch, 'no-such-key');
    const result = await run(ssh, { ...rootSshd.host, privateKeyFile: missing }, 'true', { timeoutSeconds: 5 });
    expect(result).toMatchObject({ outcome: 'connect_failed', message: `cannot read private key file ${missing} (ENOENT)` });
  });

  it('reports a key the server does not accept as a failed login', async () => {
    // The other host key is a valid private key, just not an authorized one.
    const otherKey = join(rootSshd.dir, 'other_host_ed25519_key');
    const result = await run(ssh, { ...rootSshd.host, privateKeyFile: otherKey }, 'true', { timeoutSeconds: 5 });
    expect(result.outcome).toBe('connect_failed');
    expect(result.message).toBe(
      `cannot log in to test-sshd (root@127.0.0.1:${rootSshd.host.port}): the server did not accept the key in ${otherKey} for user root`,
    );
  });

  it('reports a file that is not a private key without quoting it', async () => {
    const result = await run(ssh, { ...rootSshd.host, privateKeyFile: `${rootSshd.host.privateKeyFile}.pub` }, 'true', { timeoutSeconds: 5 });
    expect(result.outcome).toBe('connect_failed');
    expect(result.message).toMatch(/^cannot use private key file .*\.pub: it is not a private key ssh2 can read$/);
  });

  it('fails fast when nothing listens on the port', async () => {
    const port = await refusingLoopbackPort();
    const result = await run(ssh, { ...rootSshd.host, port }, 'true', { timeoutSeconds: 5 });
    expect(result.outcome).toBe('connect_failed');
    expect(result.message).toMatch(/connection refused .*ECONNREFUSED/);
    // Well before the 10 s ready timeout, which is what not failing fast would cost.
    expect(result.durationMs).toBeLessThan(5000);
  });

  it('gives up on a server that never completes the handshake after readyTimeoutMs', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const result = await run(createSsh({ readyTimeoutMs: 800 }), { ...rootSshd.host, port }, 'true', { timeoutSeconds: 5 });
      expect(result.outcome).toBe('connect_failed');
      expect(result.message).toMatch(/no SSH handshake within the connect timeout/);
      // The 800 ms given, not the 10 s default.
      expect(result.durationMs).toBeGreaterThanOrEqual(800);
      expect(result.durationMs).toBeLessThan(6000);
    } finally {
      silent.close();
    }
  });

  it('does not connect at all when the stop came first', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await run(ssh, rootSshd.host, 'true', { timeoutSeconds: 5, signal: controller.signal });
    expect(result).toMatchObject({ outcome: 'stopped', message: expect.stringMatching(/before connecting/) });
  });

  it('treats bad arguments as programming errors', async () => {
    await expect(ssh.run(rootSshd.host, 'true', { timeoutSeconds: 0 })).rejects.toThrow(/timeoutSeconds/);
    await expect(ssh.run({ ...rootSshd.host, hostKey: 'ssh-ed25519 not-base64!' }, 'true', { timeoutSeconds: 1 })).rejects.toThrow(/host_key/);
  });
});

describe('the remote wrapper under dash (a login shell other than bash)', () => {
  // Run the wrapper the way sshd would, minus SSH: its own session (detached = setsid), stdin a pipe.
  function runWrapper(command: string, onStarted?: (stdin: NodeJS.WritableStream) => void) {
    const marker = '__scalebot_pgid_0123456789abcdef__';
    const settings = { killAfterSeconds: 1, remoteTimeoutCommand: 'timeout', stopGraceSeconds: 1, onDisconnect: 'kill' } as const;
    const child = spawn('/bin/sh', ['-c', buildRemoteCommand(command, 30, marker, settings)], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('started')) onStarted?.(child.stdin);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; pid: number }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, pid: child.pid! })),
    );
  }

  it('runs the command with /dev/null as stdin and reports its PID first on stderr', async () => {
    const result = await runWrapper('echo hi; cat; echo "oops" >&2; exit 3');
    expect(result).toMatchObject({ code: 3, stdout: 'hi\n' });
    expect(result.stderr).toBe(`__scalebot_pgid_0123456789abcdef__ ${result.pid} 1\noops\n`);
  });

  it('kills the group on "stop", with KILL for what ignores TERM', async () => {
    const m = marker();
    const began = performance.now();
    const result = await runWrapper(`trap '' TERM; echo started; sleep ${m}`, (stdin) => stdin.write('stop\n'));
    expect(result.signal).toBe('SIGKILL');
    // Not the minute of the sleep: KILL came after the 1 s grace (give busy cores room).
    expect(performance.now() - began).toBeLessThan(1000 + 10_000);
    expect(await waitProcessesGone(m, 1000)).toEqual([]);
  });

  it('kills the group when stdin ends while the command runs (the connection is gone)', async () => {
    const m = marker();
    const result = await runWrapper(`echo started; sleep ${m}`, (stdin) => stdin.end());
    expect(result.signal).toBe('SIGTERM');
    expect(await waitProcessesGone(m, 2000)).toEqual([]);
  });
});

describe('parseHostKey', () => {
  it("matches ssh-keygen's fingerprint and checks the blob's type", () => {
    const key = parseHostKey(rootSshd.host.hostKey);
    expect(key.type).toBe('ssh-ed25519');
    expect(key.fingerprint).toBe(keygenFingerprint(`${rootSshd.hostKeyFile}.pub`));
    expect(fingerprintSha256(key.blob)).toBe(key.fingerprint);
    const blob = rootSshd.host.hostKey.split(' ')[1];
    expect(() => parseHostKey(`ssh-rsa ${blob}`)).toThrow(/not a ssh-rsa key/);
    expect(() => parseHostKey('AAAA')).toThrow(/key type and base64 key/);
  });
});

describe('secrets', () => {
  it('no returned message or output contains any part of the private keys used', async () => {
    // Its own runs, one of each outcome that names a key file or the server, so that it holds when run alone;
    // every result the tests above returned is checked too.
    const otherKey = join(rootSshd.dir, 'other_host_ed25519_key');
    const own = [
      await run(ssh, rootSshd.host, 'echo out; echo err >&2; exit 3', { timeoutSeconds: 5 }),
      await run(ssh, userSshd.host, 'id -un', { timeoutSeconds: 5 }),
      await run(ssh, { ...rootSshd.host, privateKeyFile: otherKey }, 'true', { timeoutSeconds: 5 }),
      await run(ssh, { ...rootSshd.host, privateKeyFile: `${rootSshd.host.privateKeyFile}.pub` }, 'true', { timeoutSeconds: 5 }),
      await run(ssh, { ...rootSshd.host, hostKey: rootSshd.wrongHostKey }, 'true', { timeoutSeconds: 5 }),
    ];
    expect(own.map((result) => result.outcome)).toEqual(['failed', 'succeeded', 'connect_failed', 'connect_failed', 'host_key_mismatch']);
    const keyFiles = [rootSshd.host.privateKeyFile, userSshd.host.privateKeyFile, join(rootSshd.dir, 'other_host_ed25519_key')];
    for (const file of keyFiles) {
      const body = readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line && !line.startsWith('-----'))
        .join('');
      // Every 12-character window of the base64 body.
      const windows = new Set<string>();
      for (let i = 0; i + 12 <= body.length; i += 1) windows.add(body.slice(i, i + 12));
      for (const result of results) {
        const text = JSON.stringify(result);
        for (const w of windows) expect(text.includes(w), `key material in ${result.message}`).toBe(false);
      }
    }
  });
});

function keygenFingerprint(pubFile: string): string {
  // "256 SHA256:… comment (ED25519)"
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf8' }).split(' ')[1]!;
}
