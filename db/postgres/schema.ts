import { sql } from 'drizzle-orm';
import { boolean, index, integer, json, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import type { BreachSource, BreachStatus } from '../../core/storage/breaches.ts';
import type { MessagePayload } from '../../core/storage/effects.ts';
import type { OutboxStatus } from '../../core/storage/outbox.ts';
import type { Severity } from '../../core/triggers.ts';
import type { ChecklistSnapshot, RunStatus, TickAction, TickSource } from '../../core/checklists.ts';
import type { RunStatus as RunbookRunStatus, StepStatus } from '../../core/run-state.ts';

// The PostgreSQL twin of db/schema.ts: the same tables, columns and indexes, in PostgreSQL's types (timestamps
// with time zone to the millisecond, json, identity columns that take explicit ids, which migrate-db copies).
// Keep the two in step: tests/db/postgres-schema.test.ts compares them.

/**
 * The decision log: every command, click and action of the bot, append-only (a trigger in the migration
 * refuses UPDATE and DELETE). `detail` is JSON whose shape depends on `kind`.
 */
export const decisionLog = pgTable(
  'decision_log',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    at: timestamp('at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    kind: text('kind').notNull(),
    actor: text('actor').notNull(),
    channel: text('channel'),
    subject: text('subject'),
    outcome: text('outcome'),
    detail: json('detail').$type<Record<string, unknown>>().notNull().default(sql`'{}'::json`),
  },
  (table) => [index('decision_log_at').on(table.at), index('decision_log_kind').on(table.kind, table.at)],
);

/**
 * A breach: one series of one trigger (or one Alertmanager alert) from the moment it is breached until it
 * resolves. At most one open breach per key (a partial unique index), so a restart or a second evaluation
 * can never open a second one.
 */
export const breaches = pgTable(
  'breaches',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    key: text('key').notNull(),
    source: text('source').$type<BreachSource>().notNull(),
    triggerId: text('trigger_id').notNull(),
    name: text('name').notNull(),
    severity: text('severity').$type<Severity>().notNull(),
    labels: json('labels').$type<Record<string, string>>().notNull(),
    status: text('status').$type<BreachStatus>().notNull(),
    openedAt: timestamp('opened_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    /** When the condition started to hold, from Prometheus' history: "since 14:02". */
    breachedSince: timestamp('breached_since', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    lastValue: text('last_value'),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    /** Set while the condition is false; the breach resolves once this is resolve_after old. */
    conditionFalseSince: timestamp('condition_false_since', { withTimezone: true, mode: 'date', precision: 3 }),
    resolvedAt: timestamp('resolved_at', { withTimezone: true, mode: 'date', precision: 3 }),
    ackedBy: text('acked_by'),
    ackedAt: timestamp('acked_at', { withTimezone: true, mode: 'date', precision: 3 }),
    snoozedBy: text('snoozed_by'),
    snoozedUntil: timestamp('snoozed_until', { withTimezone: true, mode: 'date', precision: 3 }),
    lastReminderAt: timestamp('last_reminder_at', { withTimezone: true, mode: 'date', precision: 3 }),
    /** The outbox row of the breach's message (its channel and ts once sent). */
    messageId: integer('message_id'),
    /** Extra facts from the source (Alertmanager annotations, the trigger's threshold…), as shown on the message. */
    detail: json('detail').$type<Record<string, unknown>>().notNull().default(sql`'{}'::json`),
  },
  (table) => [uniqueIndex('breaches_one_open_per_key').on(table.key).where(sql`status = 'open'`), index('breaches_status').on(table.status, table.openedAt)],
);

/**
 * Every message the bot posts on its own (breaches, thread replies, blind notices) goes through this outbox:
 * the row is written before the Slack call and completed after it. A message found in state "sending" after
 * a crash or an ambiguous failure is looked up in Slack by its metadata before anything is posted again.
 */
export const slackOutbox = pgTable(
  'slack_outbox',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    dedupeKey: text('dedupe_key').notNull().unique(),
    channel: text('channel').notNull(),
    /** A thread reply waits for its parent to be sent. */
    parentId: integer('parent_id'),
    payload: json('payload').$type<MessagePayload>().notNull(),
    status: text('status').$type<OutboxStatus>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    ts: text('ts'),
    /** The payload changed after the message was sent: chat.update is due. */
    needsUpdate: boolean('needs_update').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date', precision: 3 }),
    notBefore: timestamp('not_before', { withTimezone: true, mode: 'date', precision: 3 }),
    lastError: text('last_error'),
    /** A file upload under way: the id files.getUploadURLExternal gave, stored before it is completed. */
    fileId: text('file_id'),
  },
  (table) => [index('slack_outbox_status').on(table.status, table.id)],
);

/** Periods when Prometheus could not be reached: one "monitoring is blind" message each. */
export const blindPeriods = pgTable('blind_periods', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  startedAt: timestamp('started_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
  endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date', precision: 3 }),
  reason: text('reason').notNull(),
  outboxId: integer('outbox_id'),
});

/** A runbook run: requested, planned, approved, executed step by step over SSH, maybe rolled back. */
export const runbookRuns = pgTable(
  'runbook_runs',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    runbookId: text('runbook_id').notNull(),
    title: text('title').notNull(),
    requester: text('requester').notNull(),
    channel: text('channel').notNull(),
    params: json('params').$type<Record<string, string>>().notNull(),
    /** The plan as approved: every step's host and exact command. What runs is this, never a re-render. */
    plan: json('plan').$type<Record<string, unknown>>().notNull(),
    status: text('status').$type<RunbookRunStatus>().notNull(),
    /** steps | rollback */
    phase: text('phase').notNull().default('steps'),
    /** Index of the step running, failed or next (in the current phase). */
    stepIndex: integer('step_index').notNull().default(0),
    /** "phase:index" of a `confirm: true` step an approver has confirmed. */
    confirmedStep: text('confirmed_step'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date', precision: 3 }),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date', precision: 3 }),
    messageId: integer('message_id'),
  },
  (table) => [index('runbook_runs_status').on(table.status)],
);

