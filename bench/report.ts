// bench/RESULTS.md: the figures of one run as tables, each with its target and whether it was met.
import type { CycleRound } from './cycle.ts';
import type { DecisionLogRound } from './decision-log.ts';
import type { AckFigures } from './measure-ack.ts';
import type { FootprintFigures, MemorySample } from './measure-footprint.ts';
import type { StatusFigures } from './measure-status.ts';
import { formatBytes, formatMs, formatRatio, growthExponent, markdownTable, median, spread } from './stats.ts';

export const TARGETS = { ackP99Ratio: 1.3, statusRatio: 1.5, growthExponent: 1.1 } as const;

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
  ack: AckFigures[];
  readonly cycle: CycleFigures[];
  startup: StartupFigures | null;
  footprint: FootprintFigures | null;
  decisionLog: { rounds: DecisionLogRound[]; perSecond: number } | null;
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

  if (results.status.length > 0) {
    out.push('## 2. Status answer time: request to the full answer at the response_url', '');
    out.push(
      `One \`/scale status\` at a time, against the floor measured in the same rounds (alternating order): each of the 12 ` +
        `trigger queries fetched alone by a plain HTTP client (same expression, window and step as the bot's), the slowest ` +
        `of them. Target: ≤ ${TARGETS.statusRatio}×. Also shown: all 12 raw queries at once (what Prometheus needs for the ` +
        `whole set on this machine), and the CPU one status costs Prometheus and the bot (from /proc).`,
      '',
    );
    out.push(
      markdownTable(
        [
          'data',
          'status answer',
          'slowest query alone',
          'ratio',
          'target',
          'the 12 alone, added up',
          'all 12 raw at once',
          'answer / all at once',
          'Prometheus CPU per status',
          'bot CPU per status',
          'rounds (answer)',
        ],
        results.status.map((status) => [
          `${status.label} (${status.series} raw series)`,
          formatMs(status.answerMs),
          `${formatMs(status.slowestAloneMs)} (${status.slowestTrigger})`,
          formatRatio(status.ratio),
          verdict(status.ratio <= TARGETS.statusRatio && status.noData === 0),
          formatMs(status.sumAloneMs),
          formatMs(status.allAtOnceMs),
          formatRatio(status.answerMs / status.allAtOnceMs),
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
      `With ${machine.cpus} CPUs, Prometheus cannot run the 12 queries of a status in less than about (the 12 alone, ` +
        `added up) / ${machine.cpus}, however they are sent; "all 12 raw at once" is that floor as measured.`,
      '',
    );
  }

  if (results.cycle.length > 0) {
    out.push('## 3. Watcher cycle: one evaluation of all 12 triggers', '');
    out.push(
      `In its own process against a Prometheus holding N instances (each per-instance trigger answers N series). ` +
        `collectStatus runs the 12 queries at once, as the watcher does; the parts are timed one query at a time: ` +
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

  out.push('## 4. Footprint', '');
  const rows: string[][] = [];
  if (results.startup) {
    rows.push([
      'start-up to ready, bot (`node bin/scalebot.js serve`, fresh database)',
      formatMs(median(results.startup.bot)),
      range(results.startup.bot, formatMs),
    ]);
    rows.push(['start-up to ready, bare Bolt app', formatMs(median(results.startup.bare)), range(results.startup.bare, formatMs)]);
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
  if (results.decisionLog) {
    const round = results.decisionLog.rounds[0]!;
    rows.push([
      `decision-log writes per second (recordDecision, one row a transaction, ` +
        `journal_mode=${round.journalMode}, synchronous=${round.synchronous === 2 ? 'FULL' : round.synchronous})`,
      `${Math.round(results.decisionLog.perSecond).toLocaleString('en')}/s`,
      `${formatMs(1000 / results.decisionLog.perSecond)} a write; rounds ${range(
        results.decisionLog.rounds.map((r) => r.perSecond),
        (x) => String(Math.round(x)),
      )}`,
    ]);
  }
  out.push(markdownTable(['what', 'median', 'detail'], rows), '');
  if (leak) out.push(leak.text, '');
  if (results.skipped.length > 0) out.push(`Skipped (the run hit its time bound): ${results.skipped.join(', ')}.`, '');
  return out.join('\n');
}
