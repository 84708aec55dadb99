import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { BreachSource, BreachStatus } from '../core/storage/breaches.ts';
import type { MessagePayload } from '../core/storage/effects.ts';
import type { OutboxStatus } from '../core/storage/outbox.ts';
import type { Severity } from '../core/triggers.ts';
import type { ChecklistSnapshot, RunStatus, TickAction, TickSource } from '../core/checklists.ts';
import type { RunStatus as RunbookRunStatus, StepStatus } from '../core/run-state.ts';

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

/**
 * A breach: one series of one trigger (or one Alertmanager alert) from the moment it is breached until it
 * resolves. At most one open breach per key (a partial unique index), so a restart or a second evaluation
 * can never open a second one.
 */
export const breaches = sqliteTable(
  'breaches',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    key: text('key').notNull(),
    source: text('source', { enum: ['watcher', 'alertmanager'] })
      .$type<BreachSource>()
      .notNull(),
    triggerId: text('trigger_id').notNull(),
    name: text('name').notNull(),
    severity: text('severity', { enum: ['immediate', 'soon'] })
      .$type<Severity>()
      .notNull(),
    labels: text('labels', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    status: text('status', { enum: ['open', 'resolved'] })
      .$type<BreachStatus>()
      .notNull(),
    openedAt: integer('opened_at', { mode: 'timestamp_ms' }).notNull(),
    /** When the condition started to hold, from Prometheus' history: "since 14:02". */
    breachedSince: integer('breached_since', { mode: 'timestamp_ms' }).notNull(),
    lastValue: text('last_value'),
    lastSeenAt: integer('last_seen_at', { mode: 'timestamp_ms' }).notNull(),
    /** Set while the condition is false; the breach resolves once this is resolve_after old. */
    conditionFalseSince: integer('condition_false_since', { mode: 'timestamp_ms' }),
    resolvedAt: integer('resolved_at', { mode: 'timestamp_ms' }),
    ackedBy: text('acked_by'),
    ackedAt: integer('acked_at', { mode: 'timestamp_ms' }),
    snoozedBy: text('snoozed_by'),
    snoozedUntil: integer('snoozed_until', { mode: 'timestamp_ms' }),
    lastReminderAt: integer('last_reminder_at', { mode: 'timestamp_ms' }),
    /** The outbox row of the breach's message (its channel and ts once sent). */
    messageId: integer('message_id'),
    /** Extra facts from the source (Alertmanager annotations, the trigger's threshold…), as shown on the message. */
    detail: text('detail', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
  },
  (table) => [uniqueIndex('breaches_one_open_per_key').on(table.key).where(sql`status = 'open'`), index('breaches_status').on(table.status, table.openedAt)],
);

/**
 * Every message the bot posts on its own (breaches, thread replies, blind notices) goes through this outbox:
 * the row is written before the Slack call and completed after it. A message found in state "sending" after
 * a crash or an ambiguous failure is looked up in Slack by its metadata before anything is posted again.
 */
export const slackOutbox = sqliteTable(
  'slack_outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    dedupeKey: text('dedupe_key').notNull().unique(),
    channel: text('channel').notNull(),
    /** A thread reply waits for its parent to be sent. */
    parentId: integer('parent_id'),
    payload: text('payload', { mode: 'json' }).$type<MessagePayload>().notNull(),
    status: text('status', { enum: ['pending', 'sending', 'sent', 'failed'] })
      .$type<OutboxStatus>()
      .notNull(),
    attempts: integer('attempts').notNull().default(0),
    ts: text('ts'),
    /** The payload changed after the message was sent: chat.update is due. */
    needsUpdate: integer('needs_update', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    sentAt: integer('sent_at', { mode: 'timestamp_ms' }),
    notBefore: integer('not_before', { mode: 'timestamp_ms' }),
    lastError: text('last_error'),
    /** A file upload under way: the id files.getUploadURLExternal gave, stored before it is completed. */
    fileId: text('file_id'),
  },
  (table) => [index('slack_outbox_status').on(table.status, table.id)],
);

/** Periods when Prometheus could not be reached: one "monitoring is blind" message each. */
export const blindPeriods = sqliteTable('blind_periods', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
  endedAt: integer('ended_at', { mode: 'timestamp_ms' }),
  reason: text('reason').notNull(),
  outboxId: integer('outbox_id'),
});

