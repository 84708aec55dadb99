import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubSecrets } from '../../bot/logger.ts';

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
    await new Promise((resolve) => setTimeout(resolve, 20));
    const text = lines.join('');
    expect(text).toContain('failed');
    for (const secret of ['xoxb-123-456-abc', 'xapp-1-A0-zzz', 's3cr3t-signing-value', 'anything']) expect(text).not.toContain(secret);
  });

  it('scrubs tokens out of plain text', () => {
    expect(scrubSecrets('token xoxb-1-2-abc and xoxp-9')).toBe('token xoxb-[redacted] and xoxp-[redacted]');
  });
});
