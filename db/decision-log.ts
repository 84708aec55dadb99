import { and, desc, eq, gte, inArray, type SQL } from 'drizzle-orm';
import type { Db } from './client.ts';
import { decisionLog } from './schema.ts';

export interface DecisionInput {
  at: Date;
  kind: string;
  actor: string;
  channel?: string | null;
  subject?: string | null;
  outcome?: string | null;
  detail?: Record<string, unknown>;
}

export type Decision = typeof decisionLog.$inferSelect;

/** Appends one row; the log has no update or delete (the schema refuses both). */
export function recordDecision(db: Db, input: DecisionInput): number {
  const row = db
    .insert(decisionLog)
    .values({
      at: input.at,
      kind: input.kind,
      actor: input.actor,
      channel: input.channel ?? null,
      subject: input.subject ?? null,
      outcome: input.outcome ?? null,
      detail: input.detail ?? {},
    })
    .returning({ id: decisionLog.id })
    .get();
  return row.id;
}

export interface DecisionQuery {
  limit?: number;
  kinds?: readonly string[];
  subject?: string;
  since?: Date;
}

/** Newest first. */
export function listDecisions(db: Db, { limit = 50, kinds, subject, since }: DecisionQuery = {}): Decision[] {
  const filters: SQL[] = [];
  if (kinds && kinds.length > 0) filters.push(inArray(decisionLog.kind, [...kinds]));
  if (subject) filters.push(eq(decisionLog.subject, subject));
  if (since) filters.push(gte(decisionLog.at, since));
  return db
    .select()
    .from(decisionLog)
    .where(filters.length ? and(...filters) : undefined)
    .orderBy(desc(decisionLog.id))
    .limit(limit)
    .all();
}
