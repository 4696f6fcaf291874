-- API rates learned from throttling: per bucket (region and API action), the
-- rate in calls a second the API allowed when it last throttled, when that
-- was, when calls may resume (the end of the API's window that throttled),
-- and how long the rate is held before it is probed upwards again. Every
-- instance reads and writes it, so that one instance's throttling lowers the
-- rate of them all. IF NOT EXISTS, as in 0001, because MySQL runs DDL
-- outside transactions.
CREATE TABLE IF NOT EXISTS api_rates (
    bucket    VARCHAR(128) NOT NULL,
    per_sec   DOUBLE       NOT NULL,
    since     DATETIME(6)  NOT NULL,
    resume_at DATETIME(6)  NOT NULL,
    hold_ms   BIGINT       NOT NULL,
    PRIMARY KEY (bucket)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
