import { buildStatusBlocks } from '../bot/blocks/status.ts';
import { collectStatus } from '../core/status.ts';
import { UsageError, type Subcommand } from './types.ts';

export const status = {
  name: 'status',
  usage: 'status',
  summary: 'Every scaling trigger of the guide, live from Prometheus, and whether to scale now',
  async run({ args, deps, respond }) {
    if (args.length > 0) throw new UsageError('`/scale status` takes no arguments.');
    const report = await collectStatus(deps.config.triggers, deps.prometheus, deps.clock(), deps.config.prometheus.lookbackSeconds);
    await respond({ ...buildStatusBlocks(report, { dashboardUrl: deps.config.grafana.dashboardUrl }), ephemeral: true });
    return { outcome: report.failure ? 'no_data' : report.verdict, detail: { verdict: report.verdict } };
  },
} as const satisfies Subcommand;
