import type { AlertOutcome, BreachStore } from '../../core/storage/breaches.ts';
import type { Effects } from '../../core/storage/effects.ts';
import { blindMessageKey, breachMessageKey } from '../../core/watch.ts';
import {
  endBlindPeriod,
  findOpenBreach,
  getBreach,
  getOpenBlindPeriod,
  listBreachesResolvedSince,
  listOpenBreaches,
  openBlindPeriod,
  openBreach,
  updateBlindPeriod,
  updateBreach,
  updateOpenBreach,
  type BlindPeriodRow,
  type BreachRow,
} from '../breaches.ts';
import { newBreachValues, readingPatch, resolvedPatch } from '../breach-records.ts';
import { inTransaction, type Db } from '../client.ts';
import { getMessageByKey } from '../outbox.ts';
import { applyEffects } from './effects.ts';

/**
 * Applies a breach write's effects, then points the breach at its message if they queued it: the breach's
 * message is the one keyed breachMessageKey(id), and the row keeps its id for the `/scale alerts` link and for
 * the watcher to know whether there is a thread to reply in.
 */
function applyBreachEffects(db: Db, breach: BreachRow, effects: Effects): BreachRow {
  applyEffects(db, effects);
  if (breach.messageId !== null) return breach;
  const message = getMessageByKey(db, breachMessageKey(breach.id));
  return message ? updateBreach(db, breach.id, { messageId: message.id }) : breach;
}

function applyBlindEffects(db: Db, period: BlindPeriodRow, effects: Effects): BlindPeriodRow {
  applyEffects(db, effects);
  if (period.outboxId !== null) return period;
  const message = getMessageByKey(db, blindMessageKey(period.id));
  return message ? updateBlindPeriod(db, period.id, { outboxId: message.id }) : period;
}

/** The SQLite implementation of the breaches store: each method that writes several rows is one transaction. */
export function createSqliteBreachStore(db: Db): BreachStore {
  /** One guarded write and its effects, in one transaction; undefined (nothing written) when the guard fails. */
  const write = (change: () => BreachRow | undefined, effects: (row: BreachRow) => Effects) =>
    inTransaction(db, () => {
      const row = change();
      return row ? applyBreachEffects(db, row, effects(row)) : undefined;
    });

  return {
    get: async (id) => getBreach(db, id),
    findOpen: async (key) => findOpenBreach(db, key),
    listOpen: async () => listOpenBreaches(db),
    listResolvedSince: async (at) => listBreachesResolvedSince(db, at),
    open: async (breach, effects) =>
      write(() => {
        const { breach: row, created } = openBreach(db, newBreachValues(breach));
        return created ? row : undefined;
      }, effects),
    refresh: async (id, reading, effects) => write(() => updateOpenBreach(db, id, readingPatch(reading)), effects),
    resolve: async (id, { at, lastValue }, effects) => write(() => updateOpenBreach(db, id, resolvedPatch(at, lastValue)), effects),
    remind: async (id, at, effects) => write(() => updateOpenBreach(db, id, { lastReminderAt: at }), effects),
    acknowledge: async (id, user, at, effects) => write(() => updateOpenBreach(db, id, { ackedBy: user, ackedAt: at }, { unacknowledged: true }), effects),
    snooze: async (id, user, until, effects) => write(() => updateOpenBreach(db, id, { snoozedBy: user, snoozedUntil: until }), effects),
    applyAlerts: async (changes, effects) =>
      inTransaction(db, () =>
        changes.map((change): AlertOutcome => {
          const existing = findOpenBreach(db, change.key);
          let outcome: AlertOutcome;
          if (change.status === 'resolved') {
            if (!existing) return { kind: 'ignored', change };
            const row = updateOpenBreach(db, existing.id, resolvedPatch(change.at, change.lastValue))!;
            outcome = { kind: 'resolved', change, breach: row };
          } else if (existing) {
            const row = updateOpenBreach(db, existing.id, readingPatch(change.refresh))!;
            outcome = { kind: 'updated', change, breach: row };
          } else {
            const { breach: row } = openBreach(db, newBreachValues(change.open));
            outcome = { kind: 'opened', change, breach: row };
          }
          return { ...outcome, breach: applyBreachEffects(db, outcome.breach, effects(outcome)) };
        }),
      ),
    findOpenBlindPeriod: async () => getOpenBlindPeriod(db),
    openBlindPeriod: async (at, reason, effects) =>
      inTransaction(db, () => {
        if (getOpenBlindPeriod(db)) return undefined;
        const period = openBlindPeriod(db, at, reason);
        return applyBlindEffects(db, period, effects(period));
      }),
    endBlindPeriod: async (id, at, effects) =>
      inTransaction(db, () => {
        const period = endBlindPeriod(db, id, at);
        return period ? applyBlindEffects(db, period, effects(period)) : undefined;
      }),
  };
}
