// A private OpenSSH server on a loopback port for tests: its own host key, client key, config and log.
// It never touches the system's sshd or ~/.ssh. See README.md in this folder.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshHost } from '../../integrations/ssh.ts';
import { freeLoopbackPort } from '../prometheus/loopback.ts';
import { forgetOnExit, killOnExit } from '../../tests/helpers/kill-on-exit.ts';

export interface StartSshdOptions {
  /**
   * The account tests log in as. Default "root" (tests run as root here and in CI). Another existing account
   * (e.g. "postgres") works too: the server then uses PAM, because with `UsePAM no` OpenSSH refuses accounts
   * whose password is locked, as system accounts' are.
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

const SSHD = process.env.SSHD_BIN ?? '/usr/sbin/sshd';
const BIND_ATTEMPTS = 5;
const LOG_LIMIT = 256 * 1024;

export async function startSshd(options: StartSshdOptions = {}): Promise<SshdFixture> {
  const user = options.user ?? 'root';
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-sshd-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const pending = { kill: removeDir };
  killOnExit(pending);
  try {
    // sshd reads AuthorizedKeysFile as the logging-in user: a non-root user must be able to reach it.
    chmodSync(dir, 0o755);
    const hostKeyFile = join(dir, 'ssh_host_ed25519_key');
    const clientKeyFile = join(dir, 'client_ed25519');
    const wrongKeyFile = join(dir, 'other_host_ed25519_key');
    for (const [file, comment] of [
      [hostKeyFile, 'scalebot-test-host'],
      [clientKeyFile, 'scalebot-test-client'],
      [wrongKeyFile, 'scalebot-test-other-host'],
    ] as const) {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { stdio: 'ignore' });
    }
    const pinned = publicKeyLine(`${hostKeyFile}.pub`);
    const wrongHostKey = publicKeyLine(`${wrongKeyFile}.pub`);
    const authorizedKeys = join(dir, 'authorized_keys');
    writeFileSync(authorizedKeys, readFileSync(`${clientKeyFile}.pub`));
    chmodSync(authorizedKeys, 0o644);
    // The privilege-separation directory Debian's sshd insists on; normally made by its systemd unit.
    if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

    for (let attempt = 1; ; attempt++) {
      const port = await freeLoopbackPort();
      const configFile = join(dir, 'sshd_config');
      writeFileSync(configFile, renderConfig({ port, dir, hostKeyFile, authorizedKeys, user, env: options.env ?? {} }));
      const server = launch(configFile);
      const outcome = await waitListening(server, port, options.readyTimeoutMs ?? 10_000);
      if (outcome === 'ready') {
        forgetOnExit(pending);
        const entry = {
          kill() {
            killSessionsOf(server.child.pid);
            server.child.kill('SIGKILL');
            removeDir();
          },
        };
        killOnExit(entry);
        let stopped: Promise<void> | undefined;
        return {
          host: {
            name: 'test-sshd',
            address: '127.0.0.1',
            port,
            user,
            privateKeyFile: clientKeyFile,
            hostKey: pinned,
          },
          wrongHostKey,
          hostKeyFile,
          dir,
          pid: server.child.pid!,
          logs: server.logs,
          killSessions: () => killSessionsOf(server.child.pid),
          freezeSessions: () => freezeSessionsOf(server.child.pid),
          stop() {
            stopped ??= (async () => {
              forgetOnExit(entry);
              killSessionsOf(server.child.pid);
              await server.stop();
              removeDir();
            })();
            return stopped;
          },
        };
      }
      await server.stop();
      if (outcome === 'address-in-use' && attempt < BIND_ATTEMPTS) continue;
      throw new Error(`sshd did not start (${outcome}):\n${server.logs()}`);
    }
  } catch (error) {
    forgetOnExit(pending);
    removeDir();
    throw error;
  }
}

function publicKeyLine(file: string): string {
  const [type, key] = readFileSync(file, 'utf8').trim().split(/\s+/);
  return `${type} ${key}`;
}

function renderConfig(o: { port: number; dir: string; hostKeyFile: string; authorizedKeys: string; user: string; env: Record<string, string> }): string {
  const setEnv = Object.entries(o.env).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || !/^[^\s"'\\]*$/.test(value)) throw new Error(`sshd env: cannot pass ${name}=${value} through SetEnv`);
    return `${name}=${value}`;
  });
  return [
    ...(setEnv.length ? [`SetEnv ${setEnv.join(' ')}`] : []),
    `Port ${o.port}`,
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
    // Root logs in with a key under `UsePAM no` (the setup STACK-NOTES describes). A locked system account
    // such as postgres is refused without PAM, so only then is PAM switched on.
    `UsePAM ${o.user === 'root' ? 'no' : 'yes'}`,
    // The temp dir is not owned by the user: skip the ownership checks meant for home directories.
    'StrictModes no',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    'LogLevel VERBOSE',
    'MaxStartups 50',
    'MaxSessions 20',
    'LoginGraceTime 20',
    '',
  ].join('\n');
}

interface Server {
  child: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

function launch(configFile: string): Server {
  const child = spawn(SSHD, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const append = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (log.length > LOG_LIMIT) log = log.slice(-LOG_LIMIT);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      append(Buffer.from(`spawn error: ${error.message}\n`));
      resolve();
    });
  });
  return {
    child,
    logs: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitListening(server: Server, port: number, timeoutMs: number): Promise<'ready' | 'address-in-use' | 'exited' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      return /Address already in use/i.test(server.logs()) ? 'address-in-use' : 'exited';
    }
    // The log line comes once the socket is bound; the TCP connect proves it accepts.
    if (/Server listening on 127\.0\.0\.1 port/.test(server.logs()) && (await canConnect(port))) return 'ready';
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return 'timeout';
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
  const pids = listenerPid ? descendantsOf(listenerPid).filter((p) => p.comm.startsWith('sshd')).map((p) => p.pid) : [];
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
