import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';

/** `npm run playground -- ARGS` as a newcomer types it, in its own process group (so Ctrl-C can be sent to all of it). */
function runPlayground(args: string[]) {
  const child = spawn('npm', ['run', '--silent', 'playground', '--', ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'silent', PROMETHEUS_URL: 'http://127.0.0.1:9' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close': every process holding the output has ended (npm itself dies of Ctrl-C at once, as in a terminal).
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm run playground', () => {
  it("prints the page's address on 127.0.0.1, serves it, and stops everything on Ctrl-C", async () => {
    const run = runPlayground(['--port', '0']);
    try {
      const deadline = Date.now() + 30_000;
      let url: string | undefined;
      while (!url && Date.now() < deadline) {
        url = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(run.output().stdout)?.[1];
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(url, JSON.stringify(run.output())).toBeDefined();
      expect(run.output().stdout).toContain('the bot (unchanged, HTTP mode)  http://127.0.0.1:');
      expect(run.output().stdout).toContain('does not answer: the bot will say "no data"');
      const page = await fetch(url!);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>scalebot playground</title>');
      const sshdPort = /throwaway sshd on 127\.0\.0\.1:(\d+)/.exec(run.output().stdout)?.[1];
      process.kill(-run.child.pid!, 'SIGINT');
      await run.exited;
      expect(run.output().stdout).toContain('stopping the playground');
      await expect(fetch(url!)).rejects.toThrow();
      expect(sshdPort, run.output().stdout).toBeDefined();
      expect(await listening(Number(sshdPort))).toBe(false);
    } finally {
      try {
        process.kill(-run.child.pid!, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
  }, 45_000);

  it('explains its options', async () => {
    const run = runPlayground(['--help']);
    expect(await run.exited).toBe(0);
    expect(run.output().stdout).toContain('--demo');
    const wrong = runPlayground(['--port', 'eighty']);
    expect(await wrong.exited).toBe(1);
    expect(wrong.output().stderr).toContain('--port "eighty" is not a port number');
  }, 30_000);
});
