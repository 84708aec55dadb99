// One real Prometheus on a free 127.0.0.1 port: the playground's demo, the tests' fixture and the bench each
// start theirs through here, with their own config, data and flags.
import { spawn } from 'node:child_process';
import { freeLoopbackPort } from './loopback.ts';

export interface PrometheusLaunch {
  /** The binary: Debian's `prometheus` by default. */
  readonly binary: string;
  readonly configFile: string;
  readonly dataDir: string;
  /** Removed by the watchdog if this process dies without stopping the server. */
  readonly root: string;
  readonly retention: string;
  readonly extraFlags?: readonly string[];
  readonly readyTimeoutMs?: number;
}

export interface PrometheusServer {
  readonly url: string;
  readonly pid: number;
  logs(): string;
  /** At once, synchronously: for exit hooks. */
  kill(): void;
  stop(): Promise<void>;
}

const BIND_ATTEMPTS = 5;
const LOG_LIMIT = 64 * 1024;

type ReadyOutcome = 'ready' | 'address-in-use' | 'exited' | 'timeout';

/**
 * Starts Prometheus and resolves once it is ready and is ours: another process may take the port between our
 * probe and our bind, and then the start is tried again on another port. Its handles do not hold this process
 * open (a forgotten server cannot keep a test worker alive); a watchdog shell kills it and removes `root`
 * however this process ends, SIGKILL included.
 */
export async function launchPrometheus(options: PrometheusLaunch): Promise<PrometheusServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freeLoopbackPort();
    const url = `http://127.0.0.1:${port}`;
    const server = launch(options, port);
    const outcome = await waitReady(server, url, options.dataDir, options.readyTimeoutMs ?? 20_000);
    if (outcome === 'ready') return server;
    await server.stop();
    if (outcome === 'address-in-use' && attempt < BIND_ATTEMPTS) continue;
    throw new Error(`prometheus did not become ready (${outcome}):\n${server.logs()}`);
  }
}

function launch(options: PrometheusLaunch, port: number): PrometheusServer & { readonly exited: Promise<void> } {
  const child = spawn(
    options.binary,
    [
      `--config.file=${options.configFile}`,
      `--storage.tsdb.path=${options.dataDir}`,
      `--storage.tsdb.retention.time=${options.retention}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(options.extraFlags ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const append = (chunk: Buffer) => {
    log += chunk.toString();
    if (log.length > LOG_LIMIT) log = log.slice(-LOG_LIMIT);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      append(Buffer.from(`spawn failed: ${error.message}\n`));
      resolve();
    });
  });
  // This shell holds the read end of a pipe that only we write to; when our process dies, however it dies,
  // the read returns and the shell kills the server and removes its directory.
  const watchdog =
    child.pid === undefined
      ? undefined
      : spawn(
          'sh',
          ['-c', 'read -r _ignored; kill -9 "$1" 2>/dev/null; rm -rf "$2"', 'prometheus-watchdog', String(child.pid), options.root],
          { stdio: ['pipe', 'ignore', 'ignore'] },
        );
  for (const handle of [child, child.stdout, child.stderr, watchdog, watchdog?.stdin]) {
    (handle as { unref?: () => void } | null | undefined)?.unref?.();
  }
  const kill = () => {
    // The watchdog goes first so that it can never signal a pid that has been reaped and reused.
    watchdog?.kill('SIGKILL');
    child.kill('SIGKILL');
  };
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    exited,
    logs: () => log,
    kill,
    async stop() {
      // While stopping, wait for real.
      child.ref();
      kill();
      await exited;
    },
  };
}

async function waitReady(server: { readonly exited: Promise<void>; logs(): string }, url: string, dataDir: string, timeoutMs: number): Promise<ReadyOutcome> {
  let exited = false;
  void server.exited.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) return /address already in use/.test(server.logs()) ? 'address-in-use' : 'exited';
    try {
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      // Only ours reports our data directory.
      if (response.ok && (await servesDataDir(url, dataDir))) return 'ready';
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return 'timeout';
}

async function servesDataDir(url: string, dataDir: string): Promise<boolean> {
  const response = await fetch(`${url}/api/v1/status/flags`, { signal: AbortSignal.timeout(1000) });
  const body = (await response.json()) as { data?: Record<string, string> };
  return body.data?.['storage.tsdb.path'] === dataDir;
}

/** `promtool tsdb create-blocks-from openmetrics`: `file`'s samples written as blocks into `dataDir`. */
export function backfillOpenMetrics(promtool: string, file: string, dataDir: string): Promise<void> {
  const args = ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', file, dataDir];
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const append = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-LOG_LIMIT));
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${promtool} ${args.join(' ')} exited with ${code}:\n${output}`))));
  });
}
