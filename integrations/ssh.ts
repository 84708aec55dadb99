import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { NodeSSH, type Config } from 'node-ssh';
import type { Client, ClientChannel, ServerHostKeyAlgorithm } from 'ssh2';
import { shellQuote } from '../core/shell-quote.ts';

/**
 * Runs one runbook step on one host over SSH: the only importer of node-ssh.
 *
 * What node-ssh/ssh2 give us and what we add (details in the report in tests/integrations/ssh.test.ts):
 * - node-ssh is used to connect only. Its `execCommand` closes stdin at once, which also makes ssh2's
 *   `channel.signal()` a silent no-op, and OpenSSH refuses signal requests for root sessions anyway. So the
 *   remote process is never signalled through SSH; it is killed by a second command on the same connection.
 * - Without a pty, closing the channel or the whole connection leaves the remote command running. The remote
 *   `timeout -k` is what bounds its life even when the bot is gone or the network is; the local timer is what
 *   bounds the bot's wait even when the host hangs or has no `timeout`. Both are needed.
 * - After `connect()` node-ssh leaves no 'error' listener on the ssh2 client: a reset connection would throw
 *   an unhandled 'error' event and take the process down. We keep a listener for the connection's life.
 */

export interface SshHost {
  /** Inventory name, for messages. */
  name: string;
  address: string;
  port: number;
  user: string;
  /** Path to the private key; read at connect time, its contents never leave this module. */
  privateKeyFile: string;
  /** The pinned host key as in known_hosts or the host's .pub file: "ssh-ed25519 AAAA…" (a leading host field is allowed). */
  hostKey: string;
}

export type StepOutcome =
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'connection_lost'
  | 'host_key_mismatch'
  | 'connect_failed'
  | 'stopped';

export interface StepResult {
  outcome: StepOutcome;
  /** The remote exit status, when one arrived. */
  exitCode: number | null;
  /** The signal that ended the remote command ("KILL", …), when it ended by one. */
  signal: string | null;
  durationMs: number;
  /** The last few KB of each stream. */
  stdoutTail: string;
  stderrTail: string;
  /** Everything, both streams merged in arrival order, cut at `maxOutputBytes` with a note. */
  output: string;
  outputTruncated: boolean;
  /** One or two sentences for people; never contains key material. */
  message: string;
}

export interface RunOptions {
  /** The step's timeout. The remote command is stopped at this point; see `SshOptions` for the margins. */
  timeoutSeconds: number;
  /** Called for every decoded chunk as it arrives; errors thrown here are ignored. */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Aborting stops the step: the remote process group gets TERM, then KILL, and the result is `stopped`. */
  signal?: AbortSignal;
}

export interface SshPort {
  run(host: SshHost, command: string, options: RunOptions): Promise<StepResult>;
}

export interface SshOptions {
  /** How long connecting, the handshake and authentication may take. Default 10 000. */
  readyTimeoutMs?: number;
  /** Remote `timeout -k`: seconds between TERM and KILL when a step overruns. Default 5. */
  killAfterSeconds?: number;
  /** Seconds the bot waits after timeout + killAfter before it gives up on the host itself. Default 5. */
  localGraceSeconds?: number;
  /** On stop: seconds between TERM and KILL sent to the remote process group. Default 3. */
  stopGraceSeconds?: number;
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
}

const DEFAULTS: Required<SshOptions> = {
  readyTimeoutMs: 10_000,
  killAfterSeconds: 5,
  localGraceSeconds: 5,
  stopGraceSeconds: 3,
  maxOutputBytes: 1_000_000,
  tailChars: 4000,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
  exitGraceMs: 2000,
  remoteTimeoutCommand: 'timeout',
};

// ---------------------------------------------------------------------------------------------------------
// Host keys

export interface PinnedHostKey {
  /** "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", … */
  type: string;
  /** The key as the SSH wire format has it: what ssh2's hostVerifier receives. */
  blob: Buffer;
  /** "SHA256:…", as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

const HOST_KEY_TYPES: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  // An RSA key is offered under any of its signature algorithms.
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** Parses a pinned key line; throws with what is wrong. Config validation should call this at load time. */
export function parseHostKey(line: string): PinnedHostKey {
  const fields = String(line).trim().split(/\s+/);
  // known_hosts lines start with the host patterns; a .pub line starts with the type.
  const at = fields.findIndex((f) => Object.hasOwn(HOST_KEY_TYPES, f));
  if (at === -1 || at > 1 || fields[at + 1] === undefined) {
    throw new Error(
      `host_key must be a key type and base64 key, like "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA…" (types: ${Object.keys(HOST_KEY_TYPES).join(', ')})`,
    );
  }
  const type = fields[at]!;
  const base64 = fields[at + 1]!;
  const blob = Buffer.from(base64, 'base64');
  if (!/^[A-Za-z0-9+/]+=*$/.test(base64) || blob.length < 20 || keyTypeOf(blob) !== type) {
    throw new Error(`host_key: the base64 part is not a ${type} key`);
  }
  return { type, blob, fingerprint: fingerprintSha256(blob) };
}

/** OpenSSH's fingerprint: SHA256 of the key blob, base64 without padding. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The type name at the start of a wire-format key (a uint32 length, then the name). */
function keyTypeOf(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > blob.length) return null;
  return blob.subarray(4, 4 + length).toString('latin1');
}

