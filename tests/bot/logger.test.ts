import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createLogger, scrubSecrets } from '../../bot/logger.ts';
import { registerSecrets } from '../../core/redact.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}

describe('logging', () => {
  it('never writes a Slack token or the signing secret, wherever it is passed', async () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', secrets: ['s3cr3t-signing-value'], destination });
    logger.info({ token: 'anything', headers: { authorization: 'Bearer xoxb-123-456-abc' }, note: 'xapp-1-A0-zzz' }, 'using xoxb-123-456-abc');
    logger.error({ err: new Error('bad signature with s3cr3t-signing-value') }, 'failed');
    await vi.waitFor(() => expect(lines.join('')).toContain('"msg":"failed"'));
    const text = lines.join('');
    expect(text).toContain('failed');
    for (const secret of ['xoxb-123-456-abc', 'xapp-1-A0-zzz', 's3cr3t-signing-value', 'anything']) expect(text).not.toContain(secret);
  });

  it('scrubs tokens out of plain text', () => {
    expect(scrubSecrets('token xoxb-1-2-abc and xoxp-9')).toBe('token xoxb-[redacted] and xoxp-[redacted]');
  });

  it('cuts registered secrets, credential shapes and URL userinfo, however deep they are passed', async () => {
    registerSecrets(['logger-known-secret-99']);
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', destination });
    let deep: Record<string, unknown> = { leak: 'http://reader:pr0m-pass@127.0.0.1:9090 and password=hunter2' };
    for (let level = 0; level < 10; level += 1) deep = { inner: deep };
    logger.info(
      { deep, url: 'http://reader:pr0m-pass@127.0.0.1:9090/', when: new Date('2026-11-28T10:00:00Z') },
      'Prometheus at http://reader:pr0m-pass@127.0.0.1:9090 has logger-known-secret-99',
    );
    logger.warn({ err: new Error('ghp_abcdefghijklmnopqrstuvwxyz0123 rejected') }, 'failed');
    await vi.waitFor(() => expect(lines.join('')).toContain('"msg":"failed"'));
    const text = lines.join('');
    for (const secret of ['pr0m-pass', 'hunter2', 'logger-known-secret-99', 'ghp_abcdefghijklmnopqrstuvwxyz0123']) expect(text).not.toContain(secret);
    expect(text).toContain('http://[redacted]@127.0.0.1:9090');
    expect(text).toContain('2026-11-28T10:00:00.000Z');
  });

  it("keeps scrubSecrets as the one scrubber of core/redact.ts, with the logger's own secrets", () => {
    expect(scrubSecrets('see https://u:p4ss@host/ and own-secret-value', ['own-secret-value'])).toBe('see https://[redacted]@host/ and [redacted]');
  });
});
