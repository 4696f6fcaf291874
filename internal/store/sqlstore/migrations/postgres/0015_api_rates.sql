-- API rates learned from throttling: per bucket (region and API action), the
-- rate in calls a second the API allowed when it last throttled, when that
-- was, when calls may resume (the end of the API's window that throttled),
-- and how long the rate is held before it is probed upwards again. Every
-- instance reads and writes it, so that one instance's throttling lowers the
-- rate of them all.
CREATE TABLE api_rates (
    bucket    TEXT             PRIMARY KEY,
    per_sec   DOUBLE PRECISION NOT NULL,
    since     TIMESTAMPTZ      NOT NULL,
    resume_at TIMESTAMPTZ      NOT NULL,
    hold_ms   BIGINT           NOT NULL
);
