import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../core/ports.ts';
import { FencedError, type LeaseState } from '../../core/storage/leases.ts';
import { postMessage } from '../../services/outbox.ts';
import { DIALECTS, stopPostgres, storageFixture } from '../helpers/storages.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const AT = new Date('2026-11-28T10:00:00Z');
const LONG_TTL_MS = 60_000;

afterAll(stopPostgres);

describe.each(DIALECTS)('the leader lease on %s', (dialect) => {
  const fixture = storageFixture(dialect);
  afterEach(() => fixture.closeAll());

  it('gives token 1 to the first holder, keeps it on renewal, and refuses another holder while it is live', async () => {
    const storage = await fixture.open();
    expect(await storage.leases.current()).toEqual({ holder: null, token: 0, ttlLeftMs: 0 });
    const first = await storage.leases.acquire('replica-a', 5_000);
    expect(first).toMatchObject({ holder: 'replica-a', token: 1 });
    expect(first.ttlLeftMs).toBeGreaterThan(4_000);
    expect(first.ttlLeftMs).toBeLessThanOrEqual(5_000);
    const renewed = await storage.leases.acquire('replica-a', LONG_TTL_MS);
    expect(renewed).toMatchObject({ holder: 'replica-a', token: 1 });
    expect(renewed.ttlLeftMs).toBeGreaterThan(5_000);
    const refused = await storage.leases.acquire('replica-b', LONG_TTL_MS);
    expect(refused).toMatchObject({ holder: 'replica-a', token: 1 });
    expect(await storage.leases.current()).toMatchObject({ holder: 'replica-a', token: 1 });
  });

  it('is taken over once it has run out, with the next token; the same holder re-taking a lapsed lease gets a new one too', async () => {
    const storage = await fixture.open();
    await storage.leases.acquire('replica-a', 150);
    await sleep(250);
    expect(await storage.leases.current()).toEqual({ holder: null, token: 1, ttlLeftMs: 0 });
    expect(await storage.leases.acquire('replica-b', 150)).toMatchObject({ holder: 'replica-b', token: 2 });
    await sleep(250);
    expect(await storage.leases.acquire('replica-b', LONG_TTL_MS)).toMatchObject({ holder: 'replica-b', token: 3 });
  });

  it('lets another replica take it at once after a release, and a release by a former holder changes nothing', async () => {
    const storage = await fixture.open();
    const a = await storage.leases.acquire('replica-a', LONG_TTL_MS);
    await storage.leases.release('replica-a', a.token);
    expect(await storage.leases.current()).toEqual({ holder: null, token: 1, ttlLeftMs: 0 });
    const b = await storage.leases.acquire('replica-b', LONG_TTL_MS);
    expect(b).toMatchObject({ holder: 'replica-b', token: 2 });
    await storage.leases.release('replica-a', a.token);
    await storage.leases.release('replica-b', 1);
    expect(await storage.leases.current()).toMatchObject({ holder: 'replica-b', token: 2 });
  });

  it('names its deployment once: the same id for every replica and every call, a new one for another database, the lease untouched', async () => {
    const storage = await fixture.open();
    const second = await fixture.reopen();
    const ids = await Promise.all([storage.leases.deployment(), second.leases.deployment(), storage.leases.deployment(), second.leases.deployment()]);
    expect(ids[0]).toMatch(/^[a-z0-9]{16}$/);
    expect(new Set(ids).size).toBe(1);
    expect(await storage.leases.current()).toEqual({ holder: null, token: 0, ttlLeftMs: 0 });
    expect(await storage.leases.acquire('replica-a', 10_000)).toMatchObject({ holder: 'replica-a', token: 1 });
    const other = await fixture.open();
    expect(await other.leases.deployment()).not.toBe(ids[0]);
  });

  it('never has two holders at once: replicas racing for it, renewing, releasing and letting it lapse', async () => {
    // Each replica is a storage of its own (a pool of its own on PostgreSQL), writing under its own token.
    const tokens = { a: undefined as number | undefined, b: undefined as number | undefined };
    const a = await fixture.open({ fenceToken: () => tokens.a });
    const b = await fixture.reopen({ fenceToken: () => tokens.b });
    const holderOfToken = new Map<number, string>();
    let lastToken = 0;
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ release: fc.boolean(), ttlMs: fc.constantFrom(1, 10, 40, LONG_TTL_MS), pauseMs: fc.constantFrom(0, 0, 5, 20) }), {
          minLength: 3,
          maxLength: 12,
        }),
        async (rounds) => {
          for (const { release, ttlMs, pauseMs } of rounds) {
            round += 1;
            if (release) {
              const current = await a.leases.current();
              if (current.holder) await a.leases.release(current.holder, current.token);
            }
            await sleep(pauseMs);
            const [byA, byB] = await Promise.all([a.leases.acquire('replica-a', ttlMs), b.leases.acquire('replica-b', ttlMs)]);
            const claims = [
              ['replica-a', byA],
              ['replica-b', byB],
            ].filter(([name, answer]) => (answer as LeaseState).holder === name) as Array<[string, LeaseState]>;
            for (const [name, answer] of claims) {
              // A tenure belongs to one holder, and tokens only grow.
              expect(holderOfToken.get(answer.token) ?? name).toBe(name);
              holderOfToken.set(answer.token, name);
              expect(answer.token).toBeGreaterThanOrEqual(lastToken);
            }
            if (claims.length === 2) {
              // Both may hold in turn within one round only if the first one's lease ran out in between.
              expect(claims[0]![1].token).not.toBe(claims[1]![1].token);
              expect(ttlMs).toBeLessThan(LONG_TTL_MS);
            }
            lastToken = Math.max(lastToken, byA.token, byB.token);
            // Whatever each believes, at most one of them can still write as the leader.
            tokens.a = byA.holder === 'replica-a' ? byA.token : undefined;
            tokens.b = byB.holder === 'replica-b' ? byB.token : undefined;
            if (tokens.a === undefined || tokens.b === undefined) continue;
            const writes = await Promise.allSettled([
              a.outbox.post(postMessage(`race:${round}:a`, 'C1', { text: 'a' }, AT)),
              b.outbox.post(postMessage(`race:${round}:b`, 'C1', { text: 'b' }, AT)),
            ]);
            expect(writes.filter((write) => write.status === 'fulfilled').length).toBeLessThanOrEqual(1);
          }
        },
      ),
      { numRuns: dialect === 'postgres' ? 25 : 40 },
    );
    expect(holderOfToken.size).toBeGreaterThan(1);
  });
});

