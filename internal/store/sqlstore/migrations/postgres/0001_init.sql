-- Requests and their outbox. Times are timestamptz (microsecond precision, UTC
-- on the wire); a free lease is lease_owner = '' and lease_until IS NULL.
CREATE TABLE requests (
    request_key  TEXT        PRIMARY KEY,
    source       TEXT        NOT NULL,
    event_id     TEXT        NOT NULL,
    subject      TEXT        NOT NULL DEFAULT '',
    client_token TEXT        NOT NULL,
    region_id    TEXT        NOT NULL,
    vpc_id       TEXT        NOT NULL DEFAULT '',
    params       BYTEA       NOT NULL,
    state        TEXT        NOT NULL,
    gateway_id   TEXT        NOT NULL DEFAULT '',
    order_id     BIGINT      NOT NULL DEFAULT 0,
    attempts     INTEGER     NOT NULL DEFAULT 0,
    last_error   TEXT        NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    accepted_at  TIMESTAMPTZ NULL,
    lease_owner  TEXT        NOT NULL DEFAULT '',
    lease_until  TIMESTAMPTZ NULL
);

-- Claim filters on state and lease and takes the oldest first.
CREATE INDEX requests_claim_idx ON requests (state, lease_until, created_at);

CREATE TABLE outbox (
    seq         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          TEXT        NOT NULL,
    request_key TEXT        NOT NULL REFERENCES requests (request_key),
    type        TEXT        NOT NULL,
    body        BYTEA       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    sent_at     TIMESTAMPTZ NULL
);

-- The relay reads unsent events in seq order; a partial index stays as small
-- as the backlog instead of growing with the whole history.
CREATE INDEX outbox_unsent_idx ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_request_idx ON outbox (request_key);
