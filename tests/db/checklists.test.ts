import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../core/ports.ts';
import { runMessageKey, type Checklist } from '../../core/checklists.ts';
import type { ChecklistRunState, NewTickRecord } from '../../core/storage/checklists.ts';
import type { Effects, EffectsOf } from '../../core/storage/effects.ts';
import { FencedError } from '../../core/storage/leases.ts';
import { DIALECTS, stopPostgres, storageFixture } from '../helpers/storages.ts';

// The checklists store (core/storage/checklists.ts) on both dialects, and on PostgreSQL two replicas (two pools
// on one database) ticking the same run at once.

const OPTIMIZE: Checklist = {
  id: 'optimize',
  title: 'Performance optimization before scaling',
  responders: ['U0LEAD'],
  items: [
    { id: 'db_indexes', text: 'Add missing indexes', section: 'Database optimization' },
    { id: 'backup', text: 'Create full backup', action: { kind: 'runbook', runbook: 'backup' } },
  ],
};
const at = (minutes: number) => new Date(Date.UTC(2026, 10, 28, 10, minutes));
const decision = (kind: string, runId: number): Effects['decisions'] => [{ at: at(1), kind, actor: 'U1', subject: 'optimize', detail: { run_id: runId } }];
const nothing = () => ({});

/** A start's effects: the run's message under its key, and the decision. */
const announce: EffectsOf<ChecklistRunState> = (created) => ({
  messages: [{ kind: 'post', key: runMessageKey(created.run.id), channel: created.run.channel, payload: { text: 'run' }, at: at(0) }],
  decisions: decision('checklist_started', created.run.id),
});

const tickBy = (actor: string, itemId = 'db_indexes', minute = 2): NewTickRecord => ({ itemId, action: 'tick', actor, at: at(minute), source: 'click' });

async function start(storage: Storage, overrides: Partial<{ checklist: Checklist; name: string | null; channel: string; minute: number }> = {}) {
  const { checklist = OPTIMIZE, name = null, channel = 'C1', minute = 0 } = overrides;
  return storage.checklists.start({ checklist, name, channel, startedBy: 'U1', startedAt: at(minute) }, announce);
}

async function end(storage: Storage, runId: number, status: 'completed' | 'closed' | 'abandoned', by: string, minute: number) {
  return storage.checklists.change({ runId, end: { status, by, at: at(minute) } }, nothing);
}

afterAll(stopPostgres);

