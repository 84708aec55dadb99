// What each package costs the compiled bot, and what the bot costs as a whole (issue 17, "Run compiled").
//
//   node --import tsx bench/dependency-costs.ts [--rounds N] [--no-bots]
//
// 1. Every package the build in dist/ imports (scripts/build.mjs), by the specifier it uses: whether the bot's main
//    thread loads it at start (reached from cli.js by static imports) or only when a path needs it (a dynamic import,
//    or only a worker's script), and what importing it alone costs in a fresh `node` (its median over the rounds):
//    milliseconds, and RSS and heap after a forced GC, above an empty node's. Packages share code (drizzle-orm's
//    dialects share its core): each line is that specifier alone, so the lines do not add up to the bot.
// 2. The bot itself, as `npm start` runs it, compiled and from the sources (SCALEBOT_FROM_SOURCE=1, tsx: how it ran
//    before), beside the bare Bolt app (bench/bare-bolt.ts): start-up to ready (spawn to the line it prints when it
//    serves, as `npm run bench` times it) and RSS at rest (3 s after ready, after a forced GC, VmRSS, as the bench's
//    footprint samples it), medians over the rounds, each round starting the three in turn.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { currentBuild, rebuildReason } from '../bin/build-state.js';
import { startFakeSlack } from '../devkit/slack-emulator/index.ts';
import { type AppUnderTest, startBare, startBot } from './apps.ts';
import { REPO_ROOT } from './processes.ts';
import { median } from './stats.ts';

const args = process.argv.slice(2);
const roundsIndex = args.indexOf('--rounds');
const ROUNDS = roundsIndex >= 0 ? Number(args[roundsIndex + 1]) : 3;
const MB = 1024 * 1024;

if (rebuildReason()) execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });
const build = currentBuild()!;

