CREATE TABLE `leader_lease` (
	`name` text PRIMARY KEY NOT NULL,
	`holder` text,
	`token` integer NOT NULL,
	`acquired_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
