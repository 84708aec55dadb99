import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { registerSecrets } from '../../core/redact.ts';
import type { MessagePayload } from '../../core/storage/effects.ts';
import { scrubbed } from '../../db/scrub.ts';
import { postMessage } from '../../services/outbox.ts';
import { DIALECTS, stopPostgres, storageFixture } from '../helpers/storages.ts';

// The outbox payload is scrubbed of secrets before it is written. A chart's bytes (`file.base64`) are not text:
// base64 is made of the very characters credential patterns look for, so a cut there would break the image
// while protecting nothing. Its text (the comment, the title, the alt text) is scrubbed like any message's.

/** A registered secret spelled in base64's alphabet, as a signing secret often is. */
const SECRET_IN_BASE64 = 'c2NhbGVib3Qtc2NydWI0';
registerSecrets([SECRET_IN_BASE64]);

/** base64 with credential-shaped runs where real bytes could put them: an AWS key id and a registered secret. */
const bytesLikeCredentials = fc
  .tuple(
    fc.uint8Array({ minLength: 0, maxLength: 60 }).map((bytes) => bytes.subarray(0, bytes.length - (bytes.length % 3))),
    fc.stringMatching(/^[A-Z0-9]{16}$/),
    fc.uint8Array({ minLength: 1, maxLength: 60 }),
  )
  .map(([before, keyId, after]) => `${Buffer.from(before).toString('base64')}AKIA${keyId}+/${SECRET_IN_BASE64}xy${Buffer.from(after).toString('base64')}`);

function chartPayload(base64: string): MessagePayload {
  return {
    text: `Chart for token=${SECRET_IN_BASE64}`,
    file: { filename: 'cpu.png', title: `CPU with AKIAABCDEFGHIJKLMNOP`, altText: `alt ${SECRET_IN_BASE64}`, base64 },
  };
}

describe('the outbox payload scrubbed of secrets, a file’s bytes left whole', () => {
  it('keeps file.base64 byte for byte while text, title and alt text are scrubbed', () => {
    fc.assert(
      fc.property(bytesLikeCredentials, (base64) => {
        // The pattern does match it as text: only the key keeps it whole.
        expect(scrubbed({ text: base64 }).text).not.toBe(base64);
        const out = scrubbed(chartPayload(base64));
        expect(out.file!.base64).toBe(base64);
        expect(out.text).not.toContain(SECRET_IN_BASE64);
        expect(out.file!.title).not.toContain('AKIAABCDEFGHIJKLMNOP');
        expect(out.file!.altText).not.toContain(SECRET_IN_BASE64);
        expect(out.file!.filename).toBe('cpu.png');
      }),
      { numRuns: 200 },
    );
  });

  describe.each(DIALECTS)('as stored (%s)', (dialect) => {
    const fixture = storageFixture(dialect);
    afterEach(() => fixture.closeAll());
    afterAll(() => stopPostgres());

    it('stores the row with its bytes whole and its text scrubbed', async () => {
      const storage = await fixture.open();
      const base64 = fc.sample(bytesLikeCredentials, { numRuns: 1, seed: 16 })[0]!;
      await storage.outbox.post(postMessage('chart:1', 'C0CHARTS', chartPayload(base64), new Date()));
      const [listed] = await storage.outbox.listDeliverable(new Date(Date.now() + 60_000));
      const row = await storage.outbox.get(listed!.id);
      expect(Buffer.from(row!.payload.file!.base64, 'base64')).toEqual(Buffer.from(base64, 'base64'));
      expect(row!.payload.file!.base64).toBe(base64);
      expect(row!.payload.text).toBe('Chart for token=[redacted]');
    });
  });
});
