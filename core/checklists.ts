/**
 * The checklist state machine: a checklist's items, the append-only history of ticks and unticks of one run,
 * the state derived from it, and what a click does to it. Plain data and plain functions; no I/O, no clock.
 */

/** What an item can do besides being ticked by hand. */
export type ChecklistItemAction =
  /** "Review current metrics": posts a /scale status snapshot in the run's thread and ticks the item. */
  | { readonly kind: 'status_snapshot' }
  /** "Create full backup": offers to start that runbook; ticked when a run of it succeeds. */
  | { readonly kind: 'runbook'; readonly runbook: string };

export interface ChecklistItem {
  /** Stable within its checklist: buttons and the tick history refer to items by this id. */
  readonly id: string;
  readonly text: string;
  /** Items of one section are shown together under its heading, in the order the section first appears. */
  readonly section?: string;
  /** A second line under the item: a command to run, a hint. Slack mrkdwn. */
  readonly detail?: string;
  readonly action?: ChecklistItemAction;
  /**
   * Doing this item cannot be undone (the guide's database failover "test" promotes a replica for good): the
   * message marks it and asks before it is ticked or its runbook started. Absent: an ordinary item.
   */
  readonly destructive?: true;
}

export interface Checklist {
  readonly id: string;
  readonly title: string;
  readonly description?: string;
  readonly items: readonly ChecklistItem[];
  /** Slack user ids (U…) and user group ids (S…) allowed to tick, close and abandon; empty: anyone. */
  readonly responders: readonly string[];
}

export const TICK_ACTIONS = ['tick', 'untick'] as const;
export type TickAction = (typeof TICK_ACTIONS)[number];
export const TICK_SOURCES = ['click', 'status_snapshot', 'runbook'] as const;
export type TickSource = (typeof TICK_SOURCES)[number];

