// Where runbooks run in the playground: this machine, through a throwaway sshd on a loopback port, the one the
// tests log in to (devkit/sshd: its own host key, client key and config in a temp dir; the system's sshd and
// ~/.ssh are never touched).
//
// The guide's runbooks are written for production servers (`docker compose down`, `docker system prune -a`),
// so on a newcomer's own machine only the playground's tour really runs; every other command is a dry run
// that prints what would have run. The bot is not told: the throwaway sshd puts its own `timeout` first on
// the PATH, and the bot wraps every step in `timeout -k K N sh -c '<command>'` (integrations/ssh.ts), so
// that stand-in sees the exact command, runs it only if it is one of the tour's, and otherwise prints it.
// The bot's plan, approvals, confirmations, streaming output and decision log all work as in production.
//
// Without an sshd the page says so, and runbooks stop at their plan (which shows every command): the host is
// a loopback port where nothing listens, so an approved step fails to connect, as it would in production.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { accessSync, chmodSync, constants, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { freeLoopbackPort } from '../devkit/ports.ts';
import { startSshd } from '../devkit/sshd/index.ts';
import type { SshHost } from '../integrations/ssh.ts';
import { OPS_GROUP } from './workspace.ts';

export const PLAYGROUND_HOST_NAME = 'playground';
export const TOUR_RUNBOOK_ID = 'playground-tour';

/** The tour's steps: harmless, and the only commands the playground's sshd really runs. */
export const TOUR_STEPS = [
  { id: 'hello', title: 'Say hello from this machine', run: 'echo "hello from $(hostname) as $(id -un)"; uname -srm', timeout: '1m' },
  { id: 'disk', title: 'Free disk space', run: 'df -h /', timeout: '1m' },
  { id: 'load', title: 'Watch the load for five seconds', run: 'for i in 1 2 3 4 5; do uptime; sleep 1; done', timeout: '1m', confirm: true },
] as const;

export type RunbookTarget =
  | { readonly mode: 'sshd'; readonly host: SshHost; readonly summary: string; stop(): Promise<void> }
  | { readonly mode: 'plan-only'; readonly host: SshHost; readonly summary: string; stop(): Promise<void> }
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
    return { mode: 'unavailable', summary: 'This build of the bot has no runbooks.', stop: nothingToStop };
  }
  const binary = sshdBinary ?? process.env.SSHD_BIN ?? '/usr/sbin/sshd';
  let reason: string;
  try {
    accessSync(binary, constants.X_OK);
    // As whoever runs the playground: as root, sshd logs root in with a key; as anyone else, it can only log
    // in that same user, which is what we want.
    const sshd = await startSshd({ binary, user: userInfo().username, hostName: PLAYGROUND_HOST_NAME, forceCommand: writeDryRunShim });
    return {
      mode: 'sshd',
      host: sshd.host,
      summary:
        `Runbooks run on this machine as ${sshd.host.user} (host "${PLAYGROUND_HOST_NAME}", a throwaway sshd on 127.0.0.1:${sshd.host.port}): ` +
        `the ${TOUR_RUNBOOK_ID} runbook for real, the guide's as a dry run that prints each command.`,
      stop: sshd.stop,
    };
  } catch (error) {
    reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `no sshd at ${binary}` : `sshd could not start: ${firstLines((error as Error).message)}`;
  }
  return {
    mode: 'plan-only',
    host: await unreachableHost(),
    summary: `Runbooks show their plan and every command, but cannot run (${reason}; install openssh-server to run them on this machine).`,
    stop: nothingToStop,
  };
}

/** "sshd did not become ready (exited):" and the first line of sshd's own log, which says why. */
function firstLines(message: string): string {
  return message
    .split('\n')
    .filter((line) => line.trim())
    .slice(0, 2)
    .join(' ');
}

/**
 * What the playground adds to the bot's config for runbooks: the host, and the tour runbook, approved by
 * @ops and never by the person who asked for it.
 */
export function runbookConfig(host: SshHost): { hosts: Record<string, unknown>; runbooks: Array<Record<string, unknown>> } {
  return {
    hosts: {
      [PLAYGROUND_HOST_NAME]: {
        address: host.address,
        port: host.port,
        user: host.user,
        private_key_file: host.privateKeyFile,
        host_key: host.hostKey,
      },
    },
    runbooks: [
      {
        id: TOUR_RUNBOOK_ID,
        title: 'Playground tour: three harmless steps on this machine',
        description: "Runs for real through the playground's throwaway sshd: who and where, free disk, the load for five seconds (after a Confirm).",
        approval: { approvers: [OPS_GROUP.id], required: 1, allow_self: false, expires: '30m' },
        params: [{ name: 'server', type: 'host', default: PLAYGROUND_HOST_NAME, description: 'where to run (the playground offers only this machine)' }],
        steps: TOUR_STEPS.map((step) => ({ ...step, host: '{{server}}' })),
      },
    ],
  };
}

/**
 * The session command (sshd's ForceCommand) puts `bin/` first on the PATH, where `timeout` is our stand-in:
 * it runs the tour's exact commands under the real timeout(1) and prints any other command instead.
 */
function writeDryRunShim(dir: string): string {
  const bin = join(dir, 'bin');
  execFileSync('mkdir', ['-p', bin]);
  const allowed = join(dir, 'allowed-commands');
  writeFileSync(allowed, `${TOUR_STEPS.map((step) => step.run).join('\n')}\n`);
  const realTimeout = findOnPath('timeout');
  const shim = join(bin, 'timeout');
  writeFileSync(
    shim,
    [
      '#!/bin/sh',
      "# The playground's timeout(1): called by scalebot as `timeout -k K N sh -c COMMAND`.",
      'command=$6',
      `if printf '%s\\n' "$command" | grep -qxF -f '${allowed}' && [ "$(printf '%s\\n' "$command" | wc -l)" -eq 1 ]; then`,
      realTimeout ? `  exec '${realTimeout}' "$@"` : '  shift 3; exec "$@"',
      'fi',
      'printf \'%s\\n\' "dry run: the playground runs only its tour on this machine. This step would run:" "" "  $command" ""',
      'exit 0',
      '',
    ].join('\n'),
  );
  chmodSync(shim, 0o755);
  const session = join(dir, 'session');
  writeFileSync(session, ['#!/bin/sh', `PATH='${bin}':$PATH`, 'export PATH', 'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"', ''].join('\n'));
  chmodSync(session, 0o755);
  return session;
}

function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return null;
}

/** A host entry that validates but where nothing listens: plans show, steps fail to connect. */
async function unreachableHost(): Promise<SshHost> {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
  const blob = Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]);
  return {
    name: PLAYGROUND_HOST_NAME,
    address: '127.0.0.1',
    port: await freeLoopbackPort(),
    user: userInfo().username,
    privateKeyFile: join(tmpdir(), 'scalebot-playground-no-key'),
    hostKey: `ssh-ed25519 ${blob.toString('base64')}`,
  };
}