export const runApprovals = pgTable(
  'run_approvals',
  {
    runId: integer('run_id').notNull(),
    approver: text('approver').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
  },
  (table) => [uniqueIndex('run_approvals_once').on(table.runId, table.approver)],
);

/** One attempt of one step (a retry is a new row), with its full output. */
export const runSteps = pgTable(
  'run_steps',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    runId: integer('run_id').notNull(),
    phase: text('phase').notNull(),
    stepIndex: integer('step_index').notNull(),
    stepId: text('step_id').notNull(),
    host: text('host').notNull(),
    command: text('command').notNull(),
    status: text('status').$type<StepStatus>().notNull(),
    exitCode: integer('exit_code'),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date', precision: 3 }),
    output: text('output').notNull().default(''),
    message: text('message'),
    messageId: integer('message_id'),
  },
  (table) => [index('run_steps_run').on(table.runId, table.id)],
);

/** One run at a time per host: a row here is the lock. */
export const hostLocks = pgTable('host_locks', {
  host: text('host').primaryKey(),
  runId: integer('run_id').notNull(),
  lockedBy: text('locked_by').notNull(),
  lockedAt: timestamp('locked_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
});

/**
 * One walk through a checklist: posted in a channel, ticked item by item, then completed, closed or abandoned.
 * `definition` is the checklist as it was when the run started, so a run's buttons keep working (and mean
 * the same items) after the config changes or the bot restarts.
 */
export const checklistRuns = pgTable(
  'checklist_runs',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    checklistId: text('checklist_id').notNull(),
    /** The scaling operation the run belongs to: "move to CPX51". */
    name: text('name'),
    definition: json('definition').$type<ChecklistSnapshot>().notNull(),
    channel: text('channel').notNull(),
    /** The outbox row of the run's message (its ts once sent); thread replies hang under it. */
    messageId: integer('message_id'),
    status: text('status').$type<RunStatus>().notNull(),
    startedBy: text('started_by').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    endedBy: text('ended_by'),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date', precision: 3 }),
  },
  (table) => [
    index('checklist_runs_status').on(table.status, table.startedAt),
    index('checklist_runs_checklist').on(table.checklistId, table.status, table.endedAt),
  ],
);

/** What a run keeps of its checklist (core/checklists.ts says why). */
export type { ChecklistSnapshot };

/**
 * Every tick and untick of every run, append-only (a trigger in the migration refuses UPDATE and DELETE): the
 * state of a run's items is replayed from these rows, so the history is the state.
 */
export const checklistEvents = pgTable(
  'checklist_events',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    runId: integer('run_id')
      .notNull()
      .references(() => checklistRuns.id),
    itemId: text('item_id').notNull(),
    action: text('action').$type<TickAction>().notNull(),
    actor: text('actor').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    /** A click, the status snapshot action, or a runbook run that succeeded. */
    source: text('source').$type<TickSource>().notNull(),
    detail: json('detail').$type<Record<string, unknown>>().notNull().default(sql`'{}'::json`),
  },
  (table) => [index('checklist_events_run').on(table.runId, table.id)],
);

/**
 * Who leads among the bot's replicas (core/storage/leases.ts): one row, named `leader`, compared with the
 * database's clock.
 */
export const leaderLease = pgTable('leader_lease', {
  name: text('name').primaryKey(),
  holder: text('holder'),
  /** The fencing token: incremented on every change of holder, never reused. */
  token: integer('token').notNull(),
  acquiredAt: timestamp('acquired_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
});
