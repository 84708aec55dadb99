import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { launchServer, type ServerLaunch } from '../../devkit/server-process.ts';

// A stand-in server binary: node, told by a script what to do on the port it is given. The attempt counter lives
// in the server's dir, so a script can fail its first start and not its second.
const SERVER = `
const [port, dir, mode] = process.argv.slice(1);
const fs = require('node:fs');
const attempt = fs.readdirSync(dir).filter((f) => f.startsWith('attempt-')).length + 1;
fs.writeFileSync(dir + '/attempt-' + attempt, port);
if (mode === 'fails' || (mode === 'taken-once' && attempt === 1)) {
  console.error(mode === 'fails' ? 'bad config line 3' : 'listen tcp 127.0.0.1:' + port + ': bind: address already in use');
  process.exit(1);
}
require('node:http').createServer((q, r) => r.end('ok')).listen(Number(port), '127.0.0.1', () => console.log('listening on ' + port));
`;

function standIn(mode: 'serves' | 'fails' | 'taken-once'): ServerLaunch {
  return {
    name: 'stand-in',
    binary: process.execPath,
    tempDirPrefix: 'scalebot-server-process-test-',
    args: (port, dir) => ['-e', SERVER, String(port), dir, mode],
    isReady: async ({ port, url, logs }) => logs().includes(`listening on ${port}`) && (await fetch(url)).ok,
    readyTimeoutMs: 10_000,
  };
}

/** Running, not a zombie: an orphan killed outright waits for whoever adopts it to reap it. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

async function waitGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return !alive(pid);
}

describe('launchServer', () => {
  it('starts a server on a loopback port, and stop() kills it and removes its dir', async () => {
    const server = await launchServer(standIn('serves'));
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(await (await fetch(server.url)).text()).toBe('ok');
    expect(existsSync(server.dir)).toBe(true);
    await server.stop();
    expect(alive(server.pid)).toBe(false);
    expect(existsSync(server.dir)).toBe(false);
  });

  it('tries another port when someone took the first one meanwhile ("address already in use")', async () => {
    const server = await launchServer(standIn('taken-once'));
    try {
      const attempts = readdirSync(server.dir)
        .filter((file) => file.startsWith('attempt-'))
        .sort();
      expect(attempts).toEqual(['attempt-1', 'attempt-2']);
      expect(readFileSync(join(server.dir, 'attempt-2'), 'utf8')).toBe(String(server.port));
      expect(await (await fetch(server.url)).text()).toBe('ok');
    } finally {
      await server.stop();
    }
  });

  it('says which server did not start and why, and leaves no dir behind', async () => {
    let dir = '';
    const launch = standIn('fails');
    const failing = launchServer({ ...launch, prepare: (d) => void (dir = d) });
    await expect(failing).rejects.toThrow(/^stand-in did not become ready \(exited\):\nbad config line 3/);
    expect(dir).not.toBe('');
    expect(existsSync(dir)).toBe(false);
  });

  it('a watchdog kills the server and removes its dir when the process that started it is SIGKILLed', async () => {
    const script = `
      import { launchServer } from './devkit/server-process.ts';
      const server = await launchServer({ name: 'stand-in', binary: process.execPath, tempDirPrefix: 'scalebot-server-process-test-',
        args: (port, dir) => ['-e', ${JSON.stringify(SERVER)}, String(port), dir, 'serves'],
        isReady: async ({ port, logs }) => logs().includes('listening on ' + port) });
      console.log(JSON.stringify({ pid: server.pid, dir: server.dir }));
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const started = await new Promise<{ pid: number; dir: string }>((resolve, reject) => {
      parent.stdout.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()) as { pid: number; dir: string }));
      parent.once('exit', (code) => reject(new Error(`the parent exited (${code}) before starting the server`)));
    });
    expect(alive(started.pid)).toBe(true);
    parent.kill('SIGKILL');
    expect(await waitGone(started.pid)).toBe(true);
    for (let i = 0; i < 40 && existsSync(started.dir); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(existsSync(started.dir)).toBe(false);
  }, 30_000);
});
