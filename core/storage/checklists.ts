/** The checklists part of the storage port (core/ports.ts). Rows are plain records; db/sqlite/checklists.ts implements it. */
import type { Checklist, ChecklistSnapshot, EndedStatus, RunStatus, TickAction, TickEvent, TickSource } from '../checklists.ts';
import type { EffectsOf } from './effects.ts';

/** One run of a checklist, as stored. */
export interface ChecklistRunRecord {
  readonly id: number;
  readonly checklistId: string;
  /** The scaling operation the run belongs to: "move to CPX51". */
  readonly name: string | null;
  /** The checklist as it was when the run started. */
  readonly definition: ChecklistSnapshot;
  readonly channel: string;
  readonly status: RunStatus;
  readonly startedBy: string;
  readonly startedAt: Date;
  readonly endedBy: string | null;
  readonly endedAt: Date | null;
}

/** One tick or untick of a run's history, with its place in it. */
export interface TickRecord extends TickEvent {
  readonly id: number;
}

/** The run's message in the outbox (posted under `runMessageKey(run.id)`): whether and where Slack has it. */
export interface RunMessageRecord {
  readonly key: string;
  readonly status: 'pending' | 'sending' | 'sent' | 'failed';
  readonly ts: string | null;
  readonly lastError: string | null;
  /** When the outbox may try again (Slack's Retry-After, backoff). */
  readonly notBefore: Date | null;
}

/** A run with its history (oldest first) and its message: all a decision about it is made on. */
export interface ChecklistRunState {
  readonly run: ChecklistRunRecord;
  readonly ticks: readonly TickRecord[];
  readonly message: RunMessageRecord | null;
}

/** A run after a change, with the ticks the change appended. */
export interface ChangedRun extends ChecklistRunState {
  readonly appended: readonly TickRecord[];
}

export interface NewChecklistRun {
  readonly checklist: Checklist;
  readonly name: string | null;
  readonly channel: string;
  readonly startedBy: string;
  readonly startedAt: Date;
}

export interface NewTickRecord {
  readonly itemId: string;
  readonly action: TickAction;
  readonly actor: string;
  readonly at: Date;
  readonly source: TickSource;
  readonly detail?: Record<string, unknown>;
}

/**
 * A guarded change of an open run (core/checklists.ts `transition` decided it): applied only while the run is
 * still open and, when `seenTicks` is given, its history still has exactly that many ticks, i.e. nothing
 * happened to it since the decision was made.
 */
export interface RunChange {
  readonly runId: number;
  readonly seenTicks?: number;
  readonly ticks?: readonly NewTickRecord[];
  readonly end?: { readonly status: EndedStatus; readonly by: string; readonly at: Date };
}

export interface CompletedRunRecord {
  readonly runId: number;
  readonly checklistId: string;
  readonly name: string | null;
  readonly title: string;
  readonly channel: string;
  readonly startedBy: string;
  readonly startedAt: Date;
  readonly completedBy: string;
  readonly completedAt: Date;
}

export interface ChecklistStore {
  /**
   * Creates a run and writes its effects (its message, posted under `runMessageKey(id)`, and the decision row)
   * in one transaction; the run's message is the one posted under that key.
   */
  start(input: NewChecklistRun, effects: EffectsOf<ChecklistRunState>): Promise<ChecklistRunState>;
  get(runId: number): Promise<ChecklistRunState | undefined>;
  /**
   * Compare-and-set: appends the ticks, ends the run if asked, and writes the effects of the run as it is
   * then, in one transaction. Undefined, and nothing written, when the guard fails (the run ended or its
   * history moved on): the caller decides again on what is there now.
   */
  change(change: RunChange, effects: EffectsOf<ChangedRun>): Promise<ChangedRun | undefined>;
  /** Open runs, oldest first. */
  listOpen(): Promise<ChecklistRunState[]>;
  /** Runs that ended, the most recent first. */
  listEnded(limit: number): Promise<ChecklistRunState[]>;
  /** Ids of the open runs holding an item whose action is this runbook, oldest first; only among `runIds` when given. */
  listOpenWithRunbook(runbookId: string, runIds?: readonly number[]): Promise<number[]>;
  /** The most recent run of a checklist (by start), abandoned ones left out: the operation in progress, or the last one done. */
  latest(checklistId: string): Promise<ChecklistRunState | undefined>;
  /**
   * The most recent run of a checklist that was completed (closed with every item ticked). The advisor reads
   * it: "optimized first" is yes when the `optimize` checklist was completed.
   */
  lastCompleted(checklistId: string): Promise<CompletedRunRecord | undefined>;
}
