-- The request's W3C traceparent, so that the events reconcile writes later
-- (active, failed) carry the trace of the request as provision's do.
ALTER TABLE requests ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '';
