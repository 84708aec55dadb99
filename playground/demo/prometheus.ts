// A throwaway Prometheus for the demo: Debian's binary, its own config and data in a temp dir, on a free
// 127.0.0.1 port, scraping the demo exporter every second. It is killed when the playground stops, and by a
// watchdog shell if the playground itself is killed outright.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freeLoopbackPort } from '../loopback.ts';

export interface DemoPrometheus {
  readonly url: string;
  stop(): Promise<void>;
}

/** The Prometheus binary: PROMETHEUS_BIN, else `prometheus` on the PATH; null when there is none. */
export function findPrometheus(env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  const candidates = env.PROMETHEUS_BIN
    ? [env.PROMETHEUS_BIN]
    : [...(env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'prometheus')), '/usr/bin/prometheus'];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there
    }
  }
  return null;
}

export const PROMETHEUS_INSTALL_HINT = 'sudo apt-get install prometheus';

export async function startDemoPrometheus({ binary, scrapeTarget }: { binary: string; scrapeTarget: string }): Promise<DemoPrometheus> {
  const root = mkdtempSync(join(tmpdir(), 'scalebot-playground-prom-'));
  const configFile = join(root, 'prometheus.yml');
  // JSON is YAML. honor_labels keeps the exporter's own `instance` labels (app-1:9100, db-1:9187, …).
  writeFileSync(
    configFile,
    JSON.stringify({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      scrape_configs: [{ job_name: 'demo', honor_labels: true, static_configs: [{ targets: [scrapeTarget] }] }],
    }),
  );
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freeLoopbackPort();
    const url = `http://127.0.0.1:${port}`;
    const server = launch(binary, root, configFile, port);
    if (await waitReady(server, url, join(root, 'data'))) {
      return {
        url,
        async stop() {
          await server.stop();
          rmSync(root, { recursive: true, force: true });
        },
      };
    }
    await server.stop();
    if (!/address already in use/.test(server.logs())) {
      rmSync(root, { recursive: true, force: true });
      throw new Error(`prometheus did not start:\n${server.logs().slice(-2000)}`);
    }
  }
  rmSync(root, { recursive: true, force: true });
  throw new Error('prometheus could not find a free port');
}

interface Launched {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

function launch(binary: string, root: string, configFile: string, port: number): Launched {
  const child = spawn(
    binary,
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(root, 'data')}`, '--storage.tsdb.retention.time=1d', `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const append = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-32_768);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      append(Buffer.from(`spawn failed: ${error.message}\n`));
      resolve();
    });
  });
  // If the playground dies without stopping us (SIGKILL), this shell's read returns and it kills the server.
  const watchdog =
    child.pid === undefined
      ? undefined
      : spawn('sh', ['-c', 'read -r _; kill -9 "$1" 2>/dev/null; rm -rf "$2"', 'prometheus-watchdog', String(child.pid), root], {
          stdio: ['pipe', 'ignore', 'ignore'],
        });
  watchdog?.unref();
  (watchdog?.stdin as { unref?: () => void } | null | undefined)?.unref?.();
  const onExit = () => {
    watchdog?.kill('SIGKILL');
    child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  return {
    child,
    exited,
    logs: () => log,
    async stop() {
      process.off('exit', onExit);
      watchdog?.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Ready, and ours: another Prometheus may have taken the port between our probe and our bind. */
async function waitReady(server: Launched, url: string, dataDir: string, timeoutMs = 20_000): Promise<boolean> {
  let exited = false;
  void server.exited.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.ok) {
        const flags = (await (await fetch(`${url}/api/v1/status/flags`, { signal: AbortSignal.timeout(1000) })).json()) as { data?: Record<string, string> };
        return flags.data?.['storage.tsdb.path'] === dataDir;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
