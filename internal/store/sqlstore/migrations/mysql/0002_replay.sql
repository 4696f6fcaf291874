-- Replay keys: one row per signed webhook request already served, kept until
-- the request's timestamp would be refused as stale anyway. A key whose row
-- has expired may be used again. One statement with the index inline and IF
-- NOT EXISTS, as in 0001, because MySQL runs DDL outside transactions.
CREATE TABLE IF NOT EXISTS replay_keys (
    replay_key VARCHAR(128) NOT NULL,
    expires_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (replay_key),
    INDEX replay_keys_expires_idx (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
