// Issue 17, "Run compiled": the bot as production runs it (`node bin/scalebot.js serve`) runs the JavaScript that
// scripts/build.mjs built, and neither tsx nor esbuild is loaded, in the main thread or in the worker threads
// (the Prometheus worker, started by a `/scale status`, and the chart worker, by a `/scale chart`).
// tests/fixtures/loaded-modules-probe.mjs, preloaded with --import, writes every module each thread loads.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { chartScenarioConfig, startChartPrometheus } from '../helpers/chart-scenario.ts';
import { type FakeSlack, sendSlashCommand, startFakeSlack } from '../helpers/slack/index.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PROBE = ['--import', pathToFileURL(join(ROOT, 'tests', 'fixtures', 'loaded-modules-probe.mjs')).href];
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
const bots: ChildProcess[] = [];
let botLog = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scalebot-compiled-'));
  prometheus = await startChartPrometheus();
  fake = await startFakeSlack();
}, 120_000);

afterAll(async () => {
  await Promise.all(bots.map(stopBot));
  await fake?.close();
  await prometheus?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function stopBot(bot: ChildProcess): Promise<void> {
  if (bot.exitCode !== null || bot.signalCode !== null) return;
  const exited = new Promise((done) => bot.once('exit', done));
  bot.kill('SIGKILL');
  await exited;
}

/** The bot as production starts it, from `cwd` (the checkout, or a copy laid out as the image is), on a fresh database. */
async function startBot(log: string, cwd = ROOT): Promise<string> {
  botLog = '';
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
    SCALEBOT_DB: join(mkdtempSync(join(dir, 'db-')), 'scalebot.db'),
    SCALEBOT_CONFIG: configFile,
    PROMETHEUS_URL: prometheus.url,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    LOADED_MODULES_LOG: log,
  };
  const child = spawn(process.execPath, [...PROBE, 'bin/scalebot.js', 'serve'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  bots.push(child);
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

/**
 * A copy of what deploy/Dockerfile's runtime stage holds, from its COPY lines: the build stage's node_modules and
 * dist/ (here the checkout's: a link, and a copy), and from the context bin/, config/, the migrations, package.json.
 */
function imageLayout(): string {
  const image = join(dir, 'app');
  const dockerfile = readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8');
  const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const copies = [...runtimeStage.matchAll(/^COPY\s+(--from=\S+\s+)?(\S+)\s+(\S+)$/gm)];
  expect(copies.length).toBeGreaterThan(3);
  for (const [, from, source, destination] of copies) {
    const path = from ? source!.replace(/^\/app\//, '') : source!;
    const target = join(image, destination!.replace(/^\.\/?/, ''), destination!.endsWith('/') ? path : '');
    mkdirSync(dirname(target), { recursive: true });
    if (path === 'node_modules') symlinkSync(join(ROOT, 'node_modules'), target);
    else cpSync(join(ROOT, path), target, { recursive: true });
  }
  return image;
}

/** Serves `/scale status` and `/scale chart` from `cwd`; what each thread loaded meanwhile. */
async function serveStatusAndChart(cwd: string, name: string): Promise<{ loaded: Loaded; main: string[]; workers: [string, string[]][] }> {
  const log = join(dir, `${name}.log`);
  const url = await startBot(log, cwd);
  expect(await slash(url, 'status')).toContain('Load');
  expect(await slash(url, 'chart load 6h')).toContain('Posted the chart of *Load*');
  await stopBot(bots.at(-1)!);
  const loaded = readLoaded(log);
  const workers = [...loaded.threads].filter(([thread]) => thread.endsWith(' worker'));
  const main = [...loaded.threads].find(([thread]) => thread.endsWith(' main'))![1];
  return { loaded, main, workers };
}

describe('the compiled bot', () => {
  it('serves /scale status and /scale chart from dist/ with neither tsx nor esbuild loaded, in any thread', async () => {
    const { loaded, main, workers } = await serveStatusAndChart(ROOT, 'checkout');
    expect(fake.messages(OPS).filter((message) => (message.files ?? []).length > 0)).toHaveLength(1);
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

  it("runs from the Docker image's layout, where there are no sources: the files it reads by path are found from dist/", async () => {
    const image = imageLayout();
    const { loaded, main, workers } = await serveStatusAndChart(image, 'image');
    expect(compilersIn(loaded), botLog).toEqual([]);
    expect(main.some((module) => module.startsWith(pathToFileURL(join(image, 'dist')).href))).toBe(true);
    expect(workers.length).toBeGreaterThanOrEqual(2);
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
