-- An outbox event the broker refuses for good (larger than it takes, no queue
-- bound for its type) is parked: set aside with the broker's reason, so the
-- events behind it are published. Parked events are not published again
-- until an operator unparks them (parked_at back to NULL).
ALTER TABLE outbox ADD COLUMN parked_at TEXT NULL;
ALTER TABLE outbox ADD COLUMN parked_reason TEXT NOT NULL DEFAULT '';
-- The drain reads what is neither sent nor parked.
DROP INDEX outbox_unsent_idx;
CREATE INDEX outbox_unsent_idx ON outbox (seq) WHERE sent_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_parked_idx ON outbox (seq) WHERE sent_at IS NULL AND parked_at IS NOT NULL;
