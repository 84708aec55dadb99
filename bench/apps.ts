// The two apps under test, each its own process: the bot as production runs it (`node bin/scalebot.js serve`,
// HTTP mode), and the bare Bolt app (bench/bare-bolt.ts), run the same way the bot is: through tsx while
// bin/scalebot.js runs the sources, as plain JavaScript (an esbuild bundle of our two modules, its packages
// loaded from node_modules) once it runs a compiled build, so that neither side pays a loader the other does
// not. Both get bench/probe.mjs preloaded, which lets the bench force a GC and read memory and event-loop
// delay over IPC without touching the bot's code.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ask, onExit, REPO_ROOT, rssOf, spawnNode } from './processes.ts';

export const BENCH_SIGNING_SECRET = 'bench-signing-secret-5d1e0c';
export const BENCH_BOT_TOKEN = 'xoxb-bench-0000-bot-token';

export interface AppUnderTest {
  readonly name: 'bot' | 'bare';
  readonly url: string;
  readonly pid: number;
  /** Spawn to "ready" (the line it prints once it serves), ms. */
  readonly startMs: number;
  readonly child: ChildProcess;
  /** VmRSS, bytes. */
  rss(): Promise<number>;
  /** Forces a GC in the process, then reads process.memoryUsage(). */
  memory(): Promise<NodeJS.MemoryUsage>;
  eventLoopStart(): Promise<void>;
  eventLoopRead(): Promise<{ p50: number; p99: number; max: number } | null>;
  /** The tail of what it printed. */
  logs(): string;
  stop(): Promise<void>;
}

export interface AppEnv {
  readonly slackApiUrl: string;
  readonly prometheusUrl: string;
  readonly databaseFile: string;
  /** SCALEBOT_CONFIG: a YAML file of the bench's settings (bench/bot-config.ts); none: the defaults. */
  readonly configFile?: string;
}

function env(options: AppEnv): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: BENCH_BOT_TOKEN,
    SLACK_SIGNING_SECRET: BENCH_SIGNING_SECRET,
    SLACK_API_URL: options.slackApiUrl,
    SLACK_APP_TOKEN: '',
    HOST: '127.0.0.1',
    PORT: '0',
    SCALEBOT_DB: options.databaseFile,
    SCALEBOT_CONFIG: options.configFile ?? '',
    PROMETHEUS_URL: options.prometheusUrl,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  };
}

const PROBE = ['--expose-gc', '--import', './bench/probe.mjs'];

export function startBot(options: AppEnv): Promise<AppUnderTest> {
  return launch('bot', [...PROBE, join('bin', 'scalebot.js'), 'serve'], env(options));
}

/** How bin/scalebot.js runs the bot: the sources through tsx, or a compiled build. */
export function botRunsCompiled(): boolean {
  // The bin runs dist/ unless SCALEBOT_FROM_SOURCE=1 (which the bench never sets); a bin without that switch is the
  // older one that always registered tsx.
  return readFileSync(join(REPO_ROOT, 'bin', 'scalebot.js'), 'utf8').includes('SCALEBOT_FROM_SOURCE') && process.env.SCALEBOT_FROM_SOURCE !== '1';
}

let bareBundle: Promise<string> | null = null;
/** bench/bare-bolt.ts as one ES module beside it (so that node_modules resolves), removed when the bench exits. */
function bundleBare(): Promise<string> {
  bareBundle ??= (async () => {
    const { build } = await import('esbuild');
    const outfile = join(REPO_ROOT, 'bench', '.bare-bolt.bundle.mjs');
    onExit(() => rmSync(outfile, { force: true }));
    await build({
      entryPoints: [join(REPO_ROOT, 'bench', 'bare-bolt.ts')],
      outfile,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'warning',
    });
    return outfile;
  })();
  return bareBundle;
}

export async function startBare(options: AppEnv): Promise<AppUnderTest> {
  const entry = botRunsCompiled() ? [await bundleBare()] : ['--import', 'tsx', join('bench', 'bare-bolt.ts')];
  return launch('bare', [...PROBE, ...entry], env(options));
}

async function launch(name: 'bot' | 'bare', args: string[], environment: Record<string, string>): Promise<AppUnderTest> {
  const began = performance.now();
  const child = spawnNode(args, environment);
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-32_000);
      const match = /health and metrics at (http:\/\/[^\s]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stderr!.on('data', onData);
    child.stdout!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) while starting:\n${output}`));
    });
  });
  const startMs = performance.now() - began;
  // Keep draining its output (warnings, errors) so a full pipe never blocks it; keep the tail for reports.
  child.stderr!.removeAllListeners('data');
  child.stdout!.removeAllListeners('data');
  child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-32_000)));
  child.stdout!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-32_000)));
  child.removeAllListeners('exit');
  const pid = child.pid!;
  return {
    name,
    url,
    pid,
    startMs,
    child,
    rss: () => rssOf(pid),
    memory: () => ask<NodeJS.MemoryUsage>(child, { probe: 'mem' }, 30_000),
    async eventLoopStart() {
      await ask(child, { probe: 'eld-start' }, 30_000);
    },
    eventLoopRead: () => ask(child, { probe: 'eld-read' }, 30_000),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    logs: () => output,
  };
}