// ---------------------------------------------------------------------------------------------------------
// Running a step

export function createSsh(options: SshOptions = {}): SshPort {
  const settings: Required<SshOptions> = { ...DEFAULTS, ...options };
  if (!/^[A-Za-z0-9_./-]+$/.test(settings.remoteTimeoutCommand)) throw new TypeError('remoteTimeoutCommand must be a plain command name or path');
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
  if (typeof timeoutSeconds !== 'number' || !Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > 7 * 86400) {
    throw new TypeError('timeoutSeconds must be a positive number of seconds (at most a week)');
  }
  return parseHostKey(host.hostKey);
}

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
  const finish = (outcome: StepOutcome, message: string, exit: ExitInfo = { code: null, signal: null }): StepResult => ({
    outcome,
    exitCode: exit.code,
    signal: exit.signal,
    durationMs: Math.round(performance.now() - began),
    ...output.result(),
    message: scrub(message, secret),
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
    algorithms: { serverHostKey: HOST_KEY_TYPES[pinned.type] },
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
  const remote = buildRemoteCommand(command, options.timeoutSeconds, marker, settings);
  const stderr = new MarkerFilter(marker, (text) => output.push('stderr', text));
  let pgid: number | undefined;
  let remoteTimeout = false;
  stderr.onMarker = (pid, guarded) => {
    pgid = pid;
    remoteTimeout = guarded;
    wake();
  };

  let exit: ExitInfo | undefined;
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
    if (connectionClosed) return finish('connection_lost', `lost the connection to ${where} before the command started${reason(connectionError ?? (error as Error))}`);
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
    wake();
  });
  channel.on('close', () => {
    channelClosed = true;
    wake();
  });
  // Nothing is sent on stdin: a command that reads it gets end-of-file instead of waiting forever.
  channel.end();

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
  let exitSeenAt: number | undefined;
  let exitGraceExpired = false;
  let exitGraceTimer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    const check = () => {
      if (exit && exitSeenAt === undefined) {
        exitSeenAt = performance.now();
        exitGraceTimer = setTimeout(() => {
          exitGraceExpired = true;
          check();
        }, settings.exitGraceMs);
      }
      const done =
        stopped || localTimedOut || channelClosed || connectionClosed || exitGraceExpired;
      if (done) {
        events.delete(check);
        resolve();
      }
    };
    events.add(check);
    check();
  });
  clearTimeout(localTimer);
  clearTimeout(exitGraceTimer);
  abort?.removeEventListener('abort', onAbort);
  const elapsedSeconds = (performance.now() - execStarted) / 1000;

  const flushStreams = () => {
    output.push('stdout', stdoutDecoder.end());
    stderr.push(stderrDecoder.end());
    stderr.flush();
  };

  // A stop or a local timeout that raced with a normal end is a normal end.
  if ((stopped || localTimedOut) && !exit && !channelClosed && !connectionClosed) {
    // Stopped right after the start: the marker with the process group may be a moment away.
    if (pgid === undefined) await waitFor(() => pgid !== undefined || channelClosed || connectionClosed, 1000, events);
    const killReport = await killRemoteGroup(client, pgid, settings, () => connectionClosed);
    // The command's own exit (caused by the kill) may arrive meanwhile; give the channel a moment to close.
    await waitFor(() => channelClosed || connectionClosed, 1000, events);
    closeConnection();
    flushStreams();
    if (stopped) {
      return finish('stopped', `stopped on request after ${seconds(elapsedSeconds)} on ${where}; ${killReport}`, exit);
    }
    return finish(
      'timed_out',
      `timed out: no exit status ${seconds(elapsedSeconds)} after the start (timeout ${seconds(options.timeoutSeconds)}) on ${where}; ` +
        `the bot stopped waiting${remoteTimeout ? ' although the remote timeout was armed' : ' (the host has no `timeout` command)'}; ${killReport}`,
      exit,
    );
  }

  closeConnection();
  flushStreams();

  if (!exit) {
    return finish(
      'connection_lost',
      `lost the connection to ${where} after ${seconds(elapsedSeconds)}, before the command finished${reason(connectionError)}; ` +
        `it may still be running there until its timeout (${seconds(options.timeoutSeconds)}) stops it`,
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

/**
 * The command the remote login shell runs. It prints a marker line with its PID on stderr (sshd makes each
 * session's shell a session and process-group leader, so the PID is also the group to kill on stop), then
 * replaces itself with `timeout -k K N sh -c '<command>'`: TERM at N seconds, KILL K seconds later, to the
 * whole group. If the host has no `timeout`, the command still runs and only the bot's own timer guards it.
 */
export function buildRemoteCommand(
  command: string,
  timeoutSeconds: number,
  marker: string,
  settings: Pick<Required<SshOptions>, 'killAfterSeconds' | 'remoteTimeoutCommand'>,
): string {
  const inner = shellQuote(command);
  const timeout = settings.remoteTimeoutCommand;
  const mark = (guarded: 0 | 1) => `printf '%s %s %s\\n' ${shellQuote(marker)} "$$" ${guarded} >&2`;
  return (
    `if command -v ${timeout} >/dev/null 2>&1; then ${mark(1)}; ` +
    `exec ${timeout} -k ${formatNumber(settings.killAfterSeconds)} ${formatNumber(timeoutSeconds)} sh -c ${inner}; ` +
    `else ${mark(0)}; printf '%s\\n' ${shellQuote(`scalebot: no ${timeout} command on this host: only the bot's own timer limits this step`)} >&2; ` +
    `exec sh -c ${inner}; fi`
  );
}

/**
 * On stop or local timeout: a second command on the same connection sends TERM to the step's process group,
 * waits up to stopGraceSeconds for it to go, then sends KILL. This works for root and for other users (it is
 * the same user killing its own processes), where SSH's signal request does not.
 */
async function killRemoteGroup(
  client: Client,
  pgid: number | undefined,
  settings: Required<SshOptions>,
  isClosed: () => boolean,
): Promise<string> {
  if (pgid === undefined || !Number.isInteger(pgid) || pgid <= 1) {
    return 'the remote process was not identified, so only its remote timeout will stop it';
  }
  if (isClosed()) return 'the connection was gone, so only its remote timeout will stop it';
  const rounds = Math.max(1, Math.round(settings.stopGraceSeconds * 5));
  const script =
    'p=$1; n=0; ' +
    'kill -s TERM -- -"$p" 2>/dev/null || kill -s TERM "$p" 2>/dev/null || { echo gone; exit 0; }; ' +
    `while [ "$n" -lt ${rounds} ]; do sleep 0.2 2>/dev/null || sleep 1; ` +
    'kill -s 0 -- -"$p" 2>/dev/null || { echo term; exit 0; }; n=$((n+1)); done; ' +
    'kill -s KILL -- -"$p" 2>/dev/null || kill -s KILL "$p" 2>/dev/null; echo kill';
  const remote = `sh -c ${shellQuote(script)} scalebot-stop ${pgid}`;
  const deadlineMs = settings.stopGraceSeconds * 1000 + 3000;
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve('timeout'), deadlineMs);
    try {
      client.exec(remote, (error, channel) => {
        if (error) {
          clearTimeout(timer);
          resolve('error');
          return;
        }
        channel.on('data', (data: Buffer) => (text += data.toString('utf8')));
        channel.stderr.on('data', () => undefined);
        channel.on('close', () => {
          clearTimeout(timer);
          resolve(text.trim());
        });
        channel.end();
      });
    } catch {
      clearTimeout(timer);
      resolve('error');
    }
  });
  switch (answer) {
    case 'term':
      return `its process group was sent TERM and ended`;
    case 'kill':
      return `its process group ignored TERM for ${seconds(settings.stopGraceSeconds)} and was sent KILL`;
    case 'gone':
      return 'its process group had already ended';
    default:
      return `sending TERM/KILL to its process group ${answer === 'timeout' ? 'got no answer' : 'failed'}, so only its remote timeout will stop it`;
  }
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
        const head = Buffer.from(text).subarray(0, room).toString('utf8').replace(/\uFFFD$/, '');
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
      const match = line.startsWith(this.marker) ? /^\S+ (\d+) ([01])$/.exec(line) : null;
      if (match) {
        this.found = true;
        this.onMarker(Number(match[1]), match[2] === '1');
      } else {
        this.emit(line + '\n');
      }
    }
    if (this.found || this.pending.length > 64 * 1024) this.flush();
  }

  flush(): void {
    if (this.pending) this.emit(this.pending);
    this.pending = '';
  }
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
    return ['host_key_mismatch', `host key mismatch for ${where}: the server offers no ${pinned.type} host key (pinned ${pinned.fingerprint}). Not connecting.`];
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
  return Number.isInteger(value) ? String(value) : value.toFixed(3).replace(/0+$/, '');
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
    const timer = setTimeout(() => done(), ms);
    const done = () => {
      clearTimeout(timer);
      events.delete(check);
      resolve();
    };
    events.add(check);
    check();
  });
}
