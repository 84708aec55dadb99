CREATE TABLE `checklist_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`item_id` text NOT NULL,
	`action` text NOT NULL,
	`actor` text NOT NULL,
	`at` integer NOT NULL,
	`source` text NOT NULL,
	`detail` text DEFAULT '{}' NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `checklist_runs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `checklist_events_run` ON `checklist_events` (`run_id`,`id`);--> statement-breakpoint
CREATE TABLE `checklist_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`checklist_id` text NOT NULL,
	`name` text,
	`definition` text NOT NULL,
	`channel` text NOT NULL,
	`message_id` integer,
	`status` text NOT NULL,
	`started_by` text NOT NULL,
	`started_at` integer NOT NULL,
	`ended_by` text,
	`ended_at` integer
);
--> statement-breakpoint
CREATE INDEX `checklist_runs_status` ON `checklist_runs` (`status`,`started_at`);--> statement-breakpoint
CREATE INDEX `checklist_runs_checklist` ON `checklist_runs` (`checklist_id`,`status`,`ended_at`);