import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * The decision log: every command, click and action of the bot, append-only (a trigger in the migration
 * refuses UPDATE and DELETE). `detail` is JSON whose shape depends on `kind`.
 */
export const decisionLog = sqliteTable(
  'decision_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
    kind: text('kind').notNull(),
    actor: text('actor').notNull(),
    channel: text('channel'),
    subject: text('subject'),
    outcome: text('outcome'),
    detail: text('detail', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
  },
  (table) => [index('decision_log_at').on(table.at), index('decision_log_kind').on(table.kind, table.at)],
);
