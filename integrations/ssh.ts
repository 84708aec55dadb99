import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { Config } from 'node-ssh';
import type { Client, ClientChannel, ServerHostKeyAlgorithm } from 'ssh2';
import { fingerprintSha256, keyTypeOf, parseHostKey, type HostKeyType, type PinnedHostKey } from '../core/host-key.ts';
import { shellQuote } from '../core/shell-quote.ts';

/**
 * Runs one runbook step on one host over SSH: the only importer of node-ssh.
 *
 * What node-ssh/ssh2 give us and what we add:
 * - node-ssh is used to connect only. Its `execCommand` closes stdin at once, which also makes ssh2's
 *   `channel.signal()` a silent no-op, and OpenSSH refuses signal requests for root sessions anyway. So the
 *   remote process is never signalled through SSH: a watchdog started by the wrapper (buildRemoteCommand)
 *   kills the command's process group when the bot writes "stop" on stdin, or when stdin ends because the
 *   connection is gone.
 * - Without a pty, closing the channel or the whole connection does not end the remote command by itself.
 *   The remote `timeout -k` bounds its life even when the bot and the network are gone; the local timer
 *   bounds the bot's wait even when the host hangs or has no `timeout`. Both are needed.
 * - After `connect()` node-ssh leaves no 'error' listener on the ssh2 client: a reset connection would throw
 *   an unhandled 'error' event and take the process down. We keep a listener for the connection's life.
 */

import { NO_TIME_BOUND, type LockHolder, type RunOptions, type SshHost, type SshPort, type StepOutcome, type StepResult } from '../core/ports.ts';

export { NO_TIME_BOUND, fingerprintSha256, parseHostKey };
export type { PinnedHostKey };
export type { LockHolder, RunOptions, SshHost, SshPort, StepOutcome, StepResult };

export interface SshOptions {
  /** How long connecting, the handshake and authentication may take. Default 10 000. */
  readyTimeoutMs?: number;
  /** Remote `timeout -k`: seconds between TERM and KILL when a step overruns. Default 5. */
  killAfterSeconds?: number;
  /** Seconds the bot waits after timeout + killAfter before it gives up on the host itself. Default 5. */
  localGraceSeconds?: number;
  /** On stop: at most this many seconds between TERM and KILL to the remote process group. Default 3. */
  stopGraceSeconds?: number;
  /**
   * What happens on the host when the connection drops while the command runs (bot crash, network): "kill"
   * (default) treats it like a stop, as a pty's SIGHUP would, so nothing runs on unobserved and a retry never
   * races an orphan; "leave" lets it run on until it ends or its timeout stops it.
   */
  onDisconnect?: 'kill' | 'leave';
  /** Cap on the stored merged output. Default 1 MB. */
  maxOutputBytes?: number;
  /** Characters kept in stdoutTail / stderrTail. Default 4000. */
  tailChars?: number;
  /** Milliseconds between keepalives, and how many may go unanswered before the connection counts as lost. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** After the exit status, how long to wait for the streams to end (a background job may hold them open). */
  exitGraceMs?: number;
  /** The remote command used as the time guard. Default "timeout" (GNU coreutils, busybox). */
  remoteTimeoutCommand?: string;
  /** The remote command that holds a `lockKey` slot. Default "flock" (util-linux, busybox). */
  remoteFlockCommand?: string;
}

const DEFAULTS: Required<SshOptions> = {
  readyTimeoutMs: 10_000,
  killAfterSeconds: 5,
  localGraceSeconds: 5,
  stopGraceSeconds: 3,
  onDisconnect: 'kill',
  maxOutputBytes: 1_000_000,
  tailChars: 4000,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
  exitGraceMs: 2000,
  remoteTimeoutCommand: 'timeout',
  remoteFlockCommand: 'flock',
};

// ---------------------------------------------------------------------------------------------------------
// Host keys

/** The signature algorithms each key type may be offered under: what ssh2 is told to accept from the host. */
const HOST_KEY_ALGORITHMS: Record<HostKeyType, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  // An RSA key is offered under any of its signature algorithms.
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

// ---------------------------------------------------------------------------------------------------------
// Running a step

