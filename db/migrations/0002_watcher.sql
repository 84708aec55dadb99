CREATE TABLE `blind_periods` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`reason` text NOT NULL,
	`outbox_id` integer
);
--> statement-breakpoint
CREATE TABLE `breaches` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`key` text NOT NULL,
	`source` text NOT NULL,
	`trigger_id` text NOT NULL,
	`name` text NOT NULL,
	`severity` text NOT NULL,
	`labels` text NOT NULL,
	`status` text NOT NULL,
	`opened_at` integer NOT NULL,
	`breached_since` integer NOT NULL,
	`last_value` text,
	`last_seen_at` integer NOT NULL,
	`condition_false_since` integer,
	`resolved_at` integer,
	`acked_by` text,
	`acked_at` integer,
	`snoozed_by` text,
	`snoozed_until` integer,
	`last_reminder_at` integer,
	`message_id` integer,
	`detail` text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `breaches_one_open_per_key` ON `breaches` (`key`) WHERE status = 'open';--> statement-breakpoint
CREATE INDEX `breaches_status` ON `breaches` (`status`,`opened_at`);--> statement-breakpoint
CREATE TABLE `slack_outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`dedupe_key` text NOT NULL,
	`channel` text NOT NULL,
	`parent_id` integer,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`ts` text,
	`needs_update` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`sent_at` integer,
	`not_before` integer,
	`last_error` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `slack_outbox_dedupe_key_unique` ON `slack_outbox` (`dedupe_key`);--> statement-breakpoint
CREATE INDEX `slack_outbox_status` ON `slack_outbox` (`status`,`id`);