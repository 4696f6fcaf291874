-- The sinks the policy routes a request's outcomes to (a rule's sinks:
-- list, the names of VPNGW_QUEUE_URL's name=url entries), joined by ','; ''
-- when no routing names any, and then every unnamed sink gets them. Each
-- drain reads it with the events, so that a sink the routing leaves out
-- settles the event without publishing it.
ALTER TABLE requests ADD COLUMN sinks TEXT NOT NULL DEFAULT '';
