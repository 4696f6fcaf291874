-- Replay keys: one row per signed webhook request already served, kept until
-- the request's timestamp would be refused as stale anyway. A key whose row
-- has expired may be used again.
CREATE TABLE replay_keys (
    replay_key TEXT        PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);

-- The opportunistic clean-up takes the oldest expired keys first.
CREATE INDEX replay_keys_expires_idx ON replay_keys (expires_at);
