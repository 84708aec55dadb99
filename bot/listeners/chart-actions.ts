import type { App } from '@slack/bolt';
import { parseChartMenuChoice } from '../../blocks/status.ts';
import { postChannelChart } from '../../commands/chart.ts';
import type { CommandDeps } from '../../commands/types.ts';
import { onAction, type OnActionDeps } from './on-action.ts';

/** The status message's "Chart…" menu: the chosen trigger's chart, posted to the channel the status is shown in. */
export function registerChartActions(app: App, deps: OnActionDeps & { readonly commands: CommandDeps }): void {
  onAction(
    app,
    'chart_',
    parseChartMenuChoice,
    async ({ action: triggerId, user, channel }) => {
      const { commands } = deps;
      const trigger = commands.config.triggers.find((candidate) => candidate.id === triggerId);
      if (!trigger) {
        const ids = commands.config.triggers.map((candidate) => `\`${candidate.id}\``).join(', ');
        return `:warning: \`${triggerId}\` is no longer a trigger (the config changed); the triggers are ${ids}. Nothing was posted.`;
      }
      if (!channel) return ':warning: Slack did not say which channel this menu is in; try `/scale chart` there instead. Nothing was posted.';
      // Two choices of the same trigger in the same half minute post one chart.
      const answer = await postChannelChart(commands.charts, commands, { trigger, channel, rangeName: 'default', windowSeconds: null, user, slotMs: 30_000 });
      return answer.text;
    },
    deps,
  );
}
