// A private OpenSSH server on a loopback port: its own host key, client key, config and log. The tests log in
// to it, and the playground runs its runbooks through it. It never touches the system's sshd or ~/.ssh. See
// README.md in this folder.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { SshHost } from '../../integrations/ssh.ts';
import { launchServer } from '../server-process.ts';

export interface StartSshdOptions {
  /**
   * The account to log in as. Default "root" (tests run as root here and in CI); the playground gives whoever
   * runs it. Another existing account (e.g. "postgres") works too when sshd runs as root: the server then uses
   * PAM, because with `UsePAM no` OpenSSH refuses accounts whose password is locked, as system accounts' are.
   */
  user?: string;
  /** Milliseconds to wait for the port to accept connections. Default 10 000. */
  readyTimeoutMs?: number;
  /**
   * Environment for the sessions (sshd's `SetEnv`, which overrides sshd's own HOME, PATH, …): e.g. a temp HOME,
   * so what a command writes under ~ stays in the test's dir (and root's slow ~/.bashrc is not read).
   * Values without whitespace, quotes or backslashes.
   */
  env?: Record<string, string>;
  /**
   * sshd's `ForceCommand`, run for every session instead of the client's command (which it finds in
   * $SSH_ORIGINAL_COMMAND): given the fixture's temp dir to write its script into, returns the command.
   */
  forceCommand?: (dir: string) => string;
  /** `host.name`; default "test-sshd". */
  hostName?: string;
  /** The sshd binary; default SSHD_BIN, else /usr/sbin/sshd. */
  binary?: string;
  /** More public key lines to accept besides the fixture's client key: e.g. the login user's own, for an ssh its commands start. */
  authorizedKeys?: string[];
}

export interface SshdFixture {
  /** Ready for `createSsh().run(host, …)`: 127.0.0.1, the port, the user, the client key, the pinned host key. */
  host: SshHost;
  /** Another valid ed25519 public key line: pin it to see a host key mismatch. */
  wrongHostKey: string;
  /** The server's private host key file (never handed to the client side). */
  hostKeyFile: string;
  dir: string;
  /** The listening sshd's PID. */
  pid: number;
  /** sshd's log so far (`-e`, LogLevel VERBOSE): "Accepted publickey for …", "Connection closed by … [preauth]". */
  logs(): string;
  /** SIGKILLs every per-connection sshd process (children of the listener): clients see the connection drop. */
  killSessions(): number;
  /**
   * SIGSTOPs the per-connection sshd processes there are now: a half-open link as the client sees it (no
   * answer to keepalives, no close) while the remote command runs on, its stdin never reaching end of file.
   * Connections opened later are not affected. `thaw()` sends SIGCONT; `stop()` kills frozen ones too.
   */
  freezeSessions(): FrozenSessions;
  /** Kills the sessions and the listener and removes the temp dir. */
  stop(): Promise<void>;
}

export interface FrozenSessions {
  pids: number[];
  thaw(): void;
}

export async function startSshd(options: StartSshdOptions = {}): Promise<SshdFixture> {
  const user = options.user ?? 'root';
  const keys = { hostKeyFile: '', clientKeyFile: '', pinned: '', wrongHostKey: '' };
  const server = await launchServer({
    name: 'sshd',
    binary: options.binary ?? process.env.SSHD_BIN ?? '/usr/sbin/sshd',
    tempDirPrefix: 'scalebot-sshd-',
    prepare(dir) {
      // sshd reads AuthorizedKeysFile as the logging-in user: a non-root user must be able to reach it.
      chmodSync(dir, 0o755);
      keys.hostKeyFile = join(dir, 'ssh_host_ed25519_key');
      keys.clientKeyFile = join(dir, 'client_ed25519');
      const wrongKeyFile = join(dir, 'other_host_ed25519_key');
      for (const [file, comment] of [
        [keys.hostKeyFile, 'scalebot-test-host'],
        [keys.clientKeyFile, 'scalebot-test-client'],
        [wrongKeyFile, 'scalebot-test-other-host'],
      ] as const) {
        execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { stdio: 'ignore' });
      }
      keys.pinned = publicKeyLine(`${keys.hostKeyFile}.pub`);
      keys.wrongHostKey = publicKeyLine(`${wrongKeyFile}.pub`);
      const authorizedKeys = join(dir, 'authorized_keys');
      const accepted = [readFileSync(`${keys.clientKeyFile}.pub`, 'utf8').trim(), ...(options.authorizedKeys ?? [])];
      writeFileSync(authorizedKeys, `${accepted.join('\n')}\n`);
      chmodSync(authorizedKeys, 0o644);
      const forceCommand = options.forceCommand?.(dir);
      writeFileSync(
        join(dir, 'sshd_config'),
        renderConfig({ dir, hostKeyFile: keys.hostKeyFile, authorizedKeys, user, env: options.env ?? {}, ...(forceCommand ? { forceCommand } : {}) }),
      );
      // The privilege-separation directory Debian's sshd insists on when it runs as root; normally made by
      // its systemd unit.
      if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    },
    // -p: the port on the command line overrides the config's (which has none), so one config serves every try.
    args: (port, dir) => ['-D', '-e', '-f', join(dir, 'sshd_config'), '-p', String(port)],
    // The log line comes once the socket is bound; the TCP connect proves it accepts.
    isReady: async ({ port, logs }) => logs().includes(`Server listening on 127.0.0.1 port ${port}`) && (await canConnect(port)),
    readyTimeoutMs: options.readyTimeoutMs ?? 10_000,
    beforeKill: ({ pid }) => killSessionsOf(pid),
  });
  return {
    host: {
      name: options.hostName ?? 'test-sshd',
      address: '127.0.0.1',
      port: server.port,
      user,
      privateKeyFile: keys.clientKeyFile,
      hostKey: keys.pinned,
    },
    wrongHostKey: keys.wrongHostKey,
    hostKeyFile: keys.hostKeyFile,
    dir: server.dir,
    pid: server.pid,
    logs: server.logs,
    killSessions: () => killSessionsOf(server.pid),
    freezeSessions: () => freezeSessionsOf(server.pid),
    stop: server.stop,
  };
}

