-- API call slots: per bucket (region and API action), the earliest instant
-- the next call may start. Every instance of every function reserves its calls
-- here when the client-side rate limit is shared, so that together they keep
-- to the account's quota. IF NOT EXISTS, as in 0001, because MySQL runs DDL
-- outside transactions.
CREATE TABLE IF NOT EXISTS api_slots (
    bucket  VARCHAR(128) NOT NULL,
    next_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (bucket)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
