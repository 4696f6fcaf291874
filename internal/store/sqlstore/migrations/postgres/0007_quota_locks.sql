-- One row per request source (keyed by the SHA-256 of the source, in hex)
-- that a quota has been applied to. InsertWithin locks the source's row for
-- the transaction that counts the source's requests and records one more, so
-- that instances deciding for one source at the same moment take turns.
CREATE TABLE quota_locks (
    lock_key TEXT PRIMARY KEY
);

-- The per-day quota counts a source's requests accepted in the window.
CREATE INDEX requests_source_accepted_idx ON requests (source, accepted_at);
