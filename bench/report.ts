// bench/RESULTS.md: the figures of one run as tables, each with its target and whether it was met.
import type { CycleRound } from './cycle.ts';
import type { AppendRound, DecisionLogFigures } from './decision-log.ts';
import type { AckFigures } from './measure-ack.ts';
import type { FootprintFigures, MemorySample } from './measure-footprint.ts';
import type { FreshFigures } from './measure-fresh.ts';
import type { StatusFigures } from './measure-status.ts';
import { formatBytes, formatMs, formatRatio, growthExponent, markdownTable, median, spread } from './stats.ts';
import type { WatcherCycle } from './watcher-cycles.ts';

/** Issue 17's targets (and the growth and leak checks kept from before). */
export const TARGETS = {
  ackP99Ratio: 1.3,
  freshAnswerP99Ms: 20,
  freshInstances: 100,
  statusRatio: 1.1,
  cpuSize: 1000,
  steadyCyclePrometheusCpuMs: 500,
  startupRatio: 1.3,
  restRssBytes: 100 * 1024 * 1024,
  appendPerSecond: 5000,
  growthExponent: 1.1,
} as const;

export interface FleetFigures {
  readonly instances: number;
  readonly series: number;
  readonly samples: number;
  readonly bytes: number;
  /** Writing the OpenMetrics files, promtool's backfill, Prometheus' start to ready; ms. */
  readonly buildMs: number;
  readonly backfillMs: number;
  readonly startMs: number;
}

export interface WatcherFigures {
  readonly size: number;
  readonly series: number;
  readonly intervalSeconds: number;
  readonly cycles: WatcherCycle[];
  readonly prometheusRssBytes: number;
}

export interface StartupFigures {
  bot: number[];
  bare: number[];
}

export interface CycleFigures {
  readonly size: number;
  /** Raw series in that Prometheus. */
  readonly series: number;
  readonly rounds: CycleRound[];
}

export interface BenchResults {
  readonly startedAt: Date;
  readonly quick: boolean;
  readonly botRunsCompiled: boolean;
  readonly machine: {
    cpus: number;
    cpuModel: string;
    node: string;
    prometheus: string;
    commit: string;
    dirty: boolean;
    filesystem: string;
    tmpdir: string;
  };
  readonly loadBefore: number[];
  loadAfter: number[];
  durationMs: number;
  readonly status: Array<StatusFigures & { label: string; series: number }>;
  fresh: FreshFigures[];
  ack: AckFigures[];
  readonly cycle: CycleFigures[];
  readonly watcher: WatcherFigures[];
  readonly fleets: FleetFigures[];
  startup: StartupFigures | null;
  footprint: FootprintFigures | null;
  decisionLog: DecisionLogFigures | null;
  readonly skipped: string[];
}

const verdict = (met: boolean) => (met ? 'met' : '**missed**');
const range = (values: number[], format: (x: number) => string) => {
  const { min, max } = spread(values);
  return `${format(min)}–${format(max)}`;
};

/** The parts of one watcher evaluation, medians over the rounds. */
export function cycleParts(figures: CycleFigures) {
  const m = (pick: (round: CycleRound) => number) => median(figures.rounds.map(pick));
  return {
    collectMs: m((round) => round.collectMs),
    prometheusCpuMs: m((round) => round.collectPrometheusCpuMs),
    ownCpuMs: m((round) => round.collectOwnCpuMs),
    rawAllMs: m((round) => round.rawAllMs),
    slowestRawMs: m((round) => round.slowestRawMs),
    rawSumMs: m((round) => round.queries.reduce((sum, query) => sum + query.rawMs, 0)),
    clientOverheadMs: m((round) => round.queries.reduce((sum, query) => sum + Math.max(0, query.clientMs - query.rawMs), 0)),
    evaluateMs: m((round) => round.queries.reduce((sum, query) => sum + query.evaluateMs, 0)),
    runCycleMs: m((round) => round.runCycleMs ?? Number.NaN),
    bookkeepingMs: m((round) => round.bookkeepingMs ?? Number.NaN),
    openBreaches: figures.rounds[0]?.openBreaches ?? 0,
    bytes: m((round) => round.queries.reduce((sum, query) => sum + query.bytes, 0)),
    results: figures.rounds[0]?.results ?? 0,
  };
}

