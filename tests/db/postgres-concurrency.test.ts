import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../core/ports.ts';
import type { NewBreach } from '../../core/storage/breaches.ts';
import { breachMessageKey } from '../../core/watch.ts';
import { postMessage } from '../../services/outbox.ts';
import { stopPostgres, storageFixture } from '../helpers/storages.ts';

// Two replicas on one PostgreSQL database: two storages, two pools, writing the same thing at the same moment.
// Each round starts both writes together; whatever the interleaving, exactly one of them must win.

const ROUNDS = 60;
const AT = new Date('2026-11-28T10:00:00Z');

afterAll(stopPostgres);

const breach = (key: string): NewBreach => ({
  key,
  source: 'watcher',
  triggerId: 'load',
  name: 'Load',
  severity: 'immediate',
  labels: { instance: key },
  openedAt: AT,
  breachedSince: AT,
  lastValue: '0.9',
  lastSeenAt: AT,
  detail: {},
});

describe('two replicas on one PostgreSQL database', () => {
  const fixture = storageFixture('postgres');
  afterEach(() => fixture.closeAll());
  const figures: Record<string, number> = {};

  /** Both replicas write at once, round after round; `between` runs after each round (both have answered). */
  async function race<T>(
    label: string,
    write: (replica: Storage, round: number) => Promise<T>,
    between: (answers: T[], replicas: Storage[]) => Promise<void> = async () => {},
  ): Promise<T[][]> {
    const replicas = [await fixture.open(), await fixture.reopen()];
    let racing = 0;
    const answers: T[][] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const began = performance.now();
      const pair = await Promise.all(replicas.map((replica) => write(replica, round)));
      racing += performance.now() - began;
      answers.push(pair);
      await between(pair, replicas);
    }
    figures[label] = Math.round((racing / ROUNDS) * 10) / 10;
    return answers;
  }

  afterAll(() => console.info(`postgres concurrency, ms per round of two racing writes: ${JSON.stringify(figures)}`));

  it('queue a message with the same key at once: exactly one post is true, one row', async () => {
    const answers = await race('outbox.post', (replica, round) => replica.outbox.post(postMessage(`same:${round}`, 'C1', { text: `round ${round}` }, AT)));
    for (const pair of answers) expect(pair.filter(Boolean)).toHaveLength(1);
    expect(Number(await fixture.psql("SELECT count(*) FROM slack_outbox WHERE dedupe_key LIKE 'same:%'"))).toBe(ROUNDS);
  });

  it('open the same breach at once: exactly one opens it, with one message and one decision', async () => {
    const announce = (opened: { id: number }) => ({
      decisions: [{ at: AT, kind: 'breach_opened', actor: 'watcher', subject: String(opened.id) }],
      messages: [postMessage(breachMessageKey(opened.id), 'C1', { text: 'breach' }, AT)],
    });
    const answers = await race('breaches.open', (replica, round) => replica.breaches.open(breach(`same:${round}`), announce));
    for (const pair of answers) expect(pair.filter((opened) => opened !== undefined)).toHaveLength(1);
    expect(await fixture.psql("SELECT count(*), count(DISTINCT key), count(message_id) FROM breaches WHERE key LIKE 'same:%'")).toBe(
      `${ROUNDS}|${ROUNDS}|${ROUNDS}`,
    );
    expect(Number(await fixture.psql("SELECT count(*) FROM decision_log WHERE kind = 'breach_opened'"))).toBe(ROUNDS);
    expect(Number(await fixture.psql("SELECT count(*) FROM slack_outbox WHERE dedupe_key LIKE 'breach:%'"))).toBe(ROUNDS);
  });

  it('fire the same Alertmanager alert at once: one breach opened, the other request refreshes it', async () => {
    const answers = await race('breaches.applyAlerts', (replica, round) =>
      replica.breaches.applyAlerts([{ status: 'firing', key: `alert:${round}`, open: breach(`alert:${round}`), refresh: { lastSeenAt: AT } }], () => ({})),
    );
    for (const pair of answers) expect(pair.map(([outcome]) => outcome!.kind).sort()).toEqual(['opened', 'updated']);
    expect(Number(await fixture.psql("SELECT count(*) FROM breaches WHERE key LIKE 'alert:%'"))).toBe(ROUNDS);
  });

  it('open a blind period at once: one period (no unique index: serializable transactions keep it one)', async () => {
    const answers = await race(
      'breaches.openBlindPeriod',
      (replica, round) => replica.breaches.openBlindPeriod(AT, `round ${round}`, () => ({})),
      async (pair, replicas) => {
        const opened = pair.find((period) => period !== undefined);
        if (opened) await replicas[0]!.breaches.endBlindPeriod(opened.id, AT, () => ({}));
      },
    );
    for (const pair of answers) expect(pair.filter((period) => period !== undefined)).toHaveLength(1);
    expect(Number(await fixture.psql('SELECT count(*) FROM blind_periods'))).toBe(ROUNDS);
  });
});
