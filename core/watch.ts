import type { StatusReport } from './status.ts';
import type { Severity, TriggerResult } from './triggers.ts';

/** One series of one trigger, whatever order Prometheus returned the labels in. */
export function breachKey(triggerId: string, labels: Readonly<Record<string, string>>): string {
  const parts = Object.keys(labels)
    .filter((name) => name !== '__name__')
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`);
  return `${triggerId}{${parts.join(',')}}`;
}

/** What the watcher knows of an open breach, from the database. */
export interface OpenBreach {
  readonly id: number;
  readonly key: string;
  readonly triggerId: string;
  readonly severity: Severity;
  readonly openedAt: Date;
  readonly conditionFalseSince: Date | null;
  readonly ackedAt: Date | null;
  readonly snoozedUntil: Date | null;
  readonly lastReminderAt: Date | null;
}

export interface WatchTiming {
  /** The condition must be false this long before a breach resolves (a flapping metric does not re-open). */
  readonly resolveAfterSeconds: number;
  /** A reminder goes in the thread after this long, unless acknowledged or snoozed. */
  readonly repeatSeconds: Readonly<Record<Severity, number>>;
}

export interface CyclePlan {
  /** Prometheus could not be reached: nothing is opened or resolved. */
  readonly blind: boolean;
  readonly open: ReadonlyArray<{ key: string; result: TriggerResult; breachedSince: Date }>;
  /** Still breached (or over the threshold again): refresh the value, forget any "false since". */
  readonly holding: ReadonlyArray<{ breach: OpenBreach; result: TriggerResult }>;
  /** The condition is false, but not yet for resolve_after. */
  readonly clearing: ReadonlyArray<{ breach: OpenBreach; result: TriggerResult | null; falseSince: Date }>;
  readonly resolve: ReadonlyArray<{ breach: OpenBreach; result: TriggerResult | null; falseSince: Date }>;
  /** No data for the breach's trigger: it stays open, untouched. */
  readonly unknown: readonly OpenBreach[];
  readonly remind: readonly OpenBreach[];
}

/**
 * Decides what one watcher cycle does, from a status report and the open breaches; no I/O. A breach opens
 * when a series is breached (held for its whole `for`), and resolves only after its condition has been false
 * for resolve_after. "No data" never resolves anything: neither a blind Prometheus nor a failing query.
 */
export function planWatchCycle(
  report: StatusReport,
  openBreaches: readonly OpenBreach[],
  now: Date,
  timing: WatchTiming,
  /** Breaches of these sources are the watcher's to judge; others (Alertmanager) only get reminders. */
  isWatched: (breach: OpenBreach) => boolean = () => true,
  /**
   * The `when_present` triggers configured. Such a trigger answers an empty query with no result at all (not
   * "no data"): its series are gone, as a replica's lag is once the replica is removed, and its breaches clear.
   */
  whenPresent: ReadonlySet<string> = new Set(),
): CyclePlan {
  const remind = openBreaches.filter((breach) => isReminderDue(breach, now, timing));
  if (report.failure) {
    return { blind: true, open: [], holding: [], clearing: [], resolve: [], unknown: [...openBreaches], remind };
  }
  const resultsByKey = new Map<string, TriggerResult>();
  const noDataTriggers = new Set<string>();
  for (const result of report.results) {
    if (result.state === 'no_data') noDataTriggers.add(result.trigger.id);
    else resultsByKey.set(breachKey(result.trigger.id, result.labels), result);
  }
  const openKeys = new Set(openBreaches.map((breach) => breach.key));
  const open: Array<CyclePlan['open'][number]> = [];
  for (const [key, result] of resultsByKey) {
    if (result.state === 'breached' && !openKeys.has(key)) {
      open.push({ key, result, breachedSince: new Date(now.getTime() - result.heldSeconds * 1000) });
    }
  }
  const holding: Array<CyclePlan['holding'][number]> = [];
  const clearing: Array<CyclePlan['clearing'][number]> = [];
  const resolve: Array<CyclePlan['resolve'][number]> = [];
  const unknown: OpenBreach[] = [];
  for (const breach of openBreaches) {
    if (!isWatched(breach)) continue;
    const result = resultsByKey.get(breach.key) ?? null;
    const triggerAnswered = report.results.some((r) => r.trigger.id === breach.triggerId) || whenPresent.has(breach.triggerId);
    if (!result && (noDataTriggers.has(breach.triggerId) || !triggerAnswered)) {
      // The whole trigger has no data (or is no longer configured): we cannot say the condition is over.
      unknown.push(breach);
      continue;
    }
    // A series that is gone while its trigger still answers (the old server after a migration) is over.
    const conditionHolds = result !== null && (result.state === 'breached' || result.state === 'pending');
    if (conditionHolds) {
      holding.push({ breach, result });
      continue;
    }
    const falseSince = breach.conditionFalseSince ?? now;
    const falseForSeconds = (now.getTime() - falseSince.getTime()) / 1000;
    if (falseForSeconds >= timing.resolveAfterSeconds) resolve.push({ breach, result, falseSince });
    else clearing.push({ breach, result, falseSince });
  }
  const resolving = new Set(resolve.map(({ breach }) => breach.id));
  return { blind: false, open, holding, clearing, resolve, unknown, remind: remind.filter((breach) => !resolving.has(breach.id)) };
}

export function isReminderDue(breach: OpenBreach, now: Date, timing: WatchTiming): boolean {
  if (breach.ackedAt) return false;
  if (breach.snoozedUntil && breach.snoozedUntil > now) return false;
  // A snooze that has run out while the breach lasts is worth one reminder at once.
  if (breach.snoozedUntil && (!breach.lastReminderAt || breach.lastReminderAt < breach.snoozedUntil)) return true;
  const since = breach.lastReminderAt ?? breach.openedAt;
  return now.getTime() - since.getTime() >= timing.repeatSeconds[breach.severity] * 1000;
}

/** The outbox key of a breach's one message; its thread's replies are keyed under it. */
export function breachMessageKey(breachId: number): string {
  return `breach:${breachId}`;
}

/** The outbox key of a blind period's notice. */
export function blindMessageKey(periodId: number): string {
  return `blind:${periodId}`;
}

/** What a click on a breach's message asks for. */
export type BreachClick = { readonly kind: 'acknowledge' } | { readonly kind: 'snooze'; readonly seconds: number };

/** Why a click changes nothing; null when it may go ahead. */
export type BreachClickRefusal =
  | { readonly reason: 'snooze_not_offered' }
  | { readonly reason: 'no_breach' }
  | { readonly reason: 'resolved' }
  | { readonly reason: 'already_acknowledged'; readonly by: string };

/** Whether a click may change the breach as it is now (the store re-checks the state as it writes). */
export function judgeBreachClick(
  breach: (Pick<OpenBreach, 'id'> & { readonly status: 'open' | 'resolved'; readonly ackedBy: string | null }) | undefined,
  click: BreachClick,
  snoozeOptionsSeconds: readonly number[],
): BreachClickRefusal | null {
  if (click.kind === 'snooze' && !snoozeOptionsSeconds.includes(click.seconds)) return { reason: 'snooze_not_offered' };
  if (!breach) return { reason: 'no_breach' };
  if (breach.status !== 'open') return { reason: 'resolved' };
  if (click.kind === 'acknowledge' && breach.ackedBy) return { reason: 'already_acknowledged', by: breach.ackedBy };
  return null;
}
