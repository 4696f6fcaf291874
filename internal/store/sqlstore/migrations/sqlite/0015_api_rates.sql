-- API rates learned from throttling: per bucket (region and API action), the
-- rate in calls a second the API allowed when it last throttled, when that
-- was and when calls may resume (the end of the API's window that
-- throttled), both in the fixed-width UTC text of 0001, and how long the
-- rate is held before it is probed upwards again.
CREATE TABLE api_rates (
    bucket    TEXT    NOT NULL PRIMARY KEY,
    per_sec   REAL    NOT NULL,
    since     TEXT    NOT NULL,
    resume_at TEXT    NOT NULL,
    hold_ms   INTEGER NOT NULL
) STRICT;
