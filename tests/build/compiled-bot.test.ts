// Issue 17, "Run compiled": the bot as production runs it (`node bin/scalebot.js serve`) runs the JavaScript that
// scripts/build.mjs built, and neither tsx nor esbuild is loaded, in the main thread or in the worker threads
// (the Prometheus worker, started by a `/scale status`, and the chart worker, by a `/scale chart`).
// tests/fixtures/loaded-modules-probe.mjs, preloaded with --import, writes every module each thread loads.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { chartScenarioConfig, startChartPrometheus } from '../helpers/chart-scenario.ts';
import { type FakeSlack, sendSlashCommand, startFakeSlack } from '../helpers/slack/index.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PROBE = ['--import', './tests/fixtures/loaded-modules-probe.mjs'];
const TOKEN = 'xoxb-compiled-0000-token';
const SECRET = 'compiled-bot-signing-secret-7a1e';
const OPS = 'C0OPS00001';
/** What production must not load: the TypeScript loader and the bundler (its package and its platform binary's). */
const COMPILERS = /\/node_modules\/(tsx|esbuild|@esbuild)\//;

interface Loaded {
  readonly threads: Map<string, string[]>;
}

/** The probe's log: each thread (`<id> <main|worker>`) with what it loaded. */
function readLoaded(file: string): Loaded {
  const threads = new Map<string, string[]>();
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const [id, kind, what] = line.split(' ', 3);
    const thread = `${id} ${kind}`;
    if (!threads.has(thread)) threads.set(thread, []);
    if (what !== 'started') threads.get(thread)!.push(what!);
  }
  return { threads };
}

const compilersIn = (loaded: Loaded) =>
  [...loaded.threads].flatMap(([thread, modules]) => modules.filter((module) => COMPILERS.test(module)).map((module) => `${thread}: ${module}`));

let dir: string;
let prometheus: PrometheusFixture;
let fake: FakeSlack;
let bot: ChildProcess | undefined;
let botLog = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scalebot-compiled-'));
  prometheus = await startChartPrometheus();
  fake = await startFakeSlack();
}, 120_000);

afterAll(async () => {
  if (bot && bot.exitCode === null && bot.signalCode === null) {
    const exited = new Promise((done) => bot!.once('exit', done));
    bot.kill('SIGKILL');
    await exited;
  }
  await fake?.close();
  await prometheus?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function startBot(log: string): Promise<string> {
  const configFile = join(dir, 'scalebot.yaml');
  writeFileSync(configFile, chartScenarioConfig());
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SLACK_BOT_TOKEN: TOKEN,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: fake.apiUrl,
    HOST: '127.0.0.1',
    PORT: '0',
    SCALEBOT_DB: join(dir, 'scalebot.db'),
    SCALEBOT_CONFIG: configFile,
    PROMETHEUS_URL: prometheus.url,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    LOADED_MODULES_LOG: log,
  };
  const child = spawn(process.execPath, [...PROBE, 'bin/scalebot.js', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  bot = child;
  const append = (chunk: Buffer) => {
    botLog = (botLog + chunk.toString('utf8')).slice(-32_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the bot exited (${child.exitCode}) while starting:\n${botLog}`);
    const url = /health and metrics at (http:\/\/\S+)/.exec(botLog)?.[1];
    if (url) return url;
    if (Date.now() > deadline) throw new Error(`the bot did not start within 60 s:\n${botLog}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

async function slash(url: string, text: string): Promise<string> {
  const responseUrl = fake.newResponseUrl({ channel: OPS, user: 'U0ALICE01' });
  const ack = await sendSlashCommand(url, SECRET, { text, user_id: 'U0ALICE01', channel_id: OPS, response_url: responseUrl }, { timeoutMs: 10_000 });
  expect(ack.status).toBe(200);
  const answer = await fake.waitFor((slack) => slack.responses.find((entry) => entry.url === responseUrl), { timeoutMs: 30_000 });
  return JSON.stringify(answer.body);
}

describe('the compiled bot', () => {
  it('serves /scale status and /scale chart from dist/ with neither tsx nor esbuild loaded, in any thread', async () => {
    const log = join(dir, 'loaded.log');
    const url = await startBot(log);
    expect(await slash(url, 'status')).toContain('Load');
    expect(await slash(url, 'chart load 6h')).toContain('Posted the chart of *Load*');
    expect(fake.messages(OPS).filter((message) => (message.files ?? []).length > 0)).toHaveLength(1);

    const loaded = readLoaded(log);
    const workers = [...loaded.threads].filter(([thread]) => thread.endsWith(' worker'));
    const main = [...loaded.threads].find(([thread]) => thread.endsWith(' main'))![1];
    expect(compilersIn(loaded), botLog).toEqual([]);
    expect(main.filter((module) => module.endsWith('.ts'))).toEqual([]);
    // What ran is the build: the CLI in the main thread, each worker from its prebuilt script.
    expect(main.some((module) => /\/dist\/b\d+-\d+\/cli\.js$/.test(module))).toBe(true);
    for (const script of ['prometheus-thread.js', 'chart-thread.js'])
      expect(
        workers.some(([, modules]) => modules.some((module) => module.endsWith(`/${script}`))),
        `a worker ran dist/…/${script}`,
      ).toBe(true);
  }, 120_000);

  it('is told apart from the sources by the same probe: run through tsx, it shows tsx loaded', () => {
    const log = join(dir, 'from-source.log');
    const result = spawnSync(process.execPath, [...PROBE, 'bin/scalebot.js', 'rules'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, SCALEBOT_FROM_SOURCE: '1', LOADED_MODULES_LOG: log },
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('groups:');
    expect(compilersIn(readLoaded(log)).some((entry) => entry.includes('/node_modules/tsx/'))).toBe(true);
  }, 60_000);
});