export function renderResults(results: BenchResults): string {
  const { machine } = results;
  const out: string[] = [];
  out.push('# Benchmark results', '');
  out.push(
    `Written by \`npm run bench\`${results.quick ? ' --quick (a smoke run: fewer rounds, smaller counts)' : ''} on ` +
      `${results.startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}, commit \`${machine.commit}\`${machine.dirty ? ' (with uncommitted changes)' : ''}. ` +
      `See the README's "Benchmarks" section for what each figure means and what the misses come from.`,
    '',
  );
  out.push(
    markdownTable(
      ['machine', ''],
      [
        ['CPUs', `${machine.cpus} × ${machine.cpuModel}`],
        ['Node.js', machine.node],
        ['Prometheus', machine.prometheus],
        ['the bot', results.botRunsCompiled ? '`node bin/scalebot.js serve`, a compiled build' : '`node bin/scalebot.js serve`, the sources through tsx'],
        [
          'load average (1, 5, 15 min) before / after',
          `${results.loadBefore.map((x) => x.toFixed(2)).join(', ')} / ${results.loadAfter.map((x) => x.toFixed(2)).join(', ')}`,
        ],
        ['temp files (SQLite, Prometheus)', `${machine.tmpdir} (${machine.filesystem})`],
        ['whole run', `${(results.durationMs / 60_000).toFixed(1)} min`],
      ],
    ),
    '',
  );
  out.push('Each figure is the median of several rounds; each ratio compares figures measured in the same run.', '');
  const targets = targetRows(results);
  if (targets.length > 0) {
    out.push('## Targets (issue 17)', '');
    out.push(markdownTable(['figure', 'target', 'measured', ''], targets), '');
  }

  if (results.ack.length > 0) {
    const rounds = results.ack[0]!.bot.length;
    out.push('## 1. Ack latency: `/scale status`, time to the HTTP 200', '');
    out.push(
      `Signed requests from a load generator in its own process (keep-alive), against the bot (HTTP mode, 12 triggers × 100 ` +
        `instances) and a bare Bolt app that only acks, served the same way (bot/server.ts in front of Bolt's HTTPReceiver); ` +
        `${rounds} rounds each, taking turns. p50 and p99 per round, then the median over rounds. Target: bot p99 ≤ ` +
        `${TARGETS.ackP99Ratio}× bare p99 in every mode. "Last answer" is when the last of the round's answers reached its ` +
        `response_url; "event loop" is the p99 of the app's event-loop delay during the round. The control, "bare, ` +
        `Prometheus busy", is the bare app while another process has Prometheus answer the 12 status queries back to ` +
        `back, as the bot's status answers make it do: the same ${machine.cpus} CPUs, minus what Prometheus takes.`,
      '',
    );
    out.push(
      markdownTable(
        [
          'mode',
          'requests',
          'bot p50',
          'bot p99',
          'bare p50',
          'bare p99',
          'p99 ratio',
          'target',
          'bare p99, Prometheus busy',
          'bot / that',
          'last answer',
          'answers with no data',
          'event loop p99 bot / bare',
          'failed',
        ],
        results.ack.map((ack) => [
          ack.label,
          String(ack.count),
          formatMs(ack.botP50),
          formatMs(ack.botP99),
          formatMs(ack.bareP50),
          formatMs(ack.bareP99),
          formatRatio(ack.ratioP99),
          verdict(ack.ratioP99 <= TARGETS.ackP99Ratio && ack.failures === 0),
          formatMs(ack.bareBusyP99),
          formatRatio(ack.ratioP99Busy),
          formatMs(ack.lastAnswerMs),
          `${ack.noDataAnswers} of ${ack.count * ack.bot.length}`,
          `${formatMs(ack.botEventLoopP99)} / ${formatMs(ack.bareEventLoopP99)}`,
          String(ack.failures),
        ]),
      ),
      '',
    );
  }

  if (results.fresh.length > 0) {
    const maxAge = results.fresh[0]!.maxAge;
    out.push('## 2. `/scale status` while an evaluation is fresh: request to the answer at the response_url', '');
    out.push(
      `The bot with \`prometheus.max_age\` ${maxAge ?? '(not a setting of this bot: no evaluation cache, every status evaluates)'} ` +
        `against 12 triggers × ${TARGETS.freshInstances} instances. One status warms the evaluation; the statuses measured follow ` +
        `within that max_age, in batches each started by a warming status. Each is timed from its request to its answer at the ` +
        `response_url ("ack" is the HTTP 200 alone). "Stated age": the answers saying how old their figures are ` +
        `("evaluated N s ago"); "queries to Prometheus": what Prometheus' query log saw during the measured statuses. ` +
        `Target: p99 ≤ ${TARGETS.freshAnswerP99Ms} ms.`,
      '',
    );
    out.push(
      markdownTable(
        ['mode', 'statuses', 'answer p50', 'answer p99', 'target', 'ack p99', 'stated age (oldest)', 'queries to Prometheus', 'answers with no data'],
        results.fresh.map((fresh) => [
          fresh.label,
          String(fresh.count),
          formatMs(fresh.answerP50),
          formatMs(fresh.answerP99),
          verdict(fresh.answerP99 <= TARGETS.freshAnswerP99Ms && fresh.noData === 0),
          formatMs(fresh.ackP99),
          `${fresh.statedAge} of ${fresh.count}${fresh.oldestAgeSeconds === null ? '' : ` (${seconds(fresh.oldestAgeSeconds)})`}`,
          String(fresh.queriesDuring),
          String(fresh.noData),
        ]),
      ),
      '',
    );
  }

  if (results.status.length > 0) {
    const maxAge = results.status[0]!.maxAge;
    out.push('## 3. Status answer when a fresh evaluation is needed: request to the full answer at the response_url', '');
    out.push(
      `One \`/scale status\` at a time, the bot's \`prometheus.max_age\` ${maxAge ?? '(not a setting of this bot)'} so that each ` +
        `evaluates anew. The floor is the very queries that status sent, read from Prometheus' query log (evaluation queries, ` +
        `full or only what is new, and forecast queries), asked again right after by a plain HTTP client: all at once ` +
        `(the target's floor), one at a time (the slowest of them, and their sum). "First of its step": a bot started for the ` +
        `round (its watcher's evaluation at start-up starts the worker thread, without forecasts), whose status is the first of ` +
        `its 5-minute forecast step and so sends a forecast query for each trigger with \`forecast: true\`. "Forecasts already ` +
        `fitted": status after status on one bot, the forecasts from the client's memo. Target: answer ≤ ${TARGETS.statusRatio}× all ` +
        `at once. Also the CPU one status costs Prometheus and the bot (from /proc).`,
      '',
    );
    out.push(
      markdownTable(
        [
          'data',
          'kind',
          'queries sent (forecasts)',
          'longest evaluation range',
          'status answer',
          'its queries all at once',
          'ratio',
          'target',
          'slowest alone',
          'all alone, added up',
          'Prometheus CPU per status',
          'bot CPU per status',
          'rounds (answer)',
        ],
        results.status.map((status) => [
          `${status.label} (${status.series} raw series)`,
          status.kind,
          `${status.queries} (${status.forecastQueries})`,
          seconds(status.longestEvaluationRangeSeconds),
          formatMs(status.answerMs),
          formatMs(status.allAtOnceMs),
          formatRatio(status.ratio),
          verdict(status.ratio <= TARGETS.statusRatio && status.noData === 0),
          `${formatMs(status.slowestAloneMs)} (${status.slowestQuery})`,
          formatMs(status.sumAloneMs),
          formatMs(status.prometheusCpuMs),
          formatMs(status.botCpuMs),
          range(
            status.rounds.map((round) => round.answerMs),
            formatMs,
          ),
        ]),
      ),
      '',
    );
    out.push(
      `With ${machine.cpus} CPUs, Prometheus cannot answer a status's queries in less than about (all alone, added up) / ` +
        `${machine.cpus}, however they are sent; "all at once" is that floor as measured.`,
      '',
    );
  }

  if (results.watcher.length > 0) {
    out.push('## 4–5. Watcher cycles, time advancing by the interval', '');
    out.push(
      `The watcher as the bot runs it (services/watcher.ts's runCycle with an alerts channel, Slack left out) over the bot's ` +
        `own Prometheus client (the worker thread, and whatever it keeps between evaluations), in a process of its own per ` +
        `size; cycle k evaluates at the fleet's start + k × ${results.watcher[0]!.intervalSeconds} s, inside the fleet's data. ` +
        `The first cycle reads every trigger's whole window; the later ones are what a running watcher pays. Prometheus' CPU is ` +
        `its process_cpu_seconds_total before and after each cycle; "ours" is the watcher's process (main thread and worker). ` +
        `RSS is that process' (main and worker thread together), after the last cycle and at its peak (VmHWM). Queries and ` +
        `their longest range are from Prometheus' query log. Targets: Prometheus CPU of a later cycle ≤ ` +
        `${formatMs(TARGETS.steadyCyclePrometheusCpuMs)} at ${TARGETS.cpuSize.toLocaleString('en')} series per trigger; every ` +
        `cycle of the largest fleet within the interval.`,
      '',
    );
    out.push(
      markdownTable(
        [
          'series per trigger',
          'cycles',
          'first: wall',
          'first: CPU Prometheus / ours',
          'first: queries (longest range)',
          'later: wall',
          'later: CPU Prometheus / ours',
          'later: queries (longest range)',
          'blind cycles',
          'open breaches',
          'RSS after / peak',
          'Prometheus RSS',
        ],
        results.watcher.map((figures) => {
          const summary = watcherSummary(figures);
          const first = summary.first;
          return [
            figures.size.toLocaleString('en'),
            String(figures.cycles.length),
            formatMs(first?.wallMs ?? Number.NaN),
            `${formatMs(first?.prometheusCpuMs ?? Number.NaN)} / ${formatMs(first?.ownCpuMs ?? Number.NaN)}`,
            `${first?.queries ?? '–'} (${seconds(first?.longestRangeSeconds ?? Number.NaN)})`,
            formatMs(summary.steadyWallMs),
            `${formatMs(summary.steadyPrometheusCpuMs)} / ${formatMs(summary.steadyOwnCpuMs)}`,
            `${Number.isFinite(summary.steadyQueries) ? summary.steadyQueries : '–'} (${seconds(summary.steadyLongestRangeSeconds)})`,
            String(summary.blind),
            String(figures.cycles.at(-1)?.open ?? '–'),
            `${formatBytes(summary.lastRssBytes)} / ${formatBytes(summary.peakRssBytes)}`,
            formatBytes(figures.prometheusRssBytes),
          ];
        }),
      ),
      '',
    );
  }

  if (results.cycle.length > 0) {
    out.push('## 4b. One full watcher evaluation, taken apart', '');
    out.push(
      `In its own process against a Prometheus holding N instances (each per-instance trigger answers N series). ` +
        `collectStatus runs the 12 queries at once, as the watcher does, with a new client each round (a full read, as ` +
        `every evaluation was before the incremental one); the parts are timed one query at a time: ` +
        `Prometheus and the wire (a raw fetch), our client on top of that (JSON parse, response check, mapping), and ` +
        `evaluateTrigger. runCycle is the watcher's whole cycle with an alerts channel set (Slack itself left out): its ` +
        `"bookkeeping" is what it spends beyond its queries (the plan, breaches updated in SQLite, every ` +
        `open breach's message re-rendered into the outbox), on a warmed database where the fleet's breaches are open.`,
      '',
    );
    const parts = results.cycle.map((figures) => ({ figures, parts: cycleParts(figures) }));
    out.push(
      markdownTable(
        [
          'series per trigger',
          'results',
          'response bytes',
          'collectStatus',
          'CPU: Prometheus / ours',
          'Prometheus, 12 raw at once',
          'slowest raw alone',
          'our client (sum of 12)',
          'evaluateTrigger (sum of 12)',
          'runCycle',
          'of which bookkeeping',
          'open breaches',
          'rounds',
        ],
        parts.map(({ figures, parts: p }) => [
          String(figures.size),
          String(p.results),
          formatBytes(p.bytes),
          formatMs(p.collectMs),
          `${formatMs(p.prometheusCpuMs)} / ${formatMs(p.ownCpuMs)}`,
          formatMs(p.rawAllMs),
          formatMs(p.slowestRawMs),
          formatMs(p.clientOverheadMs),
          formatMs(p.evaluateMs),
          formatMs(p.runCycleMs),
          formatMs(p.bookkeepingMs),
          String(p.openBreaches),
          String(figures.rounds.length),
        ]),
      ),
      '',
    );
    if (parts.length >= 2) {
      const sizes = parts.map(({ figures }) => figures.size);
      const k = (pick: (p: ReturnType<typeof cycleParts>) => number) =>
        growthExponent(
          sizes,
          parts.map(({ parts: p }) => Math.max(pick(p), 0.01)),
        );
      const collect = k((p) => p.collectMs);
      const runCycle = k((p) => p.runCycleMs);
      out.push(
        `Growth, as the exponent k of time ∝ size^k over ${sizes.join(' → ')} series (1 is linear): collectStatus ` +
          `**${collect.toFixed(2)}**, runCycle **${runCycle.toFixed(2)}**; Prometheus ${k((p) => p.rawAllMs).toFixed(2)} (its CPU ` +
          `${k((p) => p.prometheusCpuMs).toFixed(2)}), our client ` +
          `${k((p) => p.clientOverheadMs).toFixed(2)}, evaluateTrigger ${k((p) => p.evaluateMs).toFixed(2)}, ` +
          `bookkeeping ${k((p) => p.bookkeepingMs).toFixed(2)}. Target: no worse than ` +
          `linear (k ≤ ${TARGETS.growthExponent}): ${verdict(Math.max(collect, runCycle) <= TARGETS.growthExponent)}.`,
        '',
      );
      const largest = parts[parts.length - 1]!.parts;
      const shares = [
        ['Prometheus (12 raw at once)', largest.rawAllMs],
        ['our client', largest.clientOverheadMs],
        ['evaluateTrigger', largest.evaluateMs],
        ["runCycle's bookkeeping", largest.bookkeepingMs],
      ] as const;
      const dominant = [...shares].sort((a, b) => b[1] - a[1])[0]!;
      out.push(`At ${sizes[sizes.length - 1]} series per trigger the largest part is ${dominant[0]} (${formatMs(dominant[1])}).`, '');
    }
  }

  out.push('## 6. Footprint', '');
  const rows: string[][] = [];
  if (results.startup) {
    rows.push([
      `start-up to ready, bot (\`node bin/scalebot.js serve\`, ${results.botRunsCompiled ? 'compiled' : 'sources through tsx'}, fresh database)`,
      formatMs(median(results.startup.bot)),
      range(results.startup.bot, formatMs),
    ]);
    rows.push([
      `start-up to ready, bare Bolt app (${results.botRunsCompiled ? 'plain JavaScript, as the bot' : 'through tsx, as the bot'})`,
      formatMs(median(results.startup.bare)),
      range(results.startup.bare, formatMs),
    ]);
  }
  const footprint = results.footprint;
  let leak: { met: boolean; text: string } | null = null;
  if (footprint) {
    const first = footprint.samples[0]!;
    const second = footprint.samples[Math.min(1, footprint.samples.length - 1)]!;
    const last = footprint.samples[footprint.samples.length - 1]!;
    const heap = (sample: MemorySample) =>
      `heap used ${formatBytes(sample.heapUsed)}${sample.workerHeapUsed > 0 ? ` (the worker thread: ${formatBytes(sample.workerHeapUsed)})` : ''}`;
    rows.push(['RSS at rest (after a forced GC)', formatBytes(footprint.idle.rss), heap(footprint.idle)]);
    rows.push([`RSS after ${first.commands.toLocaleString('en')} commands`, formatBytes(first.rss), heap(first)]);
    rows.push([`RSS after ${second.commands.toLocaleString('en')} commands`, formatBytes(second.rss), heap(second)]);
    rows.push([
      `RSS after ${last.commands.toLocaleString('en')} commands (${footprint.statusCommands} of them status)`,
      formatBytes(last.rss),
      `${heap(last)}; every 1,000: ${footprint.samples.map((s) => (s.rss / 1024 / 1024).toFixed(0)).join(', ')} MB RSS`,
    ]);
    const heapGrowth = last.heapUsed - second.heapUsed;
    const rssGrowth = last.rss - second.rss;
    const met = heapGrowth < Math.max(2 * 1024 * 1024, 0.05 * second.heapUsed) && footprint.failures === 0 && footprint.missingAnswers === 0;
    leak = {
      met,
      text:
        `From ${second.commands.toLocaleString('en')} to ${last.commands.toLocaleString('en')} commands: heap used after GC ` +
        `${heapGrowth >= 0 ? '+' : ''}${formatBytes(heapGrowth)}, RSS ${rssGrowth >= 0 ? '+' : ''}${formatBytes(rssGrowth)}; ` +
        `${footprint.failures} failed acks, ${footprint.missingAnswers} missing answers, ${(footprint.wallMs / 1000).toFixed(0)} s. ` +
        `No leak (heap growth under 2 MB or 5 %): ${verdict(met)}.`,
    };
  }
  out.push(markdownTable(['what', 'median', 'detail'], rows), '');
  if (leak) out.push(leak.text, '');

  if (results.decisionLog) {
    const record = results.decisionLog.record;
    const first = record[0]!;
    out.push('## 7. Decision-log rows per second', '');
    out.push(
      `db/client.ts's openDatabase on a file (journal_mode=${first.journalMode}, synchronous=${first.synchronous === 2 ? 'FULL' : first.synchronous}), ` +
        `in a process of its own before anything else runs. \`recordDecision\`: one row a transaction, back to back. ` +
        `\`appendDecision\`: rows asked for at a steady offered rate (open loop), sharing 20 ms commits; rows per second are ` +
        `the rows committed from the first call to the last commit; the wait is from a row's call to its commit resolving. ` +
        `"Send lag" is how late the generator asked for its rows (the event loop held by commits). ` +
        `Target: \`appendDecision\` ≥ ${perSecond(TARGETS.appendPerSecond)}.`,
      '',
    );
    const recordRate = median(record.map((round) => round.perSecond));
    const rowsOut: string[][] = [
      [
        '`recordDecision`, back to back',
        perSecond(recordRate),
        `${formatMs(1000 / recordRate)} a row`,
        '–',
        range(
          record.map((round) => round.perSecond),
          (x) => String(Math.round(x)),
        ),
        'reported',
      ],
    ];
    for (const rate of appendSummary(results.decisionLog.append)) {
      rowsOut.push([
        `\`appendDecision\`, offered ${perSecond(rate.offered)}`,
        perSecond(rate.perSecond),
        `p50 ${formatMs(rate.waitP50)}, p99 ${formatMs(rate.waitP99)} (worst round ${formatMs(rate.worstWaitP99)})`,
        formatMs(rate.sendLagMs),
        `${rate.rounds} rounds`,
        // Offered less than the target, a row can only show that what was offered got committed.
        rate.offered < TARGETS.appendPerSecond ? 'below the target’s rate' : verdict(rate.perSecond >= TARGETS.appendPerSecond),
      ]);
    }
    out.push(markdownTable(['writer', 'rows per second', 'wait', 'send lag', 'rounds', `≥ ${perSecond(TARGETS.appendPerSecond)}`], rowsOut), '');
  }

  if (results.fleets.length > 0) {
    out.push('## Fleets', '');
    out.push(
      markdownTable(
        ['instances per trigger', 'raw series', 'samples', 'OpenMetrics', 'written', 'backfilled (promtool)', 'Prometheus ready'],
        results.fleets.map((fleet) => [
          fleet.instances.toLocaleString('en'),
          fleet.series.toLocaleString('en'),
          fleet.samples.toLocaleString('en'),
          formatBytes(fleet.bytes),
          formatMs(fleet.buildMs),
          formatMs(fleet.backfillMs),
          formatMs(fleet.startMs),
        ]),
      ),
      '',
    );
  }
  if (results.skipped.length > 0) out.push(`Skipped (the run hit its time bound): ${results.skipped.join(', ')}.`, '');
  return out.join('\n');
}

