import { z } from 'zod';
import { parseDuration } from '../duration.ts';
import { OPERATORS, SEVERITIES, type Trigger } from '../triggers.ts';
import { UNITS } from '../units.ts';
import { duration, id, idPattern, rawList, type Locate } from './shared.ts';

/** `triggers:` the scaling triggers, merged by id: a file overrides a default's fields or adds a whole new one. */

const triggerFields = {
  name: z.string().min(1),
  severity: z.enum(SEVERITIES),
  query: z.string().min(1),
  op: z.enum(OPERATORS),
  threshold: z.number(),
  for: duration.optional(),
  unit: z.enum(UNITS),
  advice: z.string().optional(),
  /** Whether growth means something for this trigger: its trend is forecast (core/forecast.ts). */
  forecast: z.boolean().optional(),
  /** The alert's name in `scalebot rules`: the guide's monitoring/alerts.yml name where it has one (HighCPUUsage). */
  alert: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'is not an alert name: letters, digits and _, not starting with a digit (like HighCPUUsage)')
    .optional(),
  /** Hidden from status while its query returns no series (replica lag before any replica exists), not "no data". */
  when_present: z.boolean().optional(),
};
const requiredTriggerFields = ['name', 'severity', 'query', 'op', 'threshold', 'unit'] as const;

export const triggerFileEntry = z.object({ id, enabled: z.boolean().optional(), ...z.object(triggerFields).partial().shape }).strict();

export type TriggerFileEntry = z.infer<typeof triggerFileEntry>;

export const triggersSection = z
  .array(
    z
      .object({ id, enabled: z.boolean().optional(), ...triggerFields })
      .strict()
      .transform(
        (entry): Trigger => ({
          id: entry.id,
          name: entry.name,
          severity: entry.severity,
          query: entry.query,
          op: entry.op,
          threshold: entry.threshold,
          forSeconds: entry.for === undefined ? 0 : parseDuration(entry.for),
          unit: entry.unit,
          ...(entry.advice ? { advice: entry.advice } : {}),
          forecast: entry.forecast ?? false,
          ...(entry.alert ? { alert: entry.alert } : {}),
          ...(entry.when_present ? { whenPresent: true } : {}),
        }),
      ),
  )
  .readonly();

/**
 * Checks across entries, on the file as written so that one pass reports every problem: an id listed twice, and
 * what a new trigger (an id no file before this one has) lacks.
 */
export function checkTriggerEntries(raw: unknown, locate: Locate, knownIds: ReadonlySet<string>, problems: string[]): void {
  const seen = new Set<string>();
  rawList(raw, 'triggers').forEach((entry, index) => {
    if (!entry || typeof entry !== 'object' || typeof (entry as { id?: unknown }).id !== 'string') return;
    const trigger = entry as Record<string, unknown> & { id: string };
    if (seen.has(trigger.id)) problems.push(locate(['triggers', index, 'id'], `trigger "${trigger.id}" is listed twice`));
    seen.add(trigger.id);
    if (!idPattern.test(trigger.id) || knownIds.has(trigger.id) || trigger.enabled === false) return;
    const missing = requiredTriggerFields.filter((field) => trigger[field] === undefined);
    if (missing.length > 0) {
      problems.push(locate(['triggers', index], `new trigger "${trigger.id}" needs ${missing.join(', ')} (or use the id of a default trigger to override it)`));
    }
  });
}