describe.each(DIALECTS)('fencing on %s', (dialect) => {
  const fixture = storageFixture(dialect);
  afterEach(() => fixture.closeAll());

  /** A storage whose writes carry `token.value`, a second replica that takes the lease over, and an unfenced one. */
  async function replicas() {
    const token: { value: number | undefined } = { value: undefined };
    const stalled = await fixture.open({ fenceToken: () => token.value });
    const plain = await fixture.reopen();
    token.value = (await stalled.leases.acquire('replica-a', 100)).token;
    await sleep(200);
    const successor = (await plain.leases.acquire('replica-b', LONG_TTL_MS)).token;
    return { token, stalled, plain, successor };
  }

  const writes = (storage: Storage, tag: string) => ({
    outboxPost: () => storage.outbox.post(postMessage(`fenced:${tag}`, 'C1', { text: tag }, AT)),
    breachOpen: () =>
      storage.breaches.open(
        {
          key: `fenced:${tag}`,
          source: 'watcher',
          triggerId: 'load',
          name: 'Load',
          severity: 'soon',
          labels: {},
          openedAt: AT,
          breachedSince: AT,
          lastValue: '1',
          lastSeenAt: AT,
          detail: {},
        },
        () => ({ decisions: [{ at: AT, kind: 'breach_opened', actor: 'test', subject: tag }] }),
      ),
    decision: () => storage.decisions.append({ at: AT, kind: 'fenced_test', actor: 'test', subject: tag }),
    advice: () => storage.advice.recordAdvice({ at: AT, actor: 'test', channel: null, outcome: `advice:${tag}`, detail: {} }),
  });

  it('refuses every write under a stale token and writes nothing of it; the live token and no token write', async () => {
    const { token, stalled, plain, successor } = await replicas();
    for (const [name, write] of Object.entries(writes(stalled, 'stale'))) {
      await expect(write(), name).rejects.toBeInstanceOf(FencedError);
    }
    expect(await plain.outbox.getByKey('fenced:stale')).toBeUndefined();
    expect(await plain.breaches.findOpen('fenced:stale')).toBeUndefined();
    expect(await plain.decisions.list()).toEqual([]);

    token.value = successor;
    for (const write of Object.values(writes(stalled, 'live'))) await write();
    for (const write of Object.values(writes(plain, 'unfenced'))) await write();
    expect(await plain.outbox.getByKey('fenced:live')).toBeDefined();
    expect(await plain.breaches.findOpen('fenced:unfenced')).toBeDefined();
    expect((await plain.decisions.list()).map((row) => `${row.kind}:${row.subject}`).sort()).toEqual([
      'advice:advice:live',
      'advice:advice:unfenced',
      'breach_opened:live',
      'breach_opened:unfenced',
      'fenced_test:live',
      'fenced_test:unfenced',
    ]);
  });

  it('refuses a stalled leader its outbox marks: the message stays as its successor left it', async () => {
    const { token, stalled, plain, successor } = await replicas();
    await plain.outbox.post(postMessage('mark', 'C1', { text: 'x' }, AT));
    const { id } = (await plain.outbox.getByKey('mark'))!;
    await plain.outbox.markSending(id);
    await plain.outbox.markSent(id, '111.222', AT, { text: 'x' });
    await expect(stalled.outbox.markSending(id)).rejects.toBeInstanceOf(FencedError);
    await expect(stalled.outbox.markNotSent(id, 'late', null)).rejects.toBeInstanceOf(FencedError);
    await expect(stalled.outbox.markSent(id, '999.000', AT, null)).rejects.toBeInstanceOf(FencedError);
    await expect(stalled.outbox.defer(id, 'late', null)).rejects.toBeInstanceOf(FencedError);
    await expect(stalled.outbox.edit({ kind: 'edit', key: 'mark', payload: { text: 'late' } })).rejects.toBeInstanceOf(FencedError);
    expect(await plain.outbox.get(id)).toMatchObject({ status: 'sent', ts: '111.222', attempts: 1, needsUpdate: false, payload: { text: 'x' } });
    token.value = successor;
    await stalled.outbox.defer(id, 'now it may', null);
    expect((await plain.outbox.get(id))?.lastError).toBe('now it may');
  });

  // Their transactions carry the token too: SQLite's through db/client.ts's inTransaction, PostgreSQL's through inPgTransaction.
  it('fences the runbook and checklist stores too', async () => {
    const { token, stalled, successor } = await replicas();
    await expect(stalled.runbooks.releaseLock('db-1', () => ({}))).rejects.toBeInstanceOf(FencedError);
    await expect(stalled.checklists.change({ runId: 1 }, () => ({}))).rejects.toBeInstanceOf(FencedError);
    token.value = successor;
    expect(await stalled.runbooks.releaseLock('db-1', () => ({}))).toBeUndefined();
    expect(await stalled.checklists.change({ runId: 1 }, () => ({}))).toBeUndefined();
  });

  it("fences a decision row by the token it was appended under, not by its batch's", async () => {
    const { token, stalled, plain, successor } = await replicas();
    const stale = stalled.decisions.append({ at: AT, kind: 'batched', actor: 'stale' });
    token.value = successor;
    const live = stalled.decisions.append({ at: AT, kind: 'batched', actor: 'live' });
    const unfenced = plain.decisions.append({ at: AT, kind: 'batched', actor: 'plain' });
    await expect(stale).rejects.toBeInstanceOf(FencedError);
    await expect(live).resolves.toBeGreaterThan(0);
    await expect(unfenced).resolves.toBeGreaterThan(0);
    expect((await plain.decisions.list({ kinds: ['batched'] })).map((row) => row.actor).sort()).toEqual(['live', 'plain']);
  });
});
