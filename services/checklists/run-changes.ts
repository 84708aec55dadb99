import { deriveItemStates, runMessageKey, type ChecklistItem } from '../../core/checklists.ts';
import type { EffectsOf, MessageWrite } from '../../core/storage/effects.ts';
import type { ChangedRun, ChecklistRunState, ChecklistStore, RunChange } from '../../core/storage/checklists.ts';
import { buildChecklistMessage, type ChecklistMessageOptions, type ChecklistRunView } from '../../blocks/checklist.ts';
import type { Block } from '../../blocks/types.ts';
import { editMessage, payloadOf, replyInThread as outboxReply } from '../outbox.ts';

/** A run as its message shows it: the run's record and its items' state replayed from the history. */
export function viewOf({ run, ticks }: Pick<ChecklistRunState, 'run' | 'ticks'>): ChecklistRunView {
  const items = run.definition.items as ChecklistItem[];
  return {
    id: run.id,
    checklistId: run.checklistId,
    title: run.definition.title,
    ...(run.definition.description ? { description: run.definition.description } : {}),
    name: run.name,
    status: run.status,
    startedBy: run.startedBy,
    startedAt: run.startedAt,
    endedBy: run.endedBy,
    endedAt: run.endedAt,
    states: deriveItemStates(items, ticks),
  };
}

/** The message's new content, from the stored state; the outbox turns it into chat.update. */
export function renderRun(state: ChecklistRunState, options: ChecklistMessageOptions, view: ChecklistRunView = viewOf(state)): MessageWrite[] {
  if (!state.message) return [];
  const message = buildChecklistMessage(view, options);
  return [editMessage(runMessageKey(state.run.id), payloadOf(message))];
}

/** A reply in the run's thread, once per `key`. */
export function replyInThread(state: ChecklistRunState, key: string, text: string, blocks: readonly Block[] | undefined, at: Date): MessageWrite[] {
  if (!state.message) return [];
  const parentKey = runMessageKey(state.run.id);
  return [outboxReply(parentKey, `${parentKey}:${key}`, state.run.channel, { text, ...(blocks ? { blocks: [...blocks] } : {}) }, at)];
}

/** What a decision on a run comes to: an answer without a write, or a guarded write with its effects. */
export type Decided<R> =
  | { readonly answer: R }
  | { readonly write: Omit<RunChange, 'runId' | 'seenTicks'>; readonly effects: EffectsOf<ChangedRun>; readonly afterWrite: (changed: ChangedRun) => R };

/** Each failed guard means someone else changed the run meanwhile; this many in a row is more than a burst of clicks. */
const MAX_DECISIONS = 50;

/**
 * Decides on a run as it is stored and applies the decision as a compare-and-set: when the run changed
 * between the read and the write (another click, a runbook's tick), it is read and decided again, so every
 * change is decided against the history as it stands when it is written. Undefined when the run is not
 * there, or kept changing under us.
 */
export async function changeRun<R>(store: ChecklistStore, runId: number, decide: (state: ChecklistRunState) => Decided<R>): Promise<R | undefined> {
  for (let attempt = 0; attempt < MAX_DECISIONS; attempt += 1) {
    const state = await store.get(runId);
    if (!state) return undefined;
    const decided = decide(state);
    if ('answer' in decided) return decided.answer;
    const changed = await store.change({ runId, seenTicks: state.ticks.length, ...decided.write }, decided.effects);
    if (changed) return decided.afterWrite(changed);
  }
  return undefined;
}
