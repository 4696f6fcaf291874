-- API call slots: per bucket (region and API action), the earliest instant
-- the next call may start, in the fixed-width UTC text of 0001. Shared by the
-- processes that use this file when the client-side rate limit is shared.
CREATE TABLE api_slots (
    bucket  TEXT NOT NULL PRIMARY KEY,
    next_at TEXT NOT NULL
) STRICT;