export function createSsh(options: SshOptions = {}): SshPort {
  const settings: Required<SshOptions> = { ...DEFAULTS, ...options };
  // These end up in the remote wrapper's text: only plain names and sane numbers. `-k 0` would disable the KILL.
  for (const name of ['remoteTimeoutCommand', 'remoteFlockCommand'] as const) {
    if (!/^[A-Za-z0-9_./-]+$/.test(settings[name])) throw new TypeError(`${name} must be a plain command name or path`);
  }
  const atLeast = (name: keyof SshOptions, min: number) => {
    const value = settings[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new TypeError(`${name} must be a number of at least ${min}`);
  };
  atLeast('killAfterSeconds', 1);
  atLeast('stopGraceSeconds', 0.2);
  atLeast('localGraceSeconds', 0);
  atLeast('readyTimeoutMs', 1);
  atLeast('exitGraceMs', 0);
  atLeast('maxOutputBytes', 1);
  atLeast('tailChars', 0);
  if (settings.onDisconnect !== 'kill' && settings.onDisconnect !== 'leave') throw new TypeError('onDisconnect must be "kill" or "leave"');
  return { run: (host, command, runOptions) => runStep(settings, host, command, runOptions) };
}

function checkArguments(host: SshHost, command: string, options: RunOptions): PinnedHostKey {
  for (const key of ['name', 'address', 'user', 'privateKeyFile', 'hostKey'] as const) {
    if (typeof host?.[key] !== 'string' || host[key] === '') throw new TypeError(`host.${key} must be a non-empty string`);
  }
  if (!Number.isInteger(host.port) || host.port < 1 || host.port > 65535) throw new TypeError('host.port must be a TCP port');
  if (typeof command !== 'string' || command.trim() === '') throw new TypeError('command must be a non-empty string');
  if (command.includes('\0')) throw new TypeError('command cannot contain NUL');
  const { timeoutSeconds } = options ?? {};
  // At least 1 s: `timeout 0` would mean "no time limit" on the host.
  if (typeof timeoutSeconds !== 'number' || !Number.isFinite(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 7 * 86400) {
    throw new TypeError('timeoutSeconds must be a number of seconds from 1 to 604800 (a week)');
  }
  const { lockKey } = options;
  if (lockKey !== undefined && (typeof lockKey !== 'string' || !LOCK_KEY.test(lockKey))) {
    throw new TypeError('lockKey must be 1 to 100 characters of A-Z a-z 0-9 _ . -');
  }
  // It goes into the wrapper's shell text and is compared there as a number: a plain integer only.
  const { fenceToken } = options;
  if (fenceToken !== undefined && !(Number.isSafeInteger(fenceToken) && fenceToken >= 0)) {
    throw new TypeError('fenceToken must be a whole number from 0 to 2^53-1');
  }
  return parseHostKey(host.hostKey);
}

const LOCK_KEY = /^[A-Za-z0-9_.-]{1,100}$/;

interface ExitInfo {
  code: number | null;
  signal: string | null;
}

async function runStep(settings: Required<SshOptions>, host: SshHost, command: string, options: RunOptions): Promise<StepResult> {
  const pinned = checkArguments(host, command, options);
  const began = performance.now();
  const where = `${host.name} (${host.user}@${formatAddress(host.address, host.port)})`;
  const output = new OutputCollector(settings, options.onOutput);
  let secret: string | undefined;
  const finish = (
    outcome: StepOutcome,
    message: string,
    exit: ExitInfo = { code: null, signal: null },
    extra: { mayRunUntil?: Date | null; lockHolder?: LockHolder } = {},
  ): StepResult => ({
    outcome,
    exitCode: exit.code,
    signal: exit.signal,
    durationMs: Math.round(performance.now() - began),
    ...output.result(),
    message: scrub(message, secret),
    mayRunUntil: extra.mayRunUntil ?? null,
    ...(extra.lockHolder ? { lockHolder: extra.lockHolder } : {}),
  });

  const abort = options.signal;
  if (abort?.aborted) return finish('stopped', `stopped before connecting to ${where}`);

  try {
    secret = await readFile(host.privateKeyFile, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    return finish('connect_failed', `cannot read private key file ${host.privateKeyFile} (${code})`);
  }

  // ---- connect
  // Loaded at the first step, not at start: a bot that never runs a runbook does not carry ssh2 (bench/dependency-costs.ts).
  const { NodeSSH } = await import('node-ssh');
  const ssh = new NodeSSH();
  let offeredKey: Buffer | undefined;
  let connectionError: Error | undefined;
  let connectionClosed = false;
  const closeWaiters = new Set<() => void>();
  const config: Config = {
    host: host.address,
    port: host.port,
    username: host.user,
    privateKey: secret,
    readyTimeout: settings.readyTimeoutMs,
    keepaliveInterval: settings.keepaliveIntervalMs,
    keepaliveCountMax: settings.keepaliveCountMax,
    // Only the pinned key's type is negotiated, so a server with several host keys shows the one we pinned.
    algorithms: { serverHostKey: HOST_KEY_ALGORITHMS[pinned.type] },
    hostVerifier: (key: Buffer) => {
      if (key.equals(pinned.blob)) return true;
      offeredKey = Buffer.from(key);
      return false;
    },
    // No agent, no password, no keyboard-interactive: the configured key or nothing.
    agent: undefined,
    tryKeyboard: false,
  };

  const watched = new WeakSet<Client>();
  const watchClient = (client: Client | null) => {
    if (!client || watched.has(client)) return;
    watched.add(client);
    client.on('error', (error: Error) => {
      connectionError ??= error;
    });
    client.on('close', () => {
      connectionClosed = true;
      for (const wake of closeWaiters) wake();
    });
  };
  const closeConnection = () => {
    const client = ssh.connection;
    try {
      client?.end();
    } catch {
      /* already gone */
    }
    // end() does nothing before the socket is writable (still connecting): destroy the socket as well.
    setTimeout(() => destroyClient(client), 200).unref();
  };

  let onConnectAbort: (() => void) | undefined;
  const stopRequested = new Promise<'stopped'>((resolve) => {
    onConnectAbort = () => resolve('stopped');
    abort?.addEventListener('abort', onConnectAbort, { once: true });
  });

  let connectGuard: NodeJS.Timeout | undefined;
  try {
    const connecting = ssh.connect(config);
    watchClient(ssh.connection);
    connecting.catch(() => undefined);
    const winner = await Promise.race([
      connecting.then(() => 'ready' as const),
      stopRequested,
      new Promise<'guard'>((resolve) => {
        connectGuard = setTimeout(() => resolve('guard'), settings.readyTimeoutMs + 5000);
      }),
    ]);
    if (winner !== 'ready') {
      closeConnection();
      return winner === 'stopped'
        ? finish('stopped', `stopped while connecting to ${where}`)
        : finish('connect_failed', `cannot connect to ${where}: no SSH session within ${seconds(settings.readyTimeoutMs / 1000)}`);
    }
  } catch (error) {
    closeConnection();
    if (offeredKey) return finish('host_key_mismatch', describeMismatch(where, pinned, offeredKey));
    if (abort?.aborted) return finish('stopped', `stopped while connecting to ${where}`);
    return finish(...describeConnectError(error as Error, where, host, pinned));
  } finally {
    clearTimeout(connectGuard);
    if (onConnectAbort) abort?.removeEventListener('abort', onConnectAbort);
  }
  const client = ssh.connection;
  watchClient(client);
  if (!client || connectionClosed) {
    return finish('connection_lost', `the connection to ${where} closed right after it opened${reason(connectionError)}`);
  }

  // ---- run
  const marker = `__scalebot_pgid_${randomBytes(8).toString('hex')}__`;
  const lock = options.lockKey === undefined ? undefined : { key: options.lockKey, flockCommand: settings.remoteFlockCommand };
  const fence =
    options.fenceToken === undefined
      ? undefined
      : { token: options.fenceToken, flockCommand: settings.remoteFlockCommand, ...(options.fenceScope ? { scope: options.fenceScope } : {}) };
  const remote = buildRemoteCommand(command, options.timeoutSeconds, marker, settings, lock, fence);
  const stderr = new MarkerFilter(marker, (text) => output.push('stderr', text));
  let started = false;
  let startedAtWall = 0;
  let remoteTimeout = false;
  let refusal: LockRefusal | undefined;
  stderr.onMarker = (_pid, guarded) => {
    started = true;
    startedAtWall = Date.now();
    remoteTimeout = guarded;
  };
  stderr.onRefusal = (why) => {
    refusal = why;
  };
  // The latest moment the command may run on when the bot stops watching without an exit: its remote
  // `timeout` started just before the marker line arrived (or, without a marker, it may start about now),
  // and KILLs the group at N + K seconds.
  const latestEnd = (): Date => {
    if (started && !remoteTimeout) return NO_TIME_BOUND;
    const base = started ? startedAtWall : Date.now();
    return new Date(base + Math.ceil(options.timeoutSeconds + settings.killAfterSeconds) * 1000);
  };
  const retryNote = (until: Date): string => {
    if (until.getTime() <= Date.now()) return 'so a Retry can run now';
    const when = until.getTime() === NO_TIME_BOUND.getTime() ? '' : ' before then';
    return lock
      ? `a Retry${when} is refused by the host's lock (${lock.key}) while it runs, so no second copy can start`
      : `a Retry${when} could start a second copy`;
  };
  /** "its timeout (6.0 s) ends it at the latest at 14:02:09 UTC; a Retry before then is refused …" */
  const boundNote = (until: Date): string => {
    if (until.getTime() === NO_TIME_BOUND.getTime()) {
      return `nothing there bounds its time (the host has no \`${settings.remoteTimeoutCommand}\`); ${retryNote(until)}`;
    }
    const timeout = `its timeout (${seconds(options.timeoutSeconds)})`;
    return until.getTime() <= Date.now()
      ? `${timeout} has ended it by now (at the latest at ${formatUtc(until)}), ${retryNote(until)}`
      : `${timeout} ends it at the latest at ${formatUtc(until)}; ${retryNote(until)}`;
  };
  const mayRunOn = (until: Date, ifStarted: boolean): string =>
    `${ifStarted ? 'if it started, the command may have run on' : 'the command may have run on'} after the bot stopped watching: ${boundNote(until)}`;

  let exit: ExitInfo | undefined;
  let exitAt = 0;
  let channelClosed = false;
  let execStarted = 0;
  let channel: ClientChannel;
  try {
    channel = await new Promise<ClientChannel>((resolve, reject) => {
      client.exec(remote, (error, opened) => (error ? reject(error) : resolve(opened)));
    });
    execStarted = performance.now();
  } catch (error) {
    closeConnection();
    if (connectionClosed) {
      // The exec request may have reached the host before the connection went.
      const until = latestEnd();
      return finish(
        'connection_lost',
        `lost the connection to ${where} before the command started${reason(connectionError ?? (error as Error))}; ${mayRunOn(until, true)}`,
        undefined,
        { mayRunUntil: until },
      );
    }
    return finish('connect_failed', `${where} refused to start the command: ${(error as Error).message}`);
  }

  const stdoutDecoder = new StringDecoder('utf8');
  const stderrDecoder = new StringDecoder('utf8');
  const events = new Set<() => void>();
  const wake = () => {
    for (const w of events) w();
  };
  closeWaiters.add(wake);
  channel.on('data', (data: Buffer) => output.push('stdout', stdoutDecoder.write(data)));
  channel.stderr.on('data', (data: Buffer) => stderr.push(stderrDecoder.write(data)));
  channel.on('exit', (code: number | null, signal?: string) => {
    exit = { code: typeof code === 'number' ? code : null, signal: signal ? signal.replace(/^SIG/, '') : null };
    exitAt = performance.now();
    wake();
  });
  channel.on('close', () => {
    channelClosed = true;
    wake();
  });
  // A write after the server closed its side emits 'error' on the channel; without a listener it would throw.
  channel.on('error', () => undefined);
  // stdin stays open: it is how a stop reaches the remote watchdog (see buildRemoteCommand). The command
  // itself reads /dev/null.

  const localDeadlineMs = (options.timeoutSeconds + settings.killAfterSeconds + settings.localGraceSeconds) * 1000;
  let localTimedOut = false;
  let stopped = false;
  const localTimer = setTimeout(() => {
    localTimedOut = true;
    wake();
  }, localDeadlineMs);
  const onAbort = () => {
    stopped = true;
    wake();
  };
  abort?.addEventListener('abort', onAbort, { once: true });
  if (abort?.aborted) stopped = true;

  // Wait until something decides the outcome.
  let exitGraceExpired = false;
  let exitGraceTimer: NodeJS.Timeout | undefined;
  await waitFor(
    () => {
      if (exit && !exitGraceTimer) {
        exitGraceTimer = setTimeout(() => {
          exitGraceExpired = true;
          wake();
        }, settings.exitGraceMs);
      }
      return stopped || localTimedOut || channelClosed || connectionClosed || exitGraceExpired;
    },
    Number.POSITIVE_INFINITY,
    events,
  );
  clearTimeout(localTimer);
  clearTimeout(exitGraceTimer);
  abort?.removeEventListener('abort', onAbort);
  const elapsedSeconds = (performance.now() - execStarted) / 1000;

  const flushStreams = () => {
    output.push('stdout', stdoutDecoder.end());
    stderr.push(stderrDecoder.end());
    stderr.flush();
  };

  // The wrapper refused before anything started: whatever else happened since, the command never ran.
  if (refusal) {
    closeConnection();
    flushStreams();
    const { outcome, message, lockHolder } = describeRefusal(refusal, where, options, settings);
    return finish(outcome, message, undefined, { lockHolder });
  }

  // A stop or a local timeout that raced with a normal end is a normal end.
  if ((stopped || localTimedOut) && !exit && !channelClosed && !connectionClosed) {
    const stopSentAt = performance.now();
    let sent = false;
    try {
      channel.write('stop\n');
      sent = true;
    } catch {
      // The channel is already half-closed: nothing more can be said to the host.
    }
    // TERM now, KILL after stopGraceSeconds: wait for the exit that follows, a little longer than that.
    if (sent) await waitFor(() => exit !== undefined || channelClosed || connectionClosed, settings.stopGraceSeconds * 1000 + 2000, events);
    if (exit) await waitFor(() => channelClosed || connectionClosed, 500, events);
    closeConnection();
    flushStreams();
    const report = describeStop(exit, exitAt - stopSentAt, settings, started, sent);
    const until = exit ? null : latestEnd();
    const after = until ? `; ${mayRunOn(until, !started)}` : '';
    if (stopped) {
      return finish('stopped', `stopped on request after ${seconds(elapsedSeconds)} on ${where}: ${report}${after}`, exit, { mayRunUntil: until });
    }
    const why = !started
      ? 'the command had not even started (the login shell was still starting)'
      : remoteTimeout
        ? 'the remote timeout did not end it'
        : 'the host has no `timeout` command';
    return finish(
      'timed_out',
      `timed out: no exit status ${seconds(elapsedSeconds)} after the start (timeout ${seconds(options.timeoutSeconds)}) on ${where}, ` +
        `so the bot stopped waiting (${why}): ${report}${after}`,
      exit,
      { mayRunUntil: until },
    );
  }

  closeConnection();
  flushStreams();

  if (!exit) {
    // A half-open link (keepalives unanswered) looks the same from here: the host's sshd may never notice.
    const fate =
      settings.onDisconnect === 'kill'
        ? 'the host stops the command once its sshd notices the connection is gone (over a half-open link it may not notice)'
        : 'the command may go on running there';
    const until = latestEnd();
    return finish(
      'connection_lost',
      `lost the connection to ${where} after ${seconds(elapsedSeconds)}, before the command finished${reason(connectionError)}` +
        `${started ? '' : ' (it may not have started)'}; ${fate}, and ${boundNote(until)}`,
      undefined,
      { mayRunUntil: until },
    );
  }
  const lateOutput = exitGraceExpired && !channelClosed ? ' (output written after the exit by background processes was not collected)' : '';
  // 124 (TERM worked) or KILL (after -k) mean "timed out" only if the time was really up: a command may exit 124 itself.
  const overran = elapsedSeconds >= options.timeoutSeconds - 0.5;
  if (remoteTimeout && overran && (exit.code === 124 || exit.code === 137 || exit.signal === 'KILL')) {
    const how = exit.code === 124 ? 'stopped with TERM' : 'ignored TERM and was killed';
    return finish('timed_out', `timed out after ${seconds(options.timeoutSeconds)} on ${where}: the command ${how}${lateOutput}`, exit);
  }
  if (exit.code === 0) {
    return finish('succeeded', `exited 0 after ${seconds(elapsedSeconds)} on ${where}${lateOutput}`, exit);
  }
  if (exit.code !== null) {
    return finish('failed', `exited with status ${exit.code} after ${seconds(elapsedSeconds)} on ${where}${lateOutput}`, exit);
  }
  return finish('failed', `ended by signal ${exit.signal ?? 'unknown'} after ${seconds(elapsedSeconds)} on ${where}${lateOutput}`, exit);
}

interface LockRefusal {
  /**
   * "busy": held by another attempt; "fenced": a newer leader's token was recorded; otherwise why no lock
   * could be taken (flock, dir, open, error) or why the fence could not be checked (fence_*).
   */
  kind: 'busy' | 'flock' | 'dir' | 'open' | 'error' | 'fenced' | FenceTrouble;
  holderPid: number | null;
  holderAlive: boolean;
  /** Host clock, epoch seconds. */
  since: number | null;
  deadline: number | null;
  hostNow: number;
  /** Bot clock when the refusal arrived, ms. */
  seenAt: number;
  lockFile: string;
  /** With "fenced": the highest token the host has recorded. */
  highestToken?: number;
}

type FenceTrouble = 'fence_open' | 'fence_wait' | 'fence_corrupt' | 'fence_write';

function describeRefusal(
  refusal: LockRefusal,
  where: string,
  options: RunOptions,
  settings: Required<SshOptions>,
): { outcome: StepOutcome; message: string; lockHolder?: LockHolder } {
  const key = options.lockKey;
  const notStarted = `The command was NOT started${key === undefined ? '' : ` (lock ${key})`}.`;
  if (refusal.kind === 'fenced') {
    return {
      outcome: 'fenced',
      message:
        `not started on ${where}: a newer leader (token ${refusal.highestToken}) has run steps on this host; ` +
        `this replica (token ${options.fenceToken}) is no longer the leader, so the step was not started.`,
    };
  }
  if (refusal.kind !== 'busy') {
    const why = {
      flock:
        `the host has no \`${settings.remoteFlockCommand}\` command (util-linux or busybox), ` +
        (key === undefined ? "so the bot cannot check the leader's fencing token there" : 'so the bot cannot make sure a Retry never starts a second copy'),
      dir:
        "no lock directory of the login user's own could be used ($HOME/.cache/scalebot/locks, or ${TMPDIR:-/tmp}/scalebot-<uid>, " +
        'which must be a directory owned by the user and not a symlink)',
      open: 'the lock file could not be opened',
      error: 'taking the lock failed',
      fence_open: "the leader's fencing file could not be opened",
      fence_wait: "the host-wide lock of the leader's fencing file stayed taken (another step is stuck checking it)",
      fence_corrupt: "the leader's fencing file holds something other than a token; remove it if no older replica may still run steps",
      fence_write: "the leader's fencing token could not be recorded (disk full or read-only?)",
    }[refusal.kind];
    const file = refusal.kind.startsWith('fence_') && refusal.lockFile ? ` (${refusal.lockFile})` : '';
    return { outcome: 'failed', message: `not started on ${where}: ${why}${file}. ${notStarted}` };
  }
  // Host times, moved into the bot's clock.
  const toBot = (hostSeconds: number | null) => (hostSeconds === null ? null : new Date(refusal.seenAt + (hostSeconds - refusal.hostNow) * 1000));
  const since = toBot(refusal.since);
  const until = toBot(refusal.deadline);
  const holder: LockHolder = { pid: refusal.holderPid, alive: refusal.holderAlive, since, until, lockFile: refusal.lockFile };
  const who =
    refusal.holderPid === null
      ? 'an attempt that is just starting'
      : `pid ${refusal.holderPid}${since ? `, running since ${formatUtc(since)} (${seconds((refusal.seenAt - since.getTime()) / 1000)} ago)` : ''}`;
  let end: string;
  if (refusal.holderPid !== null && !refusal.holderAlive) {
    end = `pid ${refusal.holderPid} has ended, but a process it left running still holds the lock file ${refusal.lockFile} (\`fuser -v\` on it shows which)`;
  } else if (until && until.getTime() < refusal.seenAt) {
    end = `its timeout should have ended it by ${formatUtc(until)}, yet it still runs (is the host's \`timeout\` working?)`;
  } else if (until) {
    end = `its timeout ends it at the latest at ${formatUtc(until)}`;
  } else if (refusal.holderPid !== null && refusal.deadline === null) {
    end = 'nothing on the host bounds its time (no `timeout` command there)';
  } else {
    end = 'its end time is not known yet';
  }
  return {
    outcome: 'already_running',
    lockHolder: holder,
    message: `not started on ${where}: another attempt of this step (lock ${key}) still runs there: ${who}; ${end}. The command was NOT started.`,
  };
}

/** "14:02:03 UTC" today, "2026-05-21 14:02:03 UTC" another day. */
function formatUtc(at: Date): string {
  const iso = at.toISOString();
  const time = `${iso.slice(11, 19)} UTC`;
  return iso.slice(0, 10) === new Date().toISOString().slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`;
}

function describeStop(exit: ExitInfo | undefined, afterMs: number, settings: Required<SshOptions>, started: boolean, sent: boolean): string {
  if (!sent) return "the stop request could not be sent; the command's timeout ends it at the latest";
  if (!exit) {
    return started
      ? "no exit status arrived after TERM and KILL; the connection is closed, and the command's timeout ends it at the latest"
      : 'the command had not started yet; the stop request waits for it on the host, and its timeout ends it at the latest';
  }
  if (exit.signal === 'KILL') return `the command ignored TERM for ${seconds(settings.stopGraceSeconds)} and was killed`;
  if (exit.signal) return `the command ended on ${exit.signal} after ${seconds(afterMs / 1000)}`;
  return `the command exited with status ${exit.code} after TERM`;
}

/** A `lockKey` slot, as the wrapper takes it. */
export interface RemoteLock {
  key: string;
  /** "flock", or a missing name in tests. */
  flockCommand: string;
}

/** A leader's fencing token, as the wrapper checks and records it (fenceSection). */
export interface RemoteFence {
  token: number;
  flockCommand: string;
  /** Whose tokens these are (RunOptions.fenceScope): one record per deployment. */
  scope?: string;
}

/** Exit status of a wrapper that did not start the command because of its lock (EX_TEMPFAIL). */
const LOCK_REFUSED_EXIT = 75;

/**
 * The command the remote login shell runs (any POSIX shell: bash, dash, zsh):
 * 1. The channel's stdin moves to fd 3 and the command gets /dev/null.
 * 2. With a fencing token (`fenceToken`), the host's highest token is checked and recorded first (see
 *    fenceSection); a lower one ends the wrapper there. With a lock (`lockKey`), the slot is taken before
 *    anything starts (see lockSection); if it is held, the wrapper reports the holder on stderr and exits
 *    without starting the command.
 * 3. A watchdog subshell, started before the command and in the same process group, reads one line from fd
 *    3. "stop" (written by the bot on abort or local timeout) → TERM to the whole group, KILL once the
 *    command is gone or stopGraceSeconds have passed. End of file while the
 *    command still runs (the connection is gone: bot crash, network) → the same, unless onDisconnect is
 *    "leave". End of file after the command exited (the normal close) → nothing.
 *    This replaces SSH's signal request, which OpenSSH refuses for root and which ssh2 silently drops once
 *    stdin is closed; and unlike a second session it does not pay the login shell's start-up again.
 *    It does not hold the lock: it outlives the command until the channel closes, which on a half-open link
 *    is never.
 * 4. A marker line with the shell's PID goes to stderr (taken out of the output by MarkerFilter). sshd makes
 *    each session's shell a session and process-group leader, so that PID is the group the watchdog kills.
 * 5. The shell replaces itself with `timeout -k K N sh -c '<command>'`: TERM at N seconds, KILL K seconds
 *    later, to the whole group. This bounds the command even when the bot and the network are gone. A host
 *    without `timeout` still runs the command, guarded only by the bot's timer and the watchdog.
 */
export function buildRemoteCommand(
  command: string,
  timeoutSeconds: number,
  marker: string,
  settings: Pick<Required<SshOptions>, 'killAfterSeconds' | 'remoteTimeoutCommand' | 'stopGraceSeconds' | 'onDisconnect'>,
  lock?: RemoteLock,
  fence?: RemoteFence,
): string {
  const inner = shellQuote(command);
  const timeout = settings.remoteTimeoutCommand;
  const rounds = Math.max(1, Math.round(settings.stopGraceSeconds * 5));
  const onEof = settings.onDisconnect === 'kill' ? ' || { [ -z "$request" ] && kill -s 0 "$$" 2>/dev/null; }' : '';
  // After TERM: wait (0.2 s steps) while the command's main process lives, at most the grace, then KILL the
  // group: that ends what ignored TERM, children left behind by a main process that did exit, and the
  // watchdog itself. The group's ID cannot be reused meanwhile: the watchdog is still a member.
  const watchdog =
    `( trap '' TERM HUP INT; request=; IFS= read -r request <&3; exec 3<&-; ` +
    `if [ "$request" = stop ]${onEof}; then kill -s TERM -- -"$$"; n=0; ` +
    `while kill -s 0 "$$" 2>/dev/null && [ "$n" -lt ${rounds} ]; do sleep 0.2 2>/dev/null || sleep 1; n=$((n+1)); done; ` +
    `kill -s KILL -- -"$$"; fi ) ${lock ? '7>&- ' : ''}>/dev/null 2>&1 &`;
  const mark = (guarded: 0 | 1) => `printf '%s %s %s\\n' ${shellQuote(marker)} "$$" ${guarded} >&2`;
  // The latest end, whole seconds: TERM at N, KILL at N + K.
  const bound = Math.ceil(timeoutSeconds + settings.killAfterSeconds);
  return (
    `exec 3<&0 </dev/null; ` +
    (lock || fence ? stateDirSection((lock ?? fence)!.flockCommand, marker) : '') +
    (fence ? fenceSection(fence, marker) : '') +
    (lock ? lockSection(lock, marker, timeout, bound) : '') +
    `${watchdog} exec 3<&-; ` +
    `if command -v ${timeout} >/dev/null 2>&1; then ${mark(1)}; ` +
    `exec ${timeout} -k ${formatNumber(settings.killAfterSeconds)} ${formatNumber(timeoutSeconds)} sh -c ${inner}; ` +
    `else ${mark(0)}; printf '%s\\n' ${shellQuote(`scalebot: no ${timeout} command on this host: only the bot's own timer limits this step`)} >&2; ` +
    `exec sh -c ${inner}; fi`
  );
}

/**
 * Takes the `lockKey` slot in the wrapper shell, before the command and its watchdog start.
 *
 * The lock is flock(2) on fd 7, opened by the wrapper shell and inherited through `exec timeout … sh -c` by
 * the command and everything it starts (the watchdog closes it). The kernel drops the lock when the last of
 * those processes dies, however it dies (normal end, timeout's KILL, the watchdog's KILL, OOM, reboot): no
 * stale lock to detect and break. A process the command leaves running in the background keeps the slot, as
 * it is still part of that attempt; the refusal then says the recorded PID is gone and names the lock file.
 *
 * Where: `$HOME/.cache/scalebot/locks`, a directory of the login user's own; if HOME is unusable (unset, not
 * an existing directory, not writable), `${TMPDIR:-/tmp}/scalebot-<uid>`. Each must be a real directory (not a symlink)
 * owned by the user, so nobody else can plant a symlink or swap a file in it; in a shared /tmp another user
 * can only squat the name, which makes the step refuse (nolock dir), never run twice. Not $XDG_RUNTIME_DIR:
 * logind removes it at the user's last logout, while a command whose connection dropped may still hold a lock
 * there. The file name carries `uname -n`, so hosts sharing an NFS home do not share slots.
 *
 * Holder details: after locking, the wrapper writes "PID START DEADLINE" (epoch seconds, DEADLINE "-" without
 * `timeout`) into the file, in place (renaming would move the lock's inode). A refused attempt prints them
 * with the host's clock, so the bot can take out the clock offset.
 *
 * Old files: lock files untouched for more than 8 days (longer than the longest step, a week, plus kill-after)
 * are removed, each only while holding its lock (`flock -n FILE rm -f FILE`), so a held slot is never removed.
 * A wrapper that opened a file just before it was removed would lock a dead inode; so after locking it checks
 * that the path still names the file it holds (`-ef /dev/fd/7`) and otherwise opens it again.
 *
 * No flock(1) (it comes with util-linux and busybox, so this is rare): the step refuses to start (nolock
 * flock) rather than fall back to a `mkdir` lock. A mkdir lock must be broken by hand when its holder dies,
 * and breaking it by a `kill -0` check races with the next holder (two attempts that both see it stale both
 * take it), and a PID can be reused: exactly the "twice" this lock is for.
 *
 * Marker lines (MarkerFilter): "MARKER busy PID START DEADLINE ALIVE NOW FILE" (fields "-" when unknown) or
 * "MARKER nolock flock|dir|open|error", then exit 75.
 */
function lockSection(lock: RemoteLock, marker: string, timeout: string, bound: number): string {
  const m = shellQuote(marker);
  const flock = lock.flockCommand;
  const refuse = (why: string) => `{ printf '%s nolock %s\\n' ${m} ${why} >&2; exit ${LOCK_REFUSED_EXIT}; }`;
  const readHolder = `sb_h=; sb_s=; sb_d=; read -r sb_h sb_s sb_d sb_rest < "$sb_file" 2>/dev/null; `;
  return (
    `find "$sb_dir" -type f -name '*.lock' -mtime +8 -exec ${flock} -n {} rm -f {} \\; >/dev/null 2>&1; ` +
    `sb_file="$sb_dir/$(uname -n 2>/dev/null | tr -cd 'A-Za-z0-9_.-')-"${shellQuote(lock.key)}.lock; sb_n=0; ` +
    `while :; do command exec 7>>"$sb_file" || ${refuse('open')}; ${flock} -n 7 2>/dev/null; sb_rc=$?; ` +
    `if [ "$sb_rc" -eq 0 ]; then if [ ! -e /dev/fd/7 ] || [ "$sb_file" -ef /dev/fd/7 ]; then break; fi; ` +
    `elif [ "$sb_rc" -eq 1 ]; then ${readHolder}` +
    // The holder may be between its lock and its write, and the file still shows the one before it.
    `if [ -z "$sb_h" ] || ! kill -s 0 "$sb_h" 2>/dev/null; then sleep 0.3 2>/dev/null || sleep 1; ${readHolder}fi; ` +
    `if [ -n "$sb_h" ] && kill -s 0 "$sb_h" 2>/dev/null; then sb_a=1; else sb_a=0; fi; ` +
    `printf '%s busy %s %s %s %s %s %s\\n' ${m} "\${sb_h:--}" "\${sb_s:--}" "\${sb_d:--}" "$sb_a" "$(date +%s)" "$sb_file" >&2; exit ${LOCK_REFUSED_EXIT}; ` +
    `else ${refuse('error')}; fi; ` +
    `sb_n=$((sb_n+1)); [ "$sb_n" -lt 5 ] || ${refuse('error')}; done; ` +
    `sb_s=$(date +%s); if command -v ${timeout} >/dev/null 2>&1; then sb_d=$((sb_s+${bound})); else sb_d=-; fi; ` +
    `printf '%s %s %s\\n' "$$" "$sb_s" "$sb_d" > "$sb_file"; `
  );
}

/**
 * Chooses the directory of the host's scalebot state (lock slots, the fencing token) into `$sb_dir`: see
 * lockSection for where and why. Refuses (nolock flock|dir) when flock(1) is missing or no directory will do.
 */
function stateDirSection(flockCommand: string, marker: string): string {
  const refuse = (why: string) => `{ printf '%s nolock %s\\n' ${shellQuote(marker)} ${why} >&2; exit ${LOCK_REFUSED_EXIT}; }`;
  return (
    `command -v ${flockCommand} >/dev/null 2>&1 || ${refuse('flock')}; ` +
    // HOME only if it exists: a root session with HOME=/nonexistent would otherwise create it.
    `sb_home=; if [ -n "\${HOME:-}" ] && [ -d "$HOME" ]; then sb_home=$HOME/.cache/scalebot/locks; fi; ` +
    `sb_dir=; for sb_try in "$sb_home" "\${TMPDIR:-/tmp}/scalebot-$(id -u)"; do ` +
    `[ -n "$sb_try" ] || continue; mkdir -p -m 700 "$sb_try" 2>/dev/null; ` +
    `if [ -d "$sb_try" ] && [ ! -L "$sb_try" ] && [ -O "$sb_try" ] && [ -w "$sb_try" ]; then sb_dir=$sb_try; break; fi; done; ` +
    `[ -n "$sb_dir" ] || ${refuse('dir')}; `
  );
}

/**
 * The leader's fencing token (RunOptions.fenceToken), checked and recorded before anything else starts.
 *
 * The host keeps the highest token it has seen in `<host>-fence[-SCOPE].token` (one per deployment: see
 * LeaseStore.deployment), in the same directory as the lock
 * slots, and checks and records it under a host-wide flock on `<host>-fence.flock` (fd 8, waited for: the
 * section it guards takes milliseconds), so two steps of two leaders cannot both read the old highest and
 * both run. A lower token than the highest is refused ("MARKER fenced HIGHEST", exit 75): that replica has
 * been deposed, and a newer leader has already run steps here. Equal or higher is recorded and runs.
 *
 * The token file is replaced by a rename, so a crash mid-write leaves the old token rather than none, and
 * neither file ends in `.lock`, so the sweep of old slot files never removes the record. Anything in the
 * file that is not a token up to 16 digits refuses the step (nofence corrupt): fail closed, never compare
 * garbage. The lock is dropped (fd 8 closed) before the slot is taken and the command starts.
 */
function fenceSection(fence: RemoteFence, marker: string): string {
  const m = shellQuote(marker);
  const flock = fence.flockCommand;
  const token = String(fence.token);
  if (!/^\d{1,16}$/.test(token)) throw new TypeError('fence token must be a plain whole number');
  if (fence.scope !== undefined && !/^[a-z0-9]{1,32}$/.test(fence.scope)) throw new TypeError('fence scope must be 1 to 32 of [a-z0-9]');
  const scope = fence.scope === undefined ? '' : `-${fence.scope}`;
  const refuse = (why: string, file: string) => `{ printf '%s nofence %s %s\\n' ${m} ${why} "${file}" >&2; exit ${LOCK_REFUSED_EXIT}; }`;
  return (
    `sb_fence="$sb_dir/$(uname -n 2>/dev/null | tr -cd 'A-Za-z0-9_.-')-fence${scope}"; ` +
    `command exec 8>>"$sb_fence.flock" || ${refuse('open', '$sb_fence.flock')}; ` +
    `${flock} -w 30 8 2>/dev/null || ${refuse('wait', '$sb_fence.flock')}; ` +
    `sb_top=; [ ! -e "$sb_fence.token" ] || read -r sb_top sb_rest < "$sb_fence.token" || [ -n "$sb_top" ] || ${refuse('corrupt', '$sb_fence.token')}; ` +
    `case "$sb_top" in '') sb_top=0 ;; *[!0-9]*) ${refuse('corrupt', '$sb_fence.token')} ;; esac; ` +
    `[ "\${#sb_top}" -le 16 ] || ${refuse('corrupt', '$sb_fence.token')}; ` +
    `if [ "$sb_top" -gt ${token} ]; then printf '%s fenced %s\\n' ${m} "$sb_top" >&2; exit ${LOCK_REFUSED_EXIT}; fi; ` +
    `if [ "$sb_top" -ne ${token} ]; then ` +
    `{ printf '%s\\n' ${token} > "$sb_fence.token.$$" && mv -f "$sb_fence.token.$$" "$sb_fence.token"; } 2>/dev/null || ` +
    `{ rm -f "$sb_fence.token.$$"; ${refuse('write', '$sb_fence.token')}; }; fi; ` +
    `exec 8>&-; `
  );
}

// ---------------------------------------------------------------------------------------------------------
// Output

class OutputCollector {
  private merged: string[] = [];
  private mergedBytes = 0;
  private droppedBytes = 0;
  private tails = { stdout: '', stderr: '' };

  constructor(
    private readonly settings: Required<SshOptions>,
    private readonly onOutput: RunOptions['onOutput'],
  ) {}

  push(stream: 'stdout' | 'stderr', text: string): void {
    if (text === '') return;
    const bytes = Buffer.byteLength(text);
    if (this.mergedBytes + bytes <= this.settings.maxOutputBytes) {
      this.merged.push(text);
      this.mergedBytes += bytes;
    } else {
      const room = this.settings.maxOutputBytes - this.mergedBytes;
      if (room > 0) {
        const head = Buffer.from(text)
          .subarray(0, room)
          .toString('utf8')
          .replace(/\uFFFD$/, '');
        this.merged.push(head);
        this.mergedBytes += Buffer.byteLength(head);
      }
      this.droppedBytes += bytes - Math.max(0, room);
    }
    const tail = this.tails[stream] + text;
    this.tails[stream] = tail.length > this.settings.tailChars ? tail.slice(-this.settings.tailChars) : tail;
    try {
      this.onOutput?.(text, stream);
    } catch {
      // A failing Slack update must not end the step.
    }
  }

  result(): Pick<StepResult, 'output' | 'outputTruncated' | 'stdoutTail' | 'stderrTail'> {
    let output = this.merged.join('');
    if (this.droppedBytes > 0) {
      output += `\n[scalebot: output truncated: ${this.droppedBytes} more bytes were not stored; the tails show the end]\n`;
    }
    return { output, outputTruncated: this.droppedBytes > 0, stdoutTail: this.tails.stdout, stderrTail: this.tails.stderr };
  }
}

/**
 * Takes the marker line out of stderr. Lines before it (a chatty .bashrc) are passed through; the marker
 * comes before the command starts, so the command's own stderr is never held back.
 */
class MarkerFilter {
  onMarker: (pid: number, guarded: boolean) => void = () => undefined;
  onRefusal: (refusal: LockRefusal) => void = () => undefined;
  private pending = '';
  private found = false;

  constructor(
    private readonly marker: string,
    private readonly emit: (text: string) => void,
  ) {}

  push(text: string): void {
    if (this.found) {
      this.emit(text);
      return;
    }
    this.pending += text;
    for (let newline = this.pending.indexOf('\n'); newline !== -1 && !this.found; newline = this.pending.indexOf('\n')) {
      const line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      const ours = line.startsWith(`${this.marker} `);
      const match = ours ? /^\S+ (\d+) ([01])$/.exec(line) : null;
      const refusal = ours && !match ? parseRefusal(line.slice(this.marker.length + 1)) : null;
      if (match) {
        this.found = true;
        this.onMarker(Number(match[1]), match[2] === '1');
      } else if (refusal) {
        this.found = true;
        this.onRefusal(refusal);
      } else {
        this.emit(`${line}\n`);
      }
    }
    if (this.found || this.pending.length > 64 * 1024) this.flush();
  }

  flush(): void {
    if (this.pending) this.emit(this.pending);
    this.pending = '';
  }
}

/** "busy PID START DEADLINE ALIVE NOW FILE", "nolock WHY", "fenced HIGHEST" or "nofence WHY FILE" (see lockSection, fenceSection). */
function parseRefusal(text: string): LockRefusal | null {
  const seenAt = Date.now();
  const none = { holderPid: null, holderAlive: false, since: null, deadline: null, hostNow: 0, seenAt, lockFile: '' };
  const nolock = /^nolock (flock|dir|open|error)$/.exec(text);
  if (nolock) return { kind: nolock[1] as LockRefusal['kind'], ...none };
  const fenced = /^fenced (\d{1,16})$/.exec(text);
  if (fenced) return { kind: 'fenced', ...none, highestToken: Number(fenced[1]) };
  const nofence = /^nofence (open|wait|corrupt|write) (.*)$/.exec(text);
  if (nofence) return { kind: `fence_${nofence[1]}` as FenceTrouble, ...none, lockFile: nofence[2]! };
  const busy = /^busy (\S+) (\S+) (\S+) ([01]) (\d+) (.+)$/.exec(text);
  if (!busy) return null;
  // The file is the holder's to write; anything but a plain number is taken as unknown.
  const number = (field: string) => (/^\d{1,12}$/.test(field) ? Number(field) : null);
  return {
    kind: 'busy',
    holderPid: number(busy[1]!),
    holderAlive: busy[4] === '1',
    since: number(busy[2]!),
    deadline: number(busy[3]!),
    hostNow: Number(busy[5]),
    seenAt,
    lockFile: busy[6]!,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Messages

function describeMismatch(where: string, pinned: PinnedHostKey, offered: Buffer): string {
  const offeredType = keyTypeOf(offered) ?? 'unknown type';
  return (
    `host key mismatch for ${where}: the server offered ${offeredType} ${fingerprintSha256(offered)}, ` +
    `the pinned key is ${pinned.type} ${pinned.fingerprint}. Not connecting. ` +
    'If the host was rebuilt on purpose, update host_key in the config; otherwise someone may be intercepting the connection.'
  );
}

function describeConnectError(error: Error, where: string, host: SshHost, pinned: PinnedHostKey): [StepOutcome, string] {
  const code = (error as NodeJS.ErrnoException).code;
  const level = (error as { level?: string }).level;
  const text = String(error?.message ?? error);
  if (/no matching host key/i.test(text)) {
    return [
      'host_key_mismatch',
      `host key mismatch for ${where}: the server offers no ${pinned.type} host key (pinned ${pinned.fingerprint}). Not connecting.`,
    ];
  }
  if (level === 'client-timeout' || /timed out while waiting for handshake/i.test(text)) {
    return ['connect_failed', `cannot connect to ${where}: no SSH handshake within the connect timeout`];
  }
  if (level === 'client-authentication' || /authentication methods failed/i.test(text)) {
    return ['connect_failed', `cannot log in to ${where}: the server did not accept the key in ${host.privateKeyFile} for user ${host.user}`];
  }
  if (/privateKey|private key|passphrase/i.test(text)) {
    const why = /passphrase|encrypted/i.test(text) ? 'it is encrypted (a passphrase is not supported)' : 'it is not a private key ssh2 can read';
    return ['connect_failed', `cannot use private key file ${host.privateKeyFile}: ${why}`];
  }
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused (nothing listens on that port)',
    ECONNRESET: 'the connection was reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'no answer',
    ENOTFOUND: 'the address does not resolve',
    EAI_AGAIN: 'the address does not resolve (DNS failure)',
  };
  if (code && known[code]) return ['connect_failed', `cannot connect to ${where}: ${known[code]} (${code})`];
  return ['connect_failed', `cannot connect to ${where}: ${text}${code ? ` (${code})` : ''}`];
}

function reason(error: Error | undefined): string {
  if (!error) return '';
  const code = (error as NodeJS.ErrnoException).code;
  return ` (${error.message}${code && !error.message.includes(code) ? `, ${code}` : ''})`;
}

/** Defence in depth: no run of the key file's text and no PEM block ever leaves in a message. */
function scrub(text: string, secret: string | undefined): string {
  let out = text.replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '[redacted key]');
  if (secret) out = out.replace(/[A-Za-z0-9+/=]{12,}/g, (run) => (secret.includes(run) ? '[redacted]' : run));
  return out;
}

function seconds(value: number): string {
  return value < 10 ? `${value.toFixed(1)} s` : `${Math.round(value)} s`;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3).replace(/\.?0+$/, '');
}

function formatAddress(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function destroyClient(client: Client | null): void {
  try {
    client?.destroy();
  } catch {
    /* already gone */
  }
}

function waitFor(condition: () => boolean, ms: number, events: Set<() => void>): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (condition()) done();
    };
    // setTimeout turns delays over 2^31-1 ms (and Infinity) into 1 ms: no timer at all for "no limit".
    const timer = Number.isFinite(ms) ? setTimeout(() => done(), ms) : undefined;
    const done = () => {
      clearTimeout(timer);
      events.delete(check);
      resolve();
    };
    events.add(check);
    check();
  });
}