/** One row of a run's history. */
export interface TickEvent {
  readonly itemId: string;
  readonly action: TickAction;
  readonly actor: string;
  readonly at: Date;
  readonly source: TickSource;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface ItemState {
  readonly item: ChecklistItem;
  readonly ticked: boolean;
  /** Who ticked it and when (the latest tick), while it is ticked. */
  readonly by?: string;
  readonly at?: Date;
  readonly source?: TickSource;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export const RUN_STATUSES = ['open', 'completed', 'closed', 'abandoned'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The current state of every item, in the checklist's order, replayed from the history (oldest first). */
export function deriveItemStates(items: readonly ChecklistItem[], events: readonly TickEvent[]): ItemState[] {
  const latest = new Map<string, TickEvent>();
  for (const event of events) latest.set(event.itemId, event);
  return items.map((item) => {
    const event = latest.get(item.id);
    if (!event || event.action === 'untick') return { item, ticked: false };
    return {
      item,
      ticked: true,
      by: event.actor,
      at: event.at,
      source: event.source,
      ...(event.detail ? { detail: event.detail } : {}),
    };
  });
}

export interface Progress {
  readonly done: number;
  readonly total: number;
}

export function progressOf(states: readonly ItemState[]): Progress {
  return { done: states.filter((state) => state.ticked).length, total: states.length };
}

export function isComplete(states: readonly ItemState[]): boolean {
  return states.length > 0 && states.every((state) => state.ticked);
}

export type TogglePlan =
  | { readonly kind: 'apply'; readonly action: TickAction }
  | { readonly kind: 'unchanged'; readonly state: ItemState }
  | { readonly kind: 'unknown_item' };

/**
 * What a click means. The button carries the action its clicker saw ("tick" on an open item, "untick" on a
 * ticked one), so a click on a stale copy of the message never undoes what someone else did in between:
 * "tick" on an item that is already ticked changes nothing.
 */
export function planToggle(states: readonly ItemState[], itemId: string, intended: TickAction): TogglePlan {
  const state = states.find((candidate) => candidate.item.id === itemId);
  if (!state) return { kind: 'unknown_item' };
  if (state.ticked === (intended === 'tick')) return { kind: 'unchanged', state };
  return { kind: 'apply', action: intended };
}

/** Closing a run whose every item is ticked completes it; with items open it is only closed. */
export function closingStatus(states: readonly ItemState[]): Extract<RunStatus, 'completed' | 'closed'> {
  return isComplete(states) ? 'completed' : 'closed';
}

export interface SectionGroup {
  /** Absent for items listed without a section. */
  readonly section?: string;
  readonly states: readonly ItemState[];
}

/** Items grouped by section, sections in order of first appearance, items in checklist order within each. */
export function groupBySection(states: readonly ItemState[]): SectionGroup[] {
  const groups: Array<{ section?: string; states: ItemState[] }> = [];
  for (const state of states) {
    const section = state.item.section;
    let group = groups.find((candidate) => candidate.section === section);
    if (!group) {
      group = { ...(section !== undefined ? { section } : {}), states: [] };
      groups.push(group);
    }
    group.states.push(state);
  }
  return groups;
}

export interface RunSummary {
  readonly done: number;
  readonly total: number;
  readonly durationSeconds: number;
  /** Ticked items with who and when, in checklist order. */
  readonly ticked: ReadonlyArray<{ readonly itemId: string; readonly text: string; readonly by: string; readonly at: string; readonly source: TickSource }>;
  /** Items left open when the run ended. */
  readonly open: ReadonlyArray<{ readonly itemId: string; readonly text: string }>;
  /** Items each person ticked (of those still ticked at the end), most first. */
  readonly byPerson: ReadonlyArray<{ readonly user: string; readonly items: number }>;
  /** Every tick and untick of the run. */
  readonly changes: number;
}

/** Who did what and how long it took: the summary a finished run posts and the decision log keeps. */
export function summarizeRun(states: readonly ItemState[], events: readonly TickEvent[], startedAt: Date, endedAt: Date): RunSummary {
  const ticked = states.filter((state) => state.ticked);
  const counts = new Map<string, number>();
  for (const state of ticked) counts.set(state.by!, (counts.get(state.by!) ?? 0) + 1);
  return {
    done: ticked.length,
    total: states.length,
    durationSeconds: Math.max(0, Math.round((endedAt.getTime() - startedAt.getTime()) / 1000)),
    ticked: ticked.map((state) => ({
      itemId: state.item.id,
      text: state.item.text,
      by: state.by!,
      at: state.at!.toISOString(),
      source: state.source!,
    })),
    open: states.filter((state) => !state.ticked).map((state) => ({ itemId: state.item.id, text: state.item.text })),
    byPerson: [...counts.entries()].map(([user, items]) => ({ user, items })).sort((a, b) => b.items - a.items || a.user.localeCompare(b.user)),
    changes: events.length,
  };
}

/** Items whose action is this runbook and that are not ticked yet: what a successful run of it ticks. */
export function itemsForRunbook(states: readonly ItemState[], runbookId: string): ChecklistItem[] {
  return states.filter((state) => !state.ticked && state.item.action?.kind === 'runbook' && state.item.action.runbook === runbookId).map((state) => state.item);
}

/**
 * What a run keeps of its checklist: the items and their wording as they were when it started, so a run's
 * buttons keep working (and mean the same items) after the config changes or the bot restarts. Who may tick
 * is read from the config while the checklist is still configured; `responders` here is the fallback once it
 * is not.
 */
export interface ChecklistSnapshot {
  title: string;
  description?: string;
  responders?: string[];
  items: Array<{
    id: string;
    text: string;
    section?: string;
    detail?: string;
    action?: { kind: 'status_snapshot' } | { kind: 'runbook'; runbook: string };
    destructive?: true;
  }>;
}

/** The outbox key of a run's message; its thread replies are keyed under it. */
export function runMessageKey(runId: number): string {
  return `checklist:${runId}`;
}

export type EndedStatus = Exclude<RunStatus, 'open'>;

/** What a click (or a runbook's success) asks of a run. */
export type RunCommand =
  | { readonly kind: 'toggle'; readonly itemId: string; readonly intended: TickAction }
  /** `readable`: the metrics could be read. A snapshot without them is kept in the thread, but ticks nothing. */
  | { readonly kind: 'snapshot'; readonly itemId: string; readonly readable: boolean }
  /** `complete`: "Complete run" as the clicker saw it; `close`: closing with items open, confirmed. */
  | { readonly kind: 'end'; readonly how: 'complete' | 'close' | 'abandon' }
  | { readonly kind: 'runbook_succeeded'; readonly runbookId: string };

export type RunTransition =
  /** Write these ticks (possibly none: a note in the thread) and end the run when `end` says so. */
  | { readonly kind: 'apply'; readonly ticks: ReadonlyArray<{ readonly itemId: string; readonly action: TickAction }>; readonly end?: EndedStatus }
  | { readonly kind: 'ended'; readonly status: EndedStatus }
  | { readonly kind: 'unknown_item' }
  /** The clicker's copy was stale: the item is already as they wanted it. */
  | { readonly kind: 'unchanged'; readonly state: ItemState }
  /** "Complete run" on a copy that showed every item ticked, while some are open now. */
  | { readonly kind: 'incomplete'; readonly open: readonly ItemState[] }
  /** A runbook succeeded, but no open item of this run names it. */
  | { readonly kind: 'nothing_to_tick' };

/**
 * The one transition function of a checklist run: every click and every runbook success is decided here,
 * against the run's status and its items' state as they stand. An ended run changes no more.
 */
export function transition(run: { readonly status: RunStatus; readonly states: readonly ItemState[] }, command: RunCommand): RunTransition {
  if (run.status !== 'open') return { kind: 'ended', status: run.status };
  switch (command.kind) {
    case 'toggle': {
      const plan = planToggle(run.states, command.itemId, command.intended);
      if (plan.kind !== 'apply') return plan;
      return { kind: 'apply', ticks: [{ itemId: command.itemId, action: plan.action }] };
    }
    case 'snapshot': {
      const state = run.states.find((candidate) => candidate.item.id === command.itemId);
      if (!state) return { kind: 'unknown_item' };
      if (!command.readable) return { kind: 'apply', ticks: [] };
      if (state.ticked) return { kind: 'unchanged', state };
      return { kind: 'apply', ticks: [{ itemId: command.itemId, action: 'tick' }] };
    }
    case 'end': {
      if (command.how === 'abandon') return { kind: 'apply', ticks: [], end: 'abandoned' };
      const status = closingStatus(run.states);
      if (command.how === 'complete' && status !== 'completed') return { kind: 'incomplete', open: run.states.filter((state) => !state.ticked) };
      return { kind: 'apply', ticks: [], end: status };
    }
    case 'runbook_succeeded': {
      const items = itemsForRunbook(run.states, command.runbookId);
      if (items.length === 0) return { kind: 'nothing_to_tick' };
      return { kind: 'apply', ticks: items.map((item) => ({ itemId: item.id, action: 'tick' as const })) };
    }
  }
}

/** A runbook that requires a checklist runs only if that checklist was completed this recently. */
export const CHECKLIST_GATE_MAX_AGE_SECONDS = 7 * 24 * 3600;

export type GateVerdict =
  | { readonly kind: 'no_run' }
  | { readonly kind: 'open'; readonly done: number; readonly total: number }
  | { readonly kind: 'closed' }
  | { readonly kind: 'too_old'; readonly completedAt: Date }
  | { readonly kind: 'complete'; readonly completedAt: Date };

/**
 * For runbooks with `requires_checklist`: complete when the latest run of that checklist (abandoned ones left
 * out) was completed, within the last seven days. An open or closed-with-items-open run holds the runbook back.
 */
export function judgeChecklistGate(
  latest: { readonly status: RunStatus; readonly endedAt: Date | null; readonly states: readonly ItemState[] } | undefined,
  now: Date,
): GateVerdict {
  if (!latest) return { kind: 'no_run' };
  if (latest.status === 'open') return { kind: 'open', ...progressOf(latest.states) };
  if (latest.status !== 'completed' || !latest.endedAt) return { kind: 'closed' };
  if (now.getTime() - latest.endedAt.getTime() > CHECKLIST_GATE_MAX_AGE_SECONDS * 1000) return { kind: 'too_old', completedAt: latest.endedAt };
  return { kind: 'complete', completedAt: latest.endedAt };
}
