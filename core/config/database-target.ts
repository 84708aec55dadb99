import type { DatabaseTarget } from '../ports.ts';

/** SCALEBOT_DB when it is not set: the embedded SQLite file, one command and no server. */
export const DEFAULT_DATABASE_FILE = './data/scalebot.db';

const POSTGRES_SCHEMES = ['postgres:', 'postgresql:'];

/**
 * What SCALEBOT_DB names: a PostgreSQL database for a postgres:// or postgresql:// URL, a SQLite file for a
 * path. Anything else that looks like a URL (mysql://, sqlite://, a mistyped scheme) is refused with what to
 * write, instead of becoming a folder named after the scheme.
 */
export function parseDatabaseTarget(value: string | null | undefined): { ok: true; target: DatabaseTarget } | { ok: false; problem: string } {
  const text = value?.trim() || DEFAULT_DATABASE_FILE;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text)?.[1]?.toLowerCase();
  // A one-letter "scheme" is a Windows drive (C:\data\scalebot.db), a path.
  if (scheme === undefined || scheme.length === 1) return { ok: true, target: { kind: 'sqlite', file: text } };
  if (POSTGRES_SCHEMES.includes(`${scheme}:`)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return { ok: false, problem: `SCALEBOT_DB: this PostgreSQL URL cannot be read; write it as postgres://USER:PASSWORD@HOST:5432/DATABASE` };
    }
    if (!url.hostname && !url.searchParams.get('host'))
      return { ok: false, problem: 'SCALEBOT_DB: the PostgreSQL URL names no host; write it as postgres://USER:PASSWORD@HOST:5432/DATABASE' };
    return { ok: true, target: { kind: 'postgres', url: text } };
  }
  if (scheme === 'file' || scheme === 'sqlite')
    return { ok: false, problem: `SCALEBOT_DB: "${scheme}:" URLs are not read; write the SQLite file's path itself, e.g. ./data/scalebot.db` };
  return {
    ok: false,
    problem:
      `SCALEBOT_DB: "${scheme}:" is not a database scalebot can use; write a SQLite file's path (e.g. ./data/scalebot.db) ` +
      'or a PostgreSQL URL (postgres://USER:PASSWORD@HOST:5432/DATABASE)',
  };
}