describe.each(DIALECTS)('the checklist store on %s', (dialect) => {
  const fixture = storageFixture(dialect);
  afterEach(async () => {
    await fixture.closeAll();
  });

  it('starts a run with its message and decision in one transaction, the checklist kept as it was, the message linked', async () => {
    const storage = await fixture.open();
    const state = await start(storage, { name: 'move to CPX51' });
    expect(state.run).toMatchObject({ checklistId: 'optimize', name: 'move to CPX51', status: 'open', channel: 'C1', startedBy: 'U1', startedAt: at(0) });
    expect(state.run.definition).toEqual({
      title: 'Performance optimization before scaling',
      responders: ['U0LEAD'],
      items: [
        { id: 'db_indexes', text: 'Add missing indexes', section: 'Database optimization' },
        { id: 'backup', text: 'Create full backup', action: { kind: 'runbook', runbook: 'backup' } },
      ],
    });
    expect(state.ticks).toEqual([]);
    expect(state.message).toEqual({ key: runMessageKey(state.run.id), status: 'pending', ts: null, lastError: null, notBefore: null });
    expect((state.run as { messageId?: number }).messageId).toBe((await storage.outbox.getByKey(runMessageKey(state.run.id)))!.id);
    expect(await storage.decisions.list({ kinds: ['checklist_started'] })).toHaveLength(1);
    expect(await storage.checklists.get(state.run.id)).toEqual(state);
    expect(await storage.checklists.get(999_999)).toBeUndefined();
  });

  it('keeps every tick and untick in order, each with its place in the history; a detail only when there is one', async () => {
    const storage = await fixture.open();
    const state = await start(storage);
    const changed = await storage.checklists.change(
      {
        runId: state.run.id,
        seenTicks: 0,
        ticks: [
          tickBy('U1', 'db_indexes', 1),
          { itemId: 'db_indexes', action: 'untick', actor: 'U2', at: at(2), source: 'click' },
          { itemId: 'backup', action: 'tick', actor: 'U3', at: at(3), source: 'runbook', detail: { runbook: 'backup' } },
        ],
      },
      nothing,
    );
    const ticks = (await storage.checklists.get(state.run.id))!.ticks;
    expect(ticks.map(({ id: _id, ...tick }) => tick)).toEqual([
      { itemId: 'db_indexes', action: 'tick', actor: 'U1', at: at(1), source: 'click' },
      { itemId: 'db_indexes', action: 'untick', actor: 'U2', at: at(2), source: 'click' },
      { itemId: 'backup', action: 'tick', actor: 'U3', at: at(3), source: 'runbook', detail: { runbook: 'backup' } },
    ]);
    expect(changed?.appended).toEqual(ticks);
    expect(ticks.map((tick) => tick.id)).toEqual([...ticks.map((tick) => tick.id)].sort((a, b) => a - b));
    const more = await storage.checklists.change({ runId: state.run.id, seenTicks: 3, ticks: [tickBy('U4', 'db_indexes', 4)] }, nothing);
    expect(more?.appended).toMatchObject([{ actor: 'U4' }]);
    expect(more?.ticks).toHaveLength(4);
  });

  it('keeps the history append-only: the database itself refuses UPDATE and DELETE, and a tick of no run', async () => {
    const storage = await fixture.open();
    const state = await start(storage);
    await storage.checklists.change({ runId: state.run.id, ticks: [tickBy('U1')] }, nothing);
    await expect(fixture.sql("UPDATE checklist_events SET actor = 'U9'")).rejects.toThrow(/append-only/);
    await expect(fixture.sql('DELETE FROM checklist_events')).rejects.toThrow(/append-only/);
    await expect(
      fixture.sql(
        "INSERT INTO checklist_events (run_id, item_id, action, actor, at, source) VALUES (999, 'x', 'tick', 'U1', '2026-11-28 10:00:00+00', 'click')",
      ),
    ).rejects.toThrow(/FOREIGN KEY|foreign key/);
    expect((await storage.checklists.get(state.run.id))!.ticks.map((tick) => tick.actor)).toEqual(['U1']);
  });

  it('applies a change only while the run is open and its history is as seen, with its effects', async () => {
    const storage = await fixture.open();
    const state = await start(storage);
    const changed = await storage.checklists.change({ runId: state.run.id, seenTicks: 0, ticks: [tickBy('U1')] }, (written) => ({
      decisions: decision('checklist_tick', written.run.id),
      messages: [{ kind: 'edit', key: runMessageKey(written.run.id), payload: { text: `${written.ticks.length} done` } }],
    }));
    expect(changed?.appended).toMatchObject([{ itemId: 'db_indexes', actor: 'U1' }]);
    expect((await storage.outbox.getByKey(runMessageKey(state.run.id)))!.payload).toMatchObject({ text: '1 done' });

    // Decided on the history before that tick: refused, and nothing of it written.
    const effects = () => ({ decisions: decision('checklist_tick', state.run.id) });
    expect(await storage.checklists.change({ runId: state.run.id, seenTicks: 0, ticks: [tickBy('U2')] }, effects)).toBeUndefined();
    expect((await storage.checklists.get(state.run.id))!.ticks.map((tick) => tick.actor)).toEqual(['U1']);

    const ended = await storage.checklists.change({ runId: state.run.id, seenTicks: 1, end: { status: 'closed', by: 'U2', at: at(3) } }, nothing);
    expect(ended?.run).toMatchObject({ status: 'closed', endedBy: 'U2', endedAt: at(3) });
    expect(ended?.appended).toEqual([]);
    // Ended: no change applies any more, guarded or not, and a second end changes nothing.
    expect(await storage.checklists.change({ runId: state.run.id, ticks: [tickBy('U3')] }, effects)).toBeUndefined();
    expect(await end(storage, state.run.id, 'abandoned', 'U3', 4)).toBeUndefined();
    expect(await storage.checklists.change({ runId: 999_999, ticks: [] }, effects)).toBeUndefined();
    expect(await storage.decisions.list({ kinds: ['checklist_tick'] })).toHaveLength(1);
    expect((await storage.checklists.get(state.run.id))!.run).toMatchObject({ status: 'closed', endedBy: 'U2' });
  });

  it.each([
    [
      'fail half-way through their writes',
      () => ({ decisions: decision('half', 0), messages: [{ kind: 'edit' as const, key: 'checklist:no-such', payload: { text: 'x' } }] }),
    ],
    [
      'throw',
      (): Effects => {
        throw new Error('boom');
      },
    ],
  ])('writes nothing of a start or a change whose effects %s', async (_how, failing) => {
    const storage = await fixture.open();
    const state = await start(storage);
    const change = { runId: state.run.id, seenTicks: 0, ticks: [tickBy('U1')], end: { status: 'completed' as const, by: 'U1', at: at(2) } };
    await expect(storage.checklists.change(change, failing)).rejects.toThrow(/boom|no message with key/);
    expect(await storage.checklists.get(state.run.id)).toEqual(state);
    await expect(storage.checklists.start({ checklist: OPTIMIZE, name: 'x', channel: 'C1', startedBy: 'U1', startedAt: at(5) }, failing)).rejects.toThrow(
      /boom|no message with key/,
    );
    expect((await storage.checklists.listOpen()).map((open) => open.run.id)).toEqual([state.run.id]);
    expect(await storage.decisions.list({ kinds: ['half'] })).toEqual([]);
  });

  it('lists the open runs oldest first and the ended ones latest first, each with its history and message', async () => {
    const storage = await fixture.open();
    const first = await start(storage);
    const second = await start(storage, { minute: 1 });
    const third = await start(storage, { minute: 2 });
    await storage.checklists.change({ runId: second.run.id, ticks: [tickBy('U1')] }, nothing);
    await end(storage, first.run.id, 'abandoned', 'U2', 5);
    await end(storage, third.run.id, 'completed', 'U2', 7);
    const open = await storage.checklists.listOpen();
    expect(open.map((state) => state.run.id)).toEqual([second.run.id]);
    expect(open[0]!.ticks).toHaveLength(1);
    expect(open[0]!.message?.key).toBe(runMessageKey(second.run.id));
    expect((await storage.checklists.listEnded(5)).map((state) => state.run.id)).toEqual([third.run.id, first.run.id]);
    expect((await storage.checklists.listEnded(1)).map((state) => state.run.id)).toEqual([third.run.id]);
  });

  it('lastCompleted: the latest completed run of a checklist; closed and abandoned runs do not count', async () => {
    const storage = await fixture.open();
    expect(await storage.checklists.lastCompleted('optimize')).toBeUndefined();
    const first = await start(storage, { name: 'first' });
    await end(storage, first.run.id, 'completed', 'U2', 10);
    const second = await start(storage, { name: 'second', channel: 'C2', minute: 20 });
    await end(storage, second.run.id, 'completed', 'U4', 30);
    const closed = await start(storage, { name: 'closed', minute: 40 });
    await end(storage, closed.run.id, 'closed', 'U1', 50);
    const abandoned = await start(storage, { name: 'abandoned', minute: 41 });
    await end(storage, abandoned.run.id, 'abandoned', 'U1', 51);
    await start(storage, { name: 'open', minute: 55 });
    expect(await storage.checklists.lastCompleted('optimize')).toEqual({
      runId: second.run.id,
      checklistId: 'optimize',
      name: 'second',
      title: 'Performance optimization before scaling',
      channel: 'C2',
      startedBy: 'U1',
      startedAt: at(20),
      completedBy: 'U4',
      completedAt: at(30),
    });
    expect(await storage.checklists.lastCompleted('before')).toBeUndefined();
  });

  it('latest: the most recent run by start, abandoned ones left out', async () => {
    const storage = await fixture.open();
    expect(await storage.checklists.latest('optimize')).toBeUndefined();
    const earlier = await start(storage, { minute: 0 });
    const later = await start(storage, { minute: 10 });
    // Started later but before: the start time orders, not the id.
    await start(storage, { minute: 5 });
    expect((await storage.checklists.latest('optimize'))?.run.id).toBe(later.run.id);
    await end(storage, later.run.id, 'abandoned', 'U1', 11);
    const latest = await storage.checklists.latest('optimize');
    expect(latest?.run.startedAt).toEqual(at(5));
    await end(storage, latest!.run.id, 'completed', 'U1', 12);
    expect((await storage.checklists.latest('optimize'))?.run).toMatchObject({ startedAt: at(5), status: 'completed' });
    expect(earlier.run.id).toBeLessThan(later.run.id);
  });

  it('finds the open runs with an item for a runbook, only among the runs given when given', async () => {
    const storage = await fixture.open();
    const withBackup = await start(storage);
    await start(storage, { checklist: { ...OPTIMIZE, id: 'other', items: [{ id: 'a', text: 'A' }] } });
    const ended = await start(storage);
    await end(storage, ended.run.id, 'abandoned', 'U1', 1);
    expect(await storage.checklists.listOpenWithRunbook('backup')).toEqual([withBackup.run.id]);
    expect(await storage.checklists.listOpenWithRunbook('backup', [ended.run.id])).toEqual([]);
    expect(await storage.checklists.listOpenWithRunbook('backup', [withBackup.run.id])).toEqual([withBackup.run.id]);
    expect(await storage.checklists.listOpenWithRunbook('backup', [])).toEqual([]);
    expect(await storage.checklists.listOpenWithRunbook('restore')).toEqual([]);
  });

  it('two ticks decided on the same history, from two replicas at once: one is written, the other finds the history moved on', async () => {
    const one = await fixture.open();
    const two = await fixture.reopen();
    const figures = { rounds: 0, firstWon: 0 };
    await fc.assert(
      fc.asyncProperty(
        // Where the history stands when both decide, and what each click does (the same item, or two).
        fc.nat({ max: 3 }),
        fc.constantFrom('db_indexes', 'backup'),
        fc.constantFrom('db_indexes', 'backup'),
        async (before, firstItem, secondItem) => {
          const state = await start(one);
          for (let tick = 0; tick < before; tick += 1) await one.checklists.change({ runId: state.run.id, ticks: [tickBy('U0', 'backup')] }, nothing);
          const effects = (written: { appended: readonly { actor: string }[]; run: { id: number } }) => ({
            decisions: [{ at: at(2), kind: 'race_tick', actor: written.appended[0]!.actor, subject: String(written.run.id) }],
            messages: [{ kind: 'edit' as const, key: runMessageKey(written.run.id), payload: { text: `by ${written.appended[0]!.actor}` } }],
          });
          const [first, second] = await Promise.all([
            one.checklists.change({ runId: state.run.id, seenTicks: before, ticks: [tickBy('U1', firstItem)] }, effects),
            two.checklists.change({ runId: state.run.id, seenTicks: before, ticks: [tickBy('U2', secondItem)] }, effects),
          ]);
          expect([first, second].filter(Boolean)).toHaveLength(1);
          const winner = (first ?? second)!;
          const after = (await one.checklists.get(state.run.id))!;
          expect(after.ticks).toHaveLength(before + 1);
          expect(after.ticks.at(-1)).toEqual(winner.appended[0]);
          const rows = (await one.decisions.list({ kinds: ['race_tick'], limit: 10_000 })).filter((row) => row.subject === String(state.run.id));
          expect(rows.map((row) => row.actor)).toEqual([winner.appended[0]!.actor]);
          expect((await one.outbox.getByKey(runMessageKey(state.run.id)))!.payload).toEqual({ text: `by ${winner.appended[0]!.actor}` });
          figures.rounds += 1;
          if (first) figures.firstWon += 1;
        },
      ),
      { numRuns: dialect === 'postgres' ? 40 : 10 },
    );
    console.info(`two-replica ticks on ${dialect}: ${JSON.stringify(figures)}`);
  });

  it('two replicas closing the same run at once: it ends once, by one of them', async () => {
    const one = await fixture.open();
    const two = await fixture.reopen();
    for (let round = 0; round < 10; round += 1) {
      const state = await start(one);
      const effects = () => ({ decisions: decision('race_end', state.run.id) });
      const [first, second] = await Promise.all([
        one.checklists.change({ runId: state.run.id, end: { status: 'closed', by: 'U1', at: at(3) } }, effects),
        two.checklists.change({ runId: state.run.id, end: { status: 'abandoned', by: 'U2', at: at(3) } }, effects),
      ]);
      expect([first, second].filter(Boolean)).toHaveLength(1);
      expect((await one.checklists.get(state.run.id))!.run.status).toBe((first ?? second)!.run.status);
    }
    const rows = await one.decisions.list({ kinds: ['race_end'], limit: 100 });
    expect(rows).toHaveLength(10);
  });
});

describe('the checklist store on PostgreSQL, fenced', () => {
  const fixture = storageFixture('postgres');
  afterEach(async () => {
    await fixture.closeAll();
  });

  it('a start or a change carrying a stale fencing token writes nothing', async () => {
    const free = await fixture.open();
    const fenced = await fixture.reopen({ fenceToken: () => 4 });
    await fixture.sql("INSERT INTO leader_lease (name, holder, token, acquired_at, expires_at) VALUES ('leader', 'b', 5, now(), now() + interval '1 hour')");
    const state = await start(free);
    await expect(start(fenced)).rejects.toBeInstanceOf(FencedError);
    await expect(fenced.checklists.change({ runId: state.run.id, ticks: [tickBy('U1')] }, nothing)).rejects.toBeInstanceOf(FencedError);
    expect(await free.checklists.listOpen()).toEqual([state]);
  });
});
