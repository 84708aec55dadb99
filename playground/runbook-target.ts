// Where runbooks run in the playground: this machine, through a throwaway sshd on a loopback port (its own
// host key, client key and config in a temp dir; the system's sshd and ~/.ssh are never touched), or, when no
// sshd can be started, nowhere: the bot's dry run shows the plan and what would run.
//
// The hook for the runbooks issue: `prepareRunbookTarget` is called by start-playground.ts only when the
// bot's registry has a `run` subcommand; `runbookHostsConfig` is the `hosts:` entry to merge into the
// playground's config so `/scale run <runbook> host=playground` reaches it (see playground/README.md).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { SshHost } from '../integrations/ssh.ts';
import { freeLoopbackPort } from './loopback.ts';

export const PLAYGROUND_HOST_NAME = 'playground';

export type RunbookTarget =
  | { readonly mode: 'sshd'; readonly host: SshHost; readonly summary: string; stop(): Promise<void> }
  | { readonly mode: 'dry-run'; readonly summary: string; stop(): Promise<void> }
  | { readonly mode: 'unavailable'; readonly summary: string; stop(): Promise<void> };

const nothingToStop = async () => {};

export interface RunbookTargetOptions {
  /** Whether the bot has runbooks at all (a `run` subcommand in its registry). */
  readonly runbooksAvailable: boolean;
  /** The sshd binary; default SSHD_BIN, else /usr/sbin/sshd. */
  readonly sshdBinary?: string;
}

export async function prepareRunbookTarget({ runbooksAvailable, sshdBinary }: RunbookTargetOptions): Promise<RunbookTarget> {
  if (!runbooksAvailable) {
    return { mode: 'unavailable', summary: 'This build of the bot has no runbooks yet.', stop: nothingToStop };
  }
  const binary = sshdBinary ?? process.env.SSHD_BIN ?? '/usr/sbin/sshd';
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    return {
      mode: 'dry-run',
      summary: `No sshd (${binary}): runbooks show their plan and what would run (install openssh-server to run them on this machine).`,
      stop: nothingToStop,
    };
  }
  try {
    const sshd = await startThrowawaySshd(binary);
    return {
      mode: 'sshd',
      host: sshd.host,
      summary: `Runbooks run on this machine as ${sshd.host.user}, through a throwaway sshd on 127.0.0.1:${sshd.host.port}.`,
      stop: sshd.stop,
    };
  } catch (error) {
    return {
      mode: 'dry-run',
      summary: `sshd could not start (${(error as Error).message.split('\n')[0]}): runbooks show their plan and what would run.`,
      stop: nothingToStop,
    };
  }
}

/** The config's `hosts:` entry for the throwaway sshd, in the shape of the runbooks issue. */
export function runbookHostsConfig(host: SshHost): Record<string, unknown> {
  return {
    [PLAYGROUND_HOST_NAME]: {
      address: host.address,
      port: host.port,
      user: host.user,
      private_key_file: host.privateKeyFile,
      host_key: host.hostKey,
    },
  };
}

interface ThrowawaySshd {
  readonly host: SshHost;
  stop(): Promise<void>;
}

/**
 * sshd as whoever runs the playground: as root it logs root in with a key (`PermitRootLogin
 * prohibit-password`, `UsePAM no`, and /run/sshd, which root's sshd insists on); as anyone else, sshd can only
 * log in that same user, which is what we want.
 */
export async function startThrowawaySshd(binary: string): Promise<ThrowawaySshd> {
  const user = userInfo().username;
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-playground-sshd-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    chmodSync(dir, 0o755);
    const hostKeyFile = join(dir, 'ssh_host_ed25519_key');
    const clientKeyFile = join(dir, 'client_ed25519');
    for (const [file, comment] of [
      [hostKeyFile, 'scalebot-playground-host'],
      [clientKeyFile, 'scalebot-playground-client'],
    ] as const) {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { stdio: 'ignore' });
    }
    const authorizedKeys = join(dir, 'authorized_keys');
    writeFileSync(authorizedKeys, readFileSync(`${clientKeyFile}.pub`));
    chmodSync(authorizedKeys, 0o644);
    if (process.getuid?.() === 0) execFileSync('mkdir', ['-p', '/run/sshd']);
    for (let attempt = 1; attempt <= 5; attempt++) {
      const port = await freeLoopbackPort();
      const configFile = join(dir, 'sshd_config');
      writeFileSync(configFile, renderSshdConfig({ port, dir, hostKeyFile, authorizedKeys, user }));
      const child = spawn(binary, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      child.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-16_384)));
      const onExit = () => child.kill('SIGKILL');
      process.once('exit', onExit);
      if (await waitListening(child, port)) {
        const [type, key] = readFileSync(`${hostKeyFile}.pub`, 'utf8').trim().split(/\s+/);
        return {
          host: { name: PLAYGROUND_HOST_NAME, address: '127.0.0.1', port, user, privateKeyFile: clientKeyFile, hostKey: `${type} ${key}` },
          async stop() {
            process.off('exit', onExit);
            await stopChild(child);
            remove();
          },
        };
      }
      process.off('exit', onExit);
      await stopChild(child);
      if (!/Address already in use/i.test(log)) throw new Error(log.trim() || 'sshd exited');
    }
    throw new Error('no free port');
  } catch (error) {
    remove();
    throw error;
  }
}

function renderSshdConfig(o: { port: number; dir: string; hostKeyFile: string; authorizedKeys: string; user: string }): string {
  return [
    `Port ${o.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${o.hostKeyFile}`,
    `PidFile ${join(o.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${o.authorizedKeys}`,
    'AuthenticationMethods publickey',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    `AllowUsers ${o.user}`,
    'UsePAM no',
    // The temp dir is not the user's home: skip the ownership checks meant for it.
    'StrictModes no',
    'PrintMotd no',
    'X11Forwarding no',
    'AllowTcpForwarding no',
    '',
  ].join('\n');
}

async function waitListening(child: ChildProcess, port: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.setTimeout(1000, () => {
        socket.destroy();
        resolve(false);
      });
    });
    // Only our sshd's banner counts: the port could have been taken by something else.
    if (open && child.exitCode === null) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}