const STATIC_IMPORT = /^(?:import|export)\s+(?:[^'";]*?\s+from\s+)?"([^"]+)";?$/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*"([^"]+)"\s*\)/g;

/** The package specifiers a build file imports, statically and dynamically, and the build's own files it imports. */
function importsOf(file: string): { static: string[]; dynamic: string[] } {
  const text = readFileSync(join(build.dir, file), 'utf8');
  return { static: [...text.matchAll(STATIC_IMPORT)].map((match) => match[1]!), dynamic: [...text.matchAll(DYNAMIC_IMPORT)].map((match) => match[1]!) };
}

const isPackage = (specifier: string) => !specifier.startsWith('.') && !specifier.startsWith('node:') && !builtinModules.includes(specifier);

/**
 * Walks the build from an entry: packages loaded at start (static imports, and the chunks named in `eagerChunks`,
 * which the entry imports at once on the path measured: `serve` imports bot/main.ts's chunk), and those reached lazily.
 */
function packagesFrom(entry: string, eagerChunks: RegExp | null = null): { atStart: Set<string>; lazily: Set<string> } {
  const atStart = new Set<string>();
  const lazily = new Set<string>();
  const visit = (file: string, eager: boolean, seen: Set<string>) => {
    if (seen.has(file)) return;
    seen.add(file);
    const { static: statics, dynamic } = importsOf(file);
    for (const specifier of statics) {
      if (isPackage(specifier)) (eager ? atStart : lazily).add(specifier);
      else if (specifier.startsWith('./')) visit(specifier.slice(2), eager, seen);
    }
    for (const specifier of dynamic) {
      if (isPackage(specifier)) lazily.add(specifier);
      else if (specifier.startsWith('./')) visit(specifier.slice(2), eager && eagerChunks?.test(specifier.slice(2)) === true, seen);
    }
  };
  visit(entry, true, new Set());
  visit(entry, false, new Set());
  for (const name of atStart) lazily.delete(name);
  return { atStart, lazily };
}

interface ImportCost {
  readonly ms: number;
  readonly rss: number;
  readonly heap: number;
}

const MEASURE = `
const gc = globalThis.gc;
gc(); gc();
const before = process.memoryUsage();
const began = performance.now();
await import(process.argv[1]);
const ms = performance.now() - began;
gc(); gc();
const after = process.memoryUsage();
console.log(JSON.stringify({ ms, rss: after.rss - before.rss, heap: after.heapUsed - before.heapUsed }));
`;

function importCost(specifier: string): ImportCost {
  const runs = Array.from({ length: ROUNDS }, () => {
    const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', MEASURE, specifier], { cwd: REPO_ROOT, encoding: 'utf8' });
    return JSON.parse(out) as ImportCost;
  });
  return { ms: median(runs.map((run) => run.ms)), rss: median(runs.map((run) => run.rss)), heap: median(runs.map((run) => run.heap)) };
}

const everyCommand = packagesFrom('cli.js');
const main = packagesFrom('cli.js', /^main-[A-Z0-9]+\.js$/);
const workers = ['prometheus-thread.js', 'chart-thread.js'].map((file) => ({ file, ...packagesFrom(file) }));
const every = [...new Set([...main.atStart, ...main.lazily, ...workers.flatMap((worker) => [...worker.atStart, ...worker.lazily])])].sort();

const rows = every.map((specifier) => {
  const where = everyCommand.atStart.has(specifier)
    ? 'at start (every command)'
    : main.atStart.has(specifier)
      ? 'at start (serve)'
      : main.lazily.has(specifier)
        ? 'when used'
        : `worker only (${workers
            .filter((worker) => worker.atStart.has(specifier) || worker.lazily.has(specifier))
            .map((worker) => worker.file.replace('.js', ''))
            .join(', ')})`;
  const cost = importCost(specifier);
  process.stderr.write(`  ${specifier}: ${cost.ms.toFixed(0)} ms\n`);
  return { specifier, where, ...cost };
});

const fmt = (bytes: number) => (bytes / MB).toFixed(1);
console.log(
  `\nPackages the compiled bot imports (dist/${dirname(join(build.dir, 'x')).split('/').at(-1)}), each alone in a fresh node, median of ${ROUNDS}:\n`,
);
console.log('| package (specifier) | main thread loads it | import ms | RSS MB | heap MB |');
console.log('|---|---|---:|---:|---:|');
for (const row of rows.sort((a, b) => b.ms - a.ms))
  console.log(`| ${row.specifier} | ${row.where} | ${row.ms.toFixed(0)} | ${fmt(row.rss)} | ${fmt(row.heap)} |`);
const atStart = rows.filter((row) => row.where.startsWith('at start'));
const startMs = atStart.reduce((sum, row) => sum + row.ms, 0).toFixed(0);
const startRss = fmt(atStart.reduce((sum, row) => sum + row.rss, 0));
console.log(
  `\nAt the start of serve: ${atStart.length} specifiers, ${startMs} ms and ${startRss} MB RSS if each were loaded alone (shared code counted for each).`,
);

if (!args.includes('--no-bots')) {
  const fake = await startFakeSlack();
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-dependency-costs-'));
  const figures: Record<string, { startMs: number[]; rss: number[]; heap: number[] }> = {};
  try {
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [name, start, fromSource] of [
        ['bot, compiled (dist/)', startBot, false],
        ['bot, from the sources (tsx)', startBot, true],
        ['bare Bolt app (tsx)', startBare, false],
      ] as const) {
        if (fromSource) process.env.SCALEBOT_FROM_SOURCE = '1';
        else delete process.env.SCALEBOT_FROM_SOURCE;
        const app: AppUnderTest = await start({
          slackApiUrl: fake.apiUrl,
          prometheusUrl: 'http://127.0.0.1:9',
          databaseFile: join(dir, `${round}-${name.length}.db`),
        });
        try {
          await new Promise((resolve) => setTimeout(resolve, 3000));
          const usage = await app.memory();
          await new Promise((resolve) => setTimeout(resolve, 200));
          figures[name] ??= { startMs: [], rss: [], heap: [] };
          const entry = figures[name];
          entry.startMs.push(app.startMs);
          entry.rss.push(await app.rss());
          entry.heap.push(usage.heapUsed);
        } finally {
          await app.stop();
        }
      }
    }
  } finally {
    delete process.env.SCALEBOT_FROM_SOURCE;
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const bare = figures['bare Bolt app (tsx)']!;
  console.log(`\nStart-up to ready and at rest (3 s after ready, forced GC), median of ${ROUNDS}:\n`);
  console.log('| app | start-up ms | / bare | RSS at rest MB | heap used MB |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, entry] of Object.entries(figures)) {
    const startMs = median(entry.startMs);
    console.log(
      `| ${name} | ${startMs.toFixed(0)} | ${(startMs / median(bare.startMs)).toFixed(2)}× | ${fmt(median(entry.rss))} | ${fmt(median(entry.heap))} |`,
    );
  }
}
