import { z } from 'zod';
import { parseDuration } from '../duration.ts';

/** Field schemas and helpers that more than one feature's part of the config uses. */

export const duration = z.union([z.string(), z.number()]).superRefine((value, context) => {
  try {
    parseDuration(value);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

export const idPattern = /^[a-z0-9][a-z0-9_-]*$/;
export const id = z.string().regex(idPattern, 'an id is lower-case letters, digits, "_" and "-", like db_connections');
export const slackId = z.string().regex(/^([USW][A-Z0-9]+|@[a-z0-9._-]+)$/, 'a Slack user id (U…), user group id (S…) or group handle (@ops-leads)');

/** Points into the file a value came from: "file:line:col: path: message". */
export type Locate = (path: ReadonlyArray<PropertyKey>, message: string) => string;

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '');
}

/** Lists of things with an id merge by id: an entry overrides the one before field by field; `enabled: false` removes it. */
export function mergeById<T extends { id: string; enabled?: boolean }>(base: readonly T[], overrides: readonly T[]): T[] {
  const merged = new Map(base.map((entry) => [entry.id, entry]));
  for (const override of overrides) {
    if (override.enabled === false) {
      merged.delete(override.id);
      continue;
    }
    merged.set(override.id, { ...(merged.get(override.id) ?? {}), ...override } as T);
  }
  return [...merged.values()];
}

/** Like mergeById, for lists a file may leave out: absent from every file stays absent (the defaults give each list). */
export function mergeListsById<T extends { id: string; enabled?: boolean }>(
  base: readonly T[] | undefined,
  overrides: readonly T[] | undefined,
): T[] | undefined {
  return base === undefined && overrides === undefined ? undefined : mergeById(base ?? [], overrides ?? []);
}

/** The entries of a list in a file not yet validated, when it is a list. */
export function rawList(raw: unknown, key: string): unknown[] {
  const value = raw && typeof raw === 'object' ? (raw as Record<string, unknown>)[key] : undefined;
  return Array.isArray(value) ? value : [];
}