function publicKeyLine(file: string): string {
  const [type, key] = readFileSync(file, 'utf8').trim().split(/\s+/);
  return `${type} ${key}`;
}

function renderConfig(o: {
  dir: string;
  hostKeyFile: string;
  authorizedKeys: string;
  user: string;
  env: Record<string, string>;
  forceCommand?: string;
}): string {
  const setEnv = Object.entries(o.env).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || !/^[^\s"'\\]*$/.test(value)) throw new Error(`sshd env: cannot pass ${name}=${value} through SetEnv`);
    return `${name}=${value}`;
  });
  return [
    ...(setEnv.length ? [`SetEnv ${setEnv.join(' ')}`] : []),
    'ListenAddress 127.0.0.1',
    `HostKey ${o.hostKeyFile}`,
    `PidFile ${join(o.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${o.authorizedKeys}`,
    'AuthenticationMethods publickey',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    `AllowUsers ${o.user}`,
    // Root, or whoever runs an unprivileged sshd as themselves, logs in with a key under `UsePAM no` (the
    // usual setup for a throwaway sshd). A locked system account such as postgres is refused without PAM, so only
    // then is PAM switched on.
    `UsePAM ${o.user === 'root' || o.user === userInfo().username ? 'no' : 'yes'}`,
    // The temp dir is not owned by the user: skip the ownership checks meant for home directories.
    'StrictModes no',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    'AllowTcpForwarding no',
    ...(o.forceCommand ? [`ForceCommand ${o.forceCommand}`] : []),
    'LogLevel VERBOSE',
    'MaxStartups 50',
    'MaxSessions 20',
    'LoginGraceTime 20',
    '',
  ].join('\n');
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Every process whose parent chain leads to `root`, read from /proc (so nothing is matched by name). */
export function descendantsOf(root: number): Array<{ pid: number; comm: string }> {
  const children = new Map<number, Array<{ pid: number; comm: string }>>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may contain spaces and parentheses, so split at the last ')'.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push({ pid: Number(entry), comm });
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: Array<{ pid: number; comm: string }> = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Kills the per-connection sshd processes under the listener; the users' commands are left to their fate. */
function killSessionsOf(listenerPid: number | undefined): number {
  if (!listenerPid) return 0;
  let killed = 0;
  for (const { pid, comm } of descendantsOf(listenerPid)) {
    if (!comm.startsWith('sshd')) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed += 1;
    } catch {
      // Already gone.
    }
  }
  return killed;
}

function freezeSessionsOf(listenerPid: number | undefined): FrozenSessions {
  const pids = listenerPid
    ? descendantsOf(listenerPid)
        .filter((p) => p.comm.startsWith('sshd'))
        .map((p) => p.pid)
    : [];
  const signal = (name: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, name);
      } catch {
        // Gone.
      }
    }
  };
  signal('SIGSTOP');
  return { pids, thaw: () => signal('SIGCONT') };
}

/** Processes on this machine whose command line contains `marker` (the sshd is local, so remote = local). */
export function processesMatching(marker: string): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmdline.includes(marker)) found.push({ pid: Number(entry), cmdline });
    } catch {
      // Gone.
    }
  }
  return found;
}

/** Polls until no process matches `marker`, or the time is up; returns what is still there. */
export async function waitProcessesGone(marker: string, timeoutMs: number): Promise<Array<{ pid: number; cmdline: string }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = processesMatching(marker);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Test cleanup: kills (by PID) whatever still carries `marker`, so one failing test does not leak processes. */
export function killMatching(marker: string): void {
  for (const { pid } of processesMatching(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
}
