import type { App } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DecisionStore } from '../../core/storage/decisions.ts';
import { parseChecklistAction } from '../../blocks/checklist.ts';
import type { ChecklistRuns } from '../../services/checklists/index.ts';
import { onAction } from './on-action.ts';

export interface ChecklistActionDeps {
  readonly checklists: ChecklistRuns;
  readonly decisions: DecisionStore;
  readonly logger: Logger;
  readonly clock: () => Date;
}

/**
 * Every checklist button (action ids `checklist_…`, parsed by blocks/checklist.ts): the checklist runs
 * decide, and the clicker alone is told when nothing changed. The message itself is re-rendered with
 * chat.update from the stored state.
 */
export function registerChecklistActions(app: App, deps: ChecklistActionDeps): void {
  onAction(app, 'checklist_', parseChecklistAction, async (click) => (await deps.checklists.click(click)).message, deps);
}