/** The first cycle (a full read) and the later ones (what is new since the last), medians. */
export function watcherSummary(figures: WatcherFigures) {
  const [first, ...later] = figures.cycles;
  const m = (pick: (cycle: WatcherCycle) => number) => (later.length > 0 ? median(later.map(pick)) : Number.NaN);
  return {
    first: first ?? null,
    steadyWallMs: m((cycle) => cycle.wallMs),
    steadyPrometheusCpuMs: m((cycle) => cycle.prometheusCpuMs),
    steadyOwnCpuMs: m((cycle) => cycle.ownCpuMs),
    steadyQueries: m((cycle) => cycle.queries),
    steadyLongestRangeSeconds: m((cycle) => cycle.longestRangeSeconds),
    slowestWallMs: Math.max(...figures.cycles.map((cycle) => cycle.wallMs)),
    peakRssBytes: Math.max(...figures.cycles.map((cycle) => cycle.peakRssBytes)),
    lastRssBytes: figures.cycles.at(-1)?.rssBytes ?? Number.NaN,
    blind: figures.cycles.filter((cycle) => cycle.blind).length,
  };
}

/** appendDecision by offered rate: rows committed per second and the p99 wait, medians over the rounds. */
export function appendSummary(rounds: readonly AppendRound[]) {
  const rates = [...new Set(rounds.map((round) => round.offeredPerSecond))].sort((a, b) => a - b);
  return rates.map((offered) => {
    const at = rounds.filter((round) => round.offeredPerSecond === offered);
    return {
      offered,
      rounds: at.length,
      perSecond: median(at.map((round) => round.perSecond)),
      waitP50: median(at.map((round) => round.waitP50)),
      waitP99: median(at.map((round) => round.waitP99)),
      worstWaitP99: Math.max(...at.map((round) => round.waitP99)),
      sendLagMs: median(at.map((round) => round.sendLagMs)),
    };
  });
}

