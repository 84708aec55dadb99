-- A checklist run's history is a record: a tick or untick, once written, is never changed or removed.
CREATE TRIGGER `checklist_events_no_update` BEFORE UPDATE ON `checklist_events`
BEGIN SELECT RAISE(ABORT, 'checklist_events is append-only'); END;
--> statement-breakpoint
CREATE TRIGGER `checklist_events_no_delete` BEFORE DELETE ON `checklist_events`
BEGIN SELECT RAISE(ABORT, 'checklist_events is append-only'); END;
