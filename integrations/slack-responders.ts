import type { WebClient } from '@slack/web-api';

const GROUP_CACHE_MS = 5 * 60 * 1000;
/** A refusal reads a group again when what we hold is older than this (someone was just added to it). */
const REFUSAL_REFRESH_MS = 10 * 1000;

/**
 * Who may act on a button: an allow-list of user ids and user group ids. An empty list allows everyone.
 * Group members are looked up with usergroups.users.list and cached for five minutes; a "no" from the cache
 * is checked again against Slack first, so someone just added to a group is not refused for five minutes.
 */
export function createResponderCheck(client: Pick<WebClient, 'usergroups'>, clock: () => Date = () => new Date()) {
  const cache = new Map<string, { users: Set<string>; at: number }>();
  let handles: { byHandle: Map<string, string>; at: number } | null = null;
  /** "@ops-leads" → the group's id, from usergroups.list (cached like the members). */
  async function groupIdOf(handle: string, maxAgeMs = GROUP_CACHE_MS): Promise<string | undefined> {
    if (!handles || clock().getTime() - handles.at >= maxAgeMs) {
      const response = await client.usergroups.list({});
      handles = { byHandle: new Map((response.usergroups ?? []).map((group) => [String(group.handle), String(group.id)])), at: clock().getTime() };
    }
    return handles.byHandle.get(handle.replace(/^@/, ''));
  }
  async function membersOf(group: string, maxAgeMs = GROUP_CACHE_MS): Promise<Set<string>> {
    const cached = cache.get(group);
    if (cached && clock().getTime() - cached.at < maxAgeMs) return cached.users;
    const response = await client.usergroups.users.list({ usergroup: group });
    const users = new Set(response.users ?? []);
    cache.set(group, { users, at: clock().getTime() });
    return users;
  }
  return async function isAllowed(user: string, allowed: readonly string[]): Promise<boolean> {
    if (allowed.length === 0) return true;
    if (allowed.includes(user)) return true;
    const groups = allowed.filter((id) => id.startsWith('S') || id.startsWith('@'));
    for (const maxAgeMs of [GROUP_CACHE_MS, REFUSAL_REFRESH_MS]) {
      for (const entry of groups) {
        try {
          const group = entry.startsWith('@') ? await groupIdOf(entry, maxAgeMs) : entry;
          if (group && (await membersOf(group, maxAgeMs)).has(user)) return true;
        } catch {
          // A group we cannot read grants nothing.
        }
      }
    }
    return false;
  };
}
