// `npm run bench`: the bot against its floors, on loopback. See the README's "Benchmarks" section.
//
//   npm run bench                 the full run (about 8–10 minutes on 2 cores), written to bench/RESULTS.md
//   npm run bench -- --quick      fewer rounds and no 1,000-series fleet: a smoke run, printed only
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
import { startBare, startBot, type AppEnv, type AppUnderTest } from './apps.ts';
import type { CycleRound } from './cycle.ts';
import type { DecisionLogRound } from './decision-log.ts';
import { writeFleet } from './fleet.ts';
import { measureAck, type AckFigures, type AckMode } from './measure-ack.ts';
import { measureFootprint, type FootprintFigures } from './measure-footprint.ts';
import { measureStatus, type StatusFigures } from './measure-status.ts';
import { ask, onExit, REPO_ROOT, spawnTs } from './processes.ts';
import { renderResults, type BenchResults, type CycleFigures, type StartupFigures } from './report.ts';
import { median } from './stats.ts';
import { ResponseWatch } from './watch-responses.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outIndex = args.indexOf('--out');
const outFile = outIndex >= 0 ? args[outIndex + 1] : quick ? null : join(REPO_ROOT, 'bench', 'RESULTS.md');

const PLAN = quick
  ? { startups: 2, statusRounds: 3, ackRounds: 2, ackScale: 0.4, footprint: 2_000, cycleRounds: 2, sizes: [10, 100], decisionRounds: 2 }
  : { startups: 5, statusRounds: 7, ackRounds: 5, ackScale: 1, footprint: 10_000, cycleRounds: 5, sizes: [10, 100, 1000], decisionRounds: 5 };

const ACK_MODES: AckMode[] = [
  { label: 'one after another', mode: { kind: 'closed', concurrency: 1 }, count: Math.round(100 * PLAN.ackScale) },
  { label: '10 concurrent', mode: { kind: 'closed', concurrency: 10 }, count: Math.round(200 * PLAN.ackScale) },
  { label: '50 concurrent', mode: { kind: 'closed', concurrency: 50 }, count: Math.round(200 * PLAN.ackScale) },
  { label: 'open loop, 20/s', mode: { kind: 'open', perSecond: 20 }, count: Math.round(100 * PLAN.ackScale) },
];

/** A hard bound on the whole run: phases that would start after it are skipped and say so. */
const DEADLINE = Date.now() + (quick ? 8 : 25) * 60_000;
const skipped: string[] = [];
function timeLeft(phase: string): boolean {
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

async function startFleet(
  work: string,
  instances: number,
  aheadSeconds: number,
): Promise<{ prometheus: PrometheusFixture; series: number; samples: number; buildMs: number }> {
  const dir = mkdtempSync(join(work, `fleet-${instances}-`));
  const startedAt = performance.now();
  const fleet = await writeFleet(dir, { instances, now: Math.floor(Date.now() / 1000), aheadSeconds });
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
  return { prometheus, series: fleet.series, samples: fleet.samples, buildMs };
}

async function main(): Promise<void> {
  checkTools();
  const work = mkdtempSync(join(tmpdir(), 'scalebot-bench-'));
  onExit(() => rmSync(work, { recursive: true, force: true }));
  const results: BenchResults = {
    startedAt: new Date(),
    quick,
    machine: machine(),
    loadBefore: loadavg(),
    loadAfter: [],
    durationMs: 0,
    status: [],
    ack: [],
    cycle: [],
    startup: null,
    footprint: null,
    decisionLog: null,
    skipped,
  };
  log(`${results.machine.cpus} CPUs, Node ${results.machine.node}, load average ${results.loadBefore.map((x) => x.toFixed(2)).join(' ')}`);

  const load = spawnTs('bench/load.ts');
  const cycle = spawnTs('bench/cycle.ts');
  const decisions = spawnTs('bench/decision-log.ts');
  const fake = await startFakeSlack();
  const watch = new ResponseWatch(fake);
  let databases = 0;
  const appEnv = (prometheusUrl: string): AppEnv => ({
    slackApiUrl: fake.apiUrl,
    prometheusUrl,
    databaseFile: join(work, `bot-${++databases}.db`),
  });

  try {
    // 4. Decision-log writes, first: nothing else is running yet to share the disk with.
    log('decision log: writes per second with synchronous=FULL');
    const decisionRounds = await ask<DecisionLogRound[]>(decisions, {
      type: 'decision-log',
      job: { dir: work, rounds: PLAN.decisionRounds, roundMs: 1500, maxWrites: 100_000 },
    });
    results.decisionLog = { rounds: decisionRounds, perSecond: median(decisionRounds.map((round) => round.perSecond)) };

    // The default 12 triggers, one instance each.
    const single = await startFleet(work, 1, 20 * 60);
    try {
      // 4. Start-up: spawn to "ready" (the line printed once it serves), bot and bare app alternating.
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

      // 2. Status answer, default triggers.
      const bot = await startBot(appEnv(single.prometheus.url));
      try {
        log(`status answer, 12 triggers × 1 instance: ${PLAN.statusRounds} rounds`);
        results.status.push({
          label: '12 default triggers, 1 instance each',
          series: single.series,
          ...(await measureStatus({ bot, fake, watch, prometheusUrl: single.prometheus.url, prometheusPid: single.prometheus.pid, rounds: PLAN.statusRounds })),
        });
      } finally {
        await bot.stop();
      }

      // 4. Footprint on a fresh bot.
      if (timeLeft('footprint')) {
        const fresh = await startBot(appEnv(single.prometheus.url));
        try {
          log(`footprint: RSS at rest, then ${PLAN.footprint} commands (1 in 33 a status)`);
          results.footprint = await measureFootprint({ bot: fresh, load, fake, watch, total: PLAN.footprint, batch: 1000, idleMs: 3000 });
        } finally {
          await fresh.stop();
        }
      }
    } finally {
      await single.prometheus.stop();
    }

    // 100 instances per trigger: status answer, ack latency, and the watcher at 100.
    const hundred = await startFleet(work, 100, 20 * 60);
    try {
      const bot = await startBot(appEnv(hundred.prometheus.url));
      const bare = await startBare(appEnv(hundred.prometheus.url));
      try {
        log(`status answer, 12 triggers × 100 instances: ${PLAN.statusRounds} rounds`);
        results.status.push({
          label: '12 default triggers, 100 instances each',
          series: hundred.series,
          ...(await measureStatus({
            bot,
            fake,
            watch,
            prometheusUrl: hundred.prometheus.url,
            prometheusPid: hundred.prometheus.pid,
            rounds: PLAN.statusRounds,
          })),
        });
        if (timeLeft('ack latency')) {
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
        }
      } finally {
        await bot.stop();
        await bare.stop();
      }
      if (PLAN.sizes.includes(100) && timeLeft('watcher cycle at 100')) {
        log('watcher cycle at 100 series per trigger');
        results.cycle.push(await cycleAt(cycle, 100, hundred.series, hundred.prometheus));
      }
    } finally {
      await hundred.prometheus.stop();
    }

    // 3. The watcher at the other sizes.
    for (const size of PLAN.sizes.filter((size) => size !== 100)) {
      if (!timeLeft(`watcher cycle at ${size}`)) continue;
      const fleet = await startFleet(work, size, 10 * 60);
      try {
        log(`watcher cycle at ${size} series per trigger`);
        results.cycle.push(await cycleAt(cycle, size, fleet.series, fleet.prometheus));
      } finally {
        await fleet.prometheus.stop();
      }
    }
    results.cycle.sort((a, b) => a.size - b.size);
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
