// One server binary on a free 127.0.0.1 port, with a temp dir of its own: how the devkit starts Prometheus,
// Alertmanager and sshd for the playground, the tests and the bench, waits until the server answering on the
// port is the one it started, and makes sure none outlives the process that started it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forgetOnExit, killOnExit } from './kill-on-exit.ts';
import { freeLoopbackPort } from './ports.ts';

export interface ServerLaunch {
  /** Which server, in error messages and as the watchdog's process name: "prometheus", "alertmanager", "sshd". */
  readonly name: string;
  readonly binary: string;
  /** The start of its temp dir's name, e.g. "scalebot-prom-". */
  readonly tempDirPrefix: string;
  /** Writes what the server reads (config, keys, backfilled data) into its dir; the exit hook already covers it. */
  prepare?(dir: string): Promise<void> | void;
  /** The command line on `port`; asked again with another port when someone took the first one meanwhile. */
  args(port: number, dir: string): readonly string[];
  /** Polled until true: something answers on the port, and it is this server (not whoever took the port). */
  isReady(server: StartingServer): Promise<boolean>;
  /** Milliseconds to wait for isReady; default 20 000. */
  readonly readyTimeoutMs?: number;
  /** What must go before the server itself is killed, by stop() or the exit hook (sshd: its sessions). */
  beforeKill?(server: StartingServer): void;
}

/** The server before stop() exists: what isReady and beforeKill are given. */
export type StartingServer = Omit<ServerProcess, 'stop'>;

export interface ServerProcess {
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly pid: number;
  /** Its temp dir, removed with it. */
  readonly dir: string;
  /** Its stdout and stderr so far (the last 256 KiB), for failure messages and assertions. */
  logs(): string;
  /** Kills it (SIGKILL), waits for the exit and removes its dir. Once: later calls get the same promise. */
  stop(): Promise<void>;
}

const BIND_ATTEMPTS = 5;
const LOG_LIMIT = 256 * 1024;

/**
 * Starts the server and resolves once it is ready and is ours: another process may take the port between our
 * probe and our bind, and then the start is tried again on another port. Its handles do not hold this process
 * open (a forgotten server cannot keep a test worker alive). It and its dir go with stop(), with the exit hook
 * (kill-on-exit.ts) if this process exits without stop(), and with a watchdog shell if this process is killed
 * outright (SIGKILL included).
 */
export async function launchServer(launch: ServerLaunch): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), launch.tempDirPrefix));
  let running: Running | undefined;
  const entry = {
    kill() {
      if (running) {
        launch.beforeKill?.(running);
        running.kill();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  killOnExit(entry);
  try {
    await launch.prepare?.(dir);
    for (let attempt = 1; ; attempt++) {
      const port = await freeLoopbackPort();
      running = spawnServer(launch, port, dir);
      const outcome = await waitReady(running, launch);
      if (outcome === 'ready') break;
      await running.kill().exited;
      if (outcome === 'address-in-use' && attempt < BIND_ATTEMPTS) continue;
      throw new Error(`${launch.name} did not become ready (${outcome}):\n${running.logs()}`);
    }
  } catch (error) {
    entry.kill();
    forgetOnExit(entry);
    throw error;
  }
  const server = running;
  let stopped: Promise<void> | undefined;
  return {
    port: server.port,
    url: server.url,
    pid: server.pid,
    dir,
    logs: server.logs,
    stop() {
      stopped ??= (async () => {
        forgetOnExit(entry);
        launch.beforeKill?.(server);
        // While stopping, wait for real.
        server.ref();
        await server.kill().exited;
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

interface Running extends StartingServer {
  readonly exited: Promise<void>;
  hasExited(): boolean;
  /** SIGKILL now, synchronously (exit hooks cannot wait); `exited` says when it is gone. */
  kill(): { exited: Promise<void> };
  ref(): void;
}

function spawnServer(launch: ServerLaunch, port: number, dir: string): Running {
  const child = spawn(launch.binary, [...launch.args(port, dir)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const append = (chunk: Buffer) => {
    log += chunk.toString();
    if (log.length > LOG_LIMIT) log = log.slice(-LOG_LIMIT);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let hasExited = false;
  const exited = new Promise<void>((resolve) => {
    const done = () => {
      hasExited = true;
      resolve();
    };
    if (child.exitCode !== null || child.signalCode !== null) done();
    child.once('exit', done);
    child.once('error', (error) => {
      append(Buffer.from(`spawn failed: ${error.message}\n`));
      done();
    });
  });
  // This shell holds the read end of a pipe that only we write to; when our process dies, however it dies,
  // the read returns and the shell kills the server and removes its directory.
  const watchdog =
    child.pid === undefined
      ? undefined
      : spawn('sh', ['-c', 'read -r _ignored; kill -9 "$1" 2>/dev/null; rm -rf "$2"', `${launch.name}-watchdog`, String(child.pid), dir], {
          stdio: ['pipe', 'ignore', 'ignore'],
        });
  for (const handle of [child, child.stdout, child.stderr, watchdog, watchdog?.stdin]) {
    (handle as { unref?: () => void } | null | undefined)?.unref?.();
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    dir,
    logs: () => log,
    exited,
    hasExited: () => hasExited,
    kill() {
      // The watchdog goes first so that it can never signal a pid that has been reaped and reused.
      watchdog?.kill('SIGKILL');
      child.kill('SIGKILL');
      return { exited };
    },
    ref: () => child.ref(),
  };
}

async function waitReady(server: Running, launch: ServerLaunch): Promise<'ready' | 'address-in-use' | 'exited' | 'timeout'> {
  const deadline = Date.now() + (launch.readyTimeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (server.hasExited()) return /address already in use/i.test(server.logs()) ? 'address-in-use' : 'exited';
    try {
      if ((await launch.isReady(server)) && !server.hasExited()) return 'ready';
    } catch {
      // not answering yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return 'timeout';
}
