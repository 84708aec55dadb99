import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { forgetOnExit, killOnExit } from '../../../devkit/kill-on-exit.ts';
import { until } from './wait.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const LISTENING = /health and metrics at (http:\/\/\S+)/;

export interface BotProcessOptions {
  /**
   * The bot's environment: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, SCALEBOT_DB, SCALEBOT_CONFIG,
   * PROMETHEUS_URL… Added unless given: PATH, HOME, HOST=127.0.0.1, PORT=0 (the bot says where it listens),
   * LOG_LEVEL=warn, SLACK_API_RETRIES=0.
   */
  env: Record<string, string>;
  /** Default: `serve`. */
  args?: readonly string[];
  /** How long a start may take before it is a failure; default 60 s (a loaded machine). */
  readyTimeoutMs?: number;
}

/** One process of the bot, from spawn to exit. */
export interface BotGeneration {
  readonly index: number;
  readonly child: ChildProcess;
  /** Where it serves Slack's requests, health and metrics, once it said so. */
  url: string | undefined;
  ready: boolean;
  /** Killed by the supervisor (a crash point), as opposed to dying by itself. */
  killed: boolean;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<void>;
  logs(): string;
}

export interface BotSupervisor {
  /** Starts a process and waits until it is ready. */
  start(): Promise<BotGeneration>;
  /**
   * kill -9 now, wait until the process is gone, then start the next one on the same database, config and
   * environment without waiting for it to be ready (`ready()` does). Made to be a crash point's action.
   */
  crash(): Promise<void>;
  /** Waits until the newest process is ready (following restarts); throws if one died that was not killed. */
  ready(): Promise<BotGeneration>;
  readonly current: BotGeneration | undefined;
  readonly generations: readonly BotGeneration[];
  /** How many processes crash() killed. */
  readonly kills: number;
  /** Processes that exited without being killed: a bot crashing by itself is always a failure. */
  readonly unexpectedExits: readonly BotGeneration[];
  /** Every process's output, oldest first, for failure messages. */
  logs(): string;
  /** Kills whatever runs, restarts nothing. */
  stop(): Promise<void>;
}

const isAlive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/**
 * The real bot (`node bin/scalebot.js serve`), started, killed with SIGKILL and started again on the same
 * SQLite file, like a service manager that restarts it. Nothing of it outlives the test process.
 */
export function createBotSupervisor({ env, args = ['serve'], readyTimeoutMs = 60_000 }: BotProcessOptions): BotSupervisor {
  const generations: BotGeneration[] = [];
  const readiness = new Map<BotGeneration, Promise<void>>();
  let kills = 0;
  let stopped = false;

  const fullEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    SLACK_API_RETRIES: '0',
    ...env,
  };

  function spawnGeneration(): BotGeneration {
    const child = spawn(process.execPath, ['bin/scalebot.js', ...args], { cwd: ROOT, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const guard = { kill: () => isAlive(child) && child.kill('SIGKILL') };
    killOnExit(guard);
    const generation: BotGeneration = {
      index: generations.length,
      child,
      url: undefined,
      ready: false,
      killed: false,
      exit: undefined,
      exited: new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          generation.exit = { code, signal };
          forgetOnExit(guard);
          resolve();
        });
        child.once('error', (error) => {
          log += `spawn error: ${error.message}\n`;
          generation.exit ??= { code: null, signal: null };
          resolve();
        });
      }),
      logs: () => log,
    };
    const append = (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-64 * 1024);
      generation.url ??= LISTENING.exec(log)?.[1];
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    generations.push(generation);
    const ready = until(
      `bot process #${generation.index} to be ready`,
      async () => {
        if (generation.exit) return true;
        if (!generation.url) return false;
        const answer = await fetch(`${generation.url}/health/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
        return answer?.status === 200;
      },
      { timeoutMs: readyTimeoutMs, intervalMs: 50, detail: () => log },
    ).then(() => {
      if (!generation.exit) generation.ready = true;
    });
    ready.catch(() => undefined);
    readiness.set(generation, ready);
    return generation;
  }

  const describeExit = (generation: BotGeneration) =>
    `bot process #${generation.index} exited by itself (${generation.exit?.code ?? generation.exit?.signal}):\n${generation.logs()}`;

  const supervisor: BotSupervisor = {
    async start() {
      stopped = false;
      spawnGeneration();
      return supervisor.ready();
    },
    async crash() {
      const victim = generations.at(-1);
      if (!victim) throw new Error('crash(): no bot process was started');
      kills += 1;
      victim.killed = true;
      if (isAlive(victim.child)) victim.child.kill('SIGKILL');
      await victim.exited;
      if (!stopped) spawnGeneration();
    },
    async ready() {
      for (;;) {
        const generation = generations.at(-1);
        if (!generation) throw new Error('ready(): no bot process was started');
        await readiness.get(generation);
        if (generation !== generations.at(-1)) continue; // killed while starting: follow the next one
        if (generation.exit && !generation.killed) throw new Error(describeExit(generation));
        if (generation.exit) {
          // Killed and not restarted yet: crash() starts the next one as soon as the process is gone.
          await new Promise((resolve) => setTimeout(resolve, 10));
          if (stopped) throw new Error('ready(): the supervisor was stopped');
          continue;
        }
        return generation;
      }
    },
    get current() {
      return generations.at(-1);
    },
    generations,
    get kills() {
      return kills;
    },
    get unexpectedExits() {
      return generations.filter((generation) => generation.exit && !generation.killed);
    },
    logs() {
      return generations.map((generation) => `--- bot process #${generation.index}${generation.killed ? ' (killed)' : ''}\n${generation.logs()}`).join('\n');
    },
    async stop() {
      stopped = true;
      for (const generation of generations) {
        if (isAlive(generation.child)) {
          generation.killed = true;
          generation.child.kill('SIGKILL');
        }
      }
      await Promise.all(generations.map((generation) => generation.exited));
    },
  };
  return supervisor;
}