/** A runbook run: requested, planned, approved, executed step by step over SSH, maybe rolled back. */
export const runbookRuns = sqliteTable(
  'runbook_runs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runbookId: text('runbook_id').notNull(),
    title: text('title').notNull(),
    requester: text('requester').notNull(),
    channel: text('channel').notNull(),
    params: text('params', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    /** The plan as approved: every step's host and exact command. What runs is this, never a re-render. */
    plan: text('plan', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
    status: text('status').$type<RunbookRunStatus>().notNull(),
    /** steps | rollback */
    phase: text('phase').notNull().default('steps'),
    /** Index of the step running, failed or next (in the current phase). */
    stepIndex: integer('step_index').notNull().default(0),
    /** "phase:index" of a `confirm: true` step an approver has confirmed. */
    confirmedStep: text('confirmed_step'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }),
    endedAt: integer('ended_at', { mode: 'timestamp_ms' }),
    messageId: integer('message_id'),
  },
  (table) => [index('runbook_runs_status').on(table.status)],
);

export const runApprovals = sqliteTable(
  'run_approvals',
  {
    runId: integer('run_id').notNull(),
    approver: text('approver').notNull(),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [uniqueIndex('run_approvals_once').on(table.runId, table.approver)],
);

/** One attempt of one step (a retry is a new row), with its full output. */
export const runSteps = sqliteTable(
  'run_steps',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: integer('run_id').notNull(),
    phase: text('phase').notNull(),
    stepIndex: integer('step_index').notNull(),
    stepId: text('step_id').notNull(),
    host: text('host').notNull(),
    command: text('command').notNull(),
    status: text('status').$type<StepStatus>().notNull(),
    exitCode: integer('exit_code'),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
    endedAt: integer('ended_at', { mode: 'timestamp_ms' }),
    output: text('output').notNull().default(''),
    message: text('message'),
    messageId: integer('message_id'),
  },
  (table) => [index('run_steps_run').on(table.runId, table.id)],
);

/** One run at a time per host: a row here is the lock. */
export const hostLocks = sqliteTable('host_locks', {
  host: text('host').primaryKey(),
  runId: integer('run_id').notNull(),
  lockedBy: text('locked_by').notNull(),
  lockedAt: integer('locked_at', { mode: 'timestamp_ms' }).notNull(),
});

/**
 * One walk through a checklist: posted in a channel, ticked item by item, then completed, closed or abandoned.
 * `definition` is the checklist as it was when the run started, so a run's buttons keep working (and mean
 * the same items) after the config changes or the bot restarts.
 */
export const checklistRuns = sqliteTable(
  'checklist_runs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    checklistId: text('checklist_id').notNull(),
    /** The scaling operation the run belongs to: "move to CPX51". */
    name: text('name'),
    definition: text('definition', { mode: 'json' }).$type<ChecklistSnapshot>().notNull(),
    channel: text('channel').notNull(),
    /** The outbox row of the run's message (its ts once sent); thread replies hang under it. */
    messageId: integer('message_id'),
    status: text('status').$type<RunStatus>().notNull(),
    startedBy: text('started_by').notNull(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
    endedBy: text('ended_by'),
    endedAt: integer('ended_at', { mode: 'timestamp_ms' }),
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
export const checklistEvents = sqliteTable(
  'checklist_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: integer('run_id')
      .notNull()
      .references(() => checklistRuns.id),
    itemId: text('item_id').notNull(),
    action: text('action').$type<TickAction>().notNull(),
    actor: text('actor').notNull(),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
    /** A click, the status snapshot action, or a runbook run that succeeded. */
    source: text('source').$type<TickSource>().notNull(),
    detail: text('detail', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
  },
  (table) => [index('checklist_events_run').on(table.runId, table.id)],
);

/**
 * Who leads among the bot's replicas (core/storage/leases.ts): one row, named `leader`. With SQLite there is
 * one replica, which takes it at start; the table is here so both dialects keep the same schema.
 */
export const leaderLease = sqliteTable('leader_lease', {
  name: text('name').primaryKey(),
  holder: text('holder'),
  /** The fencing token: incremented on every change of holder, never reused. */
  token: integer('token').notNull(),
  acquiredAt: integer('acquired_at', { mode: 'timestamp_ms' }).notNull(),
  expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
});
