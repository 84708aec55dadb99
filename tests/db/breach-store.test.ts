import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../core/ports.ts';
import type { NewBreach } from '../../core/storage/breaches.ts';
import { blindMessageKey, breachMessageKey } from '../../core/watch.ts';
import { editMessage, postMessage } from '../../services/outbox.ts';
import { DIALECTS, stopPostgres, storageFixture } from '../helpers/storages.ts';

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

afterAll(stopPostgres);

describe.each(DIALECTS)('the breach store on %s', (dialect) => {
  const fixture = storageFixture(dialect);
  let storage: Storage;
  beforeEach(async () => {
    storage = await fixture.open();
  });
  afterEach(() => fixture.closeAll());
  const decisionsOf = async (kind: string) => storage.decisions.list({ kinds: [kind] });

  it('opens one breach per key, with its decision and message in the same transaction, and points it at its message', async () => {
    const opened = await storage.breaches.open(newBreach('k'), announce);
    expect(opened).toBeDefined();
    expect(opened!.messageId).toBe((await storage.outbox.getByKey(breachMessageKey(opened!.id)))!.id);
    expect(await storage.breaches.open(newBreach('k'), announce)).toBeUndefined();
    expect(await decisionsOf('breach_opened')).toHaveLength(1);
    expect(await storage.breaches.findOpen('k')).toEqual(opened);
    expect(await storage.breaches.get(opened!.id)).toEqual(opened);
  });

  it('acknowledges once: a second acknowledgement and any change to a resolved breach write nothing', async () => {
    const opened = (await storage.breaches.open(newBreach('k'), announce))!;
    expect((await storage.breaches.acknowledge(opened.id, 'U1', AT, () => ({})))?.ackedBy).toBe('U1');
    expect(await storage.breaches.acknowledge(opened.id, 'U2', AT, announce)).toBeUndefined();
    expect((await storage.breaches.get(opened.id))!.ackedBy).toBe('U1');
    expect(await storage.breaches.resolve(opened.id, { at: AT }, () => ({}))).toMatchObject({ status: 'resolved', lastValue: '0.9' });
    expect(await storage.breaches.snooze(opened.id, 'U1', AT, announce)).toBeUndefined();
    expect(await storage.breaches.resolve(opened.id, { at: AT }, announce)).toBeUndefined();
    expect(await decisionsOf('breach_opened')).toHaveLength(1);
    // Resolved, the key is free: the next breach of it is a new one, with a message of its own.
    const next = (await storage.breaches.open(newBreach('k'), announce))!;
    expect(next.id).not.toBe(opened.id);
    expect(next.messageId).not.toBe(opened.messageId);
  });

  it('refreshes, reminds and snoozes an open breach, and edits its message through the effects', async () => {
    const opened = (await storage.breaches.open(newBreach('k'), announce))!;
    const later = new Date(AT.getTime() + 60_000);
    const refreshed = await storage.breaches.refresh(opened.id, { lastValue: '0.95', lastSeenAt: later, detail: { threshold: 0.8 } }, announce);
    expect(refreshed).toMatchObject({ lastValue: '0.95', lastSeenAt: later, detail: { threshold: 0.8 }, conditionFalseSince: null });
    expect(await storage.breaches.remind(opened.id, later, () => ({}))).toMatchObject({ lastReminderAt: later });
    expect(await storage.breaches.snooze(opened.id, 'U2', later, () => ({}))).toMatchObject({ snoozedBy: 'U2', snoozedUntil: later });
    expect((await storage.outbox.getByKey(breachMessageKey(opened.id)))?.payload).toEqual({ text: 'again' });
    expect((await storage.breaches.listOpen()).map((breach) => breach.id)).toEqual([opened.id]);
  });

  it('lists the breaches resolved since a moment, oldest first, and neither open ones nor ones resolved before it', async () => {
    const minute = (n: number) => new Date(AT.getTime() + n * 60_000);
    const early = (await storage.breaches.open(newBreach('early'), announce))!;
    const edge = (await storage.breaches.open(newBreach('edge'), announce))!;
    const late = (await storage.breaches.open(newBreach('late'), announce))!;
    await storage.breaches.open(newBreach('still-open'), announce);
    await storage.breaches.resolve(early.id, { at: minute(4) }, () => ({}));
    await storage.breaches.resolve(late.id, { at: minute(9) }, () => ({}));
    await storage.breaches.resolve(edge.id, { at: minute(5) }, () => ({}));
    expect((await storage.breaches.listResolvedSince(minute(5))).map((breach) => breach.key)).toEqual(['edge', 'late']);
    expect(await storage.breaches.listResolvedSince(minute(10))).toEqual([]);
    expect((await storage.breaches.listResolvedSince(minute(0)))[0]).toMatchObject({ key: 'early', status: 'resolved', resolvedAt: minute(4) });
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

  it("points a blind period at its notice when the effects queue one under the period's key", async () => {
    const notice = (period: { id: number }) => ({ messages: [postMessage(blindMessageKey(period.id), CHANNEL, { text: 'blind' }, AT)] });
    const period = (await storage.breaches.openBlindPeriod(AT, 'down', notice))!;
    expect(period.outboxId).toBe((await storage.outbox.getByKey(blindMessageKey(period.id)))!.id);
    expect(await storage.breaches.findOpenBlindPeriod()).toEqual(period);
  });
});
