-- An outbox event the broker refuses for good (larger than it takes, no queue
-- bound for its type) is parked: set aside with the broker's reason, so the
-- events behind it are published. Parked events are not published again
-- until an operator unparks them (parked_at back to NULL). One statement, so
-- that a stopped instance leaves it done or not done; the unsent index leads
-- with both NULL columns, so the drain's read skips parked events by index.
ALTER TABLE outbox
    ADD COLUMN parked_at DATETIME(6) NULL,
    ADD COLUMN parked_reason VARCHAR(1024) NOT NULL DEFAULT '',
    DROP INDEX outbox_unsent_idx,
    ADD INDEX outbox_unsent_idx (sent_at, parked_at, seq);
