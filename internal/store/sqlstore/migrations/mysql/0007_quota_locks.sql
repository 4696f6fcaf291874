-- One row per request source (keyed by the SHA-256 of the source, in hex)
-- that a quota has been applied to. InsertWithin locks the source's row for
-- the transaction that counts the source's requests and records one more, so
-- that instances deciding for one source at the same moment take turns. IF
-- NOT EXISTS, as in 0001, because MySQL runs DDL outside transactions.
CREATE TABLE IF NOT EXISTS quota_locks (
    lock_key CHAR(64) NOT NULL,
    PRIMARY KEY (lock_key)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- The per-day quota counts a source's requests accepted in the window. A
-- prefix keeps the key within InnoDB's limit for utf8mb4.
CREATE INDEX requests_source_accepted_idx ON requests (source(255), accepted_at);
