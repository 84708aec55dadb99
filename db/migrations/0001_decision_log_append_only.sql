-- The decision log is a record: once written, a row is never changed or removed.
CREATE TRIGGER `decision_log_no_update` BEFORE UPDATE ON `decision_log`
BEGIN SELECT RAISE(ABORT, 'decision_log is append-only'); END;
--> statement-breakpoint
CREATE TRIGGER `decision_log_no_delete` BEFORE DELETE ON `decision_log`
BEGIN SELECT RAISE(ABORT, 'decision_log is append-only'); END;
