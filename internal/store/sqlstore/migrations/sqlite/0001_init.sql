-- Requests and their outbox. Times are TEXT in one fixed-width UTC layout
-- (2006-01-02T15:04:05.000000Z) so that comparing and ordering the text
-- compares and orders the instants. STRICT makes SQLite reject values of the
-- wrong type instead of storing them.
CREATE TABLE requests (
    request_key  TEXT    NOT NULL PRIMARY KEY,
    source       TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    subject      TEXT    NOT NULL DEFAULT '',
    client_token TEXT    NOT NULL,
    region_id    TEXT    NOT NULL,
    vpc_id       TEXT    NOT NULL DEFAULT '',
    params       BLOB    NOT NULL,
    state        TEXT    NOT NULL,
    gateway_id   TEXT    NOT NULL DEFAULT '',
    order_id     INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    accepted_at  TEXT    NULL,
    lease_owner  TEXT    NOT NULL DEFAULT '',
    lease_until  TEXT    NULL
) STRICT;

-- Claim filters on state and lease and takes the oldest first.
CREATE INDEX requests_claim_idx ON requests (state, lease_until, created_at);

CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL,
    request_key TEXT    NOT NULL REFERENCES requests (request_key),
    type        TEXT    NOT NULL,
    body        BLOB    NOT NULL,
    created_at  TEXT    NOT NULL,
    sent_at     TEXT    NULL
) STRICT;

CREATE INDEX outbox_unsent_idx ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_request_idx ON outbox (request_key);
