// README: "`--config FILE` uses your own config …; `--db FILE` keeps the bot's SQLite between runs (default: a
// temp file); `--port N` (default 3100; if it is taken, any free port)." Through `npm run playground` itself.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';

const ANA = 'U0PLAYANA';
const GENERAL = 'C0PLAYGEN';
const DEFAULT_PORT = 3100;

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
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const output = () => ({ stdout, stderr });
  return {
    exited,
    output,
    async url(): Promise<string> {
      const deadline = Date.now() + 40_000;
      for (;;) {
        const url = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)?.[1];
        if (url) return url;
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the playground printed no address: ${JSON.stringify(output())}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop(): Promise<void> {
      try {
        process.kill(-child.pid!, 'SIGINT');
      } catch {
        return;
      }
      await exited;
    },
    kill() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
    },
  };
}

async function submit(url: string, text: string): Promise<void> {
  const response = await fetch(new URL('/api/submit', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: new URL(url).origin },
    body: JSON.stringify({ user: ANA, channel: GENERAL, text }),
  });
  expect(response.status).toBe(200);
}

/** Waits until the page shows Ana, in #general, a message whose text matches. */
async function pageShows(url: string, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const state = (
      (await (await fetch(new URL(`/api/state?as=${ANA}`, url))).json()) as {
        workspace: { channels: Array<{ id: string; messages: Array<{ text: string }> }> };
      }
    ).workspace;
    const found = state.channels.find((channel) => channel.id === GENERAL)?.messages.find((message) => pattern.test(message.text));
    if (found) return found.text;
    if (Date.now() > deadline)
      throw new Error(
        `the page never showed ${pattern}: ${JSON.stringify(state.channels.find((channel) => channel.id === GENERAL)?.messages.map((m) => m.text))}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function occupy(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null)); // taken by someone else already: just as good
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('npm run playground options', () => {
  it('--port: without it, a taken 3100 falls back to any free port', async () => {
    const holder = await occupy(DEFAULT_PORT);
    const run = runPlayground([]);
    try {
      const url = await run.url();
      expect(new URL(url).port).not.toBe(String(DEFAULT_PORT));
      expect((await fetch(url)).status).toBe(200);
    } finally {
      await run.stop();
      run.kill();
      await new Promise((resolve) => (holder ? holder.close(resolve) : resolve(undefined)));
    }
  }, 60_000);

  it("--config FILE is the bot's config, and --db FILE keeps the bot's SQLite between runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scalebot-promised-cli-'));
    const config = join(dir, 'mine.yaml');
    const databaseFile = join(dir, 'kept.db');
    writeFileSync(config, 'checklists:\n  - id: mine\n    title: My own drill\n    items:\n      - { id: step_one, text: Step one }\n');

    const first = runPlayground(['--port', '0', '--config', config, '--db', databaseFile]);
    try {
      const url = await first.url();
      await submit(url, '/scale checklist mine');
      await pageShows(url, /My own drill/);
    } finally {
      await first.stop();
      first.kill();
    }
    expect(existsSync(databaseFile)).toBe(true);
    const count = () => {
      const db = new Database(databaseFile, { readonly: true });
      try {
        return (db.prepare("select count(*) as n from checklist_runs where checklist_id = 'mine'").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    expect(count()).toBe(1);

    const second = runPlayground(['--port', '0', '--config', config, '--db', databaseFile]);
    try {
      const url = await second.url();
      await submit(url, '/scale checklist mine');
      await pageShows(url, /My own drill/);
    } finally {
      await second.stop();
      second.kill();
    }
    expect(count()).toBe(2);

    writeFileSync(config, 'checklists:\n  - id: mine\n    items: nope\n');
    const broken = runPlayground(['--port', '0', '--config', config]);
    try {
      expect(await broken.exited).toBe(1);
      // The file is read: its mistake is named by path. (The line numbers are those of the playground's merged
      // copy in a temp dir, not of mine.yaml: reported, not pinned here.)
      expect(broken.output().stderr).toMatch(/checklists\[0\]\.items: /);
    } finally {
      broken.kill();
    }
  }, 120_000);
});
