import { z } from 'zod';
import type { Checklist, ChecklistItem } from '../checklists.ts';
import { id, idPattern, rawList, slackId, type Locate } from './shared.ts';

/**
 * `checklists:` the lists `/scale checklist` can post, merged by id: an entry with `items` replaces the
 * default's items whole; its other fields override one by one.
 */

/** A checklist posts one block per item; past this many even the compact layout would not fit one message. */
export const MAX_CHECKLIST_ITEMS = 100;

const checklistItemEntry = z
  .object({
    id: z.string().regex(idPattern, 'an item id is lower-case letters, digits, "_" and "-", like full_backup').max(64),
    text: z.string().min(1).max(200),
    section: z.string().min(1).max(100).optional(),
    detail: z.string().min(1).max(500).optional(),
    action: z
      .union(
        [
          z.literal('status_snapshot'),
          z.object({ runbook: z.string().regex(idPattern, 'a runbook id is lower-case letters, digits, "_" and "-", like backup') }).strict(),
        ],
        {
          error: 'an action is `status_snapshot` or `{ runbook: <runbook id> }`',
        },
      )
      .optional(),
    // Only `true` means anything; `false` is accepted so a user's copy of a list can say so out loud.
    destructive: z.boolean({ error: 'destructive is true or false' }).optional(),
  })
  .strict();

const checklistFields = {
  id: id.max(64),
  enabled: z.boolean().optional(),
  title: z.string().min(1).max(100),
  description: z.string().max(500).optional(),
  responders: z.array(slackId).optional(),
  items: z.array(checklistItemEntry).min(1).max(MAX_CHECKLIST_ITEMS),
};

export const checklistFileEntry = z.object({ ...checklistFields, title: checklistFields.title.optional(), items: checklistFields.items.optional() }).strict();

export type ChecklistFileEntry = z.infer<typeof checklistFileEntry>;

export const checklistsSection = z
  .array(
    z
      .object(checklistFields)
      .strict()
      .transform((entry): Checklist => {
        const items: ChecklistItem[] = entry.items.map((item) => ({
          id: item.id,
          text: item.text,
          ...(item.section ? { section: item.section } : {}),
          ...(item.detail ? { detail: item.detail } : {}),
          ...(item.action === 'status_snapshot'
            ? { action: { kind: 'status_snapshot' as const } }
            : item.action
              ? { action: { kind: 'runbook' as const, runbook: item.action.runbook } }
              : {}),
          ...(item.destructive ? { destructive: true as const } : {}),
        }));
        return {
          id: entry.id,
          title: entry.title,
          ...(entry.description ? { description: entry.description } : {}),
          items,
          responders: entry.responders ?? [],
        };
      }),
  )
  .readonly();

/** Checks across checklist entries (on the file as written, like the triggers'): ids listed twice, what a new list lacks. */
export function checkChecklistEntries(raw: unknown, locate: Locate, knownIds: ReadonlySet<string>, problems: string[]): void {
  const seen = new Set<string>();
  rawList(raw, 'checklists').forEach((value, index) => {
    if (!value || typeof value !== 'object' || typeof (value as { id?: unknown }).id !== 'string') return;
    const entry = value as Record<string, unknown> & { id: string };
    if (seen.has(entry.id)) problems.push(locate(['checklists', index, 'id'], `checklist "${entry.id}" is listed twice`));
    seen.add(entry.id);
    const itemIds = new Set<string>();
    (Array.isArray(entry.items) ? entry.items : []).forEach((item: unknown, itemIndex) => {
      const itemId = item && typeof item === 'object' ? (item as { id?: unknown }).id : undefined;
      if (typeof itemId !== 'string') return;
      if (itemIds.has(itemId)) {
        problems.push(locate(['checklists', index, 'items', itemIndex, 'id'], `item "${itemId}" is listed twice in checklist "${entry.id}"`));
      }
      itemIds.add(itemId);
    });
    if (!idPattern.test(entry.id) || knownIds.has(entry.id) || entry.enabled === false) return;
    const missing = (['title', 'items'] as const).filter((field) => entry[field] === undefined);
    if (missing.length > 0) {
      problems.push(
        locate(['checklists', index], `new checklist "${entry.id}" needs ${missing.join(' and ')} (or use the id of a default checklist to change it)`),
      );
    }
  });
}
