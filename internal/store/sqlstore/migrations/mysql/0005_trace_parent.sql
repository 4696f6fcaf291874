-- The request's W3C traceparent, so that the events reconcile writes later
-- (active, failed) carry the trace of the request as provision's do. Intake
-- keeps at most its first 55 characters, the version-00 form.
ALTER TABLE requests ADD COLUMN trace_parent VARCHAR(55) NOT NULL DEFAULT '';
