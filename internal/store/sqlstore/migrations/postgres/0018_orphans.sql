-- Orphans: a failed create request whose gateway exists all the same.
-- orphan_checked_at is when reconcile last looked for its gateway (it looks
-- again after an interval, within a window after the failure); orphaned_at
-- is when it found the gateway and announced io.vpngw.gateway.orphaned
-- (once: the announcement sets it only where it is NULL).
ALTER TABLE requests ADD COLUMN orphan_checked_at TIMESTAMPTZ NULL;
ALTER TABLE requests ADD COLUMN orphaned_at TIMESTAMPTZ NULL;
CREATE INDEX requests_orphaned_idx ON requests (orphaned_at);
