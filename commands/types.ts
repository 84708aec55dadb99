import { UserError } from '../core/user-error.ts';
import type { Logger } from 'pino';
import type { Reply } from '../blocks/types.ts';
import type { ChecklistRuns } from '../services/checklists/runs.ts';
import type { Config } from '../core/config/index.ts';
import type { Clock, PrometheusPort, Storage } from '../core/ports.ts';
import type { ChartPoster } from '../services/charts.ts';
import type { RunbookRunner } from '../services/runbooks/index.ts';

/** What every subcommand may use. Built once in bot/main.ts; tests build theirs with tests/helpers/command-deps.ts. */
export interface CommandDeps {
  readonly config: Config;
  readonly prometheus: PrometheusPort;
  readonly storage: Storage;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Runbook requests and unlocks. */
  readonly runbooks: RunbookRunner;
  /**
   * When the checklist with this id was last completed, or null. The advisor counts the optimization
   * checklist as "optimized first: yes".
   */
  readonly checklistCompletedAt: (checklistId: string) => Promise<Date | null>;
  /** Checklist runs: start, clicks, what a runbook's success ticks (services/checklists/runs.ts). */
  readonly checklists: ChecklistRuns;
  /** Charts posted to Slack (`/scale chart`, the Chart buttons); none: charts are off. */
  readonly charts?: ChartPoster;
}

export interface CommandContext {
  readonly args: readonly string[];
  readonly user: string;
  readonly channel: string;
  readonly deps: CommandDeps;
  respond(reply: Reply): Promise<void>;
}

export interface Subcommand {
  readonly name: string;
  /** How to call it, as help shows it: "status". */
  readonly usage: string;
  readonly summary: string;
  // biome-ignore lint/suspicious/noConfusingVoidType: a subcommand with nothing to add to its decision row returns nothing
  run(context: CommandContext): Promise<CommandOutcome | void>;
}

/** What the decision log records as the outcome of a command, beyond "ok". */
export interface CommandOutcome {
  readonly outcome?: string;
  readonly detail?: Record<string, unknown>;
}

/** The user typed something we cannot act on: the message says what to type instead (shown with the help). */
export class UsageError extends UserError {}
