-- The decision log and a checklist run's history are records: once written, a row is never changed or removed.
CREATE FUNCTION scalebot_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER decision_log_append_only BEFORE UPDATE OR DELETE ON decision_log
  FOR EACH ROW EXECUTE FUNCTION scalebot_refuse_change();
--> statement-breakpoint
CREATE TRIGGER decision_log_no_truncate BEFORE TRUNCATE ON decision_log
  FOR EACH STATEMENT EXECUTE FUNCTION scalebot_refuse_change();
--> statement-breakpoint
CREATE TRIGGER checklist_events_append_only BEFORE UPDATE OR DELETE ON checklist_events
  FOR EACH ROW EXECUTE FUNCTION scalebot_refuse_change();
--> statement-breakpoint
CREATE TRIGGER checklist_events_no_truncate BEFORE TRUNCATE ON checklist_events
  FOR EACH STATEMENT EXECUTE FUNCTION scalebot_refuse_change();
