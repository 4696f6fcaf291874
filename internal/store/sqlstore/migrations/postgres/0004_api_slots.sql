-- API call slots: per bucket (region and API action), the earliest instant
-- the next call may start. Every instance of every function reserves its calls
-- here when the client-side rate limit is shared, so that together they keep
-- to the account's quota.
CREATE TABLE api_slots (
    bucket  TEXT        PRIMARY KEY,
    next_at TIMESTAMPTZ NOT NULL
);
