CREATE TABLE `host_locks` (
	`host` text PRIMARY KEY NOT NULL,
	`run_id` integer NOT NULL,
	`locked_by` text NOT NULL,
	`locked_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `run_approvals` (
	`run_id` integer NOT NULL,
	`approver` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `run_approvals_once` ON `run_approvals` (`run_id`,`approver`);--> statement-breakpoint
CREATE TABLE `run_steps` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`phase` text NOT NULL,
	`step_index` integer NOT NULL,
	`step_id` text NOT NULL,
	`host` text NOT NULL,
	`command` text NOT NULL,
	`status` text NOT NULL,
	`exit_code` integer,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`output` text DEFAULT '' NOT NULL,
	`message` text,
	`message_id` integer
);
--> statement-breakpoint
CREATE INDEX `run_steps_run` ON `run_steps` (`run_id`,`id`);--> statement-breakpoint
CREATE TABLE `runbook_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`runbook_id` text NOT NULL,
	`title` text NOT NULL,
	`requester` text NOT NULL,
	`channel` text NOT NULL,
	`params` text NOT NULL,
	`plan` text NOT NULL,
	`status` text NOT NULL,
	`phase` text DEFAULT 'steps' NOT NULL,
	`step_index` integer DEFAULT 0 NOT NULL,
	`confirmed_step` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`started_at` integer,
	`ended_at` integer,
	`message_id` integer
);
--> statement-breakpoint
CREATE INDEX `runbook_runs_status` ON `runbook_runs` (`status`);