import type { Logger } from 'pino';
import type { Config } from '../core/config/index.ts';
import type { Clock, LeaderGate, PrometheusPort, SshPort, Storage } from '../core/ports.ts';
import { createChecklistRunbookPort, createChecklistRuns, type ChecklistRuns } from './checklists/index.ts';
import type { OutboxDeliverer } from './outbox.ts';
import { createRunbookRunner, type RunbookRunner } from './runbooks/index.ts';

export interface RunbooksAndChecklistsDeps {
  readonly storage: Storage;
  readonly config: Config;
  readonly prometheus: Pick<PrometheusPort, 'judgeTriggers'>;
  readonly ssh: SshPort;
  readonly deliver: OutboxDeliverer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly isAllowed: (user: string, allowed: readonly string[]) => Promise<boolean>;
  /** Which replica runs steps (services/leadership.ts); default: this process is the only one. */
  readonly leader?: LeaderGate;
  /** The SSH connection's timeout (a step starts only while the lease outlasts it). */
  readonly sshConnectTimeoutMs?: number;
}

export interface RunbooksAndChecklists {
  readonly runbooks: RunbookRunner;
  readonly checklists: ChecklistRuns;
  /** When a checklist was last completed, or null (the advisor counts the optimization checklist as "optimized"). */
  readonly checklistCompletedAt: (checklistId: string) => Promise<Date | null>;
}

/**
 * Checklists and runbooks know each other: an item can start its runbook and is ticked when a run of it
 * succeeds; a runbook can require a completed checklist. Wired here once, for the bot (bot/main.ts) and for
 * the tests that build the services without Slack (tests/helpers/command-deps.ts).
 */
export function createRunbooksAndChecklists(deps: RunbooksAndChecklistsDeps): RunbooksAndChecklists {
  const { storage, config, prometheus, ssh, deliver, clock, logger, isAllowed, leader, sshConnectTimeoutMs } = deps;
  // The port reads `runbooks` only when an item's button is clicked, once both exist.
  const checklists = createChecklistRuns({
    storage,
    config,
    prometheus,
    clock,
    logger,
    deliver,
    isAllowed,
    runbooks: createChecklistRunbookPort(config, () => runbooks),
    onCompleted: (checklistId) => runbooks.checklistCompleted(checklistId),
  });
  const runbooks: RunbookRunner = createRunbookRunner({
    storage,
    config,
    ssh,
    prometheus,
    deliver,
    clock,
    logger,
    isAllowed,
    ...(leader ? { leader } : {}),
    ...(sshConnectTimeoutMs !== undefined ? { sshConnectTimeoutMs } : {}),
    checklistGate: checklists.gate,
    onSucceeded: (run) => checklists.tickItemsForRunbook({ runbookId: run.runbookId, user: run.requester, detail: { runbook_run_id: run.id } }),
  });
  const checklistCompletedAt = async (checklistId: string) => (await storage.checklists.lastCompleted(checklistId))?.completedAt ?? null;
  return { runbooks, checklists, checklistCompletedAt };
}
