// `npm run bench`: the bot against its floors, on loopback. See the README's "Benchmarks" section.
//
//   npm run bench                 the full run (about 15 minutes on 2 cores), written to bench/RESULTS.md
//   npm run bench -- --quick      fewer rounds, small fleets (300 instead of 1,000 and 10,000): a smoke run, printed only
//   npm run bench -- --out FILE   write the results elsewhere
//
// Every process it starts (Prometheus, the bot, the bare Bolt app, the load generator, the measuring
// children) is on 127.0.0.1 and is killed when it ends, however it ends.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrometheus, type PrometheusFixture } from '../devkit/prometheus/index.ts';
import { startFakeSlack } from '../devkit/slack-emulator/index.ts';
import { botRunsCompiled, startBare, startBot, type AppEnv, type AppUnderTest } from './apps.ts';
import { writeBotConfig } from './bot-config.ts';
import type { CycleRound } from './cycle.ts';
import type { DecisionLogFigures } from './decision-log.ts';
import { writeFleet } from './fleet.ts';
import { measureAck, type AckFigures, type AckMode } from './measure-ack.ts';
import { measureFootprint, type FootprintFigures } from './measure-footprint.ts';
import { measureFresh, type FreshMode } from './measure-fresh.ts';
import { measureStatusFirstOfStep, measureStatusWarm, type StatusContext, type StatusFigures } from './measure-status.ts';
import { ask, onExit, REPO_ROOT, rssOf, spawnTs } from './processes.ts';
import { enableQueryLog, type QueryLog } from './query-log.ts';
import { renderResults, type BenchResults, type CycleFigures, type FleetFigures, type StartupFigures, type WatcherFigures } from './report.ts';
import type { WatcherCycle } from './watcher-cycles.ts';
import { ResponseWatch } from './watch-responses.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
// `--skip decision-log,startup,status,footprint,fresh,ack,watcher,parts,largest`: leave phases out (a partial run).
const skipIndex = args.indexOf('--skip');
const skippedByRequest = new Set(skipIndex >= 0 ? (args[skipIndex + 1] ?? '').split(',') : []);
const wanted = (phase: string) => !skippedByRequest.has(phase);
const outIndex = args.indexOf('--out');
const outFile = outIndex >= 0 ? args[outIndex + 1] : quick ? null : join(REPO_ROOT, 'bench', 'RESULTS.md');

const PLAN = quick
  ? {
      startups: 2,
      statusRounds: 2,
      ackRounds: 2,
      ackScale: 0.4,
      footprint: 1_000,
      cycleRounds: 2,
      sizes: [10, 100],
      decisionRounds: 2,
      appendRates: [5_000, 20_000],
      freshCount: 30,
      watcherCycles: 3,
      largest: 300,
      largestCycles: 3,
    }
  : {
      startups: 5,
      statusRounds: 7,
      ackRounds: 5,
      ackScale: 1,
      footprint: 10_000,
      cycleRounds: 5,
      sizes: [10, 100, 1000],
      decisionRounds: 5,
      appendRates: [1_000, 5_000, 10_000, 20_000],
      freshCount: 200,
      watcherCycles: 6,
      largest: 10_000,
      largestCycles: 3,
    };

/** The watcher's interval: cycle k evaluates at (the fleet's now) + k × this. */
const WATCH_INTERVAL_SECONDS = 60;
/** `prometheus.max_age` while status is to be answered from a fresh evaluation (issue 17's cache). */
const FRESH_MAX_AGE = '60s';
/** While every status must evaluate anew: the shortest the bot accepts. */
const NO_CACHE_MAX_AGES = ['0s', '1s'];
/** Before the largest fleet: it is not started unless this much of the run's time bound is left. */
const LARGEST_NEEDS_MS = quick ? 2 * 60_000 : 8 * 60_000;

const FRESH_MODES: FreshMode[] = [
  { label: 'one after another', concurrency: 1, count: PLAN.freshCount },
  { label: '10 concurrent', concurrency: 10, count: PLAN.freshCount },
];

