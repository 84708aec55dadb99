import { createHash } from 'node:crypto';

/**
 * A pinned SSH host key, as the config gives it (`host_key`): parsed when the config loads, so a mistyped key
 * is a config error with its file and line, and again by the SSH integration before it connects.
 */
export interface PinnedHostKey {
  /** "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", … */
  type: HostKeyType;
  /** The key as the SSH wire format has it: what ssh2's hostVerifier receives. */
  blob: Buffer;
  /** "SHA256:…", as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

export const HOST_KEY_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const;
export type HostKeyType = (typeof HOST_KEY_TYPES)[number];

function isHostKeyType(field: string): field is HostKeyType {
  return (HOST_KEY_TYPES as readonly string[]).includes(field);
}

/** Parses a pinned key line; throws with what is wrong. Config validation should call this at load time. */
export function parseHostKey(line: string): PinnedHostKey {
  const fields = String(line).trim().split(/\s+/);
  // known_hosts lines start with the host patterns; a .pub line starts with the type.
  const at = fields.findIndex(isHostKeyType);
  if (at === -1 || at > 1 || fields[at + 1] === undefined) {
    throw new Error(`host_key must be a key type and base64 key, like "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA…" (types: ${HOST_KEY_TYPES.join(', ')})`);
  }
  const type = fields[at] as HostKeyType;
  const base64 = fields[at + 1]!;
  const blob = Buffer.from(base64, 'base64');
  if (!/^[A-Za-z0-9+/]+=*$/.test(base64) || blob.length < 20 || keyTypeOf(blob) !== type) {
    throw new Error(`host_key: the base64 part is not a ${type} key`);
  }
  return { type, blob, fingerprint: fingerprintSha256(blob) };
}

/** OpenSSH's fingerprint: SHA256 of the key blob, base64 without padding. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The type name at the start of a wire-format key (a uint32 length, then the name). */
export function keyTypeOf(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > blob.length) return null;
  return blob.subarray(4, 4 + length).toString('latin1');
}
