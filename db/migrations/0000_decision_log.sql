CREATE TABLE `decision_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`kind` text NOT NULL,
	`actor` text NOT NULL,
	`channel` text,
	`subject` text,
	`outcome` text,
	`detail` text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `decision_log_at` ON `decision_log` (`at`);--> statement-breakpoint
CREATE INDEX `decision_log_kind` ON `decision_log` (`kind`,`at`);