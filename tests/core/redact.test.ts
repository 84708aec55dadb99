import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { displayUrl, redactDeep, redactSecrets, registerSecrets, urlSecrets } from '../../core/redact.ts';

const LONG = process.env.SCALEBOT_LONG === '1';

describe('core/redact as the sinks use it', () => {
  it('shows a URL without its user and password, and leaves others as they are', () => {
    expect(displayUrl('http://reader:s3cret@prometheus.internal:9090/')).toBe('http://prometheus.internal:9090/');
    expect(displayUrl('http://reader@prometheus.internal:9090')).toBe('http://prometheus.internal:9090/');
    expect(displayUrl('http://127.0.0.1:9090')).toBe('http://127.0.0.1:9090');
    // One that does not parse still loses its userinfo.
    expect(displayUrl('http://reader:pw-x@bad host/')).toBe('http://[redacted]@bad host/');
  });

  it('gives the password of a URL, encoded and decoded, to register', () => {
    expect(urlSecrets('http://u:p%40ss-word@h:9090')).toEqual(['p%40ss-word', 'p@ss-word']);
    expect(urlSecrets('http://h:9090')).toEqual([]);
    expect(urlSecrets(null)).toEqual([]);
  });

  it('cuts a registered secret wherever it appears, and every credential shape', () => {
    registerSecrets(['redact-test-secret-123', 'short']);
    expect(redactSecrets('x redact-test-secret-123 y')).toBe('x [redacted] y');
    expect(redactSecrets('a short word')).toBe('a short word');
    for (const [input, secret] of [
      ['xoxb-123-456-abcdef', '123-456-abcdef'],
      ['xapp-1-A0-zzzzzz', 'A0-zzzzzz'],
      ['postgres://app:pw-in-url@db:5432/app', 'pw-in-url'],
      ['DB_PASSWORD=hunter2', 'hunter2'],
      ['"api_key": "abcdef123"', 'abcdef123'],
      ['Authorization: Bearer abc.def.ghi', 'abc.def.ghi'],
      ['-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAB3Nza\n-----END OPENSSH PRIVATE KEY-----', 'AAAAB3Nza'],
    ] as const) {
      expect(redactSecrets(input), input).not.toContain(secret);
    }
  });

  it('keeps a sudoers rule whole (NOPASSWD: is a tag before a command), and still cuts a value so named', () => {
    for (const rule of ['add: deploy ALL=(root) NOPASSWD: /usr/bin/rsync', 'ops ALL=(ALL) NOPASSWD: ALL']) expect(redactSecrets(rule)).toBe(rule);
    for (const [input, secret] of [
      ['nopasswd: hunter2', 'hunter2'],
      ['NOPASSWD=hunter3', 'hunter3'],
      ['DB_PASSWD: /not-a-tag', '/not-a-tag'],
    ] as const) {
      expect(redactSecrets(input), input).not.toContain(secret);
    }
  });

  it('redacts every string of a payload, and leaves the rest alone', () => {
    expect(redactDeep({ text: 'token=abc', blocks: [{ n: 1, s: 'password: x' }], ok: true })).toEqual({
      text: 'token=[redacted]',
      blocks: [{ n: 1, s: 'password: [redacted]' }],
      ok: true,
    });
  });

  it('never lets a registered secret through, whatever text it is embedded in', () => {
    const secret = 'generated-secret-XYZ-987';
    registerSecrets([secret]);
    fc.assert(
      fc.property(fc.string(), fc.string(), (before, after) => {
        expect(redactSecrets(`${before}${secret}${after}`)).not.toContain(secret);
      }),
      { numRuns: LONG ? 5000 : 300 },
    );
  });
});