const ACK_MODES: AckMode[] = [
  { label: 'one after another', mode: { kind: 'closed', concurrency: 1 }, count: Math.round(100 * PLAN.ackScale) },
  { label: '10 concurrent', mode: { kind: 'closed', concurrency: 10 }, count: Math.round(200 * PLAN.ackScale) },
  { label: '50 concurrent', mode: { kind: 'closed', concurrency: 50 }, count: Math.round(200 * PLAN.ackScale) },
  { label: 'open loop, 20/s', mode: { kind: 'open', perSecond: 20 }, count: Math.round(100 * PLAN.ackScale) },
];

/** A hard bound on the whole run: phases that would start after it are skipped and say so. */
const DEADLINE = Date.now() + (quick ? 15 : 25) * 60_000;
const skipped: string[] = [];
function timeLeft(key: string, phase: string): boolean {
  if (!wanted(key)) return false;
  if (Date.now() < DEADLINE) return true;
  skipped.push(phase);
  log(`skipping ${phase}: the run is past its time bound`);
  return false;
}

const began = Date.now();
function log(message: string): void {
  const seconds = ((Date.now() - began) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${seconds} s] ${message}\n`);
}

function which(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v "${command}"`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function checkTools(): void {
  const missing = [process.env.PROMETHEUS_BIN ?? 'prometheus', process.env.PROMTOOL_BIN ?? 'promtool'].filter((tool) => !which(tool));
  if (missing.length > 0) {
    process.stderr.write(
      `npm run bench needs ${missing.join(' and ')} (Debian's "prometheus" package, 2.42).\n` +
        `Install it with ./scripts/install-test-deps.sh (apt-get, as root or through sudo), or point PROMETHEUS_BIN and\n` +
        `PROMTOOL_BIN at your own binaries.\n`,
    );
    process.exit(1);
  }
}

function machine() {
  const cpuList = cpus();
  const read = (command: string, argv: string[]) => {
    try {
      return execFileSync(command, argv, { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    node: process.version,
    prometheus: read(process.env.PROMETHEUS_BIN ?? 'prometheus', ['--version']).split('\n')[0] ?? 'unknown',
    commit: read('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']),
    dirty: read('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--untracked-files=no']) !== '',
    filesystem: read('stat', ['-f', '-c', '%T', tmpdir()]),
    tmpdir: tmpdir(),
  };
}

interface Fleet {
  readonly prometheus: PrometheusFixture;
  readonly log: QueryLog;
  readonly series: number;
  /** Unix seconds: the fleet's "now"; its data runs from now − history to now + ahead. */
  readonly now: number;
}

const fleets: FleetFigures[] = [];

async function startFleet(work: string, instances: number, aheadSeconds: number, historySeconds?: number): Promise<Fleet> {
  const dir = mkdtempSync(join(work, `fleet-${instances}-`));
  const startedAt = performance.now();
  const now = Math.floor(Date.now() / 1000);
  const fleet = await writeFleet(dir, { instances, now, aheadSeconds, ...(historySeconds ? { historySeconds } : {}) });
  const buildMs = performance.now() - startedAt;
  const prometheus = await startPrometheus({
    backfillFiles: fleet.files,
    // The default of 20 concurrent queries would queue the bot's own: 12 triggers a status, several at once.
    maxQueryConcurrency: 64,
    readyTimeoutMs: 60_000,
  });
  log(
    `fleet of ${instances}: ${fleet.series} series, ${fleet.samples} samples (${(fleet.bytes / 1e6).toFixed(0)} MB) built in ` +
      `${(buildMs / 1000).toFixed(1)} s, backfilled in ${(prometheus.timings.backfillMs / 1000).toFixed(1)} s; Prometheus at ${prometheus.url}`,
  );
  fleets.push({
    instances,
    series: fleet.series,
    samples: fleet.samples,
    bytes: fleet.bytes,
    buildMs,
    backfillMs: prometheus.timings.backfillMs,
    startMs: prometheus.timings.startMs,
  });
  try {
    return { prometheus, log: await enableQueryLog(prometheus), series: fleet.series, now };
  } catch (error) {
    await prometheus.stop();
    throw error;
  }
}

async function main(): Promise<void> {
  checkTools();
  const work = mkdtempSync(join(tmpdir(), 'scalebot-bench-'));
  onExit(() => rmSync(work, { recursive: true, force: true }));
  const compiled = botRunsCompiled();
  const results: BenchResults = {
    startedAt: new Date(),
    quick,
    machine: machine(),
    botRunsCompiled: compiled,
    loadBefore: loadavg(),
    loadAfter: [],
    durationMs: 0,
    status: [],
    fresh: [],
    ack: [],
    cycle: [],
    watcher: [],
    fleets,
    startup: null,
    footprint: null,
    decisionLog: null,
    skipped,
  };
  current = results;
  log(
    `${results.machine.cpus} CPUs, Node ${results.machine.node}, load average ${results.loadBefore.map((x) => x.toFixed(2)).join(' ')}; ` +
      `bin/scalebot.js runs ${compiled ? 'a compiled build' : 'the sources through tsx'}`,
  );

  const load = spawnTs('bench/load.ts');
  const cycle = spawnTs('bench/cycle.ts');
  const decisions = spawnTs('bench/decision-log.ts');
  const fake = await startFakeSlack();
  const watch = new ResponseWatch(fake);
  let databases = 0;
  const appEnv = (prometheusUrl: string, configFile?: string): AppEnv => ({
    slackApiUrl: fake.apiUrl,
    prometheusUrl,
    databaseFile: join(work, `bot-${++databases}.db`),
    ...(configFile ? { configFile } : {}),
  });
  // Every status evaluates anew; its watcher evaluates once as it starts (an hour before the next), without charts.
  const noCache = writeBotConfig(work, 'no-cache', {
    maxAges: NO_CACHE_MAX_AGES,
    sections: ['slack:', '  alerts_channel: C0BENCHALR', 'watch:', '  interval: 1h', 'charts:', '  enabled: false'],
  });
  // Status answered from an evaluation younger than a minute.
  const fresh = writeBotConfig(work, 'fresh', { maxAges: [FRESH_MAX_AGE] });
  log(
    noCache.maxAge === null
      ? 'the bot has no prometheus.max_age (no evaluation cache): every status evaluates anew'
      : `prometheus.max_age ${noCache.maxAge} where a fresh evaluation is needed, ${fresh.maxAge} where one is fresh`,
  );
  const statusRows = async (fleet: Fleet, label: string) => {
    const context: StatusContext = { fake, watch, prometheusUrl: fleet.prometheus.url, prometheusPid: fleet.prometheus.pid, log: fleet.log };
    log(`status answer when a fresh evaluation is needed, ${label}: ${PLAN.statusRounds} bots, the first status of each`);
    const first = await measureStatusFirstOfStep(context, {
      start: () => startBot(appEnv(fleet.prometheus.url, noCache.file)),
      rounds: PLAN.statusRounds,
      maxAge: noCache.maxAge,
      triggers: 12,
      warm: !quick,
    });
    results.status.push({ label, series: fleet.series, ...first });
    log(`status answer when a fresh evaluation is needed, ${label}: ${PLAN.statusRounds} statuses of one bot`);
    const bot = await startBot(appEnv(fleet.prometheus.url, noCache.file));
    try {
      results.status.push({ label, series: fleet.series, ...(await measureStatusWarm(context, { bot, rounds: PLAN.statusRounds, maxAge: noCache.maxAge })) });
    } finally {
      await bot.stop();
    }
  };

  try {
    // 7. Decision-log writes, first: nothing else is running yet to share the disk with.
    if (wanted('decision-log')) {
      log(`decision log: recordDecision back to back, appendDecision at ${PLAN.appendRates.join(', ')} rows/s; synchronous=FULL`);
      results.decisionLog = await ask<DecisionLogFigures>(decisions, {
        type: 'decision-log',
        job: { dir: work, rounds: PLAN.decisionRounds, roundMs: quick ? 1000 : 1500, maxWrites: 100_000, appendRates: PLAN.appendRates },
      });
    }

    // The default 12 triggers, one instance each.
    const single = await startFleet(work, 1, 20 * 60);
    try {
      // 6. Start-up: spawn to "ready" (the line printed once it serves), bot and bare app alternating.
      if (wanted('startup')) {
        log(`start-up: ${PLAN.startups} starts each of the bot and the bare app`);
        const startup: StartupFigures = { bot: [], bare: [] };
        for (let i = 0; i < PLAN.startups; i++) {
          for (const start of i % 2 === 0 ? [startBot, startBare] : [startBare, startBot]) {
            const app = await start(appEnv(single.prometheus.url));
            startup[app.name].push(app.startMs);
            await app.stop();
          }
        }
        results.startup = startup;
      }

      // 3. Status answer when a fresh evaluation is needed, one instance per trigger.
      if (wanted('status')) await statusRows(single, '12 default triggers, 1 instance each');

      // 6. Footprint on a fresh bot, as production starts it (the default config).
      if (timeLeft('footprint', 'footprint')) {
        const bot = await startBot(appEnv(single.prometheus.url));
        try {
          log(`footprint: RSS at rest, then ${PLAN.footprint} commands (1 in 33 a status)`);
          results.footprint = await measureFootprint({ bot, load, fake, watch, total: PLAN.footprint, batch: 1000, idleMs: 3000 });
        } finally {
          await bot.stop();
        }
      }
    } finally {
      await single.prometheus.stop();
    }

    // 100 instances per trigger: status answers, ack latency, and the watcher at 100.
    const hundred = await startFleet(work, 100, 20 * 60);
    try {
      if (timeLeft('status', 'status answer at 100 instances')) await statusRows(hundred, '12 default triggers, 100 instances each');

      // 2. Status while an evaluation is fresh.
      if (timeLeft('fresh', 'status while an evaluation is fresh')) {
        const bot = await startBot(appEnv(hundred.prometheus.url, fresh.file));
        try {
          log(
            `status while an evaluation is fresh (max_age ${fresh.maxAge ?? 'unknown to this bot'}): ` +
              FRESH_MODES.map((m) => `${m.count} × ${m.label}`).join(', '),
          );
          const context: StatusContext = { fake, watch, prometheusUrl: hundred.prometheus.url, prometheusPid: hundred.prometheus.pid, log: hundred.log };
          results.fresh = await measureFresh(context, { bot, modes: FRESH_MODES, maxAge: fresh.maxAge, batchMs: 40_000 });
        } finally {
          await bot.stop();
        }
      }

      // 1. Ack latency, the bot with its default config (production's max_age).
      if (timeLeft('ack', 'ack latency')) {
        const bot = await startBot(appEnv(hundred.prometheus.url));
        const bare = await startBare(appEnv(hundred.prometheus.url));
        try {
          log(
            `ack latency: ${ACK_MODES.map((mode) => `${mode.count} × ${mode.label}`).join(', ')}; ` +
              `${PLAN.ackRounds} rounds, bot, bare and bare with Prometheus busy taking turns`,
          );
          const churn = {
            start: async () => void (await ask(cycle, { type: 'churn-start', prometheusUrl: hundred.prometheus.url })),
            stop: () => ask<number>(cycle, { type: 'churn-stop' }),
          };
          results.ack = await measureAck({ bot, bare, load, fake, watch, drainTimeoutMs: 120_000, churn }, ACK_MODES, PLAN.ackRounds);
          fake.reset();
        } finally {
          await bot.stop();
          await bare.stop();
        }
      }
      if (PLAN.sizes.includes(100)) await watcherAt(cycle, 100, hundred);
    } finally {
      await hundred.prometheus.stop();
    }

    // 4. The watcher at the other sizes.
    for (const size of PLAN.sizes.filter((size) => size !== 100)) {
      if (!timeLeft('watcher', `watcher cycles at ${size}`) && !timeLeft('parts', `watcher cycle taken apart at ${size}`)) continue;
      const fleet = await startFleet(work, size, 10 * 60);
      try {
        await watcherAt(cycle, size, fleet);
      } finally {
        await fleet.prometheus.stop();
      }
    }

    // 5. The largest fleet: the watcher's cycles only (no parts, no statuses), with a history just long enough
    // for the 30 min window and its 5 min rates, to bound the backfill.
    if (!wanted('largest')) {
      // Left out on request.
    } else if (DEADLINE - Date.now() < LARGEST_NEEDS_MS) {
      skipped.push(`watcher cycles at ${PLAN.largest} (needs ${LARGEST_NEEDS_MS / 60_000} min of the time bound)`);
      log(`skipping the ${PLAN.largest}-instance fleet: less than ${LARGEST_NEEDS_MS / 60_000} min left of the time bound`);
    } else if (!PLAN.sizes.includes(PLAN.largest)) {
      const fleet = await startFleet(work, PLAN.largest, (PLAN.largestCycles + 3) * WATCH_INTERVAL_SECONDS, 40 * 60);
      try {
        results.watcher.push(await watcherCycles(PLAN.largest, fleet, PLAN.largestCycles));
      } finally {
        await fleet.prometheus.stop();
      }
    }
    results.cycle.sort((a, b) => a.size - b.size);
    results.watcher.sort((a, b) => a.size - b.size);
  } finally {
    watch.close();
    await fake.close();
    for (const child of [load, cycle, decisions]) child.kill('SIGKILL');
  }

  results.loadAfter = loadavg();
  results.durationMs = Date.now() - began;
  const markdown = renderResults(results);
  process.stdout.write(`\n${markdown}\n`);
  if (outFile) {
    // The failover and foresight sections are bench/failover.ts's and bench/foresight.ts's (npm run
    // bench:failover, bench:foresight): kept as they were.
    const previous = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
    const kept = ['failover', 'foresight']
      .map((name) => new RegExp(`<!-- ${name}:begin[\\s\\S]*?<!-- ${name}:end -->`).exec(previous)?.[0])
      .filter((section): section is string => Boolean(section));
    writeFileSync(outFile, kept.length > 0 ? `${markdown.trimEnd()}\n\n${kept.join('\n\n')}\n` : markdown);
    log(`written to ${outFile}`);
  }
}

/** The watcher at one size: its cycles with time advancing, then (sizes up to 1,000) one full evaluation taken apart. */
async function watcherAt(cycle: ReturnType<typeof spawnTs>, size: number, fleet: Fleet): Promise<void> {
  if (timeLeft('watcher', `watcher cycles at ${size}`)) resultsSoFar().watcher.push(await watcherCycles(size, fleet, PLAN.watcherCycles));
  if (timeLeft('parts', `watcher cycle taken apart at ${size}`)) {
    log(`watcher cycle taken apart at ${size} series per trigger`);
    resultsSoFar().cycle.push(await cycleAt(cycle, size, fleet.series, fleet.prometheus));
  }
}

let current: BenchResults | null = null;
function resultsSoFar(): BenchResults {
  if (!current) throw new Error('no results yet');
  return current;
}

/** Runs the watcher's cycles in a process of its own (its RSS is this size's), time advancing by the interval. */
async function watcherCycles(size: number, fleet: Fleet, cycles: number): Promise<WatcherFigures> {
  log(`watcher: ${cycles} cycles ${WATCH_INTERVAL_SECONDS} s apart at ${size} series per trigger`);
  const child = spawnTs('bench/watcher-cycles.ts');
  try {
    const rounds = await ask<WatcherCycle[]>(child, {
      type: 'watcher-cycles',
      job: {
        prometheusUrl: fleet.prometheus.url,
        // On the interval's boundaries, as the bot's scheduler runs its cycles (services/watcher.ts).
        startAt: Math.floor(fleet.now / WATCH_INTERVAL_SECONDS) * WATCH_INTERVAL_SECONDS,
        intervalSeconds: WATCH_INTERVAL_SECONDS,
        cycles,
        queryLogFile: fleet.log.file,
        timeoutMs: 120_000,
      },
    });
    return { size, series: fleet.series, intervalSeconds: WATCH_INTERVAL_SECONDS, cycles: rounds, prometheusRssBytes: await rssOf(fleet.prometheus.pid) };
  } finally {
    child.kill('SIGKILL');
  }
}

async function cycleAt(cycle: ReturnType<typeof spawnTs>, size: number, series: number, prometheus: PrometheusFixture): Promise<CycleFigures> {
  const rounds = await ask<CycleRound[]>(cycle, {
    type: 'cycle',
    job: {
      prometheusUrl: prometheus.url,
      prometheusPid: prometheus.pid,
      rounds: size >= 1000 ? Math.min(3, PLAN.cycleRounds) : PLAN.cycleRounds,
      watcher: true,
    },
  });
  return { size, series, rounds };
}

export type { AckFigures, AppUnderTest, FootprintFigures, StatusFigures };

await main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
