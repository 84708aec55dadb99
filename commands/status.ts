import { takesNoArguments } from '../blocks/replies.ts';
import { buildStatusBlocks, stampEvaluationAge } from '../blocks/status.ts';
import type { Message } from '../blocks/types.ts';
import { collectStatus, type StatusReport } from '../core/status.ts';
import { UsageError, type CommandDeps, type Subcommand } from './types.ts';

/**
 * Everyone who asks while an evaluation is younger than prometheus.max_age, or still running, gets that
 * evaluation: deps.prometheus is the bot's evaluation cache (core/evaluation-cache.ts). In an incident the whole
 * team types `/scale status` at once; each request used to cost Prometheus its own 12 range queries, and
 * sixteen at once on a 100-instance fleet took it past the 5 s timeout (README, "Benchmarks"). Each answer says
 * how old its figures are.
 */
async function evaluate(deps: CommandDeps): Promise<{ report: StatusReport; message: Message }> {
  const report = await collectStatus(deps.config.triggers, deps.prometheus, deps.clock(), deps.config.prometheus.lookbackSeconds, {
    forecast: deps.config.forecast,
  });
  let message = messages.get(report);
  if (!message) {
    // The blocks are built once per evaluation: at 100 instances that is a few ms of the event loop per answer,
    // and all the answers of a burst are sent in the same moment, while the next acks wait.
    message = buildStatusBlocks(report, blockOptions(deps));
    messages.set(report, message);
  }
  return { report, message };
}

const messages = new WeakMap<StatusReport, Message>();

function blockOptions(deps: CommandDeps) {
  return { dashboardUrl: deps.config.grafana.dashboardUrl, chartMenu: Boolean(deps.charts?.enabled) };
}

/**
 * Resolves each caller in an event-loop turn of its own, in order. The answers to a burst share one
 * evaluation and so would all be posted in the same moment: fifty response_url posts in one go held the
 * event loop for tens of ms while the acks of the requests behind them waited (README, "Benchmarks").
 * One answer a turn lets the loop take in new requests between answers.
 */
let lastTurn: Promise<void> = Promise.resolve();
function ownTurn(): Promise<void> {
  const turn = lastTurn.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  lastTurn = turn;
  return turn;
}

export const status = {
  name: 'status',
  usage: 'status',
  summary: 'Every scaling trigger of the guide, live from Prometheus, and whether to scale now',
  async run({ args, deps, respond }) {
    if (args.length > 0) throw new UsageError(takesNoArguments('status'));
    const { report, message } = await evaluate(deps);
    await ownTurn();
    // The age as of the reply: a crowd's last answer may go out a moment after its first.
    await respond({ ...stampEvaluationAge(message, report, { ...blockOptions(deps), now: deps.clock() }), ephemeral: true });
    return { outcome: report.failure ? 'no_data' : report.verdict, detail: { verdict: report.verdict } };
  },
} as const satisfies Subcommand;
