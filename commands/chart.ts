import { CHART_RANGES, CHARTS_OFF } from '../blocks/chart-replies.ts';
import { escapeMrkdwn } from '../blocks/types.ts';
import { chartWindowSeconds } from '../core/chart.ts';
import { formatDuration } from '../core/duration.ts';
import type { Trigger } from '../core/triggers.ts';
import { UserError } from '../core/user-error.ts';
import type { ChartPoster } from '../services/charts.ts';
import { UsageError, type CommandDeps, type Subcommand } from './types.ts';

const USAGE = `\`/scale chart <trigger> [${Object.keys(CHART_RANGES).join('|')}]\``;

function listTriggers(triggers: readonly Trigger[]): string {
  return triggers.map((trigger) => `\`${trigger.id}\``).join(', ');
}

/** The trigger and window `/scale chart` was asked for; a UsageError saying what to type when either is wrong. */
export function parseChartArguments(
  args: readonly string[],
  triggers: readonly Trigger[],
): { trigger: Trigger; rangeName: string; windowSeconds: number | null } {
  const [triggerId, range, ...rest] = args;
  if (!triggerId) throw new UsageError(`${USAGE} needs a trigger: one of ${listTriggers(triggers)}.`);
  if (rest.length > 0) throw new UsageError(`${USAGE} takes a trigger and at most a range.`);
  const trigger = triggers.find((candidate) => candidate.id === triggerId.toLowerCase());
  if (!trigger) throw new UsageError(`\`${triggerId}\` is not a trigger. The triggers are ${listTriggers(triggers)}.`);
  if (range === undefined) return { trigger, rangeName: 'default', windowSeconds: null };
  // Own keys only: "constructor" is not a range.
  const seconds = Object.hasOwn(CHART_RANGES, range.toLowerCase()) ? CHART_RANGES[range.toLowerCase()] : undefined;
  if (seconds === undefined)
    throw new UsageError(
      `\`${range}\` is not a range I draw: use ${Object.keys(CHART_RANGES)
        .map((name) => `\`${name}\``)
        .join(', ')}, or none for the trigger's own window.`,
    );
  return { trigger, rangeName: range.toLowerCase(), windowSeconds: seconds };
}

export type ChannelChartAnswer = { readonly ok: boolean; readonly text: string; readonly outcome: string };

/**
 * Posts `trigger`'s chart to `channel` through the outbox and says how it went, for the asker alone: posted,
 * on its way, already posted in the same slot, or why not (charts off, not drawable, Slack refused the channel).
 */
export async function postChannelChart(
  charts: ChartPoster | undefined,
  deps: Pick<CommandDeps, 'storage' | 'clock'>,
  request: {
    readonly trigger: Trigger;
    readonly channel: string;
    readonly rangeName: string;
    readonly windowSeconds: number | null;
    readonly user: string;
    readonly slotMs: number;
  },
): Promise<ChannelChartAnswer> {
  if (!charts?.enabled) return { ok: false, text: CHARTS_OFF, outcome: 'charts_off' };
  const { trigger, channel } = request;
  const windowSeconds = request.windowSeconds ?? chartWindowSeconds(trigger);
  const what = `the chart of *${escapeMrkdwn(trigger.name)}* (last ${formatDuration(windowSeconds)})`;
  const outcome = await charts.chartToChannel({ ...request, windowSeconds, now: deps.clock() });
  switch (outcome.kind) {
    case 'off':
    case 'no_breach':
      return { ok: false, text: CHARTS_OFF, outcome: 'charts_off' };
    case 'failed':
      return { ok: false, text: `:warning: Couldn't draw ${what}: ${escapeMrkdwn(outcome.reason)}`, outcome: 'chart_failed' };
    case 'already':
      return { ok: true, text: `:information_source: ${what} was posted to <#${channel}> a moment ago; it was not posted again.`, outcome: 'already' };
    case 'queued': {
      const row = outcome.key ? await deps.storage.outbox.getByKey(outcome.key) : undefined;
      if (row?.status === 'failed') {
        return {
          ok: false,
          text:
            `:warning: I could not post ${what} in <#${channel}>: Slack said \`${escapeMrkdwn(row.lastError ?? 'unknown error')}\`. ` +
            'Invite me to the channel (`/invite @scalebot`) or ask in one I am in.',
          outcome: 'post_failed',
        };
      }
      if (row?.status === 'sent') return { ok: true, text: `:white_check_mark: Posted ${what} to <#${channel}>.`, outcome: 'posted' };
      return { ok: true, text: `:hourglass_flowing_sand: Posting ${what} to <#${channel}>; it appears in a moment.`, outcome: 'queued' };
    }
  }
}

export const chart = {
  name: 'chart',
  usage: `chart <trigger> [${Object.keys(CHART_RANGES).join('|')}]`,
  summary: "A trigger's chart, posted to this channel: the metric, its threshold and the `for` window",
  async run({ args, deps, channel, user, respond }) {
    const request = parseChartArguments(args, deps.config.triggers);
    if (!deps.charts?.enabled) throw new UserError(CHARTS_OFF.replace(/^:information_source: /, ''));
    // A double submit within the same minute posts one chart.
    const answer = await postChannelChart(deps.charts, deps, { ...request, channel, user, slotMs: 60_000 });
    await respond({ text: answer.text, ephemeral: true });
    return { outcome: answer.outcome, detail: { trigger: request.trigger.id, range: request.rangeName } };
  },
} as const satisfies Subcommand;