const perSecond = (x: number) => `${Math.round(x).toLocaleString('en')}/s`;
const seconds = (s: number) => (Number.isFinite(s) ? (s >= 120 ? `${(s / 60).toFixed(0)} min` : `${Math.round(s)} s`) : '–');

/** Every target of issue 17, side by side: what was measured and whether it was met. */
function targetRows(results: BenchResults): string[][] {
  const rows: string[][] = [];
  for (const ack of results.ack) {
    rows.push([
      `ack p99 / bare Bolt p99, ${ack.label}`,
      `≤ ${TARGETS.ackP99Ratio}×`,
      `${formatRatio(ack.ratioP99)} (${formatMs(ack.botP99)} / ${formatMs(ack.bareP99)})`,
      verdict(ack.ratioP99 <= TARGETS.ackP99Ratio && ack.failures === 0),
    ]);
  }
  for (const fresh of results.fresh) {
    rows.push([
      `\`/scale status\` while an evaluation is fresh, ${TARGETS.freshInstances} instances, ${fresh.label}: p99 request → answer`,
      `≤ ${TARGETS.freshAnswerP99Ms} ms`,
      `${formatMs(fresh.answerP99)} (${fresh.statedAge} of ${fresh.count} answers stated their age; ${fresh.queriesDuring} queries reached Prometheus)`,
      verdict(fresh.answerP99 <= TARGETS.freshAnswerP99Ms && fresh.noData === 0),
    ]);
  }
  for (const status of results.status) {
    rows.push([
      `status, fresh evaluation needed (${status.kind}), ${status.label.replace('12 default triggers, ', '')}: answer / its queries all at once`,
      `≤ ${TARGETS.statusRatio}×`,
      `${formatRatio(status.ratio)} (${formatMs(status.answerMs)} / ${formatMs(status.allAtOnceMs)}, ` +
        `${status.queries} queries, ${status.forecastQueries} of them forecasts)`,
      verdict(status.ratio <= TARGETS.statusRatio && status.noData === 0),
    ]);
  }
  const cpuSize = results.watcher.find((figures) => figures.size === TARGETS.cpuSize) ?? [...results.watcher].filter((f) => f.size < TARGETS.cpuSize).at(-1);
  if (cpuSize) {
    const summary = watcherSummary(cpuSize);
    const note = cpuSize.size === TARGETS.cpuSize ? '' : ` (at ${cpuSize.size}: this run has no ${TARGETS.cpuSize.toLocaleString('en')})`;
    rows.push([
      `Prometheus CPU per watcher cycle, ${TARGETS.cpuSize.toLocaleString('en')} series per trigger, later cycles${note}`,
      `≤ ${formatMs(TARGETS.steadyCyclePrometheusCpuMs)}`,
      `${formatMs(summary.steadyPrometheusCpuMs)} (the first, full cycle: ${formatMs(summary.first?.prometheusCpuMs ?? Number.NaN)})`,
      verdict(summary.steadyPrometheusCpuMs <= TARGETS.steadyCyclePrometheusCpuMs),
    ]);
  }
  const largest = results.watcher.at(-1);
  if (largest && largest !== cpuSize) {
    const summary = watcherSummary(largest);
    rows.push([
      `watcher cycle at ${largest.size.toLocaleString('en')} series per trigger, the slowest of ${largest.cycles.length} (the first a full read)`,
      `within the ${largest.intervalSeconds} s interval`,
      `${formatMs(summary.slowestWallMs)} (later cycles ${formatMs(summary.steadyWallMs)}); RSS ${formatBytes(summary.lastRssBytes)}, ` +
        `peak ${formatBytes(summary.peakRssBytes)} (the watcher's process: main and worker thread)`,
      verdict(summary.slowestWallMs <= largest.intervalSeconds * 1000 && summary.blind === 0),
    ]);
  }
  if (results.footprint) {
    rows.push([
      'RSS at rest, after a forced GC',
      `≤ ${formatBytes(TARGETS.restRssBytes)}`,
      formatBytes(results.footprint.idle.rss),
      verdict(results.footprint.idle.rss <= TARGETS.restRssBytes),
    ]);
  }
  if (results.startup) {
    const ratio = median(results.startup.bot) / median(results.startup.bare);
    rows.push([
      'start-up to ready / bare Bolt',
      `≤ ${TARGETS.startupRatio}×`,
      `${formatRatio(ratio)} (${formatMs(median(results.startup.bot))} / ${formatMs(median(results.startup.bare))})`,
      verdict(ratio <= TARGETS.startupRatio),
    ]);
  }
  if (results.decisionLog) {
    const record = median(results.decisionLog.record.map((round) => round.perSecond));
    rows.push(['decision-log rows per second, `recordDecision` (one row a transaction), synchronous=FULL', 'reported', perSecond(record), 'reported']);
    const append = appendSummary(results.decisionLog.append);
    const best = [...append].sort((a, b) => b.perSecond - a.perSecond)[0];
    if (best) {
      rows.push([
        'decision-log rows per second, `appendDecision` (20 ms group commit), synchronous=FULL',
        `≥ ${perSecond(TARGETS.appendPerSecond)}, with its p99 wait`,
        `${perSecond(best.perSecond)} offered ${perSecond(best.offered)}, p99 wait ${formatMs(best.waitP99)}`,
        verdict(best.perSecond >= TARGETS.appendPerSecond),
      ]);
    }
  }
  return rows;
}
