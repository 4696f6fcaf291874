-- Replay keys: one row per signed webhook request already served, kept until
-- the request's timestamp would be refused as stale anyway. A key whose row
-- has expired may be used again. Times are TEXT in the fixed-width UTC layout
-- of 0001, so comparing the text compares the instants.
CREATE TABLE replay_keys (
    replay_key TEXT NOT NULL PRIMARY KEY,
    expires_at TEXT NOT NULL
) STRICT;

-- The opportunistic clean-up takes the oldest expired keys first.
CREATE INDEX replay_keys_expires_idx ON replay_keys (expires_at);
