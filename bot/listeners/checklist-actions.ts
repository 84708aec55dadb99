import type { App } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DecisionStore } from '../../core/storage/decisions.ts';
import { parseChecklistAction } from '../../blocks/checklist.ts';
import type { Db } from '../../db/client.ts';
import { createSqliteDecisionStore } from '../../db/sqlite/decisions.ts';
import type { ChecklistRuns } from '../../services/checklists/index.ts';
import { onAction } from './on-action.ts';

export type ChecklistActionDeps = {
  readonly checklists: ChecklistRuns;
  readonly logger: Logger;
  readonly clock: () => Date;
} & (
  | { readonly decisions: DecisionStore }
  /** Until bot/listeners/index.ts hands over the storage's decision store. */
  | { readonly db: Db }
);

/**
 * Every checklist button (action ids `checklist_…`, parsed by blocks/checklist.ts): the checklist runs
 * decide, and the clicker alone is told when nothing changed. The message itself is re-rendered with
 * chat.update from the stored state.
 */
export function registerChecklistActions(app: App, deps: ChecklistActionDeps): void {
  const decisions = 'decisions' in deps ? deps.decisions : createSqliteDecisionStore(deps.db);
  onAction(app, 'checklist_', parseChecklistAction, async (click) => (await deps.checklists.click(click)).message, {
    logger: deps.logger,
    decisions,
    clock: deps.clock,
  });
}
