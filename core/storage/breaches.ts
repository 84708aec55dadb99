import type { Severity } from '../triggers.ts';
import type { EffectsOf } from './effects.ts';

export type BreachStatus = 'open' | 'resolved';
/** Who judges a breach: the watcher's own triggers, or Alertmanager (which says when it resolves). */
export type BreachSource = 'watcher' | 'alertmanager';

/** One breach as stored: one series of one trigger (or one Alertmanager alert) until it resolves. */
export interface BreachRecord {
  readonly id: number;
  readonly key: string;
  readonly source: BreachSource;
  readonly triggerId: string;
  readonly name: string;
  readonly severity: Severity;
  readonly labels: Readonly<Record<string, string>>;
  readonly status: BreachStatus;
  readonly openedAt: Date;
  /** When the condition started to hold. */
  readonly breachedSince: Date;
  readonly lastValue: string | null;
  readonly lastSeenAt: Date;
  /** Set while the condition is false; the breach resolves once this is resolve_after old. */
  readonly conditionFalseSince: Date | null;
  readonly resolvedAt: Date | null;
  readonly ackedBy: string | null;
  readonly ackedAt: Date | null;
  readonly snoozedBy: string | null;
  readonly snoozedUntil: Date | null;
  readonly lastReminderAt: Date | null;
  /** The outbox row of the breach's message (keyed `breachMessageKey(id)`, core/watch.ts); null until one is queued. */
  readonly messageId: number | null;
  /** Extra facts from the source (annotations, the trigger's threshold…), as shown on the message. */
  readonly detail: Readonly<Record<string, unknown>>;
}

/** What opening a breach writes; the rest of the record starts empty (open, unacknowledged, no message). */
export type NewBreach = Pick<
  BreachRecord,
  'key' | 'source' | 'triggerId' | 'name' | 'severity' | 'labels' | 'openedAt' | 'breachedSince' | 'lastValue' | 'lastSeenAt' | 'detail'
>;

/** What a new reading of an open breach changes (fields left out stay as they are). */
export interface BreachReading {
  readonly lastValue?: string | null;
  readonly lastSeenAt?: Date;
  readonly conditionFalseSince?: Date | null;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** A period when Prometheus could not be reached: one "monitoring is blind" message each. */
export interface BlindPeriodRecord {
  readonly id: number;
  readonly startedAt: Date;
  readonly endedAt: Date | null;
  readonly reason: string;
  /** The outbox row of its notice (keyed `blindMessageKey(id)`, core/watch.ts); null without one. */
  readonly outboxId: number | null;
}

/** One Alertmanager alert, applied by its key: firing opens a breach or refreshes the open one; resolved resolves it. */
export type AlertChange =
  | { readonly status: 'firing'; readonly key: string; readonly open: NewBreach; readonly refresh: BreachReading }
  | { readonly status: 'resolved'; readonly key: string; readonly at: Date; readonly lastValue?: string | null };

/** What an AlertChange did; `ignored` (with no breach) when a resolved alert had nothing open. */
export type AlertOutcome =
  | { readonly kind: 'opened' | 'updated' | 'resolved'; readonly change: AlertChange; readonly breach: BreachRecord }
  | { readonly kind: 'ignored'; readonly change: AlertChange };

/**
 * Breaches and blind periods. Every write is one transaction with its Effects (the decision row, the
 * message to post or edit), computed from the row just written. Writes to a breach are compare-and-set on
 * its state: undefined means it was not in the state the caller saw (resolved, acknowledged meanwhile).
 */
export interface BreachStore {
  get(id: number): Promise<BreachRecord | undefined>;
  findOpen(key: string): Promise<BreachRecord | undefined>;
  /** Oldest first. */
  listOpen(): Promise<BreachRecord[]>;
  /** Breaches resolved at or after `at`, oldest first (the watcher's catch-up of their resolved charts). */
  listResolvedSince(at: Date): Promise<BreachRecord[]>;
  /** Opens a breach; undefined (and no effects) when one is open for its key already. */
  open(breach: NewBreach, effects: EffectsOf<BreachRecord>): Promise<BreachRecord | undefined>;
  /** A new reading of an open breach. */
  refresh(id: number, reading: BreachReading, effects: EffectsOf<BreachRecord>): Promise<BreachRecord | undefined>;
  /** Resolves an open breach at `at`; `lastValue` left out keeps the last one. */
  resolve(
    id: number,
    resolution: { readonly at: Date; readonly lastValue?: string | null },
    effects: EffectsOf<BreachRecord>,
  ): Promise<BreachRecord | undefined>;
  /** Notes a reminder sent at `at` on an open breach. */
  remind(id: number, at: Date, effects: EffectsOf<BreachRecord>): Promise<BreachRecord | undefined>;
  /** Acknowledges an open breach nobody has acknowledged yet. */
  acknowledge(id: number, user: string, at: Date, effects: EffectsOf<BreachRecord>): Promise<BreachRecord | undefined>;
  /** Snoozes an open breach until `until`. */
  snooze(id: number, user: string, until: Date, effects: EffectsOf<BreachRecord>): Promise<BreachRecord | undefined>;
  /**
   * A whole Alertmanager request in one transaction, alert by alert in order: a failure part way applies
   * nothing (Alertmanager sends it again). Effects are computed per alert from what it did.
   */
  applyAlerts(changes: readonly AlertChange[], effects: EffectsOf<AlertOutcome>): Promise<AlertOutcome[]>;
  findOpenBlindPeriod(): Promise<BlindPeriodRecord | undefined>;
  /** Opens a blind period; undefined (and no effects) when one is open already. */
  openBlindPeriod(at: Date, reason: string, effects: EffectsOf<BlindPeriodRecord>): Promise<BlindPeriodRecord | undefined>;
  /** Ends the open blind period `id` at `at`; undefined when it has ended already. */
  endBlindPeriod(id: number, at: Date, effects: EffectsOf<BlindPeriodRecord>): Promise<BlindPeriodRecord | undefined>;
}
