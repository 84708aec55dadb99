import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerSecrets } from '../../core/redact.ts';
import type { Storage } from '../../core/ports.ts';
import { editMessage, postMessage, replyInThread } from '../../services/outbox.ts';
import { DIALECTS, stopPostgres, storageFixture } from '../helpers/storages.ts';

// The outbox store alone, on both dialects: what the delivery loop (tests/services/outbox*.test.ts) reads and marks.

const AT = new Date('2026-11-28T10:00:00Z');
const CHANNEL = 'C0ALERTS';

afterAll(stopPostgres);

describe.each(DIALECTS)('the outbox store on %s', (dialect) => {
  const fixture = storageFixture(dialect);
  let storage: Storage;
  beforeEach(async () => {
    storage = await fixture.open();
  });
  afterEach(() => fixture.closeAll());
  const byKey = async (key: string) => (await storage.outbox.getByKey(key))!;

  it('queues a message once per key: the second post is false and changes nothing', async () => {
    expect(await storage.outbox.post(postMessage('breach:1', CHANNEL, { text: 'first' }, AT))).toBe(true);
    expect(await storage.outbox.post(postMessage('breach:1', 'C0OTHER', { text: 'again' }, AT))).toBe(false);
    const row = await byKey('breach:1');
    expect(row).toMatchObject({
      dedupeKey: 'breach:1',
      channel: CHANNEL,
      parentId: null,
      payload: { text: 'first' },
      status: 'pending',
      attempts: 0,
      ts: null,
      needsUpdate: false,
      createdAt: AT,
      sentAt: null,
      notBefore: null,
      lastError: null,
    });
    expect(await storage.outbox.get(row.id)).toEqual(row);
    expect(await storage.outbox.getByKey('breach:none')).toBeUndefined();
  });

  it('threads a reply under its parent, and refuses one whose parent was never queued', async () => {
    await storage.outbox.post(postMessage('p', CHANNEL, { text: 'parent' }, AT));
    await storage.outbox.post(replyInThread('p', 'p:reply', CHANNEL, { text: 'reply' }, AT));
    expect((await byKey('p:reply')).parentId).toBe((await byKey('p')).id);
    await expect(storage.outbox.post(replyInThread('nowhere', 'orphan', CHANNEL, { text: 'x' }, AT))).rejects.toThrow(/no message with key nowhere/);
    expect(await storage.outbox.getByKey('orphan')).toBeUndefined();
  });

  it('edits a queued message in place, and marks a sent one for chat.update unless the payload is the same', async () => {
    await storage.outbox.post(postMessage('m', CHANNEL, { text: 'v1' }, AT));
    await storage.outbox.edit(editMessage('m', { text: 'v2' }));
    expect(await byKey('m')).toMatchObject({ payload: { text: 'v2' }, needsUpdate: false });
    const { id } = await byKey('m');
    await storage.outbox.markSending(id);
    await storage.outbox.markSent(id, '1.1', AT, { text: 'v2' });
    await storage.outbox.edit(editMessage('m', { text: 'v2' }));
    expect(await byKey('m')).toMatchObject({ needsUpdate: false });
    await storage.outbox.edit(editMessage('m', { text: 'v3', blocks: [{ type: 'divider' }] }));
    expect(await byKey('m')).toMatchObject({ payload: { text: 'v3', blocks: [{ type: 'divider' }] }, needsUpdate: true });
    await expect(storage.outbox.edit(editMessage('missing', { text: 'x' }))).rejects.toThrow(/no message with key missing/);
  });

  it('marks a message through its delivery: sending counts attempts, sent asks an edit only if the payload moved on', async () => {
    await storage.outbox.post(postMessage('m', CHANNEL, { text: 'v1' }, AT));
    const { id } = await byKey('m');
    await storage.outbox.markSending(id);
    await storage.outbox.markNotSent(id, 'rate limited', new Date(AT.getTime() + 30_000));
    expect(await byKey('m')).toMatchObject({ status: 'pending', attempts: 1, lastError: 'rate limited', notBefore: new Date(AT.getTime() + 30_000) });
    await storage.outbox.markSending(id);
    expect(await byKey('m')).toMatchObject({ status: 'sending', attempts: 2 });
    // The payload changed while the post was in flight: an edit is due.
    await storage.outbox.edit(editMessage('m', { text: 'v2' }));
    await storage.outbox.markSent(id, '1.1', AT, { text: 'v1' });
    expect(await byKey('m')).toMatchObject({ status: 'sent', ts: '1.1', sentAt: AT, needsUpdate: true, lastError: null, notBefore: null });
    await storage.outbox.markUpdated(id, { text: 'v2' });
    expect(await byKey('m')).toMatchObject({ needsUpdate: false });
    // Found in Slack after an interruption, showing an unknown version: one edit to the current one.
    await storage.outbox.markSent(id, '1.1', AT, null);
    expect(await byKey('m')).toMatchObject({ needsUpdate: true });
    await storage.outbox.defer(id, 'lookup failed', new Date(AT.getTime() + 5_000));
    expect(await byKey('m')).toMatchObject({ status: 'sent', lastError: 'lookup failed', notBefore: new Date(AT.getTime() + 5_000) });
    await storage.outbox.markNotSent(id, 'channel_not_found', null, true);
    expect(await byKey('m')).toMatchObject({ status: 'failed', lastError: 'channel_not_found' });
  });

  it('lists what is deliverable, oldest first: pending, sending, sent with an edit due; not the failed, not before their time', async () => {
    for (const key of ['pending', 'sending', 'sent', 'edited', 'failed', 'waiting']) await storage.outbox.post(postMessage(key, CHANNEL, { text: key }, AT));
    const id = async (key: string) => (await byKey(key)).id;
    await storage.outbox.markSending(await id('sending'));
    await storage.outbox.markSent(await id('sent'), '1.1', AT, { text: 'sent' });
    await storage.outbox.markSent(await id('edited'), '1.2', AT, { text: 'older' });
    await storage.outbox.markNotSent(await id('failed'), 'gone', null, true);
    await storage.outbox.markNotSent(await id('waiting'), '429', new Date(AT.getTime() + 60_000));
    const keys = async (now: Date) => (await storage.outbox.listDeliverable(now)).map((row) => row.dedupeKey);
    expect(await keys(AT)).toEqual(['pending', 'sending', 'edited']);
    expect(await keys(new Date(AT.getTime() + 60_000))).toEqual(['pending', 'sending', 'edited', 'waiting']);
  });

  it('stores a payload with its secrets cut out, button values kept', async () => {
    registerSecrets(['outbox-store-secret-42']);
    await storage.outbox.post(
      postMessage(
        'secrets',
        CHANNEL,
        {
          text: 'step said password=hunter2 and xoxb-1234-5678-abcdef and outbox-store-secret-42',
          blocks: [
            { type: 'section', text: { type: 'mrkdwn', text: 'DATABASE_URL=postgres://app:s3cret-pw@db:5432/app' } },
            { type: 'actions', elements: [{ type: 'button', action_id: 'checklist_toggle_x', value: '5:rotate-secret:tick' }] },
          ],
        },
        AT,
      ),
    );
    await storage.outbox.edit(editMessage('secrets', { text: 'now with api_key: AKIAABCDEFGHIJKLMNOP', blocks: [{ type: 'button', value: '5:x:tick' }] }));
    await storage.outbox.post(postMessage('secrets:2', CHANNEL, { text: 'token=abc123def' }, AT));
    const stored = JSON.stringify([await byKey('secrets'), await byKey('secrets:2')]);
    for (const secret of ['hunter2', 'xoxb-1234-5678-abcdef', 'outbox-store-secret-42', 's3cret-pw', 'AKIAABCDEFGHIJKLMNOP', 'abc123def']) {
      expect(stored).not.toContain(secret);
    }
    expect(stored).toContain('"value":"5:x:tick"');
  });
});
