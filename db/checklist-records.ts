import type { Checklist, ChecklistSnapshot, TickAction, TickSource } from '../core/checklists.ts';
import type { CompletedRunRecord, RunMessageRecord, TickRecord } from '../core/storage/checklists.ts';
import type { OutboxStatus } from '../core/storage/outbox.ts';

// How both dialects turn checklist rows into the port's records (core/storage/checklists.ts): the queries
// differ between db/checklists.ts and db/postgres/checklist-queries.ts, what they make of the rows does not.

/** What a run keeps of its checklist: the items and their wording as they were when it started. */
export function snapshotChecklist(checklist: Checklist): ChecklistSnapshot {
  return {
    title: checklist.title,
    ...(checklist.description ? { description: checklist.description } : {}),
    responders: [...checklist.responders],
    items: checklist.items.map((item) => ({
      id: item.id,
      text: item.text,
      ...(item.section ? { section: item.section } : {}),
      ...(item.detail ? { detail: item.detail } : {}),
      ...(item.action ? { action: { ...item.action } } : {}),
      ...(item.destructive ? { destructive: true as const } : {}),
    })),
  };
}

interface EventRow {
  readonly id: number;
  readonly itemId: string;
  readonly action: TickAction;
  readonly actor: string;
  readonly at: Date;
  readonly source: TickSource;
  readonly detail: Record<string, unknown>;
}

/** A tick as the state machine reads it: an empty detail is no detail. */
export function tickRecord(row: EventRow): TickRecord {
  return {
    id: row.id,
    itemId: row.itemId,
    action: row.action,
    actor: row.actor,
    at: row.at,
    source: row.source,
    ...(Object.keys(row.detail).length > 0 ? { detail: row.detail } : {}),
  };
}

/** Whether a run's checklist holds an item whose action is this runbook (a success of it ticks the item). */
export function holdsRunbookItem(definition: ChecklistSnapshot, runbookId: string): boolean {
  return definition.items.some((item) => item.action?.kind === 'runbook' && item.action.runbook === runbookId);
}

interface CompletedRunRow {
  readonly id: number;
  readonly checklistId: string;
  readonly name: string | null;
  readonly definition: ChecklistSnapshot;
  readonly channel: string;
  readonly startedBy: string;
  readonly startedAt: Date;
  readonly endedBy: string | null;
  readonly endedAt: Date | null;
}

/** A completed run's record; undefined for a row that lacks who or when (none is written so). */
export function completedRunRecord(row: CompletedRunRow | undefined): CompletedRunRecord | undefined {
  if (!row?.endedAt || !row.endedBy) return undefined;
  return {
    runId: row.id,
    checklistId: row.checklistId,
    name: row.name,
    title: row.definition.title,
    channel: row.channel,
    startedBy: row.startedBy,
    startedAt: row.startedAt,
    completedBy: row.endedBy,
    completedAt: row.endedAt,
  };
}

interface OutboxRow {
  readonly dedupeKey: string;
  readonly status: OutboxStatus;
  readonly ts: string | null;
  readonly lastError: string | null;
  readonly notBefore: Date | null;
}

/** A run's message as its state carries it. */
export function runMessageRecord(row: OutboxRow | undefined): RunMessageRecord | null {
  return row ? { key: row.dedupeKey, status: row.status, ts: row.ts, lastError: row.lastError, notBefore: row.notBefore } : null;
}
