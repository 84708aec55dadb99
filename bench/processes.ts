// Everything the bench starts is killed when the bench ends, however it ends (a finished run, an error,
// Ctrl-C): each child registers a synchronous kill here.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const hooks = new Set<() => void>();
let installed = false;

export function onExit(kill: () => void): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', () => {
      for (const hook of hooks) hook();
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        for (const hook of hooks) hook();
        process.exit(130);
      });
    }
  }
  hooks.add(kill);
  return () => hooks.delete(kill);
}

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A Node child in the repository's root with an IPC channel and piped output, killed when the bench exits. */
export function spawnNode(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const remove = onExit(() => child.kill('SIGKILL'));
  child.once('exit', remove);
  return child;
}

/** A TypeScript child run through tsx (as bin/scalebot.js runs the bot). */
export function spawnTs(script: string, args: readonly string[] = [], env: Record<string, string> = {}, nodeArgs: readonly string[] = []): ChildProcess {
  return spawnNode([...nodeArgs, '--import', 'tsx', script, ...args], env);
}

/** Sends one message to a child and waits for the answer of the same id. */
let nextId = 0;
export function ask<T>(child: ChildProcess, message: Record<string, unknown>, timeoutMs = 600_000): Promise<T> {
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`child ${child.pid} did not answer ${String(message.type)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (answer: { id?: number; error?: string; result?: T }) => {
      if (answer?.id !== id) return;
      cleanup();
      if (answer.error) reject(new Error(answer.error));
      else resolve(answer.result as T);
    };
    const onExitEarly = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`child ${child.pid} exited (${code ?? signal}) before answering ${String(message.type)}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExitEarly);
    };
    child.on('message', onMessage);
    child.once('exit', onExitEarly);
    child.send({ ...message, id });
  });
}

/** The child's side of `ask`: answers each message with what `handle` returns (or throws). */
export function serve(handle: (message: { type: string; [key: string]: unknown }) => Promise<unknown> | unknown): void {
  // The bench is gone (finished, or killed outright): so is this child.
  process.once('disconnect', () => process.exit(0));
  process.on('message', (message: { id: number; type: string }) => {
    void (async () => {
      try {
        const result = await handle(message);
        process.send!({ id: message.id, result });
      } catch (error) {
        process.send!({ id: message.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      }
    })();
  });
}

/** VmRSS of a process in bytes, from /proc (Linux). */
export async function rssOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}
