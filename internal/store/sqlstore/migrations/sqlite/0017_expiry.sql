-- When a create request's gateway expires (the request's vpngwexpires,
-- resolved to a time; NULL for none), and the expiry warnings announced so
-- far (expiry_warned: 0 none, 1 the 24-hour one, 2 the 1-hour one; 3 the deletion at
-- expiry was refused for good and the request is no longer read for expiry). The
-- reconcile tick finds the gateways to warn about or delete by expires_at.
ALTER TABLE requests ADD COLUMN expires_at TEXT NULL;
ALTER TABLE requests ADD COLUMN expiry_warned INTEGER NOT NULL DEFAULT 0;
CREATE INDEX requests_expires_idx ON requests (expires_at);
