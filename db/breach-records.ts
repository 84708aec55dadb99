import type { BreachReading, NewBreach } from '../core/storage/breaches.ts';

// What both dialects' breaches stores write for a breach (db/sqlite/breaches.ts, db/postgres/breaches.ts): the
// queries differ, the values do not. The caller's labels and detail are copied, so no row shares them.

/** A new breach's values (the store adds its status). */
export function newBreachValues(breach: NewBreach): NewBreach & { labels: Record<string, string>; detail: Record<string, unknown> } {
  return { ...breach, labels: { ...breach.labels }, detail: { ...breach.detail } };
}

/** What a new reading changes of an open breach: the fields it brings, nothing else. */
export function readingPatch({ detail, ...reading }: BreachReading): Omit<BreachReading, 'detail'> & { detail?: Record<string, unknown> } {
  return { ...reading, ...(detail ? { detail: { ...detail } } : {}) };
}

/** What resolving a breach writes; the last value only when the resolution brings one (an alert may not). */
export function resolvedPatch(at: Date, lastValue: string | null | undefined): { status: 'resolved'; resolvedAt: Date; lastValue?: string | null } {
  return { status: 'resolved', resolvedAt: at, ...(lastValue !== undefined ? { lastValue } : {}) };
}
