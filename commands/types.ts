import { UserError } from '../core/user-error.ts';
import type { Logger } from 'pino';
import type { Message } from '../blocks/types.ts';
import type { ChecklistRuns } from '../services/checklists/runs.ts';
import type { Config } from '../core/config/index.ts';
import type { Db } from '../db/client.ts';
import type { RunbookRunner } from '../services/runbooks/index.ts';
import type { PrometheusPort } from '../integrations/prometheus.ts';

/** What every subcommand may use. Built once in bot/main.ts; tests build their own. */
export interface CommandDeps {
  readonly config: Config;
  readonly prometheus: PrometheusPort;
  readonly db: Db;
  readonly logger: Logger;
  readonly clock: () => Date;
  /** Runbook requests and unlocks; absent where no runner is wired (some tests). */
  readonly runbooks?: RunbookRunner;
  /**
   * When the checklist with this id was last completed, or null. The advisor counts the optimization
   * checklist as "optimized first: yes". Absent where checklists are not wired (some tests): nothing is ever completed.
   */
  readonly checklistCompletedAt?: (checklistId: string) => Date | null;
  /** Checklist runs: start, clicks, what a runbook's success ticks (services/checklists/runs.ts); absent where not wired (some tests). */
  readonly checklists?: ChecklistRuns;
}

export interface Reply extends Message {
  /** Only the person who typed the command sees it (the default). */
  readonly ephemeral?: boolean;
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
  run(context: CommandContext): Promise<CommandOutcome | void>;
}

/** What the decision log records as the outcome of a command, beyond "ok". */
export interface CommandOutcome {
  readonly outcome?: string;
  readonly detail?: Record<string, unknown>;
}

/** The user typed something we cannot act on: the message says what to type instead (shown with the help). */
export class UsageError extends UserError {}
