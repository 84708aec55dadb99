import { advise } from './advise.ts';
import { alerts } from './alerts.ts';
import { chart } from './chart.ts';
import { checklist } from './checklist.ts';
import { cost } from './cost.ts';
import { createHelp } from './help.ts';
import { history } from './history.ts';
import { run } from './run.ts';
import { runbooks } from './runbooks.ts';
import { plan } from './plan.ts';
import { status } from './status.ts';
import { unlock } from './unlock.ts';
import type { Subcommand } from './types.ts';

/**
 * Every `/scale` subcommand. Help, routing and the manifest check are generated from this list: a new
 * subcommand is one module, one line here, and its test.
 */
export const SUBCOMMANDS: readonly Subcommand[] = [
  status,
  chart,
  advise,
  plan,
  cost,
  alerts,
  checklist,
  runbooks,
  run,
  history,
  unlock,
  createHelp(() => SUBCOMMANDS),
];

export function findSubcommand(name: string, subcommands: readonly Subcommand[] = SUBCOMMANDS): Subcommand | undefined {
  return subcommands.find((sub) => sub.name === name.toLowerCase());
}
