import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewBreach } from '../../core/storage/breaches.ts';
import { breachMessageKey } from '../../core/watch.ts';
import { listDecisions } from '../../db/decision-log.ts';
import { getMessageByKey } from '../../db/outbox.ts';
import { openSqliteStorage, type SqliteStorage } from '../../db/storage.ts';
import { editMessage, postMessage } from '../../services/outbox.ts';

const AT = new Date('2026-11-28T10:00:00Z');
const CHANNEL = 'C0ALERTS';

function newBreach(key: string): NewBreach {
  return {
    key,
    source: 'watcher',
    triggerId: 'load',
    name: 'Load',
    severity: 'immediate',
    labels: {},
    openedAt: AT,
    breachedSince: AT,
    lastValue: '0.9',
    lastSeenAt: AT,
    detail: {},
  };
}

const announce = (breach: { id: number; messageId: number | null }) => ({
  decisions: [{ at: AT, kind: 'breach_opened', actor: 'test', subject: String(breach.id) }],
  messages: [
    breach.messageId ? editMessage(breachMessageKey(breach.id), { text: 'again' }) : postMessage(breachMessageKey(breach.id), CHANNEL, { text: 'new' }, AT),
  ],
});

let storage: SqliteStorage;
beforeEach(() => {
  storage = openSqliteStorage(':memory:');
});
afterEach(async () => {
  await storage.close();
});

describe('the SQLite breach store', () => {
  it('opens one breach per key, with its decision and message in the same transaction, and points it at its message', async () => {
    const opened = await storage.breaches.open(newBreach('k'), announce);
    expect(opened).toBeDefined();
    expect(opened!.messageId).toBe(getMessageByKey(storage.handle.db, breachMessageKey(opened!.id))!.id);
    expect(await storage.breaches.open(newBreach('k'), announce)).toBeUndefined();
    expect(listDecisions(storage.handle.db, { kinds: ['breach_opened'] })).toHaveLength(1);
  });

  it('acknowledges once: a second acknowledgement and any change to a resolved breach write nothing', async () => {
    const opened = (await storage.breaches.open(newBreach('k'), announce))!;
    expect((await storage.breaches.acknowledge(opened.id, 'U1', AT, () => ({})))?.ackedBy).toBe('U1');
    expect(await storage.breaches.acknowledge(opened.id, 'U2', AT, announce)).toBeUndefined();
    expect((await storage.breaches.get(opened.id))!.ackedBy).toBe('U1');
    expect(await storage.breaches.resolve(opened.id, { at: AT }, () => ({}))).toMatchObject({ status: 'resolved', lastValue: '0.9' });
    expect(await storage.breaches.snooze(opened.id, 'U1', AT, announce)).toBeUndefined();
    expect(await storage.breaches.resolve(opened.id, { at: AT }, announce)).toBeUndefined();
    expect(listDecisions(storage.handle.db, { kinds: ['breach_opened'] })).toHaveLength(1);
  });

  it('applies a whole Alertmanager request or none of it', async () => {
    const firing = (key: string) => ({
      status: 'firing' as const,
      key,
      open: { ...newBreach(key), source: 'alertmanager' as const },
      refresh: { lastSeenAt: AT },
    });
    await expect(
      storage.breaches.applyAlerts([firing('a'), firing('b')], (outcome) => {
        if (outcome.kind !== 'ignored' && outcome.breach.key === 'b') throw new Error('fails part way');
        return {};
      }),
    ).rejects.toThrow('fails part way');
    expect(await storage.breaches.listOpen()).toEqual([]);
    const outcomes = await storage.breaches.applyAlerts([firing('a'), firing('a'), { status: 'resolved', key: 'gone', at: AT }], () => ({}));
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['opened', 'updated', 'ignored']);
  });

  it('keeps one open blind period, ended once', async () => {
    const period = (await storage.breaches.openBlindPeriod(AT, 'down', () => ({})))!;
    expect(await storage.breaches.openBlindPeriod(AT, 'down again', () => ({}))).toBeUndefined();
    expect((await storage.breaches.endBlindPeriod(period.id, AT, () => ({})))?.endedAt).toEqual(AT);
    expect(await storage.breaches.endBlindPeriod(period.id, AT, () => ({}))).toBeUndefined();
    expect(await storage.breaches.findOpenBlindPeriod()).toBeUndefined();
  });
});
